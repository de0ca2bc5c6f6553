"""Every file chainrule reads is a regular file of a bounded size: a FIFO or /dev/zero in place of
a model, metrics or IDX file is named in one line, never read forever."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chainrule.data import read_idx
from chainrule.errors import DataError
from safety_helpers import run_cli


@pytest.mark.parametrize(
    "command",
    [["evaluate", "{fifo}"], ["explain", "--model", "{fifo}"], ["summary", "{fifo}"]],
)
def test_a_fifo_as_the_model_file_is_refused_at_once(tmp_path: Path, command: list[str]) -> None:
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    result = run_cli(*(part.format(fifo=fifo) for part in command))
    assert result.returncode == 2
    assert result.stderr.strip() == f"chainrule: error: {fifo} is not a regular file"


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_report_reads_a_regular_metrics_file_only(tmp_path: Path, kind: str) -> None:
    metrics = tmp_path / "metrics.json"
    if kind == "fifo":
        os.mkfifo(metrics)
    else:
        metrics.symlink_to("/dev/zero")
    result = run_cli("report", str(tmp_path))
    assert result.returncode == 2
    assert "is not a regular file" in result.stderr and "Traceback" not in result.stderr


def test_an_idx_fifo_is_a_data_error(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "labels")
    with pytest.raises(DataError, match="is not a regular file"):
        read_idx(tmp_path / "labels")

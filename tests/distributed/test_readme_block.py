"""The README's data-parallel block runs as written, as one process and under mpiexec -n 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import chainrule as cr
from conftest import REPO
from mpi_helpers import mpiexec, run_mpi, run_single


def _block(tmp_path: Path) -> Path:
    text = (REPO / "README.md").read_text()
    marker = text.index("<!-- readme-distributed")
    block = re.search(r"```python\n(.*?)```", text[marker:], re.S)
    assert block is not None
    saved = tmp_path / "digits_ddp.safetensors"
    script = tmp_path / "readme_ddp.py"
    script.write_text(block.group(1).replace('"digits_ddp.safetensors"', repr(str(saved))))
    return script


@pytest.mark.parametrize("processes", [1, 2])
def test_readme_distributed_block(processes: int, tmp_path: Path) -> None:
    script = _block(tmp_path)
    if processes == 1:
        result = run_single([str(script)])
    else:
        mpiexec()
        result = run_mpi([str(script)], n=processes)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith(f"{processes} process(es)")
    assert float(printed[0].rsplit(" ", 1)[1]) >= 0.95
    weights = cr.load(tmp_path / "digits_ddp.safetensors")
    assert list(weights) == ["0.weight", "0.bias", "2.weight", "2.bias"]

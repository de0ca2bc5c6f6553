"""A fuzzer of the command line's contract: random flag values and random or damaged files in
every input position. Every case ends with exit 0 and consistent files, or exit 2 and one line on
stderr (no traceback), within 120 s and 4 GB of address space; a failed run leaves the run folder
as it was (it may leave its own last good checkpoint). ``CHAINRULE_CLI_FUZZ=N`` sets the number
of cases (default 30, about half a minute); ``CHAINRULE_CLI_FUZZ_RANDOM=1`` draws new cases
instead of the same ones each run; ``pytest --hypothesis-show-statistics`` counts the outcomes.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from safety_helpers import env  # noqa: E402

CASES = int(os.environ.get("CHAINRULE_CLI_FUZZ", "30"))
LIMIT_BYTES = 4 * 2**30

numbers = st.one_of(
    st.sampled_from(["0", "-1", "1", "2", "1e30", "-1e30", "nan", "inf", "-inf", "0.5", "1.5",
                     "3", "x", "", "1,2", "2**64", str(2**64), str(-(2**63) - 1)]),
    st.integers(-5, 5).map(str),
)  # fmt: skip
small_ints = st.sampled_from(["1", "2", "0", "-1", "x", "1e3", "99999999999"])

TRAIN_FLAGS: dict[str, Any] = {
    "--lr": numbers, "--momentum": numbers, "--weight-decay": numbers, "--l1": numbers,
    "--clip-norm": numbers, "--lr-gamma": numbers, "--dropout": numbers,
    "--val-split": numbers, "--seed": numbers, "--lr-step": small_ints,
    "--early-stopping": small_ints, "--batch-size": small_ints,
    "--hidden": st.sampled_from(["8", "16,8", "0", "-3", "a,b", "8,,8", "100000000"]),
    "--activation": st.sampled_from(["relu", "tanh", "sigmoid", "bogus"]),
    "--optimizer": st.sampled_from(["sgd", "adam", "lbfgs"]),
    "--schedule": st.sampled_from(["constant", "cosine", "step", "onecycle", "x"]),
    "--on-nonfinite": st.sampled_from(["stop", "skip", "rollback", "maybe"]),
    "--checkpoint-every": st.sampled_from(["epoch", "1", "0", "-2", "x"]),
    "--model": st.sampled_from(["mlp", "cnn", "lstm", "gpt"]),
    "--dataset": st.sampled_from(["digits", "breast-cancer", "idx", "cifar"]),
}  # fmt: skip
FILE_KINDS = ("empty", "random", "truncated model", "model", "folder", "missing", "json list")
IDX_DAMAGE = ("none", "truncated", "magic", "huge dims", "zero dims", "label range", "counts",
              "test shape", "gzip garbage", "gzip cut", "float labels", "no file")  # fmt: skip
FOLDER_STATES = ("new", "finished run", "damaged run", "interrupted run", "flipped checkpoint")


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chainrule.cli", *args], capture_output=True, text=True,
        timeout=120, env={**env(), "CHAINRULE_NUM_THREADS": "1"}, cwd=cwd, preexec_fn=_limit,
    )  # fmt: skip


def _digest(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.iterdir()
        if p.is_file() and p.name != ".chainrule.lock"
    }


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("trained") / "run"
    result = _run(["train", "--epochs", "1", "--hidden", "8", "--out", str(run)], run.parent)
    assert result.returncode == 0, result.stderr
    return run / "model.npz"


def _make_file(kind: str, where: Path, model: Path, seed: int) -> str:
    path = where / f"input-{seed}.npz"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(hashlib.sha256(str(seed).encode()).digest() * (seed % 50 + 1))
    elif kind == "truncated model":
        data = model.read_bytes()
        path.write_bytes(data[: max(1, (seed * 7919) % len(data))])
    elif kind == "model":
        path.write_bytes(model.read_bytes())
    elif kind == "folder":
        path.mkdir()
    elif kind == "json list":
        path.write_text("[1, 2, 3]")
    return str(path)


def _make_idx_folder(damage: str, where: Path, seed: int) -> str:
    """An MNIST-layout folder of random 6x6 images in 3 classes, with one kind of damage."""
    import gzip

    import numpy as np

    from chainrule.data.idx import write_idx

    folder = where / f"idx-{seed}"
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for part, n in (("train", 30), ("t10k", 9)):
        shape = (n, 5, 6) if damage == "test shape" and part == "t10k" else (n, 6, 6)
        labels = np.arange(n) % 3
        if damage == "label range" and part == "t10k":
            labels[0] = 200
        if damage == "counts" and part == "train":
            labels = labels[:-1]
        label_dtype = np.float32 if damage == "float labels" else np.uint8
        write_idx(folder / f"{part}-images-idx3-ubyte", rng.integers(0, 255, shape, np.uint8))
        write_idx(folder / f"{part}-labels-idx1-ubyte", labels.astype(label_dtype))
    target = folder / ("train-images-idx3-ubyte" if seed % 2 else "t10k-labels-idx1-ubyte")
    data = bytearray(target.read_bytes())
    if damage == "truncated":
        data = data[: 4 + seed % max(len(data) - 4, 1)]
    elif damage == "magic":
        data[seed % 4] ^= 0xFF
    elif damage == "huge dims":
        data[3] = 1 + seed % 70  # up to 70 dimensions, each read from the bytes that follow
        data[4:8] = (0x7F, 0xFF, 0xFF, 0xFF)
    elif damage == "zero dims":
        data[8:12] = bytes(4)
    elif damage in ("gzip garbage", "gzip cut"):
        packed = gzip.compress(bytes(data))
        data = bytearray(packed[: len(packed) // 2] if damage == "gzip cut" else packed)
        if damage == "gzip garbage":
            data[len(data) // 2] ^= 0x55
        target.unlink()
        target = target.with_name(target.name + ".gz")
    elif damage == "no file":
        target.unlink()
        return str(folder)
    target.write_bytes(bytes(data))
    return str(folder)


def _check_contract(result: subprocess.CompletedProcess[str], args: list[str]) -> None:
    where = f"chainrule {' '.join(args)}"
    assert "Traceback" not in result.stderr, f"{where}\n{result.stderr}"
    assert result.returncode in (0, 2), f"{where}: exit {result.returncode}\n{result.stderr}"
    if result.returncode == 2:
        lines = result.stderr.strip().splitlines()
        assert lines and lines[-1].startswith("chainrule: error: "), f"{where}\n{result.stderr}"
        errors = [line for line in lines if line.startswith("chainrule: error")]
        assert len(errors) == 1, f"{where}\n{result.stderr}"


def _output_path(where: Path, seed: int, suffix: str) -> str:
    """Where a command is told to write: a new file, an existing one, a folder, a missing
    folder, or a name too long for the file system."""
    kind = seed % 5
    if kind == 1:
        (where / f"old{suffix}").write_bytes(b"kept")
        return str(where / f"old{suffix}")
    if kind == 2:
        return str(where)
    if kind == 3:
        return str(where / "missing" / f"out{suffix}")
    if kind == 4:
        return str(where / ("x" * 300 + suffix))
    return str(where / f"out{suffix}")


def _make_run_folder(state: str, out: Path, model: Path, seed: int) -> None:
    """A run folder as a finished, damaged or interrupted run leaves it."""
    import shutil

    trained = model.parent  # a real run: model.npz, metrics.json, checkpoint.npz
    if state == "damaged run":
        out.mkdir()
        for name in ("model.npz", "metrics.json", "checkpoint.npz"):
            (out / name).write_bytes(b"{}" if name == "metrics.json" else b"damaged")
        return
    shutil.copytree(trained, out, ignore=shutil.ignore_patterns(".chainrule.lock"))
    if state == "finished run":
        return
    (out / "model.npz").unlink()  # an interrupted run has only its checkpoint
    (out / "metrics.json").unlink()
    if state == "flipped checkpoint":
        data = bytearray((out / "checkpoint.npz").read_bytes())
        data[(seed * 7919) % len(data)] ^= 1 << (seed % 8)
        (out / "checkpoint.npz").write_bytes(bytes(data))


@settings(
    max_examples=CASES,
    deadline=None,
    derandomize=os.environ.get("CHAINRULE_CLI_FUZZ_RANDOM", "") == "",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    command=st.sampled_from(["train", "train", "train", "evaluate", "explain", "report",
                             "summary", "gradcheck", "export"]),
    flags=st.dictionaries(st.sampled_from(sorted(TRAIN_FLAGS)), st.just(None), max_size=3),
    data=st.data(),
    file_kind=st.sampled_from(FILE_KINDS),
    folder_state=st.sampled_from(FOLDER_STATES),
    idx_damage=st.sampled_from(IDX_DAMAGE),
    seed=st.integers(0, 10_000),
)  # fmt: skip
def test_the_cli_keeps_its_contract(
    tmp_path_factory: pytest.TempPathFactory,
    model_file: Path,
    command: str,
    flags: dict[str, None],
    data: Any,
    file_kind: str,
    folder_state: str,
    idx_damage: str,
    seed: int,
) -> None:
    work = tmp_path_factory.mktemp("case")
    args = [command]
    out = work / "run"
    if command == "train":
        values = {flag: data.draw(TRAIN_FLAGS[flag], label=flag) for flag in flags}
        values.setdefault("--epochs", "1")
        values.setdefault("--hidden", "8")
        if values.get("--dataset") == "idx":
            values["--data-dir"] = (
                _make_idx_folder(idx_damage, work, seed) if seed % 4
                else _make_file(file_kind, work, model_file, seed)
            )  # fmt: skip
        for flag, value in values.items():
            args += [flag, value]
        if folder_state != "new":
            _make_run_folder(folder_state, out, model_file, seed)
        if seed % 3 == 0:
            args += ["--resume", str(out)] if folder_state != "new" else ["--out", str(out)]
        else:
            args += ["--out", str(out)] + (["--overwrite"] if seed % 5 == 0 else [])
    elif command == "report":
        out.mkdir()
        metrics = Path(_make_file(file_kind, work, model_file, seed))
        if metrics.is_file():
            metrics.rename(out / "metrics.json")
        args += [str(out)]
    elif command == "gradcheck":
        args += ["--samples", data.draw(small_ints), "--seed", data.draw(numbers)]
    else:
        target = _make_file(file_kind, work, model_file, seed)
        args += [target]
        if command == "evaluate" and seed % 2:
            args += ["--dataset", "idx", "--data-dir", _make_idx_folder(idx_damage, work, seed)]
        if command == "export":
            args += ["--onnx", _output_path(work, seed, ".onnx")]
        if command == "explain" or command == "summary":
            args = [command, "--model", target] if command == "explain" else args
        if command == "explain" and seed % 3 == 0:
            args += ["--graph", _output_path(work, seed, ".dot")]
    before = _digest(out)
    result = _run(args, work)
    _check_contract(result, args)
    event(f"{command}: exit {result.returncode}")  # pytest --hypothesis-show-statistics
    if result.returncode != 0 and command == "train":
        # A failed run leaves what was there as it was; it may leave only its own last good
        # checkpoint (a resumed run's checkpoint advances with it).
        after = _digest(out)
        advancing = {"checkpoint.npz"} if "--resume" in args else set()
        for name, digest in before.items():
            if name not in advancing:
                assert after.get(name) == digest, f"a failed run changed {out / name}: {args}"
        own = {"checkpoint.npz"}
        assert set(after) - set(before) <= own, f"a failed run left {sorted(after)}"
    for old in work.glob("old.*"):  # a command that failed left an existing output as it was
        assert result.returncode == 0 or old.read_bytes() == b"kept", f"{args} changed {old}"
    if result.returncode == 0 and command == "train":
        text = (out / "metrics.json").read_text()
        metrics = json.loads(text)
        assert 1 <= len(metrics["history"]) <= metrics["arguments"]["epochs"]
        assert "NaN" not in text and "Infinity" not in text
        assert (out / "model.npz").is_file()

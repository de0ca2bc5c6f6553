"""Model files: round trips, refused pickles, size bombs that fail fast, named format errors, and
a fuzz run in which every malformed file loads identically or raises FormatError."""

from __future__ import annotations

import json
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import FormatError
from chainrule.serialization import describe, load_checkpoint, save_checkpoint
from safety_helpers import Member, forge_zip, header_bytes, npy, overwrite, small_model


def arrays_equal(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(
        sa[k].dtype == sb[k].dtype and np.array_equal(sa[k], sb[k]) for k in sa
    )


def test_round_trip_keeps_architecture_weights_and_metadata(tmp_path: Path) -> None:
    model = small_model()
    path = tmp_path / "model.npz"
    cr.save(model, path, metadata={"note": "hi"})
    loaded = cr.load(path)
    assert arrays_equal(model, loaded) and describe(loaded) == describe(model)
    assert not loaded.training
    assert cr.serialization.read_header(path)["metadata"] == {"note": "hi"}
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    model.eval()
    np.testing.assert_array_equal(model(cr.tensor(x)).numpy(), loaded(cr.tensor(x)).numpy())
    with zipfile.ZipFile(path) as archive:  # the documented layout
        assert archive.namelist()[0] == "header.json"
        assert all(i.compress_type == zipfile.ZIP_STORED for i in archive.infolist())


def test_float64_model_round_trips_in_float64(tmp_path: Path) -> None:
    model = small_model().double()
    cr.save(model, tmp_path / "m.npz")
    loaded = cr.load(tmp_path / "m.npz")
    assert loaded[1].weight.dtype == np.float64 and arrays_equal(model, loaded)


def test_unsaveable_model_is_refused(tmp_path: Path) -> None:
    class Custom(nn.Module):
        def config(self) -> dict[str, Any]:
            return {}

    with pytest.raises(FormatError, match=r"only chainrule\.nn layers"):
        cr.save(nn.Sequential(Custom()), tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


# ----------------------------------------------------------------------------- pickles
class _Payload:
    """Unpickling this calls open(marker, 'w'): a file appears if anything unpickles."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def _model_header(dtype: str = "float32") -> dict[str, Any]:
    return {
        "format": "chainrule-model",
        "version": 1,
        "architecture": {"type": "Linear", "config": {"in_features": 1, "out_features": 1}},
        "tensors": {
            "weight": {"dtype": dtype, "shape": [1, 1], "sha256": "0" * 64},
            "bias": {"dtype": dtype, "shape": [1], "sha256": "0" * 64},
        },
        "metadata": {},
    }


def test_pickled_payloads_are_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = npy(np.array([_Payload(marker)], dtype=object).reshape(1, 1), allow_pickle=True)
    cases = {
        "object member, honest float header": (_model_header(), evil),
        "header declares an object dtype": (_model_header("object"), evil),
        "header declares a pickle dtype": (_model_header("|O"), evil),
    }
    for label, (header, member) in cases.items():
        path = tmp_path / f"{label}.npz"
        path.write_bytes(
            forge_zip(
                [
                    Member("header.json", header_bytes(header)),
                    Member("t0.npy", member),
                    Member("t1.npy", member),
                ]
            )
        )
        with pytest.raises(FormatError):
            cr.load(path)
        with pytest.raises(FormatError):
            load_checkpoint(path)
        assert not marker.exists(), label
    # A header that names code instead of a layer type.
    for layer_type in ("builtins.eval", "os.system", "__import__", "Module", "CrossEntropyLoss"):
        header = _model_header()
        header["architecture"]["type"] = layer_type
        path = tmp_path / "named.npz"
        path.write_bytes(forge_zip([Member("header.json", header_bytes(header))]))
        with pytest.raises(FormatError, match="unknown layer type"):
            cr.load(path)
    # A checkpoint whose state smuggles the payload in a tensor slot.
    path = tmp_path / "ckpt.npz"
    ckpt_header = {
        "format": "chainrule-checkpoint",
        "version": 1,
        "tensors": [{"dtype": "float32", "shape": [1, 1], "sha256": "0" * 64}],
        "state": {"x": {"__tensor__": 0}},
    }
    path.write_bytes(
        forge_zip([Member("header.json", header_bytes(ckpt_header)), Member("t0.npy", evil)])
    )
    with pytest.raises(FormatError):
        load_checkpoint(path)
    assert not marker.exists()
    # The payload is live: NumPy with allow_pickle=True does run it.
    evil_path = tmp_path / "evil.npy"
    evil_path.write_bytes(evil)
    np.load(evil_path, allow_pickle=True)
    assert marker.exists()


# ----------------------------------------------------------------------------- size bombs
def _fails_fast(path: Path, match: str, loader: Callable[[Path], Any] = cr.load) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(FormatError, match=match):
            loader(path)
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert seconds < 1.0, seconds
    assert peak < 50 * 2**20, peak


def _linear_file(
    in_f: int, out_f: int, stored: tuple[list[int], list[int]], weight: bytes = b""
) -> bytes:
    header = _model_header()
    header["architecture"]["config"] = {"in_features": in_f, "out_features": out_f}
    header["tensors"]["weight"]["shape"], header["tensors"]["bias"]["shape"] = stored
    return forge_zip(
        [
            Member("header.json", header_bytes(header)),
            Member("t0.npy", weight),
            Member("t1.npy", b""),
        ]
    )


def test_header_declaring_2_to_50_elements(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    path.write_bytes(_linear_file(2**25, 2**25, ([2**25, 2**25], [2**25])))
    _fails_fast(path, "(declares float32|needs) \\[33554432, 33554432\\]")


def test_architecture_declaring_linear_1e9_by_1e9(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    path.write_bytes(_linear_file(10**9, 10**9, ([1, 1], [1])))
    _fails_fast(path, "needs \\[1000000000, 1000000000\\]")
    path.write_bytes(_linear_file(10**9, 10**9, ([10**9, 10**9], [10**9])))
    _fails_fast(path, "bytes")


def test_zip_bombs(tmp_path: Path) -> None:
    header = header_bytes(_model_header())
    path = tmp_path / "m.npz"
    # Deflated: 64 MiB of zeros in 64 kB.
    zeros = b"\0" * (64 << 20)
    path.write_bytes(forge_zip([Member("header.json", header), Member("t0.npy", zeros, method=8)]))
    assert path.stat().st_size < 200_000
    _fails_fast(path, "compressed")
    # Stored, but the directory declares 4 GiB for a member of 100 bytes.
    path.write_bytes(
        forge_zip([Member("header.json", header), Member("t0.npy", b"x" * 100, 2**32 - 1)])
    )
    _fails_fast(path, "more than the file")
    # Deflated with a tiny declared size: refused before any decompression.
    path.write_bytes(
        forge_zip([Member("header.json", header), Member("t0.npy", zeros, method=8, raw_size=10)])
    )
    _fails_fast(path, "compressed")
    # A directory that claims a million members.
    data = bytearray(forge_zip([Member("header.json", header)]))
    data[-22 + 10 : -22 + 16] = (0xFFFE).to_bytes(2, "little") + (3 << 20).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    _fails_fast(path, "zip directory declares")


def test_huge_json_header(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    big = json.dumps({"format": "chainrule-model", "pad": "x" * (5 << 20)}).encode()
    path.write_bytes(forge_zip([Member("header.json", big)]))
    _fails_fast(path, "exceeds the 4 MiB limit")
    # Declared small but really large: the bounded reader stops and the CRC check fails.
    path.write_bytes(forge_zip([Member("header.json", big, declared_size=100)]))
    _fails_fast(path, "not a chainrule model file|damaged|more than the file")
    # Deeply nested JSON.
    path.write_bytes(forge_zip([Member("header.json", b"[" * 200_000 + b"]" * 200_000)]))
    _fails_fast(path, "damaged or not JSON")


def test_thousand_tensors_each_just_under_the_cap(tmp_path: Path) -> None:
    """Each tensor alone passes its own check; counted over all of them they exceed the file."""
    count, side = 1000, 16_000  # 16,000² float32 = 1.02 GB per tensor
    layers = [
        {"type": "Linear", "config": {"in_features": side, "out_features": side, "bias": False}}
    ] * count
    nbytes = side * side * 4
    header = {
        "format": "chainrule-model",
        "version": 1,
        "architecture": {"type": "Sequential", "config": {}, "layers": layers},
        "tensors": {
            f"{i}.weight": {"dtype": "float32", "shape": [side, side], "sha256": "0" * 64}
            for i in range(count)
        },
    }
    members = [Member("header.json", header_bytes(header))]
    members += [Member(f"t{i}.npy", b"\x93NUMPY", declared_size=nbytes + 128) for i in range(count)]
    path = tmp_path / "m.npz"
    path.write_bytes(forge_zip(members))
    _fails_fast(path, "more than the file")
    # The same claims in a checkpoint.
    ckpt = {
        "format": "chainrule-checkpoint",
        "version": 1,
        "tensors": list(header["tensors"].values()),
        "state": {},
    }
    members[0] = Member("header.json", header_bytes(ckpt))
    path.write_bytes(forge_zip(members))
    _fails_fast(path, "more than the file", load_checkpoint)


# ----------------------------------------------------------------------------- named errors
def test_format_errors_name_the_problem(tmp_path: Path) -> None:
    model = small_model()
    good = tmp_path / "good.npz"
    cr.save(model, good)
    content = good.read_bytes()
    path = tmp_path / "bad.npz"

    def refused(data: bytes, match: str) -> None:
        path.write_bytes(data)
        with pytest.raises(FormatError, match=match):
            cr.load(path)

    with pytest.raises(FormatError, match="does not exist"):
        cr.load(tmp_path / "missing.npz")
    refused(content[: len(content) // 2], "not a chainrule model file")
    refused(b"", "not a chainrule model file")
    np.savez(tmp_path / "foreign.npz", a=np.zeros(3))
    refused((tmp_path / "foreign.npz").read_bytes(), "not a chainrule model file")
    save_checkpoint(tmp_path / "ckpt.npz", {"a": np.zeros(2)})
    refused((tmp_path / "ckpt.npz").read_bytes(), "format is 'chainrule-checkpoint'")

    with zipfile.ZipFile(good) as archive:
        header = json.loads(archive.read("header.json"))
        tensors = [archive.read(f"t{i}.npy") for i in range(len(header["tensors"]))]

    def rewrite(new_header: dict[str, Any], new_tensors: list[bytes] = tensors) -> bytes:
        members = [Member("header.json", header_bytes(new_header))]
        members += [Member(f"t{i}.npy", t) for i, t in enumerate(new_tensors)]
        return forge_zip(members)

    refused(rewrite({**header, "version": 2}), "format version 2; this chainrule reads up to 1")
    arch = json.loads(json.dumps(header["architecture"]))
    arch["layers"][2]["type"] = "Evil"
    refused(rewrite({**header, "architecture": arch}), "unknown layer type 'Evil'")
    arch = json.loads(json.dumps(header["architecture"]))
    arch["layers"][1]["config"]["out_features"] = 5
    refused(rewrite({**header, "architecture": arch}), "'1.weight' has shape \\[3, 4\\]")
    arch["layers"][1]["config"] = {"in_features": 4, "out_features": 3, "colour": 1}
    refused(rewrite({**header, "architecture": arch}), "Linear has no argument 'colour'")
    flipped = bytearray(tensors[2])
    flipped[-1] ^= 1  # valid zip (CRC recomputed), wrong data
    refused(rewrite(header, [*tensors[:2], bytes(flipped), *tensors[3:]]), "sha256")
    refused(rewrite(header, tensors[:-1]), "missing")
    refused(rewrite(header, [*tensors, b"extra"]), "unexpected members")
    wrong = json.loads(json.dumps(header))
    wrong["tensors"]["1.weight"]["dtype"] = "float64"
    refused(rewrite(wrong), "mix the float dtypes")
    wrong["tensors"]["1.weight"]["dtype"] = "int64"
    refused(rewrite(wrong), "npy header says float32 \\[3, 4\\], the file header says int64")


# ----------------------------------------------------------------------------- fuzz
def _variants(good: bytes, rng: np.random.Generator) -> list[bytes]:
    variants = [good[:n] for n in range(0, len(good), 2)]  # truncations
    for _ in range(4000):  # bit flips, 1 to 3 per file
        flipped = bytearray(good)
        for _ in range(rng.integers(1, 4)):
            flipped[rng.integers(len(flipped))] ^= 1 << int(rng.integers(8))
        variants.append(bytes(flipped))
    for _ in range(400):  # byte overwrites in the zip structure at the end
        data = bytearray(good)
        position = len(data) - 1 - int(rng.integers(min(400, len(data))))
        data[position] = int(rng.integers(256))
        variants.append(bytes(data))
    return variants


_NASTY = [
    -1, 0, 2**31, 2**50, 2**64, 10**30, 1.5, 1e308, float("inf"), "7", None, True, [], [1, 2], {},
]  # fmt: skip


def _mutate(value: Any, rng: np.random.Generator, depth: int = 0) -> Any:
    """A copy of JSON value with one random leaf or key changed."""
    if isinstance(value, dict) and value and depth < 8:
        key = list(value)[rng.integers(len(value))]
        out = dict(value)
        choice = rng.integers(10)
        if choice == 0:
            del out[key]
        elif choice == 1:
            out[key + "x"] = out.pop(key)
        else:
            out[key] = _mutate(value[key], rng, depth + 1)
        return out
    if isinstance(value, list) and value and depth < 8:
        out = list(value)
        i = int(rng.integers(len(value)))
        choice = rng.integers(8)
        if choice == 0:
            del out[i]
        elif choice == 1:
            out.append(out[i])
        else:
            out[i] = _mutate(value[i], rng, depth + 1)
        return out
    return _NASTY[rng.integers(len(_NASTY))]


def test_fuzz_model_loader(tmp_path: Path) -> None:
    """Thousands of malformed files: each loads identically to the original or raises
    FormatError; no other exception and no load with different content."""
    rng = np.random.default_rng(0)
    model = small_model()
    good_path = tmp_path / "good.npz"
    cr.save(model, good_path)
    good = good_path.read_bytes()
    with zipfile.ZipFile(good_path) as archive:
        header = json.loads(archive.read("header.json"))
        tensors = [archive.read(f"t{i}.npy") for i in range(len(header["tensors"]))]
    # (content, architecture it describes): a header mutation may describe another valid
    # model (an extra Dropout); that must then load as described, with the original arrays.
    variants = [(content, header["architecture"]) for content in _variants(good, rng)]
    for _ in range(3000):  # mutated header JSON (huge dims, wrong types...), as a valid zip
        mutated = _mutate(header, rng)
        members = [Member("header.json", header_bytes(mutated))]
        members += [Member(f"t{i}.npy", t) for i, t in enumerate(tensors)]
        variants.append((forge_zip(members), mutated.get("architecture")))
    for _ in range(600):  # lying member sizes
        members = [Member("header.json", header_bytes(header))]
        members += [Member(f"t{i}.npy", t) for i, t in enumerate(tensors)]
        victim = members[rng.integers(len(members))]
        victim.declared_size = int(rng.choice([0, 1, len(victim.data) + 1, 2**31, 2**32 - 1]))
        variants.append((forge_zip(members), header["architecture"]))
    path = tmp_path / "fuzz.npz"
    outcomes = {"identical": 0, "other valid model": 0, "refused": 0}
    for content, architecture in variants:
        overwrite(path, content)
        try:
            loaded = cr.load(path)
        except FormatError:
            outcomes["refused"] += 1
            continue
        assert arrays_equal(loaded, model)
        if architecture == header["architecture"]:
            assert describe(loaded) == describe(model)
            outcomes["identical"] += 1
        else:
            outcomes["other valid model"] += 1
    assert sum(outcomes.values()) == len(variants) >= 4000
    assert outcomes["refused"] > 3000
    print(f"model loader fuzz: {len(variants)} malformed inputs, {outcomes}")


def test_fuzz_checkpoint_loader(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    state = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "step": 3, "h": [1.5, None]}
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, state, metadata={"config": {"lr": 0.1}})
    good = path.read_bytes()
    tried = 0
    for content in _variants(good, rng):
        overwrite(path, content)
        tried += 1
        try:
            loaded, _ = load_checkpoint(path)
        except FormatError:
            continue
        assert np.array_equal(loaded["w"], state["w"]) and loaded["w"].dtype == np.float32
        assert loaded["step"] == 3 and loaded["h"] == [1.5, None]
    assert tried > 1000

"""State files: state_dicts and nested training state in safetensors, both ways with PyTorch,
and never an unpickled byte."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import FormatError


class Net(nn.Module):
    """A user's own Module subclass (no model file can describe it)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.bn = nn.BatchNorm1d(8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return self.fc2(cr.relu(self.bn(self.fc1(x))))


def test_state_dict_round_trip_of_a_user_module(tmp_path: Path) -> None:
    model = Net()
    model(cr.randn(5, 4))  # moves the running statistics
    path = tmp_path / "net.pt"
    cr.save(model.state_dict(), path)
    other = Net()
    result = other.load_state_dict(cr.load(path))
    assert not result.missing_keys and not result.unexpected_keys
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    assert list(cr.load(path)) == list(model.state_dict())  # the order is kept


def test_pytorch_reads_what_chainrule_saves_and_back(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")

    class TorchNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = torch.nn.Linear(4, 8)
            self.bn = torch.nn.BatchNorm1d(8)
            self.fc2 = torch.nn.Linear(8, 3)

        def forward(self, x: Any) -> Any:
            return self.fc2(torch.relu(self.bn(self.fc1(x))))

    mine = Net()
    mine.train()
    mine(cr.randn(6, 4))
    path = tmp_path / "from_chainrule.safetensors"
    cr.save(mine.state_dict(), path)
    theirs = TorchNet()
    theirs.load_state_dict(st.load_file(str(path)))
    x = np.random.default_rng(0).standard_normal((7, 4)).astype(np.float32)
    mine.eval()
    theirs.eval()
    np.testing.assert_allclose(
        mine(cr.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )
    # and PyTorch's own file into chainrule
    theirs.train()
    theirs(torch.randn(6, 4))
    back = tmp_path / "from_torch.safetensors"
    st.save_file(theirs.state_dict(), str(back))
    fresh = Net()
    fresh.load_state_dict(cr.load(back))
    fresh.eval()
    theirs.eval()
    np.testing.assert_allclose(
        fresh(cr.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_a_training_checkpoint_dict_round_trips(tmp_path: Path) -> None:
    model = Net()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss = model(cr.randn(5, 4)).pow(2).mean()
    loss.backward()
    opt.step()
    checkpoint = {
        "epoch": 3,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": opt.state_dict(),
        "loss": float(loss.item()),
        "note": "best so far",
        "shape": (2, 3),
    }
    path = tmp_path / "checkpoint.tar"
    cr.save(checkpoint, path)
    loaded = cr.load(path, map_location="cpu", weights_only=True)
    assert loaded["epoch"] == 3 and loaded["note"] == "best so far" and loaded["shape"] == (2, 3)
    assert loaded["loss"] == checkpoint["loss"]
    fresh = Net()
    fresh.load_state_dict(loaded["model_state_dict"])
    fresh_opt = optim.Adam(fresh.parameters(), lr=1e-3)
    fresh_opt.load_state_dict(loaded["optimizer_state_dict"])
    for model_, opt_ in ((model, opt), (fresh, fresh_opt)):
        opt_.zero_grad()
        model_(cr.ones(5, 4)).sum().backward()
        opt_.step()
    for a, b in zip(model.parameters(), fresh.parameters(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_file_objects_work_as_with_torch_save() -> None:
    buffer = io.BytesIO()
    cr.save({"w": cr.arange(3.0)}, buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(cr.load(buffer)["w"].numpy(), [0.0, 1.0, 2.0])


def test_pickles_are_refused_with_a_way_out(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, path)
    with pytest.raises(FormatError, match=r"PyTorch pickle.*safetensors"):
        cr.load(path)
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(b"\x80\x04\x95" + b"\x00" * 20)
    with pytest.raises(FormatError, match="never unpickles"):
        cr.load(raw)


def test_saving_a_user_module_itself_points_to_the_state_dict(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"chainrule.save\(model.state_dict\(\), path\)"):
        cr.save(Net(), tmp_path / "m.npz")


def test_damaged_state_files_raise_format_errors(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    cr.save({"w": cr.ones(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError):
        cr.load(path)
    path.write_bytes(b"\xff" * 8 + b"{}")
    with pytest.raises(FormatError):
        cr.load(path)
    with pytest.raises(FormatError, match="not a regular file"):
        cr.load(tmp_path)


def test_unsavable_values_are_named(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="a function is not a tensor"):
        cr.save({"fn": lambda: 0}, tmp_path / "x")

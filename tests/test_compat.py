"""The torch.* conveniences training scripts call: threads, determinism, seeds, finfo, compile,
amp, testing.assert_close, set_printoptions, set_detect_anomaly, F.relu_."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as torch
import chainrule.nn.functional as F
from chainrule.errors import ConfigError, NonFiniteError


def test_threads_are_set_and_read_back() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ConfigError, match="positive integer"):
        torch.set_num_threads(0)


def test_seeds_dtype_info_and_determinism() -> None:
    torch.manual_seed(123)
    assert torch.initial_seed() == 123
    assert torch.finfo(torch.float32).eps == np.finfo(np.float32).eps
    assert torch.iinfo(torch.int64).max == 2**63 - 1
    torch.use_deterministic_algorithms(True)
    assert torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)


def test_compile_and_amp_leave_the_computation_exact() -> None:
    layer = torch.nn.Linear(3, 2)
    assert torch.compile(layer) is layer
    double = torch.compile(mode="max-autotune")(lambda a: a * 2)
    assert double(torch.ones(1)).item() == 2.0
    x = torch.randn(4, 3)
    with torch.autocast(device_type="cpu", dtype=torch.float16):
        y = layer(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.detach().numpy(), layer(x).detach().numpy())
    scaler = torch.cuda.amp.GradScaler()
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    scaler.scale(y.sum()).backward()
    before = layer.weight.numpy().copy()
    scaler.step(opt)
    scaler.update()
    np.testing.assert_allclose(layer.weight.numpy(), before - 0.1 * layer.weight.grad.numpy())


def test_assert_close_uses_pytorch_tolerances() -> None:
    torch.testing.assert_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.000001]))
    with pytest.raises(AssertionError):
        torch.testing.assert_close(torch.tensor([1.0]), torch.tensor([1.001]))
    with pytest.raises(AssertionError, match="shape"):
        torch.testing.assert_close(torch.zeros(2), torch.zeros(3))
    torch.testing.assert_close({"a": [torch.ones(1)]}, {"a": [torch.ones(1)]})


def test_set_printoptions_as_pytorch() -> None:
    ref = pytest.importorskip("torch")
    try:
        for lib in (ref, torch):
            lib.set_printoptions(precision=2)
        assert repr(torch.tensor([1.23456, 2.5])) == repr(ref.tensor([1.23456, 2.5]))
        for lib in (ref, torch):
            lib.set_printoptions(sci_mode=False)
        x = [[1.23456, 2.5], [3.0, 4e-5]]
        assert repr(torch.tensor(x)) == repr(ref.tensor(x))
    finally:
        for lib in (ref, torch):
            lib.set_printoptions(profile="default")
    assert repr(torch.tensor([1.5, 2.25])) == "tensor([1.5000, 2.2500])"


def test_set_detect_anomaly_names_the_op() -> None:
    with torch.autograd.set_detect_anomaly(True):
        assert torch.autograd.is_anomaly_enabled()
        with pytest.raises(NonFiniteError, match="anomaly"):
            torch.log(torch.tensor([-1.0]))
    assert not torch.autograd.is_anomaly_enabled()


def test_in_place_relu_functions() -> None:
    x = torch.tensor([-1.0, 2.0])
    assert F.relu_(x) is x and x.tolist() == [0.0, 2.0]
    y = torch.tensor([-1.0, 2.0])
    F.leaky_relu_(y, 0.5)
    assert y.tolist() == [-0.5, 2.0]

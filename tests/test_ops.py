"""Every op case: float64 gradcheck, float32 in → float32 out, and PyTorch's values if present."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import chainrule as cr
from chainrule import ops
from op_cases import CASES, Case

IDS = [case.name for case in CASES]


@pytest.mark.parametrize("case", [c for c in CASES if c.exact], ids=lambda c: c.name)
def test_gradcheck_float64(case: Case, rng: np.random.Generator) -> None:
    result = cr.gradcheck(case.fn, case.inputs(rng))
    assert result.passed, f"{case.name}\n{result}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_stays_float32(case: Case, rng: np.random.Generator) -> None:
    inputs = [cr.tensor(x.astype(np.float32), requires_grad=True) for x in case.inputs(rng)]
    out = case.fn(*inputs)
    assert out.dtype == np.float32
    (out * cr.tensor(rng.standard_normal(out.shape))).sum().backward()
    for t in inputs:
        assert t.grad is not None and t.grad.dtype == np.float32, case.name


@pytest.mark.parametrize("case", [c for c in CASES if c.torch is not None], ids=lambda c: c.name)
def test_matches_pytorch(case: Case, rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    inputs = [x.astype(np.float32) for x in case.inputs(rng)]
    ours = [cr.tensor(x, requires_grad=True) for x in inputs]
    theirs = [torch.tensor(x, requires_grad=True) for x in inputs]
    out, ref = case.fn(*ours), case.torch(*theirs)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    direction = rng.standard_normal(out.shape).astype(np.float32)
    (out * cr.tensor(direction)).sum().backward()
    (ref * torch.tensor(direction)).sum().backward()
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine.grad, reference.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_every_op_has_a_case() -> None:
    functions = {
        name
        for name, obj in vars(ops).items()
        if inspect.isclass(obj) and issubclass(obj, ops.Function) and obj is not ops.Function
    }
    covered = {op for case in CASES for op in case.ops}
    covered |= CONV_OPS_TESTED_ELSEWHERE
    assert functions <= covered, f"ops without a case: {sorted(functions - covered)}"


# Convolution-family ops have their own gradchecks over strides and paddings in test_conv.py.
CONV_OPS_TESTED_ELSEWHERE = {
    "Conv2d",
    "ConvTranspose2d",
    "MaxPool2d",
    "AvgPool2d",
    "AdaptiveMaxPool2d",  # tests/nn/test_pooling.py
    "BatchNorm",
    "BatchNormEval",
    "Im2Col",  # tests/nn/test_fold.py
    "Col2Im",
}


@settings(max_examples=40, deadline=None)
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    op=st.sampled_from(["add", "sub", "mul", "div"]),
)
def test_broadcasting_gradients(shapes, op: str) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    a, b = (rng.uniform(0.5, 2.0, s) for s in shapes.input_shapes)
    fn = {
        "add": lambda x, y: x + y,
        "sub": lambda x, y: x - y,
        "mul": lambda x, y: x * y,
        "div": lambda x, y: x / y,
    }[op]
    result = cr.gradcheck(fn, [a, b])
    assert result.passed, str(result)

"""``torch.exp(x)``, ``torch.sum(x, 1)``, ``torch.max(x, 1)``: the free-function spellings.

Each is the Tensor method of the same name (and docstring), called on its first argument; that
argument may also be an array or a number. ``out=`` writes the result into a given tensor.
The functions of several tensors (cat, stack, where, einsum) are here in full.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import ops
from .errors import ShapeError
from .tensor import Tensor, apply, concatenate, stack, tensor


def _method(name: str) -> Callable[..., Any]:
    def function(input: Any, *args: Any, out: Tensor | None = None, **kwargs: Any) -> Any:
        t = input if isinstance(input, Tensor) else tensor(input)
        result = getattr(t, name)(*args, **kwargs)
        if out is not None:
            out.array = result.array
            return out
        return result

    function.__name__ = function.__qualname__ = name
    function.__doc__ = getattr(Tensor, name).__doc__
    return function


abs = _method("abs")
absolute = _method("absolute")
acos = _method("acos")
acosh = _method("acosh")
add = _method("add")
addbmm = _method("addbmm")
addcdiv = _method("addcdiv")
addcmul = _method("addcmul")
addmm = _method("addmm")
addmv = _method("addmv")
addr = _method("addr")
all = _method("all")
allclose = _method("allclose")
amax = _method("amax")
amin = _method("amin")
aminmax = _method("aminmax")
any = _method("any")
arccos = _method("arccos")
arccosh = _method("arccosh")
arcsin = _method("arcsin")
arcsinh = _method("arcsinh")
arctan = _method("arctan")
arctan2 = _method("arctan2")
arctanh = _method("arctanh")
argmax = _method("argmax")
argmin = _method("argmin")
argsort = _method("argsort")
argwhere = _method("argwhere")
asin = _method("asin")
asinh = _method("asinh")
atan = _method("atan")
atan2 = _method("atan2")
atanh = _method("atanh")
baddbmm = _method("baddbmm")
bincount = _method("bincount")
bitwise_and = _method("bitwise_and")
bitwise_not = _method("bitwise_not")
bitwise_or = _method("bitwise_or")
bitwise_xor = _method("bitwise_xor")
bmm = _method("bmm")
ceil = _method("ceil")
chunk = _method("chunk")
clamp = _method("clamp")
clamp_max = _method("clamp_max")
clamp_min = _method("clamp_min")
clip = _method("clip")
clone = _method("clone")
cos = _method("cos")
cosh = _method("cosh")
count_nonzero = _method("count_nonzero")
cross = _method("cross")
cummax = _method("cummax")
cummin = _method("cummin")
cumprod = _method("cumprod")
cumsum = _method("cumsum")
deg2rad = _method("deg2rad")
diag = _method("diag")
diagonal = _method("diagonal")
diagonal_scatter = _method("diagonal_scatter")
diff = _method("diff")
div = _method("div")
divide = _method("divide")
dot = _method("dot")
dsplit = _method("dsplit")
eq = _method("eq")
equal = _method("equal")
erf = _method("erf")
erfc = _method("erfc")
exp = _method("exp")
exp2 = _method("exp2")
expm1 = _method("expm1")
fix = _method("fix")
flatten = _method("flatten")
flip = _method("flip")
fliplr = _method("fliplr")
flipud = _method("flipud")
float_power = _method("float_power")
floor = _method("floor")
floor_divide = _method("floor_divide")
fmax = _method("fmax")
fmin = _method("fmin")
fmod = _method("fmod")
frac = _method("frac")
gather = _method("gather")
ge = _method("ge")
greater = _method("greater")
greater_equal = _method("greater_equal")
gt = _method("gt")
hsplit = _method("hsplit")
hypot = _method("hypot")
index_copy = _method("index_copy")
index_select = _method("index_select")
inner = _method("inner")
isclose = _method("isclose")
isfinite = _method("isfinite")
isinf = _method("isinf")
isnan = _method("isnan")
isneginf = _method("isneginf")
isposinf = _method("isposinf")
kron = _method("kron")
kthvalue = _method("kthvalue")
le = _method("le")
lerp = _method("lerp")
less = _method("less")
less_equal = _method("less_equal")
log = _method("log")
log10 = _method("log10")
log1p = _method("log1p")
log2 = _method("log2")
log_softmax = _method("log_softmax")
logaddexp = _method("logaddexp")
logaddexp2 = _method("logaddexp2")
logical_and = _method("logical_and")
logical_not = _method("logical_not")
logical_or = _method("logical_or")
logical_xor = _method("logical_xor")
logit = _method("logit")
logsumexp = _method("logsumexp")
lt = _method("lt")
masked_fill = _method("masked_fill")
masked_scatter = _method("masked_scatter")
masked_select = _method("masked_select")
matmul = _method("matmul")
max = _method("max")
maximum = _method("maximum")
mean = _method("mean")
median = _method("median")
min = _method("min")
minimum = _method("minimum")
mm = _method("mm")
moveaxis = _method("moveaxis")
movedim = _method("movedim")
mul = _method("mul")
multiply = _method("multiply")
mv = _method("mv")
nan_to_num = _method("nan_to_num")
nanmean = _method("nanmean")
nansum = _method("nansum")
narrow = _method("narrow")
ne = _method("ne")
neg = _method("neg")
negative = _method("negative")
nonzero = _method("nonzero")
norm = _method("norm")
not_equal = _method("not_equal")
outer = _method("outer")
permute = _method("permute")
positive = _method("positive")
pow = _method("pow")
prod = _method("prod")
rad2deg = _method("rad2deg")
ravel = _method("ravel")
reciprocal = _method("reciprocal")
relu = _method("relu")
remainder = _method("remainder")
repeat_interleave = _method("repeat_interleave")
reshape = _method("reshape")
roll = _method("roll")
rot90 = _method("rot90")
round = _method("round")
rsqrt = _method("rsqrt")
scatter = _method("scatter")
scatter_add = _method("scatter_add")
select = _method("select")
select_scatter = _method("select_scatter")
sgn = _method("sgn")
sigmoid = _method("sigmoid")
sign = _method("sign")
signbit = _method("signbit")
sin = _method("sin")
sinc = _method("sinc")
sinh = _method("sinh")
slice_scatter = _method("slice_scatter")
softmax = _method("softmax")
sort = _method("sort")
split = _method("split")
split_with_sizes = _method("split_with_sizes")
sqrt = _method("sqrt")
square = _method("square")
squeeze = _method("squeeze")
std = _method("std")
sub = _method("sub")
subtract = _method("subtract")
sum = _method("sum")
swapaxes = _method("swapaxes")
swapdims = _method("swapdims")
t = _method("t")
take = _method("take")
take_along_dim = _method("take_along_dim")
tan = _method("tan")
tanh = _method("tanh")
tensor_split = _method("tensor_split")
tile = _method("tile")
topk = _method("topk")
trace = _method("trace")
transpose = _method("transpose")
tril = _method("tril")
triu = _method("triu")
true_divide = _method("true_divide")
trunc = _method("trunc")
unbind = _method("unbind")
unflatten = _method("unflatten")
unique = _method("unique")
unsqueeze = _method("unsqueeze")
var = _method("var")
vsplit = _method("vsplit")
xlogy = _method("xlogy")
copysign = _method("copysign")
logcumsumexp = _method("logcumsumexp")
mode = _method("mode")
scatter_reduce = _method("scatter_reduce")


def var_mean(
    input: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple[Tensor, Tensor]:
    return input.var(dim, unbiased, keepdim, correction=correction), input.mean(dim, keepdim)


def std_mean(
    input: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple[Tensor, Tensor]:
    return input.std(dim, unbiased, keepdim, correction=correction), input.mean(dim, keepdim)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    items = [t if t.ndim else t.reshape(1) for t in tensors]
    return concatenate(items, 0 if items[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    return concatenate([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


row_stack = vstack


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    items = []
    for t in tensors:
        if t.ndim == 0:
            t = t.reshape(1, 1, 1)
        elif t.ndim == 1:
            t = t.reshape(1, -1, 1)
        elif t.ndim == 2:
            t = t.unsqueeze(-1)
        items.append(t)
    return concatenate(items, 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    return concatenate([t.reshape(-1, 1) if t.ndim < 2 else t for t in tensors], 1)


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, as ``torch.einsum``: ``einsum("bij,bjk->bik", a, b)``; operands may
    also come as one list."""
    if not isinstance(equation, str):  # the sublist form: einsum(a, [0, 1], b, [1, 2], [0, 2])
        equation, operands = _sublists(equation, *operands)
    elif len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    try:
        return apply(ops.Einsum, *operands, equation=equation)
    except ValueError as error:  # a malformed equation or sizes that disagree
        raise ShapeError(str(error)) from None


def _sublists(*args: Any) -> tuple[str, tuple[Any, ...]]:
    """einsum's sublist form as an equation: operands each followed by a list of dim numbers
    (Ellipsis for ...), then the output's list."""
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

    def spell(sub: Any) -> str:
        return "".join("..." if s is Ellipsis else letters[s] for s in sub)

    items = list(args)
    output = items.pop() if len(items) % 2 else None
    operands = tuple(items[0::2])
    inputs = ",".join(spell(sub) for sub in items[1::2])
    return (inputs if output is None else f"{inputs}->{spell(output)}"), operands


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Contract the last ``dims`` dims of a with the first of b (or the given dim lists)."""
    if isinstance(dims, int):
        axes_a = list(range(a.ndim - dims, a.ndim))
        axes_b = list(range(dims))
    else:
        axes_a, axes_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(axes_a, axes_b, strict=True):
        sb[j % b.ndim] = sa[i % a.ndim]
    contracted = {sa[i % a.ndim] for i in axes_a}
    out = [c for c in sa if c not in contracted] + [c for c in sb if c not in contracted]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0) -> Tensor:
    """Pairwise p-norm distances between the rows of x1 (…, P, M) and x2 (…, R, M)."""
    if x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(f"cdist: rows of {x1.shape[-1]} and {x2.shape[-1]} features")
    return (x1.unsqueeze(-2) - x2.unsqueeze(-3)).norm(p, dim=-1)


def dist(input: Tensor, other: Tensor, p: float = 2.0) -> Tensor:
    return (input - other).norm(p)


def block_diag(*tensors: Tensor) -> Tensor:
    rows = builtins.sum(t.shape[0] if t.ndim == 2 else 1 for t in tensors)
    cols = builtins.sum(t.shape[-1] if t.ndim else 1 for t in tensors)
    dtype = np.result_type(*(t.dtype for t in tensors))
    out = Tensor._make(np.zeros((rows, cols), dtype=dtype))
    r = c = 0
    for t in tensors:
        block = t.reshape(1, -1) if t.ndim < 2 else t
        h, w = block.shape
        out = apply(ops.IndexPut, out, block, steps=((slice(r, r + h), slice(c, c + w)),))
        r, c = r + h, c + w
    return out


__all__ = [name for name in dir() if not name.startswith("_")] + ["concatenate", "stack"]

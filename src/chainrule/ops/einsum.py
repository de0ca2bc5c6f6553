"""Einstein summation: one op for contractions, traces, diagonals, transposes and outer products.

The equation is first rewritten into a *canonical* one that NumPy evaluates without any
broadcasting: every '...' becomes explicit letters, the output is always spelled out (implicit
mode: the '...' dims, then the letters that appear once, in np.einsum's order A-Z a-z), and an
operand whose dim has size 1 where the other operands have size n gets a letter of its own for
that dim (summed over a single element, so the value is unchanged). In that form each letter has
one size, and the gradient of an operand is itself an einsum: contract ``grad_out`` with every
other operand onto the operand's letters.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from .base import Array, Context, Function, Grads

# np.einsum's 52 subscripts, in the order its implicit mode sorts them (A-Z before a-z).
_LETTERS = string.ascii_uppercase + string.ascii_lowercase
_ORDER = {c: i for i, c in enumerate(_LETTERS)}
# A two-array einsum this large (product of all its letters' sizes) goes through np.einsum's
# optimizer, which hands matrix-shaped contractions to BLAS; smaller ones are faster unplanned.
_OPTIMIZE_WORK = 1 << 16

Label = Any  # a letter from the equation, ("...", i) for an ellipsis dim, or ("1", k, label)


class _Plan:
    """The canonical form of an equation for given operand shapes."""

    __slots__ = ("inputs", "output", "sizes")

    def __init__(self, inputs: tuple[str, ...], output: str, sizes: dict[str, int]) -> None:
        self.inputs = inputs  # one string of letters per operand, one letter per dim
        self.output = output  # the output's letters, all distinct
        self.sizes = sizes  # every letter's size (one size per letter: nothing broadcasts)

    def equation(self) -> str:
        return f"{','.join(self.inputs)}->{self.output}"


def _terms(side: str, equation: str, output: bool) -> list[list[str | None]]:
    """Split one side of the equation into terms of letters, None standing for '...'."""
    terms = []
    for k, term in enumerate(side.split(",")):
        name = "the output" if output else f"operand {k}"
        if term.count("...") > 1:
            raise ValueError(f"einsum equation {equation!r}: {name} has more than one '...'")
        if term.replace("...", "").count("."):
            raise ValueError(
                f"einsum equation {equation!r}: {name} has a '.' that is not part of '...'"
            )
        tokens: list[str | None] = []
        for i, piece in enumerate(term.split("...")):
            if i:
                tokens.append(None)
            for c in piece:
                if c not in _ORDER:
                    raise ValueError(
                        f"einsum equation {equation!r}: invalid subscript {c!r} in {name}"
                        " (subscripts are letters a-z, A-Z and '...')"
                    )
                tokens.append(c)
        terms.append(tokens)
    return terms


def _plan(equation: str, shapes: list[tuple[int, ...]]) -> _Plan:
    """Validate ``equation`` against the operand shapes and rewrite it in canonical form."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum equation must be a str, got {type(equation).__name__}")
    eq = "".join(equation.split())  # spaces are allowed anywhere
    lhs, arrow, rhs = eq.partition("->")
    if "-" in lhs + rhs or ">" in lhs + rhs:
        raise ValueError(f"einsum equation {equation!r}: '->' must appear at most once, alone")
    if "," in rhs:
        raise ValueError(f"einsum equation {equation!r}: the output must be a single term")
    terms = _terms(lhs, equation, output=False)
    if len(terms) != len(shapes):
        raise ValueError(
            f"einsum equation {equation!r} names {len(terms)} operand(s)"
            f" but {len(shapes)} were given"
        )

    # Each operand's dims as labels; the ellipsis dims are numbered from the right.
    labelled: list[list[Label]] = []
    ell_shapes = []
    for k, (tokens, shape) in enumerate(zip(terms, shapes, strict=True)):
        letters = [t for t in tokens if t is not None]
        n_ell = len(shape) - len(letters)
        if n_ell < 0 or (n_ell > 0 and None not in tokens):
            raise ValueError(
                f"einsum equation {equation!r}: operand {k} has {len(shape)} dim(s)"
                f" but its subscripts {lhs.split(',')[k]!r} name {len(letters)}"
                + ("" if None in tokens else " (use '...' for the others)")
            )
        dims: list[Label] = []
        for t in tokens:
            dims.extend([t] if t is not None else [("...", n_ell - i) for i in range(n_ell)])
        labelled.append(dims)
        pos = tokens.index(None) if None in tokens else 0
        ell_shapes.append(shape[pos : pos + n_ell])
    try:
        ell_shape = np.broadcast_shapes(*ell_shapes)
    except ValueError:
        raise ValueError(
            f"einsum equation {equation!r}: the dims covered by '...' do not broadcast:"
            f" {' vs '.join(map(str, ell_shapes))}"
        ) from None
    ellipsis = [("...", len(ell_shape) - i) for i in range(len(ell_shape))]

    # The size of every label: equal within an operand, equal or 1 (broadcast) across operands.
    sizes: dict[Label, int] = {}
    for k, (dims, shape) in enumerate(zip(labelled, shapes, strict=True)):
        seen: dict[Label, int] = {}
        for label, n in zip(dims, shape, strict=True):
            if seen.setdefault(label, n) != n:
                raise ValueError(
                    f"einsum equation {equation!r}: subscript {label!r} is repeated in"
                    f" operand {k} with different sizes {seen[label]} and {n}"
                )
            if isinstance(label, tuple):
                sizes[label] = ell_shape[len(ell_shape) - label[1]]
            elif sizes.get(label, 1) == 1:
                sizes[label] = n
            elif n not in (1, sizes[label]):
                raise ValueError(
                    f"einsum equation {equation!r}: subscript {label!r} has size {n} in"
                    f" operand {k} but size {sizes[label]} in an earlier operand"
                )

    if arrow:
        (out_tokens,) = _terms(rhs, equation, output=True)
        output: list[Label] = []
        for t in out_tokens:
            if t is not None and t not in sizes:
                raise ValueError(
                    f"einsum equation {equation!r}: output subscript {t!r}"
                    " does not appear in any operand"
                )
            if t in output:
                raise ValueError(
                    f"einsum equation {equation!r}: output subscript {t!r} appears more than once"
                )
            # An output without '...' sums over the ellipsis dims, as torch.einsum does.
            output.extend([t] if t is not None else ellipsis)
    else:
        counts: dict[str, int] = {}
        for dims in labelled:
            for label in dims:
                if isinstance(label, str):
                    counts[label] = counts.get(label, 0) + 1
        once = sorted((c for c, n in counts.items() if n == 1), key=_ORDER.__getitem__)
        output = [*ellipsis, *once]

    # A size-1 dim facing a larger (or empty) one gets a label private to its operand.
    for k, (dims, shape) in enumerate(zip(labelled, shapes, strict=True)):
        for i, (label, n) in enumerate(zip(dims, shape, strict=True)):
            if n != sizes[label]:
                dims[i] = ("1", k, label)
                sizes[dims[i]] = 1

    # Name every label with a letter: the equation's own letters first, then the unused ones.
    letters = {c: c for c in sizes if isinstance(c, str)}
    spare = iter(c for c in _LETTERS if c not in letters)
    for label in sizes:
        if label not in letters:
            letter = next(spare, None)
            if letter is None:
                raise ValueError(
                    f"einsum equation {equation!r}: with its '...' and broadcast dims spelled out"
                    f" it needs more than {len(_LETTERS)} distinct subscripts"
                )
            letters[label] = letter
    return _Plan(
        tuple("".join(letters[label] for label in dims) for dims in labelled),
        "".join(letters[label] for label in output),
        {letters[label]: n for label, n in sizes.items()},
    )


def _einsum(plan: _Plan, subscripts: list[str], target: str, arrays: list[Array]) -> Array:
    """np.einsum over canonical subscripts, planned when there are 3+ arrays or a lot of work."""
    work = int(np.prod([plan.sizes[c] for c in set("".join(subscripts))], dtype=np.float64))
    optimize = len(arrays) >= 3 or (len(arrays) == 2 and work >= _OPTIMIZE_WORK)
    return np.asarray(np.einsum(f"{','.join(subscripts)}->{target}", *arrays, optimize=optimize))


class Einsum(Function):
    """z = einsum(eq, a_1..a_n);  dz/da_k = einsum(grad, the other a_j) onto a_k's subscripts."""

    @staticmethod
    def forward(ctx: Context, *operands: Array, equation: str) -> Array:
        plan = _plan(equation, [np.shape(a) for a in operands])
        needs = ctx.needs_input_grad
        # Operand j is needed to differentiate every other operand.
        keep = tuple(j for j in range(len(operands)) if any(needs[:j]) or any(needs[j + 1 :]))
        ctx.plan, ctx.kept = plan, keep
        ctx.shapes, ctx.dtypes = [a.shape for a in operands], [a.dtype for a in operands]
        ctx.save_for_backward(*(operands[j] for j in keep))
        out = _einsum(plan, list(plan.inputs), plan.output, list(operands))
        if any(np.may_share_memory(out, a) for a in operands):
            out = out.copy()  # 'ij->ji', 'ii->i' and the like are views of the operand
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        plan: _Plan = ctx.plan
        saved = dict(zip(ctx.kept, ctx.saved, strict=True))
        grad_out = np.asarray(grad_out)
        grads: list[Array | None] = []
        for k, needed in enumerate(ctx.needs_input_grad):
            if not needed:
                grads.append(None)
                continue
            others = [j for j in range(len(plan.inputs)) if j != k]
            subscripts = [plan.output, *(plan.inputs[j] for j in others)]
            own = "".join(dict.fromkeys(plan.inputs[k]))  # a_k's letters, each once
            # Letters that only a_k has were summed out: z does not vary along them.
            reach = set("".join(subscripts))
            target = "".join(c for c in own if c in reach)
            grad = _einsum(plan, subscripts, target, [grad_out, *(saved[j] for j in others)])
            if len(target) < len(own):
                grad = grad.reshape([plan.sizes[c] if c in reach else 1 for c in own])
                grad = np.broadcast_to(grad, [plan.sizes[c] for c in own])
            if len(own) < len(plan.inputs[k]):  # repeated letters: only the diagonal is used
                full = np.zeros(ctx.shapes[k], dtype=np.result_type(grad, ctx.dtypes[k]))
                np.einsum(f"{plan.inputs[k]}->{own}", full)[...] = grad  # a writeable view
                grad = full
            if np.issubdtype(ctx.dtypes[k], np.inexact):
                grad = grad.astype(ctx.dtypes[k], copy=False)
            grads.append(grad)
        return tuple(grads)

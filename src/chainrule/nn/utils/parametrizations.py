"""Weight and spectral normalisation as parametrizations, as
``torch.nn.utils.parametrizations``: the state_dict holds
``parametrizations.weight.original0`` (g) and ``original1`` (v) for weight_norm, and
``parametrizations.weight.original`` with the power iteration's ``parametrizations.weight.0._u``
and ``_v`` for spectral_norm."""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import creation
from ...errors import ConfigError
from ...functional.normalization import normalize
from ...grad_mode import no_grad
from ...tensor import Tensor, bump_version, cat
from ..module import Module
from . import parametrize


def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """‖v‖₂ over every axis but dim (kept, size 1), as torch.norm_except_dim; dim=-1 means
    the norm of the whole tensor (PyTorch's convention, not the last axis)."""
    if dim == -1:
        return (v * v).sum().sqrt()
    axis = dim % v.ndim
    others = tuple(d for d in range(v.ndim) if d != axis)
    return (v * v).sum(dim=others, keepdim=True).sqrt() if others else v.abs()


def _weight_norm(v: Tensor, g: Tensor, dim: int) -> Tensor:
    """w = g · v / ‖v‖, the norm over every axis but dim."""
    return v * (g / _norm_except_dim(v, dim))


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def extra_repr(self) -> str:
        return ""

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """``module.<name> = g · v / ‖v‖`` with g (``original0``, the norms over every axis but
    dim) and v (``original1``, the direction) learnt apart; dim=None normalises the whole
    tensor."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def _weight_norm_compat_hook(state_dict: Any, prefix: str, *_: Any) -> None:
        # a state_dict of the hook-based weight_norm (weight_g, weight_v) loads too
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module._register_load_state_dict_pre_hook(_weight_norm_compat_hook)
    return module


class _SpectralNorm(Module):
    def __init__(
        self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(
                "Dimension out of range (expected to be in range of "
                f"[-{ndim}, {ndim - 1}] but got {dim})"
            )
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but got "
                f"n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight.detach())
            h, w = weight_mat.shape
            u = creation.randn(h, dtype=weight.dtype)
            v = creation.randn(w, dtype=weight.dtype)
            with no_grad():
                self.register_buffer("_u", normalize(u, dim=0, eps=self.eps))
                self.register_buffer("_v", normalize(v, dim=0, eps=self.eps))
            self._power_method(weight_mat, 15)

    def extra_repr(self) -> str:
        return ""

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        """u ← W v / ‖W v‖, v ← Wᵀ u / ‖Wᵀ u‖, in place in the buffers (no gradient)."""
        w = weight_mat.detach().array
        u, v = self._u.array, self._v.array
        for _ in range(n_power_iterations):
            u[...] = _normalized(w @ v, self.eps)
            v[...] = _normalized(w.conj().T @ u, self.eps)
        bump_version(self._u)
        bump_version(self._v)

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = u @ (weight_mat @ v)  # σ = uᵀ W v, the largest singular value's estimate
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def _normalized(x: np.ndarray, eps: float) -> np.ndarray:
    return x / max(float(np.sqrt(np.sum(x * x))), eps)


def _is_conv_transpose(module: Module) -> bool:
    return parametrize.type_before_parametrizations(module).__name__.startswith("ConvTranspose")


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """``module.<name> = W / σ(W)``, σ the largest singular value of W seen as a matrix with
    rows along dim (1 for ConvTranspose, else 0), estimated by power iteration: one step of
    it at each access in training mode, none in eval mode."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ConfigError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if _is_conv_transpose(module) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps)
    )
    return module


def _matrix_exp(a: Tensor) -> Tensor:
    """exp(A) by scaling and squaring: a degree-18 Taylor series of A / 2^s (‖A / 2^s‖₁ ≤
    1/2, so the truncation is below float64's rounding), squared s times; composed of
    matmuls, so its gradient comes from theirs."""
    norm = float(np.abs(a.detach().array).sum(axis=-2).max()) if a.numel() else 0.0
    squarings = int(np.ceil(np.log2(norm / 0.5))) if norm > 0.5 else 0
    x = a / float(2**squarings)
    eye = creation.eye(a.shape[-1], dtype=a.dtype)
    term = result = eye
    for k in range(1, 19):
        term = (term @ x) / float(k)
        result = result + term
    for _ in range(squarings):
        result = result @ result
    return result


def _householder_product(a: Tensor, tau: Tensor) -> Tensor:
    """The first k columns of H₁ H₂ … H_k, H_i = I - τ_i v_i v_iᵀ with v_i = e_i + a[:, i]
    (a strictly lower triangular, n × k), as torch.linalg.householder_product."""
    n, k = a.shape[-2], a.shape[-1]
    eye = np.eye(n, k, dtype=a.dtype)
    q: Tensor = Tensor(np.broadcast_to(eye, a.shape).copy(), dtype=a.dtype)
    for i in reversed(range(k)):
        v = a[..., :, i] + Tensor(np.eye(n, dtype=a.dtype)[i], dtype=a.dtype)
        vq = v.unsqueeze(-2) @ q  # vᵀ Q
        q = q - tau[..., i].unsqueeze(-1).unsqueeze(-1) * (v.unsqueeze(-1) @ vq)
    return q


def _make_orthogonal(a: np.ndarray) -> np.ndarray:
    """Q of A = QR with R's diagonal made positive (Q's columns times its signs)."""
    q, r = np.linalg.qr(a)
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def _is_orthogonal(q: np.ndarray) -> bool:
    n, k = q.shape[-2], q.shape[-1]
    eps = 10.0 * n * float(np.finfo(q.dtype).eps)
    return bool(
        np.allclose(np.swapaxes(q, -1, -2) @ q, np.eye(k, dtype=q.dtype), atol=eps, rtol=1e-5)
    )


_ORTHOGONAL_MAPS = ("matrix_exp", "cayley", "householder")


class _Orthogonal(Module):
    """Q = base · f(X): f the matrix exponential of the skew-symmetric X - Xᵀ (X lower
    triangular) or the Householder product of X's strict lower triangle; base the
    orthogonal matrix assigned last (the trivialization), X starting at -I."""

    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True):
        super().__init__()
        if not use_trivialization:
            raise NotImplementedError(
                "orthogonal(use_trivialization=False) is not supported: it needs "
                "torch.geqrf; use the default use_trivialization=True"
            )
        if orthogonal_map == "cayley":
            raise NotImplementedError(
                "orthogonal(orthogonal_map='cayley') is not supported (it needs a "
                "differentiable linalg.solve); use 'matrix_exp' or 'householder'"
            )
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        self.register_buffer("base", None)

    def extra_repr(self) -> str:
        return ""

    def forward(self, x: Tensor) -> Tensor:
        n, k = x.shape[-2], x.shape[-1]
        transposed = n < k
        if transposed:
            x = x.mT
            n, k = k, n
        if self.orthogonal_map == "matrix_exp":
            x = x.tril()
            if n != k:  # embedded in a square matrix
                zeros = creation.zeros(*x.shape[:-1], n - k, dtype=x.dtype)
                x = cat([x, zeros], dim=-1)
            q = _matrix_exp(x - x.mT)
            if n != k:
                q = q[..., :k]
        else:
            a = x.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (a * a).sum(dim=-2))
            q = _householder_product(a, tau)
            # X's diagonal (±1) gives the columns' signs; neither trained nor differentiated
            signs = np.trunc(np.diagonal(x.detach().array, axis1=-2, axis2=-1))
            q = q * Tensor(signs[..., None, :].astype(x.dtype), dtype=x.dtype)
        q = self.base @ q
        if transposed:
            q = q.mT
        return q

    def right_inverse(self, q: Tensor) -> Tensor:
        if q.shape != self.shape:
            raise ValueError(
                f"Expected a matrix or batch of matrices of shape {self.shape}. "
                f"Got a tensor of shape {q.shape}."
            )
        shape = q.shape
        value = q.detach().array
        n, k = value.shape[-2], value.shape[-1]
        if n < k:
            value = np.swapaxes(value, -1, -2)
            n, k = k, n
        if n == k:
            value = value.copy() if _is_orthogonal(value) else _make_orthogonal(value)
        else:  # completed to a full n × n orthogonal matrix
            extra = creation.randn(*value.shape[:-2], n, n - k, dtype=value.dtype).array
            value = _make_orthogonal(np.concatenate([value, extra], axis=-1))
        self.base = Tensor(value.astype(q.dtype), dtype=q.dtype)
        # -I: householder(0) with the diagonal's signs is then I, and so is exp(0)
        neg_id = np.zeros(shape, dtype=q.dtype)
        diagonal = np.arange(min(shape[-2:]))
        neg_id[..., diagonal, diagonal] = -1.0
        return Tensor(neg_id, dtype=q.dtype)


def orthogonal(
    module: Module,
    name: str = "weight",
    orthogonal_map: str | None = None,
    *,
    use_trivialization: bool = True,
) -> Module:
    """``module.<name>`` kept orthogonal (orthonormal rows or columns, whichever are fewer):
    ``Q = base · f(original)``, f the matrix exponential (square matrices, the default
    there) or a Householder product (the default otherwise)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ConfigError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ConfigError(
            f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions."
        )
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _ORTHOGONAL_MAPS:
        raise ConfigError(
            'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
            f"Got: {orthogonal_map}"
        )
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


__all__ = ["orthogonal", "spectral_norm", "weight_norm"]

"""Recurrences of RNN, LSTM and GRU layers: one primitive per layer and direction.

Each is a primitive for speed: a composed recurrence records about ten graph nodes per time step,
while these run the whole sequence (forward, and backpropagation through time) as one node, with
the gate nonlinearities and their derivatives fused. The input projection x_t W_ihᵀ + b_ih of
every step is done outside, in one matmul, and arrives as ``gates_x`` (L, N, G·H), time-major.

Gate layouts are PyTorch's: LSTM (i, f, g, o), GRU (r, z, n). ``reverse=True`` runs t = L-1 .. 0
(the backward direction of a bidirectional layer); outputs stay in input time order.
"""

from __future__ import annotations

import numpy as np

from .. import kernels
from .base import Array, Context, Function, Grads


def _sigmoid(a: Array) -> Array:
    # σ(a) = (1 + tanh(a/2))/2 never overflows, unlike 1/(1 + e^-a) at a = -1000.
    return 0.5 * (1 + np.tanh(0.5 * a))


def _steps(length: int, reverse: bool) -> range:
    return range(length - 1, -1, -1) if reverse else range(length)


def _previous(states: Array, initial: Array, reverse: bool) -> Array:
    """The state each step starts from: h_{t-1} (h_{t+1} when reversed), h0 at the first step."""
    prev = np.empty_like(states)  # (L, N, H)
    if reverse:
        prev[-1], prev[:-1] = initial, states[1:]
    else:
        prev[0], prev[1:] = initial, states[:-1]
    return prev


def _split4(a: Array, hidden: int) -> tuple[Array, Array, Array, Array]:
    """The LSTM gates (i, f, g, o) of a (N, 4H) array, as views."""
    return (
        a[:, :hidden],
        a[:, hidden : 2 * hidden],
        a[:, 2 * hidden : 3 * hidden],
        a[:, 3 * hidden :],
    )


def _weight_grads(
    ctx: Context, dgates_h: Array, h_prev: Array, w_index: int
) -> tuple[Array | None, Array | None]:
    """dW_hh = Σ_t dgates_tᵀ h_{t-1} and db_hh = Σ_t dgates_t, over every step at once."""
    needs = ctx.needs_input_grad
    dw = None
    if needs[w_index]:
        # (G·H, L·N) @ (L·N, H)
        dw = dgates_h.reshape(-1, dgates_h.shape[-1]).T @ h_prev.reshape(-1, h_prev.shape[-1])
    db = dgates_h.sum(axis=(0, 1)) if len(needs) > w_index + 1 and needs[w_index + 1] else None
    return dw, db


class RNNRecurrence(Function):
    """h_t = act(gx_t + h_{t-1}W_hhᵀ + b_hh);  dpre_t = dh_t·act'(h_t),  dh_{t-1} += dpre_t W_hh."""

    @staticmethod
    def forward(
        ctx: Context,
        gates_x: Array,
        h0: Array,
        weight_hh: Array,
        bias_hh: Array | None = None,
        *,
        nonlinearity: str = "tanh",
        reverse: bool = False,
    ) -> Array:
        out = np.empty_like(gates_x)  # (L, N, H)
        h = h0
        w_t = weight_hh.T
        for t in _steps(len(gates_x), reverse):
            pre = gates_x[t] + h @ w_t
            if bias_hh is not None:
                pre += bias_hh
            h = (
                np.tanh(pre, out=out[t])
                if nonlinearity == "tanh"
                else np.maximum(pre, 0, out=out[t])
            )
        ctx.save_for_backward(out, h0, weight_hh)
        ctx.nonlinearity, ctx.reverse = nonlinearity, reverse
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        out, h0, weight_hh = ctx.saved
        if ctx.nonlinearity == "tanh":
            slope = 1 - out * out
        else:
            slope = (out > 0).astype(out.dtype)
        dpre = np.empty_like(out)  # (L, N, H)
        dh_next = np.zeros_like(h0)
        for t in _steps(len(out), not ctx.reverse):
            np.multiply(grad_out[t] + dh_next, slope[t], out=dpre[t])
            dh_next = dpre[t] @ weight_hh
        dw, db = _weight_grads(ctx, dpre, _previous(out, h0, ctx.reverse), 2)
        dgx, dh0 = ctx.needs_input_grad[:2]
        return (dpre if dgx else None), (dh_next if dh0 else None), dw, db


class LSTMRecurrence(Function):
    """(i,f,g,o) = (σ,σ,tanh,σ)(gx_t + h_{t-1}W_hhᵀ + b_hh), c_t = f·c_{t-1} + i·g,
    h_t = o·tanh(c_t) (times W_hrᵀ with a projection), returned as [h_t | c_t];  BPTT with
    dc_t = dc + dh·o·(1 - tanh² c_t),  d(i,f,g,o) = (dc·g, dc·c_{t-1}, dc·i, dh·tanh c_t)·act'.
    The gates of one step are one kernel pass (kernels.lstm_cell, lstm_cell_backward).

    h0 is (N, P) and c0 (N, H), P = H without a projection; the output is (L, N, P + H).
    """

    @staticmethod
    def forward(
        ctx: Context,
        gates_x: Array,
        h0: Array,
        c0: Array,
        weight_hh: Array,
        bias_hh: Array | None = None,
        weight_hr: Array | None = None,
        *,
        reverse: bool = False,
    ) -> Array:
        length, batch, size = gates_x.shape
        hidden, out_size = size // 4, h0.shape[-1]
        dtype = gates_x.dtype
        acts = gates_x + bias_hh if bias_hh is not None else gates_x.copy()  # (L, N, 4H)
        out = np.empty((length, batch, out_size + hidden), dtype=dtype)  # [h | c]
        tanh_c = np.empty((length, batch, hidden), dtype=dtype)
        # o·tanh(c) before the projection h = (o·tanh c) W_hrᵀ, which backward needs.
        unprojected = np.empty_like(tanh_c) if weight_hr is not None else None
        h, c_prev = h0, c0
        w_t = weight_hh.T
        for t in _steps(length, reverse):
            a = acts[t]  # pre-activation, then (in place) σ(i), σ(f), tanh(g), σ(o)
            a += h @ w_t
            c, h = out[t, :, out_size:], out[t, :, :out_size]
            if unprojected is None:
                kernels.lstm_cell(a, c_prev, c, tanh_c[t], h)
            else:
                kernels.lstm_cell(a, c_prev, c, tanh_c[t], unprojected[t])
                h[...] = unprojected[t] @ weight_hr.T  # (N, H) @ (H, P)
            c_prev = c
        ctx.save_for_backward(out, acts, tanh_c, unprojected, h0, c0, weight_hh, weight_hr)
        ctx.reverse = reverse
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        out, acts, tanh_c, unprojected, h0, c0, weight_hh, weight_hr = ctx.saved
        length, batch, hidden = tanh_c.shape
        out_size = h0.shape[-1]
        reverse = ctx.reverse
        before = 1 if reverse else -1  # the step each step starts from
        dgates = np.empty_like(acts)  # (L, N, 4H)
        dh_projected = (
            None if weight_hr is None else np.empty((length, batch, out_size), acts.dtype)
        )
        dh_next, dc_next = np.zeros_like(h0), np.zeros_like(c0)
        for t in _steps(length, not reverse):
            dh = grad_out[t, :, :out_size] + dh_next
            if dh_projected is not None:
                dh_projected[t] = dh
                dh = dh @ weight_hr  # (N, P) @ (P, H)
            dc = grad_out[t, :, out_size:] + dc_next
            c_prev = c0 if not 0 <= t + before < length else out[t + before, :, out_size:]
            dc_next = kernels.lstm_cell_backward(acts[t], c_prev, tanh_c[t], dh, dc, dgates[t])
            dh_next = dgates[t] @ weight_hh
        h_prev = _previous(out[..., :out_size], h0, reverse)
        dw, db = _weight_grads(ctx, dgates, h_prev, 3)
        needs = ctx.needs_input_grad
        dw_hr = None
        if dh_projected is not None and needs[5]:
            # (P, L·N) @ (L·N, H)
            dw_hr = dh_projected.reshape(-1, out_size).T @ unprojected.reshape(-1, hidden)
        grads = (
            dgates if needs[0] else None,
            dh_next if needs[1] else None,
            dc_next if needs[2] else None,
            dw,
            db,
            dw_hr,
        )
        return grads[: len(needs)]


class GRURecurrence(Function):
    """r, z = σ(gx_{r,z} + gh_{r,z}), n = tanh(gx_n + r·gh_n), h_t = (1-z)·n + z·h_{t-1} with
    gh = h_{t-1}W_hhᵀ + b_hh;  dn = dh(1-z), dz = dh(h_{t-1} - n), dr = dn(1-n²)·gh_n, and
    dh_{t-1} = dh·z + d gh W_hh with d gh = (dr', dz', dn(1-n²)·r)."""

    @staticmethod
    def forward(
        ctx: Context,
        gates_x: Array,
        h0: Array,
        weight_hh: Array,
        bias_hh: Array | None = None,
        *,
        reverse: bool = False,
    ) -> Array:
        length, batch, size = gates_x.shape
        hidden = size // 3
        out = np.empty((length, batch, hidden), dtype=gates_x.dtype)
        # (L, N, 4H): r, z, n and gh_n = (h_{t-1}W_hhᵀ + b_hh)_n, the four that backward needs.
        saved = np.empty((length, batch, 4 * hidden), dtype=gates_x.dtype)
        h = h0
        w_t = weight_hh.T
        for t in _steps(length, reverse):
            gh = h @ w_t  # (N, 3H)
            if bias_hh is not None:
                gh += bias_hh
            s = saved[t]
            s[:, : 2 * hidden] = _sigmoid(gates_x[t, :, : 2 * hidden] + gh[:, : 2 * hidden])
            s[:, 3 * hidden :] = gh[:, 2 * hidden :]
            r, z = s[:, :hidden], s[:, hidden : 2 * hidden]
            n = s[:, 2 * hidden : 3 * hidden]
            np.tanh(gates_x[t, :, 2 * hidden :] + r * gh[:, 2 * hidden :], out=n)
            h_new = out[t]
            np.subtract(h, n, out=h_new)
            h_new *= z
            h_new += n
            h = h_new
        ctx.save_for_backward(out, saved, h0, weight_hh)
        ctx.reverse = reverse
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        out, saved, h0, weight_hh = ctx.saved
        hidden = h0.shape[-1]
        h_prev = _previous(out, h0, ctx.reverse)
        dgates_x = np.empty((*out.shape[:2], 3 * hidden), dtype=out.dtype)  # (L, N, 3H)
        dgates_h = np.empty_like(dgates_x)
        dh_next = np.zeros_like(h0)
        for t in _steps(len(out), not ctx.reverse):
            s = saved[t]
            r, z = s[:, :hidden], s[:, hidden : 2 * hidden]
            n, gh_n = s[:, 2 * hidden : 3 * hidden], s[:, 3 * hidden :]
            dh = grad_out[t] + dh_next
            dn = dh * (1 - z) * (1 - n * n)
            dx, dhh = dgates_x[t], dgates_h[t]
            dx[:, :hidden] = dn * gh_n * r * (1 - r)
            dx[:, hidden : 2 * hidden] = dh * (h_prev[t] - n) * z * (1 - z)
            dx[:, 2 * hidden :] = dn
            dhh[:, : 2 * hidden] = dx[:, : 2 * hidden]
            np.multiply(dn, r, out=dhh[:, 2 * hidden :])
            dh_next = dh * z + dhh @ weight_hh
        dw, db = _weight_grads(ctx, dgates_h, h_prev, 2)
        dgx, dh0 = ctx.needs_input_grad[:2]
        return (dgates_x if dgx else None), (dh_next if dh0 else None), dw, db

"""Connectionist temporal classification: the forward-backward (alpha-beta) recursion.

A primitive because the loss is a sum over exponentially many alignments: the recursion runs in
log space (log-sum-exp at every step) so that probabilities of 1e-300 and below neither
underflow nor turn into nan, and one pass over time serves the whole batch.
"""

from __future__ import annotations

import numpy as np

from .base import Array, Context, Function, Grads


def _logaddexp3(a: Array, b: Array, c: Array) -> Array:
    """log(e^a + e^b + e^c), shifted by the largest; -inf where all three are -inf."""
    top = np.maximum(np.maximum(a, b), c)
    shift = np.where(np.isneginf(top), np.zeros((), dtype=top.dtype), top)
    with np.errstate(divide="ignore", under="ignore"):
        return np.log(np.exp(a - shift) + np.exp(b - shift) + np.exp(c - shift)) + shift


def _shift(x: Array, by: int, fill: Array) -> Array:
    """x moved `by` places along the last axis (right if by > 0), the gap filled with -inf."""
    out = np.full_like(x, fill)
    if by > 0:
        out[..., by:] = x[..., :-by]
    else:
        out[..., :by] = x[..., -by:]
    return out


class CTCLoss(Function):
    """loss_n = -log Σ_{alignments π of target n} Π_t p_t(π_t), by alpha-beta in log space;
    "dloss_n/dlog_probs"[t, n, c] = p_t(c) - Σ_{s: l'_s = c} α_t(s)·β_t(s) / (p_t(c)·P(l_n | x_n)).

    The p_t(c) term is PyTorch's: its gradient is that of the loss through the log_softmax it
    assumes produced log_probs (exact for the logits then, and each step's gradient sums to 0),
    so PyTorch's numbers for log_probs port unchanged.
    """

    float_output = True

    @staticmethod
    def forward(
        ctx: Context,
        log_probs: Array,
        *,
        extended: Array,
        input_lengths: Array,
        target_lengths: Array,
        zero_infinity: bool = False,
    ) -> Array:
        """log_probs (T, N, C) with T ≥ 1; extended (N, 2S+1): the targets with a blank
        before, between and after the labels; lengths (N,). Returns the losses (N,)."""
        steps, batch, _ = log_probs.shape
        width = extended.shape[1]
        neg_inf = np.asarray(-np.inf, dtype=log_probs.dtype)
        positions = np.arange(width)
        # Positions past 2·S_n + 1 belong to no alignment of sample n.
        valid = positions[None, :] < (2 * target_lengths[:, None] + 1)  # (N, L)
        picked = np.take_along_axis(log_probs, np.broadcast_to(extended, (steps, batch, width)), 2)
        picked = np.where(valid[None], picked, neg_inf)  # (T, N, L): log p_t(l'_s)
        # A label may follow the label two places back (skipping the blank between) unless the
        # two are equal: repeated labels need a blank between them.
        skip = np.zeros((batch, width), dtype=bool)
        skip[:, 2:] = extended[:, 2:] != extended[:, :-2]
        skip[:, ::2] = False

        alpha = np.full((steps, batch, width), neg_inf)
        alpha[0, :, :2] = picked[0, :, :2]
        for t in range(1, steps):
            prev = alpha[t - 1]
            two_back = np.where(skip, _shift(prev, 2, neg_inf), neg_inf)
            alpha[t] = picked[t] + _logaddexp3(prev, _shift(prev, 1, neg_inf), two_back)

        rows = np.arange(batch)
        last = np.maximum(input_lengths - 1, 0)
        end = 2 * target_lengths
        final = alpha[last, rows]  # (N, L)
        tail = np.where(target_lengths > 0, final[rows, np.maximum(end - 1, 0)], neg_inf)
        log_likelihood = np.logaddexp(final[rows, end], tail)
        # No time steps: only the empty target has an alignment (the empty one).
        empty = np.where(target_lengths == 0, np.zeros((), dtype=log_probs.dtype), neg_inf)
        log_likelihood = np.where(input_lengths > 0, log_likelihood, empty)
        losses = -log_likelihood
        infinite = np.isinf(losses)
        if zero_infinity:
            losses = np.where(infinite, np.zeros((), dtype=losses.dtype), losses)
        ctx.save_for_backward(
            log_probs,
            picked,
            alpha,
            skip,
            valid,
            extended,
            log_likelihood,
            infinite,
            input_lengths,
            target_lengths,
        )
        ctx.shape, ctx.zero_infinity = log_probs.shape, zero_infinity
        return losses

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        log_probs, picked, alpha, skip, valid, extended, log_likelihood, infinite, *lengths = (
            ctx.saved
        )
        input_lengths, target_lengths = lengths
        steps, batch, classes = ctx.shape
        width = extended.shape[1]
        dtype = picked.dtype
        neg_inf = np.asarray(-np.inf, dtype=dtype)
        rows = np.arange(batch)
        end = 2 * target_lengths
        # β_t(s): the log-probability of finishing the target from position s at time t,
        # p_t(l'_s) included; it starts at t = T_n - 1 on the last label and the last blank.
        start = np.full((batch, width), neg_inf)
        start[rows, end] = 0
        start[rows[target_lengths > 0], end[target_lengths > 0] - 1] = 0
        skip_ahead = _shift(skip, -2, np.asarray(False))  # may s jump to s + 2
        beta = np.full((steps, batch, width), neg_inf)
        nxt = np.full((batch, width), neg_inf)
        for t in range(steps - 1, -1, -1):
            two_on = np.where(skip_ahead, _shift(nxt, -2, neg_inf), neg_inf)
            carried = _logaddexp3(nxt, _shift(nxt, -1, neg_inf), two_on)
            here = np.where((t == input_lengths - 1)[:, None], start, carried)
            here = np.where((t < input_lengths)[:, None], here, neg_inf)
            nxt = beta[t] = picked[t] + here
        with np.errstate(invalid="ignore", over="ignore", under="ignore"):
            share = np.exp(alpha + beta - picked - log_likelihood[None, :, None])  # (T, N, L)
        # t ≥ T_n takes part in no alignment; an impossible target's 0/0 stays nan, as PyTorch,
        # unless zero_infinity asks for 0.
        in_time = np.arange(steps)[:, None] < input_lengths[None, :]  # (T, N)
        share = np.where(in_time[..., None] & valid[None], share, 0)
        if ctx.zero_infinity:
            share = np.where(infinite[None, :, None], 0, share)
        flat = (np.arange(steps)[:, None, None] * batch + rows[None, :, None]) * classes
        flat = flat + extended[None]
        grad = np.bincount(flat.reshape(-1), share.reshape(-1), steps * batch * classes)
        grad = -grad.reshape(steps, batch, classes).astype(dtype)
        softmax = np.where(in_time[..., None], np.exp(log_probs), 0)
        if ctx.zero_infinity:
            softmax = np.where(infinite[None, :, None], 0, softmax)
        grad += softmax
        return grad * grad_out.astype(dtype)[None, :, None]

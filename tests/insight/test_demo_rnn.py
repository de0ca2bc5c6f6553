"""chainrule demo rnn: the gradient reaching each time step, a plain RNN beside an LSTM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chainrule import manual_seed, tensor
from chainrule.cli import main
from chainrule.errors import ShapeError
from chainrule.insight import plots
from chainrule.insight.demos import RecallLSTM, RecallRNN, demo_rnn, memory_task
from chainrule.insight.gradient_flow import diagnose_over_time, gradient_over_time


def _task(seq_len: int = 20, n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    return memory_task(n, seq_len, np.random.default_rng(0), symbols=2, distractors=4)


def test_memory_task_labels_the_first_symbol() -> None:
    x, y = memory_task(50, 7, np.random.default_rng(3), symbols=3, distractors=2)
    assert x.dtype == np.float32 and y.dtype == np.int64 and x.shape == (50, 7, 5)
    assert np.all(x.sum(axis=2) == 1)  # one symbol per step
    assert np.array_equal(x[:, 0, :3].argmax(axis=1), y) and not x[:, 0, 3:].any()
    assert not x[:, 1:, :3].any() and x[:, 1:, 3:].any()  # later steps: distractors only


def test_rnn_gradient_vanishes_over_time_and_lstm_does_not() -> None:
    x, y = _task()
    manual_seed(0)
    rnn = gradient_over_time(RecallRNN(6, 16, 2), x, y, name="the RNN")
    manual_seed(0)
    lstm = gradient_over_time(RecallLSTM(6, 16, 2), x, y, name="the LSTM")
    assert rnn.norms.shape == lstm.norms.shape == (20,)
    assert rnn.ratio < 1e-3 * lstm.ratio  # same data, same hidden size, same seed
    assert rnn.finding.kind == "vanishing_over_time" and rnn.horizon is not None
    assert rnn.horizon < 20 and f"~{rnn.horizon} steps" in rnn.finding.message
    assert "step 1" in rnn.finding.message and "LSTM" in rnn.finding.remedy
    assert lstm.finding.kind == "healthy" and lstm.horizon is None


def test_gradient_over_time_matches_torch_and_keeps_parameter_grads() -> None:
    torch = pytest.importorskip("torch")
    x, y = _task(seq_len=9, n=5)
    for ours, theirs in (
        (RecallRNN(6, 4, 2), torch.nn.RNN(6, 4, batch_first=True)),
        (RecallLSTM(6, 4, 2), torch.nn.LSTM(6, 4, batch_first=True)),
    ):
        head = torch.nn.Linear(4, 2)
        state = {f"rnn.{k}": v for k, v in theirs.state_dict().items()}
        state |= {f"head.{k}": v for k, v in head.state_dict().items()}
        ours.load_state_dict({k: v.detach().numpy() for k, v in state.items()})
        marker = np.full(ours.head.bias.shape, 7.0, dtype=np.float32)
        ours.head.bias.grad = tensor(marker)
        measured = gradient_over_time(ours, x, y)
        xt = torch.tensor(x, requires_grad=True)
        out, _ = theirs(xt)
        loss = torch.nn.functional.cross_entropy(head(out[:, -1]), torch.tensor(y), reduction="sum")
        loss.backward()
        expected = xt.grad.norm(dim=2).mean(dim=0).numpy()
        np.testing.assert_allclose(measured.norms, expected, rtol=1e-4, atol=1e-9)
        assert np.array_equal(ours.head.bias.grad.numpy(), marker)  # restored, not accumulated
        assert ours.rnn.weight_hh_l0.grad is None


def test_diagnose_over_time_horizon_and_edge_cases() -> None:
    decay = 0.5 ** np.arange(30)[::-1]  # step 30 gets 1, each step back halves it
    found = diagnose_over_time(decay)
    assert found.finding.kind == "vanishing_over_time"
    assert found.horizon == 9  # 0.5**9 ≥ 1e-3 > 0.5**10
    assert found.ratio == pytest.approx(0.5**29)
    dip = np.ones(30)
    dip[5:25] = 1e-6  # shut input gate on the distractors, step 1 still gets the gradient
    assert diagnose_over_time(dip).finding.kind == "healthy"
    assert diagnose_over_time(np.ones(4)).horizon is None
    assert diagnose_over_time([1.0, 0.0]).finding.kind == "no_gradient_over_time"
    with pytest.raises(ShapeError, match="per time step"):
        diagnose_over_time([1.0])
    with pytest.raises(ShapeError, match="at least 2 time steps"):
        gradient_over_time(RecallRNN(6, 4, 2), np.zeros((3, 1, 6), np.float32), np.zeros(3))


def test_demo_rnn_api_is_small_and_seeded() -> None:
    first = demo_rnn(seq_len=8, hidden_size=8, train_steps=3, verbose=False)
    again = demo_rnn(seq_len=8, hidden_size=8, train_steps=3, verbose=False)
    assert [r.name for r in first] == ["plain RNN (tanh)", "LSTM"]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.trained.norms, b.trained.norms)
        assert a.test_accuracy == b.test_accuracy
    rows = first[0].rows()
    assert [r["when"] for r in rows] == ["init", "trained"] and "ratio" in rows[0]


def test_cli_demo_rnn_prints_the_table_and_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "rnn.png"
    args = ["demo", "rnn", "--steps", "5", "--seed", "1"]
    if plots.matplotlib_available():
        args += ["--plot", str(png)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    for text in ("step 5", "ratio", "horizon", "test acc", "plain RNN (tanh)",
                 "LSTM", "diagnosis", "Jozefowicz", "Total time"):  # fmt: skip
        assert text in printed, text
    if plots.matplotlib_available():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "rnn", "--steps", "1"], "--steps"),
        (["demo", "rnn", "--steps", "ten"], "--steps"),
        (["demo", "rnn", "--seed", str(2**64)], "a seed must be in [-2**63, 2**64)"),
        (["demo", "rnn", "--steps", "1001"], "--steps: expected at most 1000"),
        (["demo", "vanishing", "--steps", "10"], "for `demo rnn`"),
        (["demo", "exploding", "--plot", "x.png"], "for `demo rnn`"),
    ],
)
def test_cli_demo_bad_options_exit_2_with_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and message in captured.err


def test_cli_demo_rnn_plot_without_matplotlib(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(plots, "matplotlib_available", lambda: False)
    assert main(["demo", "rnn", "--plot", str(tmp_path / "x.png")]) == 2
    captured = capsys.readouterr()
    assert "matplotlib" in captured.err and len(captured.err.strip().splitlines()) == 1
    assert captured.out == "" and not (tmp_path / "x.png").exists()  # failed before training


@pytest.mark.slow
def test_full_demo_rnn_tells_the_story() -> None:
    rnn, lstm = demo_rnn(verbose=False)
    assert rnn.test_accuracy < 0.6 and lstm.test_accuracy > 0.95  # chance is 50%
    for grad in (rnn.init, rnn.trained):
        assert grad.ratio < 1e-6 and grad.finding.kind == "vanishing_over_time"
        assert grad.horizon is not None and grad.horizon < 30
    for grad in (lstm.init, lstm.trained):
        assert grad.ratio > 1e-3 and grad.finding.kind == "healthy"

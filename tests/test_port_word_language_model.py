"""pytorch/examples' word_language_model (its RNNModel and training step: tied weights,
repackaged hidden states, clip_grad_norm_, a manual p.data.add_ update), run with torch and
with chainrule from the same source: the same loss at every step."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

MODEL_SOURCE = """
class RNNModel(nn.Module):
    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super(RNNModel, self).__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ['LSTM', 'GRU']:
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        else:
            nonlinearity = {'RNN_TANH': 'tanh', 'RNN_RELU': 'relu'}[rnn_type]
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            self.decoder.weight = self.encoder.weight
        self.init_weights()
        self.rnn_type = rnn_type
        self.nhid = nhid
        self.nlayers = nlayers

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == 'LSTM':
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))
        else:
            return weight.new_zeros(self.nlayers, bsz, self.nhid)

def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    else:
        return tuple(repackage_hidden(v) for v in h)

def run(model, data, targets, lr=20.0, clip=0.25):
    model.train()
    criterion = nn.NLLLoss()
    hidden = model.init_hidden(data.size(1))
    losses = []
    for i in range(0, data.size(0) - 1, 5):
        x, y = data[i:i + 5], targets[i:i + 5].reshape(-1)
        hidden = repackage_hidden(hidden)
        model.zero_grad()
        output, hidden = model(x, hidden)
        loss = criterion(output, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        losses.append(loss.item())
    return losses
"""


def build(lib: Any, kind: str) -> tuple[dict[str, Any], Any]:
    namespace = {"torch": lib, "nn": lib.nn, "F": lib.nn.functional}
    exec(compile(MODEL_SOURCE, "word_language_model", "exec"), namespace)  # our own source
    lib.manual_seed(0)
    return namespace, namespace["RNNModel"](kind, 30, 8, 8, 2, dropout=0.0, tie_weights=True)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"])
def test_word_language_model_trains_as_pytorch(kind: str) -> None:
    ref_ns, theirs = build(torch, kind)
    ns, mine = build(cr, kind)
    theirs, mine = theirs.double(), mine.double()
    mine.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(0)
    data, targets = rng.integers(0, 30, (21, 4)), rng.integers(0, 30, (21, 4))
    expected = ref_ns["run"](theirs, torch.tensor(data), torch.tensor(targets))
    losses = ns["run"](mine, cr.tensor(data), cr.tensor(targets))
    np.testing.assert_allclose(losses, expected, rtol=1e-10)

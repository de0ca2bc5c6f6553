"""Models and training steps from pytorch/examples (dcgan, time_sequence_prediction, mnist_rnn,
vae), written once and run with either library as ``torch``: the same code, PyTorch's initial
weights loaded into chainrule's copy, the same data; the losses and the updated weights agree."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import chainrule

torch_lib = pytest.importorskip("torch")


def libs(lib: Any) -> SimpleNamespace:
    return SimpleNamespace(torch=lib, nn=lib.nn, optim=lib.optim, F=lib.nn.functional)


def as_lib(lib: Any, a: np.ndarray) -> Any:
    return lib.from_numpy(np.ascontiguousarray(a))


def load_torch_weights(model: Any, twin: Any) -> None:
    model.load_state_dict({k: v.detach().numpy().copy() for k, v in twin.state_dict().items()})


def compare_states(ours: Any, theirs: Any, rtol: float, atol: float) -> None:
    mine = ours.state_dict()
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(
            mine[key].numpy(), value.detach().numpy(), rtol=rtol, atol=atol, err_msg=key
        )


# ------------------------------------------------------------------------------- dcgan
def dcgan(L: SimpleNamespace) -> tuple[Any, Any]:
    nn, ngf, ndf, nz = L.nn, 8, 8, 10
    net_g = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True), nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 2), nn.ReLU(True), nn.ConvTranspose2d(ngf * 2, 3, 4, 2, 1, bias=False),
        nn.Tanh(),
    )  # fmt: skip
    net_d = nn.Sequential(
        nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, inplace=True), nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False), nn.Sigmoid(),
    )  # fmt: skip
    return net_g, net_d


def dcgan_step(L: SimpleNamespace, net_g: Any, net_d: Any, real: Any, noise: Any) -> list[float]:
    torch = L.torch
    criterion = L.nn.BCELoss()
    opt_d = L.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = L.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    net_d.zero_grad()
    label = torch.full((real.size(0),), 1.0, dtype=torch.float, device=torch.device("cpu"))
    output = net_d(real).view(-1)
    err_d_real = criterion(output, label)
    err_d_real.backward()
    fake = net_g(noise)
    label.fill_(0.0)
    output = net_d(fake.detach()).view(-1)
    err_d_fake = criterion(output, label)
    err_d_fake.backward()
    opt_d.step()
    net_g.zero_grad()
    label.fill_(1.0)
    output = net_d(fake).view(-1)
    err_g = criterion(output, label)
    err_g.backward()
    opt_g.step()
    return [err_d_real.item(), err_d_fake.item(), err_g.item()]


def test_dcgan_step_matches_pytorch() -> None:
    rng = np.random.default_rng(0)
    real, noise = rng.uniform(-1, 1, (4, 3, 16, 16)), rng.standard_normal((4, 10, 1, 1))
    real, noise = real.astype(np.float32), noise.astype(np.float32)
    results = {}
    theirs = dcgan(libs(torch_lib))
    ours = dcgan(libs(chainrule))
    for model, twin in zip(ours, theirs, strict=True):
        load_torch_weights(model, twin)
    for name, lib, (g, d) in (("torch", torch_lib, theirs), ("chainrule", chainrule, ours)):
        results[name] = dcgan_step(libs(lib), g, d, as_lib(lib, real), as_lib(lib, noise))
    np.testing.assert_allclose(results["chainrule"], results["torch"], rtol=1e-4)
    for model, twin in zip(ours, theirs, strict=True):
        compare_states(model, twin, rtol=1e-3, atol=1e-5)  # BatchNorm's running stats too


# -------------------------------------------------------------- time_sequence_prediction
def sequence_model(L: SimpleNamespace) -> Any:
    nn, torch = L.nn, L.torch

    class Sequence(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm1 = nn.LSTMCell(1, 51)
            self.lstm2 = nn.LSTMCell(51, 51)
            self.linear = nn.Linear(51, 1)

        def forward(self, input: Any, future: int = 0) -> Any:
            outputs = []
            h_t = torch.zeros(input.size(0), 51, dtype=torch.double)
            c_t = torch.zeros(input.size(0), 51, dtype=torch.double)
            h_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)
            c_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)
            for input_t in input.split(1, dim=1):
                h_t, c_t = self.lstm1(input_t, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            for _ in range(future):
                h_t, c_t = self.lstm1(output, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            return torch.cat(outputs, dim=1)

    return Sequence()


def test_time_sequence_prediction_lbfgs_matches_pytorch() -> None:
    t = np.arange(30)
    data = np.sin((t[None, :] + 4 * np.arange(3)[:, None]) / 5.0)
    theirs = sequence_model(libs(torch_lib)).double()
    ours = sequence_model(libs(chainrule)).double()
    load_torch_weights(ours, theirs)
    losses, predictions = {}, {}
    for name, lib, seq in (("torch", torch_lib, theirs), ("chainrule", chainrule, ours)):
        L = libs(lib)
        inp, target = as_lib(lib, data[:, :-1]), as_lib(lib, data[:, 1:])
        criterion = L.nn.MSELoss()
        optimizer = L.optim.LBFGS(seq.parameters(), lr=0.8)

        def closure(optimizer=optimizer, seq=seq, inp=inp, target=target, criterion=criterion):  # type: ignore[no-untyped-def]
            optimizer.zero_grad()
            loss = criterion(seq(inp), target)
            loss.backward()
            return loss

        losses[name] = [float(optimizer.step(closure)) for _ in range(2)]
        with lib.no_grad():
            predictions[name] = seq(inp, future=5).numpy()
    np.testing.assert_allclose(losses["chainrule"], losses["torch"], rtol=1e-6)
    np.testing.assert_allclose(predictions["chainrule"], predictions["torch"], rtol=1e-6, atol=1e-9)


# -------------------------------------------------------------------------- mnist_rnn
def rnn_model(L: SimpleNamespace) -> Any:
    nn, F = L.nn, L.F

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.LSTM(input_size=28, hidden_size=64, batch_first=True)
            self.batchnorm = nn.BatchNorm1d(64)
            self.dropout1 = nn.Dropout2d(0.25)
            self.dropout2 = nn.Dropout2d(0.5)
            self.fc1 = nn.Linear(64, 32)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, input: Any) -> Any:
            input = input.reshape(-1, 28, 28)
            output, _hidden = self.rnn(input)
            output = output[:, -1, :]
            output = self.batchnorm(output)
            output = self.dropout1(output)
            output = self.fc1(output)
            output = F.relu(output)
            output = self.dropout2(output)
            output = self.fc2(output)
            return F.log_softmax(output, dim=1)

    return Net()


@pytest.mark.filterwarnings("ignore:dropout2d")
def test_mnist_rnn_steps_match_pytorch() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (16, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 16)
    theirs, ours = rnn_model(libs(torch_lib)), rnn_model(libs(chainrule))
    load_torch_weights(ours, theirs)
    losses = {}
    for name, lib, net in (("torch", torch_lib, theirs), ("chainrule", chainrule, ours)):
        L = libs(lib)
        net.eval()  # dropout's masks are each library's own draws: evaluate without them
        optimizer = L.optim.Adadelta(net.parameters(), lr=1.0)
        scheduler = L.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
        losses[name] = []
        for _ in range(3):
            optimizer.zero_grad()
            loss = L.F.nll_loss(net(as_lib(lib, x)), as_lib(lib, y))
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses[name].append(loss.item())
        losses[name].append(scheduler.get_last_lr()[0])
    np.testing.assert_allclose(losses["chainrule"], losses["torch"], rtol=1e-5)
    compare_states(ours, theirs, rtol=1e-4, atol=1e-6)


# -------------------------------------------------------------------------------- vae
def vae_model(L: SimpleNamespace) -> Any:
    nn, F, torch = L.nn, L.F, L.torch

    class VAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(784, 400)
            self.fc21 = nn.Linear(400, 20)
            self.fc22 = nn.Linear(400, 20)
            self.fc3 = nn.Linear(20, 400)
            self.fc4 = nn.Linear(400, 784)

        def encode(self, x: Any) -> Any:
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu: Any, logvar: Any) -> Any:
            std = torch.exp(0.5 * logvar)
            eps = torch.randn_like(std)
            return mu + eps * std

        def decode(self, z: Any) -> Any:
            h3 = F.relu(self.fc3(z))
            return torch.sigmoid(self.fc4(h3))

        def forward(self, x: Any) -> Any:
            mu, logvar = self.encode(x.view(-1, 784))
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

    return VAE()


def test_vae_trains_as_written() -> None:
    """The VAE's loss (BCE summed, plus the KL term) falls over a few Adam steps; its noise is
    each library's own, so the values are compared only through the decoder's deterministic
    part (z = mu)."""
    L = libs(chainrule)
    chainrule.manual_seed(0)
    model = vae_model(L)
    optimizer = L.optim.Adam(model.parameters(), lr=1e-3)
    data = chainrule.rand(32, 1, 28, 28)
    losses = []
    for _ in range(5):
        recon, mu, logvar = model(data)
        bce = L.F.binary_cross_entropy(recon, data.view(-1, 784), reduction="sum")
        kld = -0.5 * chainrule.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = bce + kld
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    twin = vae_model(libs(torch_lib))
    load_torch_weights(model, twin)
    x = np.random.default_rng(2).uniform(0, 1, (4, 784)).astype(np.float32)
    with chainrule.no_grad():
        ours = model.decode(model.encode(chainrule.from_numpy(x))[0]).numpy()
    with torch_lib.no_grad():
        theirs = twin.decode(twin.encode(torch_lib.from_numpy(x))[0]).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)

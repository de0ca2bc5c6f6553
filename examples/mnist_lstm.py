"""An LSTM reading MNIST row by row (28 steps of 28 pixels), written as a PyTorch user writes
one (only the imports name chainrule): the last step's hidden state classifies the digit, so
the gradient of the loss reaches the first rows only through 27 steps of the recurrence.

Run: python examples/mnist_lstm.py [--epochs 5] [--limit N] [--data-dir ../shared/data/mnist]
"""

import argparse
import time
from pathlib import Path

import chainrule as torch
import chainrule.nn.functional as F
from chainrule import nn, optim
from chainrule.data import load_mnist
from chainrule.utils.data import DataLoader, TensorDataset


class RowLSTM(nn.Module):
    def __init__(self, hidden_size: int = 128, num_layers: int = 1) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size=28, hidden_size=hidden_size, num_layers=num_layers,
                            batch_first=True)  # fmt: skip
        self.fc = nn.Linear(hidden_size, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x.reshape(-1, 28, 28))  # (N, 28 steps, hidden): every step's h
        return self.fc(out[:, -1, :])  # the last step sees every row


def loaders(data_dir: Path, limit: int | None, batch_size: int) -> tuple[DataLoader, DataLoader]:
    (x_train, y_train), (x_test, y_test) = load_mnist(data_dir)
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]

    def dataset(x, y):  # type: ignore[no-untyped-def]
        rows = torch.tensor(x.reshape(-1, 28, 28), dtype=torch.float32) / 255
        return TensorDataset(rows, torch.tensor(y))

    train = DataLoader(dataset(x_train, y_train), batch_size=batch_size, shuffle=True)
    test = DataLoader(dataset(x_test, y_test), batch_size=1000)
    return train, test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--limit", type=int, help="train on the first N images only")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    here = Path(__file__).resolve().parents[1]
    parser.add_argument("--data-dir", default=str(here.parent / "shared" / "data" / "mnist"))
    args = parser.parse_args()

    torch.manual_seed(0)
    train_loader, test_loader = loaders(Path(args.data_dir), args.limit, args.batch_size)
    model = RowLSTM()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    for epoch in range(1, args.epochs + 1):
        model.train()
        started = time.perf_counter()
        for data, target in train_loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(data), target)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # against exploding gradients
            optimizer.step()
        scheduler.step()
        seconds = time.perf_counter() - started
        model.eval()
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                correct += (model(data).argmax(dim=1) == target).sum().item()
        accuracy = correct / len(test_loader.dataset)
        print(f"epoch {epoch}  loss {loss.item():.4f}  test accuracy {accuracy:.4f}", end="  ")
        print(f"({seconds:.0f} s)")


if __name__ == "__main__":
    main()

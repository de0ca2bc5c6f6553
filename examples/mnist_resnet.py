"""A small residual network on MNIST, written as a PyTorch user writes one (only the imports
name chainrule): basic blocks of Conv-BatchNorm-ReLU with identity skips, and a strided 1x1
projection where the shape changes, as in He et al. (2016).

Run: python examples/mnist_resnet.py [--epochs 8] [--limit N] [--data-dir ../shared/data/mnist]
"""

import argparse
import time
from pathlib import Path

import chainrule as torch
import chainrule.nn.functional as F
from chainrule import nn, optim
from chainrule.data import load_mnist
from chainrule.utils.data import DataLoader, TensorDataset

MEAN, STD = 0.1307, 0.3081  # MNIST's training pixels in [0, 1]


class BasicBlock(nn.Module):
    """out = relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()  # identity
        if stride != 1 or in_planes != planes:  # projection: match the shape of the block's output
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)  # the skip connection: the gradient reaches x by two paths
        return F.relu(out)


class ResNet(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (16, 32, 64), num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers, in_planes = [], widths[0]
        for i, planes in enumerate(widths):
            layers.append(BasicBlock(in_planes, planes, stride=1 if i == 0 else 2))
            in_planes = planes
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))  # (N, 16, 28, 28)
        out = self.layers(out)  # (N, 64, 7, 7)
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)  # (N, 64)
        return self.fc(out)


def loaders(data_dir: Path, limit: int | None, batch_size: int) -> tuple[DataLoader, DataLoader]:
    (x_train, y_train), (x_test, y_test) = load_mnist(data_dir)
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]

    def dataset(x, y):  # type: ignore[no-untyped-def]
        images = torch.tensor(x.reshape(-1, 1, 28, 28), dtype=torch.float32) / 255
        return TensorDataset((images - MEAN) / STD, torch.tensor(y))

    train = DataLoader(dataset(x_train, y_train), batch_size=batch_size, shuffle=True)
    test = DataLoader(dataset(x_test, y_test), batch_size=1000)
    return train, test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--limit", type=int, help="train on the first N images only")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1)
    here = Path(__file__).resolve().parents[1]
    parser.add_argument("--data-dir", default=str(here.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--save", help="write the trained state_dict here (safetensors)")
    args = parser.parse_args()

    torch.manual_seed(0)
    train_loader, test_loader = loaders(Path(args.data_dir), args.limit, args.batch_size)
    model = ResNet()
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    scheduler = optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(train_loader)
    )
    for epoch in range(1, args.epochs + 1):
        model.train()
        started = time.perf_counter()
        for data, target in train_loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(data), target)
            loss.backward()
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
    if args.save:
        torch.save(model.state_dict(), args.save)


if __name__ == "__main__":
    main()

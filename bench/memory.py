"""One MNIST training epoch (W-MLP or W-CNN) in a fresh process; prints its peak resident
memory (MiB).

python -m bench.memory chainrule|torch [mlp|cnn]
"""

from __future__ import annotations

import resource
import sys

import numpy as np


def main(lib: str, kind: str = "mlp") -> None:
    from bench.common import load_data, threads

    x, y, _, _, _ = load_data(flat=kind == "mlp")
    order = np.random.default_rng(0).permutation(len(x))
    with threads(2):
        if lib == "chainrule":
            import chainrule as cr
            from bench.models import chainrule_cnn, chainrule_mlp
            from chainrule import functional as F
            from chainrule import optim

            model = chainrule_mlp() if kind == "mlp" else chainrule_cnn()
            opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
            for start in range(0, len(x), 128):
                index = order[start : start + 128]
                loss = F.cross_entropy(model(cr.tensor(x[index])), y[index])
                opt.zero_grad()
                loss.backward()
                opt.step()
        else:
            import torch

            from bench.models import chainrule_cnn, chainrule_mlp, torch_twin

            net = torch_twin(chainrule_mlp() if kind == "mlp" else chainrule_cnn())
            opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
            xt, yt = torch.from_numpy(x), torch.from_numpy(y)
            for start in range(0, len(x), 128):
                index = torch.from_numpy(order[start : start + 128])
                loss = torch.nn.functional.cross_entropy(net(xt[index]), yt[index])
                opt.zero_grad()
                loss.backward()
                opt.step()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # Linux: KiB -> MiB


if __name__ == "__main__":
    main(*sys.argv[1:])

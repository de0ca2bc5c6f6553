"""One MNIST training epoch (W-MLP or W-CNN) in a fresh process; prints the peak resident
memory (MiB) of the epoch itself: the peak is reset once the data is loaded (Linux's
clear_refs), so loading MNIST, the same for both libraries, does not set it.

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
    reset_peak()
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
    print(peak_mib())


def reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # the high-water mark of resident memory becomes the current size
    except OSError:
        pass  # not Linux: the peak includes loading


def peak_mib() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # KiB -> MiB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main(*sys.argv[1:])

"""chainrule.utils.data.DistributedSampler against torch.utils.data.distributed's."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.utils.data import DataLoader, DistributedSampler, Subset
from chainrule.utils.data import distributed as distributed_module

SIZES = [0, 1, 2, 3, 5, 7, 8, 12, 13]
REPLICAS = [1, 2, 3, 4]


def torch_shards(n: int, replicas: int, drop_last: bool) -> list[list[int]]:
    pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    data = list(range(n))
    return [
        list(TorchSampler(data, replicas, rank, shuffle=False, drop_last=drop_last))
        for rank in range(replicas)
    ]


def shards(n: int, replicas: int, drop_last: bool, **kwargs: object) -> list[list[int]]:
    data = list(range(n))
    return [
        list(DistributedSampler(data, replicas, rank, drop_last=drop_last, **kwargs))  # type: ignore[arg-type]
        for rank in range(replicas)
    ]


def test_the_module_and_the_package_export_one_class() -> None:
    import chainrule.distributed

    assert distributed_module.DistributedSampler is DistributedSampler
    assert chainrule.distributed.DistributedSampler is DistributedSampler


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("replicas", REPLICAS)
@pytest.mark.parametrize("n", SIZES)
def test_unshuffled_shards_are_torchs(n: int, replicas: int, drop_last: bool) -> None:
    expected = torch_shards(n, replicas, drop_last)
    got = shards(n, replicas, drop_last, shuffle=False)
    assert got == expected
    for rank in range(replicas):
        sampler = DistributedSampler(list(range(n)), replicas, rank, False, 0, drop_last)
        assert len(sampler) == len(expected[rank])
        assert sampler.total_size == len(expected[rank]) * replicas


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("replicas", REPLICAS)
@pytest.mark.parametrize("n", SIZES)
def test_shuffled_shards_are_torchs_layout_of_one_permutation(
    n: int, replicas: int, drop_last: bool
) -> None:
    # Shuffling permutes the dataset and then pads/strides as unshuffled: rank r's shard is the
    # permutation read at the positions torch's unshuffled shard of rank r holds.
    seed, epoch = 3, 2
    perm = np.random.default_rng(seed + epoch).permutation(n).tolist()
    expected = [[perm[i] for i in shard] for shard in torch_shards(n, replicas, drop_last)]
    samplers = [
        DistributedSampler(list(range(n)), replicas, rank, True, seed, drop_last)
        for rank in range(replicas)
    ]
    for sampler in samplers:
        sampler.set_epoch(epoch)
    got = [list(s) for s in samplers]
    assert got == expected
    assert [len(s) for s in samplers] == [len(shard) for shard in expected]


@pytest.mark.parametrize("replicas", REPLICAS)
@pytest.mark.parametrize("n", [4, 7, 12, 13, 50])
def test_shuffled_shards_are_disjoint_and_cover(n: int, replicas: int) -> None:
    got = shards(n, replicas, False, seed=11)
    flat = [i for shard in got for i in shard]
    assert sorted(set(flat)) == list(range(n))
    pad = -n % replicas
    assert len(flat) == n + pad
    # The padding repeats only indices already drawn, at most once each here (pad < n).
    assert len(set(flat)) == n
    dropped = shards(n, replicas, True, seed=11)
    flat = [i for shard in dropped for i in shard]
    assert len(flat) == len(set(flat)) == n - n % replicas
    assert all(len(shard) == n // replicas for shard in dropped)


def test_padding_repeats_the_start_of_the_order() -> None:
    # 5 samples on 4 replicas: total 8, the order's first 3 indices appended.
    perm = np.random.default_rng(0).permutation(5).tolist()
    got = shards(5, 4, False)
    interleaved = [got[r][k] for k in range(2) for r in range(4)]
    assert interleaved == perm + perm[:3]
    # Fewer samples than replicas: the order is cycled.
    assert shards(2, 4, False, shuffle=False) == [[0], [1], [0], [1]]
    assert shards(2, 4, True, shuffle=False) == [[], [], [], []]


def test_same_order_each_call_and_a_new_one_each_epoch() -> None:
    sampler = DistributedSampler(list(range(40)), 2, 1, seed=5)
    first = list(sampler)
    assert list(sampler) == first
    sampler.set_epoch(1)
    second = list(sampler)
    assert second != first
    assert list(sampler) == second
    other_seed = DistributedSampler(list(range(40)), 2, 1, seed=6)
    assert list(other_seed) != first
    sampler.set_epoch(0)
    assert list(sampler) == first


def test_defaults_take_the_process_group() -> None:
    # Outside MPI the group is rank 0 of 1: the whole dataset, shuffled.
    sampler = DistributedSampler(list(range(9)))
    assert (sampler.num_replicas, sampler.rank, sampler.shuffle) == (1, 0, True)
    assert (sampler.seed, sampler.epoch, sampler.drop_last) == (0, 0, False)
    assert sorted(sampler) == list(range(9)) and len(sampler) == 9
    # A given rank alone still takes the world size from the group.
    with pytest.raises(ValueError, match=r"Invalid rank 1"):
        DistributedSampler(list(range(9)), rank=1)


@pytest.mark.parametrize(("replicas", "rank"), [(2, 2), (2, -1), (1, 1), (4, 7)])
def test_bad_rank_is_torchs_error(replicas: int, rank: int) -> None:
    message = f"Invalid rank {rank}, rank should be in the interval [0, {replicas - 1}]"
    with pytest.raises(ValueError) as ours:
        DistributedSampler(list(range(8)), replicas, rank)
    assert str(ours.value) == message
    pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    with pytest.raises(ValueError) as theirs:
        TorchSampler(list(range(8)), replicas, rank)
    assert str(theirs.value) == message


def test_data_loader_takes_the_sampler() -> None:
    data = np.arange(10.0)
    loader = DataLoader(
        data, batch_size=4, sampler=DistributedSampler(data, num_replicas=2, rank=0)
    )
    batches = [b.numpy().tolist() for b in loader]
    assert [len(b) for b in batches] == [4, 1] and len(loader) == 2
    order = np.random.default_rng(0).permutation(10).tolist()
    assert [i for b in batches for i in b] == order[0::2]


@pytest.mark.parametrize(("replicas", "batch"), [(1, 4), (2, 3), (3, 2), (4, 5)])
def test_replicas_batches_make_the_global_batches(replicas: int, batch: int) -> None:
    # Data-parallel: the union of every rank's i-th batch of B is the i-th batch of R*B that
    # one process reading the same permutation would see.
    n, seed, epoch = replicas * batch * 3, 7, 4
    data = np.arange(n, dtype=np.float64) * 10
    samplers = [DistributedSampler(data, replicas, rank, seed=seed) for rank in range(replicas)]
    for sampler in samplers:
        sampler.set_epoch(epoch)
    loaders = [DataLoader(data, batch_size=batch, sampler=s) for s in samplers]
    per_rank = [[b.numpy().tolist() for b in loader] for loader in loaders]
    order = np.random.default_rng(seed + epoch).permutation(n).tolist()
    single = DataLoader(Subset(data, order), batch_size=replicas * batch, shuffle=False)
    global_batches = [b.numpy().tolist() for b in single]
    assert len(global_batches) == 3 and all(len(b) == 3 for b in per_rank)
    for i, whole in enumerate(global_batches):
        union = [x for rank in range(replicas) for x in per_rank[rank][i]]
        assert len(union) == len(whole)
        assert sorted(union) == sorted(whole)

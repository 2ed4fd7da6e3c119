"""Multi-process training under ``torchrun``: process group, per-epoch sharding, metric reduction.

``lstm-vault train`` runs unchanged under ``torchrun --nproc-per-node N`` (and ``--nnodes``): torchrun sets
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; :func:`start` then joins the process group (gloo on CPU,
nccl on CUDA, each process on GPU ``LOCAL_RANK``). Without those variables (or with ``WORLD_SIZE=1``)
everything here is a no-op, so single-process training is unchanged.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: ``rank`` of ``world_size`` processes, ``local_rank`` on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Only the main process (rank 0) evaluates, logs and writes files."""
        return self.rank == 0


def context_from_env() -> DistContext:
    """The launch context torchrun put in the environment (single process when absent)."""
    def env_int(name: str, default: int) -> int:
        try:
            return int(os.environ.get(name, default))
        except ValueError:
            return default
    return DistContext(env_int("RANK", 0), max(1, env_int("WORLD_SIZE", 1)), env_int("LOCAL_RANK", 0))


def is_main_process() -> bool:
    return context_from_env().is_main


def start(device: torch.device) -> tuple[DistContext, torch.device]:
    """Join the process group if launched by torchrun; returns the context and this process's device.

    On CUDA each process takes GPU ``LOCAL_RANK`` and the backend is nccl; otherwise gloo.
    """
    import torch.distributed as dist
    ctx = context_from_env()
    if not ctx.enabled:
        return ctx, device
    if device.type == "cuda":
        device = torch.device("cuda", ctx.local_rank)
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        from recognizers.errors import VaultError
        raise VaultError(f"distributed training runs on cpu or cuda, not {device.type}")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return ctx, device


def stop(ctx: DistContext) -> None:
    """Leave the process group (after a barrier, so that no process exits while others still talk)."""
    import gc

    import torch.distributed as dist
    if ctx.enabled and dist.is_initialized():
        # Free the DDP wrapper (its reducer sits in reference cycles) while the group still exists:
        # collected after destroy_process_group, its C++ threads aborted the process at exit.
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()


def shard_indices(n_items: int, epoch: int, seed: int, ctx: DistContext) -> list[int]:
    """This process's items for ``epoch``: ``DistributedSampler`` semantics (a permutation seeded with
    ``seed + epoch``, padded by wrapping so every process gets ``ceil(n / world_size)`` items, then every
    ``world_size``-th item from ``rank``). Equal counts keep DDP's collective calls in step."""
    from torch.utils.data import DistributedSampler
    sampler = DistributedSampler(range(n_items), num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True,
                                 seed=seed, drop_last=False)
    sampler.set_epoch(epoch)
    return list(sampler)


def all_reduce_sums(values: list[float], ctx: DistContext, device: torch.device) -> list[float]:
    """Sum ``values`` over all processes (float64, so counts stay exact)."""
    if not ctx.enabled:
        return list(values)
    import torch.distributed as dist
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.cpu().tolist()


def broadcast_flag(flag: bool, ctx: DistContext, device: torch.device) -> bool:
    """Rank 0's ``flag`` on every process (e.g. rank 0's early-stopping decision)."""
    if not ctx.enabled:
        return flag
    import torch.distributed as dist
    t = torch.tensor([1 if flag else 0], dtype=torch.int64, device=device)
    dist.broadcast(t, src=0)
    return bool(t.item())


def wrap_model(net: torch.nn.Module, ctx: DistContext, device: torch.device) -> torch.nn.Module:
    """``DistributedDataParallel(net)`` when distributed (gradients averaged across processes), else ``net``."""
    if not ctx.enabled:
        return net
    from torch.nn.parallel import DistributedDataParallel
    return DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)


def abort(ctx: DistContext) -> None:
    """Leave the process group after an error, without waiting for the other processes."""
    import torch.distributed as dist
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()

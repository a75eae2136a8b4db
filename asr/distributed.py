"""Several processes, one model: DistributedDataParallel launched by torchrun.

The CLI reads torchrun's RANK / WORLD_SIZE / LOCAL_RANK and hands a
`Distributed` to the trainer; the library never reads the environment. NCCL
on GPUs, gloo on CPUs. Every rank sees the same shuffled batch list and takes
its own share; only rank 0 writes checkpoints, logs and progress.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, name: str) -> torch.device:
        """The device this rank trains on ("auto": its own GPU when there are GPUs)."""
        if name == "auto":
            name = "cuda" if torch.cuda.is_available() else "cpu"
        if name == "cuda" and self.enabled:
            return torch.device("cuda", self.local_rank)
        return torch.device(name)

    def start(self, device: torch.device) -> None:
        if self.enabled and not dist.is_initialized():
            if device.type == "cuda":
                torch.cuda.set_device(device)
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=self.rank, world_size=self.world_size)

    def stop(self, clean: bool = True) -> None:
        """Leave the group; after a clean finish, first wait for every rank (rank 0
        may still be writing): gloo aborts a process whose peer disappears mid-operation."""
        if self.enabled and dist.is_initialized():
            if clean:
                dist.barrier()
            dist.destroy_process_group()

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank if `flag` is true on any rank."""
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def total(self, value: float, device: torch.device) -> float:
        """Sum of `value` over ranks."""
        if not self.enabled:
            return value
        t = torch.tensor([float(value)], device=device, dtype=torch.float64)
        dist.all_reduce(t)
        return float(t.item())

    def shard(self, batches: list) -> list:
        """This rank's share of a batch list; every rank gets the same count."""
        if not self.enabled:
            return batches
        per_rank = len(batches) // self.world_size
        return batches[self.rank : per_rank * self.world_size : self.world_size]

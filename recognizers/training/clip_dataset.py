"""Training data read from disk on demand in ``DataLoader`` worker processes (``train --workers N``).

The in-memory path of :mod:`recognizers.training.loop` decodes every file once and keeps the waveforms; that stops
working at hundreds of thousands of clips. Here only the list of files is held: worker processes decode,
augment and featurise each clip when a batch needs it, and un-augmented ("clean") features go through a
:class:`~recognizers.data.feature_cache.FeatureCache` on disk, so validation each epoch (and the normalisation
statistics of later runs) read them back instead of recomputing them.

Determinism: the order of an epoch comes from ``(seed, epoch)`` and each clip's augmentation from
``(seed, epoch, item)``, so the model does not depend on the number of workers. Synthetic negatives are
generated from ``(seed, split, index)`` when needed instead of being stored.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from torch.utils.data import DataLoader, Dataset

from recognizers.data import augment
from recognizers.data.datasets import Example
from recognizers.data.feature_cache import FeatureCache, file_identity
from recognizers.errors import DatasetError, VaultError
from recognizers.training import distributed
from recognizers.training.tasks import augmented_features

TRAIN_SPLIT, VAL_SPLIT = 1, 2


@dataclass(frozen=True)
class NegativeSource:
    """A synthetic non-target clip, generated from ``(seed, split, index)`` whenever it is needed."""

    split: int
    index: int


Source = Example | NegativeSource


class ClipDataset(Dataset):
    """Items ``(source, target)``. ``clean=False``: keys ``(item, epoch)`` -> ``(augmented features, target)``;
    ``clean=True``: key ``item`` -> ``(item, features or None, from_cache, error or None)``."""

    def __init__(self, task: Any, items: list[tuple[Source, int]], seed: int, cache: FeatureCache | None,
                 clean: bool = False, mean: np.ndarray | None = None, labels: list[str] | None = None):
        self.task = task
        self.labels = labels   # target index -> label name, for label-conditional augmentation
        self.items = items
        self.seed = seed
        self.cache = cache
        self.clean = clean
        self.mean = mean

    def __len__(self) -> int:
        return len(self.items)

    def raw(self, src: Source) -> Any:
        if isinstance(src, NegativeSource):
            return self.task.synthetic_negative(np.random.default_rng([self.seed, src.split, src.index]))
        from recognizers.data.durations import check_training_clip
        check_training_clip(src.path, self.task.task)   # a 3-hour file is not decoded (skipped as unreadable)
        return self.task.load(src)

    def clean_features(self, i: int) -> tuple[np.ndarray, bool]:
        """Un-augmented features of item ``i`` and whether they came from the cache."""
        src = self.items[i][0]
        if self.cache is None:
            return self.task.features(self.raw(src)), False
        if isinstance(src, NegativeSource):
            identity = ["negative", self.seed, src.split, src.index]
        else:
            try:
                identity = ["file", *file_identity(src.path)]
            except OSError as exc:
                raise DatasetError(f"{src.path}: unreadable ({exc.strerror or exc})") from None
        hits = self.cache.hits
        f = self.cache.get_or_compute(identity, lambda: self.task.features(self.raw(src)))
        return f, self.cache.hits > hits

    def __getitem__(self, key):
        if self.clean:
            try:
                f, hit = self.clean_features(key)
                return key, f, hit, None
            except VaultError as exc:
                return key, None, False, str(exc)
        i, epoch = key
        src, target = self.items[i]
        rng = np.random.default_rng([self.seed, epoch, i])
        label = self.labels[target] if self.labels is not None else None
        f = augmented_features(self.task, self.raw(src), rng, label)
        if self.task.spec_augment:
            f = augment.spec_augment(f, rng, self.mean)
        return f, target


class EpochBatches:
    """Batch sampler: ``set_epoch(e)`` then iterate lists of ``(item, epoch)`` keys for this process
    (a ``(seed, epoch)`` permutation, or the process's ``DistributedSampler`` shard under torchrun)."""

    def __init__(self, n_items: int, batch_size: int, seed: int, ctx: distributed.DistContext):
        self.n_items, self.batch_size, self.seed, self.ctx = n_items, batch_size, seed, ctx
        self.epoch = 1

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _order(self) -> list[int]:
        if self.ctx.enabled:
            return distributed.shard_indices(self.n_items, self.epoch, self.seed, self.ctx)
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.n_items).tolist()

    def __iter__(self):
        order = self._order()
        for s in range(0, len(order), self.batch_size):
            yield [(i, self.epoch) for i in order[s:s + self.batch_size]]

    def __len__(self) -> int:
        per_process = math.ceil(self.n_items / self.ctx.world_size)
        return math.ceil(per_process / self.batch_size)


def _as_list(batch: list) -> list:
    return batch


class CachedFeatures(Sequence):
    """Clean features of a dataset's items, read from the cache on access (nothing held in memory)."""

    def __init__(self, dataset: ClipDataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, j: int) -> np.ndarray:
        return self.dataset.clean_features(j)[0]


@dataclass
class StreamingClips:
    """What :func:`recognizers.training.loop.train` needs from the data when ``workers > 0``."""

    train_items: list[tuple[Source, int]]
    val_items: list[tuple[Source, int]]
    train_ex: list[Example]
    val_ex: list[Example]
    train_err: list[str]
    val_err: list[str]
    n_neg: int
    mean: np.ndarray
    std: np.ndarray
    val_feats: Sequence
    workers: int
    batch_size: int
    ctx: distributed.DistContext
    dataset: ClipDataset | None = None
    sampler: EpochBatches | None = None
    cache_stats: dict = field(default_factory=dict)
    labels: list[str] | None = None
    _loader: DataLoader | None = None

    @property
    def n_features(self) -> int:
        return int(self.mean.shape[0])

    def start(self, task: Any, seed: int) -> None:
        self.dataset = ClipDataset(task, self.train_items, seed, None, clean=False, mean=self.mean,
                                   labels=self.labels)
        self.sampler = EpochBatches(len(self.train_items), self.batch_size, seed, self.ctx)
        # Persistent workers: started once, not every epoch; the sampler runs in this process, so
        # set_epoch reaches it. They exit when this object is dropped (at the end of training).
        self._loader = DataLoader(self.dataset, batch_sampler=self.sampler, num_workers=self.workers,
                                  collate_fn=_as_list, persistent_workers=self.workers > 0)

    @property
    def n_batches(self) -> int:
        return len(self.sampler)

    def epoch_batches(self, epoch: int):
        """This process's batches of ``epoch``: lists of ``(augmented features, target)``."""
        self.sampler.set_epoch(epoch)
        yield from self._loader


def _clean_pass(ds: ClipDataset, indices: list[int], workers: int, keep: bool
                ) -> tuple[np.ndarray, np.ndarray, int, list[int], list[str], dict[int, np.ndarray], int]:
    """Featurise ``indices`` in worker processes: per-feature sums and sums of squares (float64), frame
    count, unreadable items (and their errors), the features themselves if ``keep``, cache hits."""
    s1 = s2 = None
    n_frames, bad, errors, kept, hits = 0, [], [], {}, 0
    loader = DataLoader(ds, batch_size=16, sampler=indices, num_workers=workers, collate_fn=_as_list)
    for batch in loader:
        for i, f, hit, err in batch:
            if f is None:
                bad.append(i)
                errors.append(err)
                continue
            hits += int(hit)
            if keep:
                kept[i] = f
            if f.shape[0]:
                f64 = f.astype(np.float64)
                s1 = f64.sum(0) if s1 is None else s1 + f64.sum(0)
                s2 = (f64 ** 2).sum(0) if s2 is None else s2 + (f64 ** 2).sum(0)
                n_frames += f.shape[0]
    return s1, s2, n_frames, bad, errors, kept, hits


def prepare_clips(task: Any, train_ex: list[Example], val_ex: list[Example], labels: list[str], negative: str,
                  negatives: float, seed: int, batch_size: int, workers: int, cache: FeatureCache | None,
                  ctx: distributed.DistContext, log: Callable[[str], None]) -> StreamingClips:
    """One pass over the data with ``workers`` processes (sharded across torchrun processes): find unreadable
    files, fill the feature cache and compute the normalisation; nothing but file lists stays in memory
    (validation features too when there is no cache). ``negative``: the label of the synthetic negatives."""
    unk = labels.index(negative)
    n_neg = int(round(negatives * len(train_ex)))
    train_items = [(e, labels.index(e.label)) for e in train_ex]
    train_items += [(NegativeSource(TRAIN_SPLIT, j), unk) for j in range(n_neg)]
    val_items = [(e, labels.index(e.label)) for e in val_ex]
    val_items += [(NegativeSource(VAL_SPLIT, j), unk) for j in range(int(round(negatives * len(val_ex))))]

    train_ds = ClipDataset(task, train_items, seed, cache, clean=True)
    mine = list(range(ctx.rank, len(train_items), ctx.world_size))
    s1, s2, n_frames, bad, errors, _, hits = _clean_pass(train_ds, mine, workers, keep=False)
    seen = len(mine)
    if ctx.enabled:   # every process needs the same items and statistics
        import torch.distributed as dist
        gathered: list = [None] * ctx.world_size
        dist.all_gather_object(gathered, (s1, s2, n_frames, bad, errors, hits))
        parts = [g for g in gathered if g[0] is not None]
        s1 = sum(g[0] for g in parts) if parts else None
        s2 = sum(g[1] for g in parts) if parts else None
        n_frames = sum(g[2] for g in gathered)
        bad = sorted(i for g in gathered for i in g[3])
        errors = [e for g in gathered for e in g[4]]
        hits = sum(g[5] for g in gathered)
        seen = len(train_items)
    if n_frames == 0:
        raise DatasetError("no readable training files")
    mean = s1 / n_frames
    std = np.sqrt(np.maximum(s2 / n_frames - mean ** 2, 0))
    bad_set = set(bad)
    train_items = [it for i, it in enumerate(train_items) if i not in bad_set]
    kept_train = [it[0] for it in train_items if isinstance(it[0], Example)]

    val_feats: Sequence = []
    val_errors: list[str] = []
    kept_val = list(val_ex)
    if ctx.is_main and val_items:   # only rank 0 evaluates
        val_ds = ClipDataset(task, val_items, seed, cache, clean=True)
        _, _, _, vbad, val_errors, vkept, vhits = _clean_pass(val_ds, list(range(len(val_items))), workers,
                                                              keep=cache is None)
        hits += vhits
        seen += len(val_items)
        if vbad:
            vb = set(vbad)
            val_items = [it for i, it in enumerate(val_items) if i not in vb]
            kept_val = [it[0] for it in val_items if isinstance(it[0], Example)]
        if cache is None:
            val_feats = [vkept[i] for i in sorted(vkept)]
        else:
            val_feats = CachedFeatures(ClipDataset(task, val_items, seed, cache, clean=True))
    if errors or val_errors:
        log(f"skipped {len(errors) + len(val_errors)} unreadable files, e.g. {(errors + val_errors)[0]}")
    if cache is not None:
        log(f"feature cache {cache.folder}: {hits} of {seen} clips read back, {seen - hits} computed")
    clips = StreamingClips(train_items, val_items, kept_train, kept_val, errors, val_errors, n_neg,
                           mean.astype(np.float32), (std + 1e-3).astype(np.float32), val_feats, workers,
                           max(1, math.ceil(batch_size / ctx.world_size)), ctx,
                           cache_stats={"hits": hits, "clips": seen}, labels=list(labels))
    clips.start(task, seed)
    return clips

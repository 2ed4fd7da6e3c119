"""Disk-streaming training data (``train --workers N``) and the on-disk feature cache."""
from __future__ import annotations

import os
import re

import numpy as np
from safetensors.numpy import load_file
from testdata import make_synth_dataset

from recognizers.cli.main import main
from recognizers.data.feature_cache import FeatureCache, file_identity
from recognizers.training.clip_dataset import EpochBatches
from recognizers.training.distributed import DistContext

SMALL_TRAIN_ARGS = ("--task", "speech", "--epochs", "3", "--hidden", "16", "--layers", "1", "--seed", "3",
                    "--threads", "1", "--device", "cpu", "--batch-size", "16")


def test_feature_cache_keys_on_file_identity_and_frontend(tmp_path):
    src = tmp_path / "a.wav"
    src.write_bytes(b"x" * 10)
    cache = FeatureCache(tmp_path / "cache", "speech", {"type": "logmel", "n_mels": 40})
    calls = []

    def compute():
        calls.append(1)
        return np.arange(6, dtype=np.float32).reshape(3, 2)

    ident = ["file", *file_identity(src)]
    first = cache.get_or_compute(ident, compute)
    again = cache.get_or_compute(ident, compute)
    assert len(calls) == 1 and np.array_equal(first, again) and (cache.hits, cache.misses) == (1, 1)
    other = FeatureCache(tmp_path / "cache", "speech", {"type": "logmel", "n_mels": 20})
    assert other.path_for(ident) != cache.path_for(ident)          # another frontend: another entry
    src.write_bytes(b"y" * 11)                                       # an edited recording is recomputed
    os.utime(src, ns=(1, 1))
    assert cache.path_for(["file", *file_identity(src)]) != cache.path_for(ident)
    cache.path_for(ident).write_bytes(b"damaged")                    # a damaged entry is recomputed
    assert np.array_equal(cache.get_or_compute(ident, compute), first) and len(calls) == 2
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def test_epoch_batches_cover_every_item_once_and_reshuffle():
    sampler = EpochBatches(23, 5, seed=1, ctx=DistContext())
    epochs = []
    for e in (1, 2):
        sampler.set_epoch(e)
        keys = [k for batch in sampler for k in batch]
        assert sorted(i for i, _ in keys) == list(range(23)) and {ep for _, ep in keys} == {e}
        assert len(list(sampler)) == len(sampler) == 5
        epochs.append([i for i, _ in keys])
    assert epochs[0] != epochs[1]


def test_streamed_training_is_independent_of_workers_and_reuses_the_cache(tmp_path, capsys):
    data = make_synth_dataset(tmp_path / "data", per_speaker=6)
    cache = tmp_path / "cache"
    common = ("--data", str(data), "--feature-cache", str(cache), *SMALL_TRAIN_ARGS)
    assert main(["train", "--out", str(tmp_path / "w2"), "--workers", "2", *common]) == 0
    err = capsys.readouterr().err
    m = re.search(r"feature cache .*: (\d+) of (\d+) clips read back", err)
    assert m and m.group(1) == "0", err
    n_clips = int(m.group(2))
    assert len(list(cache.rglob("*.npy"))) == n_clips

    assert main(["train", "--out", str(tmp_path / "w1"), "--workers", "1", *common]) == 0
    err = capsys.readouterr().err
    assert f"{n_clips} of {n_clips} clips read back" in err, err     # nothing recomputed the second time
    a = load_file(str(tmp_path / "w1" / "model.safetensors"))
    b = load_file(str(tmp_path / "w2" / "model.safetensors"))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)

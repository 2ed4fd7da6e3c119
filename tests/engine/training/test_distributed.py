"""``lstm-vault train`` under ``torchrun --nproc-per-node 2`` (gloo, CPU) matches single-process training."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from testdata import REPO, make_synth_dataset

from recognizers.cli.main import main
from recognizers.training.distributed import DistContext, shard_indices

TORCHRUN = Path(sys.executable).with_name("torchrun")
TRAIN_ARGS = ("--task", "speech", "--epochs", "20", "--lr", "0.01", "--hidden", "32", "--layers", "2",
              "--batch-size", "16", "--patience", "50", "--seed", "3", "--threads", "1", "--device", "cpu")


def test_shards_cover_the_epoch_and_change_with_it():
    n = 23
    shards = [shard_indices(n, 1, 3, DistContext(rank=r, world_size=3)) for r in range(3)]
    assert {len(s) for s in shards} == {8}                      # padded to equal length (DDP stays in step)
    assert set().union(*shards) == set(range(n))
    assert shards[0] == shard_indices(n, 1, 3, DistContext(rank=0, world_size=3))    # deterministic
    assert shards[0] != shard_indices(n, 2, 3, DistContext(rank=0, world_size=3))    # reshuffled per epoch
    assert shard_indices(n, 1, 3, DistContext()) != list(range(n))                   # shuffled


@pytest.mark.slow
@pytest.mark.skipif(not TORCHRUN.exists(), reason=f"{TORCHRUN} is absent")
def test_torchrun_two_processes_reach_single_process_accuracy(tmp_path, capsys):
    data = make_synth_dataset(tmp_path / "data", per_speaker=8)
    single = tmp_path / "single"
    assert main(["train", "--data", str(data), "--out", str(single), *TRAIN_ARGS]) == 0
    capsys.readouterr()

    runs = tmp_path / "runs"
    runs.mkdir()
    logs = tmp_path / "logs"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                           "MASTER_PORT")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [str(TORCHRUN), "--standalone", "--nproc-per-node", "2", "--log-dir", str(logs), "--redirects", "3",
           "-m", "recognizers", "train", "--data", str(data), "--out", "model", *TRAIN_ARGS]
    proc = subprocess.run(cmd, cwd=runs, env=env, capture_output=True, text=True, timeout=240)
    rank_logs = {r: "".join(p.read_text() for p in sorted(logs.rglob(f"{r}/std*.log"))) for r in (0, 1)}
    assert proc.returncode == 0, proc.stderr[-3000:] + rank_logs[0][-3000:] + rank_logs[1][-3000:]

    # The model folder exists once, written by rank 0; rank 1 neither wrote files nor logged progress.
    assert sorted(p.name for p in runs.iterdir()) == ["model"]
    assert sorted(p.name for p in (runs / "model").iterdir()) == ["model.json", "model.safetensors"]
    assert "saved" in rank_logs[0] and "epoch  20/20" in rank_logs[0]
    assert "epoch" not in rank_logs[1] and "saved" not in rank_logs[1]

    meta_1 = json.loads((single / "model.json").read_text())
    meta_2 = json.loads((runs / "model" / "model.json").read_text())
    assert meta_2["training"]["processes"] == 2 and "processes" not in meta_1["training"]
    acc_1 = meta_1["metrics"]["validation_accuracy"]
    acc_2 = meta_2["metrics"]["validation_accuracy"]
    chance = 1 / len(meta_1["labels"])
    assert acc_1 > chance + 0.35 and acc_2 > chance + 0.35, (acc_1, acc_2)
    assert abs(acc_1 - acc_2) <= 0.10, (acc_1, acc_2)


@pytest.mark.slow
@pytest.mark.skipif(not TORCHRUN.exists(), reason=f"{TORCHRUN} is absent")
def test_torchrun_with_disk_streaming_workers(tmp_path):
    """``--workers`` under torchrun: the clean-feature pass is sharded across processes and agrees."""
    data = make_synth_dataset(tmp_path / "data", per_speaker=3)
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                           "MASTER_PORT")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [str(TORCHRUN), "--standalone", "--nproc-per-node", "2", "-m", "recognizers", "train", "--data", str(data),
           "--out", str(tmp_path / "model"), "--workers", "1", "--feature-cache", str(tmp_path / "cache"),
           "--task", "speech", "--epochs", "2", "--hidden", "8", "--threads", "1", "--device", "cpu"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("saved ") == 1 and proc.stderr.count("feature cache") == 1
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["training"]["processes"] == 2 and meta["training"]["config"]["workers"] == 1
    n_items = meta["training"]["n_train"] + meta["training"]["synthetic_negatives"]
    assert len(list((tmp_path / "cache").rglob("*.npy"))) >= n_items   # both shards' clips were cached

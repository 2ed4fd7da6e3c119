#!/usr/bin/env python3
"""Speaker-disjoint grouped k-fold of a speech recipe, with PocketSphinx on the same clips in the same run.

The speakers (manifest ``speaker`` groups; ``sil-*`` pseudo-groups of _silence_ clips count as groups) are shuffled
with a fixed seed and dealt into K folds. For each fold: train the recipe with every clip of the fold's speakers left
out (``--exclude-groups``; early stopping validates on a tenth of the *training* speakers, never a test speaker),
evaluate the fold model on the fold's clips with ``lstm-vault eval``, and run the peer recogniser
(``recognizers.bench.peers``) on exactly those clips.

    python scripts/eval_unseen_speakers.py --data work/commands_data --out work/kfold_commands --folds 3 \
        [--only 0,1] [--peer pocketsphinx] [--model MODEL  (evaluate one fixed model on every fold, no training)] \
        [--init assets/models/digits-en] [-- --epochs 30 --patience 8 --threads 1 --seed 0]

Fold pool: by default every group of the training manifest is dealt into a fold. ``--pool-labels L --pool-prefix P``
deals only the groups of the test data that have a clip with a label in L whose file name starts with P (e.g. the
Speech Commands v0.02 digit speakers: ``--pool-labels 0,...,9 --pool-prefix v2_``); every other group always trains.
``--val-groups G`` validates on G plus a tenth of the pool's training groups (default: a tenth of all training
groups), so early stopping can keep e.g. the FSDD speakers in training.

Writes OUT/kfold.json (per fold: accuracy, per-class, peer accuracy, training seconds) and prints one table.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def read_manifest(data: Path) -> list[dict]:
    with open(data / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def assign_folds(groups: list[str], k: int, seed: int = 0) -> dict[str, int]:
    """Deal the sorted groups, shuffled with ``seed``, round-robin into ``k`` folds."""
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    return {g: i % k for i, g in enumerate(order)}


def link_clips(rows: list[dict], data: Path, dest: Path) -> list[tuple[Path, str]]:
    clips = []
    for r in rows:
        p = dest / r["label"] / Path(r["path"]).name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.symlink_to((data / r["path"]).resolve())
        clips.append((p, r["label"]))
    return clips


def fold_pool(rows: list[dict], test_rows: list[dict], pool_labels: str = "", prefix: str = "") -> set[str]:
    """The groups dealt into folds: every training group, or with ``pool_labels`` (comma-separated) the groups of
    ``test_rows`` with a clip of one of those labels whose file name starts with ``prefix``."""
    if not pool_labels:
        return {r["speaker"] for r in rows}
    keep = set(pool_labels.split(","))
    return {r["speaker"] for r in test_rows if r["label"] in keep and Path(r["path"]).name.startswith(prefix)}


def words_accuracy(per_class: dict | None, counts: dict[str, int]) -> float | None:
    """Accuracy over the clips of real words only (labels other than _unknown_ / _silence_)."""
    words = {lab: n for lab, n in counts.items() if not lab.startswith("_")}
    if not per_class or not words:
        return None
    return sum(per_class.get(lab, 0.0) * n for lab, n in words.items()) / sum(words.values())


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated fold indices to run (default all)")
    ap.add_argument("--seed", type=int, default=0, help="fold assignment seed")
    ap.add_argument("--peer", default="pocketsphinx", help="'pocketsphinx' or 'none'")
    ap.add_argument("--model", default="", help="evaluate this fixed model on every fold instead of training")
    ap.add_argument("--init", default="", help="warm-start each fold's LSTM layers from this model "
                    "(scripts/train_warm.py)")
    ap.add_argument("--light-aug", action="store_true", help="with --init: train_warm.py --light-aug")
    ap.add_argument("--init-full", action="store_true", help="with --init: train_warm.py --full (also the head and "
                    "the normalisation; same labels)")
    ap.add_argument("--test-data", default="", help="test on this dataset's clips of the fold's speakers (same "
                    "manifest groups; e.g. the untrimmed 1 s clips when training on trimmed ones)")
    ap.add_argument("--eval-labels", default="", help="only test clips with these labels (comma-separated)")
    ap.add_argument("--pool-labels", default="", help="deal only groups with a test clip of these labels into "
                    "folds (comma-separated; see above)")
    ap.add_argument("--pool-prefix", default="", help="with --pool-labels: only test clips whose file name starts "
                    "with this")
    ap.add_argument("--val-groups", default="", help="comma-separated groups that always validate (never tested)")
    args = ap.parse_args(argv)
    data, out = Path(args.data), Path(args.out)
    rows = read_manifest(data)
    test_data = Path(args.test_data) if args.test_data else data
    test_all = read_manifest(test_data)
    fixed_val = [g for g in args.val_groups.split(",") if g]
    pool = fold_pool(rows, test_all, args.pool_labels, args.pool_prefix)
    if args.pool_labels and pool & set(fixed_val):   # a test speaker would steer early stopping
        print(f"--val-groups overlap the fold pool: {sorted(pool & set(fixed_val))[:5]}", file=sys.stderr)
        return 2
    if not pool - set(fixed_val):
        print("empty fold pool", file=sys.stderr)
        return 2
    folds = assign_folds(sorted(pool - set(fixed_val)), args.folds, args.seed)
    out.mkdir(parents=True, exist_ok=True)
    only = [int(x) for x in args.only.split(",")] if args.only else list(range(args.folds))
    keep = set(args.eval_labels.split(",")) if args.eval_labels else None
    exe = [sys.executable, "-m", "recognizers"]
    res_path = out / "kfold.json"
    results = json.loads(res_path.read_text()) if res_path.is_file() else {}
    for k in only:
        test_groups = sorted(g for g, f in folds.items() if f == k)
        train_groups = sorted(g for g, f in folds.items() if f != k)
        if not args.pool_labels:   # the default pool is every training group (the original recipe)
            train_groups = sorted({r["speaker"] for r in rows} - set(test_groups) - set(fixed_val))
        test_rows = [r for r in test_all if folds.get(r["speaker"]) == k and (keep is None or r["label"] in keep)]
        rec: dict = {"test_speakers": len(test_groups), "n_test": len(test_rows), "test_groups": test_groups}
        if "train_seconds" in results.get(str(k), {}):
            rec["train_seconds"] = results[str(k)]["train_seconds"]
        if args.model:
            model = Path(args.model)
        else:
            model = out / f"model_fold{k}"
            val = sorted(fixed_val + random.Random(100 + k).sample(train_groups, max(2, len(train_groups) // 10)))
            t0 = time.time()
            if not (model / "model.json").is_file():
                trainer = ([sys.executable, str(REPO / "scripts" / "train_warm.py"), "--init", args.init]
                           + (["--light-aug"] if args.light_aug else []) + (["--full"] if args.init_full else [])
                           + ["--"]
                           if args.init else exe + ["train"])
                subprocess.run(trainer + ["--task", "speech", "--data", str(data), "--out", str(model),
                                      "--exclude-groups", ",".join(test_groups), "--val-groups", ",".join(val)]
                               + extra, check=True)
                rec["train_seconds"] = round(time.time() - t0)
            rec["val_groups"] = len(val)
        with tempfile.TemporaryDirectory() as td:
            clips = link_clips(test_rows, test_data, Path(td))
            r = subprocess.run(exe + ["eval", "--model", str(model), "--data", td, "--json"],
                               check=True, capture_output=True, text=True)
            rep = json.loads(r.stdout)
            rec.update(model=str(model), accuracy=rep["accuracy"], n=rep["n"],
                       per_class=rep.get("per_class_accuracy"))
            counts: dict[str, int] = {}
            for _, lab in clips:
                counts[lab] = counts.get(lab, 0) + 1
            rec["n_per_class"] = counts
            rec["words_accuracy"] = words_accuracy(rec["per_class"], counts)
            if args.peer != "none":
                from recognizers.bench.peers import PocketSphinxPeer, score_peer
                labels = sorted({lab for _, lab in clips})
                peer = PocketSphinxPeer(labels)
                t0 = time.time()
                rec["peer"] = {"name": peer.name, **score_peer(peer, clips), "seconds": round(time.time() - t0)}
                rec["peer"]["words_accuracy"] = words_accuracy(rec["peer"]["per_class"], counts)
        results[str(k)] = rec
        print(f"== fold {k}: ours {rec['accuracy'] * 100:.1f}% of {rec['n']}"
              + (f", {rec['peer']['name']} {rec['peer']['accuracy'] * 100:.1f}%" if "peer" in rec else "")
              + f"; words only (no _unknown_/_silence_) ours {fmt(rec['words_accuracy'])}"
              + (f", peer {fmt(rec['peer']['words_accuracy'])}" if "peer" in rec else ""), flush=True)
        res_path.write_text(json.dumps(results, indent=1))
    done = [results[str(k)] for k in range(args.folds) if str(k) in results]
    if done:
        n = sum(r["n"] for r in done)
        summary = {"folds_done": len(done), "n": n,
                   "accuracy": sum(r["accuracy"] * r["n"] for r in done) / n}
        if all("peer" in r for r in done):
            summary["peer_accuracy"] = sum(r["peer"]["accuracy"] * r["n"] for r in done) / n
        results["_summary"] = summary
        res_path.write_text(json.dumps(results, indent=1))
        print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

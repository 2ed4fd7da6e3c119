"""Measure ``lstm-vault adapt`` on FSDD as a user would meet it: adapt on a speaker's first takes of every digit,
test on that speaker's later takes, and check the other speakers did not get worse.

    .venv/bin/python scripts/measure_adapt.py --model assets/models/digits-en --fsdd ../shared/data/fsdd \
        --takes 1,3,5 --threads 1 --json work/adapt_fsdd.json

Every adaptation runs the real engine call (``recognizers.training.adapt.adapt``, the same as the CLI) into
a temporary folder. Features of the test clips are computed once (the adapted model keeps the base model's
frontend and normalisation, so they are identical) and each model classifies them in batches: causal LSTM,
last valid frame, the same as ``Recognizer.predict_file`` with the model's lead-in.

Unseen FSDD speakers (docs/adapt.md, LOSO): ``--model work/loso_adapt/model_without_S --speakers S``, optionally
``--replay work/digits_data --replay-n 800`` (the base training data without S's clips; the rows then also give
``others_not_replayed``) and ``--sc-check DIR`` (Speech Commands v0.02 digit clips before -> after).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from recognizers.data.datasets import scan_dataset
from recognizers.io.extensions import AUDIO_EXTENSIONS
from recognizers.model_files import load_model
from recognizers.recognizer import Recognizer, load_input
from recognizers.training.adapt import AdaptConfig, adapt
from recognizers.training.loop import collate, last_step


def take_number(path: Path) -> int:
    return int(path.stem.rsplit("_", 1)[1])


@torch.no_grad()
def classify(model_dir, feats: list[np.ndarray]) -> np.ndarray:
    net = load_model(model_dir).network
    out = []
    for s in range(0, len(feats), 256):
        x, lengths = collate(feats[s:s + 256])
        out.append(last_step(net(x)[0], lengths).argmax(-1).numpy())
    return np.concatenate(out)


def replay_folder(args, speaker: str, tmp: Path) -> Path:
    """``--replay`` as a folder-per-label set without the adapted speaker (a LOSO base model never heard them,
    and their clips in the replay would leak the test takes): a seeded random subset of
    ``--replay-n`` files (0: all), symlinked, built once per speaker."""
    out = tmp / f"replay_{speaker}"
    if out.is_dir():
        return out
    keep = [e for e in scan_dataset(args.replay, AUDIO_EXTENSIONS) if e.group not in (speaker, f"fsdd-{speaker}")]
    if args.replay_n and args.replay_n < len(keep):
        idx = np.random.default_rng(0).choice(len(keep), size=args.replay_n, replace=False)
        keep = [keep[i] for i in sorted(idx)]
    for i, e in enumerate(keep):
        (out / e.label).mkdir(parents=True, exist_ok=True)
        (out / e.label / f"{i:05d}_{e.path.name}").symlink_to(e.path.resolve())
    return out


DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def measure_unseen(args, base, rec) -> list[dict]:
    """Speech Commands v0.02 speakers (never in digits-en's training) with >= --min-takes digit clips:
    leave one clip out, adapt on the speaker's other digit clips, classify the left-out clip; the other
    speakers' digit clips and FSDD check that nothing else got worse."""
    sc = Path(args.sc)
    clips = [(p, w) for w in DIGIT_WORDS for p in sorted((sc / w).glob("*.wav"))]
    spk = np.array([p.name.split("_nohash_")[0] for p, _ in clips])
    truth = np.array([base.labels.index(base.meta["label_aliases"][w]) for _, w in clips])
    feats = [rec.features(rec.padded(load_input("speech", p, base.frontend_config))) for p, _ in clips]
    fsdd = scan_dataset(args.fsdd, AUDIO_EXTENSIONS)[::args.sc_fsdd_every]
    f_feats = [rec.features(rec.padded(load_input("speech", e.path, base.frontend_config))) for e in fsdd]
    f_truth = np.array([base.labels.index(e.label) for e in fsdd])
    base_pred, base_f = classify(args.model, feats), classify(args.model, f_feats)
    ids, counts = np.unique(spk, return_counts=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for s in ids[counts >= args.min_takes]:
            for i in np.flatnonzero(spk == s):
                takes = Path(tmp) / f"{s}_{i}"
                for j in np.flatnonzero(spk == s):
                    if j != i:
                        p, w = clips[j]
                        (takes / w).mkdir(parents=True, exist_ok=True)
                        (takes / w / p.name).symlink_to(p.resolve())
                out = Path(tmp) / f"model_{s}_{i}"
                t1 = time.time()
                adapt(args.model, takes, out, AdaptConfig(epochs=args.epochs, l2sp=args.l2sp, lr=args.lr,
                                                          trainable=args.trainable, threads=args.threads))
                secs = time.time() - t1
                pred, pred_f = classify(out, feats), classify(out, f_feats)
                others = spk != s
                seen = clips[i][1] in {clips[j][1] for j in np.flatnonzero(spk == s) if j != i}
                row = {"speaker": s, "clip": clips[i][0].name, "word": clips[i][1], "word_in_takes": bool(seen),
                       "n_takes": int((spk == s).sum() - 1), "seconds": round(secs, 1),
                       "before": bool(base_pred[i] == truth[i]), "after": bool(pred[i] == truth[i]),
                       "others_before": round(float((base_pred[others] == truth[others]).mean()) * 100, 1),
                       "others_after": round(float((pred[others] == truth[others]).mean()) * 100, 1),
                       "fsdd_before": round(float((base_f == f_truth).mean()) * 100, 1),
                       "fsdd_after": round(float((pred_f == f_truth).mean()) * 100, 1)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def measure_gestures(args) -> list[dict]:
    """gestures-arman6 and the palm-out ``follow`` it misses (sequences 22-24 of the held-out test blocks,
    MODEL_CARD.md): leave one of them out, adapt on the other two plus ``--other-takes`` training-split takes of
    every other label (what the app's "every label" recording gives), test on the left-out one and on the
    other 33 test sequences."""
    import shutil

    from recognizers.data.importers import import_arman
    from recognizers.training.evaluate import evaluate
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        import_arman(args.arman, tmp / "train", 0.3, tmp / "test")
        palm_out = [tmp / "test" / "follow" / f"dhgr6_s0{k}.npz" for k in (22, 23, 24)]
        base = load_model(args.model)
        for held in palm_out:
            takes = tmp / f"takes_{held.stem}"
            for p in palm_out:
                if p != held:
                    (takes / "follow").mkdir(parents=True, exist_ok=True)
                    shutil.copy(p, takes / "follow" / p.name)
            for label_dir in sorted((tmp / "train").iterdir()):
                if label_dir.name != "follow" and args.other_takes:
                    (takes / label_dir.name).mkdir(parents=True, exist_ok=True)
                    for p in sorted(label_dir.glob("*.npz"))[-args.other_takes:]:
                        shutil.copy(p, takes / label_dir.name / p.name)
            test_one = tmp / f"one_{held.stem}" / "follow"
            test_one.mkdir(parents=True)
            shutil.copy(held, test_one / held.name)
            others = tmp / f"others_{held.stem}"
            shutil.copytree(tmp / "test", others)
            for p in palm_out:
                (others / "follow" / p.name).unlink()
            manifest = others / "manifest.csv"   # the importer lists every file: drop the removed ones
            if manifest.is_file():
                gone = {f"follow/{p.name}" for p in palm_out}
                manifest.write_text("".join(line for line in manifest.read_text().splitlines(True)
                                            if line.split(",", 1)[0] not in gone))
            t1 = time.time()
            out = tmp / f"model_{held.stem}"
            adapt(args.model, takes, out, AdaptConfig(epochs=args.epochs, l2sp=args.l2sp, lr=args.lr,
                                                      trainable=args.trainable, threads=args.threads))
            secs = time.time() - t1
            adapted = load_model(out)
            row = {"held_out": held.stem, "seconds": round(secs, 1), "other_takes_per_label": args.other_takes,
                   "held_out_before": evaluate(base, test_one.parent)["accuracy"],
                   "held_out_after": evaluate(adapted, test_one.parent)["accuracy"],
                   "other_test_before": round(evaluate(base, others)["accuracy"] * 100, 1),
                   "other_test_after": round(evaluate(adapted, others)["accuracy"] * 100, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="assets/models/digits-en")
    ap.add_argument("--fsdd", default="../shared/data/fsdd")
    ap.add_argument("--takes", default="1,3,5")
    ap.add_argument("--test-from", type=int, default=5, help="curves test on takes >= this (all take counts)")
    ap.add_argument("--speakers", default="")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=None, help="default: the model's adaptation recipe")
    ap.add_argument("--l2sp", type=float, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--negatives", type=float, default=None)
    ap.add_argument("--trainable", default="all")
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--replay", default=None, help="FSDD mode: replay this dataset (e.g. work/digits_data) while "
                    "adapting, without the adapted speaker's clips")
    ap.add_argument("--replay-n", type=int, default=0, help="--replay: a random subset of this many files (0: all)")
    ap.add_argument("--replay-per-epoch", type=int, default=0, help="replay examples per epoch (0: as many as "
                    "the repeated takes)")
    ap.add_argument("--sc-check", default=None, help="FSDD mode: also check the Speech Commands v0.02 digit clips "
                    "of this folder before -> after")
    ap.add_argument("--json", default=None)
    ap.add_argument("--sc", default=None, help="Speech Commands v0.02 folder: measure unseen speakers instead")
    ap.add_argument("--min-takes", type=int, default=4)
    ap.add_argument("--arman", default=None, help="arman gesture data: measure gestures-arman6 instead")
    ap.add_argument("--other-takes", type=int, default=1)
    ap.add_argument("--sc-fsdd-every", type=int, default=5, help="--sc: every n-th FSDD clip checks forgetting")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    base = load_model(args.model)
    rec = Recognizer(base) if base.task == "speech" else None
    if args.sc or args.arman:
        rows = measure_unseen(args, base, rec) if args.sc else measure_gestures(args)
        if args.json:
            Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1) + "\n")
        return 0
    examples = scan_dataset(args.fsdd, AUDIO_EXTENSIONS)
    speakers = args.speakers.split(",") if args.speakers else sorted({e.group for e in examples})
    t0 = time.time()
    feats = [rec.features(rec.padded(load_input("speech", e.path, base.frontend_config))) for e in examples]
    truth = np.array([base.labels.index(e.label) for e in examples])
    spk = np.array([e.group for e in examples])
    num = np.array([take_number(e.path) for e in examples])
    print(f"features of {len(examples)} clips in {time.time() - t0:.0f} s", file=sys.stderr)
    base_pred = classify(args.model, feats)
    sc_feats, sc_truth, sc_base = [], None, None
    if args.sc_check:   # a second "everyone else": Speech Commands v0.02 digit clips (speakers no model heard)
        sc_clips = [(p, w) for w in DIGIT_WORDS for p in sorted((Path(args.sc_check) / w).glob("*.wav"))]
        sc_feats = [rec.features(rec.padded(load_input("speech", p, base.frontend_config)))
                    for p, _ in sc_clips]
        sc_truth = np.array([base.labels.index(base.meta["label_aliases"].get(w, str(DIGIT_WORDS.index(w))))
                             for _, w in sc_clips])   # LOSO models are trained without the word aliases
        sc_base = classify(args.model, sc_feats)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for s in speakers:
            for n in [int(k) for k in args.takes.split(",")]:
                takes = Path(tmp) / f"{s}_{n}"
                for e, k in zip(examples, num):
                    if e.group == s and k < n:
                        (takes / e.label).mkdir(parents=True, exist_ok=True)
                        (takes / e.label / e.path.name).symlink_to(e.path.resolve())
                cfg = AdaptConfig(epochs=args.epochs, l2sp=args.l2sp, lr=args.lr, trainable=args.trainable,
                                  negatives=args.negatives,
                                  threads=args.threads, repeats=args.repeats,
                                  replay_dir=str(replay_folder(args, s, Path(tmp))) if args.replay else None,
                                  replay_per_epoch=args.replay_per_epoch)
                t1 = time.time()
                out = Path(tmp) / f"model_{s}_{n}"
                adapt(args.model, takes, out, cfg)
                secs = time.time() - t1
                pred = classify(out, feats)
                own_curve = (spk == s) & (num >= args.test_from)
                own_3 = (spk == s) & (num >= 3)
                own_n = (spk == s) & (num >= n)
                others = spk != s
                checks = [("own_test_from", own_curve), ("own_from_3", own_3), ("own_from_n", own_n),
                          ("others", others)]
                if cfg.replay_dir:   # the other speakers' clips that were not in the replay
                    replayed = {q.resolve() for q in Path(cfg.replay_dir).rglob("*") if q.is_symlink()}
                    fresh = np.array([e.path.resolve() not in replayed for e in examples])
                    checks.append(("others_not_replayed", others & fresh))
                row = {"speaker": s, "takes": n, "seconds": round(secs, 1)}
                for key, m in checks:
                    row[key] = {"before": round(float((base_pred[m] == truth[m]).mean()) * 100, 1),
                                "after": round(float((pred[m] == truth[m]).mean()) * 100, 1), "n": int(m.sum())}
                if sc_feats:
                    sc_pred = classify(out, sc_feats)
                    row["sc_digits"] = {"before": round(float((sc_base == sc_truth).mean()) * 100, 1),
                                        "after": round(float((sc_pred == sc_truth).mean()) * 100, 1),
                                        "n": len(sc_feats)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

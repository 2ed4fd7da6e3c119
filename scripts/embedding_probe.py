#!/usr/bin/env python3
"""A fast feature-space probe of digit-recipe choices on the pretrained speech embedding (issue 15).

The shipped recipe (``lstm-vault train --frontend speech-embedding``) spends most of its 8-12 minutes embedding
clips. This probe embeds every clip of a digits dataset once (clean, plus a few audio-augmented copies) and then
trains the same classifier shape (2 x 128 LSTM, AdamW 3e-3, cosine, label smoothing 0.05, sqrt class weights,
embedding noise, the logit adjustment) on the cached embeddings in about a minute per split, so that a recipe
change can be compared on every speaker-disjoint split before the real recipe is retrained with it:

* the 3 Speech Commands digit-speaker folds of ``eval_unseen_speakers.py`` (digits of the 78 v0.02 digit speakers;
  their other words, rejection as _unknown_);
* FSDD leave-one-speaker-out (takes 3-49 of the left-out speaker, as ``measure_adapt.py``'s "before").

Probe figures are for comparing variants with each other, not the published figures (those come from the real
recipe, ``eval_unseen_speakers.py`` and ``loso_digits.py``).

    python scripts/embedding_probe.py cache --data work/digits_emb_data --cache work/probe_cache.npz
    python scripts/embedding_probe.py run --cache work/probe_cache.npz --variant base --seeds 0,1
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

DIGITS = [str(d) for d in range(10)]
FSDD = ["jackson", "nicolas", "theo", "yweweler"]
AUG_COPIES = 3


def _embed_worker(args):
    paths, seed = args
    import torch
    torch.set_num_threads(1)
    from types import SimpleNamespace

    from recognizers.data import augment
    from recognizers.data.speech import SpeechAugmentConfig, SpeechTaskData
    from recognizers.frontends.speech_embedding import SpeechEmbeddingConfig
    # the training's own waveform augmentation, always taken (audio_prob 1) and without the embedding noise,
    # which the probe adds afresh every epoch
    aug = SpeechAugmentConfig(audio_prob=1.0, embedding_noise=0.0)
    task = SpeechTaskData(frontend=SpeechEmbeddingConfig(), augmentation=aug)
    rng = np.random.default_rng(seed)
    out = []
    for p in paths:
        raw = task.load(SimpleNamespace(path=p))
        clean = task._embed(np.concatenate([raw, np.zeros(int(aug.pad_max_s * 16000), np.float32)]))
        n = max(1, task._stream_frames(raw.size))
        augs = []
        for c in range(AUG_COPIES):
            y = raw
            if c == AUG_COPIES - 1:      # the last copy: band-limited to 4 kHz (an 8 kHz recording)
                y = augment.speed_perturb(augment.speed_perturb(y, 2.0), 0.5)[: raw.size]
            augs.append(task._embedding_features(y, rng))
        out.append((clean, n, augs))
    return out


def _negatives_worker(args):
    count, seed = args
    from recognizers.data.speech import SpeechTaskData
    from recognizers.frontends.speech_embedding import SpeechEmbeddingConfig
    task = SpeechTaskData(frontend=SpeechEmbeddingConfig())
    rng = np.random.default_rng(seed)
    return [task._embed(task.synthetic_negative(rng)) for _ in range(count)]


def cache(args) -> int:
    from multiprocessing import Pool
    data = Path(args.data)
    rows = [r for r in csv.DictReader(open(data / "manifest.csv", newline=""))
            if r["speaker"].startswith(args.only_prefix)]
    paths = [str(data / r["path"]) for r in rows]
    chunks = [(paths[i:i + 200], 1000 + i) for i in range(0, len(paths), 200)]
    t0 = time.time()
    with Pool(args.procs) as pool:
        parts = pool.map(_embed_worker, chunks)
        negs = sum(pool.map(_negatives_worker, [(args.negatives // 4, 7 + k) for k in range(4)]), [])
    items = [it for part in parts for it in part]
    arrays: dict[str, np.ndarray] = {}
    for i, (clean, n, augs) in enumerate(items):
        arrays[f"c{i}"] = clean
        for c, a in enumerate(augs):
            arrays[f"a{i}_{c}"] = a
    for i, f in enumerate(negs):
        arrays[f"n{i}"] = f
    meta = {"rows": rows, "frames": [int(n) for _, n, _ in items], "negatives": len(negs), "aug_copies": AUG_COPIES}
    np.savez(args.cache, meta=np.array(json.dumps(meta)), **arrays)
    print(f"cached {len(items)} clips x {1 + AUG_COPIES} and {len(negs)} negatives in {time.time() - t0:.0f} s")
    return 0


# ---------------------------------------------------------------------------------------------------- splits
def labels_of(rows: list[dict]) -> list[str]:
    names = sorted({r["label"] for r in rows} - {"_unknown_"})
    return names + ["_unknown_"]


def splits(rows: list[dict]) -> list[dict]:
    """The speaker-disjoint splits: name, excluded groups, test clip indices (digits) and other-word indices.

    A digits set (labels 0-9): the digit-speaker folds and FSDD LOSO; any other set (commands): the 3 folds of
    ``eval_unseen_speakers.py``'s default pool (every group), testing every clip of the fold's groups."""
    from eval_unseen_speakers import fold_pool
    digits = set(DIGITS) <= {r["label"] for r in rows}
    pool = fold_pool(rows, rows, ",".join(DIGITS), "v2_") if digits else fold_pool(rows, rows)
    out = []
    for k, groups in enumerate(fold_groups(pool)):
        held = [i for i, r in enumerate(rows) if r["speaker"] in groups]
        tested = [i for i in held if not digits or rows[i]["label"] in DIGITS]
        out.append({"name": f"sc{k}", "exclude": groups, "test": tested, "other": sorted(set(held) - set(tested))})
    if not digits:
        return out
    for s in FSDD:
        test = [i for i, r in enumerate(rows) if r["speaker"] == f"fsdd-{s}"
                and int(Path(r["path"]).stem.rsplit("_", 1)[1]) >= 3]
        out.append({"name": s, "exclude": {f"fsdd-{s}"}, "test": test, "other": []})
    return out


def fold_groups(pool: set[str]) -> list[set[str]]:
    """The groups of each of the 3 folds of ``eval_unseen_speakers.py`` (seed 0)."""
    from eval_unseen_speakers import assign_folds
    folds = assign_folds(sorted(pool), 3, 0)
    return [{g for g, f in folds.items() if f == k} for k in range(3)]


def relabel(rows: list[dict], other: list[dict]) -> tuple[list[dict], list[dict]]:
    """A combined vocabulary: each ``_unknown_`` clip of ``rows`` whose file is in ``other`` (another manifest of
    the same clips, e.g. the commands set) takes that manifest's label when it is not ``_unknown_`` there, and the
    3 folds of ``other``'s groups (``eval_unseen_speakers.py``'s default pool) become extra splits ``cmd0-2``,
    testing each clip of the fold's groups against its label in ``other`` (``truth``)."""
    from eval_unseen_speakers import fold_pool
    by_name = {Path(r["path"]).name: r["label"] for r in other}
    out = [r | {"label": by_name[Path(r["path"]).name]}
           if r["label"] == "_unknown_" and by_name.get(Path(r["path"]).name, "_unknown_") != "_unknown_" else r
           for r in rows]
    extra = []
    for k, groups in enumerate(fold_groups(fold_pool(other, other))):
        test = [i for i, r in enumerate(rows) if r["speaker"] in groups and Path(r["path"]).name in by_name]
        extra.append({"name": f"cmd{k}", "exclude": groups, "test": test, "other": [],
                      "truth": [by_name[Path(rows[i]["path"]).name] for i in test]})
    return out, extra


def group_decision(labels: list[str], space: set[str]):
    """Score a model's (prior-adjusted) log-probabilities in the label ``space`` of a split: each model label
    outside it counts as ``_unknown_``, and a space label's score is the log of its labels' mean probability,
    so that a group of k labels weighs like one (every space label equally likely, as the logit adjustment
    makes every model label). With every model label in ``space`` this is the plain argmax."""
    names = sorted(space)
    member = np.array([[(l if l in space else "_unknown_") == n for n in names] for l in labels], float)

    def scored(logp: np.ndarray) -> list[str]:
        mean_p = np.exp(logp) @ member / member.sum(0)
        return [names[k] for k in mean_p.argmax(1)]
    return scored


# ---------------------------------------------------------------------------------------------------- training
def train_eval(c: dict, split: dict, variant: dict, seed: int, val_groups: set[str]) -> dict:
    """Train one model on ``split``'s training clips and return its adjusted log-probabilities on the test
    clips (``test``), on the other-word clips (``other``) and the network (``net``). ``variant["teachers"]``:
    N teachers (seeds 100 + seed + k, the same variant otherwise) are trained first and the model also learns
    their mean softened output on every batch (knowledge distillation, Hinton et al. 2015; weight
    ``distill_weight``, temperature ``distill_temperature``)."""
    import torch
    from torch import nn
    teachers = [train_eval(c, split, {**variant, "teachers": 0}, 100 + seed + k, val_groups)["net"]
                for k in range(variant.get("teachers", 0))]
    kd_w, kd_t = variant.get("distill_weight", 0.5), variant.get("distill_temperature", 2.0)

    from recognizers.training.logit_adjust import bias_shift
    from recognizers.training.loop import collate, sqrt_class_weights
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    rows, labels = c["rows"], labels_of(c["rows"])
    lab = {l: i for i, l in enumerate(labels)}
    train = [i for i, r in enumerate(rows) if r["speaker"] not in split["exclude"] and r["speaker"] not in val_groups]
    y_all = np.array([lab[r["label"]] for r in rows])
    n_neg = int(round(variant.get("negatives", 0.15) * len(train)))
    neg_ids = [int(k) for k in rng.choice(c["negatives"], size=n_neg)] if n_neg else []
    items = [(i, False) for i in train] + [(j, True) for j in neg_ids]
    targets = np.array([y_all[i] if not neg else lab["_unknown_"] for i, neg in items])
    counts = np.bincount(targets, minlength=len(labels)).astype(float)
    cw = sqrt_class_weights(counts)
    # optional per-clip weights: each (speaker, label) pair's clips share weight ``n ** (1 - alpha)``
    sw = np.ones(len(items))
    alpha = variant.get("speaker_balance", 0.0)
    if alpha:
        key = [(rows[i]["speaker"], rows[i]["label"]) if not neg else ("neg", "") for i, neg in items]
        from collections import Counter
        cnt = Counter(key)
        sw = np.array([cnt[k] ** -alpha for k in key])
        for t in range(len(labels)):      # keep each class's total weight
            m = targets == t
            if m.any():
                sw[m] *= m.sum() / sw[m].sum()
    # the effective counts for the logit adjustment: class weight x (per-clip weights summed)
    eff = np.array([sw[targets == t].sum() for t in range(len(labels))]) * cw
    prior = eff / eff.sum()
    hidden, layers, dropout = variant.get("hidden", 128), variant.get("layers", 2), variant.get("dropout", 0.1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(c["arr"]["c0"].shape[1], hidden, layers, batch_first=True,
                                dropout=dropout if layers > 1 else 0)
            self.drop = nn.Dropout(variant.get("head_dropout", 0.0))
            self.head = nn.Linear(hidden, len(labels))

        def forward(self, x, lengths):
            h, _ = self.lstm(x)
            last = h[torch.arange(h.shape[0]), lengths - 1]
            return self.head(self.drop(last))

    net = Net()
    epochs, lr = variant.get("epochs", 8), variant.get("lr", 3e-3)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=variant.get("wd", 1e-4))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=lr * 0.02)
    ce = nn.CrossEntropyLoss(weight=torch.tensor(cw, dtype=torch.float32), label_smoothing=0.05, reduction="none")
    audio_prob, band_prob = variant.get("audio_prob", 0.15), variant.get("band_prob", 0.0)
    noise = variant.get("embedding_noise", 0.3)
    copies = c["aug_copies"]
    time_mask, feat_mask = variant.get("time_mask", 0), variant.get("feat_mask", 0)

    def feats(idx: int, neg: bool) -> np.ndarray:
        if neg:
            f = c["arr"][f"n{idx}"]
        else:
            u = rng.random()
            if u < band_prob and not rows[idx]["speaker"].startswith("fsdd-"):
                f = c["arr"][f"a{idx}_{copies - 1}"]
            elif u < band_prob + audio_prob:
                f = c["arr"][f"a{idx}_{int(rng.integers(0, copies - 1))}"]
            else:
                padded, n = c["arr"][f"c{idx}"], c["frames"][idx]
                f = padded[:max(1, n + int(rng.integers(0, padded.shape[0] - n + 1)))]
        f = f + (noise * rng.standard_normal(f.shape)).astype(np.float32) if noise else f
        return masked(f) if time_mask or feat_mask else f

    def masked(f: np.ndarray) -> np.ndarray:
        """SpecAugment-style masks (Park et al. 2019) on the embedding: up to ``time_mask`` frames and up to
        ``feat_mask`` of the values set to the clip's mean."""
        f, mean = f.copy(), f.mean(0)
        w = int(rng.integers(0, time_mask + 1)) if time_mask else 0
        if w and f.shape[0] > w + 1:
            t0 = int(rng.integers(0, f.shape[0] - w))
            f[t0:t0 + w] = mean
        w = int(rng.integers(0, feat_mask + 1)) if feat_mask else 0
        if w:
            d0 = int(rng.integers(0, f.shape[1] - w + 1))
            f[:, d0:d0 + w] = mean[d0:d0 + w]
        return f

    for ep in range(epochs):
        net.train()
        order = rng.permutation(len(items))
        for b in range(0, len(order), 32):
            bi = order[b:b + 32]
            x, lengths = collate([feats(*items[j]) for j in bi])
            y = torch.from_numpy(targets[bi])
            w = torch.tensor(sw[bi], dtype=torch.float32)
            logits = net(x, lengths)
            loss = (ce(logits, y) * w).sum() / (torch.tensor(cw, dtype=torch.float32)[y] * w).sum()
            if teachers:
                with torch.no_grad():
                    soft = torch.stack([torch.softmax(t(x, lengths) / kd_t, -1) for t in teachers]).mean(0)
                kd = -(soft * torch.log_softmax(logits / kd_t, -1)).sum(-1).mean() * kd_t ** 2
                loss = (1 - kd_w) * loss + kd_w * kd
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
        sched.step()
    net.eval()
    shift = bias_shift(prior, variant.get("tau", 1.0))

    # decode_frames k > 1: the mean log-probability over the last frame and the k - 1 after it (the clip's cached
    # 0.25 s of trailing silence), leaving out the first decode_skip of them
    k_dec, skip = variant.get("decode_frames", 1), variant.get("decode_skip", 0)

    def logp(idx: list[int]) -> np.ndarray:
        out = []
        with torch.no_grad():
            for b in range(0, len(idx), 256):
                ids = idx[b:b + 256]
                ends = [min(c["frames"][i] + k_dec - 1, c["arr"][f"c{i}"].shape[0]) for i in ids]
                x, lengths = collate([c["arr"][f"c{i}"][:e] for i, e in zip(ids, ends)])
                lp = torch.log_softmax(net.head(net.lstm(x)[0]), -1)
                starts = [min(c["frames"][i] - 1 + skip, e - 1) for i, e in zip(ids, ends)]
                out.append(np.stack([lp[j, s0:e].mean(0).numpy() for j, (s0, e) in enumerate(zip(starts, ends))])
                           + shift)
        return np.concatenate(out) if out else np.zeros((0, len(labels)))

    return {"test": logp(split["test"]), "other": logp(split["other"]), "net": net}


def run(args) -> int:
    import torch
    torch.set_num_threads(1)
    t0 = time.time()
    z = np.load(args.cache)
    c = json.loads(str(z["meta"]))
    c["arr"] = {k: z[k] for k in z.files if k != "meta"}
    rows = c["rows"]
    split_list = splits(rows)       # on the main set only: extra clips always train
    if args.extra_cache:            # e.g. synthetic voices: training-only clips
        ze = np.load(args.extra_cache)
        ce = json.loads(str(ze["meta"]))
        n0 = len(rows)
        for k in ze.files:
            if k[0] in "ca":
                head, rest = k[0], k[1:]
                i, _, copy = rest.partition("_")
                c["arr"][f"{head}{int(i) + n0}" + (f"_{copy}" if copy else "")] = ze[k]
        rows = c["rows"] = rows + ce["rows"]
        c["frames"] = c["frames"] + ce["frames"]
    model = "digits-en" if set(DIGITS) <= {r["label"] for r in rows} else "commands-en"
    shipped = json.loads((REPO / "assets/models" / model / "model.json").read_text())
    val_groups = set(shipped["training"]["config"]["val_groups"])
    variant = json.loads(args.variant_json) if args.variant_json else {}
    # the labels each split is scored in: its own set's (a combined model's other words count as _unknown_)
    for sp in split_list:
        sp["truth"] = [rows[i]["label"] for i in sp["test"]]
    if variant.get("relabel_from"):     # a combined vocabulary (e.g. the commands set's words): + its folds
        other = list(csv.DictReader(open(REPO / variant["relabel_from"], newline="")))
        rows, extra = relabel(rows, other)
        c["rows"], split_list = rows, split_list + extra
    seeds = [int(s) for s in args.seeds.split(",")]
    labels = labels_of(rows)
    res = {}
    names = args.splits.split(",") if args.splits else None
    for sp in split_list:
        if names and sp["name"] not in names:
            continue
        scored = group_decision(labels, set(sp["truth"]) | {"_unknown_"})

        y = sp["truth"]
        outs = [train_eval(c, sp, variant, s, val_groups - sp["exclude"]) for s in seeds]
        accs = [float(np.mean(np.array(scored(o["test"])) == y)) for o in outs]
        ens_pred = scored(np.mean([o["test"] for o in outs], 0))
        ens = float(np.mean(np.array(ens_pred) == y))
        rej = [float(np.mean(np.array(scored(o["other"])) == "_unknown_")) for o in outs if len(o["other"])]
        misses = [[rows[i]["path"], p] for i, p, t in zip(sp["test"], ens_pred, y) if p != t]
        res[sp["name"]] = {"acc": accs, "ensemble": ens, "reject": rej, "n": len(y), "ensemble_misses": misses}
        print(f"{args.name} {sp['name']}: " + " ".join(f"{a * 100:.1f}" for a in accs)
              + f"  ens {ens * 100:.1f}" + (f"  reject {np.mean(rej) * 100:.1f}" if rej else "")
              + f"  ({time.time() - t0:.0f} s)", flush=True)
    sc = [k for k in res if k.startswith("sc")]
    cmd = [k for k in res if k.startswith("cmd")]
    fs = [k for k in res if k not in sc + cmd]
    def pooled(keys, f):
        n = sum(res[k]["n"] for k in keys)
        return sum(f(res[k]) * res[k]["n"] for k in keys) / n * 100 if n else float("nan")
    line = (f"== {args.name} {json.dumps(variant)}: SC {pooled(sc, lambda r: np.mean(r['acc'])):.1f} "
            f"(ens {pooled(sc, lambda r: r['ensemble']):.1f})")
    if any(res[k]["reject"] for k in sc):
        line += f", other words rejected {np.mean([np.mean(res[k]['reject']) for k in sc]) * 100:.1f}"
    if fs:
        line += (f" | FSDD {np.mean([np.mean(res[k]['acc']) for k in fs]) * 100:.1f} "
                 f"(ens {np.mean([res[k]['ensemble'] for k in fs]) * 100:.1f})")
    if cmd:
        line += (f" | commands {pooled(cmd, lambda r: np.mean(r['acc'])):.1f} "
                 f"(ens {pooled(cmd, lambda r: r['ensemble']):.1f})")
    print(line + f" [{time.time() - t0:.0f} s]", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"variant": variant, "results": res}, indent=1))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("cache")
    a.add_argument("--data", required=True)
    a.add_argument("--cache", required=True)
    a.add_argument("--procs", type=int, default=2)
    a.add_argument("--negatives", type=int, default=800)
    a.add_argument("--only-prefix", default="", help="only the clips whose speaker group starts with this")
    b = sub.add_parser("run")
    b.add_argument("--cache", required=True)
    b.add_argument("--name", default="probe")
    b.add_argument("--variant-json", default="", help='e.g. \'{"speaker_balance": 0.5}\'')
    b.add_argument("--seeds", default="0")
    b.add_argument("--extra-cache", default="", help="a cache of clips that only ever train (--only-prefix tts-)")
    b.add_argument("--splits", default="", help="comma-separated split names (default all)")
    b.add_argument("--out", default="")
    args = ap.parse_args(argv)
    return cache(args) if args.cmd == "cache" else run(args)


if __name__ == "__main__":
    sys.exit(main())

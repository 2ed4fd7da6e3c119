"""Connected-digit training (``lstm-vault train-connected``): fine-tune a spoken-digit model with the CTC loss
on strings of 1–5 digit clips of one speaker joined without pauses (−20 … +60 ms gaps).

Training starts from the single-word model (same frontend, normalisation and LSTM; the head's rows carry over),
so it converges in minutes. The result is read by :class:`recognizers.decoders.ctc.ConnectedTranscriber`.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from recognizers.data import augment
from recognizers.data.connected_digits import DIGITS, DigitPool, features_of, finish_sequence, make_sequence
from recognizers.decoders.ctc import ctc_greedy
from recognizers.errors import DatasetError
from recognizers.frontends.log_mel import LogMel, LogMelConfig
from recognizers.metrics import align_counts
from recognizers.model_files import UNKNOWN_LABEL, load_model, save_model
from recognizers.training.fit import BestWeights, gradient_step

__all__ = ["ConnectedConfig", "evaluate_sequences", "train_connected"]


@dataclass
class ConnectedConfig:
    epochs: int = 20
    sequences_per_epoch: int = 2000
    val_sequences: int = 300
    batch_size: int = 16
    lr: float = 1e-3
    min_digits: int = 1
    max_digits: int = 5
    gap_ms: tuple[float, float] = (-20.0, 60.0)     # between digits: negative = overlapping (cross-faded)
    lead_s: tuple[float, float] = (0.1, 0.4)
    negatives: float = 0.1                          # share of sequences without speech (empty target)
    other_words: float = 0.1                        # share of sequences of 1-2 non-digit words (empty target)
    seed: int = 0
    threads: int = 0
    val_groups: list[str] | None = None             # None: the initial model's validation groups
    exclude_groups: list[str] | None = None


def _batch(seqs: list[tuple[np.ndarray, list[str]]], labels: list[str], pad: np.ndarray):
    lengths = [f.shape[0] for f, _ in seqs]
    T = max(lengths)
    x = np.tile(pad, (len(seqs), T, 1)).astype(np.float32)
    for b, (f, _) in enumerate(seqs):
        x[b, :f.shape[0]] = f
    targets = [labels.index(d) for _, ds in seqs for d in ds]
    target_lengths = [len(ds) for _, ds in seqs]
    return (torch.from_numpy(x), torch.tensor(targets, dtype=torch.long), torch.tensor(lengths),
            torch.tensor(target_lengths))


def evaluate_sequences(net, seqs: list[tuple[np.ndarray, list[str]]], labels: list[str], blank: int
                       ) -> dict[str, float]:
    """Greedy-decoded digit accuracy ((N - S - D - I) / N) and string accuracy over feature sequences."""
    n = s = d = i = exact = 0
    net.eval()
    with torch.inference_mode():
        for f, digits in seqs:
            logits, _, _ = net(torch.from_numpy(f)[None])
            hyp = [labels[c] for c, *_ in ctc_greedy(torch.softmax(logits[0], -1).numpy(), blank)]
            ds, dd, di = align_counts(digits, hyp)
            n, s, d, i = n + len(digits), s + ds, d + dd, i + di
            exact += hyp == digits
    return {"digit_accuracy": (n - s - d - i) / max(1, n), "string_accuracy": exact / max(1, len(seqs)),
            "substitutions": s, "deletions": d, "insertions": i, "digits": n, "strings": len(seqs)}


def train_connected(data_dir: str | Path, init_model: str | Path, out_dir: str | Path | None,
                    cfg: ConnectedConfig, log: Callable[[str], None] = print) -> dict:
    """Fine-tune the single-word digit model ``init_model`` into a CTC model of connected digits."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    base = load_model(init_model, task="speech")
    labels = list(base.labels)
    missing = [d for d in DIGITS if d not in labels]
    if missing or UNKNOWN_LABEL not in labels:
        raise DatasetError(f"{init_model}: needs the labels 0..9 and {UNKNOWN_LABEL} (missing {missing})")
    blank = labels.index(UNKNOWN_LABEL)
    fe_cfg = LogMelConfig.from_json(base.frontend_config)
    sr = fe_cfg.sample_rate_hz
    logmel = LogMel(fe_cfg)
    base_cfg = (base.meta.get("training") or {}).get("config") or {}
    val_groups = set(cfg.val_groups if cfg.val_groups is not None else base_cfg.get("val_groups") or [])
    exclude = set(cfg.exclude_groups or [])
    t0 = time.time()
    train_pool = DigitPool.from_folder(data_dir, sr, exclude=val_groups | exclude, other_words=True)
    others = train_pool.others()
    val_pool = DigitPool.from_folder(data_dir, sr, groups=val_groups) if val_groups else DigitPool()
    if not train_pool.speakers:
        raise DatasetError(f"{data_dir}: no digit clips (labels 0..9 or zero..nine) to train on")
    log(f"digit clips: {train_pool.n_clips()} of {len(train_pool.speakers)} training speakers "
        f"(+ {len(others)} clips of other words), "
        f"{val_pool.n_clips()} of {len(val_pool.speakers)} validation speakers ({time.time() - t0:.0f} s)")
    vrng = np.random.default_rng(10_000 + cfg.seed)
    val = [make_sequence(val_pool, val_pool.speakers, vrng, sr, cfg, augmented=False)
           for _ in range(cfg.val_sequences)] if val_pool.speakers else []
    val = [(features_of(logmel, x, None), ds) for x, ds in val]
    net = base.network
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    ctc = torch.nn.CTCLoss(blank=blank, zero_infinity=True)
    pad = net.feature_mean.numpy()
    best, history = BestWeights(), []
    for epoch in range(1, cfg.epochs + 1):
        t_ep = time.time()
        net.train()
        tot, nb = 0.0, 0
        for _ in range(math.ceil(cfg.sequences_per_epoch / cfg.batch_size)):
            seqs = []
            for _ in range(cfg.batch_size):
                u = rng.random()
                if u < cfg.negatives:
                    x, ds = finish_sequence(augment.synthetic_non_speech(rng, sr), rng, sr, True), []
                elif u < cfg.negatives + cfg.other_words and others:
                    words = [others[int(rng.integers(len(others)))] for _ in range(int(rng.integers(1, 3)))]
                    gap = np.zeros(int(rng.uniform(0.0, 0.3) * sr), np.float32)
                    lead = np.zeros(int(rng.uniform(*cfg.lead_s) * sr), np.float32)
                    x = np.concatenate([lead] + [y for w in words for y in (w, gap)] + [lead])
                    x, ds = finish_sequence(x, rng, sr, True), []
                else:
                    x, ds = make_sequence(train_pool, train_pool.speakers, rng, sr, cfg, augmented=True)
                seqs.append((features_of(logmel, x, rng), ds))
            x, targets, in_len, tgt_len = _batch(seqs, labels, pad)
            logits, _, _ = net(x)
            loss = ctc(torch.log_softmax(logits, -1).transpose(0, 1), targets, in_len, tgt_len)
            gradient_step(net, opt, loss)
            tot, nb = tot + loss.item(), nb + 1
        metrics = evaluate_sequences(net, val, labels, blank) if val else {"digit_accuracy": -tot / nb}
        history.append({"epoch": epoch, "loss": tot / nb, **metrics, "seconds": round(time.time() - t_ep, 1)})
        log(f"epoch {epoch}/{cfg.epochs}: CTC loss {tot / nb:.3f}, validation digit accuracy "
            f"{metrics['digit_accuracy']:.1%}, strings {metrics.get('string_accuracy', 0):.1%} "
            f"({time.time() - t_ep:.0f} s)")
        best.offer(net, metrics["digit_accuracy"])
    best.restore(net)
    net.eval()
    final = evaluate_sequences(net, val, labels, blank) if val else {}
    result = {"validation": final, "history": history, "seconds": round(time.time() - t0)}
    if out_dir is not None:
        meta = {k: base.meta[k] for k in ("task", "labels", "unknown_label", "label_aliases", "frontend")
                if k in base.meta}
        meta.update(name=Path(out_dir).name, decoder={"type": "ctc", "blank": UNKNOWN_LABEL,
                                                      "reject_threshold": 0.5},
                    training={"init_model": str(init_model), "data": str(data_dir),
                              "config": {**asdict(cfg), "val_groups": sorted(val_groups)},
                              "n_train_clips": train_pool.n_clips(), "n_other_word_clips": len(others),
                              "train_speakers": len(train_pool.speakers),
                              "history": history, "seconds": result["seconds"]},
                    metrics={"validation_digit_accuracy": final.get("digit_accuracy"),
                             "validation_string_accuracy": final.get("string_accuracy")},
                    created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        save_model(out_dir, net, meta)
        result["model_dir"] = str(out_dir)
    return result

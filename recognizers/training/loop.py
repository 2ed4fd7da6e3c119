"""Training with early stopping on a speaker/session-grouped validation split.

Task-specific parts (reading files, augmentation, features, synthetic negatives) come from a
``TaskData`` object (:class:`recognizers.data.speech.SpeechTaskData`, the gesture equivalent), so the loop
below is shared by both modalities, the CLI and the app.
"""
from __future__ import annotations

import math
import os
import platform
import random
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from recognizers import metrics
from recognizers.data import augment
from recognizers.data.datasets import Example, group_split, scan_dataset, summarize
from recognizers.errors import DatasetError, VaultError
from recognizers.model_files import UNKNOWN_LABEL, negatives_label, save_model
from recognizers.nn.classifier import Architecture, SequenceClassifier
from recognizers.training import distributed
from recognizers.training.fit import BestWeights, gradient_step
from recognizers.training.tasks import TaskData, augmented_features


def _decoder_meta(task: TaskData, config: "TrainConfig") -> dict:
    decoder = {"reject_threshold": config.reject_threshold}
    if task.task == "speech":   # clip classification starts and ends on near-silence, as training clips do
        from recognizers.recognizer import DEFAULT_LEAD_SILENCE_S, DEFAULT_TAIL_SILENCE_S
        decoder["lead_silence_s"] = DEFAULT_LEAD_SILENCE_S
        decoder["tail_silence_s"] = DEFAULT_TAIL_SILENCE_S
    return decoder


@dataclass
class TrainConfig:
    hidden_size: int = 128
    num_layers: int = 2
    dropout: float = 0.1
    epochs: int = 60
    patience: int = 12
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    device: str = "auto"
    val_fraction: float = 0.2
    val_groups: list[str] | None = None
    exclude_groups: list[str] | None = None   # left out entirely (e.g. the test speaker of a LOSO fold)
    negatives: float = 0.15          # synthetic non-target examples, as a fraction of the training set
    unknown_label: str = UNKNOWN_LABEL
    reject_threshold: float = 0.0
    label_aliases: dict[str, str] = field(default_factory=dict)
    threads: int = 0                 # 0: PyTorch's default
    name: str = ""
    workers: int = 0                 # > 0: read and featurise files on demand in this many worker processes
    feature_cache: str | None = None  # with workers: folder of cached clean features (None: default, "off")
    class_weights: str = "none"      # "sqrt": weigh each class's loss by 1/sqrt(its share of the training clips)
    logit_adjust: float = 0.0        # > 0: remove tau x the learned label prior from the head (logit_adjust.py)


@dataclass
class EpochReport:
    epoch: int
    epochs: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    best_val_acc: float
    seconds: float
    eta_s: float
    validated: bool = True          # False: no validation set (--val-fraction 0); val_* repeat training figures


@dataclass
class TrainResult:
    model_dir: Path | None
    best_val_acc: float
    epochs_run: int
    seconds: float
    validation: dict
    history: list[EpochReport]
    cancelled: bool = False


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise VaultError("--device cuda: no CUDA GPU is available here (use --device cpu or auto)")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise VaultError("--device mps: Apple MPS is not available here")
    if name not in ("cpu", "cuda", "mps") and not name.startswith("cuda:"):
        raise VaultError(f"unknown device {name!r} (use auto, cpu, cuda or mps)")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _batches(items: list, batch_size: int, rng: np.random.Generator | None):
    order = np.arange(len(items)) if rng is None else rng.permutation(len(items))
    for s in range(0, len(order), batch_size):
        yield [items[j] for j in order[s:s + batch_size]]


def collate(feats: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-padded batch ``(batch, time, features)`` of feature sequences and their lengths (at least 1)."""
    lengths = torch.tensor([max(1, f.shape[0]) for f in feats])
    x = torch.zeros(len(feats), int(lengths.max()), feats[0].shape[1])
    for j, f in enumerate(feats):
        if f.shape[0]:
            x[j, : f.shape[0]] = torch.from_numpy(f)
    return x, lengths


def last_step(logits: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each sequence's output at its own last frame: ``(batch, classes)``."""
    idx = (lengths - 1).to(logits.device).view(-1, 1, 1).expand(-1, 1, logits.shape[-1])
    return logits.gather(1, idx).squeeze(1)


def format_duration(s: float) -> str:
    """``"4m05s"`` or ``"1h02m"`` for ``s`` seconds."""
    s = max(0, int(s))
    return f"{s // 3600}h{s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class TerminalProgress:
    """Epoch lines with loss, accuracy and ETA on stderr (a live bar within the epoch on a terminal)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def batch(self, epoch: int, done: int, total: int) -> None:
        if self.tty:
            self.stream.write(f"\r  epoch {epoch}: {done}/{total} batches")
            self.stream.flush()

    def epoch(self, r: EpochReport) -> None:
        if self.tty:
            self.stream.write("\r")
        val = (f"val loss {r.val_loss:.3f}  val {r.val_acc * 100:5.1f}%  best {r.best_val_acc * 100:5.1f}%  "
               if r.validated else "no validation set  ")
        self.stream.write(
            f"epoch {r.epoch:3d}/{r.epochs}  loss {r.train_loss:.3f}  train {r.train_acc * 100:5.1f}%  "
            f"{val}{r.seconds:5.1f}s/epoch  ETA \u2264{format_duration(r.eta_s)}\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def load_examples(task: TaskData, examples: list[Example], log: Callable[[str], None]
                  ) -> tuple[list[Example], list[Any], list[str]]:
    """Decode every example once; unreadable files, and files longer than ``TRAIN_MAX_SECONDS`` (from the
    header, before decoding), are skipped and reported, not fatal."""
    from recognizers.data.durations import check_training_clip
    kept, raws, errors = [], [], []
    for e in examples:
        try:
            check_training_clip(e.path, task.task)
            raws.append(task.load(e))
            kept.append(e)
        except VaultError as exc:
            errors.append(str(exc))
    if errors:
        log(f"skipped {len(errors)} unreadable files, e.g. {errors[0]}")
    return kept, raws, errors


def _feature_cache(config: TrainConfig, task: TaskData):
    from recognizers.data.feature_cache import FeatureCache, default_cache_dir
    if config.feature_cache == "off":
        return None
    return FeatureCache(config.feature_cache or default_cache_dir(), task.task, task.frontend_json)


def _shard_batches(items: list, batch_size: int, epoch: int, seed: int, ctx: distributed.DistContext):
    """This process's batches of ``epoch`` under torchrun (every process gets the same number)."""
    order = distributed.shard_indices(len(items), epoch, seed, ctx)
    for s in range(0, len(order), batch_size):
        yield [items[j] for j in order[s:s + batch_size]]


def _class_weights(config: TrainConfig, targets: list[int], n_classes: int, device) -> torch.Tensor | None:
    """None (every clip counts the same), or with ``class_weights="sqrt"`` each class weighted by
    ``sqrt(mean count / its count)``: a digit model with fifteen times more ``_unknown_`` clips than clips of each
    digit otherwise learns to call a new voice's digits ``_unknown_`` (docs/unseen-speakers.md)."""
    if config.class_weights in ("", "none"):
        return None
    if config.class_weights != "sqrt":
        raise ValueError(f"class_weights {config.class_weights!r}: 'none' or 'sqrt'")
    counts = np.bincount(np.asarray(targets, dtype=np.int64), minlength=n_classes).astype(np.float64)
    return torch.tensor(sqrt_class_weights(counts), dtype=torch.float32, device=device)


def without_excluded(examples: list[Example], config: TrainConfig) -> list[Example]:
    """``examples`` without the groups ``config.exclude_groups`` leaves out (e.g. a LOSO fold's speaker)."""
    excluded = set(config.exclude_groups or [])
    return [e for e in examples if e.group not in excluded]


def training_split(examples: list[Example], config: TrainConfig) -> tuple[list[Example], list[Example], str]:
    """``(train, validation, description)``: grouped by speaker, or, with ``val_fraction <= 0`` and no
    validation groups (tiny data sets), every file trains for a fixed number of epochs."""
    if config.val_fraction <= 0 and not config.val_groups:
        return (list(examples), [],
                f"no validation: all files train for {config.epochs} epochs and the last epoch is kept")
    return group_split(examples, config.val_fraction, config.seed, config.val_groups)


def sqrt_class_weights(counts: np.ndarray) -> np.ndarray:
    """``sqrt(mean count / count)`` per class (a class with no clip counts as one)."""
    counts = np.asarray(counts, dtype=np.float64)
    return np.sqrt(counts.sum() / len(counts) / np.maximum(counts, 1.0))


def train(task: TaskData, data_dir: str | os.PathLike, out_dir: str | os.PathLike | None,
          config: TrainConfig, on_epoch: Callable[[EpochReport], None] | None = None,
          on_batch: Callable[[int, int, int], None] | None = None, log: Callable[[str], None] | None = None,
          cancel: threading.Event | None = None, command: str = "") -> TrainResult:
    """Train a classifier on ``data_dir`` and save it to ``out_dir`` (atomically; nothing on failure).

    Under ``torchrun`` (``WORLD_SIZE`` > 1) every process trains on its shard of each epoch with
    DistributedDataParallel; ``config.batch_size`` stays the global batch (split across processes), and
    only rank 0 evaluates, logs, calls back and writes ``out_dir``; the others return ``model_dir=None``.
    """
    ctx = distributed.context_from_env()
    if not ctx.enabled:
        return _train_process(task, data_dir, out_dir, config, on_epoch, on_batch, log, cancel, command)
    try:
        result = _train_process(task, data_dir, out_dir, config, on_epoch, on_batch, log, cancel, command)
    except BaseException:
        distributed.abort(ctx)
        raise
    distributed.stop(ctx)
    return result


def _labelled_items(task: TaskData, config: TrainConfig, labels: list[str], negative: str, train_ex: list[Example],
                    train_raw: list, val_ex: list[Example], val_raw: list,
                    rng: np.random.Generator) -> tuple[list, list, int]:
    """``(raw, label index)`` pairs to train and validate on, with synthetic negatives (label ``negative``:
    :func:`negatives_label`) added as ``config.negatives`` of each; returns them and the number of training
    negatives."""
    unk = labels.index(negative)
    n_neg = int(round(config.negatives * len(train_ex)))
    train_items = [(raw, labels.index(e.label)) for e, raw in zip(train_ex, train_raw)]
    train_items += [(task.synthetic_negative(rng), unk) for _ in range(n_neg)]
    val_items = [(raw, labels.index(e.label)) for e, raw in zip(val_ex, val_raw)]
    val_rng = np.random.default_rng(config.seed + 7)  # one generator: distinct negatives, same every run
    val_items += [(task.synthetic_negative(val_rng), unk) for _ in range(int(round(config.negatives * len(val_ex))))]
    return train_items, val_items, n_neg


def _normalisation(task: TaskData, train_items: list) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-feature mean and standard deviation of the un-augmented training features, and the feature count."""
    clean = [task.features(raw) for raw, _ in train_items]
    allf = np.concatenate([f for f in clean if f.shape[0]], 0)
    mean, std = allf.mean(0).astype(np.float32), allf.std(0).astype(np.float32) + 1e-3
    return mean, std, int(allf.shape[1])


def _train_process(task: TaskData, data_dir: str | os.PathLike, out_dir: str | os.PathLike | None,
                   config: TrainConfig, on_epoch: Callable[[EpochReport], None] | None,
                   on_batch: Callable[[int, int, int], None] | None, log: Callable[[str], None] | None,
                   cancel: threading.Event | None, command: str) -> TrainResult:
    log = log or (lambda s: None)
    t_start = time.time()
    if config.logit_adjust < 0 or not np.isfinite(config.logit_adjust):
        raise VaultError(f"--logit-adjust {config.logit_adjust}: must be 0 (off) or a positive number")
    seed_everything(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    dctx, device = distributed.start(device)
    if not dctx.is_main:   # only rank 0 logs, reports progress and writes the model
        log, on_epoch, on_batch, out_dir = (lambda s: None), None, None, None
    examples = scan_dataset(data_dir, task.extensions)
    if config.exclude_groups:
        examples = without_excluded(examples, config)
        if not examples:
            raise DatasetError(f"{data_dir}: nothing left after excluding {sorted(set(config.exclude_groups))}")
    labels = sorted({e.label for e in examples} | {config.unknown_label})
    if len(labels) < 2:
        raise DatasetError(f"{data_dir}: need at least one label besides {config.unknown_label}")
    negative = negatives_label(labels, config.unknown_label)      # what the synthetic negatives train as
    no_validation = config.val_fraction <= 0 and not config.val_groups
    if no_validation and config.workers > 0:
        raise DatasetError("training without validation (--val-fraction 0) needs --workers 0")
    train_ex, val_ex, split_desc = training_split(examples, config)
    log(f"{len(examples)} files, {len(labels)} labels; split {split_desc}: "
        f"{len(train_ex)} train / {len(val_ex)} validation; device {device}")
    clips = None
    if config.workers > 0:   # stream from disk: only file lists in memory, features made by worker processes
        from recognizers.training.clip_dataset import prepare_clips
        clips = prepare_clips(task, train_ex, val_ex, labels, negative, config.negatives, config.seed,
                              config.batch_size, config.workers, _feature_cache(config, task), dctx, log)
        train_ex, val_ex, train_err, val_err = clips.train_ex, clips.val_ex, clips.train_err, clips.val_err
        train_items, val_items, n_neg, val_feats = clips.train_items, clips.val_items, clips.n_neg, clips.val_feats
        mean, std, n_features = clips.mean, clips.std, clips.n_features
    else:
        train_ex, train_raw, train_err = load_examples(task, train_ex, log)
        val_ex, val_raw, val_err = load_examples(task, val_ex, log)
        if not train_ex:
            raise DatasetError(f"{data_dir}: no readable training files")
        rng = np.random.default_rng(config.seed)
        train_items, val_items, n_neg = _labelled_items(task, config, labels, negative, train_ex, train_raw,
                                                        val_ex, val_raw, rng)
        mean, std, n_features = _normalisation(task, train_items)
        val_feats = [task.features(raw) for raw, _ in val_items] if dctx.is_main else []
    arch = Architecture(input_size=n_features, hidden_size=config.hidden_size,
                        num_layers=config.num_layers, num_classes=len(labels), dropout=config.dropout)
    net = SequenceClassifier(arch, mean, std).to(device)
    model = distributed.wrap_model(net, dctx, device)   # DDP under torchrun, else net itself
    opt = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs, eta_min=config.lr * 0.02)
    loss_fn = nn.CrossEntropyLoss(weight=_class_weights(config, [y for _, y in train_items], len(labels), device),
                                  label_smoothing=0.05)
    history: list[EpochReport] = []
    best = BestWeights()
    epoch_times: list[float] = []
    cancelled = False

    def evaluate_split(feats, targets):
        net.eval()
        preds, loss_sum = [], 0.0
        with torch.no_grad():
            for idx in _batches(list(range(len(feats))), 128, None):
                x, lengths = collate([feats[j] for j in idx])
                logits, _, _ = net(x.to(device))
                last = last_step(logits, lengths)
                y = torch.tensor([targets[j] for j in idx], device=device)
                loss_sum += float(loss_fn(last, y)) * len(idx)
                preds += last.argmax(-1).cpu().tolist()
        n = max(1, len(feats))
        return loss_sum / n, preds

    val_targets = [y for _, y in val_items]
    if dctx.enabled:
        local_batch = max(1, math.ceil(config.batch_size / dctx.world_size))
        rng = np.random.default_rng([config.seed, 1 + dctx.rank])   # each process its own augmentation
        log(f"distributed: {dctx.world_size} processes, {local_batch} examples per process per batch")
    for epoch in range(1, config.epochs + 1):
        t0 = time.time()
        model.train()
        tot_loss, tot_ok, tot_n = 0.0, 0, 0
        if clips is not None:
            batches, n_batches = clips.epoch_batches(epoch), clips.n_batches
        elif dctx.enabled:
            batches = _shard_batches(train_items, local_batch, epoch, config.seed, dctx)
            n_batches = math.ceil(math.ceil(len(train_items) / dctx.world_size) / local_batch)
        else:
            batches = _batches(train_items, config.batch_size, rng)
            n_batches = math.ceil(len(train_items) / config.batch_size)
        for b, batch in enumerate(batches):
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            if clips is None:
                feats = [augmented_features(task, raw, rng, labels[t]) for raw, t in batch]
                if task.spec_augment:
                    feats = [augment.spec_augment(f, rng, mean) for f in feats]
            else:   # augmented and featurised by the DataLoader's worker processes
                feats = [f for f, _ in batch]
            x, lengths = collate(feats)
            y = torch.tensor([t for _, t in batch], device=device)
            logits, _, _ = model(x.to(device))
            last = last_step(logits, lengths)
            loss = loss_fn(last, y)
            gradient_step(net, opt, loss)
            tot_loss += loss.item() * len(batch)
            tot_ok += int((last.argmax(-1) == y).sum())
            tot_n += len(batch)
            if on_batch:
                on_batch(epoch, b + 1, n_batches)
        if cancelled:
            break
        sched.step()
        if dctx.enabled:
            tot_loss, tot_ok, tot_n = distributed.all_reduce_sums([tot_loss, tot_ok, tot_n], dctx, device)
        if val_items and dctx.is_main:
            val_loss, val_pred = evaluate_split(val_feats, val_targets)
            val_acc = float(np.mean(np.asarray(val_pred) == np.asarray(val_targets)))
        else:
            val_loss, val_acc = tot_loss / max(1, tot_n), tot_ok / max(1, tot_n)
        best.offer(net, val_acc, val_loss, always=no_validation)
        epoch_times.append(time.time() - t0)
        remaining = config.epochs - epoch  # an upper bound: early stopping may end sooner
        rep = EpochReport(epoch, config.epochs, tot_loss / max(1, tot_n), tot_ok / max(1, tot_n),
                          val_loss, val_acc, best.score, epoch_times[-1], remaining * float(np.median(epoch_times)),
                          validated=not no_validation)
        history.append(rep)
        if on_epoch:
            on_epoch(rep)
        if distributed.broadcast_flag(best.bad_epochs >= config.patience, dctx, device):   # rank 0 decides
            log(f"early stop: no validation improvement for {config.patience} epochs")
            break
    if not dctx.is_main:   # rank 0 evaluates the best epoch and saves it
        return TrainResult(None, 0.0, len(history), time.time() - t_start, {}, history, cancelled)
    if best.state is None:
        return TrainResult(None, 0.0, len(history), time.time() - t_start, {}, history, cancelled=True)
    best.restore(net)
    net.eval()
    train_per_label = {lab: 0 for lab in labels}
    for _, y in train_items:
        train_per_label[labels[y]] += 1
    adjustment = None
    if config.logit_adjust:
        from recognizers.training.logit_adjust import adjust_head
        adjustment = adjust_head(net, {"labels": labels, "training": {"config": asdict(config)}}, train_per_label,
                                 config.logit_adjust)
        log(f"logit adjustment (tau {config.logit_adjust}): head bias shifted by "
            + ", ".join(f"{k} {v:+.2f}" for k, v in adjustment["bias_shift"].items()))
    _, val_pred = evaluate_split(val_feats, val_targets)
    validation = metrics.report(val_targets, val_pred, labels)
    validation["split"] = split_desc
    seconds = time.time() - t_start
    model_dir = None
    if out_dir is not None and not cancelled:
        meta = {
            "name": config.name or Path(out_dir).name,
            "task": task.task,
            "labels": labels,
            "unknown_label": config.unknown_label,
            "label_aliases": config.label_aliases,
            "frontend": task.frontend_json,
            "decoder": _decoder_meta(task, config),
            "training": {
                "data": str(data_dir), "data_summary": summarize(examples), "split": split_desc,
                "n_train": len(train_ex), "n_validation": len(val_ex), "synthetic_negatives": n_neg,
                "negatives_label": negative,
                "train_per_label": train_per_label,
                "unreadable_files": len(train_err) + len(val_err),
                "config": {k: v for k, v in asdict(config).items()}, "epochs_run": len(history),
                "seconds": round(seconds, 1), "device": str(device), "command": command,
                "torch": torch.__version__, "python": platform.python_version(),
                "history": [asdict(h) for h in history],
            },
            "metrics": {"validation_accuracy": validation["accuracy"] if val_ex else None,
                        "validation_per_class": validation["per_class_accuracy"],
                        "validation_confusion": validation["confusion"]},
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        if adjustment is not None:
            meta["training"]["logit_adjustment"] = adjustment
        if dctx.enabled:
            meta["training"]["processes"] = dctx.world_size
        model_dir = save_model(out_dir, net.cpu(), meta)
    return TrainResult(model_dir, best.score, len(history), seconds, validation, history, cancelled)

"""Integrated gradients: which input frames and features, and which LSTM units, made the network say what it said.

The explained number is the decided class's **logit at the decision frame**. Clip classification
(:class:`~recognizers.recognizer.Recognizer`, ``predict``) decides on the last frame of the clip, lead-in and
tail of silence included, so the decision frame is the last frame of the features the network saw; the app
explains a transcript event by running the same clip classification over that event's span.

Attribution to the input (Sundararajan et al. 2017): ``(x - x0) * mean over alpha of d logit / dx`` at
``x0 + alpha (x - x0)``, the mean taken by the trapezoid rule over ``steps + 1`` points of the straight path,
all points in one batch. Completeness holds up to the quadrature error: ``attribution.sum()`` equals
``logit - logit_baseline``; :func:`explain_features` doubles the steps until the gap is under
``TARGET_COMPLETENESS`` (or ``MAX_STEPS`` is reached) and reports the gap it reached.

Baselines (``x0``, in the network's normalised input space):
- speech: the features of **digital silence** (all-zero samples, i.e. every mel band at the log floor) of the
  same length as the clip with its lead-in and tail;
- gestures: the features of **no hand in view** (every landmark missing) of the same length.

Per-unit attribution ``layer{k}_unit_attribution (time, units)`` is **gradient x activation** on the hidden state
at the real input: ``h_k(t) * d logit / d h_k(t)``, where the derivative is the total one through every later
step and layer (back-propagation through time). It shows which units, when, the decision was sensitive to; unlike
the input attribution it does not sum to the logit difference (an ``h_k(t)`` also carries earlier steps' effect).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from recognizers.errors import VaultError
from recognizers.model_files import LoadedModel
from recognizers.recognizer import Recognizer

DEFAULT_STEPS = 64
MIN_STEPS, MAX_STEPS = 4, 1024
TARGET_COMPLETENESS = 0.005     # relative gap at which the step doubling stops (the promise is 2 %)
BATCH_POINTS = 64               # path points per forward/backward pass (memory: points x time x hidden)


@dataclass
class Explanation:
    """Everything ``explain`` writes; arrays are ``(time, features)``, ``(time, classes)`` or ``(time, units)``."""

    input: np.ndarray
    baseline: np.ndarray
    attribution: np.ndarray
    target: int
    frame: int
    logit: float
    logit_baseline: float
    labels: list[str]
    probabilities: np.ndarray
    unit_attribution: list[np.ndarray]
    steps: int
    lead_in_frames: int
    frames_per_second: float

    @property
    def label(self) -> str:
        return self.labels[self.target]

    @property
    def completeness_error(self) -> float:
        """``|sum(attribution) - (logit - logit_baseline)| / |logit - logit_baseline|``."""
        delta = self.logit - self.logit_baseline
        return abs(float(self.attribution.sum()) - delta) / max(abs(delta), 1e-12)

    def top_units(self, k: int = 8) -> list[tuple[int, int, float]]:
        """The ``k`` (layer, unit, score) with the largest summed ``|gradient x activation|`` over time."""
        rows = [(layer, u, float(s)) for layer, a in enumerate(self.unit_attribution)
                for u, s in enumerate(np.abs(a).sum(0))]
        return sorted(rows, key=lambda r: -r[2])[:k]

    def to_npz_dict(self) -> dict[str, Any]:
        out = {"input": self.input, "baseline": self.baseline, "attribution": self.attribution,
               "target": np.int64(self.target), "frame": np.int64(self.frame),
               "logit": np.float64(self.logit), "logit_baseline": np.float64(self.logit_baseline),
               "labels": np.asarray(self.labels), "probabilities": self.probabilities,
               "steps": np.int64(self.steps), "completeness_error": np.float64(self.completeness_error),
               "lead_in_frames": np.int64(self.lead_in_frames),
               "frames_per_second": np.float64(self.frames_per_second)}
        for k, a in enumerate(self.unit_attribution):
            out[f"layer{k}_unit_attribution"] = a
        return out


def check_steps(steps: int) -> int:
    if not isinstance(steps, int) or isinstance(steps, bool) or not MIN_STEPS <= steps <= MAX_STEPS:
        raise VaultError(f"--steps {steps!r}: use a whole number from {MIN_STEPS} to {MAX_STEPS}")
    return steps


def _refuse_ctc(model: LoadedModel) -> None:
    from recognizers.decoders.ctc import is_ctc_model
    if is_ctc_model(model):
        raise VaultError(f"{model.path}: a connected-digit (CTC) model emits a string, not one decision per clip; "
                         "explain works on clip classifiers (digits-en, gestures-arman6)")


def baseline_raw(task: str, raw: Any) -> Any:
    """The reference input of the same length: digital silence for speech, no hand in view for gestures."""
    if task == "speech":
        return np.zeros_like(np.asarray(raw, np.float32))
    if task == "gesture":
        return np.full(np.shape(raw), np.nan, np.float32)
    raise VaultError(f"no explanation baseline for {task} models")


def _path_gradients(net, x: torch.Tensor, x0: torch.Tensor, target: int, frame: int, steps: int
                    ) -> torch.Tensor:
    """Trapezoid-weighted sum over the path of d logit / dx, ``(time, features)``."""
    alphas = torch.linspace(0.0, 1.0, steps + 1, dtype=x.dtype)
    weights = torch.full((steps + 1,), 1.0 / steps, dtype=x.dtype)
    weights[0] = weights[-1] = 0.5 / steps
    total = torch.zeros_like(x)
    for lo in range(0, steps + 1, BATCH_POINTS):
        a = alphas[lo:lo + BATCH_POINTS].view(-1, 1, 1)
        points = (x0 + a * (x - x0)).detach().requires_grad_(True)
        logits, _, _ = net(points, normalized=True)
        (grad,) = torch.autograd.grad(logits[:, frame, target].sum(), points)
        total += (grad * weights[lo:lo + BATCH_POINTS].view(-1, 1, 1)).sum(0)
    return total


def _unit_gradient_x_activation(net, x: torch.Tensor, target: int, frame: int) -> list[np.ndarray]:
    """``h_k(t) * d logit / d h_k(t)`` per layer, stepping the cell equations so that every ``h_k(t)`` is a node
    of the graph (the fused ``nn.LSTM`` hides them); ``(time, units)`` each."""
    hs_per_layer: list[list[torch.Tensor]] = []
    layer_in = x.detach().clone().requires_grad_(True)[None]
    for lstm in net.lstm.layers:
        w_ih, w_hh = lstm.weight_ih_l0, lstm.weight_hh_l0
        b = lstm.bias_ih_l0 + lstm.bias_hh_l0
        n = lstm.hidden_size
        h = torch.zeros(1, n, dtype=x.dtype)
        c = torch.zeros(1, n, dtype=x.dtype)
        pre_in = layer_in @ w_ih.T + b
        hs = []
        for t in range(layer_in.shape[1]):
            z = pre_in[:, t] + h @ w_hh.T
            i, f, g, o = torch.sigmoid(z[:, :n]), torch.sigmoid(z[:, n:2 * n]), torch.tanh(z[:, 2 * n:3 * n]), \
                torch.sigmoid(z[:, 3 * n:])
            c = f * c + i * g
            h = o * torch.tanh(c)
            h.retain_grad()
            hs.append(h)
        hs_per_layer.append(hs)
        layer_in = torch.stack(hs, 1)
    logit = net.head(layer_in[0, frame])[target]
    logit.backward()
    out = []
    for hs in hs_per_layer:
        h = torch.cat(hs, 0)
        g = torch.cat([hh.grad if hh.grad is not None else torch.zeros_like(hh) for hh in hs], 0)
        out.append((h * g).detach().numpy().astype(np.float32))
    return out


def explain_features(model: LoadedModel, features: np.ndarray, baseline_features: np.ndarray,
                     label: str | None = None, steps: int = DEFAULT_STEPS, lead_in_frames: int = 0) -> Explanation:
    """Explain the clip decision on raw ``features (time, features)`` (before normalisation, lead-in and tail
    included)."""
    _refuse_ctc(model)
    check_steps(steps)
    if features.shape[0] == 0:
        raise VaultError("the input is too short to give a single feature frame; nothing to explain")
    if baseline_features.shape != features.shape:
        raise ValueError(f"baseline {baseline_features.shape} and input {features.shape} differ in shape")
    rec = Recognizer(model)
    net = model.network
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            x = net.normalize(torch.from_numpy(np.ascontiguousarray(features, np.float32)).double()
                              .to(net.feature_mean.device))
            x0 = net.normalize(torch.from_numpy(np.ascontiguousarray(baseline_features, np.float32)).double()
                               .to(net.feature_mean.device))
        # float64 for the explanation: the completeness check should measure the quadrature, not rounding.
        net64 = _double_copy(net)
        frame = features.shape[0] - 1       # clip classification decides on the last frame (Recognizer)
        with torch.no_grad():
            logits, _, _ = net64(torch.stack([x, x0]), normalized=True)
        probs = torch.softmax(logits[0], -1).numpy()
        if label is None:
            target = model.labels.index(rec.decide(probs[frame].astype(np.float32)).label)
        elif label in model.labels:
            target = model.labels.index(label)
        else:
            raise VaultError(f"--label {label!r} is not one of the model's labels: {', '.join(model.labels)}")
        logit, logit0 = float(logits[0, frame, target]), float(logits[1, frame, target])
        delta = logit - logit0
        while True:
            attribution = ((x - x0) * _path_gradients(net64, x, x0, target, frame, steps)).numpy()
            gap = abs(float(attribution.sum()) - delta) / max(abs(delta), 1e-12)
            if gap <= TARGET_COMPLETENESS or steps * 2 > MAX_STEPS:
                break
            steps *= 2
        units = _unit_gradient_x_activation(net64, x, target, frame)
    finally:
        net.train(was_training)
    from recognizers.frontends.registry import frontend_config
    fps = float(getattr(frontend_config(model.frontend_config), "frames_per_second", 0.0) or 100.0)
    return Explanation(input=x.numpy().astype(np.float32), baseline=x0.numpy().astype(np.float32),
                       attribution=attribution.astype(np.float32), target=target, frame=frame, logit=logit,
                       logit_baseline=logit0, labels=list(model.labels), probabilities=probs.astype(np.float32),
                       unit_attribution=units, steps=steps, lead_in_frames=lead_in_frames, frames_per_second=fps)


def _double_copy(net):
    """A float64 CPU copy from the weights alone (the live network may hold packed-weight caches that do not
    copy)."""
    from recognizers.nn.classifier import SequenceClassifier
    net64 = SequenceClassifier(net.arch, net.feature_mean.cpu().numpy(), net.feature_std.cpu().numpy())
    net64.load_state_dict({k: v.detach().cpu() for k, v in net.state_dict().items()})
    net64 = net64.double()
    net64.eval()
    for p in net64.parameters():
        p.requires_grad_(False)
    return net64


def explain_input(model: LoadedModel, raw: Any, label: str | None = None, steps: int = DEFAULT_STEPS
                  ) -> Explanation:
    """Explain the clip decision on a raw input: speech samples at the model's rate (the lead-in and tail are
    added here, as ``predict`` adds them) or gesture landmarks ``(time, 2, 21, 3)``."""
    _refuse_ctc(model)
    rec = Recognizer(model)
    if model.task == "speech":
        raw = np.asarray(raw, np.float32)
        if raw.size == 0 or float(np.max(np.abs(raw))) == 0.0:
            raise VaultError("the input is silent: there is no decision to explain")
    padded = rec.padded(raw)
    features = rec.features(padded)
    baseline = rec.features(baseline_raw(model.task, padded))
    lead_frames = 0
    if model.task == "speech" and rec.lead_silence_s > 0:
        lead_frames = rec.features(rec.with_lead_in(raw)).shape[0] - rec.features(raw).shape[0]
    return explain_features(model, features, baseline, label=label, steps=steps, lead_in_frames=lead_frames)


def explain_file(model: LoadedModel, path, label: str | None = None, steps: int = DEFAULT_STEPS) -> Explanation:
    from recognizers.recognizer import load_input
    return explain_input(model, load_input(model.task, path, model.frontend_config), label=label, steps=steps)


def explain_network_input(model: LoadedModel, normalised: np.ndarray, label: str | None = None,
                          steps: int = DEFAULT_STEPS) -> Explanation:
    """Explain the clip decision on frames of the *normalised* network input ``(time, features)``, as a live
    view holds them (the gesture view keeps no raw landmarks); the baseline is the task's reference input
    (silence / no hand) of the same length, run through the same frontend."""
    net = model.network
    mean, std = net.feature_mean.cpu().numpy(), net.feature_std.cpu().numpy()
    features = np.asarray(normalised, np.float32) * std + mean
    n = features.shape[0]
    rec = Recognizer(model)
    if model.task == "speech":
        from recognizers.frontends.registry import frontend_config
        cfg = frontend_config(model.frontend_config)
        silence = rec.features(np.zeros(int(cfg.span_length) + n * int(getattr(cfg, "hop_length", 160)),
                                        np.float32))
        baseline = np.repeat(silence[:1], n, 0)
    else:
        baseline = rec.features(np.full((n, 2, 21, 3), np.nan, np.float32))[:n]
    return explain_features(model, features, baseline, label=label, steps=steps)

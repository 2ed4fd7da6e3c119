"""The one streaming pipeline for both modalities: source block -> frontend -> GateLSTM -> probabilities.

``StreamingRecognizer.push(block)`` takes whatever the source produced (audio samples, a video frame's
landmarks), runs the frames that became complete through the network with carried LSTM state and returns
a :class:`StreamStep` holding, for those frames only: the network input, per-frame class probabilities and
(optionally) every gate of every layer. Decoders (word endpointing, gesture segmentation) consume the
steps; views draw them. Nothing here grows with the length of the stream.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from recognizers.frontends.registry import make_frontend
from recognizers.model_files import LoadedModel
from recognizers.nn.gate_lstm import STEP_FRAMES, LSTMState
from recognizers.nn.numpy_step import NumpyStepper, weights_key


@dataclass
class StreamStep:
    """Results for the frames completed by one ``push``: arrays have ``n_frames`` rows.

    ``frame_index`` is the stream index of the first row (frames since the last reset); ``gates`` maps
    ``"layer{k}_{i|f|g|o|c|h}"`` to ``(n_frames, units)`` arrays when tracing is on, else it is empty.
    """

    frame_index: int
    features: np.ndarray
    probabilities: np.ndarray
    gates: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(self.features.shape[0])


def merge_steps(steps: list[StreamStep], frame_index: int, n_features: int, n_classes: int) -> StreamStep:
    """One step for several consecutive ones (the frames in order); an empty step at ``frame_index`` if
    none has frames."""
    steps = [s for s in steps if s.n_frames]
    if not steps:
        return StreamStep(frame_index, np.zeros((0, n_features), np.float32), np.zeros((0, n_classes), np.float32))
    if len(steps) == 1:
        return steps[0]
    gates = {k: np.concatenate([s.gates[k] for s in steps]) for k in steps[0].gates}
    return StreamStep(steps[0].frame_index, np.concatenate([s.features for s in steps]),
                      np.concatenate([s.probabilities for s in steps]), gates)


class StreamingRecognizer:
    """Stateful step-by-step recogniser. Thread-safe: ``push`` and ``set_device`` may come from different
    threads (the app switches device without stopping the stream)."""

    def __init__(self, model: LoadedModel, trace: bool = True, device: str | torch.device | None = None):
        self.model = model
        self.labels = list(model.labels)
        self.trace = trace
        self.frontend = make_frontend(model.frontend_config)
        self._lock = threading.Lock()
        self.device = torch.device(device) if device is not None else next(model.network.parameters()).device
        self.model.network.to(self.device).eval()
        self.state: LSTMState | None = None
        # short CPU pushes keep the state as NumPy (h, c) arrays (layers, units) instead; at most one of
        # the two is set, and either path takes the other's over
        self._np_state: tuple[np.ndarray, np.ndarray] | None = None
        self.frames_done = 0
        self._stepper: NumpyStepper | None = None
        self._refresh_stepper()
        self._push_tensor = getattr(self.frontend, "push_tensor", None)

    def _refresh_stepper(self) -> None:
        """(Re)take the NumPy snapshot of the weights for short CPU pushes when they changed (checked on
        construction, reset and device changes, not on every push)."""
        net = self.model.network
        if self.device.type != "cpu" or not hasattr(net, "lstm"):
            self._stepper = None
        elif self._stepper is None or self._stepper.key != weights_key(net):
            self._stepper = NumpyStepper(net)

    @property
    def frames_per_second(self) -> float:
        cfg = self.frontend.config
        return float(getattr(cfg, "frames_per_second", None) or getattr(cfg, "fps", 30.0))

    def reset(self) -> None:
        """Forget the stream: frontend buffer and LSTM state."""
        with self._lock:
            self.frontend.reset()
            self.state = self._np_state = None
            self.frames_done = 0
            self._refresh_stepper()

    def reset_state(self) -> None:
        """Zero the LSTM state only (e.g. at the start of a new utterance); the frontend keeps its buffer."""
        with self._lock:
            self.state = self._np_state = None

    def set_device(self, device: str | torch.device) -> None:
        with self._lock:
            self.device = torch.device(device)
            self.model.network.to(self.device)
            self._take_torch_state()
            if self.state is not None:
                self.state = self.state.to(self.device)
            self._refresh_stepper()

    def _take_torch_state(self) -> None:
        if self._np_state is not None:
            h, c = self._np_state
            self.state = LSTMState(torch.from_numpy(h).unsqueeze(1), torch.from_numpy(c).unsqueeze(1))
            self._np_state = None

    def push(self, block: Any) -> StreamStep:
        with self._lock:
            # a frontend that can hand over a tensor (the log-mel one; it runs its torch ops in inference
            # mode) skips the tensor -> numpy -> tensor round trip of a long push
            push_tensor = self._push_tensor
            feats = push_tensor(block) if push_tensor is not None else self.frontend.push(block)
            return self._run(feats)

    def push_features(self, feats: np.ndarray) -> StreamStep:
        with self._lock:
            return self._run(feats)

    def _run(self, feats: np.ndarray | torch.Tensor) -> StreamStep:
        start = self.frames_done
        n = int(feats.shape[0])
        if n == 0:
            if isinstance(feats, torch.Tensor):
                feats = np.zeros((0, *feats.shape[1:]), np.float32)
            return StreamStep(start, feats, np.zeros((0, len(self.labels)), np.float32))
        if self._stepper is not None and n <= STEP_FRAMES:
            return self._run_numpy(feats, start, n)
        self._take_torch_state()
        net = self.model.network
        cpu = self.device.type == "cpu"
        # inference mode, not just no_grad: a few-frame push is mostly per-op overhead, which it cuts
        with torch.inference_mode():
            if isinstance(feats, torch.Tensor):
                x = feats.to(torch.float32)[None]
            else:
                x = torch.from_numpy(np.ascontiguousarray(feats, np.float32))[None]
            if not cpu:
                x = x.to(self.device)
            xn = net.normalize(x)
            logits, self.state, traces = net(xn, self.state, trace=self.trace, normalized=True)
            probs = torch.softmax(logits[0], -1)
            probs = (probs if cpu else probs.cpu()).numpy()
            gates: dict[str, np.ndarray] = {}
            if traces:
                for k, tr in enumerate(traces):
                    for name, v in tr.as_dict().items():
                        gates[f"layer{k}_{name}"] = (v[0] if cpu else v[0].cpu()).numpy()
            features = (xn[0] if cpu else xn[0].cpu()).numpy()
        self.frames_done += n
        return StreamStep(start, features, probs, gates)

    def _run_numpy(self, feats: np.ndarray | torch.Tensor, start: int, n: int) -> StreamStep:
        """A short CPU push through :class:`NumpyStepper`."""
        x = feats.numpy() if isinstance(feats, torch.Tensor) else np.asarray(feats, np.float32)
        if self._np_state is not None:
            h0, c0 = self._np_state
        elif self.state is not None:
            h0, c0 = self.state.h[:, 0].cpu().numpy(), self.state.c[:, 0].cpu().numpy()
            self.state = None
        else:
            shape = (len(self._stepper.layers), self._stepper.hidden)
            h0 = c0 = np.zeros(shape, np.float32)
        xn, probs, h, c, gates = self._stepper.run(x, h0, c0, self.trace)
        self._np_state = (h, c)
        self.frames_done += n
        return StreamStep(start, xn, probs, gates)

"""SequenceClassifier: input normalisation -> GateLSTM -> linear head, one prediction per time step.

The prediction for a whole sequence is the one at its last step, so the same network serves offline
classification and streaming (where every step has a current prediction).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from recognizers.nn.gate_lstm import GateLSTM, LayerTrace, LSTMState

# Bounds that model.json must respect before anything is allocated.
MAX_INPUT = 4096
MAX_HIDDEN = 4096
MAX_LAYERS = 16
MAX_CLASSES = 10000


@dataclass(frozen=True)
class Architecture:
    input_size: int
    hidden_size: int = 128
    num_layers: int = 2
    num_classes: int = 2
    dropout: float = 0.1
    type: str = "gate-lstm-classifier"

    def to_json(self) -> dict:
        return asdict(self)

    def validate(self) -> None:
        if self.type != "gate-lstm-classifier":
            raise ValueError(f"unknown architecture type {self.type!r}")
        for name, hi in (("input_size", MAX_INPUT), ("hidden_size", MAX_HIDDEN), ("num_layers", MAX_LAYERS),
                         ("num_classes", MAX_CLASSES)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= hi:
                raise ValueError(f"architecture {name}={v!r} is outside 1..{hi}")
        if not 0 <= float(self.dropout) < 1:
            raise ValueError(f"architecture dropout={self.dropout!r} is outside [0, 1)")


class SequenceClassifier(nn.Module):
    def __init__(self, arch: Architecture, mean: np.ndarray | None = None, std: np.ndarray | None = None):
        super().__init__()
        arch.validate()
        self.arch = arch
        self.lstm = GateLSTM(arch.input_size, arch.hidden_size, arch.num_layers, arch.dropout)
        self.head = nn.Linear(arch.hidden_size, arch.num_classes)
        mean = np.zeros(arch.input_size, np.float32) if mean is None else np.asarray(mean, np.float32)
        std = np.ones(arch.input_size, np.float32) if std is None else np.asarray(std, np.float32)
        # Normalisation lives in model.json (not in the weights file), so it is a plain buffer here.
        self.register_buffer("feature_mean", torch.from_numpy(mean.copy()), persistent=False)
        self.register_buffer("feature_std", torch.from_numpy(np.maximum(std, 1e-5).copy()), persistent=False)

    def normalize(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.feature_mean) / self.feature_std

    def forward(self, features: torch.Tensor, state: LSTMState | None = None, trace: bool = False,
                normalized: bool = False) -> tuple[torch.Tensor, LSTMState, list[LayerTrace] | None]:
        """``features (batch, time, input_size)`` -> ``logits (batch, time, classes)``, state, traces."""
        x = features if normalized else self.normalize(features)
        out, state, traces = self.lstm(x, state, trace=trace)
        return self.head(out), state, traces

    def initial_state(self, batch: int = 1) -> LSTMState:
        return self.lstm.initial_state(batch)

"""The vanishing-gradient experiment: a plain tanh RNN and an LSTM of the same size learn to remember.

Task (after Hochreiter & Schmidhuber 1997 and Bengio et al. 1994's latching problem): a sequence starts with one
of ``SYMBOLS`` symbols, then ``delay`` steps of Gaussian noise in the same input channels follow; after the last
step the network must name the first symbol. Everything that connects the answer to its evidence lies ``delay``
steps back, so what learns it is decided by how much gradient back-propagation through time carries over those steps.

What is measured, for both networks, at initialisation and after training:
- ``grad_norm[lag]``: the mean over a probe batch of ``|| d loss / d h_t ||`` at ``t = T - 1 - lag``, the error
  signal that reaches the hidden state ``lag`` steps before the answer (one probe pass, float64, the cell
  equations stepped so every ``h_t`` is a node of the graph);
- the LSTM's forget gate, mean over batch and units, at every step of the delay (the "constant error carousel":
  near 1 on the units that keep the symbol).

Both networks are trained with the same optimiser, learning rate and batches, one step each in turn, so their
curves can be drawn side by side while they train (``on_progress``); each stops once it reaches
``stop_accuracy`` on fresh sequences, else after ``steps`` (so the RNN gets the whole budget the LSTM did not
need). ``should_stop`` cancels
between steps; a cancelled run returns what it has with ``cancelled=True``.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

SYMBOLS = 4             # the symbols to remember
NOISE_STD = 0.5         # the distractors: Gaussian noise in the symbols' own channels
MAX_DELAY = 200


@dataclass(frozen=True)
class GradientConfig:
    delay: int = 50
    hidden: int = 32
    batch: int = 64
    steps: int = 1500           # most optimiser steps per network (each stops once it has learnt the task)
    learning_rate: float = 0.005
    probe_batch: int = 64
    eval_batch: int = 256
    eval_every: int = 25
    forget_bias: float = 3.0     # f starts near 0.95: a memory that outlasts the delay is within reach
    stop_accuracy: float = 0.99     # a net stops training once it reaches this on fresh sequences
    seed: int = 0
    threads: int = 1


@dataclass
class GradientProgress:
    """One training step's numbers for the networks still training (``accuracy``, of both, is set on evaluation
    steps, else None)."""

    step: int
    steps: int
    loss: dict[str, float]
    accuracy: dict[str, float] | None = None


@dataclass
class GradientReport:
    delay: int
    lags: list[int]
    grad_init: dict[str, list[float]]
    grad_trained: dict[str, list[float]]
    accuracy: dict[str, float]
    loss_curves: dict[str, list[float]]
    accuracy_curves: dict[str, list[tuple[int, float]]]
    forget_gate_init: list[float]
    forget_gate_trained: list[float]
    steps_trained: int
    seconds: float
    steps_to_learn: dict[str, int | None] = field(default_factory=dict)
    cancelled: bool = False
    config: dict = field(default_factory=dict)

    def decay(self, net: str, trained: bool = True) -> float:
        """How many times smaller the gradient is ``delay`` steps back than at the answer (lag 0)."""
        g = (self.grad_trained if trained else self.grad_init)[net]
        return float(g[0] / max(g[-1], 1e-300))

    def to_json(self) -> dict:
        d = asdict(self)
        out = {"lags": self.lags, "rnn": self.grad_trained["rnn"], "lstm": self.grad_trained["lstm"],
               "accuracy": self.accuracy}
        out.update({k: v for k, v in d.items() if k not in ("lags", "accuracy")})
        out["decay"] = {"rnn": self.decay("rnn"), "lstm": self.decay("lstm"),
                        "rnn_init": self.decay("rnn", False), "lstm_init": self.decay("lstm", False)}
        out["decay_ratio"] = out["decay"]["rnn"] / max(out["decay"]["lstm"], 1e-300)
        return out


def make_batch(delay: int, batch: int, rng: np.random.Generator, noise: float = NOISE_STD
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences ``(batch, delay + 1, SYMBOLS + 1)`` and the first symbols ``(batch,)``.

    Step 0 holds the symbol one-hot (and a 1 in the last, "start" channel); the ``delay`` steps after it hold
    Gaussian noise of ``noise`` std in the *same* channels, so no weight can simply ignore the distractors: the
    network must decide, from its own state, to stop listening and hold what it heard.
    """
    first = rng.integers(0, SYMBOLS, batch)
    x = np.zeros((batch, delay + 1, SYMBOLS + 1), np.float32)
    x[np.arange(batch), 0, first] = 1.0
    x[:, 0, SYMBOLS] = 1.0
    x[:, 1:, :SYMBOLS] = noise * rng.standard_normal((batch, delay, SYMBOLS))
    return torch.from_numpy(x), torch.from_numpy(first)


class Rememberer(nn.Module):
    """A one-layer recurrent net (``kind`` "rnn": tanh; "lstm") with a linear read-out after the last step."""

    def __init__(self, kind: str, hidden: int, forget_bias: float = 1.0):
        super().__init__()
        self.kind = kind
        n_in = SYMBOLS + 1
        self.rnn = (nn.RNN(n_in, hidden, nonlinearity="tanh", batch_first=True) if kind == "rnn"
                    else nn.LSTM(n_in, hidden, batch_first=True))
        if kind == "lstm":      # forget-gate bias (GateLSTM uses 1, Jozefowicz et al. 2015)
            with torch.no_grad():
                self.rnn.bias_ih_l0[hidden:2 * hidden].fill_(forget_bias)
                self.rnn.bias_hh_l0[hidden:2 * hidden].fill_(0.0)
        self.head = nn.Linear(hidden, SYMBOLS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])

    def probe(self, x: torch.Tensor, y: torch.Tensor) -> tuple[list[float], list[float]]:
        """``(||d loss / d h_t|| per lag 0..T-1, forget-gate mean per step)``, stepping the cell in float64."""
        r = self.rnn
        w_ih, w_hh = r.weight_ih_l0.double(), r.weight_hh_l0.double()
        b = (r.bias_ih_l0 + r.bias_hh_l0).double()
        x = x.double()
        n = r.hidden_size
        h = torch.zeros(x.shape[0], n, dtype=torch.float64)
        c = torch.zeros_like(h)
        hs, forget = [], []
        for t in range(x.shape[1]):
            z = x[:, t] @ w_ih.T + h @ w_hh.T + b
            if self.kind == "rnn":
                h = torch.tanh(z)
            else:
                f = torch.sigmoid(z[:, n:2 * n])
                c = f * c + torch.sigmoid(z[:, :n]) * torch.tanh(z[:, 2 * n:3 * n])
                h = torch.sigmoid(z[:, 3 * n:]) * torch.tanh(c)
                forget.append(float(f.detach().mean()))
            h.retain_grad()
            hs.append(h)
        logits = h @ self.head.weight.double().T + self.head.bias.double()
        nn.functional.cross_entropy(logits, y).backward()
        norms = [float(hh.grad.norm(dim=1).mean()) for hh in reversed(hs)]
        self.zero_grad(set_to_none=True)
        return norms, forget


def run_gradients(config: GradientConfig | None = None,
                  on_progress: Callable[[GradientProgress], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> GradientReport:
    """Train both networks side by side and measure the gradient per lag before and after (see module doc)."""
    cfg = config or GradientConfig()
    if not 1 <= cfg.delay <= MAX_DELAY:
        raise ValueError(f"delay {cfg.delay} is outside 1..{MAX_DELAY}")
    t0 = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, cfg.threads))
    try:
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        nets = {"rnn": Rememberer("rnn", cfg.hidden), "lstm": Rememberer("lstm", cfg.hidden, cfg.forget_bias)}
        probe_x, probe_y = make_batch(cfg.delay, cfg.probe_batch, np.random.default_rng(cfg.seed + 1))
        eval_x, eval_y = make_batch(cfg.delay, cfg.eval_batch, np.random.default_rng(cfg.seed + 2))
        init = {k: net.probe(probe_x, probe_y) for k, net in nets.items()}
        opts = {k: torch.optim.Adam(net.parameters(), lr=cfg.learning_rate) for k, net in nets.items()}
        losses: dict[str, list[float]] = {k: [] for k in nets}
        accs: dict[str, list[tuple[int, float]]] = {k: [] for k in nets}
        cancelled, step = False, 0
        learnt: dict[str, int | None] = {k: None for k in nets}
        for step in range(1, cfg.steps + 1):
            if should_stop is not None and should_stop():
                cancelled = True
                step -= 1
                break
            x, y = make_batch(cfg.delay, cfg.batch, rng)     # both nets see the same batch
            loss_now = {}
            for k, net in nets.items():
                if learnt[k] is not None:
                    continue
                loss = nn.functional.cross_entropy(net(x), y)
                opts[k].zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                opts[k].step()
                loss_now[k] = float(loss.detach())
                losses[k].append(loss_now[k])
            acc_now = None
            if step % cfg.eval_every == 0 or step == cfg.steps:
                acc_now = _accuracy(nets, eval_x, eval_y)
                for k, a in acc_now.items():
                    if learnt[k] is None:
                        accs[k].append((step, a))
                        if a >= cfg.stop_accuracy:
                            learnt[k] = step
            if on_progress is not None:
                on_progress(GradientProgress(step, cfg.steps, loss_now, acc_now))
            if all(v is not None for v in learnt.values()):
                break
        final = _accuracy(nets, eval_x, eval_y)
        trained = {k: net.probe(probe_x, probe_y) for k, net in nets.items()}
    finally:
        torch.set_num_threads(threads)
    return GradientReport(
        delay=cfg.delay, lags=list(range(cfg.delay + 1)),
        grad_init={k: v[0] for k, v in init.items()}, grad_trained={k: v[0] for k, v in trained.items()},
        accuracy=final, loss_curves=losses, accuracy_curves=accs,
        forget_gate_init=init["lstm"][1], forget_gate_trained=trained["lstm"][1], steps_trained=step,
        seconds=time.perf_counter() - t0, cancelled=cancelled, config=asdict(cfg), steps_to_learn=learnt)


@torch.no_grad()
def _accuracy(nets: dict[str, Rememberer], x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    return {k: float((net(x).argmax(1) == y).float().mean()) for k, net in nets.items()}

"""NumPy stepping of a :class:`SequenceClassifier` for the short pushes of a CPU stream.

A live stream pushes one or two frames at a time (10–20 ms of audio, one video frame), where the cost is
the fixed overhead of each operation, not arithmetic: a torch op costs 2–3 µs to dispatch on this kind of
machine, a NumPy call on a few hundred floats well under 1 µs. :class:`NumpyStepper` holds a float32
snapshot of the network's weights (each layer's ``[W_ih | W_hh]`` transposed, the summed biases, the
head and the normalisation) and steps the same cell equations as :meth:`GateLSTM._step`, producing
the gates as a by-product. Used by :class:`~recognizers.streaming.StreamingRecognizer` for CPU pushes of
at most ``STEP_FRAMES`` frames; tests hold it to the torch path within float rounding.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.special import expit

from recognizers.nn.gate_lstm import GATE_NAMES


def weights_key(network: torch.nn.Module) -> tuple:
    """Identity and version of every parameter and buffer: changes when any weight is replaced or
    updated in place (an optimiser step, ``load_state_dict``, ``.to()``)."""
    return tuple((t.data_ptr(), t._version) for t in (*network.parameters(), *network.buffers()))


class NumpyStepper:
    """Float32 NumPy copy of a CPU network for stepping a batch-1 stream frame by frame."""

    def __init__(self, network: torch.nn.Module):
        self.key = weights_key(network)
        lstm = network.lstm
        self.hidden = lstm.hidden_size
        self.layers = []
        with torch.no_grad():
            for layer in lstm.layers:
                # (4 H, inputs + H + 1): [W_ih | W_hh | b_ih + b_hh], the bias column meeting a constant 1 in
                # the input vector (W @ v: a row-major matrix-vector product, the fast kind)
                w = torch.cat([layer.weight_ih_l0, layer.weight_hh_l0,
                               (layer.bias_ih_l0 + layer.bias_hh_l0)[:, None]], dim=1).float().contiguous()
                self.layers.append((w.cpu().numpy().copy(), layer.input_size))
            # [W | b]: meets (h, 1), the tail of the last layer's input vector
            self.head = torch.cat([network.head.weight, network.head.bias[:, None]], dim=1).float().cpu().numpy()
            self.mean = network.feature_mean.float().cpu().numpy().copy()
            self.std = network.feature_std.float().cpu().numpy().copy()
        H = self.hidden
        # per layer: its input vector [x, h_prev, 1] (reused frame to frame; each layer writes its h into
        # its own recurrent slot and into the next layer's input slot), pre-activations, sigmoids, scratch
        self._v = []
        for w, n_in in self.layers:
            v = np.zeros(w.shape[1], np.float32)
            v[-1] = 1.0
            self._v.append(v)
        self._gate_keys = [tuple(f"layer{k}_{name}" for name in GATE_NAMES) for k in range(len(self.layers))]
        self._z = np.empty(4 * H, np.float32)
        self._g = np.empty(H, np.float32)
        self._tmp = np.empty(H, np.float32)

    def run(self, features: np.ndarray, h: np.ndarray, c: np.ndarray, trace: bool
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Step ``features (frames, inputs)`` (raw, not normalised) from ``h``, ``c`` ``(layers, units)``.

        Returns ``(normalised features, probabilities (frames, classes), h, c, gates)``; ``gates`` maps
        ``layer{k}_{i|f|g|o|c|h}`` to ``(frames, units)`` when ``trace``, else it is empty. ``h`` and ``c``
        are new arrays (the inputs are not modified)."""
        H = self.hidden
        n = features.shape[0]
        L = len(self.layers)
        xn = ((features - self.mean) / self.std).astype(np.float32, copy=False)
        c = np.array(c, np.float32)                  # a copy: the caller's arrays stay as they were
        for k, (_, n_in) in enumerate(self.layers):
            self._v[k][n_in:n_in + H] = h[k]
        gates: dict[str, np.ndarray] = {}
        if trace:
            gates = {key: np.empty((n, H), np.float32) for keys in self._gate_keys for key in keys}
        logits = np.empty((n, self.head.shape[0]), np.float32)
        v_last = self._v[-1][self.layers[-1][1]:]             # (h, 1) of the last layer
        z, g, tmp = self._z, self._g, self._tmp
        for t in range(n):
            self._v[0][:self.layers[0][1]] = xn[t]
            for k, (w, n_in) in enumerate(self.layers):
                v = self._v[k]
                np.dot(w, v, out=z)                          # i, f, g, o pre-activations: PyTorch's order
                np.tanh(z[2 * H:3 * H], out=g)
                expit(z, out=z)
                ck = c[k]
                ck *= z[H:2 * H]
                np.multiply(z[:H], g, out=tmp)
                ck += tmp
                np.tanh(ck, out=tmp)
                hk = v[n_in:n_in + H]
                np.multiply(z[3 * H:], tmp, out=hk)          # h into this layer's recurrent slot
                if k + 1 < L:
                    self._v[k + 1][:H] = hk                  # and into the next layer's input
                if trace:       # GATE_NAMES order: i, f, g, o, c, h
                    for key, v in zip(self._gate_keys[k], (z[:H], z[H:2 * H], g, z[3 * H:], ck, hk)):
                        gates[key][t] = v
            np.dot(self.head, v_last, out=logits[t])
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        h = np.stack([v[n_in:n_in + H] for v, (_, n_in) in zip(self._v, self.layers)])
        return xn, probs, h, c, gates

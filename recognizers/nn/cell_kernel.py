"""Compiled CPU kernel for the traced LSTM's cell states (numba), with the torch prefix scan as fallback.

The trace recomputes the gates of all steps of a layer in one matrix product; what is left is the
recurrence ``c_t = f_t * c_{t-1} + i_t * g_t``. In torch that is either one small op per step or a
``log2(time)``-pass prefix scan (:func:`recognizers.nn.gate_lstm.cell_scan`), both dominated by per-op
overhead at streaming sizes (about 70 µs for 100 frames × 128 units). Compiled, the plain loop takes
about 2.5 µs. The kernel also finishes the candidate gate (``g = 2 sigmoid(2 z) - 1``), saving two more
passes.

numba is imported only when a CPU trace first needs it; compiled code is cached next to this file (or in
numba's user cache). If numba is missing, fails to compile, or ``LSTM_VAULT_NO_NUMBA=1`` is set, callers
get ``None`` and use the torch scan, which agrees to float rounding (tests hold both to the step loop).
"""
from __future__ import annotations

import os
import threading

import numpy as np

_lock = threading.Lock()
_kernel = None          # (cells, pack_inputs) once they have passed their check; False when unavailable


def _build():
    import numba

    @numba.njit(cache=True, nogil=True)
    def cells(s, c0, c_out, g_out):
        # s (N, T, 4H): sigmoid of the pre-activations in PyTorch's gate order i, f, g, o, where the g
        # block holds sigmoid(2 z_g); c0 (N, H). Writes g_t = tanh(z_g) = 2 sigmoid(2 z_g) - 1 into g_out
        # and c_t into c_out, both (N, T, H). Separate outputs and row views let LLVM vectorise the loop.
        n_seq, n_t, h4 = s.shape
        n_h = h4 // 4
        two, one = np.float32(2.0), np.float32(1.0)
        for n in range(n_seq):
            c = c0[n].copy()
            for t in range(n_t):
                row, c_row, g_row = s[n, t], c_out[n, t], g_out[n, t]
                for h in range(n_h):
                    g = two * row[2 * n_h + h] - one
                    g_row[h] = g
                    ch = row[n_h + h] * c[h] + row[h] * g
                    c[h] = ch
                    c_row[h] = ch

    @numba.njit(cache=True, nogil=True)
    def pack_inputs(x, h0, out, xh):
        # xh (N, T, I + H) = [x_t, h_{t-1}] with h_{-1} = h0: the recompute's matrix-product input
        n_seq, n_t, n_in = x.shape
        n_h = h0.shape[1]
        for n in range(n_seq):
            for t in range(n_t):
                dst, src = xh[n, t], x[n, t]
                for k in range(n_in):
                    dst[k] = src[k]
                h = h0[n] if t == 0 else out[n, t - 1]
                for k in range(n_h):
                    dst[n_in + k] = h[k]

    return cells, pack_inputs


def available_kernel():
    """The compiled kernels ``(cells(s, c0, c_out, g_out), pack_inputs(x, h0, out, xh))`` for float32
    C-contiguous arrays, or ``None``."""
    global _kernel
    if _kernel is None:
        with _lock:
            if _kernel is None:
                _kernel = _load()
    return _kernel or None


def _load():
    if os.environ.get("LSTM_VAULT_NO_NUMBA", "") not in ("", "0"):
        return False
    try:
        fn, pack = _build()
        # compile (or load from cache) and check against the plain recurrence once
        rng = np.random.default_rng(0)
        s = rng.random((2, 5, 12), dtype=np.float32)
        c0 = rng.standard_normal((2, 3)).astype(np.float32)
        expect_g = 2 * s[..., 6:9] - 1
        expect = np.empty((2, 5, 3), np.float32)
        c = c0.copy()
        for t in range(5):
            c = s[:, t, 3:6] * c + s[:, t, 0:3] * expect_g[:, t]
            expect[:, t] = c
        out, g_out = np.empty_like(expect), np.empty_like(expect)
        fn(s, c0, out, g_out)
        xh = np.empty((2, 5, 15), np.float32)
        pack(s, c0, out, xh)
        expect_xh = np.concatenate([s, np.concatenate([c0[:, None], out[:, :-1]], 1)], 2)
        if not (np.allclose(out, expect, atol=1e-6) and np.allclose(g_out, expect_g, atol=1e-6)
                and np.array_equal(xh, expect_xh)):
            return False
        return fn, pack
    except Exception:       # no numba, no compiler cache location, or an incompatible build
        return False

"""Bounded ring buffers (numpy) for the live views: waveform samples, spectrogram frames, gate traces.

Capture and inference append on their threads; the GUI reads ordered copies at ~30 Hz. Memory is fixed
at construction, so a stream of any length never grows the app.
"""
from __future__ import annotations

import numpy as np


class RingBuffer:
    """Fixed-capacity FIFO of rows shaped ``row_shape``; the oldest rows are overwritten.

    ``total`` counts every row ever appended, so ``total - len(self)`` is the stream index of the oldest
    row still held (used to put rows on a time axis).
    """

    def __init__(self, capacity: int, row_shape: tuple[int, ...] = (), dtype=np.float32):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = int(capacity)
        self.row_shape = tuple(row_shape)
        self._data = np.zeros((self.capacity, *self.row_shape), dtype=dtype)
        self._end = 0       # index after the newest row
        self._size = 0
        self.total = 0

    def __len__(self) -> int:
        return self._size

    @property
    def first_index(self) -> int:
        """Stream index of the oldest row held."""
        return self.total - self._size

    def clear(self) -> None:
        self._end = 0
        self._size = 0
        self.total = 0

    def extend(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=self._data.dtype).reshape(-1, *self.row_shape)
        n = rows.shape[0]
        if n == 0:
            return
        self.total += n
        if n >= self.capacity:
            self._data[:] = rows[-self.capacity:]
            self._end = 0
            self._size = self.capacity
            return
        first = min(n, self.capacity - self._end)
        self._data[self._end:self._end + first] = rows[:first]
        if first < n:
            self._data[:n - first] = rows[first:]
        self._end = (self._end + n) % self.capacity
        self._size = min(self.capacity, self._size + n)

    def latest(self, n: int | None = None) -> np.ndarray:
        """An ordered copy of the newest ``n`` rows (all held rows when ``n`` is None), oldest first."""
        n = self._size if n is None else max(0, min(int(n), self._size))
        start = (self._end - n) % self.capacity
        if start + n <= self.capacity:
            return self._data[start:start + n].copy()
        return np.concatenate([self._data[start:], self._data[:self._end]])

"""Log-mel speech frontend: offline and streaming computations that yield identical frames.

Frame ``k`` covers samples ``[k * hop, k * hop + span)`` (no centre padding), where ``span`` is
``max(win, n_fft)``: with ``win < n_fft`` torch's STFT centres the window inside ``n_fft`` samples, so a
frame needs ``n_fft`` samples. A stream pushed in blocks of any size yields exactly the frames of the
offline computation, as soon as their last sample arrives.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torchaudio.functional as AF
import torchaudio.transforms as T

from recognizers.errors import ModelFileError
from recognizers.frontends.settings import check_frontend_json

LOG_FLOOR = 1e-6


MIN_HOP_MS, MAX_HOP_MS = 5.0, 100.0     # frame rate 10..200 frames per second
MAX_WIN_MS = 100.0                      # window (and n_fft, within 1.5x for padding) at most 100 ms


@dataclass(frozen=True)
class LogMelConfig:
    """Settings of the log-mel frontend (stored in ``model.json`` under ``frontend``).

    The default band limit of 4 kHz matches telephone-band and 8 kHz recordings (FSDD) as well as
    wide-band microphones, so one model serves both.
    """

    sample_rate_hz: int = 16000
    win_ms: float = 25.0
    hop_ms: float = 10.0
    n_fft: int = 512
    n_mels: int = 40
    f_min_hz: float = 20.0
    f_max_hz: float = 4000.0

    type: str = "logmel"

    @property
    def win_length(self) -> int:
        return int(round(self.sample_rate_hz * self.win_ms / 1000))

    @property
    def hop_length(self) -> int:
        return int(round(self.sample_rate_hz * self.hop_ms / 1000))

    @property
    def span_length(self) -> int:
        """Samples one frame depends on: ``max(win_length, n_fft)`` (the STFT pads the window to n_fft)."""
        return max(self.win_length, self.n_fft)

    @property
    def feature_size(self) -> int:
        return self.n_mels

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate_hz / self.hop_length

    def to_json(self) -> dict:
        return asdict(self)

    KIND = "log-mel"                                  # for messages
    INTEGERS = ("sample_rate_hz", "n_fft", "n_mels")   # class constants (not annotated: not fields)

    @classmethod
    def from_json(cls, d: dict) -> "LogMelConfig":
        check_frontend_json(cls, d, cls.__dataclass_fields__["type"].default, cls.KIND)
        try:
            cfg = cls(**d)
        except TypeError as exc:
            raise ModelFileError(f"bad {cls.KIND} frontend settings: {exc}") from None
        cfg.validate()
        return cfg

    def validate(self) -> None:
        ints = self.INTEGERS
        nums = ("win_ms", "hop_ms", "f_min_hz", "f_max_hz")
        if (not all(isinstance(getattr(self, k), int) and not isinstance(getattr(self, k), bool) for k in ints)
                or not all(isinstance(getattr(self, k), (int, float)) and not isinstance(getattr(self, k), bool)
                           and math.isfinite(getattr(self, k)) for k in nums)):
            raise ModelFileError(f"{self.KIND} frontend settings of the wrong type (integers: {', '.join(ints)}; "
                                 f"numbers: {', '.join(nums)}): {self.to_json()}")
        # Bounded memory and time (docs/hostile-inputs.md): the STFT of a clip holds frames x (n_fft/2 + 1)
        # complex values, i.e. (1000 / hop_ms) x (n_fft / 2 + 1) x 8 bytes per second of audio. A 1-sample
        # hop with n_fft 8192 is 31 GB for 60 s; within these bounds it is at most 6.6 MB per second
        # (200 frames/s x 4097 bins), and every frame's window stays below 100 ms.
        if not MIN_HOP_MS <= self.hop_ms <= MAX_HOP_MS:
            raise ModelFileError(f"{self.KIND} hop_ms {self.hop_ms} is outside {MIN_HOP_MS}..{MAX_HOP_MS} ms")
        if not 0 < self.win_ms <= MAX_WIN_MS or self.n_fft > MAX_WIN_MS / 1000 * self.sample_rate_hz * 1.5:
            raise ModelFileError(f"{self.KIND} window {self.win_ms} ms / n_fft {self.n_fft} is longer than "
                                 f"{MAX_WIN_MS:.0f} ms at {self.sample_rate_hz} Hz")
        ok = (8000 <= self.sample_rate_hz <= 96000 and 1 <= self.n_mels <= 256
              and 0 < self.hop_length <= self.win_length <= self.n_fft <= 8192
              and 0 <= self.f_min_hz < self.f_max_hz <= self.sample_rate_hz / 2)
        if not ok:
            raise ModelFileError(f"inconsistent {self.KIND} frontend settings: {self.to_json()}")


class LogMel:
    """Offline log-mel computation (torchaudio transforms). ``samples (n,)`` -> ``(frames, n_mels)``."""

    def __init__(self, config: LogMelConfig | None = None):
        self.config = config or LogMelConfig()
        c = self.config
        self.spectrogram = T.Spectrogram(n_fft=c.n_fft, win_length=c.win_length, hop_length=c.hop_length,
                                         center=False, power=2.0)
        self.mel = T.MelScale(n_mels=c.n_mels, sample_rate=c.sample_rate_hz, f_min=c.f_min_hz,
                              f_max=c.f_max_hz, n_stft=c.n_fft // 2 + 1)
        self._warped: dict[float, torch.Tensor] = {}

    def num_frames(self, n_samples: int) -> int:
        c = self.config
        return 0 if n_samples < c.span_length else (n_samples - c.span_length) // c.hop_length + 1

    def power(self, samples: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Power spectrogram ``(frames, n_fft // 2 + 1)``."""
        x = torch.as_tensor(samples, dtype=torch.float32)
        if x.numel() < self.config.span_length:
            return torch.zeros(0, self.config.n_fft // 2 + 1)
        c = self.config
        # what T.Spectrogram computes (same call, same window), minus its wrappers: a streaming push
        # computes one or two frames, where the per-call overhead is most of the cost
        with torch.inference_mode():
            spec = torch.stft(x, c.n_fft, hop_length=c.hop_length, win_length=c.win_length,
                              window=self.spectrogram.window, center=False, normalized=False, onesided=True,
                              return_complex=True)
            return spec.abs().pow(2.0).T

    def mel_from_power(self, power: torch.Tensor, warp: float = 1.0) -> torch.Tensor:
        """Log-mel ``(frames, n_mels)`` from a power spectrogram; ``warp`` != 1 stretches the frequency
        axis of the filterbank (vocal tract length perturbation, used for training augmentation)."""
        fb = self.mel.fb if warp == 1.0 else self._warped_fb(warp)
        return torch.log(power @ fb + LOG_FLOOR)

    def _warped_fb(self, warp: float) -> torch.Tensor:
        key = round(float(warp), 3)
        if key not in self._warped:
            c = self.config
            self._warped[key] = AF.melscale_fbanks(
                c.n_fft // 2 + 1, c.f_min_hz * key, min(c.f_max_hz * key, c.sample_rate_hz / 2),
                c.n_mels, c.sample_rate_hz)
        return self._warped[key]

    def __call__(self, samples: np.ndarray | torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            return self.mel_from_power(self.power(samples)).numpy()


class StreamingLogMel:
    """Streaming log-mel: ``push(samples)`` any block size, get the frames that became complete.

    The same torch ops on the same samples as :class:`LogMel` (so the same frames, bit for bit), with
    the per-call overhead of a 10–20 ms push trimmed: pending samples live in a preallocated buffer
    (no concatenation), and ``push_tensor`` hands the frames on as a tensor (no numpy round trip).
    """

    def __init__(self, config: LogMelConfig | None = None):
        self.offline = LogMel(config)
        self.config = self.offline.config
        self._store = np.zeros(4 * self.config.span_length, dtype=np.float32)
        self._fill = 0                  # pending samples in _store[:_fill]
        self.frames_emitted = 0
        c = self.config
        self._padded_window = torch.zeros(c.n_fft)
        left = (c.n_fft - c.win_length) // 2
        self._padded_window[left:left + c.win_length] = self.offline.spectrogram.window
        self._fb = self.offline.mel.fb
        self._empty = torch.zeros(0, c.n_mels)

    @property
    def feature_size(self) -> int:
        return self.config.n_mels

    @property
    def _buffer(self) -> np.ndarray:
        """The pending samples (not yet part of an emitted frame's hop)."""
        return self._store[:self._fill]

    def reset(self) -> None:
        self._fill = 0
        self.frames_emitted = 0

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Append mono float32 samples at the configured rate; returns ``(new_frames, n_mels)``."""
        return self.push_tensor(samples).numpy()

    def push_tensor(self, samples: np.ndarray) -> torch.Tensor:
        """As :meth:`push`, the frames as a float32 CPU tensor (call under ``torch.inference_mode()`` to
        avoid entering it here)."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        total = self._fill + samples.size
        if total > self._store.size:
            grown = np.zeros(max(total, 2 * self._store.size), dtype=np.float32)
            grown[:self._fill] = self._store[:self._fill]
            self._store = grown
        self._store[self._fill:total] = samples
        c = self.config
        hop, span = c.hop_length, c.span_length
        n = 0 if total < span else (total - span) // hop + 1
        if n == 0:
            self._fill = total
            return self._empty
        if torch.is_inference_mode_enabled():
            frames = self._frames(self._store[: (n - 1) * hop + span])
        else:
            with torch.inference_mode():
                frames = self._frames(self._store[: (n - 1) * hop + span])
        rest = total - n * hop
        self._store[:rest] = self._store[n * hop:total]      # memmove semantics: overlap is safe
        self._fill = rest
        self.frames_emitted += n
        return frames

    def _frames(self, buf: np.ndarray) -> torch.Tensor:
        # LogMel.power + mel_from_power, op for op (same values), in one go; the result owns its memory,
        # so _store may be overwritten by the next push
        # (torch.stft on win < n_fft centres the window in n_fft samples and takes the real FFT of each
        # windowed frame: the same transform, minus stft's Python wrapper; equal bit for bit, tested)
        c = self.config
        frames = torch.from_numpy(buf).unfold(0, c.n_fft, c.hop_length) * self._padded_window
        power = torch.fft.rfft(frames).abs().pow_(2.0)
        return torch.matmul(power, self._fb).add_(LOG_FLOOR).log_()

"""Reading audio files into 16 kHz mono float32, with clear errors for anything unusable."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from recognizers.errors import AudioFileError
from recognizers.io.extensions import AUDIO_EXTENSIONS  # noqa: F401  (re-exported: one table)

MAX_AUDIO_SECONDS = 3 * 3600  # refuse absurdly long files before decoding them
MIN_RATE_HZ, MAX_RATE_HZ = 4000, 384_000   # outside this a header is damaged, not a recording
MAX_DECODED_SAMPLES = 250_000_000   # 1 GB of float32: a header declaring more is refused before decoding
MAX_SAMPLE_MAGNITUDE = 1000.0   # float files hold [-1, 1]; 60 dB above full scale is damage, and 1e30 overflows
RESAMPLE_QUALITY = "soxr_hq"   # libsoxr's high quality: flat to ~0.95 x Nyquist, > 100 dB stop band, any rate ratio


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling of a 1-D float array with libsoxr (``librosa.resample``, ``res_type="soxr_hq"``).

    soxr handles any pair of rates exactly (22051 Hz -> 16 kHz included) in memory proportional to the signal,
    where windowed-sinc kernels grow as (out/gcd) x (in/gcd); the output has ``ceil(n * rate_out / rate_in)``
    samples, aligned with the input (no delay).
    """
    if rate_in == rate_out or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    import librosa
    y = librosa.resample(np.ascontiguousarray(samples, dtype=np.float32), orig_sr=int(rate_in),
                         target_sr=int(rate_out), res_type=RESAMPLE_QUALITY)
    return np.asarray(y, dtype=np.float32)


def to_mono(data: np.ndarray) -> np.ndarray:
    """``(frames, channels)`` or ``(frames,)`` -> ``(frames,)`` by averaging channels."""
    if data.ndim == 2:
        return data.mean(axis=1).astype(np.float32)
    return data.astype(np.float32, copy=False)


def load_audio(path: str | os.PathLike, sample_rate_hz: int = 16000,
               max_seconds: float = MAX_AUDIO_SECONDS) -> np.ndarray:
    """Decode ``path`` to mono float32 in [-1, 1] at ``sample_rate_hz``.

    Raises :class:`AudioFileError` (one line naming the file) for missing, empty, non-audio, truncated
    beyond repair or absurdly long files. A silent file is valid and returns zeros.
    """
    import sys

    import soundfile as sf

    from recognizers.io.safe_text import safe_text
    p = Path(path)
    try:
        if not p.exists():
            raise AudioFileError(f"{safe_text(p)}: no such file")
        if p.is_dir():
            raise AudioFileError(f"{safe_text(p)}: is a folder, not an audio file")
        if not p.is_file():
            raise AudioFileError(f"{safe_text(p)}: not a regular file (a FIFO, device or socket)")
        if p.stat().st_size == 0:
            raise AudioFileError(f"{safe_text(p)}: file is empty")
    except OSError as exc:      # a name too long, a symlink loop, permission denied
        raise AudioFileError(f"{safe_text(p)}: {exc.strerror or type(exc).__name__}") from None
    except ValueError:          # a NUL in the name
        raise AudioFileError(f"{safe_text(p)}: not a valid file name") from None
    # bytes, not str: soundfile encodes a str strictly as UTF-8, which fails for names holding bytes that
    # are not UTF-8 (kept by Python as surrogates, e.g. b"\xff.wav"); the bytes are the real name
    target = str(p) if sys.platform == "win32" else os.fsencode(p)
    from recognizers.io.quiet import native_stderr_silenced
    try:
        with native_stderr_silenced(), sf.SoundFile(target) as f:
            rate = int(f.samplerate)
            frames = f.frames
            if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
                raise AudioFileError(f"{p}: sample rate {rate} Hz is outside {MIN_RATE_HZ}..{MAX_RATE_HZ} Hz "
                                     f"(damaged header?)")
            if frames > max_seconds * rate:
                raise AudioFileError(
                    f"{p}: {frames / rate:.0f} s of audio is longer than the {max_seconds:.0f} s limit")
            if frames * max(1, f.channels) > MAX_DECODED_SAMPLES:
                raise AudioFileError(f"{p}: declares {frames} frames x {f.channels} channels, more than this "
                                     f"program decodes (damaged header?)")
            if frames * sample_rate_hz / rate > MAX_DECODED_SAMPLES:
                raise AudioFileError(f"{safe_text(p)}: {frames / rate:.0f} s at {sample_rate_hz} Hz is more than "
                                     f"{MAX_DECODED_SAMPLES / 1e6:.0f} M samples; split the file")
            data = f.read(dtype="float32", always_2d=True)
    except AudioFileError:
        raise
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError / TypeError
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if msg.startswith("Error opening ") and ": " in msg:    # soundfile repeats the (bytes) name: drop it
            msg = msg.split(": ", 1)[1]
        raise AudioFileError(f"{p}: not a readable audio file ({msg})") from None
    if data.shape[0] == 0:
        raise AudioFileError(f"{p}: contains no audio samples")
    if not np.all(np.isfinite(data)):     # checked before the downmix, which would turn inf + -inf into NaN
        raise AudioFileError(f"{safe_text(p)}: contains invalid (NaN or infinite) samples")
    peak = float(np.max(np.abs(data)))
    if peak > MAX_SAMPLE_MAGNITUDE:      # squared in the log-mel power: 1e30 or 3.4e38 overflow to inf, then NaN
        raise AudioFileError(f"{safe_text(p)}: samples reach {peak:.3g}; audio samples lie in [-1, 1] "
                             f"(a damaged or unscaled float file)")
    mono = to_mono(data)
    return resample(mono, rate, sample_rate_hz)


def write_wav(path: str | os.PathLike, samples: np.ndarray, sample_rate_hz: int = 16000) -> None:
    """Encode ``samples`` (clipped to [-1, 1]) as 16-bit PCM WAV at ``path`` — the one WAV writer: the
    recorder's atomic takes and :func:`save_wav` both use it. libsndfile's errors become ``OSError``."""
    import errno

    import soundfile as sf
    try:
        sf.write(str(path), np.clip(np.asarray(samples, np.float32), -1, 1), int(sample_rate_hz),
                 subtype="PCM_16", format="WAV")
    except RuntimeError as exc:   # libsndfile reports a full disk as a RuntimeError
        raise OSError(errno.EIO, str(exc)) from None


def save_wav(path: str | os.PathLike, samples: np.ndarray, sample_rate_hz: int = 16000) -> None:
    """Write 16-bit PCM WAV atomically: a hidden temporary file beside ``path``, then a rename (never over a
    special file; see :func:`recognizers.io.paths.write_atomically`)."""
    from recognizers.io.paths import write_atomically
    write_atomically(path, lambda tmp: write_wav(tmp, samples, sample_rate_hz), what="WAV file", suffix=".wav")

"""Generated speech-like test sounds shared by the VAD and transcriber tests."""
import numpy as np

SR = 16000


def harmonic_burst(seconds: float, f0: float = 180.0, level: float = 0.2, steady: bool = False) -> np.ndarray:
    """A voiced-like sound: harmonics up to 3.5 kHz of a pitch falling from 1.15 f0 to 0.85 f0, through a
    formant gliding 500 -> 2000 Hz, with a smooth envelope. ``steady``: constant pitch and formant (a tone)."""
    t = np.arange(int(seconds * SR)) / SR
    u = np.zeros_like(t) if steady else t / t[-1]
    f0_t = f0 * (1.15 - 0.3 * u)
    phase = 2 * np.pi * np.cumsum(f0_t) / SR
    formant = 500 + 1500 * u
    x = sum(np.sin(k * phase) * (np.exp(-((k * f0_t - formant) / 400.0) ** 2) + 0.3) / np.sqrt(k)
            for k in range(1, int(3500 / f0)))
    env = np.minimum(1, np.minimum(t, t[-1] - t) / 0.02)
    return (x / np.max(np.abs(x)) * env * level).astype(np.float32)

"""Voice activity detection on generated audio: voiced-like bursts and espeak-ng words found, steady noise,
steady tones and music-like notes ignored."""
import shutil
import subprocess

import numpy as np
import pytest
from speech_sounds import harmonic_burst

from recognizers.data.augment import colored_noise
from recognizers.decoders.vad import VadConfig, VoiceActivityDetector
from recognizers.frontends.log_mel import LogMel

SR = 16000


pytestmark = pytest.mark.usefixtures("one_torch_thread")
HOP_S = 0.01


def run_vad(audio: np.ndarray, config: VadConfig | None = None, block_frames: int = 7):
    frames = LogMel()(audio)
    vad = VoiceActivityDetector(config)
    segments = []
    for s in range(0, frames.shape[0], block_frames):
        segments += vad.push(frames[s:s + block_frames]).segments
    segments += vad.finish().segments
    return vad, segments


def with_noise(audio: np.ndarray, level_db: float = -50.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return audio + colored_noise(audio.size, rng, 1.0) * 10 ** (level_db / 20)


def test_tone_bursts_are_found_with_their_boundaries():
    rng = np.random.default_rng(1)
    parts, truth, pos = [np.zeros(int(0.6 * SR), np.float32)], [], 0.6
    for k in range(6):
        d = rng.uniform(0.2, 0.6)
        parts.append(harmonic_burst(d, f0=120 + 40 * k, level=10 ** rng.uniform(-2, -0.7)))
        truth.append((pos, pos + d))
        pause = rng.uniform(0.15, 0.5)
        parts.append(np.zeros(int(pause * SR), np.float32))
        pos += d + pause
    audio = with_noise(np.concatenate(parts + [np.zeros(SR // 2, np.float32)]))
    _, segs = run_vad(audio)
    ok = [s for s in segs if s.accepted]
    assert len(ok) == len(truth), [(s.start_frame, s.end_frame) for s in segs]
    for s, (a, b) in zip(ok, truth):
        assert abs(s.start_frame * HOP_S - a) < 0.05
        assert abs(s.end_frame * HOP_S + 0.025 - b) < 0.06
        assert s.decided_frame - s.end_frame == VadConfig().frames(VadConfig().hangover_ms)


@pytest.mark.parametrize("colour", [0.0, 1.0, 2.0])
def test_steady_noise_gives_no_words(colour):
    rng = np.random.default_rng(2)
    for level_db in (-60.0, -40.0, -20.0):
        _, segs = run_vad(colored_noise(6 * SR, rng, colour) * 10 ** (level_db / 20))
        assert [s for s in segs if s.accepted] == [], level_db


def test_noise_level_step_is_absorbed_into_the_floor():
    rng = np.random.default_rng(3)
    n = 12 * SR
    gain = np.where(np.arange(n) < 4 * SR, 10 ** (-40 / 20), 10 ** (-30 / 20)).astype(np.float32)
    _, segs = run_vad(colored_noise(n, rng, 1.0) * gain)  # a 10 dB step at 4 s
    assert len(segs) <= 1  # the step itself may look like a sound starting ...
    assert all(s.end_frame < 700 for s in segs)  # ... but within 3 s the floor has followed it


def test_clicks_and_long_tones_are_rejected_by_duration():
    click = np.zeros(int(0.05 * SR), np.float32)
    click[:400] = np.hanning(400) * 0.5
    audio = with_noise(np.concatenate([np.zeros(SR // 2, np.float32), click, np.zeros(SR // 2, np.float32),
                                       harmonic_burst(3.0), np.zeros(SR, np.float32),
                                       harmonic_burst(0.3), np.zeros(SR // 2, np.float32)]))
    vad, segs = run_vad(audio)
    reasons = [s.reason for s in segs if not s.accepted]
    assert "too long" in reasons
    accepted = [s for s in segs if s.accepted]
    assert len(accepted) == 1 and abs(accepted[0].start_frame * HOP_S - 5.05) < 0.05  # only the short burst


def test_memory_is_bounded_and_utterances_end():
    audio = with_noise(np.concatenate([np.zeros(SR // 2, np.float32), harmonic_burst(0.3),
                                       np.zeros(2 * SR, np.float32)]))
    frames = LogMel()(audio)
    vad = VoiceActivityDetector()
    ends = []
    for _ in range(5):
        for s in range(0, frames.shape[0], 13):
            ends += vad.push(frames[s:s + 13]).utterance_ends
        assert len(vad._recent) <= vad._recent.maxlen
    assert len(ends) == 5


def test_inconsistent_settings_are_refused():
    with pytest.raises(ValueError):
        VoiceActivityDetector(VadConfig(onset_db=2.0, offset_db=5.0))


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_espeak_words_are_found(tmp_path):
    from recognizers.io.audio import load_audio
    words = ["seven", "four", "nine", "two"]
    parts, truth, pos = [np.zeros(int(0.5 * SR), np.float32)], [], 0.5
    for w in words:
        path = tmp_path / f"{w}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), w], check=True, capture_output=True)
        x = load_audio(path, SR)
        loud = np.flatnonzero(np.abs(x) > 0.02 * np.abs(x).max())
        x = x[loud[0]:loud[-1] + 1] * 0.3 / np.abs(x).max()
        parts += [x, np.zeros(int(0.2 * SR), np.float32)]
        truth.append((pos, pos + x.size / SR))
        pos += x.size / SR + 0.2
    audio = with_noise(np.concatenate(parts + [np.zeros(SR // 2, np.float32)]), -55.0)
    _, segs = run_vad(audio)
    ok = [s for s in segs if s.accepted]
    assert len(ok) == len(words), [(s.start_frame, s.end_frame, s.reason) for s in segs]
    for s, (a, b) in zip(ok, truth):
        assert abs(s.start_frame * HOP_S - a) < 0.08 and abs(s.end_frame * HOP_S - b) < 0.1


def music_like_notes(rng: np.random.Generator, n_notes: int, note_s: float, level: float) -> np.ndarray:
    """Piano-like notes: a few harmonics at a fixed pitch each, decaying, one after another."""
    t = np.arange(int(note_s * SR)) / SR
    notes = []
    for _ in range(n_notes):
        f0 = 110 * 2 ** (int(rng.integers(0, 36)) / 12)
        notes.append(sum(np.sin(2 * np.pi * f0 * k * t) / k ** 1.2 for k in range(1, 6)) * np.exp(-4 * t))
    x = np.concatenate(notes)
    return (x / np.max(np.abs(x)) * level).astype(np.float32)


def test_steady_tones_and_music_like_notes_are_rejected_as_stationary():
    rng = np.random.default_rng(7)
    sounds = [harmonic_burst(d, f0=f0, level=lv, steady=True)
              for d, f0, lv in [(0.3, 120, 0.2), (0.5, 220, 0.05), (0.8, 440, 0.3), (0.6, 1000, 0.02)]]
    t = np.arange(int(0.5 * SR)) / SR
    sounds += [(0.1 * np.sin(2 * np.pi * f * t)).astype(np.float32) for f in (300.0, 1500.0)]  # pure beeps
    sounds += [music_like_notes(rng, n, d, lv) for n, d, lv in [(2, 0.3, 0.2), (3, 0.25, 0.05), (4, 0.2, 0.3)]]
    parts = [np.zeros(SR // 2, np.float32)]
    for x in sounds:
        parts += [x, np.zeros(int(0.6 * SR), np.float32)]
    _, segs = run_vad(with_noise(np.concatenate(parts)))
    assert len(segs) >= len(sounds) - 2  # the detector hears them ...
    assert [s for s in segs if s.accepted] == [], [(s.start_frame, s.dynamics_db) for s in segs if s.accepted]
    assert sum(s.reason == "stationary" for s in segs) >= len(sounds) - 2  # ... and rejects them as steady


def test_the_stationarity_test_can_be_switched_off():
    audio = with_noise(np.concatenate([np.zeros(SR // 2, np.float32), harmonic_burst(0.4, steady=True),
                                       np.zeros(SR // 2, np.float32)]))
    _, segs = run_vad(audio)
    assert [s.reason for s in segs] == ["stationary"]
    _, segs = run_vad(audio, VadConfig(min_dynamics_db=0.0))
    assert [s.accepted for s in segs] == [True] and segs[0].dynamics_db is None

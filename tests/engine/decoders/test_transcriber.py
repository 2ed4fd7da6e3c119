"""Live transcription: one event per word, nothing on noise, tones or music-like notes, bounded buffers,
block-size invariance, and the ``transcribe`` command.

The mechanics are tested with a tiny untrained network whose output is fixed to one digit (so every VAD
word becomes that digit); recognition itself is tested with the shipped spoken-digit model
(``assets/models/digits-en``) or the model folder named by ``LSTM_VAULT_SPEECH_MODEL``, else skipped.
"""
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from speech_sounds import harmonic_burst
from testdata import ASSETS, shared_data

from recognizers.cli.main import main as cli_main
from recognizers.data.augment import colored_noise, synthetic_non_speech
from recognizers.decoders.words import Transcriber, TranscriberConfig
from recognizers.frontends.log_mel import LogMelConfig
from recognizers.model_files import UNKNOWN_LABEL, LoadedModel, load_model, save_model
from recognizers.nn.classifier import Architecture, SequenceClassifier
from recognizers.pipeline import audio_blocks, run_stream

SR = 16000


pytestmark = pytest.mark.usefixtures("one_torch_thread")
LABELS = [str(d) for d in range(10)] + [UNKNOWN_LABEL]
# the mechanics tests use synthetic harmonic bursts as "words": they test our detector's rules (silero-vad, the
# default, is trained on real speech and does not take these bursts for words; see test_silero_vad.py)
OURS = TranscriberConfig(detector="ours")


def fixed_model(label: str = "3") -> tuple[SequenceClassifier, dict]:
    torch.manual_seed(0)
    net = SequenceClassifier(Architecture(input_size=40, hidden_size=8, num_layers=1, num_classes=len(LABELS)))
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.fill_(0.0)
        net.head.bias[LABELS.index(label)] = 10.0
    meta = {"name": "fixed", "task": "speech", "labels": LABELS, "unknown_label": UNKNOWN_LABEL,
            "frontend": LogMelConfig().to_json(), "decoder": {"reject_threshold": 0.0}}
    return net.eval(), meta


@pytest.fixture(scope="module")
def fixed():
    net, meta = fixed_model()
    return LoadedModel(path=None, network=net, meta=dict(meta, normalization={}), labels=LABELS)


def burst(seconds: float, f0: float = 150.0, level: float = 0.2, steady: bool = False) -> np.ndarray:
    """A voiced-like 'word' (falling pitch, gliding formant: speech never holds still); ``steady``: the same
    harmonics at a constant pitch and colour (a tone, not a word)."""
    return harmonic_burst(seconds, f0, level, steady)


def word_stream(words: list[np.ndarray], pauses: list[float], noise_db: float = -55.0, seed: int = 0):
    """Concatenate ``words`` with ``pauses`` (s) after 0.5 s of lead-in; returns audio and (start, end) times."""
    parts, times, pos = [np.zeros(SR // 2, np.float32)], [], 0.5
    for w, p in zip(words, pauses):
        parts += [w, np.zeros(int(p * SR), np.float32)]
        times.append((pos, pos + w.size / SR))
        pos += w.size / SR + p
    audio = np.concatenate(parts + [np.zeros(SR // 2, np.float32)])
    audio = audio + colored_noise(audio.size, np.random.default_rng(seed), 1.0) * 10 ** (noise_db / 20)
    return audio.astype(np.float32), times


# ------------------------------------------------------------------------------------------------
# Mechanics (fixed-output network)
def test_one_event_per_word_with_times(fixed):
    rng = np.random.default_rng(0)
    words = [burst(rng.uniform(0.2, 0.7), 120 + 30 * k) for k in range(8)]
    audio, times = word_stream(words, [0.15, 0.2, 0.15, 0.4, 0.8, 0.15, 0.3, 0.5])
    tr = Transcriber(fixed, OURS)
    events = run_stream(tr, audio_blocks(audio, 16000))
    assert [e.label for e in events] == ["3"] * len(words)
    assert len(tr.utterance_ends) == 2  # after the 0.8 s pause, and at the end of the stream
    for e, (a, b) in zip(events, times):
        assert abs(e.start_s - a) < 0.05 and abs(e.end_s - b) < 0.05 and e.confidence > 0.99


def test_block_size_does_not_change_the_result(fixed):
    rng = np.random.default_rng(1)
    audio, _ = word_stream([burst(rng.uniform(0.2, 0.6)) for _ in range(4)], [0.2, 0.3, 0.15, 0.5])
    runs = [[(e.label, round(e.start_s, 6), round(e.end_s, 6)) for e in
             run_stream(Transcriber(fixed, OURS, trace=False), audio_blocks(audio, 16000, ms))]
            for ms in (3, 10, 20, 333)]
    assert runs[0] and all(r == runs[0] for r in runs)


def test_network_runs_once_per_frame_and_steps_carry_gates(fixed):
    tr = Transcriber(fixed, OURS)
    audio, _ = word_stream([burst(0.3), burst(0.4)], [0.3, 0.3])
    next_index, _n_frames, active_seen = 0, 0, False
    for s in range(0, audio.size, 320):
        out = tr.push(audio[s:s + 320])
        if out.step.n_frames:
            assert out.step.frame_index == next_index  # frames in order, none twice, none skipped
            assert out.step.gates["layer0_f"].shape == (out.step.n_frames, 8)
            next_index += out.step.n_frames
        active_seen |= out.active
    assert active_seen and next_index == tr.recognizer.frames_done
    assert tr.frames_seen - next_index <= tr._hold  # only the pre-roll is held back outside words
    tr.flush()
    assert tr.recognizer.frames_done == tr.frames_seen


def test_buffers_stay_bounded_on_a_long_stream(fixed):
    tr = Transcriber(fixed, OURS, trace=False)
    rng = np.random.default_rng(2)
    chunk, _ = word_stream([burst(0.3), burst(2.5), burst(0.5)], [0.2, 0.3, 0.2], noise_db=-50, seed=3)
    peak, n_events = 0, 0
    for _ in range(3):  # about 15 s: words, a too-long sound, noise, non-speech sounds
        for x in (chunk, colored_noise(SR, rng, 1.0) * 0.01, synthetic_non_speech(rng, SR)):
            for s in range(0, x.size, 960):
                n_events += len(tr.push(x[s:s + 960]).events)
                peak = max(peak, tr.buffered_frames, len(tr.recognizer.frontend._buffer) // 160)
    assert peak <= tr._hold + tr._max_word
    assert n_events >= 6 and len(tr.rejected) <= tr.rejected.maxlen


def test_flush_closes_an_open_word_and_reset_restarts_time(fixed):
    tr = Transcriber(fixed, OURS)
    audio = np.concatenate([np.zeros(SR // 2, np.float32), burst(0.4)])  # stream ends inside the word
    assert run_stream(tr, audio_blocks(audio, 16000))[0].label == "3"
    tr.reset()
    events = run_stream(tr, audio_blocks(audio, 16000))
    assert len(events) == 1 and abs(events[0].start_s - 0.5) < 0.05


def test_a_steady_tone_is_no_word_even_for_a_network_that_always_says_a_digit(fixed):
    audio, _ = word_stream([burst(0.4, steady=True), burst(0.4), burst(0.6, 220, steady=True)], [0.4, 0.4, 0.4])
    tr = Transcriber(fixed, OURS, trace=False)
    events = run_stream(tr, audio_blocks(audio, 16000))
    assert len(events) == 1 and abs(events[0].start_s - 1.3) < 0.05  # only the gliding 'word'
    assert [r["reason"] for r in tr.rejected] == ["stationary", "stationary"]


def test_gesture_models_are_refused(fixed):
    from recognizers.errors import VaultError
    gesture = LoadedModel(path=None, network=fixed.network, meta=dict(fixed.meta, task="gesture"), labels=LABELS)
    with pytest.raises(VaultError):
        Transcriber(gesture)


# ------------------------------------------------------------------------------------------------
# The command line
def test_cli_json_and_bad_file(tmp_path, capsys):
    from recognizers.io.audio import save_wav
    net, meta = fixed_model("7")
    model_dir = save_model(tmp_path / "fixed", net, meta)
    audio, _ = word_stream([burst(0.3), burst(0.5)], [0.3, 0.3])
    save_wav(tmp_path / "a.wav", audio)
    assert cli_main(["transcribe", "--model", str(model_dir), str(tmp_path / "a.wav"), "--json", "--vad", "ours"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [w["label"] for w in out] == ["7", "7"]
    assert set(out[0]) == {"label", "start_s", "end_s", "confidence"} and out[0]["start_s"] < out[0]["end_s"]
    assert cli_main(["transcribe", "--model", str(model_dir), str(tmp_path / "a.wav"), "--vad", "ours"]) == 0
    assert "7" in capsys.readouterr().out
    (tmp_path / "bad.wav").write_bytes(b"RIFF but not really a wav file")
    assert cli_main(["transcribe", "--model", str(model_dir), str(tmp_path / "bad.wav")]) == 2
    assert "bad.wav" in capsys.readouterr().err
    assert cli_main(["transcribe", "--model", str(tmp_path / "missing"), str(tmp_path / "a.wav")]) == 2


# ------------------------------------------------------------------------------------------------
# Recognition with a real spoken-digit model
def digit_model_dir() -> Path:
    for p in (os.environ.get("LSTM_VAULT_SPEECH_MODEL"), ASSETS / "digits-en"):
        if p and (Path(p) / "model.json").is_file():
            return Path(p)
    pytest.skip("no spoken-digit model: assets/models/digits-en is absent and LSTM_VAULT_SPEECH_MODEL is unset")


@pytest.fixture(scope="module")
def digits():
    return load_model(digit_model_dir(), task="speech")


def test_fsdd_words_separated_by_short_pauses_are_each_transcribed(digits):
    from recognizers.bench.transcription import build_word_stream, load_clips, unseen_speakers
    fsdd = shared_data("fsdd")
    # a speaker the model never heard if FSDD has one, else theo (then the test checks segmentation more
    # than generalisation)
    fsdd_speakers = {p.stem.split("_")[1] for p in (fsdd / "recordings").glob("*_*_*.wav")}
    speakers = [s for s in unseen_speakers(digits) if s in fsdd_speakers] or ["theo"]
    picked = load_clips(fsdd, speakers[:1], SR, [str(d) for d in range(10)], limit=20, seed=4)
    assert len(picked) == 20
    rng = np.random.default_rng(4)
    audio, refs = build_word_stream(picked, rng, SR, pause_s=(0.15, 0.4), snr_db=30.0)
    tr = Transcriber(digits, TranscriberConfig(min_confidence=0.0), trace=False)
    events = run_stream(tr, audio_blocks(audio, 16000))
    # one event per word (at confidence 0 only the unknown label and the VAD can drop a word) ...
    assert abs(len(events) - len(refs)) <= 2, tr.rejected
    matched = sum(any(min(e.end_s, r.end_s) - max(e.start_s, r.start_s) > 0 and e.label == r.label
                      for e in events) for r in refs)
    assert matched >= 0.7 * len(refs)  # ... and mostly the right digit (speaker unseen in training)


def test_noise_and_tones_produce_no_words(digits):
    rng = np.random.default_rng(5)
    parts = [colored_noise(3 * SR, rng, c) * 0.02 for c in (0.0, 1.0, 2.0)]
    t = np.arange(SR) / SR
    parts += [0.2 * np.sin(2 * np.pi * f * t).astype(np.float32) for f in (440.0, 1000.0, 2500.0)]
    # word-length harmonic tones and music-like notes (steady pitch and colour, decaying), the sounds the
    # network alone most often took for a digit
    parts += [burst(d, f0, level, steady=True) for d, f0, level in [(0.3, 110, 0.2), (0.5, 200, 0.05), (0.8, 330, 0.3)]]
    tn = np.arange(int(0.2 * SR)) / SR
    for n_notes in (2, 3, 4):
        notes = [sum(np.sin(2 * np.pi * f0 * k * tn) / k ** 1.5 for k in range(1, 5)) * np.exp(-3 * tn)
                 for f0 in 110 * 2 ** (rng.integers(0, 36, n_notes) / 12)]
        parts.append((0.1 * np.concatenate(notes) / np.max(np.abs(np.concatenate(notes)))).astype(np.float32))
    parts += [np.zeros(SR // 3, np.float32)]
    audio = np.concatenate([np.concatenate([p, np.zeros(SR // 2, np.float32)]) for p in parts])
    audio = audio + colored_noise(audio.size, rng, 1.0) * 1e-3
    assert run_stream(Transcriber(digits, trace=False), audio_blocks(audio, 16000)) == []


def test_benchmark_speaks_words_only_never_silence_clips(tmp_path):
    """The 12-class commands set has a _silence_ class: the benchmark must not put its clips in a word stream
    as words to transcribe (the transcriber never emits _silence_, so each would count as a deletion)."""
    import soundfile as sf

    from recognizers.bench.transcription import load_clips
    from recognizers.decoders.words import spoken_words
    commands = load_model(ASSETS / "commands-en", task="speech")
    words = spoken_words(commands)
    assert "_silence_" in commands.labels and "_silence_" not in words and UNKNOWN_LABEL not in words
    assert len(words) == len(commands.labels) - 2
    rng = np.random.default_rng(0)
    rows = ["path,label,speaker"]
    for label in ("yes", "_silence_", "_unknown_"):
        (tmp_path / label).mkdir()
        sf.write(tmp_path / label / "a.wav", (0.1 * rng.standard_normal(SR // 2)).astype(np.float32), SR)
        rows.append(f"{label}/a.wav,{label},sc-1")
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    assert [lab for lab, _ in load_clips(tmp_path, ["sc-1"], SR, words)] == ["yes"]
    assert len(load_clips(tmp_path, ["sc-1"], SR, None)) == 3

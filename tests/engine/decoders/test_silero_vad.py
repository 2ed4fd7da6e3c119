"""silero-vad beside our VAD: the model loads from the installed wheel (no download), speech scores high and
silence low, block size does not change the segments, and the Transcriber and ``transcribe --vad`` use it."""
from __future__ import annotations

import numpy as np
import pytest
from testdata import ASSETS, shared_data

from recognizers.data.augment import colored_noise
from recognizers.decoders.silero_vad import SileroProbability, SileroVoiceDetector, silero_model_path
from recognizers.decoders.words import Transcriber, TranscriberConfig
from recognizers.errors import VaultError
from recognizers.io.audio import load_audio
from recognizers.pipeline import audio_blocks, run_stream

SR = 16000
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def fsdd_stream(n: int = 4, seed: int = 0) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    files = sorted((shared_data("fsdd") / "recordings").glob("*_jackson_*.wav"))
    rng = np.random.default_rng(seed)
    parts, refs, pos = [np.zeros(SR // 2, np.float32)], [], 0.5
    for f in rng.choice(files, n, replace=False):
        x = load_audio(f, SR)
        x = 0.5 * x / np.max(np.abs(x))
        parts += [x, np.zeros(int(0.5 * SR), np.float32)]
        refs.append((f.name.split("_")[0], pos, pos + x.size / SR))
        pos += x.size / SR + 0.5
    audio = np.concatenate(parts + [np.zeros(SR // 2, np.float32)])
    return (audio + 1e-3 * colored_noise(audio.size, rng, 1.0)).astype(np.float32), refs


def test_model_file_comes_from_the_wheel():
    p = silero_model_path()
    assert p.is_file() and p.suffix == ".onnx" and "silero_vad" in p.parts


def test_speech_scores_high_and_silence_low():
    audio, refs = fsdd_stream(2)
    prob = SileroProbability(SR)
    probs = np.array(prob.push(audio))
    t = (np.arange(probs.size) + 0.5) * prob.chunk / SR
    inside = np.zeros(probs.size, bool)
    for _, a, b in refs:
        inside |= (t > a) & (t < b)
    assert probs[inside].max() > 0.8
    assert np.median(probs[~inside]) < 0.2
    with pytest.raises(VaultError, match="8 or 16 kHz"):
        SileroProbability(22050)


def detect(audio: np.ndarray, block: int):
    from recognizers.frontends.log_mel import LogMelConfig, StreamingLogMel
    fe = StreamingLogMel(LogMelConfig())
    vad = SileroVoiceDetector(sample_rate_hz=SR, hop_length=fe.config.hop_length, span_length=fe.config.span_length)
    segs, starts = [], []
    for s in range(0, audio.size, block):
        x = audio[s:s + block]
        vad.push_samples(x)
        upd = vad.push(fe.push(x))
        segs += upd.segments
        starts += upd.starts
    segs += vad.finish().segments
    return [(g.start_frame, g.end_frame, g.accepted) for g in segs], starts


def test_block_size_does_not_change_the_segments():
    audio, refs = fsdd_stream(3, seed=1)
    runs = [detect(audio, b) for b in (160, 333, 512, 4000)]
    assert len([s for s in runs[0][0] if s[2]]) == len(refs)
    assert all(r == runs[0] for r in runs)
    for (a, b, ok), (_, t0, t1) in zip(runs[0][0], refs):
        assert abs(a * 0.01 - t0) < 0.1 and abs(b * 0.01 + 0.025 - t1) < 0.15


@pytest.fixture(scope="module")
def digits():
    from recognizers.model_files import load_model
    path = ASSETS / "digits-en"
    if not (path / "model.json").is_file():
        pytest.skip("assets/models/digits-en is absent")
    return load_model(path, task="speech")


def test_transcriber_with_silero_finds_the_words(digits):
    audio, refs = fsdd_stream(4, seed=2)
    tr = Transcriber(digits, TranscriberConfig(detector="silero", min_confidence=0.0), trace=False)
    events = run_stream(tr, audio_blocks(audio, SR, 20))
    assert len(events) == len(refs), tr.rejected
    right = sum(e.label == lab and min(e.end_s, b) > max(e.start_s, a) for e, (lab, a, b) in zip(events, refs))
    assert right >= len(refs) - 1            # jackson is a training speaker: the detector is what is tested
    tr.reset()
    assert [e.label for e in run_stream(tr, audio_blocks(audio, SR, 20))] == [e.label for e in events]
    with pytest.raises(VaultError, match="push\\(samples\\)"):
        tr.push_frames(np.zeros((3, 40), np.float32))


def test_unknown_detector_is_one_line(digits):
    with pytest.raises(VaultError, match="ours or silero"):
        Transcriber(digits, TranscriberConfig(detector="webrtc"))


def test_cli_vad_option(digits, tmp_path, capsys):
    import json

    from testdata import write_wav

    from recognizers.cli.main import main as cli_main
    audio, refs = fsdd_stream(3, seed=3)
    wav = write_wav(tmp_path / "s.wav", audio, SR)
    out = {}
    logmel = digits.frontend_config.get("type", "logmel") == "logmel"
    for vad in ("ours", "silero"):
        rc = cli_main(["transcribe", "--model", str(digits.path), str(wav), "--vad", vad, "--json"])
        if vad == "ours" and not logmel:   # a speech-embedding model has no log-mel frames for our detector
            err = capsys.readouterr().err.strip().splitlines()
            assert rc == 2 and len(err) == 1 and "log-mel frames" in err[0] and "--vad silero" in err[0]
            continue
        assert rc == 0
        out[vad] = [e["label"] for e in json.loads(capsys.readouterr().out)]
        assert len(out[vad]) == len(refs)
    with pytest.raises(SystemExit) as exc:
        cli_main(["transcribe", "--model", str(digits.path), str(wav), "--vad", "webrtc"])
    assert exc.value.code == 2


def test_steady_tones_are_no_words_with_the_stationarity_test():
    """silero alone opened words on short synthetic tones (docs/vad.md); our shape test on its segments
    rejects a steady harmonic tone of word length."""
    from speech_sounds import harmonic_burst

    from recognizers.frontends.log_mel import LogMelConfig, StreamingLogMel
    parts = [np.zeros(SR // 2, np.float32)]
    for d, f0, level in [(0.3, 110, 0.2), (0.5, 200, 0.05), (0.8, 330, 0.3)]:
        parts += [harmonic_burst(d, f0, level, True), np.zeros(SR // 2, np.float32)]
    audio = np.concatenate(parts) + 1e-3 * colored_noise(sum(p.size for p in parts), np.random.default_rng(0), 1.0)
    fe = StreamingLogMel(LogMelConfig())
    vad = SileroVoiceDetector(sample_rate_hz=SR, hop_length=fe.config.hop_length, span_length=fe.config.span_length)
    segs = []
    for s in range(0, audio.size, 320):
        x = audio[s:s + 320].astype(np.float32)
        vad.push_samples(x)
        segs += vad.push(fe.push(x)).segments
    segs += vad.finish().segments
    assert not [g for g in segs if g.accepted], segs

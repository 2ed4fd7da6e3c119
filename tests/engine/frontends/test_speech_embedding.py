"""The pretrained speech-embedding frontend: shipped files checked, streaming == offline, causal frame geometry,
bad settings refused, the training task's features, and a Transcriber on such a model (silero-vad finds the words;
the long-run companion with its own log-mel frontend still reads digits said in one breath)."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import torch

from recognizers.data.speech import SpeechTaskData
from recognizers.decoders.words import Transcriber, TranscriberConfig
from recognizers.errors import ModelFileError, VaultError
from recognizers.frontends import speech_embedding as se
from recognizers.frontends.registry import frontend_config, make_frontend, offline_features
from recognizers.model_files import UNKNOWN_LABEL, LoadedModel
from recognizers.nn.classifier import Architecture, SequenceClassifier

SR = 16000
CFG = {"type": "speech-embedding", "backbone": "google-speech-embedding-1", "sample_rate_hz": 16000}
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def noise(seconds: float, seed: int = 0, level: float = 0.05) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def test_backbone_files_are_the_shipped_ones(tmp_path):
    files = se.backbone_files("google-speech-embedding-1")
    assert [p.name for p in files] == ["melspectrogram.onnx", "embedding_model.onnx"]
    for p in files:
        shutil.copy(p, tmp_path / p.name)
    damaged = tmp_path / "embedding_model.onnx"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(VaultError, match="not the shipped one"):
        se.backbone_files("google-speech-embedding-1", tmp_path)
    (tmp_path / "melspectrogram.onnx").unlink()
    with pytest.raises(VaultError, match="cannot be read"):
        se.backbone_files("google-speech-embedding-1", tmp_path)


@pytest.mark.parametrize("bad, why", [
    ({**CFG, "backbone": "../../evil"}, "not one this version ships"),
    ({**CFG, "sample_rate_hz": 8000}, "16000 Hz"),
    ({**CFG, "model_path": "/tmp/x.onnx"}, "unknown speech-embedding frontend settings"),
    ({**CFG, "type": "logmel-ish"}, "unknown feature frontend"),
])
def test_bad_settings_are_refused(bad, why):
    with pytest.raises(ModelFileError, match=why):
        frontend_config(bad)


def test_stream_in_any_blocks_gives_the_offline_frames():
    x = np.concatenate([np.zeros(SR // 2, np.float32), noise(2.3, 1)])
    whole = offline_features(CFG, x)
    assert whole.shape == (x.size // 1280, 96)
    rng = np.random.default_rng(0)
    for sizes in ([1], [320], [1280], [7000], None):
        fe = make_frontend(CFG)
        parts, i = [], 0
        while i < x.size:
            n = int(rng.integers(1, 3000)) if sizes is None else sizes[0] * (50 if sizes[0] == 1 else 1)
            parts.append(fe.push(x[i:i + n]))
            i += n
        got = np.concatenate(parts)
        assert got.shape == whole.shape
        assert np.abs(got - whole).max() < 1e-3 * max(1.0, np.abs(whole).max())
    fe.reset()
    assert np.abs(fe.push(x) - whole).max() < 1e-3 * np.abs(whole).max()


def test_frames_are_causal_and_read_the_last_782_ms():
    x = noise(3.0, 2, 0.01)
    base = offline_features(CFG, x)
    t = int(1.5 * SR)
    y = x.copy()
    y[t:t + 160] += 0.5          # a click at 1.5 s
    moved = np.abs(offline_features(CFG, y) - base).max(axis=1) > 1e-2
    k = np.flatnonzero(moved)
    # frame k reads samples [1280 (k + 1) - 12512, 1280 (k + 1)): none before the click changes, and nothing
    # later than its window
    assert k.min() == t // 1280
    assert k.max() <= (t + 160 + se.SPAN) // 1280
    assert not moved[: t // 1280].any()


def test_training_features_clean_and_augmented():
    task = SpeechTaskData(frontend=se.SpeechEmbeddingConfig())
    assert task.spec_augment is False and task.frontend_json == CFG
    x = noise(1.0, 3)
    clean = task.features(x)
    np.testing.assert_allclose(clean, offline_features(CFG, x), atol=1e-4)
    a = task.features(x, np.random.default_rng(5))
    b = task.features(x, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)              # the same rng: the same augmented features
    assert a.shape[1] == 96 and 12 <= a.shape[0] <= 12 + 3
    assert task.features(np.zeros(100, np.float32)).shape == (1, 96)   # shorter than a frame: one frame


def test_context_augmentation_puts_an_earlier_clip_before_and_keeps_two_frames_of_it():
    from recognizers.data.speech import SpeechAugmentConfig
    aug = SpeechAugmentConfig(audio_prob=1.0, context_prob=1.0, noise_prob=0.0, speed_range=(1.0, 1.0),
                              pad_max_s=0.0, gain_db_range=(0.0, 0.0), embedding_noise=0.0,
                              context_s=(0.48, 0.48), context_gap_s=(0.16, 0.16))   # 6 + 2 frames before the clip
    task = SpeechTaskData(frontend=se.SpeechEmbeddingConfig(), augmentation=aug)
    rng = np.random.default_rng(0)
    first, clip = noise(1.0, 3), noise(1.0, 4)
    assert task.features(first, rng).shape[0] == 12          # nothing earlier yet: no context
    with_context = task.features(clip, rng)
    clean = task.features(clip)
    assert with_context.shape == (12 + 2, 96)                # the network sees the clip from 2 frames before it
    np.testing.assert_allclose(with_context[-1], clean[-1], atol=1e-3)   # a window inside the clip: unchanged
    assert np.abs(with_context[2] - clean[0]).max() > 0.1    # the clip's first frame hears the earlier clip
    off = SpeechTaskData(frontend=se.SpeechEmbeddingConfig(),
                         augmentation=SpeechAugmentConfig(**{**aug.__dict__, "context_prob": 0.0}))
    for x in (first, clip):
        assert off.features(x, rng).shape[0] == 12


def fixed_embedding_model(label: str) -> LoadedModel:
    labels = [str(d) for d in range(10)] + [UNKNOWN_LABEL]
    torch.manual_seed(0)
    net = SequenceClassifier(Architecture(input_size=96, hidden_size=8, num_layers=1, num_classes=len(labels)))
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.zero_()
        net.head.bias[labels.index(label)] = 10.0
    meta = {"name": "fixed-embedding", "task": "speech", "labels": labels, "unknown_label": UNKNOWN_LABEL,
            "frontend": dict(CFG), "decoder": {"reject_threshold": 0.0}, "normalization": {}}
    return LoadedModel(path=None, network=net.eval(), meta=meta, labels=labels)


def espeak(text: str) -> np.ndarray:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (bash scripts/setup.sh test installs it)")
    import io

    import soundfile as sf
    wav = subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "--stdout", text], capture_output=True,
                         check=True).stdout
    x, rate = sf.read(io.BytesIO(wav), dtype="float32")
    from recognizers.io.audio import resample
    return resample(x, rate, SR) if rate != SR else x


def test_transcriber_finds_each_word_with_silero():
    word = espeak("seven")
    gap = np.zeros(int(0.8 * SR), np.float32)
    audio = np.concatenate([gap, word, gap, word, gap, word, gap])
    audio = audio + 1e-3 * np.random.default_rng(0).standard_normal(audio.size).astype(np.float32)
    tr = Transcriber(fixed_embedding_model("3"), trace=False, long_runs=None)
    events = []
    for i in range(0, audio.size, 640):
        events += tr.push(audio[i:i + 640]).events
    events += tr.flush()
    assert [e.label for e in events] == ["3", "3", "3"]
    starts = [0.8 + k * (word.size / SR + 0.8) for k in range(3)]
    for e, s in zip(events, starts):
        assert abs(e.start_s - s) < 0.3 and e.end_s > e.start_s
    with pytest.raises(VaultError, match="log-mel frames"):
        Transcriber(fixed_embedding_model("3"), TranscriberConfig(detector="ours"), long_runs=None)


def test_a_word_cut_by_one_quiet_frame_is_one_word_a_pause_makes_two():
    w = espeak("eight")
    idx = np.flatnonzero(np.abs(w) > 0.01)
    word = w[idx[0]:idx[-1] + 1]                 # no silence of its own
    lead = np.zeros(int(0.8 * SR), np.float32)

    def events(gap_s: float, dip_frames: int) -> list:
        audio = np.concatenate([lead, word, np.zeros(int(gap_s * SR), np.float32), word, lead])
        audio = audio + 1e-3 * np.random.default_rng(0).standard_normal(audio.size).astype(np.float32)
        tr = Transcriber(fixed_embedding_model("3"), TranscriberConfig(same_word_dip_frames=dip_frames),
                         trace=False, long_runs=None)
        out = []
        for i in range(0, audio.size, 640):
            out += tr.push(audio[i:i + 640]).events
        return out + tr.flush()

    # a 150 ms gap leaves one quiet 80 ms frame: silero-vad ends the word there and opens another
    assert len(events(0.15, 0)) == 2
    assert [e.label for e in events(0.15, 1)] == ["3"]           # the same label right after: its second half
    assert [e.label for e in events(0.4, 1)] == ["3", "3"]       # a real pause: two words


def test_a_word_is_read_isolated_from_the_word_before_it():
    """The embedding's frame reads the last 0.78 s, so a word's first frames hold the word before it. Isolated
    (the default), the network sees a word's first frames computed from the word's own samples with silence
    before them, as in training clips; later frames are the stream's own."""
    first_word, second_word = espeak("seven"), espeak("eight")
    rng = np.random.default_rng(0)
    audio = np.concatenate([np.zeros(int(0.8 * SR), np.float32), first_word, np.zeros(int(0.25 * SR), np.float32),
                            second_word, np.zeros(int(0.8 * SR), np.float32)])
    audio = audio + 1e-3 * rng.standard_normal(audio.size).astype(np.float32)
    stream = make_frontend(CFG).push(audio)          # the stream's own frames
    hop = se.HOP
    tol = 1e-3 * max(1.0, float(np.abs(stream).max()))   # blockwise == whole, to the network's float error

    def close(a, b) -> bool:
        return float(np.abs(np.asarray(a) - np.asarray(b)).max()) < tol

    def fed(isolate: bool) -> tuple[dict[int, np.ndarray], list, Transcriber]:
        tr = Transcriber(fixed_embedding_model("3"), TranscriberConfig(isolate_words=isolate), trace=False,
                         long_runs=None)
        seen, events = {}, []
        for i in range(0, audio.size, 640):
            d = tr.push(audio[i:i + 640])
            seen.update({d.step.frame_index + j: d.step.features[j] for j in range(d.step.n_frames)})
            events += d.events
            assert tr.buffered_samples <= (tr.buffered_frames + 9 + 2) * hop + 640   # bounded: 9 frames of context
        return seen, events + tr.flush(), tr

    plain, plain_events, _ = fed(False)
    assert all(close(plain[k], stream[k]) for k in plain)

    seen, events, tr = fed(True)
    assert len(events) == len(plain_events) == 2
    start = int(round(events[1].start_s / tr.hop_s))
    # the isolated context's first frame c (after the first word, fewer than 9 frames before the word's start):
    # the word's frames up to c + 8 come from the samples from c on with silence before, later ones are the stream's
    found = [c for c in range(start - 8, start + 1)
             if all(close(seen[k], make_frontend(CFG).push(audio[c * hop:])[k - c]) for k in range(start, c + 9))]
    assert len(found) == 1, found
    c = found[0]
    assert not close(seen[start], stream[start])      # the stream's frame holds the first word
    assert all(close(seen[k], stream[k]) for k in seen if k >= c + 9)
    assert c * hop > np.flatnonzero(np.abs(audio[:int(0.8 * SR) + first_word.size]) > 0.05)[-1] - 0.1 * SR


def test_long_run_companion_reads_from_its_own_frontend():
    from recognizers.decoders.long_runs import find_companion
    model = fixed_embedding_model("_unknown_")
    companion = find_companion(model)
    if companion is None:
        pytest.skip("no shipped connected-digit model (assets/models/digits-connected-en)")
    tr = Transcriber(model, trace=False, long_runs=companion)
    assert tr.long_runs is not None and tr.long_runs.own_frontend
    audio = np.concatenate([np.zeros(SR // 2, np.float32), espeak("three one four one five nine two six"),
                            np.zeros(SR, np.float32)])
    events = []
    for i in range(0, audio.size, 640):
        events += tr.push(audio[i:i + 640]).events
    events += tr.flush()
    digits = [e.label for e in events]
    assert len(digits) >= 4 and set(digits) <= set("0123456789")
    assert all(0.3 < e.start_s < audio.size / SR for e in events)


def test_a_speech_embedding_model_adapts_and_keeps_its_frontend(tmp_path):
    """``adapt`` on a model that reads the embedding: the takes go through the same frontend, the adapted model
    reads it too, and it classifies its own takes at least as well as before."""
    import io

    import soundfile as sf

    from recognizers.model_files import save_model
    from recognizers.training.adapt import AdaptConfig, adapt
    torch.manual_seed(1)
    labels = ["one", "two", UNKNOWN_LABEL]
    net = SequenceClassifier(Architecture(input_size=96, hidden_size=16, num_layers=1, num_classes=3))
    base = save_model(tmp_path / "base", net, {"name": "emb", "task": "speech", "labels": labels,
                                               "unknown_label": UNKNOWN_LABEL, "frontend": dict(CFG),
                                               "decoder": {"reject_threshold": 0.0, "lead_silence_s": 0.2}})
    takes = tmp_path / "takes"
    for word in ("one", "two"):
        (takes / word).mkdir(parents=True)
        for k, speed in enumerate((130, 160, 190)):
            if shutil.which("espeak-ng") is None:
                pytest.skip("espeak-ng is not installed (bash scripts/setup.sh test installs it)")
            wav = subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(speed), "--stdout", word],
                                 capture_output=True, check=True).stdout
            x, rate = sf.read(io.BytesIO(wav), dtype="float32")
            sf.write(str(takes / word / f"me__{k}.wav"), x, rate)
    res = adapt(base, takes, tmp_path / "adapted", AdaptConfig(epochs=6, lr=3e-3, seed=0))
    assert res.model_dir is not None
    from recognizers.model_files import load_model
    adapted = load_model(res.model_dir)
    assert adapted.frontend_config == CFG
    used = adapted.meta["adaptation"]["config"]          # unset fields: the speech-embedding recipe
    from recognizers.training.adapt import RECIPES
    assert used["lr"] == 3e-3 and used["epochs"] == 6
    assert used["l2sp"] == RECIPES["speech-embedding"]["l2sp"]
    assert used["negatives"] == RECIPES["speech-embedding"]["negatives"]
    assert res.takes_accuracy_after > res.takes_accuracy_before      # from random weights
    assert res.takes_accuracy_after >= 0.8                           # 5 of 6 takes or better

"""Connected digits (CTC): greedy decoding, the streaming decoder's events and times, the CLI, training,
and the shipped model on FSDD digits joined without pauses."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from speech_sounds import harmonic_burst
from testdata import ASSETS, shared_data

from recognizers.cli.main import main as cli_main
from recognizers.data.connected_digits import voiced_part
from recognizers.decoders.ctc import ConnectedTranscriber, ctc_greedy, is_ctc_model
from recognizers.frontends.log_mel import LogMelConfig
from recognizers.model_files import UNKNOWN_LABEL, LoadedModel, load_model, save_model
from recognizers.nn.classifier import Architecture, SequenceClassifier
from recognizers.pipeline import audio_blocks, run_stream

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SR = 16000
LABELS = [str(d) for d in range(10)] + [UNKNOWN_LABEL]
SHIPPED = ASSETS / "digits-connected-en"


def test_greedy_decoding_collapses_runs_and_drops_blank():
    B = 3
    seq = [B, B, 1, 1, 1, B, 1, 2, 2, B, B, 0]       # 1, then 1 again after a blank, 2 right after, 0 at the end
    probs = np.full((len(seq), 4), 0.1, np.float32)
    for t, c in enumerate(seq):
        probs[t, c] = 0.7 + 0.01 * t
    got = ctc_greedy(probs, blank=B)
    assert [(c, a, b) for c, a, b, _ in got] == [(1, 2, 4), (1, 6, 6), (2, 7, 8), (0, 11, 11)]
    assert got[0][3] == pytest.approx(0.74)            # the run's highest probability
    assert ctc_greedy(np.eye(4, dtype=np.float32)[[B] * 5], blank=B) == []


def loud_is_three_model() -> LoadedModel:
    """A CTC model whose network says "3" while the input is loud and blank otherwise: one LSTM unit
    follows the frame energy (input and output gates open, no memory), the head reads it."""
    torch.manual_seed(0)
    net = SequenceClassifier(Architecture(input_size=40, hidden_size=4, num_layers=1, num_classes=11))
    H = 4
    with torch.no_grad():
        lstm = net.lstm.layers[0]
        for p in lstm.parameters():
            p.zero_()
        lstm.bias_ih_l0[:H] = 20.0            # i = 1
        lstm.bias_ih_l0[H:2 * H] = -20.0      # f = 0: no memory
        lstm.bias_ih_l0[3 * H:] = 20.0        # o = 1
        lstm.weight_ih_l0[2 * H:3 * H] = 0.5 / 40   # g = tanh(0.5 * mean log-mel + b)
        lstm.bias_ih_l0[2 * H:3 * H] = 4.0    # log-mel of silence ~ -13, of a loud burst ~ -2 or more
        net.head.weight.zero_()
        net.head.bias.zero_()
        net.head.weight[3] = 20.0             # "3" when the unit is high, else the blank wins
        net.head.bias[3] = -10.0
    meta = {"name": "loud3", "task": "speech", "labels": LABELS, "unknown_label": UNKNOWN_LABEL,
            "frontend": LogMelConfig().to_json(), "decoder": {"type": "ctc", "blank": UNKNOWN_LABEL},
            "normalization": {}}
    return LoadedModel(path=None, network=net.eval(), meta=meta, labels=LABELS)


def stream(words, pauses, noise_db=-60.0):
    rng = np.random.default_rng(0)
    parts, times, pos = [np.zeros(SR // 2, np.float32)], [], 0.5
    for w, p in zip(words, pauses):
        parts += [w, np.zeros(int(p * SR), np.float32)]
        times.append((pos, pos + w.size / SR))
        pos += w.size / SR + p
    audio = np.concatenate(parts + [np.zeros(SR, np.float32)])
    return (audio + rng.standard_normal(audio.size).astype(np.float32) * 10 ** (noise_db / 20)), times


def test_each_run_becomes_one_event_at_its_time_whatever_the_block_size():
    model = loud_is_three_model()
    assert is_ctc_model(model)
    audio, times = stream([harmonic_burst(0.3), harmonic_burst(0.5), harmonic_burst(0.25)], [0.4, 0.3, 0.5])
    runs = []
    for ms in (10, 20, 333):
        events = run_stream(ConnectedTranscriber(model, trace=False), audio_blocks(audio, 16000, ms))
        runs.append([(e.label, round(e.start_s, 3), round(e.end_s, 3)) for e in events])
        assert [e.label for e in events] == ["3", "3", "3"]
        for e, (a, b) in zip(events, times):
            assert abs(e.start_s - a) < 0.08 and abs(e.end_s - b) < 0.08
    assert runs[0] == runs[1] == runs[2]


def test_silence_gives_nothing_and_the_state_restarts_after_a_pause():
    model = loud_is_three_model()
    tr = ConnectedTranscriber(model, trace=True)
    quiet, _ = stream([], [])
    assert run_stream(tr, audio_blocks(quiet, 16000)) == []
    out = tr.push(np.zeros(320, np.float32))
    assert out.step.gates and out.step.gates["layer0_h"].shape == (2, 4)
    # a word that is still open at the end of the stream comes out of flush()
    tr.reset()
    ev = [e for s in range(0, SR // 2 + 8000, 320)
          for e in tr.push(np.concatenate([np.zeros(SR // 2, np.float32), harmonic_burst(0.5)])[s:s + 320]).events]
    assert ev == [] and [e.label for e in tr.flush()] == ["3"]
    # after a word and reset_after_ms of silence the LSTM state is zeroed, once (not again and again)
    tr.reset()
    resets = []
    reset_state = tr.recognizer.reset_state
    tr.recognizer.reset_state = lambda: (resets.append(tr._frame), reset_state())
    audio, _ = stream([harmonic_burst(0.3)], [1.5])
    run_stream(tr, audio_blocks(audio, 16000))
    assert len(resets) == 1


def test_single_word_models_are_refused_and_cli_transcribes_with_ctc(tmp_path, capsys):
    model = loud_is_three_model()
    plain = LoadedModel(path=None, network=model.network, meta=dict(model.meta, decoder={}), labels=LABELS)
    with pytest.raises(Exception, match="CTC"):
        ConnectedTranscriber(plain)
    folder = save_model(tmp_path / "loud3", model.network, {k: v for k, v in model.meta.items()
                                                             if k != "normalization"})
    audio, _ = stream([harmonic_burst(0.3), harmonic_burst(0.4)], [0.3, 0.5])
    wav = tmp_path / "two.wav"
    sf.write(wav, audio, SR)
    assert cli_main(["transcribe", "--model", str(folder), str(wav), "--json"]) == 0
    assert [e["label"] for e in json.loads(capsys.readouterr().out)] == ["3", "3"]


def test_train_connected_writes_a_ctc_model(tmp_path, capsys):
    torch.manual_seed(1)
    init = save_model(tmp_path / "init", SequenceClassifier(Architecture(input_size=40, hidden_size=8,
                                                                         num_layers=1, num_classes=11)),
                      {"name": "init", "task": "speech", "labels": LABELS, "unknown_label": UNKNOWN_LABEL,
                       "frontend": LogMelConfig().to_json(), "decoder": {}})
    data = tmp_path / "digits"
    for d in range(10):
        (data / str(d)).mkdir(parents=True)
        for spk, f0 in (("alice", 140), ("bob", 200)):
            sf.write(data / str(d) / f"{d}_{spk}_0.wav", harmonic_burst(0.25, f0 + 8 * d), SR)
    assert cli_main(["train-connected", "--data", str(data), "--init", str(init), "--out", str(tmp_path / "ctc"),
                     "--epochs", "1", "--sequences-per-epoch", "8", "--batch-size", "4",
                     "--val-groups", "bob"]) == 0
    assert "validation digit accuracy" in capsys.readouterr().out
    m = load_model(tmp_path / "ctc")
    assert is_ctc_model(m) and m.labels == LABELS
    assert m.meta["training"]["config"]["val_groups"] == ["bob"]


def test_voiced_part_trims_silence():
    x = np.concatenate([np.zeros(8000, np.float32), harmonic_burst(0.3), np.zeros(8000, np.float32)])
    y = voiced_part(x, SR)
    assert 0.3 * SR <= y.size <= 0.36 * SR


@pytest.mark.skipif(not (SHIPPED / "model.json").is_file(), reason="no shipped connected-digit model")
def test_shipped_model_reads_fsdd_digit_strings_without_pauses():
    """Eight strings of FSDD digits (speaker jackson, one of its training speakers) joined without pauses."""
    from recognizers.io.audio import load_audio
    from recognizers.metrics import align_counts
    fsdd = shared_data("fsdd") / "recordings"
    model = load_model(SHIPPED)
    rng = np.random.default_rng(3)
    n = errors = 0
    for k in range(8):
        digits = [str(d) for d in rng.integers(0, 10, int(rng.integers(3, 5)))]
        clips = [voiced_part(load_audio(fsdd / f"{d}_jackson_{int(rng.integers(50))}.wav", SR), SR) for d in digits]
        audio = np.concatenate([np.zeros(SR // 4, np.float32)] + [c / np.abs(c).max() * 0.5 for c in clips]
                               + [np.zeros(SR // 2, np.float32)])
        got = [e.label for e in run_stream(ConnectedTranscriber(model, trace=False), audio_blocks(audio, 16000))]
        n += len(digits)
        errors += sum(align_counts(digits, got))
    assert (n - errors) / n >= 0.85, f"{errors} errors in {n} digits"


def test_the_app_picks_the_connected_decoder_for_ctc_models():
    from recognizers.decoders import make_decoder
    dec = make_decoder(loud_is_three_model())
    assert isinstance(dec, ConnectedTranscriber)


def test_eval_and_predict_refuse_a_ctc_model_with_one_line(tmp_path, capsys):
    model = loud_is_three_model()
    folder = save_model(tmp_path / "loud3", model.network, {k: v for k, v in model.meta.items()
                                                             if k != "normalization"})
    wav = tmp_path / "a.wav"
    sf.write(wav, harmonic_burst(0.3), SR)
    assert cli_main(["predict", "--model", str(folder), str(wav)]) == 2
    assert cli_main(["eval", "--model", str(folder), "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("connected-digit (CTC) model") == 2 and "Traceback" not in err

"""Logit adjustment (``train --logit-adjust TAU``, ``scripts/logit_adjust.py``): the head's bias loses
``TAU x log(prior)`` of each label's effective share of the training loss, recorded in model.json, never twice."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from testdata import SYNTH_LABELS, TINY_TRAIN_ARGS

from recognizers.cli.main import main
from recognizers.errors import VaultError
from recognizers.io.extensions import AUDIO_EXTENSIONS
from recognizers.model_files import load_model
from recognizers.training.logit_adjust import adjust_head, bias_shift, effective_priors, training_counts

pytestmark = pytest.mark.usefixtures("one_torch_thread")
REPO = Path(__file__).resolve().parents[3]


def test_priors_follow_the_class_weights_and_the_shift_removes_them():
    labels = ["a", "b", "_unknown_"]
    counts = {"a": 10, "b": 10, "_unknown_": 160}      # two rare words beside a large _unknown_
    plain = effective_priors(counts, labels)
    np.testing.assert_allclose(plain, [10 / 180, 10 / 180, 160 / 180])
    sqrt = effective_priors(counts, labels, "sqrt")   # count x 1/sqrt(count): sqrt(count) shares
    np.testing.assert_allclose(sqrt, np.sqrt([10, 10, 160]) / np.sqrt([10, 10, 160]).sum())
    shift = bias_shift(sqrt, 1.0)
    assert shift.mean() == pytest.approx(0.0, abs=1e-12)
    assert shift[0] - shift[2] == pytest.approx(np.log(4.0))   # sqrt(160 / 10)
    assert shift[0] == shift[1]
    np.testing.assert_allclose(bias_shift(sqrt, 0.5), shift / 2)
    # after the shift, logits equal to log(prior) (what a head that learned only the prior gives) tie
    adjusted = np.log(sqrt) + shift
    assert np.ptp(adjusted) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(VaultError, match="class_weights"):
        effective_priors(counts, labels, "cubic")


def test_adjust_head_shifts_only_the_bias_and_refuses_twice(tiny_speech_model):
    m = load_model(tiny_speech_model)
    net = m.network
    before = {k: v.clone() for k, v in net.state_dict().items()}
    counts = {lab: 5 for lab in m.labels}
    counts[m.unknown_label] = 45
    rec = adjust_head(net, m.meta, counts, 1.0)
    after = net.state_dict()
    for k in before:
        if k != "head.bias":
            assert torch.equal(before[k], after[k]), k
    moved = (after["head.bias"] - before["head.bias"]).numpy()
    np.testing.assert_allclose(moved, [rec["bias_shift"][lab] for lab in m.labels], atol=1e-4)
    unk = m.labels.index(m.unknown_label)
    assert moved[unk] < 0 and all(moved[j] > 0 for j in range(len(m.labels)) if j != unk)
    meta = dict(m.meta, training=dict(m.meta["training"], logit_adjustment=rec))
    with pytest.raises(VaultError, match="already adjusted"):
        adjust_head(net, meta, counts, 1.0)
    with pytest.raises(VaultError, match="> 0"):
        adjust_head(net, m.meta, counts, 0.0)


def test_training_with_logit_adjust_records_counts_the_record_can_rebuild(synth_speech_dir, tmp_path):
    out = tmp_path / "la"
    rc = main(["train", "--task", "speech", "--data", str(synth_speech_dir), "--out", str(out),
               *TINY_TRAIN_ARGS, "--logit-adjust", "1"])
    assert rc == 0
    meta = json.loads((out / "model.json").read_text())
    counts = meta["training"]["train_per_label"]
    assert sum(counts.values()) == meta["training"]["n_train"] + meta["training"]["synthetic_negatives"]
    assert set(counts) == set(SYNTH_LABELS) | {meta["unknown_label"]}
    la = meta["training"]["logit_adjustment"]
    assert la["tau"] == 1.0 and la["counts"] == counts
    # the same counts rebuilt from the data folder and split (how already-trained models are adjusted)
    rebuilt = dict(meta, training={k: v for k, v in meta["training"].items() if k != "train_per_label"})
    assert training_counts(rebuilt, AUDIO_EXTENSIONS) == counts


def test_bad_tau_is_refused_before_training(synth_speech_dir, tmp_path, capsys):
    rc = main(["train", "--task", "speech", "--data", str(synth_speech_dir), "--out", str(tmp_path / "x"),
               *TINY_TRAIN_ARGS, "--logit-adjust", "-1"])
    assert rc == 2
    assert "--logit-adjust" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_the_script_adjusts_a_trained_model_keeps_its_card_and_refuses_a_second_time(tiny_speech_model, tmp_path):
    src = tmp_path / "m"
    shutil.copytree(tiny_speech_model, src)
    (src / "MODEL_CARD.md").write_text("# tiny\n")
    bias0 = load_model(src).network.head.bias.detach().clone()
    script = [sys.executable, str(REPO / "scripts" / "logit_adjust.py"), "--model", str(src), "--in-place"]
    r = subprocess.run(script, capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    m = load_model(src)
    shift = m.meta["training"]["logit_adjustment"]["bias_shift"]
    np.testing.assert_allclose((m.network.head.bias.detach() - bias0).numpy(), [shift[lab] for lab in m.labels],
                               atol=1e-4)
    assert (src / "MODEL_CARD.md").read_text() == "# tiny\n"
    again = subprocess.run(script, capture_output=True, text=True, cwd=REPO)
    assert again.returncode == 2 and "already adjusted" in again.stderr
    assert torch.equal(load_model(src).network.head.bias.detach(), m.network.head.bias.detach())


def test_synthetic_non_speech_trains_as_silence_when_the_labels_have_it(synth_speech_dir, tmp_path):
    """A model with a ``_silence_`` class (the Speech Commands task) gets its synthetic non-speech examples as
    ``_silence_``, not as ``_unknown_`` (other words): beside a ``_silence_`` class, calling noise ``_unknown_``
    taught commands-en to call quiet background clips ``_unknown_``."""
    from testdata import SYNTH_SPEAKERS, write_wav

    from recognizers.model_files import negatives_label
    assert negatives_label(["a", "_silence_", "_unknown_"], "_unknown_") == "_silence_"
    assert negatives_label(["a", "_unknown_"], "_unknown_") == "_unknown_"
    data = tmp_path / "data"
    shutil.copytree(synth_speech_dir, data)
    rng = np.random.default_rng(0)
    for speaker in SYNTH_SPEAKERS:
        for n in range(3):
            write_wav(data / "_silence_" / f"{speaker}__{n:02d}.wav",
                      (10 ** rng.uniform(-4, -2) * rng.standard_normal(8000)).astype(np.float32))
    out = tmp_path / "sil"
    assert main(["train", "--task", "speech", "--data", str(data), "--out", str(out), *TINY_TRAIN_ARGS]) == 0
    meta = json.loads((out / "model.json").read_text())
    tr = meta["training"]
    assert tr["negatives_label"] == "_silence_" and tr["synthetic_negatives"] > 0
    counts = tr["train_per_label"]
    n_silence_files = sum(1 for _ in (data / "_silence_").iterdir())
    assert counts["_silence_"] >= tr["synthetic_negatives"] + 1        # the negatives and the files' training part
    assert counts["_silence_"] <= tr["synthetic_negatives"] + n_silence_files
    assert counts.get("_unknown_", 0) == 0                             # no other words here, and no negatives
    rebuilt = dict(meta, training={k: v for k, v in tr.items() if k != "train_per_label"})
    assert training_counts(rebuilt, AUDIO_EXTENSIONS) == counts

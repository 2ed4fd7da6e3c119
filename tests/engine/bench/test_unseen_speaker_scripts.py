"""The unseen-speaker tooling (issue 15): the digit data with the Speech Commands v0.02 speakers
(scripts/build_digit_data.py --sc2), the k-fold's fold pool and words-only accuracy, and bad input to them."""
import csv
import importlib.util
import sys

import pytest
from testdata import REPO, shared_data

SCRIPTS = REPO / "scripts"


def load_script(name):
    sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_fold_pool_is_the_speakers_with_a_pool_label_in_pool_files():
    ev = load_script("eval_unseen_speakers")
    train = [{"path": "0/fsdd_0_a.wav", "label": "0", "speaker": "fsdd-a"},
             {"path": "0/sc2_zero_x.wav", "label": "0", "speaker": "sc-x"}]
    test = [{"path": "0/v2_zero_x.wav", "label": "0", "speaker": "sc-x"},
            {"path": "_unknown_/v2_yes_y.wav", "label": "_unknown_", "speaker": "sc-y"},
            {"path": "1/v1_one_z.wav", "label": "1", "speaker": "sc-z"}]
    assert ev.fold_pool(train, test) == {"fsdd-a", "sc-x"}
    assert ev.fold_pool(train, test, "0,1", "v2_") == {"sc-x"}
    folds = ev.assign_folds([f"g{i}" for i in range(9)], 3, seed=0)
    assert sorted(folds.values()) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert folds == ev.assign_folds([f"g{i}" for i in reversed(range(9))], 3, seed=0)   # order-free, fixed seed


def test_words_accuracy_leaves_out_unknown_and_silence():
    ev = load_script("eval_unseen_speakers")
    per = {"0": 1.0, "1": 0.5, "_unknown_": 0.0, "_silence_": 0.0}
    assert ev.words_accuracy(per, {"0": 2, "1": 2, "_unknown_": 10, "_silence_": 3}) == pytest.approx(0.75)
    assert ev.words_accuracy(per, {"_unknown_": 4}) is None


def test_val_groups_inside_the_fold_pool_is_refused(tmp_path, capsys):
    ev = load_script("eval_unseen_speakers")
    (tmp_path / "manifest.csv").write_text("path,label,speaker\n0/a.wav,0,sc-a\n0/b.wav,0,sc-b\n")
    rc = ev.main(["--data", str(tmp_path), "--out", str(tmp_path / "out"), "--val-groups", "sc-a",
                  "--pool-labels", "0", "--peer", "none", "--model", "unused"])
    assert rc == 2 and "overlap" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_build_digit_data_rejects_a_bad_repeat(tmp_path, capsys):
    bd = load_script("build_digit_data")
    assert bd.main(["--dest", str(tmp_path / "d"), "--no-tts", "--sc2", "--sc2-digit-repeat", "0"]) == 2
    assert "repeat" in capsys.readouterr().err and not (tmp_path / "d").exists()


def test_sc2_rows_link_v2_digits_with_speaker_groups(tmp_path):
    shared_data("speech_commands_v0.02_test_part")   # skips with a reason when absent
    bd = load_script("build_digit_data")
    for lab in [str(d) for d in range(10)] + ["_unknown_"]:
        (tmp_path / lab).mkdir()
    rows = bd.sc2_rows(tmp_path, repeat=2, unknown_per_speaker=1, n_silence=5, seed=0)
    digits = [r for r in rows if r[1] != "_unknown_"]
    assert len(digits) == 2 * 158   # every v0.02 digit clip, twice
    assert all(g.startswith("sc-") for _, _, g in digits)
    sil = [r for r in rows if "_silence_" in r[0]]
    assert len(sil) == 5 and all(g.startswith("sil-") for _, _, g in sil)
    assert all((tmp_path / p).is_file() for p, _, _ in rows)
    # the groups are build_speech_data.py's, so a k-fold over its manifest excludes the same people
    sd = load_script("build_speech_data")
    sd.build(tmp_path / "sd", "digits", sources=["speech_commands_v0.02_test_part"])
    with open(tmp_path / "sd" / "manifest.csv", newline="") as f:
        groups = {r["speaker"] for r in csv.DictReader(f)}
    assert {g for _, _, g in rows} <= groups

"""The gesture CLI end to end on a tiny synthetic landmark dataset, bad input, and the shipped model."""
import json

import numpy as np
import pytest
from testdata import ASSETS, shared_data

from recognizers.cli.main import main
from recognizers.data.gestures import TEMPLATE_HAND

DIRECTIONS = {"swipe_right": (1.0, 0.0), "swipe_up": (0.0, -1.0)}


def swipe(rng, direction, T=30):
    """A right hand sweeping ``direction`` by ~3 palm sizes, with jitter and a random place and size."""
    s = rng.uniform(0.7, 1.3)
    base = (TEMPLATE_HAND - TEMPLATE_HAND[0]) * s + TEMPLATE_HAND[0] + [rng.uniform(-.1, .1), rng.uniform(-.1, .1), 0]
    path = np.linspace(0, 0.2 * s, T)[:, None] * np.array(direction + (0.0,))
    x = np.full((T, 2, 21, 3), np.nan, np.float32)
    x[:, 1] = base[None] + path[:, None] + rng.normal(0, 0.002, (T, 21, 3))
    return x


def still(rng, T=30):
    x = np.full((T, 2, 21, 3), np.nan, np.float32)
    x[:, 1] = TEMPLATE_HAND[None] + rng.normal(0, 0.002, (T, 21, 3))
    return x


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("gest")
    rng = np.random.default_rng(0)
    for label, d in DIRECTIONS.items():
        (root / "data" / label).mkdir(parents=True)
        for k in range(14):
            np.savez(root / "data" / label / f"s{k:02d}.npz", landmarks=swipe(rng, d))
    rc = main(["train", "--task", "gesture", "--data", str(root / "data"), "--out", str(root / "model"),
               "--epochs", "40", "--hidden", "32", "--layers", "1", "--patience", "40", "--lr", "0.01", "--threads", "1",  # noqa: E501
               "--device", "cpu", "--negatives", "0.5"])
    assert rc == 0
    return root


def test_train_eval_predict_trace(trained, capsys):
    meta = json.loads((trained / "model" / "model.json").read_text())
    assert meta["task"] == "gesture" and meta["frontend"]["type"] == "landmarks"
    assert meta["labels"] == ["_unknown_", "swipe_right", "swipe_up"]
    capsys.readouterr()
    assert main(["eval", "--model", str(trained / "model"), "--data", str(trained / "data"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"accuracy", "per_class_accuracy", "confusion"} <= set(report) and report["accuracy"] > 0.8
    f = trained / "one.npz"
    np.savez(f, landmarks=swipe(np.random.default_rng(5), DIRECTIONS["swipe_up"]))
    assert main(["predict", "--model", str(trained / "model"), str(f), "--json"]) == 0
    pred = json.loads(capsys.readouterr().out)
    assert pred["label"] == "swipe_up" and len(pred["top"]) == 3
    assert main(["trace", "--model", str(trained / "model"), str(f), "--out", str(trained / "t.npz")]) == 0
    with np.load(trained / "t.npz") as tr:
        assert tr["input"].shape == (30, 130) and tr["layer0_f"].shape == (30, 32)
        assert tr["probabilities"].shape == (30, 3)


def test_train_without_validation_runs_exactly_the_given_epochs(tmp_path, capsys):
    """``--val-fraction 0``: every file trains for exactly ``--epochs`` (the gesture recipe, whose epoch count
    comes from cross-validation on the training blocks), and the model says it had no validation set."""
    rng = np.random.default_rng(1)
    for label, d in DIRECTIONS.items():
        (tmp_path / "data" / label).mkdir(parents=True)
        for k in range(4):
            np.savez(tmp_path / "data" / label / f"s{k}.npz", landmarks=swipe(rng, d))
    assert main(["train", "--task", "gesture", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "m"),
                 "--epochs", "3", "--patience", "1", "--hidden", "8", "--layers", "1", "--val-fraction", "0",
                 "--threads", "1", "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "no validation set" in err
    assert not [line for line in err.splitlines() if line.startswith("epoch") and " val " in line]
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    t = meta["training"]
    assert t["n_train"] == 8 and t["n_validation"] == 0 and t["epochs_run"] == 3
    assert t["split"].startswith("no validation") and meta["metrics"]["validation_accuracy"] is None
    assert meta["training"]["history"][-1]["epoch"] == 3 and t["config"]["val_fraction"] == 0
    assert meta["training"]["history"][-1]["validated"] is False


def test_gestures_spots_a_swipe_between_idle_stretches(trained, capsys):
    rng = np.random.default_rng(9)
    gap = np.full((20, 2, 21, 3), np.nan, np.float32)
    seq = np.concatenate([gap, still(rng, 40), swipe(rng, DIRECTIONS["swipe_right"]), gap,
                          swipe(rng, DIRECTIONS["swipe_up"]), still(rng, 30)])
    np.savez(trained / "stream.npz", landmarks=seq)
    capsys.readouterr()
    assert main(["gestures", "--model", str(trained / "model"), str(trained / "stream.npz"), "--json"]) == 0
    events = json.loads(capsys.readouterr().out)
    assert [e["label"] for e in events] == ["swipe_right", "swipe_up"]
    assert all(set(e) == {"label", "start_s", "end_s", "confidence"} for e in events)
    right, up = events
    # the swipes are at 2.0-3.0 s and 3.67-4.67 s; an event's span is known to within a window (1 s)
    assert 1.0 <= right["start_s"] < 3.0 < right["end_s"] <= 4.0
    assert 2.67 <= up["start_s"] < 4.67 < up["end_s"] <= 5.67 and right["end_s"] <= up["start_s"] + 1.0
    assert main(["gestures", "--model", str(trained / "model"), str(trained / "stream.npz")]) == 0
    assert "swipe_right" in capsys.readouterr().out


def test_spotter_is_silent_for_absent_and_idle_hands_and_fast(trained):
    import time

    from recognizers.decoders.gestures import GestureSpotter
    from recognizers.model_files import load_model
    spotter = GestureSpotter(load_model(trained / "model"))
    rng = np.random.default_rng(3)
    frames = np.concatenate([np.full((30, 2, 21, 3), np.nan, np.float32), still(rng, 90)])
    t0 = time.perf_counter()
    events = [e for f in frames for e in spotter.push(f).events] + spotter.flush()
    per_frame_ms = (time.perf_counter() - t0) / len(frames) * 1000
    assert events == []
    step = spotter.push(frames[-1]).step
    assert step.probabilities.shape == (1, 3) and "layer0_c" in step.gates
    print(f"spotter: {per_frame_ms:.2f} ms per frame (frontend + traced step + windowed re-run)")


def test_user_errors_exit_2(trained, tmp_path, capsys):
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    (tmp_path / "empty.mp4").write_bytes(b"")
    m = str(trained / "model")
    for argv in (["predict", "--model", m, str(tmp_path / "bad.npz")],
                 ["trace", "--model", m, str(tmp_path / "bad.npz"), "--out", str(tmp_path / "t.npz")],
                 ["gestures", "--model", m, str(tmp_path / "empty.mp4")],
                 ["gestures", "--model", str(tmp_path), str(tmp_path / "empty.mp4")],
                 ["gestures", "--model", m, str(tmp_path / "bad.npz"), "--json"],
                 ["import-gestures", "--format", "arman", str(tmp_path / "nowhere"), str(tmp_path / "o")],
                 ["train", "--task", "gesture", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m")]):
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "error" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_import_gestures_command(tmp_path, capsys):
    src = shared_data("dynamic_gestures_arman")
    assert main(["import-gestures", "--format", "arman", str(src), str(tmp_path / "d"),
                 "--holdout-fraction", "0.3", "--holdout-dest", str(tmp_path / "t")]) == 0
    assert "imported 90 sequences" in capsys.readouterr().out
    assert (tmp_path / "d" / "LICENSE").is_file() and (tmp_path / "d" / "manifest.csv").is_file()


def test_shipped_model_on_held_out_arman_sequences(tmp_path):
    model_dir = ASSETS / "gestures-arman6"
    if not (model_dir / "model.json").is_file():
        pytest.skip("assets/models/gestures-arman6 is not built (scripts/train_gesture_model.sh)")
    src = shared_data("dynamic_gestures_arman")
    from recognizers.data.importers import import_arman
    from recognizers.model_files import load_model
    from recognizers.training.evaluate import evaluate
    import_arman(src, tmp_path / "train", 0.3, tmp_path / "test")   # the split the training script made
    model = load_model(model_dir, task="gesture")
    r = evaluate(model, tmp_path / "test")
    card = json.loads((model_dir / "heldout_eval.json").read_text())
    assert r["errors"] == [] and sum(sum(row) for row in r["confusion"]) == 36
    assert r["accuracy"] == pytest.approx(card["accuracy"])   # the card's number is reproducible
    assert r["accuracy"] >= 0.9    # measured 91.7% (33/36); the 97% goal is not reached, see MODEL_CARD.md

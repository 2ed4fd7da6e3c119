"""``lstm-vault adapt``: a tiny model adapts to a new synthetic speaker, keeps the old ones, records where the
adaptation came from, and refuses bad input with one line, exit 2 and nothing written."""
import json
import shutil

import numpy as np
import pytest
from testdata import ASSETS, SYNTH_LABELS, make_synth_dataset, synth_word, write_wav

from recognizers.cli.main import main
from recognizers.io.audio import resample
from recognizers.model_files import load_model
from recognizers.training.adapt import AdaptConfig, adapt
from recognizers.training.evaluate import evaluate

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# The new speaker: bob's voice with every frequency raised by a third (higher pitch and formants, shorter
# words), a voice none of the tiny model's four speakers has.
SHIFT = 4 / 3


def new_speaker_word(label: str, rng: np.random.Generator) -> np.ndarray:
    x = synth_word(label, "bob", rng)
    return resample(x, 16000, int(16000 / SHIFT)).astype(np.float32)


def write_new_speaker(folder, per_label: int, seed: int):
    rng = np.random.default_rng(seed)
    for label in SYNTH_LABELS:
        for n in range(per_label):
            write_wav(folder / label / f"zed__{n:02d}.wav", new_speaker_word(label, rng))
    return folder


@pytest.fixture(scope="module")
def new_speaker(tmp_path_factory):
    root = tmp_path_factory.mktemp("zed")
    return write_new_speaker(root / "takes", 3, seed=11), write_new_speaker(root / "test", 12, seed=12)


def test_adapt_learns_a_new_speaker_and_keeps_the_old_ones(tiny_speech_model, new_speaker, tmp_path):
    takes, test = new_speaker
    old_test = make_synth_dataset(tmp_path / "old", per_speaker=4, seed=21)
    base = load_model(tiny_speech_model)
    new_before = evaluate(base, test)["accuracy"]
    old_before = evaluate(base, old_test)["accuracy"]
    # 16 epochs: read after its end (decoder.tail_silence_s), this voice is already two thirds right before
    # adapting (a third on the clip's last frame), and 8 epochs did not move it further
    res = adapt(tiny_speech_model, takes, tmp_path / "zed", AdaptConfig(epochs=16, lr=3e-3, seed=0))
    adapted = load_model(res.model_dir)
    new_after = evaluate(adapted, test)["accuracy"]
    old_after = evaluate(adapted, old_test)["accuracy"]
    print(f"new speaker {new_before:.3f} -> {new_after:.3f}; old {old_before:.3f} -> {old_after:.3f}")
    assert new_before < 0.9, "the shifted voice should be new to the tiny model"
    assert new_after > new_before
    assert old_after >= old_before - 0.1
    # the adapted model keeps the base model's frontend and normalisation exactly
    assert adapted.meta["frontend"] == base.meta["frontend"]
    assert adapted.meta["normalization"] == base.meta["normalization"]


def test_adapted_model_records_its_provenance(tiny_speech_model, new_speaker, tmp_path):
    takes, _ = new_speaker
    rc = main(["adapt", "--model", str(tiny_speech_model), "--data", str(takes), "--out", str(tmp_path / "m"),
               "--epochs", "1", "--threads", "1"])
    assert rc == 0
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    a = meta["adaptation"]
    assert a["base_model"]["path"] == str(tiny_speech_model)
    assert a["labels"] == sorted(SYNTH_LABELS)
    assert a["takes_per_label"] == {label: 3 for label in sorted(SYNTH_LABELS)}
    # what the command line left unset came from the log-mel recipe and is recorded as used
    from recognizers.training.adapt import RECIPES
    assert a["config"]["epochs"] == 1
    assert {k: a["config"][k] for k in ("lr", "l2sp", "negatives")} == {
        k: RECIPES["default"][k] for k in ("lr", "l2sp", "negatives")}
    assert a["takes_total"] == 9 and a["groups"] == ["zed"]
    assert a["data"] == str(takes.resolve()) and a["date"].endswith("Z")
    assert meta["training"] == json.loads((tiny_speech_model / "model.json").read_text())["training"]
    card = (tmp_path / "m" / "MODEL_CARD.md").read_text()
    assert "adapted" in card and str(takes.resolve()) in card


def _expect_refusal(capsys, args, out, words):
    rc = main(args)
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    assert any(w in err for w in words), err
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}*"))   # no partial folder either


def _takes(tmp_path, labels=SYNTH_LABELS, n=2):
    rng = np.random.default_rng(3)
    for label in labels:
        for k in range(n):
            write_wav(tmp_path / "takes" / label / f"zed__{k}.wav", new_speaker_word(label, rng))
    return tmp_path / "takes"


def test_labels_the_model_lacks_are_refused(tiny_speech_model, tmp_path, capsys):
    takes = _takes(tmp_path, labels=("up", "hello"))
    out = tmp_path / "out"
    _expect_refusal(capsys, ["adapt", "--model", str(tiny_speech_model), "--data", str(takes), "--out", str(out)],
                    out, ["hello"])


def test_one_take_in_total_is_refused(tiny_speech_model, tmp_path, capsys):
    takes = _takes(tmp_path, labels=("up",), n=1)
    out = tmp_path / "out"
    _expect_refusal(capsys, ["adapt", "--model", str(tiny_speech_model), "--data", str(takes), "--out", str(out)],
                    out, ["only 1 take"])


@pytest.mark.parametrize("bad", ["silent", "quiet_noise", "unreadable", "empty"])
def test_silent_or_unreadable_takes_are_refused(tiny_speech_model, tmp_path, capsys, bad):
    takes = _takes(tmp_path)
    path = takes / "down" / "zed__9.wav"
    if bad == "silent":
        write_wav(path, np.zeros(8000, np.float32))
    elif bad == "quiet_noise":
        write_wav(path, (1e-4 * np.random.default_rng(0).standard_normal(8000)).astype(np.float32))
    elif bad == "unreadable":
        path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    else:
        path.write_bytes(b"")
    out = tmp_path / "out"
    _expect_refusal(capsys, ["adapt", "--model", str(tiny_speech_model), "--data", str(takes), "--out", str(out)],
                    out, ["silent", "unreadable"])


def test_a_ctc_model_is_refused(tiny_speech_model, tmp_path, capsys):
    ctc = tmp_path / "ctc"
    shutil.copytree(tiny_speech_model, ctc)
    meta = json.loads((ctc / "model.json").read_text())
    meta["decoder"] = {**meta.get("decoder", {}), "type": "ctc"}
    (ctc / "model.json").write_text(json.dumps(meta))
    out = tmp_path / "out"
    _expect_refusal(capsys, ["adapt", "--model", str(ctc), "--data", str(_takes(tmp_path)), "--out", str(out)],
                    out, ["CTC"])


def test_the_shipped_connected_digit_model_is_refused(tmp_path, capsys):
    model = ASSETS / "digits-connected-en"
    if not (model / "model.json").is_file():
        pytest.skip("no shipped connected-digit model")
    takes = tmp_path / "takes"
    rng = np.random.default_rng(0)
    for label in ("1", "2"):
        write_wav(takes / label / "zed__0.wav", synth_word("up", "ann", rng))
    out = tmp_path / "out"
    _expect_refusal(capsys, ["adapt", "--model", str(model), "--data", str(takes), "--out", str(out)], out,
                    ["CTC", "not labels"])


def test_out_may_not_be_the_model_or_a_foreign_folder(tiny_speech_model, tmp_path, capsys):
    takes = _takes(tmp_path)
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"x")
    assert main(["adapt", "--model", str(tiny_speech_model), "--data", str(takes), "--out", str(foreign)]) == 2
    assert (foreign / "holiday.jpg").exists() and not (foreign / "model.json").exists()
    before = (tiny_speech_model / "model.safetensors").read_bytes()
    assert main(["adapt", "--model", str(tiny_speech_model), "--data", str(takes),
                 "--out", str(tiny_speech_model)]) == 2
    assert (tiny_speech_model / "model.safetensors").read_bytes() == before
    capsys.readouterr()


def test_cancel_writes_nothing(tiny_speech_model, new_speaker, tmp_path):
    import threading
    cancel = threading.Event()
    cancel.set()
    res = adapt(tiny_speech_model, new_speaker[0], tmp_path / "m", AdaptConfig(epochs=2), cancel=cancel)
    assert res.cancelled and res.model_dir is None and not (tmp_path / "m").exists()


def test_gesture_models_adapt_through_the_same_code(tmp_path):
    """The shipped gesture model adapts on landmark takes (here: the template hand moving right/left)."""
    from recognizers.data.gestures import TEMPLATE_HAND
    model = ASSETS / "gestures-arman6"
    if not (model / "model.json").is_file():
        pytest.skip("no shipped gesture model")
    takes = tmp_path / "takes"
    for label, direction in (("turn_left", -1), ("turn_right", 1)):
        for k in range(2):
            t = np.linspace(0, 1, 40)[:, None, None]
            hand = np.repeat(TEMPLATE_HAND[None], 40, 0) + direction * 0.3 * t * np.array([1.0, 0, 0])
            (takes / label).mkdir(parents=True, exist_ok=True)
            np.savez(takes / label / f"zed__{k}.npz", landmarks=hand.astype(np.float32) + 0.001 * k)
    res = adapt(model, takes, tmp_path / "g", AdaptConfig(epochs=1, repeats=2, threads=1))
    adapted = load_model(res.model_dir)
    assert adapted.task == "gesture" and adapted.meta["adaptation"]["takes_per_label"] == {
        "turn_left": 2, "turn_right": 2}
    # a take with no hand in any frame is refused
    np.savez(takes / "turn_left" / "zed__9.npz", landmarks=np.full((30, 21, 3), np.nan, np.float32))
    with pytest.raises(Exception, match="without a hand"):
        adapt(model, takes, tmp_path / "g2", AdaptConfig(epochs=1))
    assert not (tmp_path / "g2").exists()



def test_each_frontend_gets_its_own_recipe_and_explicit_settings_win(tiny_speech_model):
    from recognizers.training.adapt import RECIPES, recipe_for, resolve_config
    logmel = load_model(tiny_speech_model)
    assert recipe_for(logmel) == RECIPES["default"]
    embedding = load_model(ASSETS / "digits-en")
    assert embedding.frontend_config["type"] == "speech-embedding"
    filled = resolve_config(AdaptConfig(lr=0.01), embedding)
    assert filled.lr == 0.01                                  # set by the caller
    assert filled.epochs == RECIPES["speech-embedding"]["epochs"]
    assert filled.l2sp == RECIPES["speech-embedding"]["l2sp"]
    assert filled.negatives == RECIPES["speech-embedding"]["negatives"]
    assert RECIPES["speech-embedding"] != RECIPES["default"]
    with pytest.raises(Exception, match="negatives >= 0"):
        adapt(tiny_speech_model, "unused", None, AdaptConfig(negatives=-1.0))

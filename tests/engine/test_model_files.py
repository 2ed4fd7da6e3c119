"""Model folders: exact round trip, safetensors only (never unpickle), damaged/mismatched files refused."""
import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from recognizers import model_files
from recognizers.errors import ModelFileError
from recognizers.frontends.log_mel import LogMelConfig
from recognizers.model_files import META, WEIGHTS, load_model, read_meta, save_model
from recognizers.nn.classifier import Architecture, SequenceClassifier

N_MELS = 12


def _meta(labels=("_unknown_", "no", "yes"), task="speech"):
    return {"task": task, "labels": list(labels), "unknown_label": "_unknown_",
            "frontend": LogMelConfig(n_mels=N_MELS).to_json(), "name": "t"}


def _network(hidden=8, layers=3, classes=3, seed=0):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = SequenceClassifier(Architecture(input_size=N_MELS, hidden_size=hidden, num_layers=layers,
                                          num_classes=classes),
                             mean=rng.normal(size=N_MELS), std=rng.uniform(0.5, 2, N_MELS))
    return net.eval()


@pytest.fixture
def saved(tmp_path):
    net = _network()
    folder = save_model(tmp_path / "m", net, _meta())
    return folder, net


def _edit_json(folder, **changes):
    meta = json.loads((folder / META).read_text())
    for k, v in changes.items():
        if isinstance(v, dict) and isinstance(meta.get(k), dict):
            meta[k].update(v)
        else:
            meta[k] = v
    (folder / META).write_text(json.dumps(meta))


def test_round_trip_gives_identical_outputs(saved):
    folder, net = saved
    loaded = load_model(folder)
    x = torch.randn(2, 17, N_MELS)
    with torch.no_grad():
        a, _, ta = net(x, trace=True)
        b, _, tb = loaded.network(x, trace=True)
    assert torch.equal(a, b)
    for la, lb in zip(ta, tb):
        for name in "ifgoch":
            assert torch.equal(getattr(la, name), getattr(lb, name))
    assert torch.equal(loaded.network.feature_mean, net.feature_mean)
    assert torch.equal(loaded.network.feature_std, net.feature_std)
    assert loaded.labels == ["_unknown_", "no", "yes"] and loaded.task == "speech"
    assert loaded.unknown_label == "_unknown_" and loaded.name == "t"
    assert loaded.frontend_config == LogMelConfig(n_mels=N_MELS).to_json()
    assert not loaded.network.training
    # loading model.json directly works too
    assert load_model(folder / META).labels == loaded.labels


def test_folder_holds_exactly_weights_and_description(saved):
    folder, net = saved
    assert sorted(p.name for p in folder.iterdir()) == sorted([META, WEIGHTS])
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no temporary leftovers
    meta = json.loads((folder / META).read_text())
    assert meta["format"] == "lstm-vault-model" and meta["format_version"] == 1
    assert meta["architecture"]["hidden_size"] == 8 and meta["architecture"]["num_layers"] == 3
    assert len(meta["normalization"]["mean"]) == N_MELS


def test_safetensors_keys_follow_pytorch_lstm_names(saved):
    from safetensors import safe_open
    folder, net = saved
    with safe_open(str(folder / WEIGHTS), "pt") as f:
        keys = set(f.keys())
        for k in range(3):
            for suffix in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
                matches = [key for key in keys if key.startswith(f"lstm.layers.{k}.") and key.endswith(suffix)]
                assert len(matches) == 1, (k, suffix, sorted(keys))
                assert torch.equal(f.get_tensor(matches[0]), getattr(net.lstm.layers[k], suffix))
        assert f.get_tensor("lstm.layers.0.weight_ih_l0").shape == (4 * 8, N_MELS)
        assert f.get_tensor("lstm.layers.1.weight_ih_l0").shape == (4 * 8, 8)
    assert keys == set(net.state_dict())


def test_save_replaces_an_existing_model(saved):
    folder, _ = saved
    net2 = _network(seed=1)
    save_model(folder, net2, _meta())
    loaded = load_model(folder)
    assert torch.equal(loaded.network.head.weight, net2.head.weight)
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]


def test_interrupted_save_leaves_the_old_model_and_no_partial_files(saved, monkeypatch):
    folder, net = saved
    import safetensors.torch as st
    real = st.save_file

    def save_then_interrupt(*a, **k):
        real(*a, **k)
        raise KeyboardInterrupt
    monkeypatch.setattr(st, "save_file", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_model(folder, _network(seed=2), _meta())
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]
    assert torch.equal(load_model(folder).network.head.weight, net.head.weight)
    with pytest.raises(KeyboardInterrupt):
        save_model(folder.parent / "new", _network(seed=2), _meta())
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]


def test_saving_something_unloadable_is_refused(tmp_path):
    with pytest.raises(ModelFileError):
        save_model(tmp_path / "m", _network(classes=2), _meta())  # 3 labels, 2 outputs
    assert not any(tmp_path.iterdir())


# --- never unpickle -------------------------------------------------------------------------------------

class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def _evil_pickle(path: Path, marker: Path) -> Path:
    path.write_bytes(pickle.dumps(_Evil(str(marker))))
    # the pickle really would run code: prove it on a copy of the marker path, then remove it
    probe = marker.with_name("probe")
    pickle.loads(pickle.dumps(_Evil(str(probe))))
    assert probe.exists()
    probe.unlink()
    return path


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".ckpt", ".pkl"])
def test_pickle_file_is_refused_and_never_loaded(tmp_path, suffix):
    marker = tmp_path / "PWNED"
    p = _evil_pickle(tmp_path / f"model{suffix}", marker)
    with pytest.raises(ModelFileError, match="pickle") as e:
        load_model(p)
    assert "arbitrary code" in str(e.value)
    assert not marker.exists()


def test_folder_with_only_model_pt_is_refused_and_never_loaded(tmp_path):
    marker = tmp_path / "PWNED"
    folder = tmp_path / "m"
    folder.mkdir()
    _evil_pickle(folder / "model.pt", marker)
    with pytest.raises(ModelFileError, match="model.pt.*pickle") as e:
        load_model(folder)
    assert "arbitrary code" in str(e.value) and WEIGHTS in str(e.value)
    assert not marker.exists()


def test_pickle_renamed_to_safetensors_is_refused_and_never_loaded(saved, tmp_path):
    folder, _ = saved
    marker = tmp_path / "PWNED"
    _evil_pickle(folder / WEIGHTS, marker)
    with pytest.raises(ModelFileError, match="weights file"):
        load_model(folder)
    assert not marker.exists()


# --- damaged or mismatched ------------------------------------------------------------------------------

@pytest.fixture
def no_allocation(monkeypatch):
    """Fail the test if the loader builds a network or reads tensors (refusals must come first)."""
    def boom(*a, **k):
        raise AssertionError("allocated before refusing")
    monkeypatch.setattr(model_files, "SequenceClassifier", boom)
    import safetensors.torch as st
    monkeypatch.setattr(st, "load_file", boom)


@pytest.mark.parametrize("text", ["", "{", "not json", "\xff\xfe garbage", "[1, 2, 3]", "null", "[" * 100000])
def test_damaged_model_json(saved, text, no_allocation):
    folder, _ = saved
    (folder / META).write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode())
    with pytest.raises(ModelFileError, match="model.json"):
        load_model(folder)


@pytest.mark.parametrize("change, why", [
    ({"format": "something-else"}, "not an LSTM Vault model"),
    ({"format_version": 99}, "not supported"),
    ({"labels": []}, "labels"),
    ({"labels": ["a", "a", "b"]}, "labels"),
    ({"labels": ["_unknown_", "no", "yes", "maybe"]}, "4 labels but the network has 3 outputs"),
    ({"labels": ["_unknown_", "no"]}, "2 labels but the network has 3 outputs"),
    ({"task": "smell"}, "unknown task"),
    ({"architecture": {"hidden_size": 10 ** 9}}, "hidden_size"),
    ({"architecture": {"num_layers": 10 ** 6}}, "num_layers"),
    ({"architecture": {"input_size": 10 ** 9}}, "input_size"),
    ({"architecture": {"num_classes": 10 ** 9}}, "num_classes"),
    ({"architecture": {"hidden_size": 8.0}}, "hidden_size"),
    ({"architecture": {"hidden_size": -8}}, "hidden_size"),
    ({"architecture": {"dropout": 1.5}}, "dropout"),
    ({"architecture": {"type": "transformer"}}, "architecture"),
    ({"architecture": {"colour": 1}}, "architecture"),
    ({"frontend": {"n_mels": N_MELS + 1}}, f"frontend gives {N_MELS + 1} features but the network expects "
                                           f"{N_MELS}"),
    ({"frontend": {"type": "mfcc"}}, "frontend"),
    ({"frontend": {"n_mels": "many"}}, "log-mel"),
    ({"normalization": {"mean": [0.0] * 3}}, "normalisation"),
    ({"normalization": {"std": [0.0] * N_MELS}}, "std > 0"),
    ({"normalization": {"mean": ["x"] * N_MELS}}, "normalization"),
    ({"unknown_label": "nothing"}, "unknown_label"),
])
def test_inconsistent_model_json_is_refused_before_allocating(saved, change, why, no_allocation):
    folder, _ = saved
    _edit_json(folder, **change)
    with pytest.raises(ModelFileError, match=why) as e:
        load_model(folder)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("key", ["task", "labels", "architecture", "frontend", "normalization"])
def test_missing_keys_are_refused(saved, key):
    folder, _ = saved
    meta = json.loads((folder / META).read_text())
    del meta[key]
    (folder / META).write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match=f"missing '{key}'"):
        read_meta(folder)


def test_weights_of_another_shape_are_refused(saved, no_allocation):
    folder, _ = saved
    _edit_json(folder, architecture={"hidden_size": 9})
    with pytest.raises(ModelFileError, match="do not match model.json"):
        load_model(folder)


def test_weights_with_fewer_layers_are_refused(saved, no_allocation):
    folder, _ = saved
    _edit_json(folder, architecture={"num_layers": 4})
    with pytest.raises(ModelFileError, match="missing"):
        load_model(folder)


def _rewrite_header(folder, mutate):
    data = (folder / WEIGHTS).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    mutate(header)
    h = json.dumps(header).encode()
    (folder / WEIGHTS).write_bytes(struct.pack("<Q", len(h)) + h + data[8 + n:])


@pytest.mark.parametrize("damage", [
    lambda d: d[: len(d) // 2],                                  # truncated data
    lambda d: d[:40],                                            # truncated header
    lambda d: d[:5],                                             # shorter than the length field
    lambda d: b"",                                               # empty
    lambda d: np.random.default_rng(0).integers(0, 256, len(d), dtype=np.uint8).tobytes(),  # garbage
    lambda d: struct.pack("<Q", 10 ** 15) + d[8:],               # absurd header length
    lambda d: struct.pack("<Q", 4) + b"[1] " + d[12:],           # header not an object
    lambda d: d[:8] + b"#" * 20 + d[28:],                        # unreadable header
])
def test_damaged_weights_are_refused(saved, damage, no_allocation):
    folder, _ = saved
    data = (folder / WEIGHTS).read_bytes()
    (folder / WEIGHTS).write_bytes(damage(data))
    with pytest.raises(ModelFileError, match="weights|damaged|truncated"):
        load_model(folder)


@pytest.mark.parametrize("mutate", [
    lambda h: h["head.bias"].update(dtype="F64"),
    lambda h: h["head.bias"].update(data_offsets=[0, 10 ** 9]),
    lambda h: h["head.bias"].update(shape=3),
    lambda h: h["head.bias"].update(shape=["3"]),
    lambda h: h["head.bias"].update(shape=[10 ** 12]),
    lambda h: h["head.bias"].pop("data_offsets"),
    lambda h: h.update({"head.bias": "nothing"}),
    lambda h: h["head.bias"].update(data_offsets=[h["head.bias"]["data_offsets"][0],
                                                  h["head.bias"]["data_offsets"][0] + 4]),
])
def test_bad_tensor_entries_are_refused(saved, mutate, no_allocation):
    folder, _ = saved
    _rewrite_header(folder, mutate)
    with pytest.raises(ModelFileError, match="head.bias|weights"):
        load_model(folder)


def test_non_finite_weights_are_refused(tmp_path):
    net = _network()
    with torch.no_grad():
        net.head.weight[0, 0] = float("nan")
    folder = save_model(tmp_path / "m", net, _meta())
    with pytest.raises(ModelFileError, match="NaN"):
        load_model(folder)


def test_missing_weights_file(saved):
    folder, _ = saved
    (folder / WEIGHTS).unlink()
    with pytest.raises(ModelFileError, match=f"missing {WEIGHTS}"):
        load_model(folder)


def test_wrong_task_is_refused(saved):
    folder, _ = saved
    assert load_model(folder, task="speech").task == "speech"
    with pytest.raises(ModelFileError, match="is a speech model, not a gesture model"):
        load_model(folder, task="gesture")


def test_not_a_model(tmp_path):
    with pytest.raises(ModelFileError, match="no such model folder"):
        load_model(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError, match="not a model folder"):
        load_model(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ModelFileError, match="is a folder holding"):
        load_model(tmp_path / "notes.txt")


def test_oversized_model_json_is_refused_without_parsing(saved, monkeypatch):
    folder, _ = saved
    monkeypatch.setattr(model_files, "MAX_JSON_BYTES", 100)
    with pytest.raises(ModelFileError, match="too large"):
        load_model(folder)

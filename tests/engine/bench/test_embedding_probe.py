"""scripts/embedding_probe.py (issue 15): its speaker-disjoint splits and its training on cached embeddings."""
import numpy as np
from test_unseen_speaker_scripts import load_script

DIGITS = [str(d) for d in range(10)]


def digit_rows():
    rows = []
    for s in ("jackson", "nicolas", "theo", "yweweler"):
        rows += [{"path": f"{d}/fsdd_{d}_{s}_{t}.wav", "label": d, "speaker": f"fsdd-{s}"} for d in DIGITS
                 for t in range(5)]
    for k in range(9):   # Speech Commands speakers: v2 digits (the fold pool), v1 digits, other words
        rows += [{"path": f"{d}/v2_w_{k}_{d}.wav", "label": d, "speaker": f"sc-{k}"} for d in DIGITS[:3]]
        rows.append({"path": f"4/v1_four_{k}.wav", "label": "4", "speaker": f"sc-{k}"})
        rows.append({"path": f"_unknown_/v2_dog_{k}.wav", "label": "_unknown_", "speaker": f"sc-{k}"})
    rows.append({"path": "_unknown_/v2__silence__0.wav", "label": "_unknown_", "speaker": "sil-0"})
    return rows


def test_splits_hold_out_whole_speakers():
    pr = load_script("embedding_probe")
    rows = digit_rows()
    sp = {s["name"]: s for s in pr.splits(rows)}
    assert sorted(sp) == ["jackson", "nicolas", "sc0", "sc1", "sc2", "theo", "yweweler"]
    folds = [sp[f"sc{k}"]["exclude"] for k in range(3)]
    assert set().union(*folds) == {f"sc-{k}" for k in range(9)} and sum(map(len, folds)) == 9
    for s in sp.values():
        assert all(rows[i]["speaker"] in s["exclude"] for i in s["test"] + s["other"])
    assert all(rows[i]["label"] in DIGITS for k in range(3) for i in sp[f"sc{k}"]["test"])
    assert {rows[i]["label"] for k in range(3) for i in sp[f"sc{k}"]["other"]} == {"_unknown_"}
    # FSDD: the left-out speaker's takes 3 and up (takes 0-2 are the adaptation takes)
    takes = {rows[i]["path"].rsplit("_", 1)[1] for i in sp["theo"]["test"]}
    assert takes == {"3.wav", "4.wav"} and len(sp["theo"]["test"]) == 20
    commands = [r | {"label": "yes" if r["label"] in DIGITS else r["label"]} for r in rows]
    assert [s["name"] for s in pr.splits(commands)] == ["sc0", "sc1", "sc2"]   # any other set: grouped 3-fold


def cached(pr, rows, own_means=()):
    """A probe cache of constant sequences, one mean per label; speakers in ``own_means`` get means of their own."""
    labels = pr.labels_of(rows)
    rng = np.random.default_rng(0)
    means = 3.0 * rng.standard_normal((len(labels), 8)).astype(np.float32)
    own = {s: 3.0 * rng.standard_normal((len(labels), 8)).astype(np.float32) for s in own_means}
    arr = {}
    for i, r in enumerate(rows):
        m = own.get(r["speaker"], means)[labels.index(r["label"])]
        arr[f"c{i}"] = np.tile(m, (6, 1))
        for k in range(pr.AUG_COPIES):
            arr[f"a{i}_{k}"] = np.tile(m, (5, 1))
    for j in range(4):
        arr[f"n{j}"] = np.tile(means[-1], (4, 1))
    return {"rows": rows, "frames": [4] * len(rows), "negatives": 4, "aug_copies": pr.AUG_COPIES, "arr": arr}


def accuracy(pr, c, split):
    labels = pr.labels_of(c["rows"])
    out = pr.train_eval(c, split, {"epochs": 15, "lr": 1e-2, "hidden": 16, "layers": 1}, 0, set())
    assert out["test"].shape == (len(split["test"]), len(labels))
    assert out["other"].shape[0] == len(split["other"])
    return np.mean(out["test"].argmax(1) == [labels.index(c["rows"][i]["label"]) for i in split["test"]])


def test_training_on_cached_embeddings_learns_separable_labels():
    pr = load_script("embedding_probe")
    rows = digit_rows()
    assert accuracy(pr, cached(pr, rows), pr.splits(rows)[3]) > 0.9   # jackson left out, his labels shared


def test_the_held_out_speaker_never_trains():
    # jackson's digits sound like no one else's: a model that never heard him cannot know them
    pr = load_script("embedding_probe")
    rows = digit_rows()
    assert accuracy(pr, cached(pr, rows, own_means=("fsdd-jackson",)), pr.splits(rows)[3]) < 0.5


def test_a_combined_vocabulary_takes_the_other_sets_words_and_folds():
    pr = load_script("embedding_probe")
    rows = digit_rows()
    # the same Speech Commands clips as a commands set: its words, digits as _unknown_
    other = [r | {"label": "dog" if "_dog_" in r["path"] else "_silence_" if "silence" in r["path"] else "_unknown_"}
             for r in rows if not r["speaker"].startswith("fsdd-")]
    out, extra = pr.relabel(rows, other)
    assert [r["label"] for r in out if "_dog_" in r["path"]] == ["dog"] * 9
    assert [r["label"] for r in out if "silence" in r["path"]] == ["_silence_"]
    assert [r["label"] for r in out if r["label"] in DIGITS] == [r["label"] for r in rows if r["label"] in DIGITS]
    assert [s["name"] for s in extra] == ["cmd0", "cmd1", "cmd2"]
    assert set().union(*(s["exclude"] for s in extra)) == {r["speaker"] for r in other}
    by_name = {r["path"]: r["label"] for r in other}
    for s in extra:
        assert {rows[i]["speaker"] for i in s["test"]} == s["exclude"]
        assert s["truth"] == [by_name[rows[i]["path"]] for i in s["test"]]    # scored in the commands' labels


def test_group_decision_weighs_a_group_of_labels_like_one():
    pr = load_script("embedding_probe")
    labels = ["0", "1", "yes", "_unknown_"]
    logp = np.log(np.array([[0.32, 0.1, 0.25, 0.33], [0.2, 0.1, 0.36, 0.34], [0.1, 0.2, 0.6, 0.1]]))
    # digits: yes counts as _unknown_, and the two together weigh like one label (their mean, not the max)
    assert pr.group_decision(labels, {"0", "1", "_unknown_"})(logp) == ["0", "_unknown_", "_unknown_"]
    assert pr.group_decision(labels, set(labels))(logp) == ["_unknown_", "yes", "yes"]   # its own labels: the argmax

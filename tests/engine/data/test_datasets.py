"""Dataset folders: labels from folders, groups from CSVs or file names, FSDD, honest grouped splits."""
from collections import Counter
from pathlib import Path

import pytest
from testdata import shared_data

from recognizers.data.datasets import Example, group_split, import_fsdd, is_fsdd_flat, scan_dataset, summarize
from recognizers.errors import DatasetError
from recognizers.io.audio import AUDIO_EXTENSIONS

EXT = AUDIO_EXTENSIONS


def _touch(p: Path, data: bytes = b"RIFF") -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def test_folder_per_label_scan_is_sorted_and_filters_extensions(tmp_path):
    for name in ("yes/b.wav", "yes/a.WAV", "yes/sub/c.flac", "no/x.wav", "no/notes.txt", "no/.hidden.wav",
                 ".cache/z.wav", "README.md"):
        _touch(tmp_path / name)
    ex = scan_dataset(tmp_path, EXT)
    assert [(e.path.relative_to(tmp_path).as_posix(), e.label) for e in ex] == [
        ("no/x.wav", "no"), ("yes/a.WAV", "yes"), ("yes/b.wav", "yes"), ("yes/sub/c.flac", "yes")]
    assert all(e.group is None for e in ex)  # no ids anywhere: each file is its own group
    assert summarize(ex) == {"n": 4, "per_label": {"no": 1, "yes": 3}, "n_groups": 0}


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(DatasetError, match="no such dataset folder"):
        scan_dataset(tmp_path / "absent", EXT)
    (tmp_path / "yes").mkdir()
    _touch(tmp_path / "yes" / "notes.txt")
    with pytest.raises(DatasetError, match="expected"):
        scan_dataset(tmp_path, EXT)
    assert scan_dataset(tmp_path, EXT, allow_empty=True) == []


@pytest.mark.parametrize("stem, group", [
    ("0a7c2a8d_nohash_0", "0a7c2a8d"),      # Speech Commands
    ("ffd2ba2f_nohash_12", "ffd2ba2f"),
    ("7_jackson_32", "jackson"),            # FSDD
    ("3_yweweler-2_0", "yweweler-2"),
    ("maria__2024-05-01_12", "maria"),      # the app's recorder
    ("recording_01", None),
    ("0a7c2a8d_hash_0", None),
    ("12_jackson_3", None),                 # FSDD digits are single characters
])
def test_group_from_file_name_heuristics(tmp_path, stem, group):
    _touch(tmp_path / "lab" / f"{stem}.wav")
    (e,) = scan_dataset(tmp_path, EXT)
    assert e.group == group


def test_speakers_csv_gives_groups_by_relative_path_or_bare_name(tmp_path):
    for name in ("yes/a.wav", "yes/b.wav", "no/c.wav", "no/d.wav", "no/0a7c2a8d_nohash_1.wav"):
        _touch(tmp_path / name)
    (tmp_path / "speakers.csv").write_text("file,speaker\nyes/a.wav,ann\nb.wav,bob\nno/c.wav,ann\n")
    groups = {e.path.name: e.group for e in scan_dataset(tmp_path, EXT)}
    assert groups == {"a.wav": "ann", "b.wav": "bob", "c.wav": "ann", "d.wav": None,
                      "0a7c2a8d_nohash_1.wav": "0a7c2a8d"}


def test_speakers_csv_with_bom_and_path_column(tmp_path):
    _touch(tmp_path / "yes" / "a.wav")
    (tmp_path / "speakers.csv").write_bytes("\ufeffpath,speaker\nyes/a.wav,zoe\n".encode("utf-8"))
    assert scan_dataset(tmp_path, EXT)[0].group == "zoe"


def test_manifest_takes_precedence(tmp_path):
    _touch(tmp_path / "clips" / "1.wav")
    _touch(tmp_path / "clips" / "2.wav")
    _touch(tmp_path / "other" / "3.wav")  # not in the manifest: ignored
    (tmp_path / "speakers.csv").write_text("file,speaker\nclips/1.wav,nobody\n")
    (tmp_path / "manifest.csv").write_text("path,label,speaker\nclips/2.wav,no,bob\nclips/1.wav,yes,ann\n")
    ex = scan_dataset(tmp_path, EXT)
    assert [(e.path.name, e.label, e.group) for e in ex] == [("1.wav", "yes", "ann"), ("2.wav", "no", "bob")]


def test_manifest_errors(tmp_path):
    (tmp_path / "manifest.csv").write_text("path,label\nclips/1.wav,\n")
    with pytest.raises(DatasetError, match="line 2 needs"):
        scan_dataset(tmp_path, EXT)
    (tmp_path / "manifest.csv").write_text("path,label\n")
    with pytest.raises(DatasetError, match="lists no examples"):
        scan_dataset(tmp_path, EXT)
    (tmp_path / "manifest.csv").write_bytes(b"path,label\n\xff\xfe\x00bad\n")
    with pytest.raises(DatasetError, match="unreadable CSV"):
        scan_dataset(tmp_path, EXT)


def _fsdd_files(folder: Path, speakers=("jackson", "theo", "nicolas"), digits=range(10), per=2):
    for d in digits:
        for s in speakers:
            for n in range(per):
                _touch(folder / f"{d}_{s}_{n}.wav")


@pytest.mark.parametrize("sub", ["", "recordings"])
def test_fsdd_flat_layout_is_read_directly(tmp_path, sub):
    _fsdd_files(tmp_path / sub if sub else tmp_path)
    (tmp_path / "README.md").write_text("FSDD")
    assert is_fsdd_flat(tmp_path, EXT) == (tmp_path / sub if sub else tmp_path)
    ex = scan_dataset(tmp_path, EXT)
    assert len(ex) == 60
    assert Counter(e.label for e in ex) == {str(d): 6 for d in range(10)}
    assert {e.group for e in ex} == {"jackson", "theo", "nicolas"}
    for e in ex:
        assert e.path.stem.startswith(e.label + "_" + e.group + "_")


def test_a_folder_with_one_non_fsdd_file_is_not_flat_fsdd(tmp_path):
    _fsdd_files(tmp_path, per=1)
    _touch(tmp_path / "hello.wav")
    assert is_fsdd_flat(tmp_path, EXT) is None


def test_import_fsdd(tmp_path):
    src, dest = tmp_path / "fsdd", tmp_path / "data"
    _fsdd_files(src / "recordings", speakers=("jackson", "theo"), digits=range(3), per=2)
    n = import_fsdd(src, dest)
    assert n == 12
    assert sorted(p.name for p in dest.iterdir()) == ["0", "1", "2", "speakers.csv"]
    assert sorted(p.name for p in (dest / "1").iterdir()) == [
        "1_jackson_0.wav", "1_jackson_1.wav", "1_theo_0.wav", "1_theo_1.wav"]
    assert (dest / "1" / "1_theo_0.wav").read_bytes() == (src / "recordings" / "1_theo_0.wav").read_bytes()
    ex = scan_dataset(dest, EXT)
    assert len(ex) == 12 and {e.group for e in ex} == {"jackson", "theo"}
    assert all(e.path.stem.split("_")[1] == e.group for e in ex)
    lines = (dest / "speakers.csv").read_text().splitlines()
    assert lines[0] == "file,speaker" and "0/0_jackson_0.wav,jackson" in lines
    # importing again (plus a new speaker) keeps existing files and adds the new ones
    _fsdd_files(src / "recordings", speakers=("lucas",), digits=range(3), per=1)
    assert import_fsdd(src, dest) == 15
    assert len(scan_dataset(dest, EXT)) == 15
    assert not [p for p in dest.rglob(".*")]  # no temporary files left


def test_import_fsdd_refuses_other_folders(tmp_path):
    _touch(tmp_path / "yes" / "a.wav")
    with pytest.raises(DatasetError, match="no FSDD-style files"):
        import_fsdd(tmp_path, tmp_path / "out")


def test_real_fsdd_scan_and_import(tmp_path):
    fsdd = shared_data("fsdd")
    ex = scan_dataset(fsdd, EXT)
    assert len(ex) == 2000
    assert Counter(e.group for e in ex) == {"jackson": 500, "nicolas": 500, "theo": 500, "yweweler": 500}
    assert Counter(e.label for e in ex) == {str(d): 200 for d in range(10)}
    assert import_fsdd(fsdd, tmp_path / "data") == 2000
    imported = scan_dataset(tmp_path / "data", EXT)
    assert [(e.label, e.group, e.path.name) for e in imported] == sorted(
        (e.label, e.group, e.path.name) for e in ex)


def _examples(groups_per_label: dict[str, list[str | None]]):
    out = []
    for label, groups in groups_per_label.items():
        for j, g in enumerate(groups):
            out.append(Example(Path(f"/d/{label}/{g}_{j}.wav"), label, g))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_group_split_never_puts_a_group_on_both_sides(seed):
    speakers = [f"s{k}" for k in range(7)]
    ex = _examples({lab: [speakers[(j * 3 + len(lab)) % 7] for j in range(40)] for lab in ("a", "bb", "ccc")})
    train, val, desc = group_split(ex, 0.2, seed)
    assert train and val and len(train) + len(val) == len(ex)
    assert not {e.group for e in train} & {e.group for e in val}
    assert "grouped" in desc
    assert 0.05 * len(ex) <= len(val) <= 0.45 * len(ex)
    assert group_split(ex, 0.2, seed) == (train, val, desc)  # deterministic


def test_group_split_explicit_validation_groups():
    ex = _examples({"a": ["x", "y", "z", "x"], "b": ["y", "z", "x", "z"]})
    train, val, desc = group_split(ex, val_groups=["z"])
    assert {e.group for e in val} == {"z"} and "z" not in {e.group for e in train}
    assert "held-out" in desc and len(val) == 3
    with pytest.raises(DatasetError, match="not in the data"):
        group_split(ex, val_groups=["nobody"])


def test_group_split_ungrouped_files_are_their_own_groups():
    ex = _examples({"a": ["x"] * 10 + [None] * 5, "b": ["y"] * 10 + ["z"] * 10})
    train, val, _ = group_split(ex, 0.3, 1)
    assert not {e.group for e in train if e.group} & {e.group for e in val if e.group}
    assert not {e.path for e in train} & {e.path for e in val}


@pytest.mark.parametrize("groups", [[None] * 20, ["solo"] * 20, ["p", "q"] * 10])
def test_group_split_falls_back_honestly_with_fewer_than_three_groups(groups):
    ex = _examples({"a": groups, "b": groups})
    train, val, desc = group_split(ex, 0.2, 0)
    assert len(train) + len(val) == 40
    assert Counter(e.label for e in val) == {"a": 4, "b": 4}  # every 5th file of each label
    assert "grouped" not in desc and "every 5th file" in desc
    named = {g for g in groups if g}
    if named:  # the same speakers are on both sides, and the description must not hide it
        assert {e.group for e in train} & {e.group for e in val}
        assert str(len(named)) in desc and "speaker" in desc

"""Recorder and dataset operations (engine, no Qt): trimming, atomic takes, sessions cut from a stream,
kill-safety, full-disk errors, labels with counts, delete/relabel, imports."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import soundfile as sf
from testdata import REPO, SHARED_DATA, synth_word, write_wav

from recognizers.data import dataset_ops as ops
from recognizers.data import recorder as rec
from recognizers.data.datasets import scan_dataset
from recognizers.data.landmark_files import load_landmark_file

RATE = 16000


def word_in_silence(label="up", speaker="ann", lead_s=0.6, tail_s=0.7, seed=0):
    rng = np.random.default_rng(seed)
    w = synth_word(label, speaker, rng)
    noise = lambda s: 0.001 * rng.standard_normal(int(s * RATE)).astype(np.float32)  # noqa: E731
    return np.concatenate([noise(lead_s), w, noise(tail_s)]), w.size


def test_trim_keeps_the_voiced_part_with_a_margin():
    x, n_word = word_in_silence()
    start, end = rec.voiced_span(x, RATE, margin_ms=150)
    lead = int(0.6 * RATE)
    assert abs(start - (lead - int(0.15 * RATE))) < 0.06 * RATE
    assert abs(end - (lead + n_word + int(0.15 * RATE))) < 0.08 * RATE
    assert rec.voiced_span(0.001 * np.random.default_rng(1).standard_normal(RATE), RATE) is None
    assert rec.voiced_span(np.zeros(RATE, np.float32), RATE) is None
    click = np.zeros(RATE, np.float32)
    click[8000:8030] = 0.9                                   # a 2 ms click is not a word
    assert rec.voiced_span(click, RATE) is None


def test_speech_take_is_16k_mono_pcm16_named_for_its_speaker(tmp_path):
    x, _ = word_in_silence()
    x48 = np.interp(np.arange(int(x.size * 3)) / 3, np.arange(x.size), x).astype(np.float32)
    saved = rec.record_take(tmp_path, rec.Take("speech", "up", "ann", 48000, samples=x48, index=1))
    info = sf.info(str(saved.path))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert saved.path.parent == tmp_path / "up" and saved.path.name.startswith("ann__")
    assert 0.5 < saved.duration_s < 1.0                      # 1.7 s take trimmed to word + margins
    ex = scan_dataset(tmp_path, (".wav",))
    assert [(e.label, e.group) for e in ex] == [("up", "ann")]
    with pytest.raises(rec.NoVoiceError):
        rec.record_take(tmp_path, rec.Take("speech", "up", "ann", RATE, samples=np.zeros(RATE, np.float32)))
    assert len(scan_dataset(tmp_path, (".wav",))) == 1
    assert not [p for p in (tmp_path / "up").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("label,speaker", [("", "ann"), ("../x", "ann"), ("_unknown_", "ann"),
                                           ("up", ""), ("up", "a__b"), ("up", "an n")])
def test_bad_labels_and_speakers_are_refused(label, speaker):
    with pytest.raises(rec.RecordingError):
        rec.RecordingSettings("speech", label, speaker).validate()


def test_session_cuts_a_stream_into_takes_with_countdowns(tmp_path):
    words = [word_in_silence(seed=k, lead_s=0.3, tail_s=0.7)[0][: int(1.2 * RATE)] for k in range(3)]
    cfg = rec.RecordingSettings("speech", "up", "bob", n_takes=3, take_s=1.2, countdown_s=0.5)
    writer = rec.DatasetWriter(tmp_path)
    saver = rec.BackgroundSaver(writer)
    session = rec.RecordingSession(cfg, RATE, saver.submit)
    assert session.status().phase == "countdown"
    stream = np.concatenate(sum(([np.zeros(int(0.5 * RATE), np.float32), w] for w in words), []))
    phases = []
    for s in range(0, stream.size, 320):                       # 20 ms blocks, like the app's sources
        session.push_audio(stream[s:s + 320])
        phases.append(session.status().phase)
    assert session.done and session.status().captured == 3
    assert phases.count("countdown") > 0 and phases.count("recording") > 0
    saver.close()
    outcomes = saver.outcomes()
    assert [o.take for o in outcomes] == [1, 2, 3] and all(o.saved for o in outcomes)
    takes = ops.list_takes(tmp_path, "speech")
    assert len(takes) == 3 and {t.group for t in takes} == {"bob"}
    assert all(0.3 < t.duration_s < 1.2 for t in takes)


def test_gesture_take_keeps_landmarks_and_optional_video(tmp_path):
    cfg = rec.RecordingSettings("gesture", "swipe", "s1", n_takes=1, take_s=0.5, countdown_s=0.0, keep_video=True)
    takes = []
    session = rec.RecordingSession(cfg, 30.0, takes.append)
    rng = np.random.default_rng(0)
    frames = rng.uniform(0.2, 0.8, (20, 2, 21, 3)).astype(np.float32)
    frames[:, 0] = np.nan
    for f in frames:
        session.push_frame(f, np.full((48, 64, 3), 128, np.uint8))
    assert session.done and len(takes) == 1
    saved = rec.DatasetWriter(tmp_path).write(takes[0])
    lm = load_landmark_file(saved.path, fps=30.0)
    assert lm.shape == (15, 2, 21, 3) and np.allclose(lm[:, 1], frames[:15, 1]) and np.isnan(lm[:, 0]).all()
    assert saved.video_path is not None and saved.video_path.stat().st_size > 0
    info = ops.list_takes(tmp_path, "gesture")[0]
    assert info.video_path == saved.video_path and info.duration_s == pytest.approx(0.5)


def test_full_disk_is_a_clear_error_and_keeps_earlier_takes(tmp_path, monkeypatch):
    x, _ = word_in_silence()
    writer = rec.DatasetWriter(tmp_path)
    first = writer.write(rec.Take("speech", "up", "ann", RATE, samples=x))

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(rec.os, "replace", full)
    with pytest.raises(rec.RecordingError, match="disk is full"):
        writer.write(rec.Take("speech", "up", "ann", RATE, samples=x))
    monkeypatch.undo()
    assert [p.name for p in (tmp_path / "up").iterdir()] == [first.path.name]   # temp file removed too
    (tmp_path / "blocked").write_text("a file where the dataset folder should be")
    with pytest.raises(rec.RecordingError, match="cannot record into"):
        rec.DatasetWriter(tmp_path / "blocked" / "data").ensure_writable()


KILL_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, {repo!r})
    from recognizers.data.recorder import DatasetWriter, Take, write_landmarks_atomic
    root = sys.argv[1]
    w = DatasetWriter(root)
    rng = np.random.default_rng(0)
    k = 0
    while True:   # long takes (5 s of audio, big landmark files) so the kill often lands mid-write
        t = np.arange(16000 * 5) / 16000
        x = (0.3 * np.sin(2 * np.pi * 220 * t) * (rng.random() + 0.5)).astype(np.float32)
        w.write(Take("speech", "up", "k%d" % (k % 3), 16000, samples=x, index=k))
        w.write(Take("gesture", "wave", "k%d" % (k % 3), 30, landmarks=rng.random((3000, 2, 21, 3)), index=k))
        k += 1
        print(k, flush=True)
""")


def test_kill_during_writes_leaves_only_complete_takes(tmp_path):
    root = tmp_path / "data"
    script = tmp_path / "writer.py"
    script.write_text(KILL_SCRIPT.format(repo=str(REPO)))
    for delay in (0.9, 1.37):
        proc = subprocess.Popen([sys.executable, str(script), str(root)], stdout=subprocess.PIPE, text=True)
        lines = 0
        while lines < 2:                                    # at least two complete rounds first
            assert proc.stdout.readline(), "the writer process died"
            lines += 1
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    wavs = scan_dataset(root, (".wav",))
    npzs = scan_dataset(root, (".npz",))
    assert len(wavs) >= 4 and len(npzs) >= 4
    for e in wavs:
        info = sf.info(str(e.path))
        assert info.frames > 0 and sf.read(str(e.path))[0].size == info.frames
    for e in npzs:
        assert load_landmark_file(e.path).shape[0] == 3000
    # temp files may be left behind, but never under a name the scanner reads; the app sweeps them
    ops.remove_stale_temp_files(root)
    assert not [p for p in root.rglob(".*")]


def test_labels_counts_durations_delete_and_relabel(tmp_path):
    for k, (label, spk) in enumerate([("up", "ann"), ("up", "bob"), ("down", "ann")]):
        write_wav(tmp_path / label / f"{spk}__{k}.wav", np.full(8000 * (k + 1), 0.1, np.float32))
    (tmp_path / "left").mkdir()
    takes = ops.list_takes(tmp_path, "speech")
    rows = {s.label: s for s in ops.summarize_labels(tmp_path, takes)}
    assert rows["up"].n_takes == 2 and rows["up"].total_s == pytest.approx(1.5) and rows["up"].groups == {"ann", "bob"}
    assert rows["left"].n_takes == 0
    moved = ops.relabel_take(tmp_path, tmp_path / "up" / "bob__1.wav", "down")
    assert moved == tmp_path / "down" / "bob__1.wav"
    ops.delete_take(tmp_path, tmp_path / "down" / "ann__2.wav")
    assert ops.count_by_label(ops.list_takes(tmp_path, "speech")) == {"up": 1, "down": 1}
    with pytest.raises(rec.RecordingError):
        ops.relabel_take(tmp_path, moved, "../elsewhere")


def test_relabel_and_delete_keep_a_manifest_in_step(tmp_path):
    write_wav(tmp_path / "up" / "a.wav", np.full(1600, 0.1, np.float32))
    write_wav(tmp_path / "up" / "b.wav", np.full(1600, 0.1, np.float32))
    (tmp_path / "manifest.csv").write_text("path,label,speaker\nup/a.wav,up,ann\nup/b.wav,up,bob\n")
    x, _ = word_in_silence()
    saved = rec.record_take(tmp_path, rec.Take("speech", "up", "cat", RATE, samples=x))
    assert len(scan_dataset(tmp_path, (".wav",))) == 3                 # the new take is in the manifest
    ops.relabel_take(tmp_path, saved.path, "down")
    ops.delete_take(tmp_path, tmp_path / "up" / "a.wav")
    ex = scan_dataset(tmp_path, (".wav",))
    assert sorted((e.label, e.group) for e in ex) == [("down", "cat"), ("up", "bob")]


def test_import_wav_files_fsdd_names_and_label_folders(tmp_path):
    src = tmp_path / "src"
    write_wav(src / "loose" / "hello.wav", np.full(8000, 0.1, np.float32), rate=8000)
    write_wav(src / "fsdd" / "3_theo_0.wav", np.full(4000, 0.1, np.float32), rate=8000)
    write_wav(src / "fsdd" / "4_theo_1.wav", np.full(4000, 0.1, np.float32), rate=8000)
    write_wav(src / "perlabel" / "yes" / "x.flac", np.full(1600, 0.1, np.float32), subtype="PCM_16")
    (src / "bad.wav").write_bytes(b"not audio")
    data = tmp_path / "data"
    r = ops.import_paths(data, "speech", [src / "loose" / "hello.wav"], label="hi", speaker="zoe")
    assert [p.relative_to(data).as_posix() for p in r.imported] == ["hi/zoe__hello.wav"]
    r = ops.import_paths(data, "speech", [src / "fsdd", src / "perlabel", src / "bad.wav"])
    assert len(r.imported) == 3 and len(r.skipped) == 1 and "bad.wav" in r.skipped[0]
    ex = {(e.label, e.group) for e in scan_dataset(data, (".wav",))}
    assert ex == {("hi", "zoe"), ("3", "theo"), ("4", "theo"), ("yes", None)}
    assert all(sf.info(str(e.path)).samplerate == 16000 for e in scan_dataset(data, (".wav",)))


def test_import_gesture_files_and_public_formats(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    np.savez(src / "one.npz", landmarks=np.random.default_rng(0).random((12, 21, 3)).astype(np.float32))
    np.save(src / "pickled.npy", np.array([object()], dtype=object), allow_pickle=True)
    data = tmp_path / "data"
    rec.record_take(data, rec.Take("gesture", "wave", "s1", 30, landmarks=np.zeros((5, 2, 21, 3))))
    r = ops.import_paths(data, "gesture", [src / "one.npz"], label="point")
    assert len(r.imported) == 1
    arman = SHARED_DATA / "dynamic_gestures_arman" / "dhgr6_raw_2hands.npz"
    if arman.is_file():
        r = ops.import_paths(data, "gesture", [arman])
        assert len(r.imported) > 50
        labels = ops.count_by_label(ops.list_takes(data, "gesture"))
        assert labels["wave"] == 1 and labels["point"] == 1 and len(labels) > 3   # earlier takes still listed

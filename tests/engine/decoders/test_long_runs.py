"""Digits said in one breath (issue 16, item 8): runs too long for one word are read by the connected-digit
companion model, so the default digits model gives words at natural pace instead of nothing."""
import difflib
import shutil
import subprocess
import sys

import numpy as np
import pytest
from speech_sounds import harmonic_burst
from testdata import REPO

from recognizers.decoders import Transcriber, TranscriberConfig, find_companion, make_decoder
from recognizers.decoders.long_runs import LongRunReader, fits_companion
from recognizers.errors import VaultError
from recognizers.io.audio import load_audio
from recognizers.model_files import load_model

MODELS = REPO / "assets" / "models"
FAST = "three. seven. one. nine. five. two. eight. four. six. zero."
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


@pytest.fixture(scope="module")
def digits():
    return load_model(MODELS / "digits-en")


@pytest.fixture(scope="module")
def fast_digits(tmp_path_factory):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    path = tmp_path_factory.mktemp("fast") / "fast.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", FAST, "-w", str(path)], check=True, capture_output=True)
    return path, load_audio(path, 16000)


def decode(decoder, x, block=320):
    events = []
    for i in range(0, x.size, block):
        events += decoder.push(x[i:i + block]).events
    return events + decoder.flush()


def matched(ref: str, hyp: str) -> int:
    return sum(b.size for b in difflib.SequenceMatcher(None, ref, hyp).get_matching_blocks())


def test_the_shipped_digit_model_finds_its_connected_companion(digits):
    companion = find_companion(digits)
    assert companion is not None and companion.path.name == "digits-connected-en"
    assert fits_companion(digits, companion.meta)
    assert find_companion(load_model(MODELS / "commands-en")) is None      # its words are not digits
    assert find_companion(companion) is None                               # a CTC model reads long runs itself


def test_a_companion_with_other_rates_or_words_is_refused(digits):
    companion = find_companion(digits)
    other = {**companion.meta, "frontend": {**companion.meta["frontend"], "sample_rate_hz": 8000}}
    assert not fits_companion(digits, other)
    # another frontend on the same samples is fine: the companion then runs its own (LongRunReader.push_samples)
    assert fits_companion(digits, {**companion.meta, "frontend": {**companion.meta["frontend"], "n_mels": 64}})
    assert not fits_companion(digits, {**companion.meta, "labels": ["yes", "no", "_unknown_"]})
    with pytest.raises(VaultError, match="cannot read"):
        Transcriber(digits, long_runs=load_model(MODELS / "commands-en"))
    with pytest.raises(VaultError, match="not a connected-digit"):
        LongRunReader(digits, 0.01, 15)


@needs_espeak
def test_digits_said_in_one_breath_give_words(digits, fast_digits):
    _, x = fast_digits
    without = make_decoder(digits, trace=False, long_runs=None)
    assert decode(without, x) == []                                    # what a user met before: nothing
    assert any(r.get("reason") == "too long" for r in without.rejected)
    events = decode(make_decoder(digits, trace=False), x)
    hyp = "".join(e.label for e in events)
    assert matched("3719528460", hyp) >= 6, hyp                        # most of them, in order
    assert len(hyp) <= 11
    starts = [e.start_s for e in events]
    assert starts == sorted(starts) and 0 <= starts[0] and events[-1].end_s <= x.size / 16000 + 0.1


@needs_espeak
def test_digits_with_pauses_are_still_read_by_the_word_model(digits, tmp_path):
    path = tmp_path / "slow.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "120", "-g", "40", "four. two. nine.", "-w", str(path)],
                   check=True, capture_output=True)
    x = load_audio(path, 16000)
    tr = make_decoder(digits, trace=False)
    hyp = "".join(e.label for e in decode(tr, x))
    assert matched("429", hyp) >= 2, hyp
    assert tr.long_runs is not None and tr.long_runs.runs_read == 0    # words with pauses never needed it


def test_non_speech_gives_no_words_with_the_companion(digits):
    from recognizers.bench.transcription import build_non_speech_stream
    x = build_non_speech_stream(40, np.random.default_rng(3), 16000)
    steady = np.concatenate([harmonic_burst(3.0, steady=True), np.zeros(8000, np.float32)])   # a 3 s tone
    audio = np.concatenate([x, steady])
    tr = make_decoder(digits, trace=False)
    assert decode(tr, audio) == []
    # the companion itself, handed the last 12 s of these sounds as one long run, finds no digit in them
    reader = LongRunReader(find_companion(digits), tr.hop_s, tr._pre_roll, frontend=dict(digits.frontend_config))
    reader.push_samples(audio)
    for _ in range(int(audio.size / 16000 / tr.hop_s)):
        reader.append(np.zeros(0, np.float32))
    reader.begin(0)
    assert reader.read() == [] and reader.runs_read == 1


def test_the_long_run_buffer_is_bounded(digits, fast_digits):
    _, x = fast_digits
    tr = Transcriber(digits, TranscriberConfig(long_run_max_s=1.0), trace=False, long_runs=find_companion(digits))
    reader = tr.long_runs
    hyp = "".join(e.label for e in decode(tr, x))
    assert reader.max_frames == round(1.0 / reader.hop_s)           # 1 s of the word model's frames
    if reader.own_frontend:     # samples for the companion's own frontend: at most 1 s + the pre-roll, + one block
        assert reader.own_kept == sum(b.size for b in reader.own_blocks)
        assert reader.own_kept <= reader.max_samples + 640
        assert reader.max_samples == round((reader.max_frames + reader.pre_roll) * reader.hop_s * 16000)
    else:
        assert len(reader.history) <= reader.max_frames + reader.pre_roll
    assert reader.runs_read >= 3                              # 3.8 s read in pieces of at most 1 s
    assert not reader.open and matched("3719528460", hyp) >= 4, hyp


@needs_espeak
def test_transcribe_reads_fast_digits_and_can_turn_it_off(fast_digits):
    path, _ = fast_digits
    cli = [sys.executable, "-m", "recognizers", "transcribe", "--model", str(MODELS / "digits-en"), str(path)]
    on = subprocess.run(cli, capture_output=True, text=True, cwd=REPO)
    assert on.returncode == 0, on.stderr
    assert len(on.stdout.strip().splitlines()) >= 6
    off = subprocess.run(cli + ["--long-runs", "off"], capture_output=True, text=True, cwd=REPO)
    assert off.returncode == 0 and "no words recognised" in off.stdout and "pause between words" in off.stdout
    bad = subprocess.run(cli + ["--long-runs", str(MODELS / "commands-en")], capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "cannot read" in bad.stderr

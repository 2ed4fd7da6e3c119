#!/usr/bin/env python3
"""Assemble the training set of the shipped spoken-digit model into one folder-per-label dataset.

Sources (nothing is downloaded; everything is local):
  * FSDD (../shared/data/fsdd): 4 real speakers, 2,000 clips, CC BY-SA 4.0            -> labels 0..9
  * Speech Commands v0.01 sample (../shared/data/speech_commands_v0.01_sample): 34 real speakers,
    CC BY 4.0; the words zero..nine -> labels 0..9, every other word -> _unknown_
  * synthetic speakers: espeak-ng (accents x voice variants x pitch x speed), flite and festival voices
    saying the digits -> 0..9, and other English words -> _unknown_
  * with --sc2: Speech Commands v0.02 test set, developer part (../shared/data/speech_commands_v0.02_test_part):
    158 real speakers, CC BY 4.0; its 158 digit clips (78 speakers) -> 0..9 (each linked --sc2-digit-repeat
    times: they are the only real digits from phone/browser microphones), up to --sc2-unknown-per-speaker
    other clips per speaker (commands and other words) and --sc2-silence _silence_ clips -> _unknown_.
    Speakers are ``sc-<id>`` (as in build_speech_data.py, so v0.01 and v0.02 ids of one person are one group);
    _silence_ clips get the ``sil-<k>`` pseudo-groups build_speech_data.py gives them.

Writes DEST/<label>/<file>.wav (symlinks for real data, generated WAVs for TTS) and DEST/manifest.csv
with a speaker column, so the trainer can validate on held-out speakers.

    python scripts/build_digit_data.py --dest work/digits_data [--no-tts] [--accent-voices N] [--sc2]

--accent-voices N adds N espeak-ng voices per other language (ACCENT_SPELLINGS) saying respelled English
digits; tried for the shipped model and not adopted (README: leave-one-speaker-out section).
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LSTM_VAULT_SHARED_DATA", REPO.parent / "shared" / "data"))
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
OTHER_WORDS = ["hello", "yes", "no", "stop", "go", "left", "right", "up", "down", "on", "off", "cat", "dog",
               "bird", "house", "happy", "water", "table", "music", "window", "green", "paper", "system",
               "morning", "coffee", "banana", "lamp", "chair", "phone", "open", "close", "play", "next",
               "back", "wow", "tree", "bed", "marvin", "sheila", "apple", "river", "yellow", "purple",
               "orange", "kitchen", "garden", "listen", "people", "little", "maybe", "thanks", "sorry",
               "please", "good", "bad", "start", "pause", "volume", "hey", "okay"]
ESPEAK_ACCENTS = ["en-us", "en-us-nyc", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-029", "en-gb",
                  "en-gb-x-gbcwmd"]
# English digit words respelled in other languages' spelling, read by espeak-ng's voice for that language:
# a rough stand-in for speakers who say English digits with the sounds of their first language.
ACCENT_SPELLINGS = {
    "de": "sieroh wann tuh sri fohr feif sicks säwen eet nein",
    "nl": "ziero wan toe srie foor faaiv siks seven eet najn",
    "fr-fr": "ziro ouane tou sri for faïve sixe sévène eïte naïne",
    "es": "siro uan tu tri for faif siks séven eit nain",
    "it": "ziro uan tu tri for faiv siks seven eit nain",
    "pt-br": "ziro uan tu tri for faiv siks séven eit nain",
    "pl": "ziro łan tu fri for fajw siks sewen ejt najn",
    "cs": "ziro uan tů trí fór fajv siks seven ejt najn",
    "hr": "ziro uan tu tri for fajv siks seven ejt najn",
    "ro": "ziro uan tu tri for faiv sics seven eit nain",
    "fi": "siro uan tuu trii foor faiv siks seven eit nain",
    "sv": "siro uann to sri får fajv siks sävven ejt najn",
    "hu": "ziró van tú szri for fájv sziksz szeven éjt nájn",
    "tr": "ziro van tu tri for fayv siks seven eyt nayn",
    "id": "ziro wan tu tri for faif siks seven eit nain",
    "ru": "зиро уан ту сри фо файв сикс севен эйт найн",
    "hi": "ज़ीरो वन टू थ्री फ़ोर फ़ाइव सिक्स सेवन एट नाइन",
}
ESPEAK_VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2"]


def trim(x: np.ndarray, rate: int, margin_s: float = 0.02, rel_db: float = -35.0) -> np.ndarray:
    """Cut leading/trailing silence (frames 35 dB below the loudest), like FSDD's trimmed clips."""
    hop = max(1, rate // 100)
    n = len(x) // hop
    if n == 0:
        return x
    e = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1)) + 1e-9
    db = 20 * np.log10(e / e.max())
    idx = np.where(db > rel_db)[0]
    if idx.size == 0:
        return x
    m = int(margin_s * rate)
    return x[max(0, idx[0] * hop - m): min(len(x), (idx[-1] + 1) * hop + m)]


def synth(cmd: list[str], out: Path, text: str) -> bool:
    with tempfile.TemporaryDirectory() as td:
        raw = Path(td) / "raw.wav"
        full = [c.replace("{OUT}", str(raw)).replace("{TEXT}", text) for c in cmd]
        try:
            subprocess.run(full, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
                           input=text.encode() if "{STDIN}" in cmd else None)
            x, rate = sf.read(str(raw), dtype="float32", always_2d=True)
        except Exception:
            return False
        x = trim(x.mean(1), rate)
        if len(x) < rate * 0.1:
            return False
        sf.write(str(out), x / (np.abs(x).max() + 1e-9) * 0.7, rate, subtype="PCM_16")
    return True


def espeak_voice(rng: random.Random, voice: str, name: str, max_speed: int) -> tuple[str, list[str]]:
    """(name with pitch and speed, command) of espeak-ng ``voice`` at a random pitch and speed."""
    p, s = rng.randint(25, 75), rng.randint(120, max_speed)
    return (f"{name}-p{p}-s{s}",
            ["espeak-ng", "-v", voice, "-p", str(p), "-s", str(s), "-w", "{OUT}", "{TEXT}"])


def tts_voices(rng: random.Random, n_espeak: int) -> list[tuple[str, list[str]]]:
    voices = []
    combos = [(a, v) for a in ESPEAK_ACCENTS for v in ESPEAK_VARIANTS]
    rng.shuffle(combos)
    for a, v in combos[:n_espeak]:
        voices.append(espeak_voice(rng, f"{a}+{v}", f"espeak-{a}+{v}", 190))
    if shutil.which("flite"):
        for voice in ("kal", "kal16", "awb", "rms", "slt"):
            for stretch, f0 in ((1.0, 0), (1.25, 0), (0.85, 0), (1.1, 140), (1.0, 200)):
                cmd = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}"]
                if f0:
                    cmd += ["--setf", f"int_f0_target_mean={f0}"]
                voices.append((f"flite-{voice}-d{stretch}-f{f0}", cmd + ["-t", "{TEXT}", "-o", "{OUT}"]))
    if shutil.which("text2wave"):
        for voice in ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"):
            voices.append((f"festival-{voice}",
                           ["bash", "-c", f"echo '{{TEXT}}' | text2wave -eval '(voice_{voice})' -o {{OUT}}"]))
    return voices


def accent_voices(rng: random.Random, per_language: int) -> list[tuple[str, str, list[str]]]:
    """(language, voice name, command) for espeak-ng voices of other languages (see ACCENT_SPELLINGS)."""
    return [(lang, *espeak_voice(rng, f"{lang}+{v}", f"accent-{lang}+{v}", 180))
            for lang in ACCENT_SPELLINGS for v in rng.sample(ESPEAK_VARIANTS, per_language)]


SC2 = "speech_commands_v0.02_test_part"


def sc2_rows(dest: Path, repeat: int, unknown_per_speaker: int, n_silence: int, seed: int) -> list[tuple]:
    """Link the Speech Commands v0.02 clips into ``dest`` (see the module docstring); (path, label, group) rows."""
    sys.path.insert(0, str(REPO / "scripts"))
    from build_speech_data import SILENCE_GROUPS, rows_of
    rng = random.Random(seed + 2)   # own stream: the TTS voices do not change
    digits, others, silence = [], {}, []
    n_sil = 0
    for path, word, speaker, _source in rows_of(SHARED, [SC2]):
        if not speaker:   # _silence_: the pseudo-group build_speech_data.py gives it
            silence.append((path, word, f"sil-{n_sil % SILENCE_GROUPS}"))
            n_sil += 1
        elif word in DIGITS:
            digits.append((path, word, f"sc-{speaker}"))
        else:
            others.setdefault(speaker, []).append((path, word, f"sc-{speaker}"))
    picked = [(p, w, g, 1) for p, w, g in digits]
    for speaker in sorted(others):
        clips = others[speaker]
        picked += [(p, w, g, 0) for p, w, g in rng.sample(clips, min(unknown_per_speaker, len(clips)))]
    picked += [(p, w, g, 0) for p, w, g in rng.sample(silence, min(n_silence, len(silence)))]
    rows = []
    for path, word, group, is_digit in picked:
        lab = str(DIGITS.index(word)) if is_digit else "_unknown_"
        for r in range(repeat if is_digit else 1):
            name = f"sc2_{word}_{path.stem}" + (f"_r{r}" if r else "") + ".wav"
            (dest / lab / name).symlink_to(path.resolve())
            rows.append((f"{lab}/{name}", lab, group))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dest", required=True)
    ap.add_argument("--no-tts", action="store_true")
    ap.add_argument("--espeak-voices", type=int, default=70)
    ap.add_argument("--unknown-words-per-voice", type=int, default=6)
    ap.add_argument("--accent-voices", type=int, default=0, metavar="N",
                    help="N espeak-ng voices per other language saying respelled English digits (default 0)")
    ap.add_argument("--sc2", action="store_true",
                    help="add the Speech Commands v0.02 test-part clips (digits, other words, _silence_)")
    ap.add_argument("--sc2-digit-repeat", type=int, default=1, metavar="R",
                    help="with --sc2: link each v0.02 digit clip R times (R augmented copies per epoch)")
    ap.add_argument("--sc2-unknown-per-speaker", type=int, default=4, metavar="N",
                    help="with --sc2: at most N non-digit word clips per speaker as _unknown_ (default 4)")
    ap.add_argument("--sc2-silence", type=int, default=80, metavar="N",
                    help="with --sc2: N of the 314 _silence_ clips as _unknown_ (default 80)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.sc2 and min(args.sc2_digit_repeat - 1, args.sc2_unknown_per_speaker, args.sc2_silence) < 0:
        print("--sc2-digit-repeat must be >= 1, --sc2-unknown-per-speaker and --sc2-silence >= 0", file=sys.stderr)
        return 2
    if args.sc2 and not (SHARED / SC2 / "files.csv").is_file():
        print(f"--sc2: {SHARED / SC2 / 'files.csv'} not found", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    dest = Path(args.dest)
    if dest.exists():
        shutil.rmtree(dest)
    for lab in [str(d) for d in range(10)] + ["_unknown_"]:
        (dest / lab).mkdir(parents=True)
    rows = []

    fsdd = SHARED / "fsdd" / "recordings"
    if not fsdd.is_dir():
        print(f"FSDD not found at {fsdd}", file=sys.stderr)
        return 2
    for p in sorted(fsdd.glob("*.wav")):
        digit, speaker, _ = p.stem.split("_")
        (dest / digit / f"fsdd_{p.name}").symlink_to(p.resolve())
        rows.append((f"{digit}/fsdd_{p.name}", digit, f"fsdd-{speaker}"))

    sc = SHARED / "speech_commands_v0.01_sample"
    if sc.is_dir():
        for p in sorted(sc.glob("*/*.wav")):
            word, spk = p.parent.name, p.stem.split("_")[0]
            lab = str(DIGITS.index(word)) if word in DIGITS else "_unknown_"
            name = f"sc_{word}_{p.name}"
            (dest / lab / name).symlink_to(p.resolve())
            rows.append((f"{lab}/{name}", lab, f"sc-{spk}"))

    if args.sc2:
        rows += sc2_rows(dest, args.sc2_digit_repeat, args.sc2_unknown_per_speaker, args.sc2_silence, args.seed)

    if not args.no_tts:
        jobs = []
        for vname, cmd in tts_voices(rng, args.espeak_voices):
            for d, word in enumerate(DIGITS):
                jobs.append((cmd, dest / str(d) / f"tts_{vname}_{word}.wav", word, str(d), vname))
            for word in rng.sample(OTHER_WORDS, args.unknown_words_per_voice):
                jobs.append((cmd, dest / "_unknown_" / f"tts_{vname}_{word}.wav", word, "_unknown_", vname))
        arng = random.Random(args.seed + 1)  # separate stream: the voices above do not change
        for lang, vname, cmd in accent_voices(arng, args.accent_voices) if args.accent_voices else []:
            for d, word in enumerate(ACCENT_SPELLINGS[lang].split()):
                jobs.append((cmd, dest / str(d) / f"tts_{vname}_{DIGITS[d]}.wav", word, str(d), vname))
            # the same voice reading English words with its own rules: accented non-digits
            for word in arng.sample(OTHER_WORDS, 3):
                jobs.append((cmd, dest / "_unknown_" / f"tts_{vname}_{word}.wav", word, "_unknown_", vname))
        with ThreadPoolExecutor(4) as ex:
            ok = list(ex.map(lambda j: synth(j[0], j[1], j[2]), jobs))
        for (cmd, out, word, lab, vname), good in zip(jobs, ok):
            if good:
                rows.append((f"{lab}/{out.name}", lab, f"tts-{vname}"))
        print(f"synthesised {sum(ok)} of {len(jobs)} TTS clips")

    with open(dest / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "speaker"])
        w.writerows(rows)
    print(f"{len(rows)} clips in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

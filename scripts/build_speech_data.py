#!/usr/bin/env python3
"""Assemble folder-per-label speech datasets with speaker groups from the real Speech Commands clips.

Sources (nothing is downloaded; everything is local, CC BY 4.0, Warden 2018):
  * ../shared/data/speech_commands_v0.02_test_part: 158 speakers, 3,241 clips (ten commands, other words,
    ten digits, _silence_)
  * ../shared/data/speech_commands_v0.01_sample: 34 speakers, 249 clips

Vocabularies:
  commands  the standard 12-class task: yes no up down left right on off stop go, _unknown_ (every other word,
            digits included), _silence_ (the set's background-noise clips)
  digits    0..9 from the digit words, _unknown_ for every other word (no _silence_ class: the digit models
            learn non-speech as _unknown_)

Writes DEST/<label>/<file>.wav (symlinks, or with --trim word clips cut to the word) and DEST/manifest.csv
(path,label,speaker). Speakers are ``sc-<id>``; _silence_ clips have no speaker and are spread over ``sil-<k>``
pseudo-groups (k = 0..23) so that a speaker-disjoint split also splits them.

    python scripts/build_speech_data.py --vocab commands --dest work/commands_data
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LSTM_VAULT_SHARED_DATA", REPO.parent / "shared" / "data"))
COMMANDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
SOURCES = ["speech_commands_v0.02_test_part", "speech_commands_v0.01_sample"]
SILENCE_GROUPS = 24


def label_for(word: str, vocab: str) -> str | None:
    if word == "_silence_":
        return "_silence_" if vocab == "commands" else "_unknown_"
    if vocab == "commands":
        return word if word in COMMANDS else "_unknown_"
    return str(DIGITS.index(word)) if word in DIGITS else "_unknown_"


def rows_of(shared: Path, sources: list[str] = SOURCES):
    """(absolute path, word, speaker id or '', source name) for every clip of the local Speech Commands sets."""
    for name in sources:
        root = shared / name
        if not (root / "files.csv").is_file():
            print(f"skipping {root}: no files.csv", file=sys.stderr)
            continue
        with open(root / "files.csv", newline="") as f:
            for r in csv.DictReader(f):
                yield root / r["path"], r["word"], r.get("speaker_id") or "", name


def trimmed(path: Path, out: Path) -> None:
    """Write ``path`` cut to its word (frames within 35 dB of the loudest, 50 ms margin), like FSDD's clips."""
    import soundfile as sf
    sys.path.insert(0, str(REPO / "scripts"))
    from build_digit_data import trim
    x, rate = sf.read(str(path), dtype="float32", always_2d=True)
    y = trim(x.mean(1), rate, margin_s=0.05)
    sf.write(str(out), y if len(y) >= rate // 10 else x.mean(1), rate, subtype="PCM_16")


def fsdd_rows(shared: Path):
    """(path, word, speaker, source) for FSDD's recordings ``<digit>_<speaker>_<n>.wav`` (CC BY-SA 4.0)."""
    root = shared / "fsdd" / "recordings"
    if not root.is_dir():
        print(f"skipping {root}: not there", file=sys.stderr)
        return
    for path in sorted(root.glob("*.wav")):
        digit, speaker, _take = path.stem.split("_")
        yield path, DIGITS[int(digit)], f"fsdd-{speaker}", "fsdd"


def build(dest: Path, vocab: str, shared: Path = SHARED, sources: list[str] = SOURCES, trim: bool = False,
          fsdd: bool = False) -> int:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    out = []
    n_sil = 0
    import itertools
    rows = itertools.chain(rows_of(shared, sources), fsdd_rows(shared) if fsdd else ())
    for path, word, speaker, source in rows:
        label = label_for(word, vocab)
        if label is None or not path.is_file():
            continue
        if source == "fsdd":
            group = speaker
        elif speaker:
            group = f"sc-{speaker}"
        else:
            group = f"sil-{n_sil % SILENCE_GROUPS}"
            n_sil += 1
        tag = "fsdd" if source == "fsdd" else "v2" if "v0.02" in source else "v1"
        rel = Path(label) / f"{tag}_{word}_{path.stem}.wav"
        (dest / rel.parent).mkdir(exist_ok=True)
        if trim and label != "_silence_":
            trimmed(path, dest / rel)   # a word clip: cut to the word (training is ~2x faster)
        else:
            (dest / rel).symlink_to(path.resolve())
        out.append((rel.as_posix(), label, group))
    with open(dest / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "speaker"])
        w.writerows(out)
    return len(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dest", required=True)
    ap.add_argument("--vocab", choices=["commands", "digits"], default="commands")
    ap.add_argument("--sources", default=",".join(SOURCES),
                    help="comma-separated folders of ../shared/data to read (default both)")
    ap.add_argument("--trim", action="store_true",
                    help="write word clips cut to the word (generated WAVs) instead of symlinks to the 1 s clips")
    ap.add_argument("--fsdd", action="store_true", help="add FSDD's digit recordings (4 speakers, groups fsdd-<name>)")
    args = ap.parse_args(argv)
    n = build(Path(args.dest), args.vocab, sources=args.sources.split(","), trim=args.trim, fsdd=args.fsdd)
    print(f"{n} clips -> {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Peer recognisers run beside our models on the same clips (benchmark only; not an app dependency).

``PocketSphinxPeer`` is CMU PocketSphinx (``pip install pocketsphinx`` or ``pip install -e .[bench]``) with the en-us
acoustic model and dictionary shipped in its wheel and a one-word JSGF grammar over the vocabulary: each clip,
padded with 0.2 s of silence before and after, is decoded as exactly one of the words (an empty hypothesis means
no word). Nothing is downloaded.

Our labels map to words: digits ``0``..``9`` to ``zero``..``nine``, command words to themselves. Labels with no
spoken form (``_unknown_``, ``_silence_``) are not in the grammar; PocketSphinx's empty hypothesis counts as
``_silence_`` when that label exists (else ``_unknown_``), so it can never get an ``_unknown_`` word right.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from recognizers.errors import VaultError

DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
PAD_S = 0.2
RATE = 16000


def word_of(label: str) -> str | None:
    """The spoken word of one of our labels, or None for labels like ``_unknown_``/``_silence_``."""
    if label.isdigit() and len(label) == 1:
        return DIGIT_WORDS[int(label)]
    if label.startswith("_"):
        return None
    return label.lower()


class PocketSphinxPeer:
    """One-word-grammar PocketSphinx over the labels' words; ``classify(samples16k) -> label``."""

    name = "PocketSphinx"

    def __init__(self, labels: list[str], pad_s: float = PAD_S):
        try:
            import pocketsphinx
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise VaultError("PocketSphinx is not installed: pip install pocketsphinx (or the 'bench' extra)") from e
        from importlib.metadata import version
        self.version = version("pocketsphinx")
        self.labels = list(labels)
        self.words = {w: lab for lab in self.labels if (w := word_of(lab))}
        if not self.words:
            raise VaultError("PocketSphinx peer: none of the labels is a word")
        self.empty_label = "_silence_" if "_silence_" in self.labels else "_unknown_"
        self.pad = np.zeros(int(round(pad_s * RATE)), dtype=np.float32)
        grammar = ("#JSGF V1.0;\ngrammar words;\npublic <word> = "
                   + " | ".join(sorted(self.words)) + ";\n")
        model = Path(pocketsphinx.get_model_path())
        config = pocketsphinx.Decoder.default_config()
        config["hmm"] = str(model / "en-us" / "en-us")
        config["dict"] = str(model / "en-us" / "cmudict-en-us.dict")
        config["samprate"] = RATE
        config["loglevel"] = "FATAL"
        self.decoder = pocketsphinx.Decoder(config)
        self.decoder.add_jsgf_string("words", grammar)
        self.decoder.activate_search("words")

    def classify(self, samples: np.ndarray) -> str:
        x = np.concatenate([self.pad, np.asarray(samples, dtype=np.float32), self.pad])
        pcm = (np.clip(x, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        d = self.decoder
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        word = hyp.hypstr.strip().split()[0] if hyp is not None and hyp.hypstr.strip() else ""
        return self.words.get(word, self.empty_label)

    def classify_file(self, path) -> str:
        from recognizers.io.audio import load_audio
        return self.classify(load_audio(path, RATE))


def score_peer(peer, clips: list[tuple[Path, str]]) -> dict:
    """Accuracy of ``peer`` on ``(path, true label)`` clips, overall and per true label."""
    per: dict[str, list[int]] = {}
    for path, label in clips:
        ok = int(peer.classify_file(path) == label)
        per.setdefault(label, []).append(ok)
    n = sum(len(v) for v in per.values())
    return {"accuracy": sum(sum(v) for v in per.values()) / max(1, n), "n": n,
            "per_class": {k: sum(v) / len(v) for k, v in sorted(per.items())}}


def main(argv: list[str] | None = None) -> int:
    """``python -m recognizers.bench.peers --data DIR [--labels 0,1,...]``: PocketSphinx accuracy per speaker."""
    import argparse
    import json
    import sys

    from recognizers.data.datasets import scan_dataset
    from recognizers.io.extensions import AUDIO_EXTENSIONS

    p = argparse.ArgumentParser(prog="python -m recognizers.bench.peers", description=main.__doc__)
    p.add_argument("--data", required=True, help="folder-per-label dataset or FSDD's flat layout")
    p.add_argument("--labels", default="", help="grammar labels (default: the dataset's)")
    args = p.parse_args(argv)
    try:
        examples = scan_dataset(args.data, AUDIO_EXTENSIONS)
        labels = args.labels.split(",") if args.labels else sorted({e.label for e in examples})
        peer = PocketSphinxPeer(labels)
        by_group: dict[str, list] = {}
        for e in examples:
            by_group.setdefault(e.group or "?", []).append((e.path, e.label))
        out = {"peer": f"{peer.name} {peer.version}", "per_speaker": {}}
        for g, clips in sorted(by_group.items()):
            out["per_speaker"][g] = score_peer(peer, clips)["accuracy"]
        n = sum(len(c) for c in by_group.values())
        out["accuracy"] = sum(out["per_speaker"][g] * len(c) for g, c in by_group.items()) / max(1, n)
        out["n"] = n
    except VaultError as e:
        print(f"peers: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

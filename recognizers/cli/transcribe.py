"""``lstm-vault transcribe --model MODEL_DIR AUDIO [--json]``: the running transcript of a recording.

The file is pushed through :class:`recognizers.decoders.words.Transcriber` (or, for a connected-digit CTC
model, :class:`recognizers.decoders.ctc.ConnectedTranscriber`) in small blocks, exactly as a microphone
stream would be, so the CLI and the app's live transcript give the same words. Runs of speech too long for one
word (digits said in one breath) are read by a connected-digit companion model when one fits
(:mod:`recognizers.decoders.long_runs`; ``--long-runs off`` turns that off, a model folder picks one).
"""
from __future__ import annotations

import json

from recognizers.errors import VaultError
from recognizers.io.safe_text import safe_text


def _add_parser(sub) -> None:
    p = sub.add_parser("transcribe", help="running transcript of the vocabulary words in a recording")
    p.add_argument("--model", required=True, help="speech model folder")
    p.add_argument("audio", help="audio file (wav, flac, ogg, mp3, ...)")
    p.add_argument("--json", action="store_true",
                   help='print a JSON list of {"label", "start_s", "end_s", "confidence"}')
    p.add_argument("--block-ms", type=float, default=20.0, help="size of the blocks pushed (as a live stream)")
    p.add_argument("--min-confidence", type=float, default=None,
                   help="emit words at or above this probability (default: the model's, else 0.5)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--vad", choices=("ours", "silero"), default=None,
                   help="voice activity detector for isolated words (default: the measured better one; docs/vad.md)")
    p.add_argument("--long-runs", default="auto", metavar="auto|off|MODEL",
                   help="read runs of speech too long for one word (digits said in one breath) with a connected-digit "
                        "model: 'auto' (default) finds one beside the model or among the shipped models, 'off' reads "
                        "none, or a model folder")


def run(args) -> int:
    from recognizers.cli.options import device, finite_number
    from recognizers.decoders import make_decoder
    from recognizers.io.audio import load_audio
    from recognizers.model_files import load_model
    from recognizers.pipeline import audio_blocks, run_stream

    finite_number("--block-ms", args.block_ms, 0.0, 60_000.0, low_open=True)   # inf, nan: one line
    if args.min_confidence is not None and not 0 <= args.min_confidence <= 1:
        raise VaultError(f"--min-confidence {args.min_confidence}: must be between 0 and 1")
    import torch
    torch.set_num_threads(1)  # pushes of a few frames: more threads only contend on a busy machine
    model = load_model(args.model, task="speech", device=device(args.device))
    long_runs = (args.long_runs if args.long_runs == "auto" else None if args.long_runs == "off"
                 else load_model(args.long_runs, task="speech", device=device(args.device)))
    tr = make_decoder(model, trace=False, min_confidence=args.min_confidence,   # CTC models read digit strings
                      vad=args.vad, long_runs=long_runs)
    rate = int(model.frontend_config.get("sample_rate_hz", 16000))   # the rate the model's frontend reads
    samples = load_audio(args.audio, rate)
    events = run_stream(tr, audio_blocks(samples, rate, args.block_ms))
    if args.json:
        print(json.dumps([e.to_json() for e in events]))
    else:
        if not events:
            hint = ""
            if any(r.get("reason") == "too long" for r in getattr(tr, "rejected", ())):
                hint = ("; speech ran on longer than one word: pause between words"
                        + ("" if getattr(tr, "long_runs", None) else ", or read it with --long-runs MODEL "
                           "(a connected-digit model)"))
            print(f"{safe_text(args.audio)}: no words recognised ({len(samples) / rate:.1f} s){hint}")
        for e in events:
            print(f"{e.start_s:8.2f} {e.end_s:8.2f}  {e.label:<12} {e.confidence * 100:5.1f}%")
    return 0


def register_cli() -> list:
    return [(_add_parser, run, "transcribe")]

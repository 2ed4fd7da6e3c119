"""Gesture commands for ``lstm-vault``: ``gestures`` (spot gestures in a video) and ``import-gestures``."""
from __future__ import annotations

import json


def _add_gestures(sub):
    p = sub.add_parser("gestures", help="track hands through a video and print the recognised gestures")
    p.add_argument("--model", required=True, help="gesture model folder")
    p.add_argument("video", help="video file (or a landmark .npz sequence, or a folder of frames)")
    p.add_argument("--json", action="store_true",
                   help='print a JSON list of {"label", "start_s", "end_s", "confidence"}')
    p.add_argument("--no-mirror", action="store_true",
                   help="the video is already mirrored (selfie view); by default frames are flipped "
                        "horizontally before tracking, as webcam previews and the shipped model's data are")
    p.add_argument("--min-confidence", type=float, default=None,
                   help="lowest winning probability that counts (default: the model's, else 0.7)")
    p.add_argument("--hop", type=int, default=2, help="re-classify the window every HOP frames")
    p.add_argument("--max-seconds", type=float, default=600.0,
                   help="refuse longer inputs (spotting re-classifies a window every --hop frames: minutes "
                        "of compute per hour of input)")


def run_gestures(args) -> int:
    from pathlib import Path

    from recognizers.data.landmark_files import load_gesture_input, track_video
    from recognizers.decoders import make_decoder
    from recognizers.errors import VaultError
    from recognizers.io.extensions import VIDEO_EXTENSIONS
    from recognizers.model_files import load_model
    from recognizers.pipeline import run_stream
    model = load_model(args.model, task="gesture")
    if args.min_confidence is not None and not 0 < args.min_confidence <= 1:
        raise VaultError(f"--min-confidence {args.min_confidence}: use a probability in (0, 1]")
    if args.hop < 1:
        raise VaultError(f"--hop {args.hop}: use 1 or more frames")
    from recognizers.cli.options import finite_number
    finite_number("--max-seconds", args.max_seconds, 0.0, 24 * 3600.0, low_open=True)
    path = Path(args.video)
    fps = float(model.frontend_config.get("fps", 30.0))
    from recognizers.io.quiet import native_chatter_filtered
    with native_chatter_filtered():     # MediaPipe's start-up and log lines; ours come after, unchanged
        if path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS:   # long ones refused before tracking
            frames, _ = track_video(path, fps=fps, mirror=not args.no_mirror, max_seconds=args.max_seconds)
        else:
            frames = load_gesture_input(path, model.frontend_config, max_seconds=args.max_seconds)
    if frames.shape[0] > args.max_seconds * fps:
        raise VaultError(f"{path}: {frames.shape[0]} frames ({frames.shape[0] / fps:.0f} s at {fps:g} fps) is "
                         f"longer than --max-seconds {args.max_seconds:g}; trim it or raise the limit")
    events = run_stream(make_decoder(model, trace=False, min_confidence=args.min_confidence, hop_frames=args.hop),
                        frames)
    if args.json:
        print(json.dumps([e.to_json() for e in events]))
        return 0
    from recognizers.io.safe_text import safe_text
    print(f"{safe_text(args.video)}: {len(events)} gesture{'s' if len(events) != 1 else ''} "
          f"in {frames.shape[0] / fps:.1f} s")
    for e in events:
        print(f"  {e.start_s:7.2f} – {e.end_s:7.2f} s  {e.label:<16} {e.confidence * 100:5.1f}%")
    return 0


def _add_import(sub):
    p = sub.add_parser("import-gestures", help="convert public hand-landmark data into DATA/<label>/*.npz")
    p.add_argument("--format", required=True, choices=["arman", "kazuhito"],
                   help="arman: Dynamic-Hand-gesture-Recognition .npz; kazuhito: keypoint.csv static signs")
    p.add_argument("source", help="the data file or its folder")
    p.add_argument("dest", help="dataset folder to write (merged with what is there)")
    p.add_argument("--holdout-fraction", type=float, default=0.0,
                   help="put this fraction of every label (whole blocks of consecutive recordings) "
                        "into --holdout-dest as a test set")
    p.add_argument("--holdout-dest", default=None)


def run_import(args) -> int:
    from recognizers.data.importers import copy_license, import_gestures
    n, m = import_gestures(args.format, args.source, args.dest, args.holdout_fraction, args.holdout_dest)
    copy_license(args.source, args.dest)
    msg = f"imported {n} sequences into {args.dest}"
    if m:
        copy_license(args.source, args.holdout_dest)
        msg += f" and {m} held-out sequences into {args.holdout_dest}"
    print(msg)
    return 0


def register_cli() -> list:
    return [(_add_gestures, run_gestures, "gestures"), (_add_import, run_import, "import-gestures")]

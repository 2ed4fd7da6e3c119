"""Models and windows for the desktop app tests.

The shipped models (``assets/models/digits-en``, ``assets/models/gestures-arman6``) are used when they are
there; otherwise a small untrained model of the right kind is written, so the GUI is still exercised end to
end (predictions are then real network outputs, but not meaningful words).
"""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "assets" / "models"
SPEECH_LABELS = [str(d) for d in range(10)] + ["_unknown_"]


def untrained_model(folder: Path, task: str, hidden: int = 24) -> Path:
    from recognizers.model_files import save_model
    from recognizers.nn.classifier import Architecture, SequenceClassifier
    if task == "speech":
        from recognizers.frontends.log_mel import LogMelConfig
        frontend = LogMelConfig().to_json()
        labels = SPEECH_LABELS
    else:
        from recognizers.frontends.landmarks import LandmarkConfig
        frontend = LandmarkConfig().to_json()
        labels = ["swipe_left", "swipe_right", "_unknown_"]
    from recognizers.frontends.registry import frontend_feature_size
    n_feat = frontend_feature_size(frontend)
    net = SequenceClassifier(Architecture(input_size=n_feat, hidden_size=hidden, num_layers=2,
                                          num_classes=len(labels)))
    return save_model(folder, net, {"task": task, "labels": labels, "unknown_label": "_unknown_",
                                    "frontend": frontend, "name": folder.name})


def trained_speech_model() -> Path | None:
    """The shipped digit model, or one named by LSTM_VAULT_TEST_SPEECH_MODEL (a dev model)."""
    env = os.environ.get("LSTM_VAULT_TEST_SPEECH_MODEL")
    for p in ([Path(env)] if env else []) + [SHIPPED / "digits-en"]:
        if (p / "model.json").is_file():
            return p
    return None


def gesture_model_folder() -> Path | None:
    p = SHIPPED / "gestures-arman6"
    return p if (p / "model.json").is_file() else None


def engine_transcript(model_folder: Path, wav: Path, min_confidence: float | None = None,
                      confidences: bool = False) -> list:
    """What the engine itself recognises in ``wav`` (offline, 20 ms blocks): what the app must show
    (``confidences``: ``(label, confidence)`` pairs)."""
    from recognizers.decoders import make_decoder
    from recognizers.io.audio import load_audio
    from recognizers.model_files import load_model
    from recognizers.pipeline import audio_blocks, run_stream
    model = load_model(model_folder, task="speech")
    samples = load_audio(wav, int(model.frontend_config.get("sample_rate_hz", 16000)))
    events = run_stream(make_decoder(model, min_confidence=min_confidence), audio_blocks(samples, 16000))
    return [(e.label, float(e.confidence)) if confidences else e.label for e in events]

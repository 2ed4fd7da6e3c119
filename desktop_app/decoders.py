"""Which engine decoder drives a mode: the speech ``Transcriber`` or the ``GestureSpotter``.

If a decoder module is missing (an older engine), the model still runs through a plain
``StreamingRecognizer`` so the views show its per-frame probabilities and gates, without events.
"""
from __future__ import annotations

from typing import Any

from recognizers.events import DecodedStep, Decoder, RecognitionEvent
from recognizers.model_files import LoadedModel
from recognizers.pipeline import StreamingRecognizer


class FrameProbabilities:
    """Fallback Decoder: per-frame probabilities and gates, no word/gesture events."""

    def __init__(self, model: LoadedModel, device: str = "cpu"):
        self.recognizer = StreamingRecognizer(model, trace=True, device=device)

    def push(self, block: Any) -> DecodedStep:
        return DecodedStep(self.recognizer.push(block), [], False)

    def flush(self) -> list[RecognitionEvent]:
        return []

    def reset(self) -> None:
        self.recognizer.reset()


def make_decoder(model: LoadedModel, device: str = "cpu") -> tuple[Decoder, str]:
    """The mode's decoder for ``model`` on ``device``, and a note when the fallback is used."""
    if model.task == "speech":
        try:
            from recognizers.decoders.words import Transcriber
        except ImportError:
            return FrameProbabilities(model, device), "word decoder not installed: showing per-frame scores"
        from recognizers.decoders.ctc import ConnectedTranscriber, is_ctc_model
        dec = ConnectedTranscriber(model) if is_ctc_model(model) else Transcriber(model)
    else:
        try:
            from recognizers.decoders.gestures import GestureSpotter
        except ImportError:
            return FrameProbabilities(model, device), "gesture decoder not installed: showing per-frame scores"
        dec = GestureSpotter(model)
    dec.recognizer.set_device(device)
    return dec, ""

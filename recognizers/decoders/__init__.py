"""Decoders: the per-frame probabilities of the streaming network -> recognised words and gestures.

- :mod:`~recognizers.decoders.vad`: voice activity on log-mel frames (word endpointing);
- :mod:`~recognizers.decoders.words`: isolated words (``Transcriber``);
- :mod:`~recognizers.decoders.ctc`: digit strings without pauses (``ConnectedTranscriber``, CTC models);
- :mod:`~recognizers.decoders.long_runs`: runs too long for one word, read by a CTC companion model;
- :mod:`~recognizers.decoders.gestures`: gesture spotting (``GestureSpotter``).

:func:`make_decoder` is the one place that picks the decoder a model needs.
"""
from __future__ import annotations

from recognizers.decoders.ctc import ConnectedDecoderConfig, ConnectedTranscriber, is_ctc_model
from recognizers.decoders.gestures import GestureSpotter, GestureSpotterConfig
from recognizers.decoders.long_runs import find_companion
from recognizers.decoders.vad import VadConfig, VoiceActivityDetector
from recognizers.decoders.words import Transcriber, TranscriberConfig
from recognizers.events import Decoder
from recognizers.model_files import LoadedModel

__all__ = ["ConnectedDecoderConfig", "ConnectedTranscriber", "GestureSpotter", "GestureSpotterConfig",
           "Transcriber", "TranscriberConfig", "VadConfig", "VoiceActivityDetector", "decoder_kind", "find_companion",
           "is_ctc_model", "make_decoder"]


def decoder_kind(model: LoadedModel) -> str:
    """``"ctc"`` (connected digits), ``"words"`` (isolated words) or ``"gestures"``."""
    if model.task == "gesture":
        return "gestures"
    return "ctc" if is_ctc_model(model) else "words"


def make_decoder(model: LoadedModel, *, trace: bool = True, device: str | None = None,
                 min_confidence: float | None = None, hop_frames: int | None = None,
                 vad: str | None = None, long_runs: LoadedModel | str | None = "auto") -> Decoder:
    """The decoder ``model`` needs, on ``device``: a ``ConnectedTranscriber`` for a CTC model, a
    ``Transcriber`` for other speech models, a ``GestureSpotter`` for gesture models.

    ``min_confidence`` None: the model's own threshold (``model.json`` decoder), else each decoder's default;
    ``hop_frames`` (gestures only): re-classify the window every this many frames;
    ``vad`` (isolated words only): ``"ours"`` or ``"silero"`` (None: ``TranscriberConfig``'s default);
    ``long_runs`` (isolated words only): the connected-digit model that reads runs of speech too long for one
    word (digits said in one breath): ``"auto"`` finds one (:func:`find_companion`), None reads none.
    """
    kind = decoder_kind(model)
    if kind == "ctc":
        return ConnectedTranscriber(model, ConnectedDecoderConfig(min_confidence=min_confidence), trace=trace,
                                    device=device)
    if kind == "words":
        cfg = TranscriberConfig(min_confidence=min_confidence)
        if vad is not None:
            cfg.detector = vad
        companion = find_companion(model, device=device or "cpu") if long_runs == "auto" else long_runs
        if isinstance(companion, str):
            raise ValueError(f"long_runs={companion!r}: 'auto', None or a loaded model")
        return Transcriber(model, cfg, trace=trace, device=device, long_runs=companion)
    cfg = GestureSpotterConfig(min_confidence=min_confidence)
    if hop_frames is not None:
        cfg.hop_frames = int(hop_frames)
    return GestureSpotter(model, cfg, trace=trace, device=device)

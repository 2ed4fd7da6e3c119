"""What decoders emit: recognised words/gestures with times, and the per-push result the app draws."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from recognizers.streaming import StreamingRecognizer, StreamStep


@dataclass
class RecognitionEvent:
    """One recognised word or gesture; times in seconds from the start of the stream."""

    label: str
    start_s: float
    end_s: float
    confidence: float

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class DecodedStep:
    """Result of one ``Decoder.push``: the network's step (features, probabilities, gates), the events
    that completed during it, and whether a word/gesture is in progress at its end."""

    step: StreamStep
    events: list[RecognitionEvent] = field(default_factory=list)
    active: bool = False


class Decoder(Protocol):
    """Turns a stream into events. Speech: ``recognizers.decoders.words.Transcriber``;
    gestures: ``recognizers.decoders.gestures.GestureSpotter``."""

    recognizer: StreamingRecognizer
    min_confidence: float       # events below it are not emitted; may be changed between pushes

    def push(self, block: Any) -> DecodedStep: ...

    def flush(self) -> list[RecognitionEvent]: ...

    def reset(self) -> None: ...

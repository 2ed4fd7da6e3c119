"""The one streaming pipeline for both modalities: Source -> Frontend -> GateLSTM -> Decoder -> events.

A *source* gives blocks (audio samples at the model's rate, or one landmark frame ``(2, 21, 3)`` at a time);
:class:`~recognizers.streaming.StreamingRecognizer` runs the frontend and the stateful LSTM step by step, with
the gate traces alongside; the decoder (:func:`recognizers.decoders.make_decoder`) turns its probabilities into
:class:`~recognizers.events.RecognitionEvent`. The CLI (``transcribe``, ``gestures``), the benchmarks and the app
all run :func:`run_stream`; only the blocks differ.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from recognizers.decoders import make_decoder
from recognizers.events import DecodedStep, Decoder, RecognitionEvent
from recognizers.model_files import LoadedModel
from recognizers.streaming import StreamingRecognizer, StreamStep

__all__ = ["StreamStep", "StreamingRecognizer", "audio_blocks", "make_decoder", "run_file", "run_stream"]

DEFAULT_BLOCK_MS = 20.0   # the app's microphone block


def audio_blocks(samples: np.ndarray, sample_rate_hz: int, block_ms: float = DEFAULT_BLOCK_MS) -> Iterator[np.ndarray]:
    """``samples`` in consecutive blocks of ``block_ms`` (the last one shorter), as a live source gives them."""
    block = max(1, int(round(sample_rate_hz * block_ms / 1000)))
    for s in range(0, samples.size, block):
        yield samples[s:s + block]


def run_stream(decoder: Decoder, blocks: Iterable, on_step: Callable[[DecodedStep], None] | None = None
               ) -> list[RecognitionEvent]:
    """Push every block through ``decoder`` in order, then flush: all events of the stream, in order."""
    events: list[RecognitionEvent] = []
    for block in blocks:
        step = decoder.push(block)
        if on_step is not None:
            on_step(step)
        events += step.events
    return events + decoder.flush()


def model_blocks(model: LoadedModel, raw: np.ndarray, block_ms: float = DEFAULT_BLOCK_MS) -> Iterable:
    """The blocks a live source would give for a whole input: audio in ``block_ms`` blocks, landmarks frame
    by frame."""
    if model.task == "speech":
        return audio_blocks(raw, int(model.frontend_config.get("sample_rate_hz", 16000)), block_ms)
    return iter(raw)


def run_file(model: LoadedModel, path: str | os.PathLike, decoder: Decoder | None = None,
             block_ms: float = DEFAULT_BLOCK_MS, raw: np.ndarray | None = None) -> list[RecognitionEvent]:
    """The events of a whole file (audio for speech models; landmark file, video or image folder for gesture
    models), pushed as a live source would. ``raw`` skips reading (the input the model's loader would give)."""
    from recognizers.recognizer import load_input
    if raw is None:
        raw = load_input(model.task, path, model.frontend_config)
    if decoder is None:
        decoder = make_decoder(model, trace=False)
    return run_stream(decoder, model_blocks(model, raw, block_ms))

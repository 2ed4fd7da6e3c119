"""LSTM Vault engine: features, gate-exposing LSTMs, datasets, training, streaming inference. No Qt here.

The pipeline, by package: :mod:`recognizers.io` (files) -> :mod:`recognizers.frontends` (features) ->
:mod:`recognizers.nn` (GateLSTM) -> :mod:`recognizers.streaming` (stateful stepping, gate traces) ->
:mod:`recognizers.decoders` (words, digit strings, gestures) -> :mod:`recognizers.events`, run end to end by
:mod:`recognizers.pipeline`. Around it: :mod:`recognizers.data`, :mod:`recognizers.training`,
:mod:`recognizers.model_files`, :mod:`recognizers.export`, :mod:`recognizers.cli`, :mod:`recognizers.bench`.
"""
__version__ = "0.1.0"

__all__ = ["bench", "cli", "data", "decoders", "errors", "events", "export", "frontends", "insight", "io", "metrics",
           "model_files", "nn", "pipeline", "recognizer", "streaming", "training"]

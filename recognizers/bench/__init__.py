"""Benchmarks (they print numbers; nothing here asserts a time).

- :mod:`~recognizers.bench.engine`: ``lstm-vault bench`` (real-time factor, trace overhead, GUI rate, start-up, ...);
- :mod:`~recognizers.bench.transcription`: live transcription on unseen speakers (accuracy, insertions, latency);
- :mod:`~recognizers.bench.connected`: digit strings without pauses;
- :mod:`~recognizers.bench.peers`: PocketSphinx beside our models on the same clips.
"""

__all__ = ["connected", "engine", "peers", "transcription"]

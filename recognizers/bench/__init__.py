"""Benchmarks (they print numbers; nothing here asserts a time).

- :mod:`~recognizers.bench.engine`: ``lstm-vault bench`` (real-time factor, trace overhead, GUI rate, start-up, ...);
- :mod:`~recognizers.bench.transcription`: live transcription on unseen speakers (accuracy, insertions, latency);
- :mod:`~recognizers.bench.connected`: digit strings without pauses;
- :mod:`~recognizers.bench.peers`: PocketSphinx beside our models on the same clips;
- :mod:`~recognizers.bench.app`: the real app's CPU and dropped input (Xvfb, virtual microphone);
- :mod:`~recognizers.bench.vad_compare` / :mod:`~recognizers.bench.trim_compare`: our VAD beside silero-vad;
  the recorder's trim beside librosa's.
"""

__all__ = ["app", "connected", "engine", "peers", "transcription", "trim_compare", "vad_compare"]

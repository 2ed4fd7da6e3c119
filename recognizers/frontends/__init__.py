"""Feature frontends: raw input -> the feature frames the LSTM sees, offline and streaming alike.

- :mod:`~recognizers.frontends.registry`: the ``frontend.type`` of ``model.json`` -> config and streaming class;
- :mod:`~recognizers.frontends.speech_embedding`: Google's pretrained speech embedding (ONNX), 80 ms frames;
- :mod:`~recognizers.frontends.settings`: the checks every config's ``from_json`` starts with;
- :mod:`~recognizers.frontends.log_mel`: log-mel spectrogram of speech (torchaudio);
- :mod:`~recognizers.frontends.mfcc`: MFCCs in librosa's convention, streaming equal to offline;
- :mod:`~recognizers.frontends.landmarks`: hand landmarks -> position/scale invariant shape and motion;
- :mod:`~recognizers.frontends.hand_tracking`: RGB frames -> hand landmarks (MediaPipe, offline).
"""

__all__ = ["hand_tracking", "landmarks", "log_mel", "mfcc", "registry", "settings", "speech_embedding"]

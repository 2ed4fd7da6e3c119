"""Pretrained speech-embedding frontend (``"type": "speech-embedding"`` in ``model.json``).

Google's ``speech_embedding`` network (Lin et al. 2020, "Training keyword spotters with limited and synthesized
speech data", arXiv:2002.01322; TF Hub ``google/speech_embedding/1``, Apache-2.0), in the ONNX form that the
``openwakeword`` 0.4.0 wheel ships (``melspectrogram.onnx`` + ``embedding_model.onnx``, the same network
re-implemented by openWakeWord). It was trained on far more speakers than we have, which is what lets a small
LSTM on top of it hear voices no training clip of ours has: see docs/unseen-speakers.md. The two files are shipped
in ``assets/frontends/speech-embedding`` (with their licence and checksums); nothing is downloaded, and a model file
can only name that backbone, never point at a file of its own (the files are checked against their SHA-256).

Frames: 32-band mel frames every 10 ms (``n_fft`` 512, no centring), scaled ``mel / 10 + 2`` as openWakeWord does;
one 96-value embedding from each 76 mel frames, every 8 mel frames (80 ms). The stream starts as if 0.70 s of
silence (zeros) came before its first sample, so frame ``k`` covers the real samples
``[1280 (k + 1) - 12512, 1280 (k + 1))`` and is emitted as soon as sample ``1280 (k + 1)`` arrives: a 1 s clip
gives 12 frames, and the last frame always ends at the newest hop boundary. ``push`` in blocks of any size gives the
frames of one offline push (to float rounding of the mel network; tested).

Runs with onnxruntime on one thread (about 2.7 ms per 80 ms frame on one core of the reference laptop, 3 % of it).
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from recognizers.errors import ModelFileError, VaultError
from recognizers.frontends.settings import check_frontend_json

BACKBONES = {
    # name -> (file, sha256) for the mel network and the embedding network
    "google-speech-embedding-1": (
        ("melspectrogram.onnx", "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f"),
        ("embedding_model.onnx", "ba754db3cd768a524c655ea90655ee5e6055a43b8dfd29366a11e93716ae9e51"),
    ),
}
BACKBONE_DIR = Path(__file__).resolve().parents[2] / "assets" / "frontends" / "speech-embedding"

MEL_HOP = 160            # samples (10 ms at 16 kHz)
MEL_SPAN = 512           # samples one mel frame reads
WINDOW_MELS = 76         # mel frames per embedding
STEP_MELS = 8            # mel frames between embeddings (80 ms)
EMBEDDING_SIZE = 96
HOP = STEP_MELS * MEL_HOP                          # 1280 samples
SPAN = (WINDOW_MELS - 1) * MEL_HOP + MEL_SPAN      # 12512 samples one embedding reads
LEAD = SPAN - HOP                                  # zeros before the first sample (11232, 0.70 s)
# Floor of the mel values (dB of int16-scale power): below the noise of any real 16-bit recording (about 40),
# so only digital silence (zeros, the virtual lead) is floored; near what the original floor (the clip's
# loudest value minus 80) gives a whole spoken clip
MEL_FLOOR_DB = 15.0


@dataclass(frozen=True)
class SpeechEmbeddingConfig:
    """Settings of the speech-embedding frontend (``model.json`` ``frontend``). Everything but the backbone is
    fixed by the pretrained network; the fields below are there so that readers of any frontend (the transcriber,
    the app's time axes) find the rate and frame geometry they need."""

    backbone: str = "google-speech-embedding-1"
    sample_rate_hz: int = 16000
    type: str = "speech-embedding"

    @property
    def hop_length(self) -> int:
        return HOP

    @property
    def win_length(self) -> int:
        """The new samples of each frame (what the frame *adds*; it reads ``context_length`` in all)."""
        return HOP

    @property
    def span_length(self) -> int:
        return HOP

    @property
    def context_length(self) -> int:
        return SPAN

    @property
    def hop_ms(self) -> float:
        return 1000.0 * HOP / self.sample_rate_hz

    @property
    def win_ms(self) -> float:
        return self.hop_ms

    @property
    def feature_size(self) -> int:
        return EMBEDDING_SIZE

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate_hz / HOP

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "SpeechEmbeddingConfig":
        check_frontend_json(cls, d, "speech-embedding", "speech-embedding")
        cfg = cls(**d)
        if not isinstance(cfg.backbone, str) or cfg.backbone not in BACKBONES:
            raise ModelFileError(f"speech-embedding backbone {cfg.backbone!r} is not one this version ships "
                                 f"(known: {sorted(BACKBONES)})")
        if cfg.sample_rate_hz != 16000 or isinstance(cfg.sample_rate_hz, bool):
            raise ModelFileError(f"speech-embedding frontend reads 16000 Hz audio, not {cfg.sample_rate_hz!r}")
        return cfg


_SESSIONS: dict[str, tuple] = {}


def backbone_files(name: str, folder: Path | None = None) -> list[Path]:
    """The backbone's ONNX files, checked against their SHA-256 (clear error if missing or changed)."""
    folder = folder or BACKBONE_DIR
    out = []
    for fname, digest in BACKBONES[name]:
        p = folder / fname
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise VaultError(f"speech-embedding backbone file {p} cannot be read ({exc.strerror or exc}); "
                             "reinstall LSTM Vault") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise VaultError(f"speech-embedding backbone file {p} is not the shipped one (SHA-256 differs); "
                             "reinstall LSTM Vault")
        out.append(p)
    return out


def _frame_local_mel(path: Path) -> bytes:
    """The mel network without its last step: it floors every value at the loudest value *of the whole input*
    minus 80 dB (``ReduceMax`` over all frames), so a frame would depend on what else was pushed with it. We stop
    at the dB values and floor each at ``MEL_FLOOR_DB`` instead (frame-local: a stream gives the offline frames)."""
    import onnx
    m = onnx.load(str(path))
    g = m.graph
    cut = next(i for i, n in enumerate(g.node) if n.op_type == "ReduceMax")
    db = g.node[cut].input[0]
    del g.node[cut:]
    out = onnx.helper.make_tensor_value_info(db, onnx.TensorProto.FLOAT, None)
    del g.output[:]
    g.output.append(out)
    return m.SerializeToString()


def _sessions(name: str) -> tuple:
    """One pair of onnxruntime sessions per process (one thread each), shared by every stream."""
    if name not in _SESSIONS:
        import onnxruntime as ort
        mel_path, emb_path = backbone_files(name)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        prov = ["CPUExecutionProvider"]
        _SESSIONS[name] = (ort.InferenceSession(_frame_local_mel(mel_path), opts, providers=prov),
                           ort.InferenceSession(str(emb_path), opts, providers=prov))
    return _SESSIONS[name]


class StreamingSpeechEmbedding:
    """``push(samples)`` any block size -> ``(new_frames, 96)`` float32 embeddings; ``reset()`` starts over
    (with the 0.70 s of virtual silence before the first sample)."""

    def __init__(self, config: SpeechEmbeddingConfig | None = None):
        self.config = config or SpeechEmbeddingConfig()
        self._mel, self._emb = _sessions(self.config.backbone)
        self._empty = np.zeros((0, EMBEDDING_SIZE), np.float32)
        self.reset()

    @property
    def feature_size(self) -> int:
        return EMBEDDING_SIZE

    def reset(self) -> None:
        # samples not yet turned into mel frames (a mel frame needs MEL_SPAN, the hop moves MEL_HOP)
        self._samples = np.zeros(LEAD, np.float32)
        self._mels = np.zeros((0, 32), np.float32)   # mel frames not yet fully used by an embedding
        self.frames_emitted = 0

    def _mel_frames(self, x: np.ndarray) -> np.ndarray:
        n = 0 if x.size < MEL_SPAN else (x.size - MEL_SPAN) // MEL_HOP + 1
        # only as many mel frames as complete embeddings need (one mel call per embedding in a stream of small
        # blocks, not one per block: the call's overhead is most of its cost); the rest waits in _samples
        need = max(WINDOW_MELS - self._mels.shape[0], 0)
        n = 0 if n < need else need + (n - need) // STEP_MELS * STEP_MELS
        if n == 0:
            return np.zeros((0, 32), np.float32)
        out = self._mel.run(None, {"input": (x[: (n - 1) * MEL_HOP + MEL_SPAN] * 32767.0)[None]})[0]
        return (np.maximum(out.reshape(-1, 32), MEL_FLOOR_DB) / 10.0 + 2.0).astype(np.float32)

    def push(self, samples: np.ndarray) -> np.ndarray:
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(x)):
            x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
        buf = np.concatenate([self._samples, x]) if x.size else self._samples
        mels = self._mel_frames(buf)
        used = mels.shape[0] * MEL_HOP
        self._samples = buf[used:]
        if mels.shape[0]:
            self._mels = np.concatenate([self._mels, mels]) if self._mels.shape[0] else mels
        m = self._mels
        n = 0 if m.shape[0] < WINDOW_MELS else (m.shape[0] - WINDOW_MELS) // STEP_MELS + 1
        if n == 0:
            return self._empty
        idx = np.arange(WINDOW_MELS)[None, :] + STEP_MELS * np.arange(n)[:, None]
        windows = m[idx][..., None]                                   # (n, 76, 32, 1)
        emb = self._emb.run(None, {"input_1": np.ascontiguousarray(windows, dtype=np.float32)})[0]
        self._mels = m[n * STEP_MELS:]
        self.frames_emitted += n
        return emb.reshape(n, EMBEDDING_SIZE).astype(np.float32)

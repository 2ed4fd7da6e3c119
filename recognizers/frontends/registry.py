"""Registry of feature frontends, keyed by the ``type`` stored in ``model.json``'s ``frontend``.

Every frontend has a config class (``from_json``/``to_json``/``feature_size``) and a streaming class with
``push(block) -> (new_frames, features)`` and ``reset()``; ``offline_features`` runs the streaming class
over a whole input in one push, which is what training and offline evaluation use, so streaming and
offline cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from recognizers.errors import ModelFileError


class StreamingFrontend(Protocol):
    feature_size: int

    def push(self, block: Any) -> np.ndarray: ...

    def reset(self) -> None: ...


@dataclass
class FrontendKind:
    config_from_json: Callable[[dict], Any]
    streaming: Callable[[Any], StreamingFrontend]


_REGISTRY: dict[str, FrontendKind] = {}


def register_frontend(type_name: str, kind: FrontendKind) -> None:
    _REGISTRY[type_name] = kind


def _kind(cfg: dict, where: Path | str = "model") -> FrontendKind:
    _load_builtin()
    t = cfg.get("type") if isinstance(cfg, dict) else None
    if not isinstance(t, str) or t not in _REGISTRY:
        raise ModelFileError(f"{where}: unknown feature frontend {t!r} (known: {sorted(_REGISTRY)})")
    return _REGISTRY[t]


def frontend_config(cfg: dict, where: Path | str = "model") -> Any:
    try:
        return _kind(cfg, where).config_from_json(cfg)
    except ModelFileError as exc:
        msg = str(exc)
        raise ModelFileError(msg if msg.startswith(str(where)) else f"{where}: {msg}") from None


def frontend_feature_size(cfg: dict, where: Path | str = "model") -> int:
    return int(frontend_config(cfg, where).feature_size)


def make_frontend(cfg: dict) -> StreamingFrontend:
    kind = _kind(cfg)
    return kind.streaming(kind.config_from_json(cfg))


def offline_features(cfg: dict, whole_input: Any) -> np.ndarray:
    fe = make_frontend(cfg)
    return fe.push(whole_input)


def _load_builtin() -> None:
    """Register the built-in frontends on first use (imported here, not at module level, so that reading
    a model's feature size does not import torchaudio; the frontends themselves never import the registry)."""
    if "logmel" not in _REGISTRY:
        from recognizers.frontends.log_mel import LogMelConfig, StreamingLogMel
        register_frontend("logmel", FrontendKind(LogMelConfig.from_json, StreamingLogMel))
    if "landmarks" not in _REGISTRY:
        from recognizers.frontends.landmarks import LandmarkConfig, StreamingLandmarks
        register_frontend("landmarks", FrontendKind(LandmarkConfig.from_json, StreamingLandmarks))
    if "mfcc" not in _REGISTRY:
        from recognizers.frontends.mfcc import MfccConfig, StreamingMfcc
        register_frontend("mfcc", FrontendKind(MfccConfig.from_json, StreamingMfcc))
    if "speech-embedding" not in _REGISTRY:
        from recognizers.frontends.speech_embedding import SpeechEmbeddingConfig, StreamingSpeechEmbedding
        register_frontend("speech-embedding", FrontendKind(SpeechEmbeddingConfig.from_json, StreamingSpeechEmbedding))

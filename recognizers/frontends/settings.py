"""The checks every frontend config's ``from_json`` starts with (imported by the frontends, never the registry)."""
from __future__ import annotations

from dataclasses import fields

from recognizers.errors import ModelFileError

MEL_FRAME_TYPES = ("logmel", "mfcc")     # frontends whose frames are mel bands (what our VAD reads)


def has_mel_frames(frontend_json: dict) -> bool:
    """True when a ``model.json`` ``frontend`` yields log-mel-like frames (our VAD and its shape test need them)."""
    return str(frontend_json.get("type", "logmel")) in MEL_FRAME_TYPES


def check_frontend_json(cls, d, own_type: str, kind: str) -> None:
    """``d`` is a dict of ``own_type`` (or without a type) whose keys are all fields of the dataclass ``cls``."""
    if not isinstance(d, dict) or d.get("type", own_type) != own_type:
        raise ModelFileError(f"frontend type {d.get('type') if isinstance(d, dict) else d!r} is not '{own_type}'")
    unknown = set(d) - {f.name for f in fields(cls)}
    if unknown:
        raise ModelFileError(f"unknown {kind} frontend settings: {sorted(unknown)}")

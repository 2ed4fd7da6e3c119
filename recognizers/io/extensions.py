"""One table of the file types LSTM Vault reads, shared by the engine, the CLI and the app."""
from __future__ import annotations

__all__ = ["AUDIO_EXTENSIONS", "IMAGE_EXTENSIONS", "LANDMARK_EXTENSIONS", "VIDEO_EXTENSIONS", "describe"]

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")   # what libsndfile (soundfile) decodes
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")   # OpenCV/FFmpeg
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
LANDMARK_EXTENSIONS = (".npz",)                                           # hand-landmark sequences


def describe(extensions: tuple[str, ...], first: int = 4) -> str:
    """``".wav, .flac, .ogg, .mp3, …"`` for messages."""
    return ", ".join(extensions[:first]) + (", …" if len(extensions) > first else "")

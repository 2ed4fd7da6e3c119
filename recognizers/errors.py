"""User-facing errors: one clear line, CLI exit code 2, never a traceback."""
from __future__ import annotations


class VaultError(Exception):
    """A problem with the user's input (file, folder, model, device) that we can explain in one line."""


class ModelFileError(VaultError):
    """A model folder that is damaged, untrusted, or does not fit what it is used for."""


class AudioFileError(VaultError):
    """An audio file that cannot be decoded or is unusable."""


class DatasetError(VaultError):
    """A dataset folder that is missing, empty or inconsistent."""

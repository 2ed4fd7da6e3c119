"""Fixtures for every test; the helpers themselves live in ``tests/helpers/`` (on ``sys.path`` via pytest's
``pythonpath`` setting in ``pyproject.toml``)."""
from testdata import fsdd_dir, one_torch_thread, synth_speech_dir, tiny_speech_model  # noqa: F401  (fixtures)

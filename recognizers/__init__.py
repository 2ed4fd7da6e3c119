"""LSTM Vault engine: features, gate-exposing LSTMs, datasets, training, streaming inference. No Qt here."""
__version__ = "0.1.0"

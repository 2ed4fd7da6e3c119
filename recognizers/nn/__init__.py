"""The networks: the gate-exposing LSTM and the sequence classifier built on it.

- :mod:`~recognizers.nn.gate_lstm`: ``GateLSTM`` (stacked ``nn.LSTM`` layers whose i, f, g, o, c, h are traced);
- :mod:`~recognizers.nn.cell_kernel`: the compiled cell-state loop the traces use on CPU (numba);
- :mod:`~recognizers.nn.numpy_step`: NumPy stepping for the few-frame pushes of a live stream;
- :mod:`~recognizers.nn.classifier`: ``SequenceClassifier`` (normalisation -> GateLSTM -> linear head);
- :mod:`~recognizers.nn.gate_stats`: gate saturation summaries for the views.
"""

__all__ = ["cell_kernel", "classifier", "gate_lstm", "gate_stats", "numpy_step"]

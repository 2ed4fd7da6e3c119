"""Insight beyond the gates: why the network decided (integrated gradients) and why an LSTM at all (the
vanishing-gradient experiment).

- :mod:`~recognizers.insight.explain`: ``explain_input``/``explain_file`` -> :class:`Explanation`;
- :mod:`~recognizers.insight.gradients`: ``run_gradients`` -> :class:`GradientReport` (tanh RNN vs LSTM).
"""

__all__ = ["explain", "gradients"]

"""Training: one loop for both modalities and the pieces around it.

- :mod:`~recognizers.training.loop`: ``train()`` with grouped validation and early stopping;
- :mod:`~recognizers.training.fit`: the optimiser step and best-epoch keeper all loops share;
- :mod:`~recognizers.training.tasks`: the ``TaskData`` protocol and the built-in speech/gesture tasks;
- :mod:`~recognizers.training.ctc`: connected-digit (CTC) fine-tuning;
- :mod:`~recognizers.training.adapt`: adapting a model to one person's takes;
- :mod:`~recognizers.training.logit_adjust`: removing the label prior a training set taught the head;
- :mod:`~recognizers.training.clip_dataset`: on-demand data loading in worker processes;
- :mod:`~recognizers.training.distributed`: multi-process training under ``torchrun``;
- :mod:`~recognizers.training.evaluate`: accuracy and confusion on a labelled folder.
"""

__all__ = ["adapt", "clip_dataset", "ctc", "distributed", "evaluate", "fit", "logit_adjust", "loop", "tasks"]

"""The pieces every training loop here shares: one optimiser step, and keeping the best epoch's weights.

Used by the classifier loop (:mod:`recognizers.training.loop`), CTC fine-tuning (:mod:`recognizers.training.ctc`)
and adaptation, so that they clip gradients and pick their final weights the same way.
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["BestWeights", "CLIP_NORM", "gradient_step"]

CLIP_NORM = 1.0   # gradient norm clipping: LSTMs trained with BPTT occasionally see exploding gradients


def gradient_step(net: nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor, clip_norm: float = CLIP_NORM
                  ) -> None:
    """Back-propagate ``loss``, clip the gradient norm of ``net``'s parameters, and step ``opt``."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(net.parameters(), clip_norm)
    opt.step()


class BestWeights:
    """The weights of the best epoch so far: the highest score, ties broken by the lower loss (when given).

    ``bad_epochs`` counts epochs since the last improvement (early stopping).
    """

    def __init__(self) -> None:
        self.score = -math.inf
        self.loss = math.inf
        self.state: dict[str, torch.Tensor] | None = None
        self.bad_epochs = 0

    def offer(self, net: nn.Module, score: float, loss: float | None = None, always: bool = False) -> bool:
        """Keep ``net``'s weights if this epoch is the best (or ``always``); returns whether it was kept."""
        better = score > self.score or (loss is not None and score == self.score and loss < self.loss)
        if always or better:
            self.score, self.loss, self.bad_epochs = score, math.inf if loss is None else loss, 0
            self.state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            return True
        self.bad_epochs += 1
        return False

    def restore(self, net: nn.Module) -> None:
        """Load the kept weights into ``net`` (nothing kept: nothing changes)."""
        if self.state is not None:
            net.load_state_dict(self.state)

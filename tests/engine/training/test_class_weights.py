"""``train --class-weights sqrt``: rare labels weigh more in the loss, by 1/sqrt of their share; bad values refused."""
import numpy as np
import pytest
import torch

from recognizers.training.loop import TrainConfig, _class_weights


def test_sqrt_weights_favour_rare_labels():
    targets = [0] * 10 + [1] * 10 + [2] * 160          # two rare digits beside a large _unknown_
    w = _class_weights(TrainConfig(class_weights="sqrt"), targets, 3, "cpu")
    mean = len(targets) / 3
    np.testing.assert_allclose(w.numpy(), np.sqrt(mean / np.array([10, 10, 160])), rtol=1e-6)
    assert w[0] == w[1] and w[0] / w[2] == pytest.approx(4.0)
    assert _class_weights(TrainConfig(), targets, 3, "cpu") is None
    # a label with no clip gets a finite weight (no division by zero)
    assert torch.isfinite(_class_weights(TrainConfig(class_weights="sqrt"), [0, 0, 1], 3, "cpu")).all()
    with pytest.raises(ValueError, match="sqrt"):
        _class_weights(TrainConfig(class_weights="cubic"), targets, 3, "cpu")

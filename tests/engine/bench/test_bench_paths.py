"""The benchmarks find the shipped models and the shared data from where their modules live."""
from testdata import REPO


def test_bench_finds_the_shipped_models():
    from recognizers.bench.engine import MODELS, gesture_model
    from recognizers.bench.engine import REPO as BENCH_REPO
    assert BENCH_REPO == REPO
    assert (MODELS / "digits-en" / "model.json").is_file()
    model, name = gesture_model()
    assert model is not None and model.task == "gesture" and name.endswith("gestures-arman6")

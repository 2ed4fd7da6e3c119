"""Schema-aware fuzzing on a small budget (issue 19): valid-looking model.json, manifests, landmark .npz,
WAV headers and arman archives with one field wrong are refused in one line or handled sanely; never a
traceback, never NaN, never a write outside the destination, never an invalid value accepted.
``scripts/fuzz_loaders.py --schema`` runs the same cases on a large budget."""
from __future__ import annotations

import pytest
import schema_fuzzing as sfz
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SMALL = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.mark.parametrize("name", sorted(sfz.CASES))
def test_one_wrong_field_is_refused_or_handled(name, tmp_path_factory, one_torch_thread):
    strategy, run = sfz.CASES[name]
    workdir = tmp_path_factory.mktemp(f"schema-{name}")

    @SMALL
    @given(case=strategy)
    def check(case):
        out = run(case, workdir)
        assert out.kind in ("clean", "handled"), f"{out.case}: {out.detail}"
    check()


@SMALL
@given(st.sampled_from(sorted(sfz.MODEL_FIELDS)))
def test_every_model_field_has_a_case(path):
    assert path.split(".")[0] in {"name", "task", "format_version", "labels", "unknown_label", "label_aliases",
                                  "decoder", "frontend", "architecture", "normalization", "training", "metrics"}

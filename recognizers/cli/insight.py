"""``lstm-vault explain`` (integrated gradients of one decision) and ``lstm-vault gradients`` (tanh RNN vs LSTM)."""
from __future__ import annotations

import json


def _add_explain(sub):
    p = sub.add_parser("explain", help="integrated gradients of the decided class at the decision frame -> .npz")
    p.add_argument("--model", required=True, help="model folder (a clip classifier: speech or gesture)")
    p.add_argument("file", help="audio file, or a landmark file / video / image folder for gesture models")
    p.add_argument("--out", required=True, help="the .npz to write")
    p.add_argument("--label", default=None, help="explain this class instead of the decided one")
    p.add_argument("--steps", type=int, default=64,
                   help="integration steps (doubled until sum(attribution) is within 0.5 %% of the logit change)")


def run_explain(args) -> int:
    from pathlib import Path

    import numpy as np

    from recognizers.errors import VaultError
    from recognizers.insight.explain import check_steps, explain_file
    from recognizers.io.paths import check_output_file, write_atomically
    from recognizers.io.safe_text import safe_text
    from recognizers.model_files import load_model
    check_steps(args.steps)
    model = load_model(args.model)
    if not Path(args.file).exists():
        raise VaultError(f"{safe_text(args.file)}: no such file")
    out = check_output_file(args.out, "--out")
    e = explain_file(model, args.file, label=args.label, steps=args.steps)
    write_atomically(out, lambda tmp: np.savez_compressed(tmp, **e.to_npz_dict()), "--out", suffix=".npz")
    delta = e.logit - e.logit_baseline
    p = float(e.probabilities[e.frame, e.target])
    print(f"wrote {safe_text(out)}: {safe_text(e.label)} at frame {e.frame} (p={p:.3f})"
          f"; logit {e.logit:.3f} vs baseline {e.logit_baseline:.3f}, attributions sum to "
          f"{float(e.attribution.sum()):.3f} of {delta:.3f} ({e.completeness_error * 100:.2f} % off, {e.steps} steps)")
    return 0


def _add_gradients(sub):
    p = sub.add_parser("gradients", help="train a tanh RNN and an LSTM to remember a symbol through DELAY steps; "
                                         "print the gradient that reaches each earlier step")
    p.add_argument("--delay", type=int, default=50, help="steps of noise between the symbol and the answer")
    p.add_argument("--json", action="store_true", help='print {"lags", "rnn", "lstm", "accuracy", ...}')
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=1500, help="most optimiser steps per network")
    p.add_argument("--threads", type=int, default=1)


def run_gradients_cmd(args) -> int:
    from recognizers.errors import VaultError
    from recognizers.insight.gradients import MAX_DELAY, GradientConfig, run_gradients
    if not 1 <= args.delay <= MAX_DELAY:
        raise VaultError(f"--delay {args.delay}: use 1 to {MAX_DELAY} steps")
    if not 1 <= args.steps <= 100000:
        raise VaultError(f"--steps {args.steps}: use 1 to 100000")
    if not 1 <= args.threads <= 64:
        raise VaultError(f"--threads {args.threads}: use 1 to 64")
    r = run_gradients(GradientConfig(delay=args.delay, seed=args.seed, steps=args.steps, threads=args.threads))
    if args.json:
        print(json.dumps(r.to_json()))
        return 0
    print(f"delay {r.delay}: {r.steps_trained} steps in {r.seconds:.1f} s")
    for k in ("rnn", "lstm"):
        learnt = r.steps_to_learn.get(k)
        print(f"  {k:<4} accuracy {r.accuracy[k] * 100:5.1f} % "
              f"({f'learnt in {learnt} steps' if learnt else 'not learnt'}); gradient {r.delay} steps back is "
              f"{r.decay(k):.3g}x smaller than at the answer (at init {r.decay(k, False):.3g}x)")
    f = r.forget_gate_trained
    print(f"  LSTM forget gate over the delay (trained): mean {sum(f) / len(f):.3f}, min {min(f):.3f}")
    return 0


def register_cli() -> list:
    return [(_add_explain, run_explain, "explain"), (_add_gradients, run_gradients_cmd, "gradients")]

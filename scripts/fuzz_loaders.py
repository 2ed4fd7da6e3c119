"""Fuzz every loader with thousands of damaged and random inputs and print, per loader, how many inputs
were tried, loaded fine, were refused with a clean one-line error naming the file, or crashed (any other
exception, an error not naming the file, a hang, or a loaded result that breaks when used).

usage: python scripts/fuzz_loaders.py [--n 2000] [--loaders audio,landmarks,datasets,models,settings]
                                      [--seed 0] [--mem-gb 8] [--timeout-s 20]
       python scripts/fuzz_loaders.py --schema [--n 2000] [--cases model.json,manifest,...]

``--schema`` runs the schema-aware cases of ``tests/helpers/schema_fuzzing.py`` instead (valid-looking
files with one field wrong, drawn by hypothesis) and prints tried / clean error / handled / failures,
where a failure is a traceback, a hang, NaN in a result, an invalid value accepted (exit 0 on an error)
or a write outside the destination.

The process runs under an address-space limit (``--mem-gb``, RLIMIT_AS) so that a loader trying a huge
allocation fails inside this process (and is counted as a crash) instead of taking the machine's memory.
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "helpers")]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class Hang(Exception):
    pass


def _alarm(_sig, _frame):
    raise Hang()


def fuzz_settings_factory():
    """One QApplication; each example writes a garbage QSettings file and opens the main window on it."""
    import loader_fuzzing as lf
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication([])

    def fuzz_settings(rng: random.Random, workdir: Path):
        from desktop_app.main_window import MainWindow
        ini = workdir / "settings.ini"
        ini.unlink(missing_ok=True)
        settings = QSettings(str(ini), QSettings.Format.IniFormat)
        if rng.random() < 0.5:
            for key in rng.sample(lf.SETTING_KEYS, rng.randint(1, len(lf.SETTING_KEYS))):
                settings.setValue(key, lf.garbage_setting(rng))
            settings.sync()
            kind = "values"
        else:
            lf.write_garbage_ini(rng, ini)
            settings = QSettings(str(ini), QSettings.Format.IniFormat)
            kind = "ini"

        def load():
            w = MainWindow(settings=settings, model_roots=[workdir / "no-models"])
            try:
                w.set_mode("gesture" if w.mode == "speech" else "speech")
                app.processEvents()
            finally:
                w.close()
                w.deleteLater()
                app.processEvents()
        return lf.run_loader(load, (ini,), None, kind)
    return fuzz_settings


def run_schema(args) -> int:
    import schema_fuzzing as sfz
    import torch
    from hypothesis import HealthCheck, given, settings
    torch.set_num_threads(1)
    rows = []
    names = args.cases.split(",") if args.cases else list(sfz.CASES)
    for name in names:
        strategy, run = sfz.CASES[name]
        counts = collections.Counter()
        failures = collections.Counter()
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"schema-{name}-") as tmp:
            work = Path(tmp)

            @settings(max_examples=args.n, deadline=None, suppress_health_check=list(HealthCheck),
                      derandomize=args.seed == 0, database=None)
            @given(case=strategy)
            def one(case):
                signal.alarm(args.timeout_s)
                try:
                    out = run(case, work)
                except Hang:
                    out = sfz.Outcome("failure", f"hang (> {args.timeout_s} s)", repr(case)[:80])
                except Exception as exc:   # noqa: BLE001 - the harness must not stop the run
                    out = sfz.Outcome("failure", f"harness: {type(exc).__name__}: {exc}", repr(case)[:80])
                finally:
                    signal.alarm(0)
                counts[out.kind] += 1
                if out.kind == "failure":
                    failures[f"{out.case[:70]} -> {out.detail[:100]}"] += 1
            one()
        tried = sum(counts.values())
        rows.append((name, tried, counts["clean"], counts["handled"], counts["failure"]))
        print(f"{name:13s} tried {tried:6d}  clean error {counts['clean']:6d}  handled {counts['handled']:6d}  "
              f"failures {counts['failure']:4d}   ({time.monotonic() - t0:.0f} s)", flush=True)
        for msg, c in failures.most_common(args.show):
            print(f"    {c:4d} x {msg}", flush=True)
    print("\n| schema case | tried | clean error | handled | failures |\n|---|---|---|---|---|")
    for name, n, clean, handled, fail in rows:
        print(f"| {name} | {n} | {clean} | {handled} | {fail} |")
    return 1 if any(r[4] for r in rows) else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--schema", action="store_true", help="schema-aware cases (one field wrong)")
    ap.add_argument("--cases", default="", help="with --schema: comma-separated case names (default all)")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--loaders", default="audio,landmarks,datasets,models,settings")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mem-gb", type=float, default=8.0)
    ap.add_argument("--timeout-s", type=int, default=20)
    ap.add_argument("--show", type=int, default=5, help="crash messages shown per loader")
    args = ap.parse_args(argv)
    limit = int(args.mem_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, _alarm)
    if args.schema:
        return run_schema(args)
    import loader_fuzzing as lf
    loaders = {"audio": lf.fuzz_audio, "landmarks": lf.fuzz_landmarks, "datasets": lf.fuzz_dataset,
               "models": lf.fuzz_model}
    signal.signal(signal.SIGALRM, _alarm)
    rows = []
    for name in args.loaders.split(","):
        fn = fuzz_settings_factory() if name == "settings" else loaders[name]
        counts = collections.Counter()
        crashes = collections.Counter()
        examples = {}
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"fuzz-{name}-") as tmp:
            rng = random.Random(f"{args.seed}:{name}")
            for i in range(args.n):
                work = Path(tmp) / f"w{i % 4}"
                work.mkdir(exist_ok=True)
                signal.alarm(args.timeout_s)
                try:
                    out = fn(rng, work)
                except Hang:
                    out = lf.Outcome("crash", f"hang (> {args.timeout_s} s)")
                except Exception as exc:   # the harness itself must not stop the run
                    out = lf.Outcome("crash", f"harness: {type(exc).__name__}: {exc}")
                finally:
                    signal.alarm(0)
                counts[out.kind] += 1
                if out.kind == "crash":
                    key = out.detail[:120]
                    crashes[key] += 1
                    examples.setdefault(key, out.mutation)
        rows.append((name, args.n, counts["ok"], counts["clean"], counts["crash"], time.monotonic() - t0))
        print(f"{name:10s} tried {args.n:6d}  loaded OK {counts['ok']:6d}  clean error {counts['clean']:6d}  "
              f"crashed {counts['crash']:4d}   ({time.monotonic() - t0:.0f} s)", flush=True)
        for msg, c in crashes.most_common(args.show):
            print(f"    {c:4d} x {msg}   [e.g. {examples[msg]}]", flush=True)
    print("\n| loader | tried | loaded OK | clean error | crashed |\n|---|---|---|---|---|")
    for name, n, ok, clean, crash, _ in rows:
        print(f"| {name} | {n} | {ok} | {clean} | {crash} |")
    return 1 if any(r[4] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

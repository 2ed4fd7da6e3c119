"""Speed benchmarks: ``lstm-vault bench [--json] [--only KEY[,KEY]] [--repeats N] [--gui-seconds S] [--skip-train]``
(also ``python -m recognizers.bench.engine``).

Every figure is the median of ``--repeats`` runs, and every ratio compares two computations timed in the
same run, one after the other, on the same input: on a shared machine absolute times drift with the load
(the load average is printed with the results), ratios much less. Nothing here asserts a time.

What is measured (single thread, ``torch.set_num_threads(1)``, unless said otherwise):

- ``speech_rtf_traced`` / ``speech_rtf_plain``: compute seconds per second of audio of the streaming
  pipeline (log-mel frontend + GateLSTM + softmax, :class:`StreamingRecognizer.push`) fed 20 ms blocks
  (the app's block size), with and without gate traces. 10 ms blocks are reported too (``*_10ms``).
- ``trace_overhead``: GateLSTM forward with traces / a plain stacked ``nn.LSTM`` with the same weights, on
  the same 1 s of features (100 frames, batch 1). ``trace_overhead_block`` is the same on one 20 ms block
  (2 frames), which is what streaming runs.
- ``custom_cell_ratio``: the usual way of getting gates, a Python loop over the LSTM cell equations step by
  step, / our traced forward (same input, same gates: checked to 1e-5).
- ``naive_window_speedup``: the approach of many live demos, recomputing log-mel features of the last
  second and re-running the network from a zero state over it at every 10 ms hop, / our streaming
  pipeline (frontend + network with carried state, :class:`StreamingRecognizer.push`) per 10 ms hop, fed
  the app's 20 ms blocks; both without traces. ``naive_window_speedup_10ms``: the same with 10 ms
  blocks (one push per hop). Checked: both give the same log-mel frame for every hop, and where the
  window starts at the stream's start (both from a zero state over the same samples) the same class
  probabilities.
- ``gesture_frame_ms``: landmark frontend + gesture model (with traces) per frame;
  ``gesture_spotter_frame_ms`` adds the spotter's sliding-window re-classification.
- ``hand_tracking_fps``: 640x480 RGB frames through MediaPipe hand tracking + landmark frontend + the
  gesture spotter, end to end (MediaPipe uses its own threads); ``hand_tracking_only_fps`` without
  recognition.
- ``gui_redraw_hz`` / ``gui_dropped_blocks``: the desktop app in a subprocess, offscreen, speech mode, with
  an FSDD digit stream played as a file source in real time for ``--gui-seconds`` (default 60): timer
  redraws per second and audio blocks dropped, from the app's own counters.
- ``startup_s``: ``lstm-vault`` launched in a subprocess with the default models and fresh settings, until
  the main window is shown (the app prints a marker when ``LSTM_VAULT_REPORT_SHOWN`` is set).
- ``train_epoch_s`` / ``train_to_target_s``: ``lstm-vault train`` on FSDD with speaker ``theo`` held out
  for validation (default threads, default settings), at most ``TRAIN_MAX_EPOCHS`` epochs: median epoch
  time, and time from the start (data loading included) to the first epoch reaching
  ``TRAIN_TARGET_ACC`` validation accuracy.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "assets" / "models"
SHARED = Path(os.environ.get("LSTM_VAULT_SHARED_DATA", REPO.parent / "shared" / "data"))
FSDD = SHARED / "fsdd" / "recordings"
HAND_VIDEO = SHARED / "hands" / "mps_hand_landmarker_test_video.mp4"

SPEECH_BLOCK_MS = 20.0        # the app's audio block (desktop_app.sources.BLOCK_MS)
NAIVE_WINDOW_S = 1.0
TRAIN_TARGET_ACC = 0.80
TRAIN_MAX_EPOCHS = 40           # about 3 min on 2 cores; stops as soon as the target is reached
SHOWN_MARKER = "lstm-vault: window shown"

# key -> (comparison, target); keys not listed have no target
TARGETS: dict[str, tuple[str, float]] = {
    "speech_rtf_traced": ("<=", 0.03),
    "trace_overhead": ("<=", 1.5),
    "naive_window_speedup": (">=", 20.0),
    "hand_tracking_fps": (">=", 25.0),
    "gui_redraw_hz": (">=", 30.0),
    "gui_dropped_blocks": ("<=", 0.0),
    "startup_s": ("<=", 3.0),
    "app_cpu_idle": ("<=", 15.0),
    "app_cpu_speech": ("<=", 30.0),
    "app_cpu_gesture": ("<=", 60.0),
    "app_dropped_blocks_while_training": ("<=", 0.0),
}
UNITS = {"speech_rtf_traced": "s/s", "speech_rtf_plain": "s/s", "trace_overhead": "x", "custom_cell_ratio": "x",
         "naive_window_speedup": "x", "gesture_frame_ms": "ms", "hand_tracking_fps": "fps",
         "gui_redraw_hz": "Hz", "gui_dropped_blocks": "blocks", "startup_s": "s", "train_epoch_s": "s",
         "train_to_target_s": "s", "app_cpu_idle": "% core", "app_cpu_speech": "% core",
         "app_cpu_gesture": "% core", "app_dropped_blocks_while_training": "blocks"}


@dataclass
class Bench:
    repeats: int = 5
    gui_seconds: float = 60.0
    skip_train: bool = False
    results: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    progress: Callable[[str], None] = lambda _s: None
    _speech: Any = None

    def note(self, text: str) -> None:
        self.notes.append(text)

    # ---- shared inputs ------------------------------------------------------------------------------
    def speech_model(self):
        """``(LoadedModel, description)``: digits-en, else the newest speech model, else random weights."""
        if self._speech is None:
            self._speech = _speech_model()
            self.results["speech_model"] = self._speech[1]
        return self._speech[0]


def median_time(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def paired_medians(fn_a: Callable[[], Any], fn_b: Callable[[], Any], repeats: int, warmup: int = 1
                   ) -> tuple[float, float]:
    """Median times of ``fn_a`` and ``fn_b`` timed alternately (a, b, a, b, ...), so that a change of load
    during the measurement hits both alike: for ratios on a shared machine."""
    for _ in range(warmup):
        fn_a()
        fn_b()
    ta, tb = [], []
    for _ in range(max(1, repeats)):
        for fn, times in ((fn_a, ta), (fn_b, tb)):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return statistics.median(ta), statistics.median(tb)


def _speech_model():
    from recognizers.model_files import load_model, read_meta
    preferred = MODELS / "digits-en"
    if (preferred / "model.json").is_file():
        return load_model(preferred, task="speech"), f"{preferred.relative_to(REPO)} (shipped)"
    speech = []
    for meta in MODELS.glob("*/model.json"):
        try:
            if read_meta(meta.parent)["task"] == "speech":
                speech.append(meta.parent)
        except Exception:
            continue
    if speech:
        newest = max(speech, key=lambda p: (p / "model.json").stat().st_mtime)
        return load_model(newest, task="speech"), f"{newest.relative_to(REPO)} (newest speech model)"
    return random_speech_model(), "random weights, 2 layers x 128 units, 40 log-mel (no speech model shipped)"


def random_speech_model(seed: int = 0):
    """The digit model's architecture with untrained weights (the benchmark measures speed only)."""
    import torch

    from recognizers.frontends.log_mel import LogMelConfig
    from recognizers.model_files import FORMAT, FORMAT_VERSION, UNKNOWN_LABEL, LoadedModel
    from recognizers.nn.classifier import Architecture, SequenceClassifier
    torch.manual_seed(seed)
    labels = [UNKNOWN_LABEL] + [str(d) for d in range(10)]
    net = SequenceClassifier(Architecture(input_size=40, hidden_size=128, num_layers=2, num_classes=len(labels)))
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": "bench-random", "task": "speech",
            "labels": labels, "unknown_label": UNKNOWN_LABEL, "frontend": LogMelConfig().to_json(),
            "architecture": net.arch.to_json(), "normalization": {"mean": [0.0] * 40, "std": [1.0] * 40}}
    return LoadedModel(None, net.eval(), meta, labels)


def speech_audio(seconds: float, rate: int = 16000, seed: int = 0):
    """``seconds`` of FSDD digits separated by short pauses (synthetic tones + noise without FSDD)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    parts, total = [], 0
    files = sorted(FSDD.glob("*.wav")) if FSDD.is_dir() else []
    if files:
        from recognizers.io.audio import load_audio
        while total < n:
            x = load_audio(files[int(rng.integers(len(files)))], rate)
            gap = np.zeros(int(rng.uniform(0.15, 0.6) * rate), np.float32)
            parts += [x, gap]
            total += x.size + gap.size
        out = np.concatenate(parts)[:n]
    else:
        t = np.arange(n) / rate
        out = (0.3 * np.sin(2 * np.pi * 220 * t * (1 + 0.2 * np.sin(t))) * (np.sin(2 * np.pi * 0.7 * t) > 0)
               + 0.01 * rng.standard_normal(n))
    return (out + 1e-3 * rng.standard_normal(out.size)).astype(np.float32)


def _blocks(x, block: int):
    return [x[s:s + block] for s in range(0, x.size, block)]


# ---- speech streaming -------------------------------------------------------------------------------------
def bench_speech_rtf(b: Bench) -> None:
    from recognizers.streaming import StreamingRecognizer
    model = b.speech_model()
    seconds = 10.0
    audio = speech_audio(seconds)
    for block_ms in (SPEECH_BLOCK_MS, 10.0):
        blocks = _blocks(audio, int(16000 * block_ms / 1000))
        runs = []
        for trace in (True, False):
            rec = StreamingRecognizer(model, trace=trace)

            def run(rec=rec):
                rec.reset()
                for blk in blocks:
                    rec.push(blk)
            runs.append(run)
        t_traced, t_plain = paired_medians(runs[0], runs[1], b.repeats)
        suffix = "" if block_ms == SPEECH_BLOCK_MS else "_10ms"
        b.results["speech_rtf_traced" + suffix] = t_traced / seconds
        b.results["speech_rtf_plain" + suffix] = t_plain / seconds
    b.note(f"speech_rtf: {seconds:.0f} s of FSDD digits pushed in {SPEECH_BLOCK_MS:.0f} ms blocks "
           f"(*_10ms: 10 ms blocks) through StreamingRecognizer.push (log-mel + GateLSTM + softmax + numpy out)")


def _stacked_lstm_copy(lstm):
    """A plain multi-layer ``nn.LSTM`` holding the weights of a GateLSTM (the baseline to compare with)."""
    import torch
    from torch import nn
    plain = nn.LSTM(lstm.input_size, lstm.hidden_size, num_layers=lstm.num_layers, batch_first=True).eval()
    with torch.no_grad():
        for k, layer in enumerate(lstm.layers):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(plain, f"{name}_l{k}").copy_(getattr(layer, f"{name}_l0"))
    return plain


def naive_cell_traces(lstm, x, state=None):
    """Gates by the textbook loop: for every layer and step, the cell equations in Python."""
    import torch
    H = lstm.hidden_size
    outs = []
    layer_in = x
    for k, layer in enumerate(lstm.layers):
        w_ih, w_hh = layer.weight_ih_l0, layer.weight_hh_l0
        b = layer.bias_ih_l0 + layer.bias_hh_l0
        h = x.new_zeros(x.shape[0], H) if state is None else state.h[k]
        c = x.new_zeros(x.shape[0], H) if state is None else state.c[k]
        gates = {n: [] for n in "ifgoch"}
        for t in range(layer_in.shape[1]):
            z = layer_in[:, t] @ w_ih.T + h @ w_hh.T + b
            i, f = torch.sigmoid(z[:, :H]), torch.sigmoid(z[:, H:2 * H])
            g, o = torch.tanh(z[:, 2 * H:3 * H]), torch.sigmoid(z[:, 3 * H:])
            c = f * c + i * g
            h = o * torch.tanh(c)
            for n, v in zip("ifgoch", (i, f, g, o, c, h)):
                gates[n].append(v)
        tr = {n: torch.stack(v, 1) for n, v in gates.items()}
        outs.append(tr)
        layer_in = tr["h"]
    return outs


def _repeat(fn: Callable[[], Any], n: int) -> None:
    """``fn()`` n times, each result dropped before the next call (as a caller that uses the result would;
    keeping all n alive would time the allocator's fresh pages instead)."""
    for _ in range(n):
        fn()


def _logmel_speech_model(b: Bench):
    """The shipped speech model if it reads log-mel frames, else the log-mel digit architecture with random
    weights (these benchmarks time 100 frames of 10 ms; the speech-embedding models have 80 ms frames)."""
    model = b.speech_model()
    if model.frontend_config.get("type", "logmel") == "logmel":
        return model
    b.results.setdefault("logmel_benchmarks_model", "random weights, 2 x 128, 40 log-mel (the shipped speech "
                         "model reads the speech embedding)")
    return random_speech_model()


def bench_trace_overhead(b: Bench) -> None:
    import torch
    model = _logmel_speech_model(b)
    net = model.network.eval()
    lstm = net.lstm
    plain = _stacked_lstm_copy(lstm)
    audio = speech_audio(1.0 + 0.05)
    from recognizers.frontends.registry import offline_features
    feats = torch.from_numpy(offline_features(model.frontend_config, audio)[:100])[None]
    x = net.normalize(feats)
    inner = 20
    with torch.inference_mode():
        out_p, _ = plain(x)
        out_t, _, traces = lstm(x, trace=True)
        err = float((out_p - out_t).abs().max())
        for name, frames in (("", 100), ("_block", 2)):
            xs = x[:, :frames].contiguous()
            t_trace, t_plain = paired_medians(lambda: _repeat(lambda: lstm(xs, trace=True), inner),
                                              lambda: _repeat(lambda: plain(xs), inner), 3 * b.repeats)
            b.results[f"trace_overhead{name}"] = t_trace / t_plain
            b.results[f"traced_forward_ms{name}"] = t_trace / inner * 1e3
            b.results[f"plain_forward_ms{name}"] = t_plain / inner * 1e3
        ref = naive_cell_traces(lstm, x)
        cell_err = max(float((ref[k][n] - getattr(traces[k], n)).abs().max()) for k in range(len(ref)) for n in "ifgoch")  # noqa: E501
        t_cell, t_trace = paired_medians(lambda: naive_cell_traces(lstm, x),
                                         lambda: _repeat(lambda: lstm(x, trace=True), inner), b.repeats)
        b.results["custom_cell_ratio"] = t_cell / (t_trace / inner)
    b.results["trace_check_max_abs_diff"] = max(err, cell_err)
    b.note(f"trace_overhead: 100 frames (1 s) of normalised log-mel, batch 1; _block: 2 frames (one 20 ms block); "
           f"outputs equal to the plain nn.LSTM within {err:.1e}, gates equal to the Python cell loop within "
           f"{cell_err:.1e}")


def bench_naive_window(b: Bench) -> None:
    import numpy as np
    import torch

    from recognizers.frontends.log_mel import LogMel
    from recognizers.streaming import StreamingRecognizer
    model = _logmel_speech_model(b)
    net = model.network.eval()
    fe = LogMel(_logmel_config(model))
    cfg = fe.config
    hop, span = cfg.hop_length, cfg.span_length
    window = int(NAIVE_WINDOW_S * cfg.sample_rate_hz) + span - hop   # exactly 100 frames
    seconds = 3.0
    audio = speech_audio(seconds + NAIVE_WINDOW_S, seed=3)
    audio = audio[:audio.size // hop * hop]
    ends = list(range(window, audio.size + 1, hop))          # one evaluation per 10 ms hop
    f0 = (window - span) // hop                               # stream index of the first window's last frame

    def naive_step(end: int):
        feats = torch.from_numpy(fe(audio[end - window:end]))[None]
        logits, _, _ = net(feats)
        return torch.softmax(logits[0, -1], -1), feats[0, -1]

    def naive():
        with torch.inference_mode():
            return [naive_step(e) for e in ends]

    rec = StreamingRecognizer(model, trace=False)
    hops = audio.size // hop

    def streaming(blocks):
        rec.reset()
        return [rec.push(blk) for blk in blocks]

    # ours: the app's 20 ms blocks (two hops per push), and 10 ms blocks (one push per hop)
    for name, block in (("", int(cfg.sample_rate_hz * SPEECH_BLOCK_MS / 1000)), ("_10ms", hop)):
        blocks = _blocks(audio, block)
        t_naive, t_stream = paired_medians(naive, lambda blocks=blocks: streaming(blocks), b.repeats)
        per_hop_naive = t_naive / len(ends)
        per_hop_stream = t_stream / hops
        b.results["naive_window_speedup" + name] = per_hop_naive / per_hop_stream
        b.results["naive_window_ms_per_hop" + name] = per_hop_naive * 1e3
        b.results["streaming_ms_per_hop" + name] = per_hop_stream * 1e3
    # checks: same log-mel frame at every hop; same probabilities where both start from zero at sample 0
    res = naive()
    steps = streaming(_blocks(audio, hop))
    stream_feats = np.concatenate([s.features for s in steps])[f0:]
    stream_probs = np.concatenate([s.probabilities for s in steps])[f0:]
    naive_feats = net.normalize(torch.stack([f for _, f in res])).numpy()
    n = min(len(res), stream_feats.shape[0])
    feat_err = float(np.abs(naive_feats[:n] - stream_feats[:n]).max())
    prob_err = float(np.abs(res[0][0].numpy() - stream_probs[0]).max())
    b.results["naive_window_check_max_abs_diff"] = max(feat_err, prob_err)
    b.note(f"naive_window: {len(ends)} hops of 10 ms over {seconds:.0f} s; naive = log-mel of the last "
           f"{window} samples (100 frames) + network from zero state, last frame's probabilities, at every hop; "
           f"ours = StreamingRecognizer.push with carried state, per hop, fed the app's "
           f"{SPEECH_BLOCK_MS:.0f} ms blocks (_10ms: 10 ms blocks, one push per hop). Same frames at every hop (max diff {feat_err:.1e}); at the first "  # noqa: E501
           f"hop (window = stream start) same probabilities (max diff {prob_err:.1e}); later the naive "
           f"outputs differ by design (they forget everything before the window)")


def _logmel_config(model):
    from recognizers.frontends.log_mel import LogMelConfig
    return LogMelConfig.from_json(model.frontend_config)


# ---- gestures ---------------------------------------------------------------------------------------------
def gesture_model():
    from recognizers.model_files import load_model
    folder = MODELS / "gestures-arman6"
    if (folder / "model.json").is_file():
        return load_model(folder, task="gesture"), str(folder.relative_to(REPO))
    return None, ""


def synthetic_hands(n: int, seed: int = 0):
    """``(n, 2, 21, 3)`` landmark frames: two plausible hands drifting and flexing (all features used)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    base = rng.uniform(-0.08, 0.08, (2, 21, 3)).astype(np.float32)
    base[..., 2] *= 0.3
    t = np.arange(n, dtype=np.float32)[:, None, None, None] / 30.0
    centre = np.array([[0.35, 0.55, 0.0], [0.65, 0.55, 0.0]], np.float32)[None, :, None, :]
    wob = 0.02 * np.sin(2 * np.pi * 0.5 * t + np.arange(21)[None, None, :, None] * 0.3)
    return (centre + base[None] * (1 + wob) + 0.05 * np.sin(2 * np.pi * 0.2 * t)).astype(np.float32)


def bench_gesture_frame(b: Bench) -> None:
    from recognizers.decoders.gestures import GestureSpotter
    from recognizers.streaming import StreamingRecognizer
    model, name = gesture_model()
    if model is None:
        b.note("gesture_frame_ms: skipped, no gesture model in assets/models")
        return
    frames = synthetic_hands(300)
    rec = StreamingRecognizer(model, trace=True)
    spot = GestureSpotter(model)

    def run_rec():
        rec.reset()
        for f in frames:
            rec.push(f)

    def run_spot():
        spot.reset()
        for f in frames:
            spot.push(f)
    b.results["gesture_frame_ms"] = median_time(run_rec, b.repeats) / len(frames) * 1e3
    b.results["gesture_spotter_frame_ms"] = median_time(run_spot, b.repeats) / len(frames) * 1e3
    b.note(f"gesture_frame_ms: {name}, 300 synthetic two-hand frames pushed one at a time (traces on)")


def _video_frames(n: int = 120):
    import numpy as np
    try:
        import cv2
    except ImportError:
        return None, "no OpenCV"
    frames = []
    if HAND_VIDEO.is_file():
        cap = cv2.VideoCapture(str(HAND_VIDEO))
        while len(frames) < n:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(cv2.resize(bgr, (640, 480), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB))
        cap.release()
    if frames:
        return frames, f"{HAND_VIDEO.name} resized to 640x480 ({len(frames)} frames)"
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (480, 640, 3), np.uint8) for _ in range(n)], "random 640x480 frames (no hands)"


def bench_hand_tracking(b: Bench) -> None:
    try:
        from recognizers.frontends.hand_tracking import HandTracker, hands_to_frame
    except ImportError as exc:
        b.note(f"hand_tracking_fps: skipped ({exc})")
        return
    from recognizers.decoders.gestures import GestureSpotter
    model, _ = gesture_model()
    frames, what = _video_frames()
    if frames is None:
        b.note(f"hand_tracking_fps: skipped ({what})")
        return
    found = []
    spot = GestureSpotter(model) if model is not None else None

    def run(recognise: bool):
        with HandTracker(mode="video", max_hands=2) as tracker:
            tracker.process(frames[0])      # graph start-up is not per-frame cost
            if spot is not None:
                spot.reset()
            n_hands = 0
            t = time.perf_counter()
            for rgb in frames:
                hands = tracker.process(rgb)
                n_hands += len(hands)
                if recognise and spot is not None:
                    spot.push(hands_to_frame(hands))
            found.append(n_hands)
            return time.perf_counter() - t
    reps = max(1, min(b.repeats, 3))
    b.results["hand_tracking_fps"] = len(frames) / statistics.median(run(True) for _ in range(reps))
    b.results["hand_tracking_only_fps"] = len(frames) / statistics.median(run(False) for _ in range(reps))
    b.note(f"hand_tracking_fps: {what}, MediaPipe Hands (video mode, 2 hands, complexity 1) + landmark "
           f"frontend + GestureSpotter with traces; {found[0] / len(frames):.2f} hands per frame tracked")


# ---- the desktop app --------------------------------------------------------------------------------------
def _child_env(tmp: Path) -> dict:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["XDG_CONFIG_HOME"] = str(tmp / "config")     # fresh settings: nothing remembered, user's untouched
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def bench_gui(b: Bench) -> None:
    import soundfile as sf

    from recognizers.model_files import save_model
    model = b.speech_model()
    with tempfile.TemporaryDirectory(prefix="lstm-vault-bench-") as tmpdir:
        tmp = Path(tmpdir)
        folder = model.path
        if folder is None:
            folder = save_model(tmp / "speech-model", model.network, {k: v for k, v in model.meta.items()
                                                                       if k not in ("format", "format_version")})
        wav = tmp / "digits.wav"
        sf.write(str(wav), speech_audio(b.gui_seconds + 5.0, seed=7), 16000)
        cmd = [sys.executable, "-m", "desktop_app.bench_probe", "--seconds", str(b.gui_seconds),
               "--file", str(wav), "--model-speech", str(folder)]
        p = subprocess.run(cmd, capture_output=True, text=True, env=_child_env(tmp), cwd=str(REPO),
                           timeout=b.gui_seconds + 120)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        b.note(f"gui: the app probe failed ({p.returncode}): {p.stderr.strip()[-400:]}")
        return
    r = json.loads(lines[-1])
    b.results["gui_redraw_hz"] = r["redraw_hz"]
    b.results["gui_dropped_blocks"] = r["dropped_audio_blocks"]
    b.results["gui_draw_ms"] = r["draw_ms_median"]
    b.results["gui_draw_ms_p95"] = r["draw_ms_p95"]
    b.results["gui_inference_ms_per_block"] = r["inference_ms"]
    b.note(f"gui: speech mode, 1480x940 window offscreen, {r['seconds']:.0f} s of FSDD digits played in real "
           f"time as a file source in {SPEECH_BLOCK_MS:.0f} ms blocks ({r['blocks_received']} blocks reached "
           f"the inference thread, {r['frames_run']} network frames); redraw timer {r['timer_hz']:.1f} Hz nominal")


def _launch_command() -> list[str]:
    script = Path(sys.executable).with_name("lstm-vault")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "recognizers"]


def bench_startup(b: Bench) -> None:
    from recognizers.bench.app import stop_process
    times = []
    for _ in range(max(1, min(b.repeats, 5))):
        with tempfile.TemporaryDirectory(prefix="lstm-vault-bench-") as tmpdir:
            env = _child_env(Path(tmpdir))
            env["LSTM_VAULT_REPORT_SHOWN"] = "1"
            t = time.perf_counter()
            p = subprocess.Popen(_launch_command(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True, env=env, cwd=str(REPO))
            shown = None
            try:
                for line in p.stdout:
                    if line.startswith(SHOWN_MARKER):
                        shown = time.perf_counter() - t
                        break
            finally:
                stop_process(p)
            if shown is None:
                b.note("startup_s: the app never reported its window shown")
                return
            times.append(shown)
    b.results["startup_s"] = statistics.median(times)
    b.results["startup_s_min"] = min(times)
    b.note(f"startup_s: `{' '.join(Path(c).name for c in _launch_command())}` with fresh settings (speech mode, "
           f"default models from assets/models), launch to the window shown; {len(times)} launches")


# ---- training ---------------------------------------------------------------------------------------------
def bench_train(b: Bench) -> None:
    if b.skip_train:
        b.note("train: skipped (--skip-train)")
        return
    fsdd = FSDD.parent
    if not FSDD.is_dir():
        b.note(f"train: skipped, {fsdd} is absent")
        return
    import threading

    import torch

    from recognizers.data.speech import SpeechTaskData
    from recognizers.frontends.log_mel import LogMelConfig
    from recognizers.training.loop import TrainConfig, train
    threads = torch.get_num_threads()
    cancel = threading.Event()
    t0 = time.perf_counter()
    reached: list[float] = []
    epochs: list[tuple[float, float]] = []

    def on_epoch(r):
        epochs.append((r.seconds, r.val_acc))
        b.progress(f"bench: train epoch {r.epoch}: {r.seconds:.0f} s, validation accuracy {r.val_acc:.1%}")
        if r.val_acc >= TRAIN_TARGET_ACC and not reached:
            reached.append(time.perf_counter() - t0)
            cancel.set()
    cfg = TrainConfig(epochs=TRAIN_MAX_EPOCHS, patience=TRAIN_MAX_EPOCHS, val_groups=["theo"], seed=0,
                      device="cpu", threads=os.cpu_count() or 1)
    train(SpeechTaskData(frontend=LogMelConfig()), fsdd, None, cfg, on_epoch=on_epoch, cancel=cancel)
    torch.set_num_threads(threads)
    if epochs:
        b.results["train_epoch_s"] = statistics.median(s for s, _ in epochs)
    b.results["train_to_target_s"] = reached[0] if reached else None
    b.results["train_best_val_acc"] = max((a for _, a in epochs), default=None)
    b.note(f"train: FSDD, speaker theo held out, 2x128 LSTM, batch 32, {os.cpu_count()} threads; target "
           f"{TRAIN_TARGET_ACC:.0%} validation accuracy (theo's clips + synthetic negatives), at most "
           f"{TRAIN_MAX_EPOCHS} epochs; validation accuracy per epoch: "
           f"{', '.join(f'{a:.0%}' for _, a in epochs)}"
           + ("" if reached else " (target not reached within the budget)"))


def bench_app(b: Bench) -> None:
    """The real app under Xvfb with a virtual microphone: recognizers.bench.app."""
    from recognizers.bench.app import bench_app as run_app
    run_app(b)


BENCHES: list[tuple[tuple[str, ...], Callable[[Bench], None]]] = [
    (("speech_rtf_traced", "speech_rtf_plain"), bench_speech_rtf),
    (("trace_overhead", "custom_cell_ratio"), bench_trace_overhead),
    (("naive_window_speedup",), bench_naive_window),
    (("gesture_frame_ms",), bench_gesture_frame),
    (("hand_tracking_fps",), bench_hand_tracking),
    (("gui_redraw_hz", "gui_dropped_blocks"), bench_gui),
    (("startup_s",), bench_startup),
    (("train_epoch_s", "train_to_target_s"), bench_train),
    (("app_cpu_idle", "app_cpu_speech", "app_cpu_gesture", "app_dropped_blocks_while_training"),
     bench_app),
]
ALL_KEYS = [k for keys, _ in BENCHES for k in keys]


def run_benchmarks(only: list[str] | None = None, repeats: int = 5, gui_seconds: float = 60.0,
                   skip_train: bool = False, progress: Callable[[str], None] | None = None) -> dict:
    """Run the selected benchmarks; returns the ``--json`` object (results, notes, targets, machine)."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    b = Bench(repeats=repeats, gui_seconds=gui_seconds, skip_train=skip_train)
    if progress:
        b.progress = progress
    load_before = os.getloadavg()
    t_all = time.perf_counter()
    try:
        for keys, fn in BENCHES:
            if only and not set(only) & set(keys):
                continue
            if progress:
                progress(f"bench: {', '.join(keys)} ...")
            t = time.perf_counter()
            fn(b)
            if progress:
                progress(f"bench: {', '.join(keys)} done in {time.perf_counter() - t:.0f} s")
    finally:
        torch.set_num_threads(threads)
    ran = [k for keys, _ in BENCHES if not only or set(only) & set(keys) for k in keys]
    out = {k: b.results.get(k) for k in ran}
    out.update({k: v for k, v in b.results.items() if k not in ALL_KEYS})
    out["targets"] = {k: f"{op} {v:g}" for k, (op, v) in TARGETS.items() if k in out}
    out["met"] = {k: _meets(out[k], op, v) for k, (op, v) in TARGETS.items() if k in out and out[k] is not None}
    out["notes"] = b.notes
    out["machine"] = {"cpus": os.cpu_count(), "load_avg_before": [round(x, 2) for x in load_before],
                      "load_avg_after": [round(x, 2) for x in os.getloadavg()], "torch": torch.__version__,
                      "threads": 1, "repeats": repeats, "seconds": round(time.perf_counter() - t_all, 1)}
    return out


def _meets(value: float, op: str, target: float) -> bool:
    return value <= target if op == "<=" else value >= target


def format_table(r: dict) -> str:
    rows = [("key", "value", "target", "")]
    for k in ALL_KEYS:
        if k not in r:
            continue
        v = r[k]
        val = "skipped" if v is None else f"{v:.4g} {UNITS.get(k, '')}".strip()
        t = r["targets"].get(k, "")
        ok = "" if k not in r["met"] else ("ok" if r["met"][k] else "MISSES")
        rows.append((k, val, t, ok))
    w = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w[i]) for i, c in enumerate(row)).rstrip() for row in rows]
    extra = {k: v for k, v in r.items() if k not in ALL_KEYS and k not in ("targets", "met", "notes", "machine")}
    if extra:
        lines.append("")
        lines += [f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}" for k, v in extra.items()]
    lines.append("")
    lines += [f"- {n}" for n in r["notes"]]
    m = r["machine"]
    lines.append(f"machine: {m['cpus']} CPUs, load average {m['load_avg_before'][0]} before / "
                 f"{m['load_avg_after'][0]} after, torch {m['torch']}, {m['repeats']} repeats, {m['seconds']} s")
    return "\n".join(lines)


# ---- command line -----------------------------------------------------------------------------------------
def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("bench", help="measure speed: real-time factor, trace overhead, GUI rate, start-up, training")
    _add_options(p)
    return p


def _add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--only", default=None, metavar="KEY[,KEY]",
                   help=f"only the benchmarks giving these keys ({', '.join(ALL_KEYS)})")
    p.add_argument("--repeats", type=int, default=5, help="runs per measurement (the median is reported)")
    p.add_argument("--gui-seconds", type=float, default=60.0, help="how long the app streams (default 60)")
    p.add_argument("--skip-train", action="store_true", help="leave out the training benchmark")


def run(args) -> int:
    from recognizers.errors import VaultError
    only = [k.strip() for k in args.only.split(",") if k.strip()] if args.only else None
    unknown = [k for k in only or [] if k not in ALL_KEYS]
    if unknown:
        raise VaultError(f"--only: unknown keys {unknown} (known: {', '.join(ALL_KEYS)})")
    if args.repeats < 1 or args.gui_seconds <= 0:
        raise VaultError("--repeats must be >= 1 and --gui-seconds > 0")
    def progress(s):
        return (print(s, file=sys.stderr, flush=True))
    r = run_benchmarks(only, args.repeats, args.gui_seconds, args.skip_train, progress)
    print(json.dumps(r, indent=1) if args.json else format_table(r))
    return 0


def register_cli():
    return [(add_parser, run, "bench")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m recognizers.bench.engine", description=__doc__.splitlines()[0])
    _add_options(p)
    args = p.parse_args(argv)
    from recognizers.errors import VaultError
    try:
        return run(args)
    except VaultError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

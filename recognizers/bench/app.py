"""``lstm-vault bench`` keys that measure the app a user runs, not the engine (issue 16).

It launches the real ``lstm-vault`` app on a private Xvfb screen (1280x800) with a private PulseAudio server
and a virtual microphone (the recipe of ``../shared/IO.md``), plays espeak-ng digits into the microphone, and
reads the app process's own CPU time from ``/proc`` (so other work on the machine does not add to it):

- ``app_cpu_idle``: % of one core while the app listens to silence (20 s);
- ``app_cpu_speech``: while spoken digits play into the microphone (15 s);
- ``app_cpu_gesture``: gesture mode playing a 30 fps 640x480 video (a real hand video from
  ``../shared/data/hands`` when present, else an ffmpeg test pattern) (15 s);
- ``app_dropped_blocks_while_training``: audio blocks the app dropped over 60 s of speech while a training run
  (on ``../shared/data/fsdd``, started in the app's Train tab, one thread) goes on in the app.

The app prints its counters once a second (``LSTM_VAULT_REPORT_COUNTERS``, ``desktop_app.bench_probe``).
Needs the Debian packages ``xvfb pulseaudio pulseaudio-utils sox espeak-ng ffmpeg``; a key whose tools are
missing is left out with a note. Numbers, not assertions: the targets are in ``engine.TARGETS``.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
DIGITS = "three. seven. one. nine. five. two. eight. four. six. zero."
TOOLS = ("Xvfb", "pulseaudio", "pactl", "pacat", "paplay", "sox", "espeak-ng")
SETTLE_S = 8.0
IDLE_S = 20.0
SPEECH_S = 15.0
GESTURE_S = 15.0
TRAIN_SPEECH_S = 60.0


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def _quiet(cmd: list[str], env: dict, **kw) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def stop_process(p: subprocess.Popen | None) -> None:
    """Terminate ``p`` (if it still runs), waiting up to 10 s before killing it."""
    if p is None or p.poll() is not None:
        return
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


class Desk:
    """A private X screen and audio server (with virtual microphone ``vmic``) for one app launch at a time."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        (tmp / "run").mkdir(mode=0o700)
        (tmp / "home").mkdir()
        self.env = dict(os.environ)
        self.env.pop("QT_QPA_PLATFORM", None)
        self.env.update(XDG_RUNTIME_DIR=str(tmp / "run"), PULSE_SERVER=f"unix:{tmp}/run/pulse/native",
                        HOME=str(tmp / "home"), XDG_CONFIG_HOME=str(tmp / "home" / ".config"))
        self.procs: list[subprocess.Popen] = []

    def start(self) -> None:
        self.procs.append(_quiet([
            "pulseaudio", "--daemonize=no", "-n", "--exit-idle-time=-1", "--disallow-exit",
            f"--log-target=file:{self.tmp}/pulse.log", "--load=module-native-protocol-unix",
            "--load=module-null-sink sink_name=vsink rate=48000 sink_properties=device.description=VirtualSink",
            "--load=module-remap-source source_name=vmic master=vsink.monitor "
            "source_properties=device.description=VirtualMic", "--load=module-always-sink"], self.env))
        for _ in range(200):
            if subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        subprocess.run(["pactl", "set-default-sink", "vsink"], env=self.env, capture_output=True)
        subprocess.run(["pactl", "set-default-source", "vmic"], env=self.env, capture_output=True)
        # an idle null sink runs at 2 s latency: keep it busy (IO.md)
        self.procs.append(_quiet(["pacat", "-p", "-d", "vsink", "--latency-msec=20", "--raw", "--format=s16le",
                                  "--rate=48000", "--channels=1", "/dev/zero"], self.env))
        self.display = f":{80 + random.randrange(40)}"
        self.procs.append(_quiet(["Xvfb", self.display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                                 self.env))
        self.env["DISPLAY"] = self.display
        time.sleep(0.7)

    def stop(self) -> None:
        for p in reversed(self.procs):
            stop_process(p)
        self.procs = []

    def speech_wav(self) -> Path:
        out = self.tmp / "digits48k.wav"
        if not out.exists():
            raw = self.tmp / "digits.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", DIGITS, "-w", str(raw)], check=True,
                           capture_output=True)
            subprocess.run(["sox", "-q", str(raw), "-r", "48000", "-c", "1", str(out)], check=True)
        return out

    def play_speech(self, seconds: float) -> threading.Thread:
        """Play the digits into the microphone, again and again, for about ``seconds`` (in a thread)."""
        wav = self.speech_wav()
        end = time.monotonic() + seconds

        def loop():
            while time.monotonic() < end:
                subprocess.run(["paplay", "-d", "vsink", str(wav)], env=self.env, capture_output=True)
        t = threading.Thread(target=loop, daemon=True)
        t.start()
        return t


class App:
    """The real app (``lstm-vault`` of this venv) on the Desk, its counters read from its stdout."""

    def __init__(self, desk: Desk, args: list[str], train_data: str = ""):
        script = Path(sys.executable).with_name("lstm-vault")
        cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "desktop_app"]
        env = dict(desk.env, LSTM_VAULT_REPORT_COUNTERS="1", LSTM_VAULT_BENCH_TRAIN=train_data,
                   PYTHONPATH=str(REPO) + os.pathsep + desk.env.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(cmd + args, env=env, cwd=str(REPO), stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.last: dict = {}
        self.lines: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.startswith("{"):
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                self.lines.append(d)
                if d.get("counters"):
                    self.last = d

    def wait_counters(self, timeout_s: float = 60.0) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and self.proc.poll() is None:
            if self.last:
                return True
            time.sleep(0.2)
        return bool(self.last)

    def cpu_s(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def cpu_percent(self, seconds: float) -> float:
        a, t = self.cpu_s(), time.monotonic()
        time.sleep(seconds)
        return 100.0 * (self.cpu_s() - a) / (time.monotonic() - t)

    def close(self) -> None:
        stop_process(self.proc)


def _gesture_video(tmp: Path) -> tuple[Path, str]:
    out = tmp / "hands640.mp4"
    real = sorted(SHARED.glob("hands/*hand_landmarker*.mp4")) or sorted(SHARED.glob("hands/*.mp4"))
    if real:
        cmd = ["ffmpeg", "-v", "error", "-stream_loop", "20", "-i", str(real[0]), "-t", "40", "-an",
               "-vf", "scale=640:480,fps=30", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-y", str(out)]
        what = f"{real[0].name} (real hands) scaled to 640x480 at 30 fps"
    else:
        cmd = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x480:rate=30", "-t", "40",
               "-c:v", "libx264", "-pix_fmt", "yuv420p", "-y", str(out)]
        what = "an ffmpeg test pattern (no hands), 640x480 at 30 fps"
    subprocess.run(cmd, check=True, capture_output=True)
    return out, what


def bench_app(b) -> None:
    """Fills ``b.results`` with the app_* keys (``b`` is an ``engine.Bench``)."""
    missing = missing_tools()
    if missing:
        b.note(f"app: skipped, missing {' '.join(missing)} (Debian: xvfb pulseaudio pulseaudio-utils sox "
               f"espeak-ng)")
        return
    with tempfile.TemporaryDirectory(prefix="lstm-vault-bench-app-") as tmpdir:
        tmp = Path(tmpdir)
        desk = Desk(tmp)
        try:
            desk.start()
            _speech_runs(b, desk)
            _gesture_run(b, desk, tmp)
            _training_run(b, desk)
        finally:
            desk.stop()


def _speech_runs(b, desk: Desk) -> None:
    app = App(desk, ["--mode", "speech"])
    try:
        if not app.wait_counters():
            b.note("app: the app never reported its counters (speech)")
            return
        time.sleep(SETTLE_S)
        b.results["app_window"] = f"{app.last.get('width')}x{app.last.get('height')} on a 1280x800 screen"
        b.results["app_cpu_idle"] = round(app.cpu_percent(IDLE_S), 1)
        before = app.last.get("dropped_audio_blocks", 0)
        desk.play_speech(SPEECH_S)
        b.results["app_cpu_speech"] = round(app.cpu_percent(SPEECH_S), 1)
        time.sleep(1.5)
        b.results["app_dropped_blocks_speech"] = app.last.get("dropped_audio_blocks", 0) - before
        b.note(f"app_cpu_idle / app_cpu_speech: the app process's own CPU time (all threads, share of one core) "
               f"over {IDLE_S:.0f} s of silence and {SPEECH_S:.0f} s of espeak-ng digits played into a virtual "
               f"microphone, after {SETTLE_S:.0f} s settling; window {b.results['app_window']}")
    finally:
        app.close()


def _gesture_run(b, desk: Desk, tmp: Path) -> None:
    if shutil.which("ffmpeg") is None:
        b.note("app_cpu_gesture: skipped, ffmpeg is missing")
        return
    video, what = _gesture_video(tmp)
    app = App(desk, ["--mode", "gesture", "--file", str(video)])
    try:
        if not app.wait_counters():
            b.note("app: the app never reported its counters (gesture)")
            return
        time.sleep(5.0)
        frames0 = app.last.get("frames_run", 0)
        dropped0 = app.last.get("dropped_video_frames", 0)
        b.results["app_cpu_gesture"] = round(app.cpu_percent(GESTURE_S), 1)
        time.sleep(1.2)
        frames = app.last.get("frames_run", 0) - frames0
        dropped = app.last.get("dropped_video_frames", 0) - dropped0
        b.results["app_gesture_dropped_frames_share"] = round(dropped / max(1, dropped + frames), 3)
        b.note(f"app_cpu_gesture: gesture mode playing {what}, {GESTURE_S:.0f} s; {frames} frames ran, "
               f"{dropped} dropped")
    finally:
        app.close()


def _training_run(b, desk: Desk) -> None:
    data = SHARED / "fsdd" / "recordings"
    if not data.is_dir():
        b.note(f"app_dropped_blocks_while_training: skipped, {data} is absent")
        return
    app = App(desk, ["--mode", "speech"], train_data=str(data))
    try:
        if not app.wait_counters():
            b.note("app: the app never reported its counters (training)")
            return
        end = time.monotonic() + 90.0
        while time.monotonic() < end and not app.last.get("training"):
            time.sleep(0.5)
        if not app.last.get("training"):
            b.note(f"app_dropped_blocks_while_training: training did not start in the app ({app.lines[:2]})")
            return
        time.sleep(5.0)                      # loading the dataset, first batches
        before = app.last.get("dropped_audio_blocks", 0)
        player = desk.play_speech(TRAIN_SPEECH_S)
        cpu = app.cpu_percent(TRAIN_SPEECH_S)
        player.join(timeout=15)
        time.sleep(1.5)
        still = app.last.get("training")
        b.results["app_dropped_blocks_while_training"] = app.last.get("dropped_audio_blocks", 0) - before
        b.note(f"app_dropped_blocks_while_training: {TRAIN_SPEECH_S:.0f} s of espeak-ng digits into the virtual "
               f"microphone while the app's Train tab trains on {data} (one thread); app CPU {cpu:.0f} % of a "
               f"core; training {'still running' if still else 'ended'} at the end")
    finally:
        app.close()

"""A private PulseAudio server with a virtual microphone for tests (recipe: ../shared/IO.md).

``private_pulse_server(tmp_path)`` starts the server in ``tmp_path``, sets the virtual sink/source as the
defaults, keeps the sink busy (low-latency capture), warms the source up once, and yields
``(env, server, pids)``: the environment a client needs, the server's ``Popen`` and a list of helper pids
that are terminated at the end (a test may append the pids of what it started). Skips the test with the
reason when the tools are missing or the server does not start.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

TOOLS = ("pulseaudio", "pactl", "pacat", "parec", "paplay")


def server_argv(tmp_path: Path) -> list[str]:
    return ["pulseaudio", "--daemonize=no", "-n", "--exit-idle-time=-1", "--disallow-exit",
            f"--log-target=file:{tmp_path / 'pulse-server.log'}", "--load=module-native-protocol-unix",
            "--load=module-null-sink sink_name=vsink rate=48000 sink_properties=device.description=VirtualSink",
            "--load=module-remap-source source_name=vmic master=vsink.monitor "
            "source_properties=device.description=VirtualMic",
            "--load=module-always-sink"]


@contextlib.contextmanager
def private_pulse_server(tmp_path: Path, reap: bool = False):
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs PulseAudio tools ({', '.join(missing)} not installed: apt install pulseaudio pulseaudio-utils)")  # noqa: E501
    run, home = tmp_path / "run", tmp_path / "home"
    run.mkdir(mode=0o700)
    home.mkdir()
    env = dict(os.environ, XDG_RUNTIME_DIR=str(run), PULSE_SERVER=f"unix:{run}/pulse/native", HOME=str(home))
    env.pop("DISPLAY", None)
    log = open(tmp_path / "pulse.log", "w")
    server = subprocess.Popen(server_argv(tmp_path), env=env, stdout=log, stderr=log)
    if reap:
        # Reap the server as soon as a test kills it: a killed child left a zombie keeps its pid "alive",
        # and a new server then refuses to start ("pid.c: Daemon already running").
        threading.Thread(target=server.wait, name="reap-pulseaudio", daemon=True).start()
    pids: list[int] = []
    try:
        deadline = time.monotonic() + 15
        while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"PulseAudio did not start here: {(tmp_path / 'pulse-server.log').read_text()[-400:]}")
            time.sleep(0.05)
        subprocess.run(["pactl", "set-default-sink", "vsink"], env=env, check=True)
        subprocess.run(["pactl", "set-default-source", "vmic"], env=env, check=True)
        # keep the null sink busy so capture runs at low latency, then warm the source up once
        pids.append(subprocess.Popen(["pacat", "-p", "-d", "vsink", "--latency-msec=20", "--raw", "--format=s16le",
                                      "--rate=48000", "--channels=1", "/dev/zero"],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid)
        rec = subprocess.Popen(["parec", "-d", "vmic", "--raw", "--rate=16000", "--channels=1", "--format=s16le",
                                "--latency-msec=20"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        rec.stdout.read(320)
        rec.kill()
        rec.wait()
        yield env, server, pids
    finally:
        for pid in pids:        # helpers, and what the test started (by pid, never by name)
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()

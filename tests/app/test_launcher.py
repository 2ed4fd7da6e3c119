"""``lstm-vault`` (desktop_app.launcher): app options go to the app, engine commands to recognizers.cli."""
import subprocess
import sys

import pytest

from desktop_app.launcher import main, wants_gui


def test_app_options_reach_the_desktop_app(capsys):
    """``lstm-vault gui --help`` and ``lstm-vault --mode …`` go to the app's own option parser."""
    with pytest.raises(SystemExit) as e:
        main(["gui", "--help"])
    assert e.value.code == 0 and "--mode" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main(["--mode", "nonsense"])
    assert e.value.code == 2 and "--mode" in capsys.readouterr().err


def test_engine_commands_go_to_the_cli(capsys):
    assert not wants_gui(["predict", "--help"]) and not wants_gui(["--help"])
    assert wants_gui([]) and wants_gui(["gui"]) and wants_gui(["--file", "x.wav"])
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0 and "transcribe" in capsys.readouterr().out


def test_engine_cli_never_loads_the_app_or_qt():
    """``python -m recognizers …`` runs without importing desktop_app, PySide6 or pyqtgraph."""
    code = ("import sys; from recognizers.cli import main; rc = main(['gui']); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('desktop_app', 'PySide6', 'pyqtgraph')]; "
            "print(rc, bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "2 []", out.stdout + out.stderr
    assert "lstm-vault gui" in out.stderr

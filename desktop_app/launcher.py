"""``lstm-vault``: with no arguments, ``gui`` or app options (``--mode``, ``--file``, ...) it opens the app;
any other first word is an engine command (``recognizers.cli``).

The launcher lives in the app's package because the engine never imports the app. It imports neither Qt
nor torch itself, so ``lstm-vault predict ...`` starts as fast as ``python -m recognizers predict ...``.
"""
from __future__ import annotations

import sys

__all__ = ["main", "wants_gui"]


def wants_gui(argv: list[str]) -> bool:
    """True when ``argv`` (without the program name) asks for the desktop app."""
    return not argv or argv[0] == "gui" or (argv[0].startswith("-") and argv[0] not in ("-h", "--help"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not wants_gui(argv):
        from recognizers.cli import main as cli_main
        return cli_main(argv)
    app_argv = argv[1:] if argv and argv[0] == "gui" else argv
    try:
        from desktop_app.main import main as gui_main
    except ImportError as exc:
        print(f"lstm-vault: the desktop app cannot start ({exc}); engine commands still work: "
              f"'lstm-vault --help'", file=sys.stderr)
        return 2
    return gui_main(app_argv)


if __name__ == "__main__":
    sys.exit(main())

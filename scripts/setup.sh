#!/usr/bin/env bash
# Install everything LSTM Vault needs into ./.venv (idempotent, quiet).
#   bash scripts/setup.sh app    # the app and its engine
#   bash scripts/setup.sh test   # the same plus the test tools and the system packages the tests use
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-app}"
log=".setup.log"
: > "$log"

# System libraries: Qt's multimedia needs libpulse; libportaudio2 + libasound2-plugins (ALSA's "pulse" device)
# let sounddevice reopen a microphone after an audio server restart (Qt cannot); tests also use a private PulseAudio server,
# espeak-ng/sox for generated speech, ffmpeg for video fixtures, Xvfb for real-window screenshots.
pkgs=(libpulse0 libpulse-mainloop-glib0 libportaudio2 libasound2-plugins libegl1 libgl1 libglib2.0-0 libfontconfig1 libdbus-1-3
      libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
      libxcb-shape0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1 fonts-dejavu-core)
if [ "$what" = "test" ]; then
  pkgs+=(pulseaudio pulseaudio-utils espeak-ng sox ffmpeg xvfb)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing system packages: ${missing[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >>"$log" 2>&1 \
      || { echo "apt-get failed; see $log"; exit 1; }
  else
    echo "warning: missing system packages (install them with your package manager): ${missing[*]}" >&2
  fi
fi

py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv"
  "$py" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >>"$log" 2>&1 || true
fi
extra=""
[ "$what" = "test" ] && extra="[test]"
echo "installing lstm-vault$extra and its dependencies into .venv (first time: a few minutes)"
.venv/bin/python -m pip install -q -e ".$extra" >>"$log" 2>&1 || { tail -20 "$log"; echo "pip install failed; see $log"; exit 1; }
echo "ready: .venv/bin/lstm-vault"

#!/usr/bin/env bash
# Set up edgecam on a fresh Debian/Ubuntu/JetPack machine: system packages with apt when run
# as root, then the Python environment in .venv. Safe to run again: it skips what is done.
#   scripts/setup.sh            runtime (numpy, OpenCV, LiteRT, pydantic, GStreamer + PyGObject)
#   scripts/setup.sh train,dev  plus TensorFlow + converters (train) and pytest/ruff/mypy (dev)
# PyGObject (the gst extra) is always tried, but it is compiled here against the system's GLib:
# if it cannot be built, setup says so in one line and goes on, and edgecam captures files and
# V4L2 cameras with OpenCV instead.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-}"
python="${PYTHON:-python3}"
# venv/pip for the interpreter, and the shared libraries the opencv-python wheel links to.
apt_packages="python3-venv python3-pip libgl1 libglib2.0-0"
# Cameras are read through GStreamer (JetPack ships it with NVIDIA's plugins; apt adds only what
# is missing): the runtime and plugins for V4L2, files, RTSP and H.264/JPEG, their
# introspection data, and what PyGObject needs to compile in the venv.
apt_packages="$apt_packages gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
    gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gir1.2-gstreamer-1.0
    gir1.2-gst-plugins-base-1.0 libgirepository1.0-dev libcairo2-dev pkg-config python3-dev gcc
    libc6-dev"
# The tests open a real overlay window on a virtual X server, under a window manager (the
# OpenCV wheel's Qt may never paint a window that no window manager maps), and the live web
# page in Debian's headless Chromium, driven through its chromedriver by Selenium.
case ",$extras," in
    # The GStreamer tests serve RTSP on loopback with gst-rtsp-server; the MQTT tests run a
    # mosquitto broker on loopback (the daemon itself talks to the user's broker).
    *,dev,*) apt_packages="$apt_packages xvfb xauth openbox gir1.2-gst-rtsp-server-1.0
        mosquitto chromium chromium-driver" ;;
esac

say() { printf 'setup: %s\n' "$*" >&2; }

if command -v apt-get >/dev/null 2>&1; then
    missing=""
    for pkg in $apt_packages; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing="$missing $pkg"
    done
    if [ -n "$missing" ]; then
        if [ "$(id -u)" = 0 ]; then
            say "installing system packages:$missing"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq
            apt-get install -y -qq --no-install-recommends $missing >/dev/null
        else
            say "missing system packages:$missing — run: sudo apt-get install$missing"
        fi
    fi
fi

if ! command -v "$python" >/dev/null 2>&1; then
    say "no $python found: install Python 3.10 or newer (sudo apt-get install python3-venv)"
    exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    say "$("$python" --version 2>&1) is too old: edgecam needs Python 3.10 or newer"
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $("$python" --version 2>&1)"
    "$python" -m venv .venv
fi

spec="."
[ -n "$extras" ] && spec=".[$extras]"
stamp=".venv/.edgecam-installed"
want="$(cat pyproject.toml | sha256sum | cut -c1-16) $extras"
if [ ! -f "$stamp" ] || ! grep -qxF -- "$want" "$stamp"; then
    say "installing edgecam${extras:+ with $extras} into .venv"
    log=.venv/pip-install.log
    if ! { .venv/bin/python -m pip install --upgrade pip \
            && .venv/bin/python -m pip install -e "$spec"; } >"$log" 2>&1; then
        tail -n 25 "$log" >&2
        say "pip install failed: the full log is $log"
        exit 1
    fi
    echo "$want" >>"$stamp"
fi

# PyGObject for GStreamer capture: tried again only when pyproject.toml or the system's
# introspection library changes, so a box that cannot build it does not retry on every start
# (and one that has it gets the version pyproject.toml now asks for).
gst_stamp=".venv/.edgecam-gst-tried"
gst_want="$(sha256sum <pyproject.toml | cut -c1-16) \
$({ pkg-config --modversion gobject-introspection-1.0 cairo 2>/dev/null || true; } | tr '\n' ' ')"
if [ ! -f "$gst_stamp" ] || ! grep -qxF -- "$gst_want" "$gst_stamp"; then
    say "building PyGObject (GStreamer capture) into .venv"
    log=.venv/pip-gst.log
    if ! .venv/bin/python -m pip install -e ".[gst]" >"$log" 2>&1 \
        && ! .venv/bin/python -c 'import gi' >/dev/null 2>&1; then
        say "PyGObject did not build (log: $log): edgecam will read files and V4L2 cameras" \
            "with OpenCV; for csi://, rtsp:// and test:// run scripts/setup.sh as root"
    fi
    echo "$gst_want" >"$gst_stamp"
fi

# The package's bytecode, compiled ahead: an editable install leaves it to the first import,
# which cannot write it where PYTHONDONTWRITEBYTECODE is set or the tree is read-only (a
# hardened service), and then every start compiles the package again (~40 ms). Up-to-date
# files are skipped, so this costs nothing on a second run.
.venv/bin/python -m compileall -q edgecam >/dev/null || true  # only an optimisation

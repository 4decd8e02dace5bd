"""A real RTSP server for the tests: gst-rtsp-server serving a live H.264 test pattern.

Run as ``python tests/rtsp_server.py PORT [FPS]``; serves ``rtsp://127.0.0.1:PORT/cam`` on
loopback only, prints ``ready`` once it listens, and runs until killed (the tests kill it to
play a camera that loses power, and start it again on the same port).
"""

from __future__ import annotations

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main(argv: list[str]) -> int:
    port = int(argv[0])
    fps = int(argv[1]) if len(argv) > 1 else 30
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    # A keyframe every half second, so a client that (re)joins decodes within that.
    factory.set_launch(
        f"( videotestsrc is-live=true pattern=ball ! "
        f"video/x-raw,width=320,height=240,framerate={fps}/1 ! "
        f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={max(1, fps // 2)} "
        "bitrate=500 ! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{port}", file=sys.stderr, flush=True)
        return 1
    print("ready", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

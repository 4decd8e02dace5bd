"""``edgecam doctor``: what this machine offers edgecam, for a user checking a new board.

It reports GStreamer (or why it cannot be loaded), the capture and decode elements that
decide which pipelines run (NVIDIA's only on a Jetson), the cameras found, the inference
backends and jtop. Backends are looked up, not imported: importing TensorFlow to say that it
is there would take seconds and a gigabyte.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from pathlib import Path
from typing import Any

from edgecam.sources.devices import list_cameras

# Python module → the distribution that ships it (for its version).
_MODULES = {
    "litert": ("ai_edge_litert", "ai-edge-litert"),
    "keras": ("tensorflow", "tensorflow"),
    "tensorrt": ("tensorrt", "tensorrt"),
}


def _module(module: str, dist: str) -> dict[str, Any]:
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    version = None
    if found:
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = None
    return {"installed": found, "version": version}


def gather(sysfs_root: Path = Path("/sys")) -> dict[str, Any]:
    """Everything the report shows, as one JSON-able object."""
    import cv2

    from edgecam.sources import gst, gstlib

    reason = gstlib.unavailable()
    elements = gst.available_elements()
    pygobject = _module("gi", "pygobject")
    return {
        "gstreamer": {
            "available": reason is None,
            "version": gst.version() if reason is None else None,
            "pygobject": pygobject["version"],
            **({"reason": reason} if reason is not None else {}),
        },
        "elements": {name: name in elements for name in gst.ELEMENTS},
        "cameras": [
            {"uri": c.uri, "name": c.name, "device": c.device}
            for c in list_cameras(sysfs_root, csi="nvarguscamerasrc" in elements)
        ],
        "backends": {name: _module(*spec) for name, spec in _MODULES.items()},
        "jtop": _module("jtop", "jetson-stats"),
        "opencv": {
            "version": cv2.__version__,
            "gstreamer": re.search(r"GStreamer:\s+YES", cv2.getBuildInformation()) is not None,
        },
    }


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def format_report(report: dict[str, Any]) -> str:
    """The report as lines a person reads: one topic a line, and the fix where one is due."""
    g = report["gstreamer"]
    if g["available"]:
        lines = [f"GStreamer: {g['version']} (PyGObject {g['pygobject']})"]
    else:
        lines = [
            f"GStreamer: unavailable ({g['reason']}): run scripts/setup.sh as root; until then "
            "files and V4L2 cameras are read with OpenCV"
        ]
    elements = report["elements"]
    lines.append("elements: " + ", ".join(f"{name} {_yes(ok)}" for name, ok in elements.items()))
    if elements.get("nvarguscamerasrc") and elements.get("nvv4l2decoder"):
        lines.append("jetson: NVIDIA camera and decoder plugins found (csi:// and hardware decode)")
    cameras = report["cameras"]
    if cameras:
        lines.extend(f"camera: {c['uri']}  {c['name']}" for c in cameras)
    else:
        lines.append("camera: none found (no /sys/class/video4linux devices)")
    backends = report["backends"]
    lines.append(
        "backends: "
        + ", ".join(
            f"{name} {b['version'] or 'yes'}" if b["installed"] else f"{name} no"
            for name, b in backends.items()
        )
    )
    jtop = report["jtop"]
    lines.append(
        f"jtop: {jtop['version'] or 'yes'}" if jtop["installed"] else "jtop: no (Jetson only)"
    )
    cv = report["opencv"]
    lines.append(f"opencv: {cv['version']} (GStreamer in OpenCV: {_yes(cv['gstreamer'])})")
    return "\n".join(lines)

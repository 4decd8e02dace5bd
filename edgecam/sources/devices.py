"""The cameras on this machine, from sysfs: V4L2 devices, and a Jetson's CSI sensors.

A Jetson's CSI sensors are V4L2 nodes too (named ``vi-output, <sensor> <bus>``), but Argus
(``nvarguscamerasrc``) is the way to read them, by their order among those nodes. The sysfs
root is a parameter so tests build a fake tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Camera:
    uri: str  # what to pass to --source
    name: str  # the driver's name for it
    device: str  # its /dev node


def _number(path: Path) -> int:
    match = re.search(r"(\d+)$", path.name)
    return int(match.group(1)) if match else -1


def list_cameras(
    sysfs_root: Path = Path("/sys"), *, dev_root: Path = Path("/dev"), csi: bool = False
) -> list[Camera]:
    """Capture nodes in number order; ``csi`` (nvarguscamerasrc exists) lists the Jetson's
    sensors as ``csi://N``. A UVC camera's second node (index 1: metadata) is left out."""
    cameras: list[Camera] = []
    sensors = 0
    base = sysfs_root / "class" / "video4linux"
    entries = sorted(base.glob("video*"), key=_number) if base.is_dir() else []
    for entry in entries:
        name = _read(entry / "name") or entry.name
        if _read(entry / "index") not in ("", "0"):
            continue
        device = str(dev_root / entry.name)
        if csi and name.startswith("vi-output"):
            cameras.append(Camera(f"csi://{sensors}", name, device))
            sensors += 1
        else:
            cameras.append(Camera(f"v4l2://{device}", name, device))
    return cameras


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""

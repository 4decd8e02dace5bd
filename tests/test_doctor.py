"""`edgecam sources` and `edgecam doctor`: cameras from a fake sysfs tree, the report's lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgecam.doctor import format_report, gather
from edgecam.sources import gstlib
from edgecam.sources.devices import Camera, list_cameras

EDGECAM = str(Path(sys.executable).parent / "edgecam")


def fake_sysfs(root: Path, nodes: dict[str, tuple[str, str]]) -> Path:
    """/sys/class/video4linux/<node>/{name,index}, as the kernel lays them out."""
    for node, (name, index) in nodes.items():
        entry = root / "class" / "video4linux" / node
        entry.mkdir(parents=True)
        (entry / "name").write_text(name + "\n")
        (entry / "index").write_text(index + "\n")
    return root


@pytest.fixture
def jetson_sysfs(tmp_path: Path) -> Path:
    # a Jetson with two CSI sensors and a UVC webcam (whose second node carries metadata)
    return fake_sysfs(
        tmp_path,
        {
            "video0": ("vi-output, imx219 9-0010", "0"),
            "video1": ("vi-output, imx219 10-0010", "0"),
            "video10": ("HD Pro Webcam C920: HD Pro Webcam C920", "1"),
            "video2": ("HD Pro Webcam C920: HD Pro Webcam C920", "0"),
        },
    )


def test_cameras_are_listed_as_source_uris_in_node_order(jetson_sysfs: Path) -> None:
    assert list_cameras(jetson_sysfs) == [
        Camera("v4l2:///dev/video0", "vi-output, imx219 9-0010", "/dev/video0"),
        Camera("v4l2:///dev/video1", "vi-output, imx219 10-0010", "/dev/video1"),
        Camera("v4l2:///dev/video2", "HD Pro Webcam C920: HD Pro Webcam C920", "/dev/video2"),
    ]


def test_with_argus_the_csi_sensors_are_csi_uris(jetson_sysfs: Path) -> None:
    uris = [c.uri for c in list_cameras(jetson_sysfs, csi=True)]
    assert uris == ["csi://0", "csi://1", "v4l2:///dev/video2"]


def test_no_video4linux_means_no_cameras(tmp_path: Path) -> None:
    assert list_cameras(tmp_path) == []


def test_the_report_names_what_is_there_and_the_cameras(jetson_sysfs: Path) -> None:
    report = gather(jetson_sysfs)
    assert report["gstreamer"]["available"] is (gstlib.unavailable() is None)
    assert set(report["elements"]) >= {"nvarguscamerasrc", "v4l2src", "appsink", "rtspsrc"}
    assert len(report["cameras"]) == 3
    assert set(report["backends"]) == {"litert", "keras", "tensorrt"}
    assert report["backends"]["litert"]["installed"]
    text = format_report(report)
    assert "camera: v4l2:///dev/video2  HD Pro Webcam C920" in text
    assert "tensorrt no" in text and "jtop:" in text
    if report["gstreamer"]["available"]:
        assert text.startswith("GStreamer: 1.") and "appsink yes" in text


def test_without_gstreamer_the_report_says_why_and_the_fix() -> None:
    report = gather(Path("/nonexistent"))
    report["gstreamer"] = {"available": False, "version": None, "pygobject": None}
    report["gstreamer"]["reason"] = "No module named 'gi'"
    first = format_report(report).splitlines()[0]
    assert "No module named 'gi'" in first and "setup.sh" in first and "OpenCV" in first


def test_doctor_never_imports_tensorflow() -> None:
    code = (
        "import sys; from edgecam.doctor import gather; gather(); "
        "assert 'tensorflow' not in sys.modules, 'imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_the_commands_print_their_reports() -> None:
    done = subprocess.run(
        [EDGECAM, "doctor", "--json"], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "elements" in json.loads(done.stdout)
    done = subprocess.run(
        [EDGECAM, "sources"], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr

"""The recorded test videos: the mp4 and its truth agree frame for frame, and the camera moves.

A short clip (40 frames at 10 fps, so four seconds of panning) is rendered once per module;
the bundled demo recording is checked as committed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from tests.conftest import ROOT, load_script

DEMO = ROOT / "edgecam" / "data" / "demo.mp4"
FRAMES = 40
SEED = 11


def read_video(path: Path) -> list[npt.NDArray[np.uint8]]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(np.asarray(frame, np.uint8))
    cap.release()
    return frames


@pytest.fixture(scope="module")
def clip(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[npt.NDArray[np.uint8]], dict[str, Any]]:
    make_replay = load_script("make_replay")
    out = tmp_path_factory.mktemp("replay") / "clip.mp4"
    argv = ["--out", str(out), "--frames", str(FRAMES), "--fps", "10", "--seed", str(SEED)]
    assert make_replay.main([*argv, "--pan", "--hand"]) == 0
    truth = json.loads(out.with_suffix(".json").read_text())
    return read_video(out), truth


@pytest.mark.slow
def test_every_frame_written_has_its_truth(
    clip: tuple[list[npt.NDArray[np.uint8]], dict[str, Any]],
) -> None:
    frames, truth = clip
    assert len(frames) == len(truth["frames"]) == FRAMES
    assert [f["frame"] for f in truth["frames"]] == list(range(FRAMES))
    assert (truth["width"], truth["height"], truth["fps"], truth["seed"]) == (640, 480, 10, SEED)
    assert frames[0].shape == (480, 640, 3)
    assert truth["conditions"]["pan"] and truth["conditions"]["hand"]


@pytest.mark.slow
def test_truth_boxes_are_whole_digits_inside_the_frame(
    clip: tuple[list[npt.NDArray[np.uint8]], dict[str, Any]],
) -> None:
    _, truth = clip
    boxes = 0
    for f in truth["frames"]:
        ids = [d["id"] for d in f["digits"]]
        assert len(ids) == len(set(ids))
        for d in f["digits"]:
            x, y, w, h = d["box"]
            assert 0 <= d["label"] <= 9
            assert x >= 2 and y >= 2 and x + w <= 640 - 2 and y + h <= 480 - 2
            assert w >= 2 and 15 <= h <= 120
            boxes += 1
    assert boxes > 0


@pytest.mark.slow
def test_the_camera_moves_and_digits_come_and_go(
    clip: tuple[list[npt.NDArray[np.uint8]], dict[str, Any]],
) -> None:
    # Given a panning clip, then consecutive frames differ, the same digit is seen at
    # different places, and the set of digits in view changes.
    frames, truth = clip
    diff = np.abs(frames[0].astype(np.int16) - frames[-1].astype(np.int16)).mean()
    assert diff > 5
    where: dict[int, list[tuple[int, int]]] = {}
    for f in truth["frames"]:
        for d in f["digits"]:
            where.setdefault(d["id"], []).append((d["box"][0], d["box"][1]))
    moved = max(float(np.ptp(np.array(p), axis=0).max()) for p in where.values())
    assert moved > 30
    in_view = {tuple(sorted(d["id"] for d in f["digits"])) for f in truth["frames"]}
    assert len(in_view) > 1


def test_the_demo_recording_matches_its_truth() -> None:
    truth = json.loads(DEMO.with_suffix(".json").read_text())
    frames = read_video(DEMO)
    assert len(frames) == len(truth["frames"]) == 150
    assert frames[0].shape == (truth["height"], truth["width"], 3) == (480, 640, 3)
    assert truth["fps"] == 15 and not truth["conditions"]["hand"]
    counts = [len(f["digits"]) for f in truth["frames"]]
    assert min(counts) >= 10 and max(counts) <= 12
    assert DEMO.stat().st_size < 3_000_000

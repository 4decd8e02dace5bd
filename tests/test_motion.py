"""The motion gate: camera shift measured, a steady view carried, a change read at once."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgecam.sources.synthetic import SyntheticSource
from edgecam.vision.motion import MotionGate, MotionParams


def sheet_frames() -> SyntheticSource:
    return SyntheticSource(("31415", "92653"), drift=10.0, noise=3.0)


def keyed_on_first_frame() -> tuple[SyntheticSource, MotionGate]:
    """The sheet source after its first frame, and a gate (no interval) keyed on that frame."""
    source = sheet_frames()
    gate = MotionGate(MotionParams(keyframe_interval=1000))
    first = source.read()
    assert first is not None
    _, small = gate.check(first.image)
    gate.keyframe(small)
    return source, gate


def test_the_first_frame_is_always_read() -> None:
    gate = MotionGate()
    motion, _ = gate.check(sheet_frames().read().image)  # type: ignore[union-attr]
    assert motion.keyframe and motion.reason == "first"


def test_a_drifting_steady_sheet_is_carried_and_its_shift_measured() -> None:
    source, gate = keyed_on_first_frame()
    x0, y0 = source.offset(0)
    for _ in range(20):
        frame = source.read()
        assert frame is not None
        motion, _ = gate.check(frame.image)
        assert not motion.keyframe, motion
        x, y = source.offset(frame.seq)
        assert motion.dx == pytest.approx(x - x0, abs=1.5)
        assert motion.dy == pytest.approx(y - y0, abs=1.5)


def test_the_interval_forces_a_read_of_a_steady_view() -> None:
    source = sheet_frames()
    gate = MotionGate(MotionParams(keyframe_interval=5))
    reads = []
    for _ in range(16):
        frame = source.read()
        assert frame is not None
        motion, small = gate.check(frame.image)
        if motion.keyframe:
            gate.keyframe(small)
            reads.append(frame.seq)
    assert reads == [0, 5, 10, 15]


def test_a_new_digit_written_on_the_sheet_is_read_at_once() -> None:
    source, gate = keyed_on_first_frame()
    frame = source.read()
    assert frame is not None
    image = frame.image.copy()
    cv2.putText(image, "8", (300, 460), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (40, 30, 30), 4)
    motion, _ = gate.check(image)
    assert motion.reason == "changed", motion


def test_a_hand_coming_in_is_a_change_and_a_new_view_is_lost() -> None:
    source, gate = keyed_on_first_frame()
    frame = source.read()
    assert frame is not None
    hand = frame.image.copy()
    cv2.ellipse(hand, (640, 300), (220, 120), 0, 0, 360, (120, 150, 200), -1)
    assert gate.check(hand)[0].keyframe
    other = np.random.default_rng(1).integers(0, 255, frame.image.shape, np.uint8)
    assert gate.check(other)[0].reason in {"lost", "changed", "moved"}

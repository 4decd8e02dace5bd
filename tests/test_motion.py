"""The motion gate: camera shift measured, a steady view carried, a change read at once."""

from __future__ import annotations

import threading
from collections.abc import Callable

import cv2
import numpy as np
import pytest

from edgecam.sources.synthetic import SyntheticSource
from edgecam.types import Frame, Yuv
from edgecam.vision.motion import (
    Motion,
    MotionGate,
    MotionParams,
    _area_weights,
    _dft_centre,
    motion_image,
)


def sheet_frames() -> SyntheticSource:
    return SyntheticSource(("31415", "92653"), drift=10.0, noise=3.0)


def keyed_on_first_frame() -> tuple[SyntheticSource, MotionGate]:
    """The sheet source after its first frame, and a gate (no interval) keyed on that frame."""
    source = sheet_frames()
    gate = MotionGate(MotionParams(keyframe_interval=1000))
    first = source.read()
    assert first is not None
    assert gate.check(first.image).reason == "first"
    gate.confirm()
    return source, gate


def test_the_first_frame_is_always_read() -> None:
    gate = MotionGate()
    motion = gate.check(sheet_frames().read().image)  # type: ignore[union-attr]
    assert motion.keyframe and motion.reason == "first"


def test_a_drifting_steady_sheet_is_carried_and_its_shift_measured() -> None:
    source, gate = keyed_on_first_frame()
    x0, y0 = source.offset(0)
    for _ in range(20):
        frame = source.read()
        assert frame is not None
        motion = gate.check(frame.image)
        assert not motion.keyframe, motion
        x, y = source.offset(frame.seq)
        assert motion.dx == pytest.approx(x - x0, abs=1.5)
        assert motion.dy == pytest.approx(y - y0, abs=1.5)


def as_yuv(frame: Frame, fmt: str) -> Frame:
    """The frame as a decoder or camera would give it, never converted to BGR here."""
    code = cv2.COLOR_BGR2YUV_I420 if fmt == "I420" else cv2.COLOR_BGR2YUV_YUY2
    data = cv2.cvtColor(frame.image, code)
    if fmt == "YUY2":
        data = data.reshape(frame.height, frame.width, 2)
    yuv = Yuv(data, fmt, frame.width, frame.height)
    return Frame(None, frame.seq, frame.captured_mono, frame.captured_wall, "cam0", yuv=yuv)


@pytest.mark.parametrize("fmt", ["I420", "YUY2"])
def test_a_yuv_frame_is_gated_on_its_luma_as_on_its_green(fmt: str) -> None:
    """A frame that came as YUV is gated without converting it, its luma stretched to the
    green channel's range: the same picture, the same shifts and decisions."""
    source = sheet_frames()
    bgr_gate, yuv_gate = MotionGate(), MotionGate()
    for _ in range(24):
        frame = source.read()
        assert frame is not None
        yuv_frame = as_yuv(frame, fmt)
        small_bgr, small_yuv = motion_image(frame.image), motion_image(yuv_frame)
        assert np.abs(small_yuv - small_bgr).mean() < 2.0
        by_bgr, by_yuv = bgr_gate.check(frame.image), yuv_gate.check(yuv_frame)
        assert by_yuv.reason == by_bgr.reason and by_yuv.rekey == by_bgr.rekey
        assert by_yuv.dx == pytest.approx(by_bgr.dx, abs=0.5)
        assert by_yuv.dy == pytest.approx(by_bgr.dy, abs=0.5)
        for gate, motion in ((bgr_gate, by_bgr), (yuv_gate, by_yuv)):
            if motion.keyframe:
                gate.confirm()
        assert yuv_frame._image is None  # never converted
    # and converted when asked, it is the picture it came from
    assert cv2.PSNR(yuv_frame.image, frame.image) >= 30


def full_reads(
    gate: MotionGate, frames: int, confirmed: Callable[[Motion, int], bool] | None = None
) -> list[int]:
    """The frames of the drifting sheet the gate reads in full; each read is confirmed as
    ``confirmed(motion, seq)`` says (by default as not having found the same reading)."""
    source = sheet_frames()
    reads = []
    for _ in range(frames):
        frame = source.read()
        assert frame is not None
        motion = gate.check(frame.image)
        if motion.keyframe:
            reads.append(frame.seq)
            gate.confirm(confirmed=confirmed is not None and confirmed(motion, frame.seq))
    return reads


def test_the_interval_forces_a_read_of_a_steady_view() -> None:
    gate = MotionGate(MotionParams(keyframe_interval=5))
    assert full_reads(gate, 16) == [0, 5, 10, 15]


def test_reads_that_confirm_a_steady_view_space_out_the_next_ones() -> None:
    """Each interval read that found the same reading doubles the wait, up to the most; one
    that found something else brings it back."""
    gate = MotionGate(MotionParams(keyframe_interval=4, max_interval=16))
    reads = full_reads(gate, 70, lambda motion, seq: motion.reason == "interval" and seq < 40)
    # 0 first; 4 (+4) confirmed; 12 (+8); 28 (+16); 44 (+16, not confirmed); 48 (+4); ...
    assert reads[:7] == [0, 4, 12, 28, 44, 48, 52], reads


def test_an_interval_decision_waits_for_the_last_read_to_be_confirmed() -> None:
    """The gate may run ahead of the reads on another thread; the one decision that depends
    on a read's outcome waits for it, so replay gives the same results however fast."""
    source = sheet_frames()
    gate = MotionGate(MotionParams(keyframe_interval=2))
    first = source.read()
    assert first is not None
    gate.check(first.image)  # a read, not yet confirmed
    gate.check(source.read().image)  # type: ignore[union-attr]  # too early to ask
    decided = threading.Event()

    def third() -> None:
        gate.check(source.read().image)  # type: ignore[union-attr]
        decided.set()

    worker = threading.Thread(target=third)
    worker.start()
    assert not decided.wait(0.3)
    gate.confirm()
    assert decided.wait(2.0)
    worker.join()


def test_the_gate_says_when_its_next_decision_would_wait_for_a_read() -> None:
    """Replay's capture thread decodes the next frames instead of idling in such a wait."""
    source = sheet_frames()
    gate = MotionGate(MotionParams(keyframe_interval=2))
    assert not gate.pending()  # nothing read yet
    gate.check(source.read().image)  # type: ignore[union-attr]  # the first frame: a read
    assert not gate.pending()  # the next frame is too early for the interval
    gate.check(source.read().image)  # type: ignore[union-attr]
    assert gate.pending()  # the next one is due unless that read finds the same reading
    gate.confirm()
    assert not gate.pending()


def test_a_camera_sliding_over_bare_paper_re_keys_without_reading() -> None:
    """Far from the reference, with nothing but paper in the strip that came into view, the
    reference moves to the frame and nothing is read; a digit coming into view is read."""
    # Paper with a grain and a soft shading for the camera's shift to lock on, "42" in view
    # and a 7 further right (x 800-857).
    grain = np.random.default_rng(3).normal(0, 12, (480, 960)).astype(np.float32)
    grain = cv2.GaussianBlur(grain, (0, 0), 3) + np.linspace(0, 30, 960, dtype=np.float32)
    sheet = np.repeat(np.clip(190 + grain, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
    cv2.putText(sheet, "42", (60, 250), cv2.FONT_HERSHEY_SIMPLEX, 3, (30, 30, 30), 7)
    cv2.putText(sheet, "7", (800, 250), cv2.FONT_HERSHEY_SIMPLEX, 3, (30, 30, 30), 7)
    gate = MotionGate(MotionParams(keyframe_interval=1000))
    assert gate.check(sheet[:, 0:640].copy()).reason == "first"
    gate.confirm()
    seen = []
    for x in range(8, 330, 8):  # the view slides right: new paper enters on the right
        motion = gate.check(sheet[:, x : x + 640].copy())
        seen.append((x, motion.reason, motion.rekey))
        if motion.keyframe:
            gate.confirm()
    rekeys = [x for x, _, rekey in seen if rekey]
    reads = [x for x, reason, _ in seen if reason]
    assert len(rekeys) >= 3 and rekeys[0] + 640 < 800, seen
    assert reads, seen
    assert 800 <= reads[0] + 640 <= 800 + 57, seen  # read once the 7 came into view


def test_a_new_digit_written_on_the_sheet_is_read_at_once() -> None:
    source, gate = keyed_on_first_frame()
    frame = source.read()
    assert frame is not None
    image = frame.image.copy()
    cv2.putText(image, "8", (300, 460), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (40, 30, 30), 4)
    motion = gate.check(image)
    assert motion.reason == "changed", motion


def test_a_hand_coming_in_is_a_change_and_a_new_view_is_lost() -> None:
    source, gate = keyed_on_first_frame()
    frame = source.read()
    assert frame is not None
    hand = frame.image.copy()
    cv2.ellipse(hand, (640, 300), (220, 120), 0, 0, 360, (120, 150, 200), -1)
    assert gate.check(hand).keyframe
    gate.confirm()
    other = np.random.default_rng(1).integers(0, 255, frame.image.shape, np.uint8)
    assert gate.check(other).reason in {"lost", "changed", "moved"}


@pytest.mark.parametrize("side", [12, 39, 40, 60, 90, 120, 160, 180, 270, 320, 480, 1001])
def test_phase_correlation_uses_a_fast_dft_size_of_the_centre(side: int) -> None:
    """Four fifths of a side or a little less, at a length OpenCV's DFT factors fully; a
    side too small to lose anything is used whole."""
    centre = _dft_centre(side)
    if side < 40:
        assert centre == side
    else:
        assert 0.7 * side <= centre <= 0.8 * side
        assert cv2.getOptimalDFTSize(centre) == centre


@pytest.mark.parametrize(
    ("height", "width"), [(118, 158), (117, 155), (120, 160), (66, 89), (9, 9)]
)
def test_block_means_by_area_weights_match_opencvs_area_resize(height: int, width: int) -> None:
    """The change blocks' means, taken as two matrix products, are OpenCV's INTER_AREA
    resize of the change mask (to a grey level: OpenCV rounds its float32 sums), at the
    fractional scales of a crop shifted by a few pixels."""
    rng = np.random.default_rng(height * 1000 + width)
    rows, cols = MotionParams().blocks
    down, across = _area_weights(height, rows), _area_weights(width, cols)
    assert down.shape == (rows, height) and across.shape == (cols, width)
    assert np.allclose(down.sum(axis=1), 1.0) and np.allclose(across.sum(axis=1), 1.0)
    for share in (0.0, 0.02, 0.1, 0.5, 1.0):
        mask = np.where(rng.random((height, width)) < share, 255, 0).astype(np.uint8)
        mask[: height // 3, : width // 4] = 255  # one block well over any threshold
        want = cv2.resize(mask, (cols, rows), interpolation=cv2.INTER_AREA).astype(np.float64)
        got = (down @ mask) @ across.T
        assert np.abs(got - want).max() <= 1.0


def test_a_frame_is_frozen_and_converts_once() -> None:
    """Every stage may hold a frame: none can change it; a YUV frame's BGR is made once."""
    frame = as_yuv(sheet_frames().read(), "I420")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        frame.seq = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del frame.yuv
    assert frame.image is frame.image  # converted on first use, then kept
    with pytest.raises(ValueError):
        Frame(None, 0, 0.0, 0.0, "cam0")

"""Annotators checked pixel by pixel on synthetic images, and the recorder read back from disk."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from edgecam.overlay import (
    PALETTE,
    STATUS_BACKGROUND,
    STATUS_FOREGROUND,
    BoxAnnotator,
    LabelAnnotator,
    Overlay,
    StatusBar,
    text_color,
    text_patch,
    track_color,
    ui_scale,
)
from edgecam.sinks.base import Sink
from edgecam.sinks.recorder import OverlayRecorder, RecorderError
from edgecam.types import Detections, Frame, Result

Image = npt.NDArray[np.uint8]
GREY = 100


def detections(
    boxes: Sequence[Sequence[int]],
    labels: Sequence[int] | None = None,
    tracks: Sequence[int] | None = None,
    confidences: Sequence[float] | None = None,
) -> Detections:
    n = len(boxes)
    return Detections(
        boxes=np.array(boxes, np.int32).reshape(n, 4),
        labels=np.array(labels if labels is not None else [7] * n, np.int64),
        confidences=np.array(confidences if confidences is not None else [0.98] * n, np.float32),
        track_ids=np.array(tracks if tracks is not None else list(range(n)), np.int64),
    )


def result(
    det: Detections | None = None,
    *,
    frame: int = 0,
    wall: float = 1000.0,
    text: str = "",
    camera: str = "cam0",
    latency: float | None = 42.0,
) -> Result:
    return Result(
        camera=camera,
        frame=frame,
        captured_wall=wall,
        width=640,
        height=480,
        detections=det if det is not None else Detections.empty(),
        text=text,
        latency_ms={} if latency is None else {"capture_to_result": latency},
    )


def grey(height: int = 200, width: int = 200) -> Image:
    return np.full((height, width, 3), GREY, np.uint8)


def changed(before: Image, after: Image) -> npt.NDArray[np.bool_]:
    return np.asarray((before != after).any(axis=2))


def edge_mask(shape: tuple[int, int], box: tuple[int, int, int, int], t: int) -> np.ndarray:
    """Where a box outline of thickness ``t`` drawn inside the box's own pixels lies."""
    x, y, w, h = box
    mask = np.zeros(shape, bool)
    mask[y : y + h, x : x + w] = True
    mask[y + t : y + h - t, x + t : x + w - t] = False
    return mask


# --- boxes ---------------------------------------------------------------------------------


def test_box_draws_the_track_colour_exactly_on_its_edges_and_nothing_inside_or_around() -> None:
    scene = grey()
    box = (50, 60, 40, 30)
    BoxAnnotator(thickness=2).annotate(scene, result(detections([box], tracks=[3])))

    on_edge = edge_mask((200, 200), box, 2)
    assert (scene[on_edge] == PALETTE[3]).all()
    assert (scene[~on_edge] == GREY).all()


@pytest.mark.parametrize(
    ("height", "width", "thickness"),
    [(240, 320, 1), (480, 640, 2), (720, 1280, 3), (1080, 1920, 4)],
)
def test_box_thickness_scales_with_the_image(height: int, width: int, thickness: int) -> None:
    scene = grey(height, width)
    box = (100, 100, 80, 80)
    BoxAnnotator().annotate(scene, result(detections([box])))

    assert (
        changed(grey(height, width), scene).sum()
        == edge_mask(scene.shape[:2], box, thickness).sum()
    )
    assert (scene[100 : 100 + thickness, 140] == PALETTE[0]).all()
    assert (scene[100 + thickness, 140] == GREY).all()


def test_a_small_box_is_outlined_not_filled() -> None:
    scene = grey()
    BoxAnnotator(thickness=4).annotate(scene, result(detections([(10, 10, 8, 8)])))

    assert (scene[10:12, 10:18] == PALETTE[0]).all()  # capped at 8 // 4 = 2 px
    assert (scene[12:16, 12:16] == GREY).all()


@pytest.mark.parametrize(
    "box",
    [
        (-15, 40, 40, 30),  # off the left
        (170, 40, 40, 30),  # off the right
        (40, -12, 40, 30),  # off the top
        (40, 185, 40, 30),  # off the bottom
        (-10, -10, 220, 220),  # bigger than the image
        (190, 190, 50, 50),  # corner
        (250, 30, 20, 20),  # wholly outside
        (-60, -60, 20, 20),  # wholly outside, negative
    ],
)
def test_boxes_at_the_edges_draw_only_what_falls_inside(box: tuple[int, int, int, int]) -> None:
    """Drawn on a big canvas with a margin and cropped, the picture must be the same: nothing
    wraps round (numpy's negative indices) and no edge is moved onto the image border."""
    scene = grey()
    BoxAnnotator(thickness=3).annotate(scene, result(detections([box])))

    margin = 100
    canvas = grey(200 + 2 * margin, 200 + 2 * margin)
    shifted = (box[0] + margin, box[1] + margin, box[2], box[3])
    BoxAnnotator(thickness=3).annotate(canvas, result(detections([shifted])))
    assert np.array_equal(scene, canvas[margin:-margin, margin:-margin])


def test_a_digit_keeps_its_colour_by_track_and_untracked_ones_go_by_label() -> None:
    assert track_color(4, 1) == track_color(4, 7) == PALETTE[4]
    assert track_color(-1, 7) == PALETTE[7]
    assert track_color(len(PALETTE) + 2, 0) == PALETTE[2]
    assert len(set(PALETTE)) == len(PALETTE)


def test_two_tracks_get_two_colours() -> None:
    scene = grey()
    BoxAnnotator(thickness=1).annotate(
        scene, result(detections([(10, 10, 30, 30), (100, 10, 30, 30)], tracks=[1, 2]))
    )
    assert tuple(scene[10, 10]) == PALETTE[1]
    assert tuple(scene[10, 100]) == PALETTE[2]


# --- labels --------------------------------------------------------------------------------


def label_patch(text: str, scene: Image, track: int = 0) -> Image:
    color = PALETTE[track]
    scale = ui_scale(scene)
    return text_patch(text, scale, color, text_color(color), max(2, round(6 * scale)))


def test_label_sits_on_the_box_top_edge_with_text_and_confidence() -> None:
    scene = grey(480, 640)
    box = (100, 200, 60, 80)
    LabelAnnotator().annotate(
        scene, result(detections([box], labels=[7], tracks=[1], confidences=[0.981]))
    )

    patch = label_patch("7 0.98", scene, track=1)
    ph, pw = patch.shape[:2]
    assert np.array_equal(scene[200 - ph : 200, 100 : 100 + pw], patch)
    ys, xs = np.nonzero(changed(grey(480, 640), scene))
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (200 - ph, 199, 100, 100 + pw - 1)
    assert tuple(scene[199, 100]) == PALETTE[1]  # the background's corner touches the box
    text = scene[200 - ph : 200, 100 : 100 + pw]
    assert (text == text_color(PALETTE[1])).all(axis=2).any()


def test_label_goes_below_the_box_when_there_is_no_room_above() -> None:
    scene = grey(480, 640)
    box = (100, 5, 60, 80)
    LabelAnnotator().annotate(scene, result(detections([box])))

    patch = label_patch("7 0.98", scene)
    ph, pw = patch.shape[:2]
    assert np.array_equal(scene[85 : 85 + ph, 100 : 100 + pw], patch)
    assert (scene[:85] == GREY).all()


def test_label_goes_inside_the_top_of_a_box_that_fills_the_height() -> None:
    scene = grey(100, 200)
    LabelAnnotator().annotate(scene, result(detections([(20, -5, 50, 120)])))

    patch = label_patch("7 0.98", scene)
    ph, pw = patch.shape[:2]
    assert np.array_equal(scene[0:ph, 20 : 20 + pw], patch)


@pytest.mark.parametrize(
    ("box", "left"),
    [
        ((630, 200, 30, 40), "right-aligned"),  # box runs off the right edge
        ((-25, 200, 40, 40), 0),  # box starts left of the image
    ],
)
def test_label_is_shifted_to_stay_whole_at_the_sides(
    box: tuple[int, int, int, int], left: int | str
) -> None:
    scene = grey(480, 640)
    LabelAnnotator().annotate(scene, result(detections([box])))

    patch = label_patch("7 0.98", scene)
    ph, pw = patch.shape[:2]
    x = 640 - pw if left == "right-aligned" else int(left)
    assert np.array_equal(scene[200 - ph : 200, x : x + pw], patch)
    assert changed(grey(480, 640), scene).sum() == ph * pw


def test_labels_at_the_corners_never_wrap_round() -> None:
    scene = grey(60, 80)
    LabelAnnotator().annotate(scene, result(detections([(-30, -30, 40, 40)])))

    patch = label_patch("7 0.98", scene)
    ph, pw = patch.shape[:2]
    ys, xs = np.nonzero(changed(grey(60, 80), scene))
    assert ys.min() == 10 and ys.max() < 10 + ph  # below the box, whose bottom is row 10
    assert xs.min() == 0 and xs.max() < pw


# --- status bar ----------------------------------------------------------------------------


def test_status_bar_fills_a_strip_across_the_top_and_nothing_else() -> None:
    scene = grey(480, 640)
    bar = StatusBar()
    bar.annotate(scene, result(text="73"))

    h = bar.height(scene)
    assert 10 < h < 40
    assert (scene[h:] == GREY).all()
    strip = scene[:h]
    is_bg = (strip == STATUS_BACKGROUND).all(axis=2)
    assert is_bg[:, -1].all() and is_bg[0].all()  # full width, background at the far end
    assert (strip == STATUS_FOREGROUND).all(axis=2).any()  # and white text in it


def test_status_bar_at_the_bottom() -> None:
    scene = grey(480, 640)
    bar = StatusBar(position="bottom")
    bar.annotate(scene, result())

    h = bar.height(scene)
    assert (scene[: 480 - h] == GREY).all()
    assert (scene[480 - h :, -1] == STATUS_BACKGROUND).all()


def test_status_bar_reports_rate_latency_count_reading_and_extras() -> None:
    bar = StatusBar()
    temperature = {"value": "52C"}
    bar.extras["temp"] = lambda: temperature["value"]  # how a monitor adds its field
    det = detections([(0, 0, 5, 5), (10, 0, 5, 5)])

    for i in range(5):
        r = result(det, frame=i, wall=1000.0 + 0.1 * i, text="73", latency=42.4)
        bar.annotate(grey(), r)

    assert bar.fields(r) == ["10.0 fps", "42 ms", "2 digits", '"73"', "temp 52C"]


def test_status_bar_before_a_rate_is_known_and_without_latency() -> None:
    bar = StatusBar()
    r = result(detections([(0, 0, 5, 5)]), latency=None)
    bar.observe(r)
    assert bar.fields(r) == ["-- fps", "-- ms", "1 digit"]


@pytest.mark.parametrize(
    ("stream", "fps"),
    [
        # (camera, frame, wall) for each result; the rate the bar then shows
        ([("a", 0, 0.0), ("a", 1, 0.05), ("a", 2, 0.10)], 20.0),
        ([("a", 0, 0.0), ("a", 1, 0.05), ("a", 1, 0.05), ("a", 2, 0.10)], 20.0),  # shared
        ([("a", 0, 0.0), ("a", 1, 1.0), ("b", 0, 5.0), ("b", 1, 5.5)], 2.0),  # new camera
        ([("a", 5, 0.0), ("a", 6, 1.0), ("a", 0, 9.0), ("a", 1, 9.25)], 4.0),  # restarted
        ([("a", 0, 10.0), ("a", 1, 11.0), ("a", 2, 3.0), ("a", 3, 3.5)], 2.0),  # clock stepped
        ([("a", i, 0.5 * i) for i in range(10)] + [("a", 10, 4.75)], 2.4),  # last 4 only
    ],
)
def test_status_bar_rate_over_a_moving_window(
    stream: list[tuple[str, int, float]], fps: float
) -> None:
    bar = StatusBar(window=4)
    for camera, frame, wall in stream:
        bar.observe(result(camera=camera, frame=frame, wall=wall))
    assert bar.fps() == pytest.approx(fps)


def test_a_failing_extra_shows_a_question_mark_and_the_frame_is_still_drawn() -> None:
    def broken() -> str:
        raise OSError("sensor gone")

    bar = StatusBar(extras={"temp": broken})
    scene = bar.annotate(grey(480, 640), result())
    assert bar.fields(result())[-1] == "temp ?"
    assert (scene[0, -1] == STATUS_BACKGROUND).all()


def test_status_bar_rejects_a_bad_position() -> None:
    with pytest.raises(ValueError, match="position"):
        StatusBar(position="left")  # type: ignore[arg-type]


# --- overlay -------------------------------------------------------------------------------


def make_frame(image: Image, seq: int = 0) -> Frame:
    return Frame(image=image, seq=seq, captured_mono=0.0, captured_wall=1000.0, source_id="cam0")


def test_an_empty_result_draws_only_the_status_bar() -> None:
    overlay = Overlay.default()
    drawn = overlay.render(make_frame(grey(480, 640)), result())

    bar = overlay.status_bar
    assert bar is not None
    h = bar.height(drawn)
    assert (drawn[h:] == GREY).all()
    assert (drawn[:h, -1] == STATUS_BACKGROUND).all()


def test_without_a_status_bar_an_empty_result_draws_nothing() -> None:
    overlay = Overlay.default(status_bar=False)
    assert overlay.status_bar is None
    assert (overlay.render(make_frame(grey(480, 640)), result()) == GREY).all()


def test_render_draws_boxes_then_labels_then_the_bar_on_a_copy() -> None:
    image = grey(480, 640)
    det = detections([(300, 200, 50, 70), (200, 10, 40, 60)], tracks=[2, 5])
    r = result(det, text="07")
    drawn = Overlay.default(extras={"temp": lambda: "48C"}).render(make_frame(image), r)

    expected = grey(480, 640)
    for step in (BoxAnnotator(), LabelAnnotator(), StatusBar(extras={"temp": lambda: "48C"})):
        expected = step.annotate(expected, r)
    assert np.array_equal(drawn, expected)
    assert (image == GREY).all()  # the frame stays as captured for the other sinks
    assert (drawn[0, 210] == STATUS_BACKGROUND).all()  # the bar covers the box near the top


def test_render_draws_grey_frames_in_colour() -> None:
    image = np.full((120, 160), GREY, np.uint8)
    drawn = Overlay.default(status_bar=False).render(
        make_frame(image), result(detections([(10, 40, 30, 30)], tracks=[4]))
    )
    assert drawn.shape == (120, 160, 3)
    assert tuple(drawn[40, 20]) == PALETTE[4]


def test_observe_counts_frames_that_were_not_drawn() -> None:
    overlay = Overlay.default()
    for i in range(3):
        overlay.observe(result(frame=i, wall=0.1 * i))
    bar = overlay.status_bar
    assert bar is not None and bar.fps() == pytest.approx(10.0)


# --- recorder ------------------------------------------------------------------------------


def read_video(path: Path) -> list[Image]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            frames.append(image)
    finally:
        capture.release()
    return frames


def thick_boxes() -> Overlay:
    """Wide edges so a lossy codec keeps the colour measurable."""
    return Overlay([BoxAnnotator(thickness=10)])


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_recorder_writes_a_playable_video_of_the_overlay(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    recorder = OverlayRecorder(path, fps=10, overlay=thick_boxes())
    assert isinstance(recorder, Sink) and recorder.name == "recorder"
    box = (80, 60, 120, 100)
    for i in range(5):
        recorder.emit(result(detections([box], tracks=[3]), frame=i), make_frame(grey(240, 320), i))
    recorder.close()

    frames = read_video(path)
    assert len(frames) == 5
    assert frames[0].shape == (240, 320, 3)
    edge = frames[-1][62:68, 100:180].reshape(-1, 3).mean(axis=0)
    assert np.abs(edge - PALETTE[3]).max() < 40
    inside = frames[-1][100:120, 120:160].reshape(-1, 3).mean(axis=0)
    assert np.abs(inside - GREY).max() < 10


def test_recorder_resizes_frames_of_another_size(tmp_path: Path) -> None:
    path = tmp_path / "out.avi"
    recorder = OverlayRecorder(path, overlay=thick_boxes())
    recorder.emit(result(), make_frame(grey(240, 320)))
    recorder.emit(result(frame=1), make_frame(grey(480, 640), 1))
    recorder.close()

    assert recorder.size == (320, 240)
    assert [f.shape for f in read_video(path)] == [(240, 320, 3)] * 2


def test_recorder_close_twice_is_harmless_and_emit_after_close_is_refused(tmp_path: Path) -> None:
    recorder = OverlayRecorder(tmp_path / "out.avi")
    recorder.emit(result(), make_frame(grey(240, 320)))
    recorder.close()
    recorder.close()
    with pytest.raises(RecorderError, match="closed"):
        recorder.emit(result(), make_frame(grey(240, 320)))


@pytest.mark.parametrize(
    ("name", "fix"),
    [
        ("missing/out.mp4", "does not exist; create it"),
        ("out.mkv", "name the file .mp4 or .avi"),
        (".", "it is a folder"),
    ],
)
def test_recorder_that_cannot_write_says_where_and_what_to_do(
    tmp_path: Path, name: str, fix: str
) -> None:
    path = tmp_path / name
    if name == ".":
        path = tmp_path / "video.avi"
        path.mkdir()
    with pytest.raises(RecorderError) as caught:
        OverlayRecorder(path)
    message = str(caught.value)
    assert str(path) in message and fix in message
    assert "\n" not in message

"""Sources: a real video file through OpenCV, the synthetic camera, and the URI parser."""

from __future__ import annotations

import time
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgecam.sources import DEMO_VIDEO, gstlib, open_source, redact
from edgecam.sources import base as base_mod
from edgecam.sources.base import Source, SourceError, replay_decoder_threads
from edgecam.sources.synthetic import SyntheticSource
from edgecam.sources.video import VideoFileSource
from tests.conftest import close_while_reading


def write_video(path: Path, frames: int, fps: float = 30.0) -> None:
    """A video whose frame ``i`` has brightness ``10 * i`` (so the order can be checked)."""
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (160, 120))
    for i in range(frames):
        out.write(np.full((120, 160, 3), 10 * i % 256, np.uint8))
    out.release()


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "clip.avi"
    write_video(path, 12)
    return path


def test_a_file_gives_every_frame_in_order_with_its_index(video: Path) -> None:
    source = VideoFileSource(video)
    assert isinstance(source, Source)
    assert (source.width, source.height, source.fps) == (160, 120, 30.0)
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    assert [f.seq for f in frames] == list(range(12))
    assert [round(float(f.image.mean()) / 10) for f in frames] == list(range(12))
    assert all(b.captured_mono >= a.captured_mono for a, b in pairwise(frames))
    assert abs(frames[0].captured_wall - time.time()) < 5


def test_a_looping_file_starts_over_and_keeps_counting(video: Path) -> None:
    source = VideoFileSource(video, loop=True)
    seqs = [source.read().seq for _ in range(30)]  # type: ignore[union-attr]
    assert seqs == list(range(30)) and source.loops == 2


def test_realtime_paces_frames_at_the_files_rate(video: Path) -> None:
    source = VideoFileSource(video, realtime=True)
    t0 = time.monotonic()
    while source.read() is not None:
        pass
    assert 11 / 30 - 0.02 <= time.monotonic() - t0 < 11 / 30 + 0.3


def test_closing_while_another_thread_reads_never_hangs(tmp_path: Path) -> None:
    """The pipeline closes a file while its capture thread may be inside ``read``;
    releasing an OpenCV capture mid-read used to hang FFmpeg (seen at ``--max-frames 1``)."""
    path = tmp_path / "long.avi"
    write_video(path, 300)
    for _ in range(20):
        source = VideoFileSource(path, loop=True)
        close_while_reading(source, lambda s=source: [s.read() for _ in range(10_000)], 0.002)
        assert source.read() is None


@pytest.mark.parametrize(
    ("content", "needle"),
    [(None, "not found"), (b"", "cannot be decoded"), (b"\x00garbage" * 50, "cannot be decoded")],
)
def test_a_missing_or_corrupt_video_is_one_clear_error(
    tmp_path: Path, content: bytes | None, needle: str
) -> None:
    path = tmp_path / "bad.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError) as err:
        VideoFileSource(path)
    assert needle in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_the_synthetic_camera_knows_its_truth() -> None:
    source = SyntheticSource(("123", "45"), frames=3)
    frames = [source.read() for _ in range(4)]
    assert frames[3] is None
    boxes, labels = source.truth(1)
    assert labels.tolist() == [1, 2, 3, 4, 5]
    frame = frames[1]
    assert frame is not None
    for x, y, w, h in boxes.tolist():  # ink inside each true box, paper just outside it
        patch = frame.image[y : y + h, x : x + w].min(axis=2)
        assert patch.min() < 100
        assert frame.image[max(0, y - 6), x : x + w].min() > 120


def test_uris_name_their_sources(video: Path) -> None:
    assert isinstance(open_source(str(video)), VideoFileSource)
    from_uri = open_source(video.as_uri())  # file:// goes through GStreamer where it exists
    kind = "VideoFileSource" if gstlib.unavailable() else "GstSource"
    assert type(from_uri).__name__ == kind and not from_uri.live
    from_uri.close()
    synthetic = open_source("synthetic:12,345")
    assert isinstance(synthetic, SyntheticSource) and synthetic.live
    assert synthetic.truth(0)[1].tolist() == [1, 2, 3, 4, 5]
    if DEMO_VIDEO.is_file():
        demo = open_source("demo")
        assert demo.live and isinstance(demo, VideoFileSource) and demo.loop


@pytest.mark.parametrize(
    ("uri", "needles"),
    [
        ("rtsp://admin:hunter2@/stream", ["rtsp", "admin:***@", "host"]),
        ("", ["empty source"]),
        ("synthetic:12a", ["digits"]),
        ("ftp://host/clip.mp4", ["unknown scheme"]),
    ],
)
def test_bad_uris_are_clear_errors_without_secrets(uri: str, needles: list[str]) -> None:
    with pytest.raises(SourceError) as err:
        open_source(uri)
    message = str(err.value)
    assert "hunter2" not in message
    for needle in needles:
        assert needle in message


def test_redact_hides_passwords_only() -> None:
    assert redact("rtsp://u:p@h:554/x") == "rtsp://u:***@h:554/x"
    assert redact("rtsp://h:554/x") == "rtsp://h:554/x"
    assert redact("/videos/a:b.mp4") == "/videos/a:b.mp4"
    assert redact("rtsp:/u:p@h/x") == "rtsp:/u:***@h/x"  # a path's folded slashes
    assert redact("gst:rtspsrc location=rtsp://u:p@h/x ! fakesink") == (
        "gst:rtspsrc location=rtsp://u:***@h/x ! fakesink"
    )


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (3, 1), (4, 2), (12, 10)])
def test_replay_decoders_get_the_cores_the_loop_threads_leave(
    monkeypatch: pytest.MonkeyPatch, cores: int, threads: int
) -> None:
    monkeypatch.setattr(base_mod.os, "sched_getaffinity", lambda _pid: set(range(cores)))
    assert replay_decoder_threads() == threads


@pytest.mark.parametrize(("live", "realtime"), [(False, False), (False, True), (True, False)])
def test_an_opencv_replay_caps_ffmpegs_threads_and_a_paced_or_live_file_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, live: bool, realtime: bool
) -> None:
    # given a machine with 5 cores and an MPEG-4 file read by OpenCV (a bare path); not
    # write_video's MJPEG, whose FFmpeg decoder has no threads to cap
    monkeypatch.setattr(base_mod.os, "sched_getaffinity", lambda _pid: set(range(5)))
    path = tmp_path / "clip.mp4"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (160, 120))
    for i in range(10):
        out.write(np.full((120, 160, 3), 20 * i, np.uint8))
    out.release()
    # when it is opened for a replay (every frame, as fast as it decodes), paced or live
    source = open_source(str(path), live=live, realtime=realtime)
    try:
        assert isinstance(source, VideoFileSource)
        assert source.read() is not None
        # then FFmpeg decodes with the 3 cores the loop's two threads leave, or with its
        # own choice (its count of this machine's cores) when the file is paced or a camera
        default = cv2.VideoCapture(str(path))
        own = default.get(cv2.CAP_PROP_N_THREADS)
        default.release()
        threads = source._cap.get(cv2.CAP_PROP_N_THREADS)
        assert threads == (own if live or realtime else 3)
    finally:
        source.close()

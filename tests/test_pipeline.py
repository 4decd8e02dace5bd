"""The pipeline with real threads, the real reader and model, and the synthetic camera."""

from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from edgecam.backends import load_backend
from edgecam.evaluate import TruthScorer
from edgecam.pipeline import LatencyLog, Pipeline
from edgecam.processor import FrameProcessor, Inspection, reread_region
from edgecam.sinks.base import FanOut
from edgecam.sources.synthetic import SyntheticSource
from edgecam.types import RESULT_SCHEMA, Frame, Result
from edgecam.vision.motion import MotionParams
from edgecam.vision.reader import DigitReader, Reading


class Collect:
    name = "collect"

    def __init__(self) -> None:
        self.results: list[Result] = []
        self.closed = False

    def emit(self, result: Result, frame: Frame) -> None:
        self.results.append(result)

    def close(self) -> None:
        self.closed = True


class Broken:
    name = "broken"

    def emit(self, result: Result, frame: Frame) -> None:
        raise OSError("disk full")

    def close(self) -> None:
        raise OSError("disk still full")


class Stuck:
    """A source whose driver call never returns after a few frames (an unplugged camera)."""

    id = "stuck"
    live = False
    fps = 30.0
    width, height = 640, 480

    def __init__(self) -> None:
        self.inner = SyntheticSource(("42",), live=False)
        self.release = threading.Event()

    def read(self) -> Frame | None:
        if self.inner._seq >= 3:
            self.release.wait(30)
            return None
        return self.inner.read()

    def close(self) -> None:
        pass  # like a driver that ignores the close


@pytest.fixture(scope="module")
def reader() -> DigitReader:
    return DigitReader(load_backend("litert"))


def processor(reader: DigitReader, interval: int = 8) -> FrameProcessor:
    return FrameProcessor(reader, camera="t", motion=MotionParams(keyframe_interval=interval))


def test_replay_reads_every_frame_in_order_and_right(reader: DigitReader) -> None:
    source = SyntheticSource(("31415", "92653"), frames=60, live=False)
    scorer = TruthScorer({i: source.truth(i) for i in range(60)})
    sink = Collect()
    pipeline = Pipeline(source, processor(reader), [sink, scorer])
    stats = pipeline.run()
    assert [r.frame for r in sink.results] == list(range(60))
    assert stats.dropped == 0 and sink.closed
    assert scorer.report()["f1"] == 1.0
    assert sink.results[-1].text == "31415 92653"
    summary = pipeline.summary()
    assert summary["frames"] == 60 and 0 < summary["keyframes"] < 60


class Slow(Collect):
    """A sink that now and then takes a while, so the gate runs ahead by varying amounts."""

    name = "slow"

    def emit(self, result: Result, frame: Frame) -> None:
        super().emit(result, frame)
        if result.frame % 7 == 3:
            time.sleep(0.02)


class Sluggish:
    """A file whose decoding now and then takes a while, so the reader runs out of frames."""

    def __init__(self, inner: SyntheticSource) -> None:
        self.inner = inner
        self.id, self.live, self.fps = inner.id, inner.live, inner.fps
        self.width, self.height = inner.width, inner.height

    def read(self) -> Frame | None:
        frame = self.inner.read()
        if frame is not None and frame.seq % 3 == 0:
            time.sleep(0.015)
        return frame

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("slow", ["reader", "decoder"])
def test_replay_gating_ahead_on_either_thread_gives_the_same_results(
    reader: DigitReader, slow: str
) -> None:
    """Replay gates frames ahead of the reads on whichever thread is free (the capture
    thread while the reader works, the reader when it runs out of frames); the results
    must be exactly those of gating and reading each frame in turn on one thread."""

    def sheet() -> SyntheticSource:
        return SyntheticSource(("31415", "92653"), frames=90, live=False, drift=40.0)

    sink = Slow() if slow == "reader" else Collect()
    gating = processor(reader, interval=4)
    threads: list[str] = []
    inspect = gating.inspect

    def spy(frame: Frame, *, stop: threading.Event | None = None) -> Inspection:
        threads.append(threading.current_thread().name)
        return inspect(frame, stop=stop)

    gating.inspect = spy  # type: ignore[method-assign]
    source = sheet() if slow == "reader" else Sluggish(sheet())
    Pipeline(source, gating, [sink]).run()  # type: ignore[arg-type]
    alone = processor(reader, interval=4)
    plain = sheet()
    expected = []
    while (frame := plain.read()) is not None:
        expected.append(alone.process(frame))

    def key(r: Result) -> tuple[object, ...]:
        d = r.detections
        return (r.frame, r.keyframe, r.text, d.boxes.tolist(), d.labels.tolist())

    assert [key(r) for r in sink.results] == [key(r) for r in expected]
    assert sum(r.keyframe for r in expected) >= 6
    # Each thread took its share where the other was the slow one.
    busy = "edgecam-capture" if slow == "reader" else threading.main_thread().name
    assert threads.count(busy) >= 10, threads


def test_every_result_carries_its_stage_timings_and_the_schema(reader: DigitReader) -> None:
    source = SyntheticSource(("7",), frames=12, live=False)
    sink = Collect()
    Pipeline(source, processor(reader, interval=4), [sink]).run()
    for r in sink.results:
        assert r.latency_ms["capture_to_result"] >= r.latency_ms["motion"] > 0
        assert ("locate" in r.latency_ms) == r.keyframe
        doc = r.to_dict()
        assert doc["schema"] == RESULT_SCHEMA and doc["captured_at"].endswith("Z")
        assert {"label", "confidence", "box", "track"} <= set(doc["detections"][0])
    # Read at 0 (first) and 4 (interval, beside the loop, so its findings come with frame
    # 5), which found the same 7: the next is due at 12.
    assert [r.frame for r in sink.results if r.keyframe] == [0, 5]


def test_a_steady_views_reread_runs_beside_and_lands_where_the_camera_moved(
    reader: DigitReader,
) -> None:
    """A steady view's periodic re-read runs beside the loop: its own frame is published at
    once from the carried reading, and the digits it found are folded in at the next frame,
    moved by the camera's shift since. Without that shift every re-read's boxes would sit
    where the sheet was a frame earlier."""
    source = SyntheticSource(("31415",), frames=150, live=False, drift=40.0)
    proc = processor(reader, interval=4)
    results = []
    while (frame := source.read()) is not None:
        results.append(proc.process(frame))
    proc.close()
    folded = [r for r in results if "read_wait" in r.latency_ms]
    assert len(folded) >= 5, proc.reasons
    compared = 0
    for r in folded:
        started = results[r.frame - 1]
        assert "locate" not in started.latency_ms and not started.keyframe
        assert r.keyframe and "locate" in r.latency_ms and r.text == "31415"
        now, _ = source.truth(r.frame)
        before, _ = source.truth(r.frame - 1)
        if np.abs(now - before)[:, :2].max() < 3:
            continue
        compared += 1
        # Each shown box against the nearest true box of this frame and of the one before.
        err_now = np.abs(r.detections.boxes[:, None, :2] - now[None, :, :2]).sum(2).min(1)
        err_before = np.abs(r.detections.boxes[:, None, :2] - before[None, :, :2]).sum(2).min(1)
        assert err_now.mean() < err_before.mean(), (r.frame, err_now, err_before)
    assert compared >= 3


class Still:
    """A file of one page with a short number written small in one corner; from frame
    ``then_at`` on, ``then`` is written there instead (a digit added to it, say)."""

    id, live, fps = "still", False, 30.0
    width, height = 640, 480

    def __init__(self, text: str, frames: int, then: str = "", then_at: int = 0) -> None:
        self.page, self.then = self._page(text), self._page(then) if then else None
        self.frames, self.then_at, self.seq = frames, then_at, 0

    def _page(self, text: str) -> npt.NDArray[np.uint8]:
        page = np.full((self.height, self.width, 3), 225, np.uint8)
        scale = cv2.getFontScaleFromHeight(cv2.FONT_HERSHEY_SIMPLEX, 40, 3)
        cv2.putText(
            page, text, (60, 120), cv2.FONT_HERSHEY_SIMPLEX, scale, (30, 30, 30), 4, cv2.LINE_AA
        )
        return page

    def read(self) -> Frame | None:
        if self.seq >= self.frames:
            return None
        self.seq += 1
        page = self.then if self.then is not None and self.seq > self.then_at else self.page
        now = time.monotonic()
        return Frame(page.copy(), self.seq - 1, now, time.time(), self.id)

    def close(self) -> None:
        pass


class Panning(Still):
    """:class:`Still`'s page under a camera that pans slowly back and forth over it."""

    def read(self) -> Frame | None:
        frame = super().read()
        if frame is None:
            return None
        t = frame.seq
        move = np.float32([[1, 0, 60 * np.sin(t / 20)], [0, 1, 25 * np.sin(t / 13)]])
        size = (self.width, self.height)
        image = cv2.warpAffine(frame.image, move, size, borderMode=cv2.BORDER_REPLICATE)
        return Frame(image, frame.seq, frame.captured_mono, frame.captured_wall, self.id)


def test_a_reread_started_by_the_gate_looks_where_the_tracks_are_at_its_frame(
    reader: DigitReader,
) -> None:
    """A read starts when the gate asks for it, before the frames ahead of it are finished;
    a steady view's re-read then looks around the tracks as the last read left them, moved
    as far as the camera moved since. That must be where the tracks stand once its own frame
    is finished, moved frame by frame, over a panning, re-keyed view."""
    source = Panning("31415", frames=200)
    proc = processor(reader, interval=4)
    compared = 0
    while (frame := source.read()) is not None:
        inspection = proc.inspect(frame)
        if inspection.read is not None:  # under way before the frame is finished
            inspection.read.result(timeout=10)
        proc.finish(frame, inspection)
        if inspection.region is None:
            continue
        tracker = proc.tracker
        inside = tracker.centred_in((0, 0, frame.width, frame.height))
        shown = [
            t.box
            for t, keep in zip(tracker.tracks, inside, strict=True)
            if keep and t.missed <= tracker.coast
        ]
        assert inspection.region == reread_region(shown, (frame.width, frame.height))
        compared += 1
    proc.close()
    assert compared >= 5 and proc.gate.rekeys >= 3, (compared, proc.reasons, proc.gate.rekeys)


class Noting(DigitReader):
    """The real reader, noting where each read looked and what it found."""

    def __init__(self, base: DigitReader) -> None:
        super().__init__(base.backend)
        self.reads: list[tuple[tuple[int, int, int, int] | None, Reading]] = []

    def read(
        self, image: npt.NDArray[np.generic], region: tuple[int, int, int, int] | None = None
    ) -> Reading:
        reading = super().read(image, region)
        self.reads.append((region, reading))
        return reading


class Faulty(DigitReader):
    """The real reader, whose ``fail_at``-th read raises as a backend fault or a locator
    bug on some picture would (fault injection: no real picture is known to trip it)."""

    def __init__(self, base: DigitReader, fail_at: int) -> None:
        super().__init__(base.backend)
        self.fail_at = fail_at
        self.reads = 0

    def read(
        self, image: npt.NDArray[np.generic], region: tuple[int, int, int, int] | None = None
    ) -> Reading:
        self.reads += 1
        if self.reads == self.fail_at:
            raise ValueError("zero-size array to reduction operation maximum")
        return super().read(image, region)


@pytest.mark.parametrize("fail_at", [1, 3])
def test_a_read_that_fails_is_logged_and_counted_and_the_loop_goes_on(
    reader: DigitReader, fail_at: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A read that raises costs that read: its frame and the next show what the tracks
    carry (nothing, for the first frame's), the failure is logged once and counted, and
    the next read, due at the base interval, reads the sheet again."""
    source = SyntheticSource(("31415",), frames=40, live=False)
    sink = Collect()
    faulty = Faulty(reader, fail_at)
    proc = FrameProcessor(faulty, camera="t", motion=MotionParams(keyframe_interval=4))
    pipeline = Pipeline(source, proc, [sink])
    with caplog.at_level(logging.WARNING):
        stats = pipeline.run()
    assert [r.frame for r in sink.results] == list(range(40)) and not stats.source_error
    assert pipeline.summary()["read_failures"] == 1 and faulty.reads >= fail_at + 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "ValueError: zero-size array" in warnings[0], warnings
    if fail_at == 1:  # nothing to carry until the next read, four frames on
        assert sink.results[0].text == "" and not sink.results[0].keyframe
    assert all(r.text == "31415" for r in sink.results[8:])


def test_a_steady_views_rereads_look_around_its_digits_and_now_and_then_at_all(
    reader: DigitReader,
) -> None:
    """Re-reads of a steady view look only around the digits it shows (a fraction of a full
    read's cost), but at the whole frame once ``full_read_frames`` have gone by since it was
    last read whole, for a digit the earlier reads missed; the reading is the same."""
    source = Still("31415", frames=120)
    noting = Noting(reader)
    proc = FrameProcessor(
        noting,
        camera="t",
        motion=MotionParams(keyframe_interval=4, max_interval=4),
        full_read_frames=16,
    )
    results = [proc.process(f) for f in iter(source.read, None)]
    proc.close()
    regions = [region for region, _ in noting.reads]
    assert regions[0] is None and len(regions) >= 20  # the first read: the whole frame
    runs = "".join("r" if r else "W" for r in regions[1:]).split("W")
    assert max(len(run) for run in runs) == 3 and regions.count(None) >= 5, regions
    assert proc.stats.region_reads == len(regions) - regions.count(None)
    for region, reading in noting.reads:
        assert reading.text == "31415"
        if region is not None:  # around the row: its digits inside, a fraction of the frame
            x, y, w, h = region
            boxes = reading.detections.boxes
            assert (boxes[:, 0] >= x).all() and (boxes[:, 0] + boxes[:, 2] <= x + w).all()
            assert (boxes[:, 1] >= y).all() and (boxes[:, 1] + boxes[:, 3] <= y + h).all()
            assert w * h <= 0.5 * 640 * 480
    assert all(r.text == "31415" for r in results[1:])
    # Asked to read the whole frame every time, it does.
    noting.reads.clear()
    proc = FrameProcessor(
        noting,
        camera="t",
        motion=MotionParams(keyframe_interval=4, max_interval=4),
        full_read_frames=1,
    )
    for f in iter(Still("31415", frames=40).read, None):
        proc.process(f)
    proc.close()
    assert len(noting.reads) >= 8 and all(region is None for region, _ in noting.reads)


def test_a_view_that_changed_is_read_beside_and_shown_from_the_next_frame(
    reader: DigitReader,
) -> None:
    """Only the first frame is read in line. A view that changed (a digit written) is read
    beside the loop like a steady view's re-read: that frame is published at once with the
    reading it had, so no result waits for a read, and the next frame shows the new one."""
    proc = processor(reader)
    results = [proc.process(f) for f in iter(Still("314", 40, then="3145", then_at=20).read, None)]
    proc.close()
    first, changed, after = results[0], results[20], results[21]
    assert first.keyframe and "locate" in first.latency_ms and first.text == "314"
    assert proc.reasons.get("changed", 0) >= 1
    assert not changed.keyframe and "locate" not in changed.latency_ms and changed.text == "314"
    assert after.keyframe and "read_wait" in after.latency_ms and after.text == "3145"
    assert all(r.text == "3145" for r in results[21:])


@pytest.mark.parametrize(
    ("boxes", "region"),
    [
        ([], None),  # nothing shown: the whole frame
        ([(100, 100, 20, 40)], (40, 40, 140, 160)),  # grown by 1.5 × 40 px on every side
        ([(100, 100, 20, 40), (200, 110, 30, 20)], (40, 40, 250, 160)),  # around both
        ([(10, 400, 20, 40)], (0, 340, 90, 140)),  # clipped to the frame
        ([(10, 10, 20, 40), (600, 420, 20, 40)], None),  # over half the frame: read it all
    ],
)
def test_the_reread_region_surrounds_the_shown_digits(
    boxes: list[tuple[int, int, int, int]], region: tuple[int, int, int, int] | None
) -> None:
    assert reread_region(boxes, (640, 480)) == region


def test_an_interval_of_one_reads_every_frame_as_itself(reader: DigitReader) -> None:
    """Asked to read every frame, each result is its own frame's read, none beside."""
    source = SyntheticSource(("27",), frames=10, live=False)
    proc = processor(reader, interval=1)
    results = [proc.process(f) for f in iter(source.read, None)]
    proc.close()
    assert all(r.keyframe and "locate" in r.latency_ms for r in results)
    assert not any("read_wait" in r.latency_ms for r in results)


def test_a_camera_whose_frames_are_too_small_ends_with_a_clear_error(reader: DigitReader) -> None:
    # A camera's size may be known only from its first frame: that frame is checked.
    source = SyntheticSource(("7",), width=12, height=12, frames=5, live=True)
    source.width = source.height = 0
    pipeline = Pipeline(source, processor(reader), [Collect()])
    stats = pipeline.run()
    assert stats.processed == 0
    assert "12×12" in stats.source_error and "at least 16×16" in stats.source_error


def test_a_live_camera_faster_than_the_reader_drops_stale_frames_and_counts_them(
    reader: DigitReader,
) -> None:
    # Every frame read in full at 30 fps on a slow reader would queue up; only the freshest
    # is kept, so results stay recent and the drops add up.
    source = SyntheticSource(("31415",), frames=90, fps=120.0, live=True)
    sink = Collect()
    pipeline = Pipeline(source, processor(reader, interval=1), [sink])
    stats = pipeline.run()
    frames = [r.frame for r in sink.results]
    assert frames == sorted(frames)
    assert stats.dropped > 0
    assert stats.processed + stats.dropped + stats.unprocessed == stats.captured == 90
    assert max(r.latency_ms["queue"] for r in sink.results) < 100


def test_a_failing_sink_is_counted_and_never_stops_the_others(
    reader: DigitReader, caplog: pytest.LogCaptureFixture
) -> None:
    source = SyntheticSource(("5",), frames=20, live=False)
    good = Collect()
    pipeline = Pipeline(source, processor(reader), [Broken(), good])
    with caplog.at_level(logging.WARNING):
        pipeline.run()
    assert len(good.results) == 20 and good.closed
    assert pipeline.fanout.stats["broken"].failures == 21  # every emit and the close
    assert pipeline.fanout.stats["collect"].emitted == 20
    # Logged once per distinct error, not once per frame.
    assert len([r for r in caplog.records if "broken" in r.getMessage()]) == 2


def test_a_source_that_fails_ends_the_run_with_its_error_and_keeps_the_results(
    reader: DigitReader,
) -> None:
    class Failing(SyntheticSource):
        def read(self) -> Frame | None:
            if self._seq == 5:
                raise RuntimeError("camera unplugged\nat usb port 3")
            return super().read()

    sink = Collect()
    pipeline = Pipeline(Failing(("1",), live=False), processor(reader), [sink])
    stats = pipeline.run()
    assert len(sink.results) == 5
    assert stats.source_error == "RuntimeError: camera unplugged at usb port 3"


def test_stopping_is_bounded_even_when_the_camera_driver_hangs(reader: DigitReader) -> None:
    source = Stuck()
    sink = Collect()
    pipeline = Pipeline(source, processor(reader), [sink], shutdown_s=0.5)
    threading.Timer(0.5, pipeline.stop.set).start()
    t0 = time.monotonic()
    pipeline.run()
    assert time.monotonic() - t0 < 2.0
    assert len(sink.results) == 3 and sink.closed
    source.release.set()


def test_max_frames_stops_after_that_many_results(reader: DigitReader) -> None:
    sink = Collect()
    Pipeline(SyntheticSource(("9",), live=False), processor(reader), [sink], max_frames=7).run()
    assert len(sink.results) == 7


def test_fanout_closes_every_sink_even_if_one_fails() -> None:
    good = Collect()
    fan = FanOut([Broken(), good])
    fan.close()
    assert good.closed and fan.stats["broken"].failures == 1


# --- the freshest-frame slot ---------------------------------------------------------------------


def _stamped(seq: int, age_s: float) -> tuple[Frame, None]:
    import numpy as np

    now = time.monotonic()
    return (Frame(np.zeros((4, 4, 3), np.uint8), seq, now - age_s, time.time(), "t"), None)


def test_the_slot_waits_for_a_frame_already_due_instead_of_handing_over_a_stale_one() -> None:
    from edgecam.pipeline import FreshestSlot

    period = 0.4  # long, so that a loaded machine's scheduling cannot outlast the wait
    slot = FreshestSlot(lambda: period)
    # given a frame 1.2 periods old: the next one was captured and is being converted
    slot.put(_stamped(0, 1.2 * period))

    def deliver_once_the_reader_waits() -> None:
        deadline = time.monotonic() + 5
        while not slot.waited and time.monotonic() < deadline:
            time.sleep(0.001)
        slot.put(_stamped(1, 0.003))

    late = threading.Thread(target=deliver_once_the_reader_waits)
    late.start()
    # when the reader takes a frame
    frame, _ = slot.get(timeout=1.0)
    late.join()
    # then it gets the new one, and the stale one counts as dropped
    assert frame.seq == 1 and slot.dropped == 1 and slot.waited == 1


def test_the_slot_waits_at_most_one_period_for_a_camera_that_went_quiet() -> None:
    from edgecam.pipeline import FreshestSlot

    period = 1 / 30
    slot = FreshestSlot(lambda: period)
    slot.put(_stamped(0, 5 * period))
    t0 = time.monotonic()
    frame, _ = slot.get(timeout=1.0)
    waited = time.monotonic() - t0
    assert frame.seq == 0 and period - 0.002 <= waited < period + 0.05
    # and a fresh frame, or a camera of unknown rate, is handed over at once (a long period
    # here, so that "at once" stands clear of the wait on a loaded machine)
    slow = 0.4
    for rate, age in ((lambda: slow, 0.2 * slow), (lambda: 0.0, 5 * slow)):
        slot = FreshestSlot(rate)
        slot.put(_stamped(1, age))
        t0 = time.monotonic()
        assert slot.get(timeout=1.0)[0].seq == 1 and time.monotonic() - t0 < slow / 8


def test_latency_percentiles_match_numpy_and_keep_the_last_ring_full() -> None:
    rng = np.random.default_rng(3)
    log = LatencyLog(capacity=64)
    values = rng.gamma(2.0, 3.0, 100).astype(np.float32)
    for v in values:
        log.add({"read": float(v)})
    log.add({"track": 1.5})
    got = log.percentiles((0, 50, 99, 100))
    kept = values[-64:]  # the ring holds the latest `capacity` values
    for q in (0, 50, 99, 100):
        assert got["read"][f"p{q}"] == pytest.approx(float(np.percentile(kept, q)), abs=1e-3)
    assert got["read"]["n"] == 100
    assert got["track"] == {"p0": 1.5, "p50": 1.5, "p99": 1.5, "p100": 1.5, "n": 1}

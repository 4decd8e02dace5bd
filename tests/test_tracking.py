"""Tracks keep a digit's id across reads and vote away one-off misreads."""

from __future__ import annotations

import numpy as np

from edgecam.tracking import Tracker
from edgecam.types import Detections


def dets(*rows: tuple[int, int, int, int, int, float]) -> Detections:
    """Detections from (x, y, w, h, label, confidence) rows."""
    if not rows:
        return Detections.empty()
    a = np.array(rows, np.float64)
    return Detections(
        boxes=a[:, :4].astype(np.int32),
        labels=a[:, 4].astype(np.int64),
        confidences=a[:, 5].astype(np.float32),
    )


def test_a_digit_keeps_its_track_id_while_it_moves_a_little() -> None:
    tracker = Tracker()
    tracker.update(dets((100, 100, 30, 40, 7, 0.9), (200, 100, 30, 40, 1, 0.9)))
    first = tracker.current(640, 480)
    tracker.update(dets((104, 102, 30, 40, 7, 0.9), (203, 101, 30, 40, 1, 0.9)))
    second = tracker.current(640, 480)
    assert sorted(first.track_ids.tolist()) == sorted(second.track_ids.tolist())
    assert len(set(second.track_ids.tolist())) == 2


def test_a_one_off_misread_does_not_flicker_the_label() -> None:
    tracker = Tracker(votes=9)
    for label in [7, 7, 7, 1, 7, 7, 1, 7]:
        tracker.update(dets((100, 100, 30, 40, label, 0.8)))
        current = tracker.current(640, 480)
        if len(tracker.tracks[0].votes) >= 3:
            assert current.labels.tolist() == [7]


def test_a_digit_really_changed_is_followed_once_the_votes_turn() -> None:
    tracker = Tracker(votes=5)
    for _ in range(5):
        tracker.update(dets((100, 100, 30, 40, 3, 0.9)))
    labels = []
    for _ in range(5):
        tracker.update(dets((100, 100, 30, 40, 8, 0.9)))
        labels.append(int(tracker.current(640, 480).labels[0]))
    assert labels[0] == 3 and labels[-1] == 8


def test_a_missed_read_coasts_then_the_track_is_hidden_but_remembered() -> None:
    tracker = Tracker(coast=1, max_missed=3)
    tracker.update(dets((100, 100, 30, 40, 4, 0.9)))
    tid = int(tracker.current(640, 480).track_ids[0])
    tracker.update(dets())
    assert len(tracker.current(640, 480)) == 1  # one miss: still shown
    tracker.update(dets())
    assert len(tracker.current(640, 480)) == 0  # two: hidden
    tracker.update(dets((101, 100, 30, 40, 4, 0.9)))
    assert tracker.current(640, 480).track_ids.tolist() == [tid]  # back with its id
    for _ in range(5):
        tracker.update(dets())
    assert tracker.tracks == []  # forgotten after max_missed


def test_shift_moves_tracks_with_the_camera_so_association_survives_a_pan() -> None:
    tracker = Tracker()
    tracker.update(dets((100, 100, 20, 30, 5, 0.9)))
    tid = int(tracker.current(640, 480).track_ids[0])
    tracker.shift(40.0, -10.0)  # far more than the box's size: IoU alone would lose it
    tracker.update(dets((140, 90, 20, 30, 5, 0.9)))
    current = tracker.current(640, 480)
    assert current.track_ids.tolist() == [tid]
    assert tracker.created == 1


def test_tracks_that_leave_the_frame_are_not_shown() -> None:
    tracker = Tracker()
    tracker.update(dets((600, 100, 30, 40, 2, 0.9)))
    tracker.shift(20.0, 0.0)
    assert len(tracker.current(640, 480)) == 0


def test_a_digit_boxed_twice_across_reads_is_shown_once() -> None:
    tracker = Tracker(iou=0.3)
    tracker.update(dets((100, 100, 30, 40, 4, 0.9), (104, 100, 30, 40, 4, 0.9)))
    tracker.update(dets((102, 100, 30, 40, 4, 0.9)))  # one box now: the other would coast
    assert len(tracker.current(640, 480)) == 1


def test_a_read_that_lands_late_is_moved_by_the_shift_since() -> None:
    """A re-read that ran beside the loop is folded in a frame later: its boxes, measured
    where the sheet was, are moved by the camera's shift since before they meet the tracks."""
    tracker = Tracker()
    tracker.update(dets((100, 100, 20, 30, 7, 0.9)))
    tracker.shift(25.0, -12.0)  # the camera moved on while the read ran
    tracker.update(dets((100, 100, 20, 30, 7, 0.9)), offset=(25.0, -12.0))
    now = tracker.current(640, 480)
    assert now.boxes.tolist() == [[125, 88, 20, 30]] and len(tracker.tracks) == 1
    # (a read not moved by the shift misses its own track by 25 px and starts another)
    tracker.shift(25.0, -12.0)
    tracker.update(dets((125, 88, 20, 30, 7, 0.9)))
    assert len(tracker.tracks) == 2


def test_a_read_of_a_region_does_not_age_the_tracks_it_did_not_look_at() -> None:
    """A re-read that looked only around some digits says nothing of the others: they are
    neither missed nor forgotten, while one inside the region that it did not find is."""
    tracker = Tracker(coast=1, max_missed=2)
    tracker.update(dets((100, 100, 20, 30, 7, 0.9), (400, 300, 20, 30, 3, 0.9)))
    far = next(t for t in tracker.tracks if t.box[0] == 400)
    region = (60.0, 60.0, 120.0, 120.0)  # around the 7 only
    for _ in range(4):
        tracker.update(dets((100, 100, 20, 30, 7, 0.9)), region=region)
    assert far in tracker.tracks and far.missed == 0
    assert sorted(tracker.current(640, 480).labels.tolist()) == [3, 7]
    # A late read's region is in its own frame's pixels, moved with the camera's shift
    # since: around the 7 as it was, so the 7 (now at x=300) is looked for, the 3 is not.
    tracker.shift(200.0, 150.0)
    tracker.update(dets(), offset=(200.0, 150.0), region=region)
    near = next(t for t in tracker.tracks if t.box[0] == 300)
    assert near.missed == 1 and far.missed == 0


def test_a_steady_views_recheck_holds_back_a_new_find_until_a_later_read_repeats_it() -> None:
    """A re-check of a view that did not change cannot have new writing in it: what it finds
    where the read before looked too is shown only once another read finds it again, and
    forgotten when the next read does not (a squared sheet's line cut into stubs by one
    region's read, read as 1s, showed for a whole interval)."""
    tracker = Tracker()
    tracker.update(dets((100, 100, 20, 30, 7, 0.9)), size=(640, 480))
    stubs = dets((100, 100, 20, 30, 7, 0.9), (300, 200, 2, 18, 1, 0.9), (340, 200, 2, 18, 1, 0.9))
    tracker.update(stubs, recheck=True, size=(640, 480))
    assert tracker.current(640, 480).labels.tolist() == [7]
    tracker.update(dets((100, 100, 20, 30, 7, 0.9)), recheck=True, size=(640, 480))
    assert len(tracker.tracks) == 1 and tracker.unconfirmed == 2  # gone, not coasting
    # A digit the earlier reads missed is shown from the read that finds it a second time.
    two = dets((100, 100, 20, 30, 7, 0.9), (200, 100, 20, 30, 2, 0.9))
    tracker.update(two, recheck=True, size=(640, 480))
    assert tracker.current(640, 480).labels.tolist() == [7]
    tracker.update(two, recheck=True, size=(640, 480))
    assert sorted(tracker.current(640, 480).labels.tolist()) == [2, 7]


def test_what_a_recheck_finds_at_the_views_new_edge_or_a_changed_views_read_shows_at_once() -> None:
    """Writing the camera's drift brought in (cut by the frame's edge at the read before),
    and anything a read of a changed view finds, is new: shown from its first read."""
    tracker = Tracker()
    tracker.update(dets((100, 100, 20, 30, 7, 0.9)), size=(640, 480))
    tracker.shift(0.0, -10.0)  # the view drifted up by 10 px: the bottom 10 rows are new
    entering = dets((100, 90, 20, 30, 7, 0.9), (300, 445, 20, 30, 5, 0.9))
    tracker.update(entering, recheck=True, size=(640, 480))
    assert sorted(tracker.current(640, 480).labels.tolist()) == [5, 7]
    tracker.update(
        dets((100, 90, 20, 30, 7, 0.9), (300, 445, 20, 30, 5, 0.9), (400, 200, 20, 30, 4, 0.9)),
        size=(640, 480),
    )
    assert sorted(tracker.current(640, 480).labels.tolist()) == [4, 5, 7]
    # After a region's read, a re-check of the whole frame finds outside that region what no
    # read looked at since the last whole one: shown at once too.
    tracker.update(
        dets((100, 90, 20, 30, 7, 0.9)), region=(50.0, 50.0, 120.0, 120.0), size=(640, 480)
    )
    found = dets(
        (100, 90, 20, 30, 7, 0.9),
        (300, 445, 20, 30, 5, 0.9),
        (400, 200, 20, 30, 4, 0.9),
        (500, 300, 20, 30, 9, 0.9),
    )
    tracker.update(found, recheck=True, size=(640, 480))
    assert sorted(tracker.current(640, 480).labels.tolist()) == [4, 5, 7, 9]

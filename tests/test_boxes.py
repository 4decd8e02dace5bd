"""Box arithmetic on (x, y, w, h) boxes."""

from __future__ import annotations

import pytest

from edgecam.boxes import centres_in, intersection, iou


@pytest.mark.parametrize(
    ("a", "b", "inter", "expected_iou"),
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 100, 1.0),
        ((0, 0, 10, 10), (5, 0, 10, 10), 50, 50 / 150),
        ((0, 0, 10, 10), (10, 0, 10, 10), 0, 0.0),  # touching edges share nothing
        ((0, 0, 10, 10), (2, 2, 4, 4), 16, 16 / 100),  # nested
        ((0, 0, 0, 0), (0, 0, 0, 0), 0, 0.0),  # empty boxes do not divide by zero
    ],
)
def test_intersection_and_iou(
    a: tuple[int, ...], b: tuple[int, ...], inter: float, expected_iou: float
) -> None:
    assert intersection(a, b) == pytest.approx(inter)
    assert iou(a, b) == pytest.approx(expected_iou)
    assert iou(b, a) == pytest.approx(expected_iou)


def test_centres_in_counts_the_left_and_top_edges_in_and_the_right_and_bottom_out() -> None:
    # Centres at x = 5, 15, 25 and y = 5; the rect spans x 10-20 and y 0-10.
    boxes = [(0, 0, 10, 10), (10, 0, 10, 10), (20, 0, 10, 10), (15, 5, 10, 10)]
    assert centres_in(boxes, (10, 0, 10, 10)).tolist() == [False, True, False, False]
    assert centres_in(boxes, (5, 5, 10, 5)).tolist() == [True, False, False, False]
    assert centres_in([], (0, 0, 10, 10)).tolist() == []

"""How the view moved since the last full read, and whether anything in it changed.

Reading a frame costs ~10 ms; a camera delivers the same sheet over and over. Like
DeepStream's inference ``interval`` with a tracker, or Frigate gating its detector on motion,
the daemon reads a frame in full only when it must, and between such *keyframes* moves the
last reading with the camera. This module decides, in well under a millisecond, on a
4×-subsampled grey copy of the frame:

* **Camera motion**: phase correlation against the keyframe gives the global shift (the
  hand-held shake and pan of a camera over a flat sheet are close to a translation over a few
  frames). A weak correlation peak means the view is no longer the keyframe's view.
* **Change**: after undoing the shift, the share of pixels in each block of the frame that
  left the grey range of the keyframe's neighbourhood by a clear step. A digit written or
  uncovered, a hand coming in, a sheet swapped: any block over the threshold asks for a full
  read. Noise, a slight blur or a stroke misplaced by a pixel stay inside the range.
* **What came into view**: once the camera has moved far from the keyframe, the strip it
  uncovered is looked at. Bare paper (no step in it) only moves the reference to this
  frame, where the tracks already are (a *re-key*, no read); anything ink-like in it, a digit
  coming into view, is read at once.
* **A steady view** is re-read at ``keyframe_interval``; each such read that finds the same
  reading doubles the interval, up to ``max_interval``, and any other read or any motion
  brings it back (a sheet on a desk is confirmed every second, not four times a second).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from edgecam.types import VIDEO_BLACK, VIDEO_WHITE, Frame

STEP = 4  # subsampling of the motion image: 640×480 → 160×120
_MARK = np.ones((5, 5), np.uint8)  # marks narrower than this (motion pixels) are writing
_NEAR = np.ones((3, 3), np.uint8)  # the neighbourhood whose grey range a pixel may wander in
_CONFIRM_WAIT_S = 30.0  # a read that takes longer has failed: say so rather than hang


@dataclass(frozen=True)
class MotionParams:
    """When a frame must be read in full rather than carried over from the keyframe."""

    keyframe_interval: int = 8  # frames between two full reads of a view that just changed
    max_interval: int = 32  # ... growing to this while reads keep confirming the same reading
    change_threshold: float = 6.0  # percent of a block's pixels that changed clearly
    diff_level: int = 40  # grey-level step that counts as a clear change
    max_shift_frac: float = 0.05  # shift since the keyframe (fraction of the short side)
    min_response: float = 0.15  # phase correlation peak below this: the view is lost
    blocks: tuple[int, int] = (6, 8)  # rows × columns of change blocks (~a digit's size)


@dataclass(frozen=True)
class Motion:
    """One frame against the keyframe: the shift (full-frame pixels) and whether to read."""

    dx: float
    dy: float
    change: float  # largest changed share (percent) of any block
    response: float
    reason: str  # why this frame must be read in full; "" to carry the keyframe over
    rekey: bool = False  # moved far over bare paper: make this frame the reference, unread

    @property
    def keyframe(self) -> bool:
        return bool(self.reason)


def motion_image(picture: Frame | npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """The green channel (or grey) subsampled by :data:`STEP` and slightly smoothed; of a
    frame that came as YUV, its luma, stretched from video range (16-235) to 0-255 so that
    grey paper and ink keep the values their green channel would have after conversion
    (and the gate's thresholds their meaning), without converting the frame."""
    video_range = False
    if not isinstance(picture, Frame):
        image = picture
    elif picture.yuv is not None:
        image, video_range = picture.yuv.luma(), not picture.yuv.full_range
    else:
        image = picture.image
    small = image[STEP // 2 :: STEP, STEP // 2 :: STEP]
    if small.ndim == 3:
        small = small[:, :, 1] if small.shape[2] >= 3 else small[:, :, 0]
    smooth = cv2.GaussianBlur(np.ascontiguousarray(small), (3, 3), 0)
    if video_range:
        stretch = np.float32(255 / (VIDEO_WHITE - VIDEO_BLACK))
        return np.asarray((smooth.astype(np.float32) - VIDEO_BLACK) * stretch, np.float32)
    return np.asarray(smooth, np.float32)


def _short_side(picture: Frame | npt.NDArray[np.uint8]) -> int:
    if isinstance(picture, Frame):
        return min(picture.width, picture.height)
    return int(min(picture.shape[:2]))


def _dft_centre(n: int) -> int:
    """The length of the centre used for phase correlation: about four fifths of ``n``,
    rounded down to a size OpenCV's DFT factors fully (2, 3 and 5); all of a small side."""
    if n < 40:
        return n
    size = n * 4 // 5
    while cv2.getOptimalDFTSize(size) != size:
        size -= 1
    return size


@lru_cache(maxsize=64)
def _area_weights(n: int, k: int) -> npt.NDArray[np.float32]:
    """A (k, n) matrix that averages ``n`` pixels into ``k`` equal spans, pixels cut by a
    span's edge shared by overlap: OpenCV's ``INTER_AREA`` resize as a product.

    Two small matrix products give the block means of the change mask in ~20 µs; the resize
    itself, at the fractional scales a shifted crop has (157 → 8), took 60-80 µs, an eighth
    of the gate's time a frame. A crop's size varies only with the rounded shift, so a few
    dozen pairs of weights cover any camera."""
    span = n / k
    edges = np.arange(k + 1) * span
    left = np.arange(n)
    overlap = np.minimum(edges[1:, None], left + 1) - np.maximum(edges[:-1, None], left)
    return np.asarray(np.clip(overlap, 0.0, None) / span, np.float32)


class MotionGate:
    """Tracks the camera's shift since the last keyframe and says when to read a frame."""

    def __init__(self, params: MotionParams | None = None) -> None:
        self.params = params or MotionParams()
        self._key: npt.NDArray[np.float32] | None = None
        self._key_windowed: npt.NDArray[np.float32] = np.empty(0, np.float32)
        self._key_hi: npt.NDArray[np.float32] = np.empty(0, np.float32)
        self._key_lo: npt.NDArray[np.float32] = np.empty(0, np.float32)
        self._window: npt.NDArray[np.float32] | None = None  # for the centre of ...
        self._window_for: tuple[int, ...] = ()  # ... motion images of this shape
        self._centre = (slice(0), slice(0))
        self._since = 0  # frames since the last full read
        self._moving = False  # re-keyed since the last full read
        self.interval = self.params.keyframe_interval
        self.rekeys = 0
        # Full reads decided by check() and answered by confirm(), which may run on two threads.
        self._cond = threading.Condition()
        self._issued = 0
        self._confirmed = 0

    def check(
        self, picture: Frame | npt.NDArray[np.uint8], *, stop: threading.Event | None = None
    ) -> Motion:
        """Compare a frame with the reference and decide. A frame to be read in full, or
        re-keyed, becomes the new reference at once: the decision needs only pictures, so it
        can run ahead of the reads, on another thread, in frame order. Every full read decided
        here must be answered with :meth:`confirm` once it is done.

        Whether a steady view is due for a read depends on what the last read found, so that
        one decision waits (until ``stop``) for :meth:`confirm` of every read decided before.
        """
        small = motion_image(picture)
        p = self.params
        key = self._key
        if key is None or key.shape != small.shape:
            self._read(small)
            return Motion(0.0, 0.0, 100.0, 0.0, "first")
        self._since += 1
        sx, sy, response = self._shift(small)
        dx, dy = sx * STEP, sy * STEP
        reason = ""
        change = 0.0
        rekey = False
        if response < p.min_response:
            reason = "lost"
        else:
            change = self._change(small, sx, sy)
            if change > p.change_threshold:
                reason = "changed"
            elif np.hypot(dx, dy) > p.max_shift_frac * _short_side(picture):
                if self._uncovered_blank(small, sx, sy):
                    rekey = True
                else:
                    reason = "moved"
            elif self._since >= p.keyframe_interval and self._since >= self._interval_now(stop):
                reason = "interval"
        if reason:
            self._read(small)
        elif rekey:
            self._set_reference(small)
            self._moving = True  # a moving camera is re-read sooner
            self.rekeys += 1
        return Motion(dx, dy, change, float(response), reason, rekey)

    def pending(self) -> bool:
        """Whether the next :meth:`check` may wait for a read decided before to be confirmed
        (a thread running ahead of the reads can do other work meanwhile)."""
        with self._cond:
            unconfirmed = self._confirmed < self._issued
        return unconfirmed and self._since + 1 >= self.params.keyframe_interval

    def confirm(self, confirmed: bool = False) -> None:
        """The oldest outstanding full read is done. ``confirmed``: it was an interval read
        that found the reading unchanged, so the view may wait longer for the next one."""
        base = self.params.keyframe_interval
        # An interval of 1 asks for every frame to be read: it never grows.
        longest = max(base, self.params.max_interval) if base > 1 else 1
        with self._cond:
            self.interval = min(2 * self.interval, longest) if confirmed else base
            self._confirmed += 1
            self._cond.notify_all()

    def _read(self, small: npt.NDArray[np.float32]) -> None:
        self._set_reference(small)
        self._since = 0
        self._moving = False
        with self._cond:
            self._issued += 1

    def _interval_now(self, stop: threading.Event | None) -> int:
        """The interval once every earlier read is confirmed (at most a few frames' wait)."""
        with self._cond:
            deadline = time.monotonic() + _CONFIRM_WAIT_S
            while self._confirmed < self._issued and not (stop is not None and stop.is_set()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(
                        f"motion gate: a full read was not confirmed within {_CONFIRM_WAIT_S} s"
                    )
                self._cond.wait(min(left, 0.05))
            interval = self.interval
        return min(interval, 2 * self.params.keyframe_interval) if self._moving else interval

    def _set_reference(self, small: npt.NDArray[np.float32]) -> None:
        """Keep what every later frame is compared with: the windowed reference for the
        shift, and its neighbourhood's grey range for the change."""
        self._key = small
        self._key_windowed = self._windowed(small)
        self._key_hi = np.asarray(cv2.dilate(small, _NEAR), np.float32) + self.params.diff_level
        self._key_lo = np.asarray(cv2.erode(small, _NEAR), np.float32) - self.params.diff_level

    def _shift(self, small: npt.NDArray[np.float32]) -> tuple[float, float, float]:
        """The shift of this frame against the reference in motion pixels, and the strength
        of the correlation peak (1 for the same picture).

        OpenCV's phaseCorrelate windows its inputs in place when given a window, which would
        spoil the stored reference, so both go in as windowed copies (the reference's kept
        from when it was made)."""
        (sx, sy), response = cv2.phaseCorrelate(self._key_windowed, self._windowed(small))
        return float(sx), float(sy), float(response)

    def _uncovered_blank(self, small: npt.NDArray[np.float32], sx: float, sy: float) -> bool:
        """Whether the strips of this frame that the keyframe did not see hold nothing that
        could be writing: no thin dark mark ``diff_level`` below the surface around it.

        A morphological black-hat finds marks narrower than its kernel (pen strokes, up to
        ~16 full-frame pixels); a page edge, a shadow or a desk's blotches are steps or broad
        and leave it flat, so a camera sliding over the sheet's margin or the desk is not read.
        """
        h, w = small.shape
        strips = []
        mx, my = int(np.ceil(abs(sx))) + 3, int(np.ceil(abs(sy))) + 3
        if sx > 0:
            strips.append(small[:, :mx])
        elif sx < 0:
            strips.append(small[:, max(0, w - mx) :])
        if sy > 0:
            strips.append(small[:my])
        elif sy < 0:
            strips.append(small[max(0, h - my) :])
        for strip in strips:
            if strip.size == 0:
                continue
            marks = cv2.morphologyEx(np.ascontiguousarray(strip), cv2.MORPH_BLACKHAT, _MARK)
            if float(marks.max()) > self.params.diff_level:
                return False
        return True

    def _windowed(self, small: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """A Hann-windowed copy of the picture's centre for phase correlation (no wrap-around
        edges to match).

        The window leaves the outer tenth on each side almost nothing to say, so only the
        centre is transformed, cut to a size OpenCV's DFT handles fastest: 128×96 of a VGA
        frame's 160×120 takes 41 % fewer instructions (1.23 M against 2.08 M a frame), and
        phase correlation is two thirds of the gate's work."""
        if self._window is None or self._window_for != small.shape:
            h, w = small.shape
            ch, cw = _dft_centre(h), _dft_centre(w)
            y0, x0 = (h - ch) // 2, (w - cw) // 2
            self._centre = (slice(y0, y0 + ch), slice(x0, x0 + cw))
            self._window = np.asarray(cv2.createHanningWindow((cw, ch), cv2.CV_32F), np.float32)
            self._window_for = small.shape
        return np.asarray(small[self._centre] * self._window, np.float32)

    def _change(self, small: npt.NDArray[np.float32], sx: float, sy: float) -> float:
        """Largest share (percent) of clearly changed pixels in any block, shift undone.

        A pixel changed when it left the grey range of the reference's 3×3 neighbourhood at
        the shifted place by ``diff_level``: a stroke edge that the rounding of the shift or
        a slight rotation misplaces by a pixel does not count, new ink or a hand does. The
        strip the shift uncovered has no reference and is left out, with a pixel's margin.
        """
        h, w = small.shape
        rx, ry = round(sx), round(sy)
        # Frame pixel (y, x) shows what the reference had at (y - ry, x - rx).
        x0, x1 = max(0, rx) + 1, min(w, w + rx) - 1
        y0, y1 = max(0, ry) + 1, min(h, h + ry) - 1
        if x1 - x0 < 8 or y1 - y0 < 8:
            return 100.0
        cur = small[y0:y1, x0:x1]
        hi = self._key_hi[y0 - ry : y1 - ry, x0 - rx : x1 - rx]
        lo = self._key_lo[y0 - ry : y1 - ry, x0 - rx : x1 - rx]
        diff = np.asarray(cv2.compare(cur, hi, cv2.CMP_GT)) | np.asarray(
            cv2.compare(cur, lo, cv2.CMP_LT)
        )
        rows, cols = self.params.blocks
        down, across = _area_weights(y1 - y0, rows), _area_weights(x1 - x0, cols)
        share = (down @ diff) @ across.T  # mean per block, 0-255
        return float(np.rint(share.max())) * 100.0 / 255.0

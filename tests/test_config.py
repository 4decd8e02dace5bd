"""The daemon's configuration as a user writes it: TOML files, flag overrides, one-line errors."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from edgecam.backends import BACKENDS
from edgecam.config import (
    Config,
    ConfigError,
    apply_overrides,
    check_file,
    load_config,
)
from tests.conftest import ROOT

EXAMPLE = ROOT / "systemd" / "edgecam.toml"
SECTIONS = sorted(Config.model_fields)


def section_model(name: str) -> type[BaseModel]:
    model = Config.model_fields[name].annotation
    assert isinstance(model, type)
    assert issubclass(model, BaseModel)
    return model


ALL_KEYS = [f"{s}.{k}" for s in SECTIONS for k in section_model(s).model_fields]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edgecam.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- valid files -------------------------------------------------------------------------------


def test_an_empty_file_gives_every_default(tmp_path: Path) -> None:
    # given an empty file
    path = write(tmp_path, "")
    # when it is loaded
    config = load_config(path)
    # then every section holds its documented default
    assert config == Config()
    assert config.camera.id == "cam0"
    assert config.camera.source == "demo"
    assert config.backend.name == "litert"
    assert config.backend.model is None
    assert config.tracking.votes == 9
    assert config.pipeline.keyframe_interval == 8
    assert config.pipeline.max_frames is None
    assert config.results.jsonl == "-"
    assert config.log.level == "info"


def test_the_example_file_is_valid_and_equals_the_defaults() -> None:
    # given the example a user copies to /etc/edgecam/edgecam.toml
    # when it is loaded
    config = load_config(EXAMPLE)
    # then it is the default configuration, so its comments cannot drift from the schema
    assert config == Config()


@pytest.mark.parametrize("key", ALL_KEYS)
def test_the_example_file_lists_every_key(key: str) -> None:
    # given the example's text
    text = EXAMPLE.read_text(encoding="utf-8")
    section, name = key.split(".")
    # when we look for the key under its section header (set, or commented out)
    body = text.split(f"\n[{section}]\n", 1)[1].split("\n[", 1)[0]
    # then it is there, with a comment
    match = re.search(rf"^#? ?{name} = .*#", body, re.MULTILINE)
    assert match, f"{key} missing from {EXAMPLE}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[camera]\nsource = "clip.mp4"\nloop = true', {"camera.source": "clip.mp4"}),
        ('camera.source = "file:///v.avi"', {"camera.source": "file:///v.avi"}),
        ('camera = { id = "door-1", realtime = false }', {"camera.id": "door-1"}),
        ("[backend]\nthreads = 4", {"backend.threads": 4}),
        ('[backend]\nmodel = "/opt/m"', {"backend.model": Path("/opt/m")}),
        ("[pipeline]\nchange_threshold = 5", {"pipeline.change_threshold": 5.0}),
        ("[pipeline]\nmax_frames = 1", {"pipeline.max_frames": 1}),
        ('[display]\nsave_overlay = "out/Run.MP4"', {"display.save_overlay": Path("out/Run.MP4")}),
        ('[display]\nsave_overlay = "run.avi"', {"display.save_overlay": Path("run.avi")}),
        ('[results]\njsonl = ""', {"results.jsonl": ""}),
        ('[log]\nlevel = "WARNING"', {"log.level": "warning"}),
        ("[tracking]\niou = 1.0\nmax_missed = 0", {"tracking.iou": 1.0}),
        (
            '[camera]\nsource = "csi://0"\nwidth = 1920\nheight = 1080\nfps = 30\n'
            'flip = "rotate-180"',
            {"camera.width": 1920, "camera.fps": 30.0, "camera.flip": "rotate-180"},
        ),
    ],
)
def test_valid_values_are_read(tmp_path: Path, text: str, expected: dict[str, object]) -> None:
    # given a file setting some keys
    path = write(tmp_path, text)
    # when it is loaded
    config = load_config(path)
    # then the values arrive typed
    for key, value in expected.items():
        section, name = key.split(".")
        assert getattr(getattr(config, section), name) == value


# --- validation errors name the file, line and dotted key -------------------------------------

KNOWN_PIPELINE = (
    "(known: change_threshold, full_read_frames, keyframe_interval, max_frames, "
    "max_keyframe_interval, vision_threads)"
)
KNOWN_SECTIONS = (
    "(known: backend, camera, display, http, log, mqtt, pipeline, reader, results, tracking)"
)


@pytest.mark.parametrize(
    ("text", "line", "key", "needles"),
    [
        pytest.param(
            "# comment\n\n[pipeline]\nkeyframe_interval = 4\nkeyframe_intervall = 3\n",
            5,
            "pipeline.keyframe_intervall",
            ["unknown key", "did you mean keyframe_interval?", KNOWN_PIPELINE],
            id="unknown-key",
        ),
        pytest.param(
            '[camera]\nid = "a"\n\npipelin.max_frames = 3\n',
            4,
            "camera.pipelin",
            ["unknown key", "(known: flip, fps, height, id, loop, open_timeout, realtime, "],
            id="unknown-dotted-key-in-table",
        ),
        pytest.param(
            "pipeline.keyframe_intervall = 3\n",
            1,
            "pipeline.keyframe_intervall",
            ["unknown key", KNOWN_PIPELINE],
            id="unknown-dotted-key-at-top",
        ),
        pytest.param(
            '\n[camera]\nid = "a"\n[cameras]\nid = "b"\n',
            4,
            "cameras",
            ["unknown section, did you mean camera?", KNOWN_SECTIONS],
            id="unknown-section",
        ),
        pytest.param(
            "[backend]\n[backend.extra]\nx = 1\n",
            2,
            "backend.extra",
            ["unknown key", "(known: model, name, threads)"],
            id="unknown-subtable",
        ),
        pytest.param(
            "[tracking]\nvotes = 3\n\n\n\n\nmax_missed = -1",
            7,
            "tracking.max_missed",
            ["greater than or equal to 0", "(got -1)"],
            id="out-of-range",
        ),
        pytest.param(
            "[backend]\nthreads = 0\n",
            2,
            "backend.threads",
            ["Input should be greater than or equal to 1 (got 0)"],
            id="below-minimum",
        ),
        pytest.param(
            '[backend]\nthreads = "4"\n',
            2,
            "backend.threads",
            ["valid integer", '(got "4")'],
            id="quoted-number",
        ),
        pytest.param(
            "[display]\nwindow = 1\n",
            2,
            "display.window",
            ["valid boolean", "(got 1)"],
            id="number-for-bool",
        ),
        pytest.param(
            '[backend]\nname = "onnx"\n',
            2,
            "backend.name",
            ["'litert', 'keras' or 'tensorrt'", '(got "onnx")'],
            id="unknown-backend",
        ),
        pytest.param(
            "[pipeline]\nchange_threshold = nan\n",
            2,
            "pipeline.change_threshold",
            ["finite number"],
            id="nan",
        ),
        pytest.param(
            "[tracking]\niou = 0\n",
            2,
            "tracking.iou",
            ["greater than 0"],
            id="iou-zero",
        ),
        pytest.param(
            '[camera]\nid = "front door"\n',
            2,
            "camera.id",
            ["letters, digits", '(got "front door")'],
            id="camera-id-pattern",
        ),
        pytest.param(
            '[camera]\nsource = ""\n',
            2,
            "camera.source",
            ["at least 1 character"],
            id="empty-source",
        ),
        pytest.param(
            '[backend]\nmodel = ""\n',
            2,
            "backend.model",
            ["must not be empty"],
            id="empty-path",
        ),
        pytest.param(
            '[display]\nwindow = true\nsave_overlay = "run.mkv"\n',
            3,
            "display.save_overlay",
            ["must end with .mp4 or .avi", '(got "run.mkv")'],
            id="overlay-container",
        ),
        pytest.param(
            '[display]\nsave_overlay = "mp4"\n',
            2,
            "display.save_overlay",
            ["must end with .mp4 or .avi"],
            id="overlay-no-suffix",
        ),
        pytest.param(
            "camera = 5\n",
            1,
            "camera",
            ["must be a table, like [camera]", "(got 5)"],
            id="section-not-a-table",
        ),
        pytest.param(
            'display = { window = true, save_overlay = "a.gif" }\n',
            1,
            "display.save_overlay",
            ["must end with .mp4 or .avi"],
            id="inline-table",
        ),
        pytest.param(
            '[log]\nlevel = "verbose"\n',
            2,
            "log.level",
            ["'debug', 'info', 'warning' or 'error'"],
            id="log-level",
        ),
        pytest.param(
            "[camera]\nwidth = 1280\n",
            1,
            "camera",
            ["width and height go together"],
            id="width-without-height",
        ),
        pytest.param(
            '[camera]\nflip = "sideways"\n',
            2,
            "camera.flip",
            ["'clockwise'", "'upper-right-diagonal'", '(got "sideways")'],
            id="unknown-flip",
        ),
        pytest.param(
            "[camera]\nreconnect_initial = 5.0\nreconnect_max = 1.0\n",
            1,
            "camera",
            ["reconnect_max must be at least reconnect_initial"],
            id="backoff-cap-below-start",
        ),
        pytest.param(
            "[camera]\nstall_timeout = 0\n",
            2,
            "camera.stall_timeout",
            ["greater than 0"],
            id="stall-timeout-zero",
        ),
    ],
)
def test_a_bad_value_names_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, needles: list[str]
) -> None:
    # given a file with one mistake
    path = write(tmp_path, text)
    # when it is loaded
    message = load_error(path)
    # then the one-line error starts file:line: key: and says what is wrong
    assert message.startswith(f"{path}:{line}: {key}: "), message
    for needle in needles:
        assert needle in message, message


def test_lines_are_found_past_strings_arrays_and_comments_that_look_like_toml(
    tmp_path: Path,
) -> None:
    # given decoys: a multi-line string, a multi-line array and comments that look like keys
    text = "\n".join(
        [
            "[camera]",  # 1
            'source = """',  # 2
            "[backend]",  # 3
            "threads = 0",  # 4
            '"""',  # 5
            "# threads = 0",  # 6
            "[\"reader\"]  # ['backend']",  # 7
            "min_confidence = 0.5",  # 8
            "[backend]",  # 9
            "name = 'litert' # threads = 2",  # 10
            "model = '''",  # 11
            "threads = 0'''",  # 12
            "threads = 0",  # 13
        ]
    )
    path = write(tmp_path, text)
    # when it is loaded
    message = load_error(path)
    # then the line is the real assignment, not a decoy
    assert message.startswith(f"{path}:13: backend.threads: "), message


@pytest.mark.parametrize(
    "text",
    [
        '[camera]\nsource = """a \\""" threads = 0\n""""\n[backend]\nthreads = 0',
        "[camera]\nsource = '''x\nthreads = 0'''''\n[backend]\nthreads = 0",
        '[camera]\nsource = "a # b = [c]"\n[backend] # [x]\nthreads = 0',
        '[camera]\n"source" = "\\"]"\n[backend]\nthreads = 0',
        "reader = { min_confidence = 0.5, min_margin = [\n] }\n[backend]\nthreads = 0",
        "\n\n\n[backend]\r\nthreads = 0\r\n",
    ],
    ids=["escaped-quotes", "literal-quote-run", "hash-in-string", "quoted-key", "array", "crlf"],
)
def test_string_and_array_contents_do_not_shift_lines(tmp_path: Path, text: str) -> None:
    # given a file whose last line is the mistake, after tricky TOML
    path = write(tmp_path, text)
    line = text.rstrip("\r\n").count("\n") + 1
    # when it is loaded
    message = load_error(path)
    # then the mistake's own line is named
    assert f"{path}:{line}: backend.threads: " in message, message


def test_a_key_in_a_quoted_dotted_table_is_found(tmp_path: Path) -> None:
    # given a table header written with quotes and spaces, and a value array over lines
    path = write(tmp_path, '[ "pipeline" ]\nkeyframe_interval = 2\nmax_frames = [\n  1,\n]\n')
    # when it is loaded
    message = load_error(path)
    # then the key is named with its own line
    assert message == f"{path}:3: pipeline.max_frames: Input should be a valid integer (got [1])"


def test_several_errors_stay_on_one_line_in_file_order(tmp_path: Path) -> None:
    # given five mistakes, the later ones first in schema order
    text = '[log]\nlevel = "x"\n[camera]\nid = "?"\n[backend]\nthreads = 0\nname = "x"\n[oops]\n'
    path = write(tmp_path, text)
    # when it is loaded
    message = load_error(path)
    # then the first three by line are shown, joined by "; ", and the rest counted
    parts = message.split("; ")
    assert [p.split(": ")[0] for p in parts] == [f"{path}:2", f"{path}:4", f"{path}:6"]
    assert message.endswith("(and 2 more errors)")


def test_a_single_extra_error_is_counted_in_the_singular(tmp_path: Path) -> None:
    # given four mistakes
    path = write(tmp_path, "[backend]\nthreads = 0\n[a]\n[b]\n[c]\n")
    # when it is loaded
    # then the count reads naturally
    assert load_error(path).endswith("(and 1 more error)")


# --- files that cannot be read or parsed ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where", "needle"),
    [
        ('[camera]\nid = "cam0\n', ":2:", "invalid TOML"),
        ("[camera\n", ":1:", "invalid TOML"),
        ('[camera]\nid = "a"\n[camera]\n', ":3:", "invalid TOML"),
        ("[log]\nlevel == 1\n", ":2:", "invalid TOML"),
    ],
)
def test_invalid_toml_names_line_and_column(
    tmp_path: Path, text: str, where: str, needle: str
) -> None:
    # given a file that is not TOML
    path = write(tmp_path, text)
    # when it is loaded
    message = load_error(path)
    # then the error gives file:line:column and tomllib's reason, without its own "(at line...)"
    assert re.match(rf"{re.escape(str(path))}{where}\d+: {needle}: \S", message), message
    assert "(at line" not in message


def test_a_missing_file_says_how_to_fix_it(tmp_path: Path) -> None:
    # given no file
    path = tmp_path / "nope.toml"
    # when it is loaded
    message = load_error(path)
    # then the error names it and the fix
    assert message.startswith(f"config file {path} not found")
    assert "--config" in message


def test_a_folder_is_not_a_config_file(tmp_path: Path) -> None:
    assert "is a folder" in load_error(tmp_path)


def test_an_unreadable_file_says_permission_denied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a file this user may not read (faked: tests may run as root, who reads anything)
    path = write(tmp_path, "")

    def refuse(self: Path, encoding: str | None = None) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", refuse)
    # when it is loaded
    # then the error says why
    assert load_error(path) == f"cannot read config file {path}: permission denied for this user"


def test_a_file_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[camera]\nid = "caméra"\n'.encode("latin-1"))
    assert "not UTF-8" in load_error(path)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b'\xef\xbb\xbf[camera]\nid = "bom"\n')
    assert load_config(path).camera.id == "bom"


# --- command-line overrides --------------------------------------------------------------------


def test_overrides_replace_only_the_keys_given() -> None:
    # given a loaded configuration
    base = Config.model_validate({"camera": {"id": "door"}, "backend": {"threads": 2}})
    # when flags override some keys
    config = apply_overrides(
        base,
        {"camera.source": "x.mp4", "display.window": True, "pipeline.max_frames": 10},
    )
    # then those change, the rest stay, and the original is untouched
    assert config.camera.source == "x.mp4"
    assert config.display.window is True
    assert config.pipeline.max_frames == 10
    assert config.camera.id == "door"
    assert config.backend.threads == 2
    assert base.camera.source == "demo"


def test_override_strings_are_converted_as_flags_arrive() -> None:
    config = apply_overrides(Config(), {"pipeline.max_frames": "10", "display.window": "true"})
    assert config.pipeline.max_frames == 10
    assert config.display.window is True


def test_override_paths_may_be_path_objects() -> None:
    config = apply_overrides(
        Config(), {"display.save_overlay": Path("o.avi"), "backend.model": "m"}
    )
    assert config.display.save_overlay == Path("o.avi")
    assert config.backend.model == Path("m")


def test_no_overrides_give_an_equal_config() -> None:
    assert apply_overrides(Config(), {}) == Config()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"pipeline.max_frames": 0},
            "pipeline.max_frames: Input should be greater than or equal to 1 (got 0)",
        ),
        (
            {"display.save_overlay": "out.mkv"},
            'display.save_overlay: must end with .mp4 or .avi (got "out.mkv")',
        ),
        ({"backend.name": "onnx"}, "backend.name: Input should be"),
        ({"pipeline.keyframe_intervall": 3}, "pipeline.keyframe_intervall: unknown key"),
        ({"cam.source": "x"}, "cam: unknown section, did you mean camera?"),
        ({"camera.id.x": 1}, "camera.id.x: camera.id is a value, not a table"),
    ],
)
def test_overrides_are_validated_and_name_the_key(
    overrides: dict[str, object], expected: str
) -> None:
    # given an override that breaks the schema
    # when it is applied
    with pytest.raises(ConfigError) as caught:
        apply_overrides(Config(), overrides)
    # then the error names the dotted key, with no file or line
    message = str(caught.value)
    assert message.startswith(expected), message
    assert "\n" not in message


# --- config check ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        ("", "config OK: camera cam0 from demo, backend litert, results to stdout"),
        (
            '[camera]\nid = "door"\nsource = "/v/a.mp4"\n[backend]\nname = "tensorrt"\n'
            '[results]\njsonl = "/var/log/r.jsonl"',
            "config OK: camera door from /v/a.mp4, backend tensorrt, results to /var/log/r.jsonl",
        ),
        (
            '[results]\njsonl = ""',
            "config OK: camera cam0 from demo, backend litert, results nowhere",
        ),
        (
            '[camera]\nsource = "rtsp://admin:hunter2@10.0.0.5/live"',
            "config OK: camera cam0 from rtsp://***@10.0.0.5/live, backend litert, "
            "results to stdout",
        ),
    ],
)
def test_check_file_summarises_a_valid_file(tmp_path: Path, text: str, summary: str) -> None:
    assert check_file(write(tmp_path, text)) == summary


def test_check_file_raises_the_same_one_line_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[backend]\nthreads = 100\n")
    with pytest.raises(ConfigError, match=r":2: backend\.threads: .*less than or equal to 64"):
        check_file(path)


# --- the schema itself -------------------------------------------------------------------------


def test_the_backend_names_are_the_registered_backends() -> None:
    from typing import get_args

    assert set(get_args(section_model("backend").model_fields["name"].annotation)) == set(BACKENDS)


@pytest.mark.parametrize("key", ALL_KEYS + SECTIONS)
def test_every_field_is_described(key: str) -> None:
    section, _, name = key.partition(".")
    field = section_model(section).model_fields[name] if name else Config.model_fields[section]
    assert field.description


def test_a_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(ValidationError):
        config.camera.id = "other"


def _default(function: Callable[..., object], name: str) -> object:
    return inspect.signature(function).parameters[name].default


def test_the_defaults_are_those_of_what_they_configure() -> None:
    """The schema repeats the vision core's defaults rather than importing it (``config
    check`` stays light), so a default changed in one place only is caught here: a daemon
    run from a config file would otherwise read differently from the library and the CLI."""
    from edgecam.backends import load_backend
    from edgecam.backends.second import SURE
    from edgecam.processor import FrameProcessor
    from edgecam.tracking import Tracker
    from edgecam.vision.locate import DEFAULT_PARAMS
    from edgecam.vision.motion import MotionParams
    from edgecam.vision.reader import DigitReader

    config, motion, tracker = Config(), MotionParams(), Tracker()
    pairs = {
        "backend.threads": (config.backend.threads, _default(load_backend, "threads")),
        "reader.min_confidence": (
            config.reader.min_confidence,
            _default(DigitReader, "min_confidence"),
        ),
        "reader.min_margin": (config.reader.min_margin, _default(DigitReader, "min_margin")),
        "reader.work_long": (config.reader.work_long, DEFAULT_PARAMS.work_long),
        "tracking.iou": (config.tracking.iou, tracker.iou),
        "tracking.max_missed": (config.tracking.max_missed, tracker.max_missed),
        "tracking.votes": (config.tracking.votes, tracker.votes),
        "pipeline.keyframe_interval": (
            config.pipeline.keyframe_interval,
            motion.keyframe_interval,
        ),
        "pipeline.max_keyframe_interval": (
            config.pipeline.max_keyframe_interval,
            motion.max_interval,
        ),
        "pipeline.change_threshold": (config.pipeline.change_threshold, motion.change_threshold),
        "pipeline.full_read_frames": (
            config.pipeline.full_read_frames,
            _default(FrameProcessor, "full_read_frames"),
        ),
        # not a config key: the second network is asked below the reader's firm reading
        "second network's bar": (SURE, _default(DigitReader, "split_confidence")),
    }
    assert {k: a for k, (a, _) in pairs.items()} == {k: b for k, (_, b) in pairs.items()}

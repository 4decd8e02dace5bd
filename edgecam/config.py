"""One schema for the whole daemon: TOML in, validated frozen settings out, one-line errors.

Every section is a frozen pydantic model that forbids unknown keys, so a typo fails at
start-up (or in ``edgecam config check`` as systemd's ``ExecStartPre=``) instead of being
ignored. tomllib keeps no positions, so errors find their file line by scanning the text.

A new section (``[mqtt]`` with a ``password_file`` read from ``$CREDENTIALS_DIRECTORY``, say) is
one more :class:`_Section` and one more field of :class:`Config`; every entry point validates
through :func:`_validate`, the one place that would pass it a context, and error messages
never echo the value of a key that looks like a secret.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from edgecam.errors import UserError
from edgecam.sources.base import MIN_FRAME_SIDE, CaptureOptions, Flip, Recovery

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 needs the backport, which the 3.11+ development venv does not install.
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "BackendConfig",
    "CameraConfig",
    "Config",
    "ConfigError",
    "DisplayConfig",
    "HttpConfig",
    "LogConfig",
    "MqttConfig",
    "PipelineConfig",
    "ReaderConfig",
    "ResultsConfig",
    "TrackingConfig",
    "apply_overrides",
    "check_file",
    "load_config",
]

BackendName = Literal["litert", "keras", "tensorrt"]
LogLevel = Literal["debug", "info", "warning", "error"]

_CAMERA_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_VIDEO_SUFFIXES = (".mp4", ".avi")
_SECRET_WORDS = ("password", "secret", "token")
_MAX_SHOWN_ERRORS = 3


class ConfigError(UserError):
    """The configuration cannot be used; the message is one line that names file, line and key."""


def _not_empty(value: object) -> object:
    # Path("") is ".", which would silently mean "the current folder".
    if value == "":
        raise PydanticCustomError("empty_path", "must not be empty: leave the key out instead")
    return value


# TOML strings become paths; everything else in the schema is strict, so `threads = true` or
# `window = "no"` is an error rather than a guess.
_OptionalPath = Annotated[Path | None, Field(strict=False), BeforeValidator(_not_empty)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CameraConfig(_Section):
    id: str = Field(default="cam0", description="names the camera in results and topics")
    source: str = Field(
        default="demo",
        min_length=1,
        description='where frames come from: "demo", "synthetic", a video path, file://, '
        "v4l2:///dev/videoN, csi://N, rtsp://, test://PATTERN or gst:LAUNCH ! appsink",
    )
    loop: bool = Field(default=False, description="restart a file source at its end")
    realtime: bool = Field(
        default=True, description="pace a file at its own frame rate, as if live"
    )
    width: int | None = Field(
        default=None,
        ge=MIN_FRAME_SIDE,
        le=8192,
        description="frame width (px) to ask of the camera, or to scale to; None: its own",
    )
    height: int | None = Field(
        default=None,
        ge=MIN_FRAME_SIDE,
        le=8192,
        description="frame height (px) to ask of the camera, or to scale to; None: its own",
    )
    fps: float | None = Field(
        default=None,
        gt=0,
        le=1000,
        allow_inf_nan=False,
        description="frame rate to ask of the camera (files and RTSP drop to it); None: its own",
    )
    flip: Flip = Field(
        default="none",
        description="turn the picture: none, clockwise, counterclockwise, rotate-180, "
        "horizontal, vertical, upper-left-diagonal or upper-right-diagonal",
    )
    stall_timeout: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        allow_inf_nan=False,
        description="seconds without a frame before a playing live source is rebuilt",
    )
    open_timeout: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        allow_inf_nan=False,
        description="seconds a (re)built live source may take to give its first frame",
    )
    reconnect_initial: float = Field(
        default=0.25,
        gt=0,
        le=3600,
        allow_inf_nan=False,
        description="seconds before the first try to rebuild a lost live source; each failed "
        "try doubles it",
    )
    reconnect_max: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        allow_inf_nan=False,
        description="longest wait (s) between tries to rebuild a lost live source",
    )

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _CAMERA_ID.fullmatch(value):
            raise PydanticCustomError(
                "camera_id", "must be 1-64 letters, digits, '_' or '-', as it names topics"
            )
        return value

    @model_validator(mode="after")
    def _check_pairs(self) -> CameraConfig:
        if (self.width is None) != (self.height is None):
            raise ValueError("width and height go together: set both or neither")
        if self.reconnect_max < self.reconnect_initial:
            raise ValueError("reconnect_max must be at least reconnect_initial")
        return self

    def capture_options(self) -> CaptureOptions:
        return CaptureOptions(width=self.width, height=self.height, fps=self.fps, flip=self.flip)

    def recovery(self) -> Recovery:
        return Recovery(
            stall_s=self.stall_timeout,
            open_s=self.open_timeout,
            initial_s=self.reconnect_initial,
            max_s=self.reconnect_max,
        )


class BackendConfig(_Section):
    name: BackendName = Field(default="litert", description="inference runtime")
    model: _OptionalPath = Field(
        default=None, description="model file or folder; None means the bundled models/digits"
    )
    threads: int = Field(default=1, ge=1, le=64, description="CPU threads the runtime may use")


class ReaderConfig(_Section):
    min_confidence: float = Field(
        default=0.5,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="lowest probability kept as a digit",
    )
    min_margin: float = Field(
        default=0.5,
        ge=0,
        allow_inf_nan=False,
        description="lowest log ratio of best to second-best probability kept as a digit",
    )
    work_long: int = Field(
        default=800,
        ge=320,
        le=4096,
        description="long side (px) frames are shrunk to before digits are looked for; "
        "smaller is faster but loses the smallest digits",
    )


class TrackingConfig(_Section):
    iou: float = Field(
        default=0.3,
        gt=0,
        le=1,
        allow_inf_nan=False,
        description="box overlap that links a detection to a track",
    )
    max_missed: int = Field(
        default=15, ge=0, description="full reads a track is remembered while unseen"
    )
    votes: int = Field(default=9, ge=1, description="full reads of label history voted over")


class PipelineConfig(_Section):
    keyframe_interval: int = Field(
        default=8,
        ge=1,
        description="frames between two full reads of a view that just changed or moved; "
        "1 reads every frame",
    )
    max_keyframe_interval: int = Field(
        default=32,
        ge=1,
        description="most frames between two full reads of a steady view: the interval "
        "doubles, up to this, each time a read finds the same reading",
    )
    change_threshold: float = Field(
        default=6.0,
        gt=0,
        le=100,
        allow_inf_nan=False,
        description="percent of a region's pixels that changed clearly, after undoing the "
        "camera's motion, that forces a full read",
    )
    full_read_frames: int = Field(
        default=128,
        ge=1,
        description="a steady view's re-reads look only around the digits it shows (grown by "
        "1.5 digit heights), unless the whole frame was last read this many frames ago or "
        "more: then all of it, for digits missed before; 1 reads the whole frame every time",
    )
    max_frames: int | None = Field(default=None, ge=1, description="stop after this many frames")
    vision_threads: int = Field(
        default=1,
        ge=0,
        le=64,
        description="OpenCV worker threads for a frame's vision; 0 = one per core. Waking a "
        "pool for each of a read's many small calls costs more than it gives at camera rate",
    )


class DisplayConfig(_Section):
    window: bool = Field(default=False, description="show the overlay window")
    save_overlay: _OptionalPath = Field(
        default=None, description="record the overlay video to this .mp4 or .avi file"
    )
    status_bar: bool = Field(default=True, description="draw the status bar on the overlay")

    @field_validator("save_overlay")
    @classmethod
    def _check_container(cls, value: Path | None) -> Path | None:
        # The recorder picks its codec from the suffix; anything else would fail mid-run.
        if value is not None and value.suffix.lower() not in _VIDEO_SUFFIXES:
            raise PydanticCustomError("video_suffix", "must end with .mp4 or .avi")
        return value


class ResultsConfig(_Section):
    jsonl: str = Field(
        default="-",
        description='file to write one JSON result per frame to; "-" stdout, "" nowhere',
    )


class LogConfig(_Section):
    level: LogLevel = Field(default="info", description="least severe log level shown")

    @field_validator("level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


_TOPIC_LEVELS = re.compile(r"[^#+/\x00]+(/[^#+/\x00]+)*")
_DEVICE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_CREDENTIAL = re.compile(r"[A-Za-z0-9_.:-]{1,255}")


def _credential_name(value: str | None) -> str | None:
    """A systemd credential's name (``LoadCredential=NAME:...``), checked for both sinks."""
    if value is not None and not _CREDENTIAL.fullmatch(value):
        raise PydanticCustomError(
            "credential", "must be a systemd credential name (letters, digits, . _ - :)"
        )
    return value


class MqttConfig(_Section):
    url: str | None = Field(
        default=None,
        description="broker as mqtt://[user@]host[:port] (1883) or mqtts://[user@]host[:port] "
        "(TLS, 8883); never a password; None: MQTT off",
    )
    device: str | None = Field(
        default=None, description="names this device in topics; None: the hostname"
    )
    topic_prefix: str = Field(
        default="edgecam", description="first topic level(s): <prefix>/<device>/..."
    )
    qos: int = Field(default=1, ge=0, le=2, description="MQTT QoS of results and state: 0, 1 or 2")
    publish: Literal["every_frame", "on_change"] = Field(
        default="every_frame",
        description="publish a result every frame, or only when the stable reading (text) changes",
    )
    stats_interval: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        allow_inf_nan=False,
        description="seconds between two messages on <prefix>/<device>/stats",
    )
    keepalive: int = Field(
        default=30,
        ge=1,
        le=65535,
        description="seconds between keep-alive pings; the broker says offline (the last will) "
        "about 1.5 times this after the daemon dies without closing its connection",
    )
    username: str | None = Field(
        default=None, description="user name for the broker (a user@ in url wins)"
    )
    password_file: _OptionalPath = Field(
        default=None, description="file holding the broker password (one line)"
    )
    password_credential: str | None = Field(
        default=None,
        description="name of a systemd credential (LoadCredential=) holding the password",
    )
    tls: bool = Field(default=False, description="use TLS even with mqtt:// (mqtts:// always does)")
    ca_file: _OptionalPath = Field(
        default=None, description="CA certificates (PEM) to trust; None: the system's"
    )
    cert_file: _OptionalPath = Field(
        default=None, description="client certificate (PEM) for brokers that ask for one"
    )
    key_file: _OptionalPath = Field(default=None, description="the client certificate's key (PEM)")
    tls_insecure: bool = Field(
        default=False,
        description="accept any certificate and host name (UNSAFE: self-signed test brokers only)",
    )
    outbox_path: _OptionalPath = Field(
        default=None,
        description="SQLite file where results wait for the broker; None: "
        "$STATE_DIRECTORY/mqtt-outbox-<camera>.sqlite, else ~/.local/state/edgecam/",
    )
    outbox_max: int = Field(default=100_000, ge=10, description="most results the outbox holds")
    outbox_policy: Literal["drop_oldest", "drop_newest"] = Field(
        default="drop_oldest",
        description="what a full outbox drops (and counts): the oldest waiting results or new ones",
    )
    reconnect_min: int = Field(
        default=1, ge=1, le=3600, description="seconds before the first reconnection try"
    )
    reconnect_max: int = Field(
        default=30,
        ge=1,
        le=3600,
        description="longest wait (s) between reconnection tries; each failed try doubles it",
    )
    flush_timeout: float = Field(
        default=1.0,
        ge=0,
        le=60,
        allow_inf_nan=False,
        description="seconds a stopping daemon spends delivering the outbox; the rest stays on "
        "disk for the next start",
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None:  # the MQTT module only when it is used
            from edgecam.sinks.mqtt import parse_url

            parse_url(value)  # ValueError: pydantic reports it; the value is shown redacted
        return value

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str | None) -> str | None:
        if value is not None and not _DEVICE.fullmatch(value):
            raise PydanticCustomError(
                "device", "must be 1-64 letters, digits, '.', '_' or '-', as it names topics"
            )
        return value

    @field_validator("topic_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        if not _TOPIC_LEVELS.fullmatch(value):
            raise PydanticCustomError(
                "topic_prefix",
                "must be topic levels without '+', '#', empty levels or a leading or trailing '/'",
            )
        return value

    _check_credential = field_validator("password_credential")(_credential_name)

    @model_validator(mode="after")
    def _check_together(self) -> MqttConfig:
        if self.password_file is not None and self.password_credential is not None:
            raise ValueError("password_file and password_credential: give one, not both")
        address = None
        if self.url is not None:  # the MQTT module (paho, the outbox) only when it is used
            from edgecam.sinks.mqtt import parse_url

            address = parse_url(self.url)
        has_password = self.password_file is not None or self.password_credential is not None
        if has_password and not ((address and address.username) or self.username):
            raise ValueError("a password needs a user: set username or put user@ in url")
        tls = self.tls or bool(address and address.tls)
        tls_keys = ("ca_file", "cert_file", "key_file", "tls_insecure")
        if not tls and any(getattr(self, k) for k in tls_keys):
            raise ValueError(
                "ca_file, cert_file, key_file and tls_insecure need TLS: use mqtts:// or tls = true"
            )
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file needs cert_file")
        if self.reconnect_max < self.reconnect_min:
            raise ValueError("reconnect_max must be at least reconnect_min")
        return self


class HttpConfig(_Section):
    host: str = Field(
        default="127.0.0.1",
        min_length=1,
        description="address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 (every "
        "interface: set a token) or one interface's address",
    )
    port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="TCP port of the live page, /metrics and /healthz; 0 picks a free one "
        "(logged); None: HTTP off",
    )
    token_file: _OptionalPath = Field(
        default=None,
        description="file holding a bearer token every route but /healthz then requires",
    )
    token_credential: str | None = Field(
        default=None,
        description="name of a systemd credential (LoadCredential=) holding the bearer token",
    )
    stream_fps: float = Field(
        default=15.0,
        gt=0,
        le=120,
        allow_inf_nan=False,
        description="most overlay pictures a second /stream.mjpg sends (encoded once for all "
        "clients, only while one watches)",
    )
    jpeg_quality: int = Field(
        default=80, ge=1, le=100, description="JPEG quality of /stream.mjpg, 1-100"
    )
    health_window_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        allow_inf_nan=False,
        description="/healthz answers 200 only while the last result is at most this old (s)",
    )

    _check_credential = field_validator("token_credential")(_credential_name)

    @model_validator(mode="after")
    def _check_token(self) -> HttpConfig:
        if self.token_file is not None and self.token_credential is not None:
            raise ValueError("token_file and token_credential: give one, not both")
        return self


class Config(_Section):
    """Everything the daemon reads from its file; every section has defaults."""

    camera: CameraConfig = Field(default_factory=CameraConfig, description="the frame source")
    backend: BackendConfig = Field(default_factory=BackendConfig, description="the digit model")
    reader: ReaderConfig = Field(default_factory=ReaderConfig, description="what counts as read")
    tracking: TrackingConfig = Field(
        default_factory=TrackingConfig, description="following digits across frames"
    )
    pipeline: PipelineConfig = Field(
        default_factory=PipelineConfig, description="when to read a frame in full"
    )
    display: DisplayConfig = Field(default_factory=DisplayConfig, description="the overlay")
    results: ResultsConfig = Field(default_factory=ResultsConfig, description="where results go")
    log: LogConfig = Field(default_factory=LogConfig, description="logging")
    mqtt: MqttConfig = Field(
        default_factory=MqttConfig, description="publishing results to an MQTT broker"
    )
    http: HttpConfig = Field(
        default_factory=HttpConfig, description="the live page, metrics and health over HTTP"
    )


def load_config(path: Path) -> Config:
    """Read and validate a TOML file; any problem becomes one :class:`ConfigError` line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} not found: create it (see systemd/edgecam.toml) "
            "or pass --config with an existing file"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder: pass the file itself") from None
    except PermissionError:
        raise ConfigError(
            f"cannot read config file {path}: permission denied for this user"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_error(path, exc)) from None
    return _validate(data, path=path, text=text)


def apply_overrides(config: Config, overrides: Mapping[str, object]) -> Config:
    """Set dotted keys (``{"pipeline.max_frames": 10}``) from command-line flags, validated.

    Values may be typed or strings (``"10"``, ``"true"``), as flags often arrive; ``None`` is a
    value too, so leave out the flags the user did not give.
    """
    data = config.model_dump()
    for key, value in overrides.items():
        parts = key.split(".")
        node = data
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                table = ".".join(parts[: depth + 1])
                raise ConfigError(f"{key}: {table} is a value, not a table")
            node = child
        node[parts[-1]] = value
    return _validate(data, strict=False)


def check_file(path: Path) -> str:
    """Validate for ``edgecam config check`` (``ExecStartPre=``): a summary or ConfigError."""
    config = load_config(path)
    jsonl = config.results.jsonl
    results = {"-": "to stdout", "": "nowhere"}.get(jsonl, f"to {jsonl}")
    return (
        f"config OK: camera {config.camera.id} from {_redact(config.camera.source)}, "
        f"backend {config.backend.name}, results {results}"
    )


def _validate(
    data: Mapping[str, Any], *, path: Path | None = None, text: str = "", strict: bool | None = None
) -> Config:
    """The one door into :class:`Config`, turning pydantic's errors into one line.

    ``path`` and ``text`` place each error in its file; ``strict=None`` keeps the schema's own
    strictness, ``False`` lets flag strings convert.
    """
    try:
        return Config.model_validate(data, strict=strict)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    lines = _key_lines(text) if path is not None else {}
    placed: list[tuple[int, str]] = []
    for error in errors:
        line = _line_of(lines, _str_loc(error["loc"]))
        where = "" if path is None else f"{path}:{line}: " if line else f"{path}: "
        placed.append((line or sys.maxsize, f"{where}{_dotted(error['loc'])}: {_describe(error)}"))
    placed.sort(key=lambda item: item[0])  # file order; stable, so schema order within a line
    shown = "; ".join(message for _, message in placed[:_MAX_SHOWN_ERRORS])
    rest = len(placed) - _MAX_SHOWN_ERRORS
    if rest > 0:
        shown += f" (and {rest} more error{'s' if rest > 1 else ''})"
    raise ConfigError(shown) from None


def _describe(error: ErrorDetails) -> str:
    loc = _str_loc(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        known = sorted(_model_at(loc[:-1]).model_fields) if loc else []
        what = "unknown section" if len(loc) == 1 else "unknown key"
        close = difflib.get_close_matches(loc[-1], known, n=1) if loc else []
        hint = f", did you mean {close[0]}?" if close else ""
        return f"{what}{hint} (known: {', '.join(known)})"
    if kind in ("model_type", "dict_type"):
        message = f"must be a table, like [{_dotted(loc)}]"
    else:
        message = error["msg"].removeprefix("Value error, ")
    # A whole table as the input means a check across its keys: their values say nothing.
    shown = "input" in error and not isinstance(error["input"], dict)
    if shown and not any(word in _dotted(loc) for word in _SECRET_WORDS):
        message += f" (got {_redact(_show(error['input']))})"
    return message


def _show(value: object) -> str:
    """A value as it would be written in TOML, so the user recognises it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, str | Path):
        shown = json.dumps(str(value), ensure_ascii=False)
    elif isinstance(value, int | float):
        shown = repr(value)
    else:
        shown = json.dumps(value, ensure_ascii=False, default=str)
    return shown if len(shown) <= 60 else shown[:59] + "…"


def _str_loc(loc: tuple[int | str, ...]) -> tuple[str, ...]:
    # Our schema has no lists; stop at an index so table lookups stay meaningful.
    parts: list[str] = []
    for part in loc:
        if not isinstance(part, str):
            break
        parts.append(part)
    return tuple(parts)


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _model_at(loc: tuple[str, ...]) -> type[BaseModel]:
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(part)
        if field is None or not isinstance(field.annotation, type):
            break
        if not issubclass(field.annotation, BaseModel):
            break
        model = field.annotation
    return model


def _redact(source: str) -> str:
    """Hide ``user:password@`` in a source URI: the summary goes to the journal."""
    return re.sub(r"(?<=://)[^/@\s]*@", "***@", source)


def _line_of(lines: Mapping[tuple[str, ...], int], key: tuple[str, ...]) -> int | None:
    """The key's own line, else the line of the nearest table that holds it."""
    for end in range(len(key), 0, -1):
        line = lines.get(key[:end])
        if line is not None:
            return line
    return None


def _toml_error(path: Path, exc: ValueError) -> str:
    message = " ".join(str(exc).split())
    line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)", message)
    if match:
        message = message[: match.start()] + message[match.end() :]
        line, column = line or int(match.group(1)), column or int(match.group(2))
    if line is None:
        return f"{path}: invalid TOML: {message}"
    return f"{path}:{line}:{column}: invalid TOML: {message}"


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR = re.compile(r"[^,\]}\n#]*")


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """The line that first sets each key path (tables included) of an already valid TOML text.

    Best effort: a text this scanner misreads only loses line numbers, never the error.
    """
    scan = _Scanner(text)
    with contextlib.suppress(ValueError, IndexError):
        scan.document()
    return scan.lines


class _Scanner:
    """Just enough of a TOML lexer to know which line a key is on; it trusts tomllib's verdict."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[tuple[str, ...], int] = {}

    def peek(self, count: int = 1) -> str:
        return self.text[self.pos : self.pos + count]

    def advance(self, count: int = 1) -> None:
        end = min(self.pos + count, len(self.text))
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end

    def record(self, key: tuple[str, ...], line: int) -> None:
        for end in range(1, len(key) + 1):
            self.lines.setdefault(key[:end], line)

    def blank(self, *, newlines: bool) -> None:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t" or (newlines and char in "\r\n"):
                self.advance()
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.advance((len(self.text) if end < 0 else end) - self.pos)
            else:
                return

    def document(self) -> None:
        table: tuple[str, ...] = ()
        while True:
            self.blank(newlines=True)
            if self.pos >= len(self.text):
                return
            start, line = self.pos, self.line
            if self.peek() == "[":
                self.advance(2 if self.peek(2) == "[[" else 1)
                table = self.key()
                self.record(table, line)
            else:
                key = self.key()
                self.blank(newlines=False)
                if key and self.peek() == "=":
                    self.advance()
                    self.blank(newlines=False)
                    self.record(table + key, line)
                    self.value(table + key)
            end = self.text.find("\n", self.pos)
            self.advance((len(self.text) if end < 0 else end) - self.pos)
            if self.pos == start:
                self.advance()

    def key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self.blank(newlines=False)
            if self.peek() in ('"', "'"):
                start = self.pos
                self.string()
                parts.append(str(tomllib.loads(f"k = {self.text[start : self.pos]}")["k"]))
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if not match:
                    return tuple(parts)
                parts.append(match.group())
                self.advance(match.end() - self.pos)
            self.blank(newlines=False)
            if self.peek() != ".":
                return tuple(parts)
            self.advance()

    def value(self, key: tuple[str, ...] | None) -> None:
        char = self.peek()
        if char in ('"', "'"):
            self.string()
        elif char == "[":
            self.advance()
            self.sequence("]", lambda: self.value(None))
        elif char == "{":
            self.advance()
            self.sequence("}", lambda: self.inline_pair(key))
        else:
            match = _SCALAR.match(self.text, self.pos)
            self.advance(match.end() - self.pos if match else 1)

    def sequence(self, close: str, item: Callable[[], None]) -> None:
        while True:
            self.blank(newlines=True)
            if self.peek() in (close, ""):
                self.advance()
                return
            start = self.pos
            item()
            self.blank(newlines=True)
            if self.peek() == "," or self.pos == start:
                self.advance()

    def inline_pair(self, table: tuple[str, ...] | None) -> None:
        line = self.line
        key = self.key()
        self.blank(newlines=False)
        if not key or self.peek() != "=":
            return
        self.advance()
        self.blank(newlines=False)
        full = None if table is None else table + key
        if full is not None:
            self.record(full, line)
        self.value(full)

    def string(self) -> None:
        quote = self.peek()
        if self.peek(3) == quote * 3:
            index = self.pos + 3
            while index < len(self.text) and not self.text.startswith(quote * 3, index):
                index += 2 if quote == '"' and self.text[index] == "\\" else 1
            # A closing run of up to five quotes ends with the delimiter; the rest is content.
            run = 0
            while run < 5 and self.text.startswith(quote, index + run):
                run += 1
            self.advance(index + run - self.pos)
            return
        index = self.pos + 1
        while index < len(self.text) and self.text[index] not in (quote, "\n"):
            index += 2 if quote == '"' and self.text[index] == "\\" else 1
        self.advance(index + 1 - self.pos)

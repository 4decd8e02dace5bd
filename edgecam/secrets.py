"""Secrets from a file or a systemd credential, for the sinks that log in (MQTT) or guard a
door (HTTP): read once at start, named in errors by where they came from, never shown."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from edgecam.errors import UserError


def read_secret(
    file: Path | None,
    credential: str | None,
    *,
    keys: tuple[str, str],
    error: type[UserError],
    env: Mapping[str, str] | None = None,
) -> str | None:
    """The secret in ``file``, or in systemd's ``$CREDENTIALS_DIRECTORY/<credential>``
    (``LoadCredential=``), without its trailing line end; ``None`` when neither is given.

    ``keys`` are the config keys of the file and the credential, for the messages; problems
    raise ``error`` with one line that names where the secret was looked for.
    """
    env = os.environ if env is None else env
    if credential is not None:
        folder = env.get("CREDENTIALS_DIRECTORY")
        if not folder:
            raise error(
                f"{keys[1]} {credential!r}: $CREDENTIALS_DIRECTORY is not set: run under "
                f"systemd with LoadCredential={credential}:/path/to/file, or use {keys[0]}"
            )
        path, what = Path(folder) / credential, f"systemd credential {credential!r}"
    elif file is not None:
        path, what = file, f"{keys[0]} {file}"
    else:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{what}: not found, cannot read it: write the secret there") from None
    except OSError as exc:
        raise error(f"{what}: {exc.strerror or type(exc).__name__}: cannot read it") from None
    except UnicodeDecodeError:
        raise error(f"{what}: not UTF-8 text") from None
    secret = text.rstrip("\r\n")
    if not secret:
        raise error(f"{what} is empty")
    return secret

"""The one base class for problems a user can fix: each is printed as one line, exit status 2.

Every module's own error (a bad config key, a missing video, an unwritable results file, a
model that cannot be read) derives from :class:`UserError`, so the command line catches them
all without importing every module that defines one.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or environment; the message names the thing and the fix, on one line."""


def fault_line(exc: BaseException) -> str:
    """An unexpected exception as ``Type: message`` on one line, for the one-line reports of
    a fault in edgecam itself (its message may span lines)."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split()) or 'no message'}"

"""The one exception root. Every error a user can cause is a `MonotrailError`.

The CLI prints `error: <message>` and, when there is one, `hint: <hint>`, and exits with
`exit_code`. A traceback is printed only with MONOTRAIL_LOG=debug. Keep this module free of
imports: the warm path raises these too.
"""

from __future__ import annotations


class MonotrailError(Exception):
    """A failure the user can act on: what went wrong, where, and what to do."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        if self.where:
            return f"{self.where}: {self.message}"
        return self.message


class UsageError(MonotrailError):
    """Bad command line."""

    exit_code = 2


class InterpreterNotFound(MonotrailError):
    """No Python matches the request."""


class LockError(MonotrailError):
    """No lockfile, a malformed one, or one we cannot read (where = file and key path or line)."""


class SelectionError(MonotrailError):
    """The lock cannot serve this interpreter: requires-python, unknown extra/group, no wheel."""


class IndexError_(MonotrailError):
    """The package index failed: network down, 404, bad response."""


class DownloadError(MonotrailError):
    """A download failed or its hash did not match."""


class WheelError(MonotrailError):
    """A wheel is corrupt, hostile or inconsistent with its RECORD."""


class StoreError(MonotrailError):
    """The store cannot be written (permissions, disk full) or an entry is broken."""


class ShimError(MonotrailError):
    """A shell shim cannot be written or removed, or a shim would run itself (a loop)."""


class VenvError(MonotrailError):
    """No virtualenv to install into, or one that cannot be used or written."""


class ResolutionError(MonotrailError):
    """Requirements that cannot be resolved: conflicts, unknown packages, no fitting version."""


class ProjectError(MonotrailError):
    """A pyproject.toml or a PEP 723 script block that cannot be used (where = file and line)."""


class LockWriteError(MonotrailError):
    """A lock file cannot be written (a read-only checkout, no permission, a full disk); `errno` says which."""

    def __init__(self, message: str, *, errno: int | None, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, where=where, hint=hint)
        self.errno = errno


def os_error_text(exc: OSError, path: object = None, needed: int | None = None) -> str:
    """One line: what failed, on which path, and for a full disk how many bytes were needed."""
    import errno

    where = exc.filename or path
    if exc.errno == errno.ENOSPC:
        amount = f" ({needed} bytes needed)" if needed else ""
        return f"no space left on the device writing {where}{amount}"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"permission denied writing {where}"
    return f"{exc.strerror or exc} ({where})"


class SettingsError(MonotrailError):
    """An editor's or a tool's settings file that cannot be read or changed (`monotrail ide`), or
    no project to point an editor at (`monotrail env`); where = file, line and column."""

"""Writing a file so that a reader sees the old content or the new, never half of either.

The data goes to a temp file on the same filesystem, then one `os.replace` publishes it (an
existing file, possibly hardlinked into a venv, is replaced, never written through). The one
copy of this every writer shares; only the warm path's own entry (`monotrail.environment`,
which must not import one module more) and the streamed, hashed download (`monotrail.store.
download`) write their temp files themselves.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: the lean cold path (environment.clone) imports this module
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["fsync_directory", "write_atomic"]


def write_atomic(
    path: str | "os.PathLike[str]",
    data: bytes | str,
    *,
    temp_dir: str | "os.PathLike[str]" | None = None,
    mode: int | None = None,
    before_rename: Callable[[], None] | None = None,
) -> None:
    """Write `data` (str: UTF-8) to `path`, creating its directory.

    `temp_dir`: where the temp file is made, on the same filesystem: by default beside `path`
    (a hidden `.NAME.PID-RANDOM.tmp`); the store's caches pass `<root>/tmp`, where the name
    starts with the pid so that gc removes what a killed run left. `mode`: set before the rename.
    `before_rename`: called between the write and the rename (a crash point in tests).
    An OSError propagates; the temp file is removed either way. The name is unique per call, not
    per process: threads of one process may write the same file.
    """
    target = os.fspath(path)
    suffix = f"{os.getpid()}-{os.urandom(6).hex()}"
    if temp_dir is None:
        directory = os.path.dirname(target) or "."
        temp = os.path.join(directory, f".{os.path.basename(target)}.{suffix}.tmp")
    else:
        directory = os.fspath(temp_dir)
        temp = os.path.join(directory, f"{suffix}.tmp")
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    os.makedirs(directory, exist_ok=True)
    try:
        with open(temp, "xb") as file:
            file.write(data.encode("utf-8") if isinstance(data, str) else data)
        if mode is not None:
            os.chmod(temp, mode)
        if before_rename is not None:
            before_rename()
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass  # never created, or already renamed
        raise


def fsync_directory(path: str | "os.PathLike[str]") -> None:
    """Make a rename in `path` durable (a power loss must not bring back the old name)."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the rename itself is still atomic
    finally:
        os.close(descriptor)

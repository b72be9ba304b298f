"""Shell shims for `python`, `python3` and `python3.X`: `monotrail shims install|uninstall|list`.

A shim is a few lines of POSIX sh rendered from `shims/python-shim.sh`: outside a project it execs
the interpreter chosen here at install time, inside one it runs `monotrail +3.X run python ARGS`.
Deciding "inside a project" takes `[ -f ]` tests walking up from $PWD, so a shim outside a project
costs one /bin/sh start and no Python start (pyenv's shims cost a `pyenv exec`, ~60 ms).

Every file we write carries `MONOTRAIL_SHIM_MARKER` in its first lines: uninstall removes only
those, install overwrites only those, and discovery skips them (`interpreters.is_monotrail_shim`).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import NamedTuple

from monotrail.errors import ShimError
from monotrail.interpreters.discovery import Interpreter, is_monotrail_shim, list_interpreters
from monotrail import store_root
from monotrail.environment import sh_quote

TEMPLATE = "python-shim.sh"


class Shim(NamedTuple):
    """One file to write: its name, the Python it runs outside a project, the `+REQ` inside one."""

    name: str  # "python3.12"
    python: str  # the real binary
    request: str  # "+3.12"; "" for python/python3 (the project decides)
    follow_pin: bool  # python/python3 honour .python-version and MONOTRAIL_PYTHON outside a project


def default_dir() -> Path:
    return Path(os.path.expanduser("~/.local/bin"))


def plan(interpreters: list[Interpreter]) -> list[Shim]:
    """`python3.X` (and `python3.Xt`) for the newest patch of each installed minor version;
    `python` and `python3` for the newest stable, non-free-threaded one."""
    best: dict[str, Interpreter] = {}
    for interpreter in interpreters:
        if interpreter.implementation != "cpython":
            continue
        name = f"python{interpreter.python_version}{'t' if interpreter.free_threaded else ''}"
        if name not in best or interpreter.version > best[name].version:
            best[name] = interpreter
    shims = [Shim(name, _real(i), "+" + name[len("python"):], False) for name, i in sorted(best.items())]
    stable = [i for i in best.values() if not i.free_threaded and _is_final(i)] or [
        i for i in best.values() if not i.free_threaded
    ]
    if stable:
        default = _real(max(stable, key=lambda i: i.version))
        shims += [Shim("python", default, "", True), Shim("python3", default, "", True)]
    return shims


def _real(interpreter: Interpreter) -> str:
    """The binary itself: a venv's `bin/python3.12` symlink would make the shim start that venv."""
    return os.path.realpath(interpreter.path)


def _is_final(interpreter: Interpreter) -> bool:
    return interpreter.full_version.replace(".", "").isdigit()


def render(shim: Shim, monotrail: str, launcher: str) -> str:
    text = _template()
    for key, value in (("NAME", shim.name), ("PYTHON", sh_quote(shim.python)), ("MONOTRAIL", sh_quote(monotrail)),
                       ("LAUNCHER", sh_quote(launcher)), ("REQUEST", sh_quote(shim.request)),
                       ("FOLLOW_PIN", "yes" if shim.follow_pin else "no")):
        text = text.replace(f"@{key}@", value)
    return text


def _template() -> str:
    """The template ships as package data (`monotrail_shims`, the repo's `shims/`)."""
    from importlib.util import find_spec

    spec = find_spec("monotrail_shims")
    locations = list(spec.submodule_search_locations or []) if spec else []
    locations.append(str(Path(__file__).resolve().parents[3] / "shims" / "monotrail_shims"))  # a source checkout
    for location in locations:
        path = Path(location) / TEMPLATE
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise ShimError(f"the shim template {TEMPLATE} is missing from the installation",
                    hint="reinstall monotrail")




def front_door() -> tuple[str, str]:
    """The `monotrail` sh front door and the `monotrail-launcher` beside it, as absolute paths.

    The shim names them absolutely so it works whatever PATH is, and finds no stranger first.
    """
    candidates = [shutil.which("monotrail"), os.path.join(os.path.dirname(sys.argv[0] or "."), "monotrail"),
                  os.path.join(os.path.dirname(sys.executable), "monotrail")]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            door = os.path.abspath(candidate)
            launcher = os.path.join(os.path.dirname(door), "monotrail-launcher")
            if os.path.isfile(launcher):
                return door, launcher
    raise ShimError("cannot find the `monotrail` command (with `monotrail-launcher` beside it)",
                    hint="put monotrail's bin directory on PATH, e.g. install it with `pipx install monotrail`")


def install_command(*, directory: str | None) -> int:
    """Write the shims; replace our older ones; never overwrite a file we did not write."""
    target = Path(directory).expanduser() if directory else default_dir()
    target = target.absolute()
    shims = plan([found.interpreter for found in list_interpreters(Path(store_root()), _environ_without(target))
                  if found.interpreter is not None])
    if not shims:
        raise ShimError("no Python found to write shims for", hint="install one, e.g. `pyenv install 3.12`")
    door, launcher = front_door()
    _check_writable(target, shims)
    for stale in sorted(set(_installed(target)) - {shim.name for shim in shims}):
        (target / stale).unlink()
    for shim in shims:
        _write(target / shim.name, render(shim, door, launcher))
    for shim in shims:
        sys.stdout.write(f"{target / shim.name} -> {shim.python}\n")
    _advise_path(target, [shim.name for shim in shims])
    return 0


def _environ_without(directory: Path) -> dict[str, str]:
    """Discovery must not find the shims (nor the directory they are about to be written to)."""
    environ = dict(os.environ)
    keep = [d for d in environ.get("PATH", "").split(os.pathsep) if d and Path(d).absolute() != directory]
    environ["PATH"] = os.pathsep.join(keep)
    return environ


def _check_writable(target: Path, shims: list[Shim]) -> None:
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ShimError(f"cannot create the shim directory {target}: {error.strerror or error}",
                        hint="choose a directory you can write with `--dir`") from None
    for shim in shims:
        path = target / shim.name
        if os.path.realpath(shim.python) == os.path.realpath(path):
            raise ShimError(f"{path} is the interpreter {shim.name} itself: a shim there would run itself",
                            hint="write the shims to another directory with `--dir` (default ~/.local/bin)")
        if (path.exists() or path.is_symlink()) and not is_monotrail_shim(str(path)):
            raise ShimError(f"{path} exists and is not a monotrail shim; not overwriting it",
                            hint="remove it yourself, or write the shims to another directory with `--dir`")
    if not os.access(target, os.W_OK):
        raise ShimError(f"the shim directory {target} is not writable", hint="choose another one with `--dir`")
    probe = target / f".monotrail-write-test-{os.getpid()}"
    try:
        probe.write_text("", encoding="utf-8")
        probe.unlink()
    except OSError as error:
        raise ShimError(f"the shim directory {target} is not writable: {error.strerror or error}",
                        hint="choose another one with `--dir`") from None


def _write(path: Path, text: str) -> None:
    """Atomically: a shell running the old shim never reads half a new one."""
    from monotrail.atomic import write_atomic

    write_atomic(path, text, mode=0o755)


def _installed(directory: Path) -> list[str]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [name for name in names if (directory / name).is_file() and is_monotrail_shim(str(directory / name))]


def _advise_path(target: Path, names: list[str]) -> None:
    """Say when the shims would not be what `python3` runs, and the line that fixes it."""
    dirs = [Path(d).absolute() for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    fix = f'export PATH="{target}:$PATH"'
    if target not in dirs:
        sys.stderr.write(f"note: {target} is not on PATH; add it first, e.g. in ~/.profile: {fix}\n")
        return
    before = dirs[: dirs.index(target)]
    shadowed = sorted({name for name in names for d in before
                       if os.path.isfile(d / name) and os.access(d / name, os.X_OK)})
    if shadowed:
        sys.stderr.write(f"note: PATH has other {', '.join(shadowed)} before {target}; put it first: {fix}\n")


def uninstall_command(*, directory: str | None) -> int:
    target = (Path(directory).expanduser() if directory else default_dir()).absolute()
    names = _installed(target)
    for name in names:
        try:
            (target / name).unlink()
        except OSError as error:
            raise ShimError(f"cannot remove {target / name}: {error.strerror or error}",
                            hint="check the directory's permissions") from None
    sys.stderr.write(f"removed {len(names)} monotrail shims from {target}\n" if names else
                     f"no monotrail shims in {target}\n")
    return 0


def list_command(*, directory: str | None) -> int:
    target = (Path(directory).expanduser() if directory else default_dir()).absolute()
    names = _installed(target)
    for name in names:
        sys.stdout.write(f"{target / name} -> {_shim_python(target / name)}\n")
    if not names:
        sys.stderr.write(f"no monotrail shims in {target}; write them with `monotrail shims install`\n")
    return 0


def _shim_python(path: Path) -> str:
    """The `python='...'` line of a shim: what it runs outside a project."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("python='") and line.endswith("'"):
            return line[len("python='"):-1].replace("'\\''", "'")
    return "?"

"""The environment directory's files: a venv with no packages in it.

`<root>/envs/<key>/` is shaped like the venv `python -m venv` makes, so that everything a program
and its children look at says "venv", as it would in the venv of any other tool:

    pyvenv.cfg                          home = the real interpreter's directory
    bin/python, python3, python3.X      symlinks to the real interpreter (as venv's default)
    bin/<console script>                a Python file with a `#!<env>/bin/python` shebang, as pip
                                        and installer write them; `.data/scripts` files copied,
                                        `#!python` rewritten the same way
    lib/pythonX.Y/site-packages/
        _monotrail.pth                  one `import` line: activate the manifest (below)
        _monotrail_finder.py            a copy of monotrail's bootstrap/_monotrail_finder.py

The interpreter finds `pyvenv.cfg` beside `bin/` and starts as in any venv: `sys.executable` is
`<env>/bin/python`, `sys.prefix` the environment and `sys.base_prefix` the real installation (so
virtualenv, tox, nox, pre-commit and `python -m venv` build on the real interpreter), and `site`
reads the site-packages, whose `.pth` hook installs the finder for the locked packages. Those
stay in the store, one copy for every environment; the finder answers for them as if they were
in this site-packages. Children started through `sys.executable` go the same way, and console
scripts run with `python SCRIPT` as well as by their shebang. Why not sh wrappers: see
docs/architecture.md, "The environment".

Cold path only (imported by `monotrail.environment.write_env`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from monotrail import __version__

if TYPE_CHECKING:  # pragma: no cover
    from monotrail.interpreters.discovery import Interpreter

HOOK_PTH = "_monotrail.pth"
HOOK_MODULE = "_monotrail_finder"


def site_packages(interpreter: "Interpreter") -> str:
    """The venv's site-packages relative to the environment, where `site` looks for it."""
    major, minor = interpreter.version[:2]
    if interpreter.implementation == "pypy":
        return f"lib/pypy{major}.{minor}/site-packages"
    return f"lib/python{major}.{minor}{'t' if interpreter.free_threaded else ''}/site-packages"


def write_layout(tmp: Path, env_dir: str, interpreter: "Interpreter", hook: str, scripts: dict[str, dict],
                 manifest_name: str = "manifest.json") -> None:
    """Write the environment's files into `tmp`, which becomes `env_dir` by a rename: links and
    shebangs name `env_dir`. `manifest_name`: the manifest file the hook reads (`manifest.txt`,
    the compact form, when there is one)."""
    real = os.path.realpath(interpreter.path)
    (tmp / "pyvenv.cfg").write_text(_pyvenv_cfg(interpreter, real), "utf-8")
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for name in _python_names(interpreter, real):
        os.symlink(real, bin_dir / name)
    lib = tmp / site_packages(interpreter)
    lib.mkdir(parents=True)
    # A copy, not a link: tools that resolve links before deciding what is installed code
    # (coverage's third-party filter, debuggers' "just my code") must find the hook inside this
    # site-packages, not in monotrail's own tree. `monotrail.environment` rebuilds the environment when
    # the original changes.
    copied = {HOOK_MODULE: _copy_hook(hook, lib / f"{HOOK_MODULE}.py")}
    # What the hook does on paths a start does not take, loaded from beside it when needed.
    copied[f"{HOOK_MODULE}_extras"] = _copy_hook(hook_extras(hook), lib / f"{HOOK_MODULE}_extras.py")
    # The hook's bytecode is cached here even under -B / PYTHONDONTWRITEBYTECODE, which are about
    # the user's files: every start imports it. `__pycache__` is made now (with the store's umask),
    # not by the interpreter with whatever umask the first program has.
    (lib / "__pycache__").mkdir()
    _reuse_hook_bytecode(lib / "__pycache__", os.path.dirname(env_dir), site_packages(interpreter), copied)
    manifest = os.path.join(env_dir, manifest_name)
    (lib / HOOK_PTH).write_text(
        "import sys; _b = sys.dont_write_bytecode; sys.dont_write_bytecode = False; "
        f"import {HOOK_MODULE}; sys.dont_write_bytecode = _b; {HOOK_MODULE}.activate({ascii(manifest)})\n",
        "utf-8",
    )
    python = os.path.join(env_dir, "bin", "python")
    taken = set(os.listdir(bin_dir))
    for name, script in scripts.items():
        if name in taken or not _is_file_name(name):
            continue  # `bin/python` stays the interpreter; a name with a slash is not a file here
        if ":" in script.get("entry_point", ""):
            _write_new(bin_dir / name, _console_script(name, script["entry_point"], python), 0o755)
        elif "path" in script:
            _copy_data_script(Path(script["path"]), bin_dir / name, python)


def hook_extras(hook: str) -> str:
    """The hook's second file, `_monotrail_finder_extras.py` beside it: the code for paths a
    start does not take (every start unmarshals the hook's bytecode; bench/bench_warm.py)."""
    return os.path.join(os.path.dirname(hook), f"{HOOK_MODULE}_extras.py")


def _copy_hook(hook: str, target: Path) -> tuple[int, int]:
    """Copy the hook keeping its mtime (what its bytecode records of it); its size and mtime."""
    with open(hook, "rb") as file:
        data = file.read()
        info = os.fstat(file.fileno())
    target.write_bytes(data)
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    return len(data), int(info.st_mtime)


def _reuse_hook_bytecode(pycache: Path, envs: str, lib: str, modules: dict[str, tuple[int, int]], tries: int = 8,
                         names_at_most: int = 64) -> None:
    """Copy the hook's bytecode (each of `modules`: its size and mtime) from other environments of
    the store with the same site-packages (`lib`, the same Python version) whose pyc was compiled
    from a file of this size and mtime (the pyc header the interpreter itself checks; timestamp
    pycs only), so that this environment's first start does not compile the hook (~6 ms of CPU
    here). Looks at a few environments at most; none fitting (a new monotrail, a new Python)
    costs one compile, as before."""
    try:
        names = os.listdir(envs)
    except OSError:
        return
    headers = {module: (0).to_bytes(4, "little") + (mtime & 0xFFFFFFFF).to_bytes(4, "little")
               + (size & 0xFFFFFFFF).to_bytes(4, "little") for module, (size, mtime) in modules.items()}
    for name in names[:names_at_most]:
        donor = os.path.join(envs, name, lib, "__pycache__")
        try:
            files = os.listdir(donor)
        except OSError:
            continue  # another Python's environment, or one being removed
        tries -= 1
        if tries < 0:
            return
        for file in files:
            module = file.split(".", 1)[0]
            if module not in headers or not file.endswith(".pyc"):
                continue
            try:
                with open(os.path.join(donor, file), "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
            if data[4:16] == headers[module]:
                (pycache / file).write_bytes(data)
                del headers[module]
        if not headers:
            return


def _pyvenv_cfg(interpreter: "Interpreter", real: str) -> str:
    """What `python -m venv` writes, plus who wrote it (as virtualenv and uv add theirs). `home`
    is the directory the interpreter's prefix is found from: the real binary's, or, for an
    interpreter that is itself a venv's copy, that venv's own `home`."""
    version = ".".join(str(part) for part in interpreter.version[:3])
    return (
        f"home = {_home(real)}\n"
        "include-system-site-packages = false\n"
        f"version = {version}\n"
        f"executable = {real}\n"
        f"monotrail = {__version__}\n"
    )


def _home(real: str) -> str:
    directory = os.path.dirname(real)
    for candidate in (os.path.join(directory, "pyvenv.cfg"), os.path.join(os.path.dirname(directory), "pyvenv.cfg")):
        try:
            with open(candidate, encoding="utf-8") as file:
                for line in file:
                    key, equals, value = line.partition("=")
                    if equals and key.strip().lower() == "home":
                        return value.strip()
        except OSError:
            continue
    return directory


def _python_names(interpreter: "Interpreter", real: str) -> list:
    major, minor = interpreter.version[:2]
    names = ["python", f"python{major}", f"python{major}.{minor}", os.path.basename(real)]
    return list(dict.fromkeys(name for name in names if name))


# installer's console-script template (`installer.scripts._SCRIPT_TEMPLATE`, as pip writes it).
_SCRIPT_TEMPLATE = """\
# -*- coding: utf-8 -*-
import re
import sys
from {module} import {import_name}
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit({func_path}())
"""


def _console_script(name: str, entry_point: str, python: str) -> bytes:
    """The launcher pip and installer write: installer's template and shebang rule (a path over 127
    bytes with `#!` and the newline, or with a space, gets the `/bin/sh` re-exec header they use too).

    Written here rather than by `installer.scripts.Script`: importing installer's package imports
    its writers and `email` (~25 ms of every new environment, also when every package is already
    in the store); tests/unit/environment checks that the bytes are installer's."""
    module, _, attribute = entry_point.partition(":")
    attribute = attribute.strip()
    code = _SCRIPT_TEMPLATE.format(module=module.strip(), import_name=attribute.split(".")[0], func_path=attribute)
    executable = python.encode("utf-8")
    if b" " not in executable and len(executable) + 3 <= 127:
        shebang = b"#!" + executable
    else:
        import shlex

        shebang = b"#!/bin/sh\n'''exec' " + shlex.quote(python).encode("utf-8") + b' "$0" "$@"\n' + b"' '''"
    return shebang + b"\n" + code.encode("utf-8")


def _copy_data_script(source: Path, target: Path, python: str) -> None:
    """A wheel's `.data/scripts` file, as installer places it: a `#!python` first line (the wheel
    spec's placeholder) becomes the environment's interpreter, anything else is copied as it is."""
    with open(source, "rb") as stream:
        data = _fixed_shebang(stream.read(), python)
    _write_new(target, data, stat.S_IMODE(os.stat(source).st_mode) | 0o555)


def _fixed_shebang(data: bytes, python: str) -> bytes:
    """installer's `fix_shebang` on bytes (its import costs what `_console_script` says):
    a first line starting `#!python` is replaced whole by `#!<python>`."""
    if not data.startswith(b"#!python"):
        return data
    _, newline, rest = data.partition(b"\n")
    return f"#!{python}\n".encode() + (rest if newline else b"")


def _is_file_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Never through an existing name or a link (the directory is fresh: nothing should be there)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with open(descriptor, "wb") as file:
        file.write(data)
    os.chmod(path, mode)


# --- a user's venv (`sync --venv`, `poetry-install`) -----------------------------------------


def write_venv(prefix: Path, interpreter: "Interpreter") -> bool:
    """Create the venv `python -m venv --without-pip` makes, at `prefix`, without a subprocess.

    `pyvenv.cfg` (venv's keys plus uv's and virtualenv's `implementation` and `version_info`),
    `bin/python*` symlinks to the interpreter, the activation scripts rendered from the
    interpreter's own `venv` templates as its `venv` module renders them, an empty
    site-packages, `lib64 -> lib` where venv makes it, and a `.gitignore` of `*` (uv, virtualenv).
    Nothing is seeded: like `uv venv`, pip comes only if the lock lists it. Writing these ~15
    files costs a few ms; virtualenv's API (even with its seeder off) costs ~180 ms here, a
    `python -m venv --without-pip` subprocess ~40 ms.

    Whole or absent: everything goes to a temp directory beside `prefix`, renamed into place
    (over an empty directory, too). Returns False, having written nothing, when the interpreter
    has no venv templates (a stripped stdlib): the caller then makes the venv another way.
    """
    templates = _activation_templates(interpreter)
    if templates is None:
        return False
    prefix = prefix.absolute()
    prefix.parent.mkdir(parents=True, exist_ok=True)
    tmp = prefix.parent / f".{prefix.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
    tmp.mkdir()
    try:
        _write_venv_files(tmp, prefix, interpreter, templates)
        os.rename(tmp, prefix)
    except BaseException:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return True


def _write_venv_files(tmp: Path, prefix: Path, interpreter: "Interpreter", templates: dict[str, str]) -> None:
    real = os.path.realpath(interpreter.path)
    version = ".".join(str(part) for part in interpreter.version[:3])
    implementation = {"cpython": "CPython", "pypy": "PyPy"}.get(interpreter.implementation, interpreter.implementation)
    (tmp / "pyvenv.cfg").write_text(
        f"home = {_home(real)}\n"
        f"implementation = {implementation}\n"
        f"version_info = {version}\n"
        "include-system-site-packages = false\n"
        f"version = {version}\n"
        f"executable = {real}\n"
        f"monotrail = {__version__}\n",
        "utf-8",
    )
    (tmp / ".gitignore").write_text("# created by monotrail automatically\n*\n", "utf-8")
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for name in _python_names(interpreter, real):
        os.symlink(real, bin_dir / name)
    context = {
        "__VENV_DIR__": str(prefix),
        "__VENV_NAME__": prefix.name,
        # venv's default prompt is the directory's name; 3.13 moved the parentheses into the templates
        "__VENV_PROMPT__": prefix.name if interpreter.version >= (3, 13) else f"({prefix.name}) ",
        "__VENV_BIN_NAME__": "bin",
        "__VENV_PYTHON__": str(prefix / "bin" / "python"),
    }
    for name, template in templates.items():
        (bin_dir / name).write_bytes(_render_activation(name, template, context).encode("utf-8"))
    (tmp / site_packages(interpreter)).mkdir(parents=True)
    if interpreter.pointer_bits == 64 and interpreter.markers.get("sys_platform") == "linux":
        os.symlink("lib", tmp / "lib64")  # venv's rule: 64-bit POSIX but not macOS (bpo-21197)


def _activation_templates(interpreter: "Interpreter") -> dict[str, str] | None:
    """`venv/scripts/common/*` and `venv/scripts/posix/*` of the interpreter's stdlib (posix
    overriding common, as venv's `setup_scripts` copies them), by file name."""
    found: dict[str, str] = {}
    root = os.path.join(interpreter.stdlib, "venv", "scripts")
    for folder in ("common", "posix"):
        try:
            names = sorted(os.listdir(os.path.join(root, folder)))
        except OSError:
            continue
        for name in names:
            try:
                with open(os.path.join(root, folder, name), "rb") as file:  # Activate.ps1 keeps its CRLF
                    found[name] = file.read().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # venv skips what it cannot decode as text too
    return found if "activate" in found else None


def _render_activation(name: str, template: str, context: dict[str, str]) -> str:
    """venv's `replace_variables`. Templates from before gh-124651 (CPython 3.13.1, 3.12.8 and
    their security releases) put the placeholders inside double quotes and venv inserts the
    values as they are; later templates leave them bare and venv quotes each value for the
    script's shell (`shlex.quote`, PowerShell's single quotes). The template says which."""
    if '"__VENV_DIR__"' in template or '"__VENV_PROMPT__' in template or "__VENV_" not in template:
        quote = _as_is
    elif name.endswith(".ps1"):
        quote = _quote_ps1
    elif name.endswith(".bat"):
        quote = _as_is
    else:
        quote = _quote_sh
    for placeholder, value in context.items():
        template = template.replace(placeholder, quote(value))
    return template


def _as_is(value: str) -> str:
    return value


def _quote_sh(value: str) -> str:
    import shlex

    return shlex.quote(value)


def _quote_ps1(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"

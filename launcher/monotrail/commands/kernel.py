"""`monotrail kernel install|list|uninstall`: a Jupyter kernel that runs this project venv-less.

A kernelspec is jupyter_client's layout: `<Jupyter data dir>/kernels/<name>/kernel.json` (plus
logos), found by every Jupyter frontend (JupyterLab, Notebook, VS Code, nbconvert, papermill). Its
`argv` runs `ipykernel_launcher -f {connection_file}` through `monotrail run` with what decides
this project's environment spelled out: `--project DIR` (the lock and `.python-version` are searched
from the directory `kernel install` ran in, as `monotrail run` there searches them, while the
working directory stays the one Jupyter gives the kernel: the notebook's, as for a venv's kernel),
a `--lock` and a Python request given on the command line or in MONOTRAIL_PYTHON, extras, groups
and `--with` requirements. The kernel is the project's own environment, the very one `monotrail
run` uses there; a lock or `.python-version` change needs no reinstall, since the kernel's
`monotrail run` picks the current environment at each start.

Installing runs the environment once (`monotrail run ... python -c PROBE`, the very command the
kernel runs), which builds it, and refuses when it has no ipykernel, saying how to add it. The
kernelspec carries `metadata.monotrail` (project and lock): `list` and `uninstall` touch only
those, as `jupyter kernelspec list|uninstall` handles every kernel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from monotrail.errors import MonotrailError, UsageError
from monotrail.log import debug, info

# jupyter_client's rule for kernel names (kernelspec._kernel_name_pat).
_VALID_NAME = re.compile(r"^[a-z0-9._\-]+$", re.IGNORECASE)

# What the kernel's environment holds: run by the kernel's own command line, with `python -c`.
_PROBE = """\
import json, os, sys
try:
    import importlib.metadata as metadata
    version = metadata.version("ipykernel")
    import ipykernel
    resources = os.path.join(os.path.dirname(ipykernel.__file__), "resources")
except Exception:
    version, resources = None, None
print(json.dumps({"ipykernel": version, "resources": resources, "prefix": sys.prefix,
                  "python": "%d.%d.%d" % sys.version_info[:3]}))
"""


def main(args: list[str], python: str | None) -> int:
    options = _parser().parse_args(args)
    if options.action is None:
        _parser().print_help()
        return 2
    if options.action == "install":
        return install(options, python)
    if python is not None:
        raise UsageError(f"`monotrail kernel {options.action}` takes no +VERSION", hint="see `monotrail kernel --help`")
    if options.action == "list":
        return list_kernels(as_json=options.json)
    return uninstall(options.name)


def _parser():
    from monotrail.cli.usage import Parser

    parser = Parser(prog="monotrail kernel", description="Jupyter kernels that run this project's lock, venv-less.")
    actions = parser.add_subparsers(dest="action", metavar="COMMAND", help="one of:")
    text = "write a kernelspec that runs ipykernel from this project's lock (into the user's Jupyter data dir)"
    install_parser = actions.add_parser("install", help=text, description=text)
    install_parser.add_argument("--name", help="the kernel's name (default: the project directory's name)")
    install_parser.add_argument("--display-name", help="what Jupyter shows (default: 'Python X.Y (NAME)')")
    install_parser.add_argument("-E", "--extra", action="append", default=[], dest="extras", metavar="NAME",
                                help="include an extra (repeatable)")
    install_parser.add_argument("--all-extras", action="store_true", help="include every extra the lock defines")
    install_parser.add_argument("-G", "--group", action="append", default=[], dest="groups", metavar="NAME",
                                help="include a dependency group (repeatable)")
    install_parser.add_argument("--no-default-groups", action="store_true", help="leave out the lock's default groups")
    install_parser.add_argument("-w", "--with", action="append", default=[], dest="with_requirements", metavar="REQ",
                                help="an extra requirement (repeatable), e.g. `--with ipykernel`")
    install_parser.add_argument("--lock", help="use this lockfile instead of searching for one")
    text = "the kernels monotrail installed: name, display name, project"
    listing = actions.add_parser("list", help=text, description=text)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    text = "remove a kernel monotrail installed"
    remove = actions.add_parser("uninstall", help=text, description=text)
    remove.add_argument("name", help="the kernel's name (see `monotrail kernel list`)")
    return parser


def jupyter_data_dir(environ=None) -> Path:
    """The user's Jupyter data directory, as jupyter_core.paths.jupyter_data_dir finds it:
    JUPYTER_DATA_DIR, else the platform's (platformdirs' with JUPYTER_PLATFORM_DIRS set)."""
    environ = os.environ if environ is None else environ
    if environ.get("JUPYTER_DATA_DIR"):
        return Path(environ["JUPYTER_DATA_DIR"])
    home = Path(os.path.expanduser("~"))
    platform_dirs = environ.get("JUPYTER_PLATFORM_DIRS", "").lower() in ("1", "true", "on", "yes")
    if sys.platform == "darwin":
        return home / "Library" / ("Application Support/jupyter" if platform_dirs else "Jupyter")
    if sys.platform == "win32":
        base = environ.get("LOCALAPPDATA" if platform_dirs else "APPDATA")
        return Path(base) / "jupyter" if base else home / ".jupyter" / "data"
    return Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share") / "jupyter"


def install(options, python: str | None) -> int:
    if options.name is not None:
        _check_name(options.name)
    start_dir = os.getcwd()
    run_options = _run_options(options, python, start_dir)
    facts = _probe(run_options, start_dir)
    if isinstance(facts, int):
        return facts  # `monotrail run` said why, in its one error line
    lock = _lock_path(options, start_dir)
    if facts.get("ipykernel") is None:
        where = f"the environment of {lock}" if lock else "this project's environment"
        raise MonotrailError(
            f"{where} has no ipykernel, which a Jupyter kernel runs",
            hint="add it to the lock (a dependency group: `[dependency-groups] dev = [\"ipykernel\"]`, `uv add --dev "
                 "ipykernel`, then `monotrail lock`; with a non-default group also pass `-G NAME` here), or run "
                 "`monotrail kernel install --with ipykernel`",
        )
    name = _check_name(options.name or _default_name(os.path.dirname(lock) if lock else start_dir))
    major_minor = ".".join(facts["python"].split(".")[:2])
    spec = {
        "argv": [sys.executable, "-m", "monotrail", "run", *run_options,
                 "python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": options.display_name or f"Python {major_minor} ({name})",
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {"debugger": True, "monotrail": {"project": start_dir, "lock": lock}},
    }
    if os.environ.get("MONOTRAIL_ROOT"):
        spec["env"] = {"MONOTRAIL_ROOT": os.environ["MONOTRAIL_ROOT"]}
    target = jupyter_data_dir() / "kernels" / name.lower()
    replaced = target.exists()
    _write_spec(target, spec, facts.get("resources"))
    info(f"{'replaced' if replaced else 'installed'} kernelspec {name.lower()} in {target} "
         f"(ipykernel {facts['ipykernel']}, Python {facts['python']})")
    return 0


def _run_options(options, python: str | None, start_dir: str) -> list[str]:
    """`monotrail run`'s options that decide this environment, for the probe and the kernel. A
    `.python-version` is left to the kernel's own search from `--project`; a request from the
    command line or MONOTRAIL_PYTHON (which Jupyter will not have) is written down."""
    words = ["--project", start_dir]
    if options.lock:
        words += ["--lock", os.path.abspath(options.lock)]
    request = python or os.environ.get("MONOTRAIL_PYTHON") or None
    if request:
        words += ["-p", request]
    debug(f"kernel python request {request!r}")
    for extra in options.extras:
        words += ["-E", extra]
    if options.all_extras:
        words.append("--all-extras")
    for group in options.groups:
        words += ["-G", group]
    if options.no_default_groups:
        words.append("--no-default-groups")
    for requirement in options.with_requirements:
        words += ["--with", requirement]
    return words


def _probe(run_options: list[str], start_dir: str) -> dict | int:
    """Run the kernel's environment once (building it) and ask what it holds. Its errors (no lock,
    an unknown group, a failed download) are `monotrail run`'s own lines, passed through: then
    its exit code."""
    command = [sys.executable, "-m", "monotrail", "run", *run_options, "python", "-c", _PROBE]
    debug(f"probe {command[:-1]}")
    completed = subprocess.run(command, cwd=start_dir, stdout=subprocess.PIPE, text=True)
    if completed.returncode != 0:
        return completed.returncode
    try:
        return json.loads(completed.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise MonotrailError("could not read what the project's environment holds",
                             hint="rerun with MONOTRAIL_LOG=debug") from None


def _lock_path(options, start_dir: str) -> str | None:
    """The lock the kernel runs today, for `kernel list` and the messages: `--lock`, else the one
    `run` found (the probe wrote a pylock.toml for a project that had none). None: a project whose
    lock monotrail keeps in its store (read-only)."""
    from monotrail.lock import find_lock

    if options.lock:
        return os.path.abspath(options.lock)
    try:
        return find_lock(start_dir)
    except MonotrailError:
        return None


def _check_name(name: str) -> str:
    if not _VALID_NAME.match(name):
        raise UsageError(f"invalid kernel name {name!r}: Jupyter allows letters, digits, '.', '_' and '-'",
                         hint="pass --name, e.g. `--name my-project`")
    return name


def _default_name(project: str) -> str:
    name = re.sub(r"[^a-z0-9._-]+", "-", os.path.basename(os.path.abspath(project)).lower()).strip("-.")
    return name or "monotrail"


def _write_spec(target: Path, spec: dict, resources: str | None) -> None:
    """The kernelspec directory, replaced whole (as `jupyter kernelspec install` replaces one):
    written beside it, then renamed into place. Logos are ipykernel's own, as its installer copies them."""
    from monotrail.atomic import write_atomic

    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.parent / f".{target.name}.{os.getpid()}.tmp"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    try:
        write_atomic(temp / "kernel.json", json.dumps(spec, indent=1) + "\n")
        for logo in ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg"):
            if resources and os.path.isfile(os.path.join(resources, logo)):
                shutil.copyfile(os.path.join(resources, logo), temp / logo)
        if target.exists():
            shutil.rmtree(target)
        os.rename(temp, target)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _monotrail_kernels() -> list[tuple[str, Path, dict]]:
    kernels = jupyter_data_dir() / "kernels"
    found = []
    try:
        names = sorted(os.listdir(kernels))
    except OSError:
        return []
    for name in names:
        try:
            spec = json.loads((kernels / name / "kernel.json").read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(spec, dict) and isinstance(spec.get("metadata", {}).get("monotrail"), dict):
            found.append((name, kernels / name, spec))
    return found


def list_kernels(as_json: bool) -> int:
    kernels = _monotrail_kernels()
    if as_json:
        rows = [{"name": name, "path": str(path), "display_name": spec.get("display_name"),
                 **spec["metadata"]["monotrail"]} for name, path, spec in kernels]
        sys.stdout.write(json.dumps(rows, indent=1) + "\n")
        return 0
    if not kernels:
        info(f"no monotrail kernels in {jupyter_data_dir() / 'kernels'} (`monotrail kernel install` adds one)")
        return 0
    width = max(len(name) for name, _, _ in kernels)
    for name, _path, spec in kernels:
        meta = spec["metadata"]["monotrail"]
        lock = meta.get("lock")
        missing = "  (lock missing)" if lock and not os.path.isfile(lock) else ""
        sys.stdout.write(f"{name.ljust(width)}  {spec.get('display_name', '')}  {lock or meta.get('project')}{missing}\n")
    return 0


def uninstall(name: str) -> int:
    target = jupyter_data_dir() / "kernels" / name.lower()
    if not (target / "kernel.json").is_file():
        raise UsageError(f"no kernel {name!r} in {target.parent}", hint="`monotrail kernel list` shows monotrail's kernels")
    if target not in [path for _, path, _ in _monotrail_kernels()]:
        raise UsageError(f"the kernel {name!r} in {target} was not installed by monotrail",
                         hint=f"remove it with `jupyter kernelspec uninstall {name}`")
    shutil.rmtree(target)
    info(f"removed kernelspec {name.lower()} from {target}")
    return 0

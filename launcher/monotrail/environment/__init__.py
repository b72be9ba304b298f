"""Environments: where a run's manifest lives, the key that finds it, and writing one.

The package's own module (its `__init__`, so that the warm path imports one module here, not
two); `spec` says what an environment is made of, `layout` builds the venv around it,
`manifest` what the hook reads, `install` the cold path that fills it.

An environment is `<root>/envs/<key>/`, a venv without packages (`monotrail.environment.layout`:
`pyvenv.cfg`, `bin/python` linking the real interpreter, console scripts, and a site-packages
whose `.pth` hook reads the manifest), plus `manifest.json` (the manifest, for the launcher and
tools) and `manifest.txt` (the same in the compact form the hook reads), `launch` (the
three facts the warm path needs, as plain text so it needs no json import, then one file per
store entry that must exist: `<entry>/site-packages/<dist-info>/RECORD`), `lock` (the lockfile's
path and sha256 when the environment was written: `monotrail store gc` removes environments whose
lock is gone or changed) and `pids/` (where earlier hooks wrote one empty file per process
running in it; today the hook keeps `manifest.txt` open instead, and gc never removes an
environment a live process holds a file of open, or with a live pid in `pids/`).

The key is a hash of everything that decides the selection: the lockfile's path and bytes, the
pyproject beside it (extras and groups are defined there for poetry), the Python request as the
user gave it, the extras and groups, monotrail's version and the environment's format (a new
format makes new environments, never reads old ones). Computing it reads two small files
and hashes them: no interpreter probing, no parsing, no store listing. The environment directory is
built in a temp dir and renamed into place, so an existing directory is always complete.

This module is on the warm path: stdlib imports only, and few of them.
"""

from __future__ import annotations

import os
import stat

from monotrail import __version__, new_sha256

# The environment directory's shape: 2 = a venv whose .pth hook reads the manifest (1 was sh
# shims in bin/ that started a bootstrap script with `python -S`); 3 = `launch` lists the files
# editable builds left in project trees, and editable dist-infos have direct_url.json; 4 = the
# packages' data files and headers linked under the prefix (monotrail.environment.data_files).
ENV_FORMAT = "4"
# The state of an editable build's product in `launch` (`=+\tPATH`): a file that must exist.
PRODUCT = "+"




def env_key(
    lock_path: str,
    python_request: str,
    extras: tuple[str, ...],
    all_extras: bool,
    groups: tuple[str, ...],
    no_default_groups: bool,
) -> str:
    digest = new_sha256()
    for part in (
        __version__,
        ENV_FORMAT,
        lock_path,
        file_digest(lock_path),
        file_digest(os.path.join(os.path.dirname(lock_path), "pyproject.toml")),
        python_request,
        ",".join(sorted(extras)),
        str(all_extras),
        ",".join(sorted(groups)),
        str(no_default_groups),
    ):
        digest.update(part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def file_digest(path: str) -> str:
    """The sha256 of a file's bytes (`-` when there is none).

    A cold run asks for the lock's several times (the environment key, the selections' key, the
    environment's `lock` record), and the builtin sha256 takes ~5 ms for a 600 kB uv.lock; so the
    answer is remembered for this process by the file's identity and stat, once its mtime is two
    seconds old (a file rewritten within one tick of a coarse clock could keep its stat)."""
    try:
        with open(path, "rb") as file:
            info = os.fstat(file.fileno())
            key = (path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
            known = _DIGESTS.get(key)
            if known is not None:
                return known
            digest = new_sha256()
            digest.update(file.read())
            text = digest.hexdigest()
    except FileNotFoundError:
        return "-"
    import time

    if info.st_mtime_ns < time.time_ns() - 2_000_000_000:
        _DIGESTS[key] = text
    return text


_DIGESTS: dict[tuple, str] = {}  # file_digest's answers in this process


class Launch:
    """The warm path's view of an environment: the real interpreter (`bin/python` links it), the
    hook the environment's site-packages links."""

    def __init__(self, env_dir: str, python: str, python_mtime: str, bootstrap: str, sentinels: list | None = None,
                 inputs: list | None = None) -> None:
        self.env_dir = env_dir
        self.python = python
        self.python_mtime = python_mtime
        self.bootstrap = bootstrap
        self.sentinels = sentinels or []  # a file per store entry; one missing means a damaged store
        self.inputs = inputs or []  # (path, state): the inputs of editable builds (monotrail.builds.editable)
        self.bin = os.path.join(env_dir, "bin")


def read_launch(env_dir: str, check_inputs: bool = True) -> Launch | None:
    """The environment if it exists and still fits: its python unchanged, the hook present,
    each store entry's RECORD in place (one stat each: an entry deleted by hand sends the run
    to the cold path, which reinstalls it, instead of to an ImportError), each input of an
    editable build (`=STATE\tPATH` lines) as it was when the wheel was built, and each file the
    build left in the project tree (`=+\tPATH`) still there (monotrail.builds.editable)."""
    try:
        with open(os.path.join(env_dir, "launch"), encoding="utf-8") as file:
            python, python_mtime, bootstrap, *lines = file.read().splitlines()
        if repr(os.stat(python).st_mtime) != python_mtime or not os.path.exists(bootstrap):
            return None
        sentinels, inputs = [], []
        for line in lines:
            if line.startswith("="):
                state, _, path = line[1:].partition("\t")
                if check_inputs and (not os.path.isfile(path) if state == PRODUCT else input_state(path) != state):
                    return None
                inputs.append((path, state))
            elif not os.path.isfile(line):
                return None
            else:
                sentinels.append(line)
    except (OSError, ValueError):
        return None
    return Launch(env_dir, python, python_mtime, bootstrap, sentinels, inputs)


def input_state(path: str) -> str:
    """What decides whether an editable build's input changed: a file's mtime and size, `dir`
    for a directory (only its presence matters, as uv watches `src/`), `-` when absent."""
    try:
        info = os.stat(path)
    except OSError:
        return "-"
    if stat.S_ISDIR(info.st_mode):
        return "dir"
    return f"{info.st_mtime_ns}:{info.st_size}"


def write_env(
    env_dir: str,
    manifest_json: str,
    interpreter,
    bootstrap: str,
    scripts: dict[str, dict],
    tmp_root: str,
    lock_path: str | None = None,
    inputs: list | None = None,
    data: list | tuple = (),
    repair: str | None = None,
) -> Launch:
    """Build the environment in a temp dir, then rename it into place (complete or absent).
    `interpreter`: the `monotrail.interpreters.discovery.Interpreter` it runs; `bootstrap`: the hook module
    its site-packages links (bootstrap/_monotrail_finder.py).
    `inputs`: (path, state) of the files editable builds were made from (`read_launch`);
    `data`: the packages' data files to link under the prefix (`monotrail.environment.data_files`);
    `repair`: `repair.json`, how the hook has a store entry deleted by hand reinstalled
    (`monotrail.environment.install.repair_record`)."""
    import json
    from pathlib import Path

    from monotrail.environment.layout import hook_extras, write_layout
    from monotrail.faults import crash_point
    from monotrail.atomic import fsync_directory
    from monotrail.store.entries import private_umask

    python = interpreter.path
    # The hook (its two files) is copied into the environment (monotrail.environment.layout):
    # watched like an editable build's input, so a changed original makes the environment stale.
    inputs = [*(inputs or ()), *((path, input_state(path)) for path in (bootstrap, hook_extras(bootstrap)))]
    env_path, tmp_root_path = Path(env_dir), Path(tmp_root)
    from monotrail.environment.manifest import compact

    manifest = json.loads(manifest_json)
    sentinels = [f"{path}/RECORD" for path in manifest.get("distributions", {}).values()]
    # The hook reads the compact form when there is one (monotrail.environment.manifest.compact).
    compact_text = compact(manifest)

    with private_umask():
        tmp_root_path.mkdir(parents=True, exist_ok=True)
        # (not tempfile.mkdtemp: tempfile and random cost ~1.5 ms of imports; the name is the one
        # `store gc` knows, as environment.clone makes it)
        tmp = tmp_root_path / f"env-{os.getpid()}-{os.urandom(6).hex()}"
        tmp.mkdir(0o700)
    try:
        with private_umask():
            os.chmod(tmp, 0o755)
            (tmp / "manifest.json").write_text(manifest_json, "utf-8")
            if compact_text is not None:
                (tmp / "manifest.txt").write_text(compact_text, "utf-8", "surrogateescape")
            crash_point("env-manifest-written")
            (tmp / "pids").mkdir()
            write_layout(tmp, str(env_path), interpreter, bootstrap, scripts,
                         manifest_name="manifest.json" if compact_text is None else "manifest.txt")
            if data:
                from monotrail.environment.data_files import link_data_files

                link_data_files(str(tmp), data)
            if lock_path is not None:
                (tmp / "lock").write_text(f"{lock_path}\n{file_digest(lock_path)}\n", "utf-8")
            if repair is not None:
                (tmp / "repair.json").write_text(repair, "utf-8")
            mtime = repr(os.stat(python).st_mtime)
            watched = [f"={state}\t{path}" for path, state in inputs or () if "\n" not in path]
            (tmp / "launch").write_text("\n".join([python, mtime, bootstrap, *sentinels, *watched]) + "\n", "utf-8")
            crash_point("env-launch-written")
            env_path.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(tmp, env_path)
            except OSError:
                # Another run finished the same environment first, or a stale one is in the way.
                if read_launch(str(env_path)) is None:
                    import shutil

                    shutil.rmtree(env_path, ignore_errors=True)
                    os.rename(tmp, env_path)
            fsync_directory(env_path.parent)
            crash_point("env-renamed")
    finally:
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    # An input edited during this run is the next run's to notice: this one used what it built.
    launch = read_launch(str(env_dir), check_inputs=False)
    if launch is None:
        from monotrail.errors import StoreError

        raise StoreError(f"could not create the environment {env_dir}", hint="check permissions of MONOTRAIL_ROOT")
    return launch


def python_request_key(cli: str | None, start_dir: str) -> tuple[str, str]:
    """The Python request as a string for the key, and where it came from (for debug output).

    Mirrors the precedence of interpreter selection (CLI > MONOTRAIL_PYTHON > .python-version >
    the lock's requires-python) without resolving anything: the cold path resolves, the key only
    needs to change when the request does.
    """
    from monotrail.interpreters import python_request

    text, source, pin_file = python_request(cli, start_dir)
    if source == "command line":
        return f"cli:{text}", "the command line"
    if source == "MONOTRAIL_PYTHON":
        return f"env:{text}", "MONOTRAIL_PYTHON"
    if pin_file is not None:
        return f"file:{text}", pin_file
    return "default", "the lock's requires-python"


def write_warm_entry(
    root: str, start_dir: str, python_cli: str | None, launch: Launch, watched: list, name: str = "run",
    spelled: str | None = None,
) -> None:
    """Record for the sh front door (shims/monotrail) which environment this directory runs.

    `watched` holds one check an item (`watched_files`, `monotrail.lock.search_checks`): `PATH` a
    file that decided the environment (the lock, pyproject.toml, .python-version, the interpreter,
    the script), stale when missing or newer than the entry; `!PATH` nothing there (a lock or
    `.python-version` that would be found first); `*DIR<TAB>NAME` no `pylock.*.toml` there sorting
    before NAME; `%PATH` a directory that must exist (an editable build's `src/`). Each editable
    build's product must be a file. The store entries are not checked here: the environment's hook
    checks an entry's RECORD when the program first imports from it and has a deleted entry
    reinstalled, the run going on (`_check_entries` in bootstrap/_monotrail_finder.py).

    `<root>/warm/<start dir>/run[+VERSION]` is bash, sourced by the front door once its first line
    is `entry_header()` (anything else, such as an entry of an older format, is stale): the checks
    `mt_env_dir=...`, then the checks as ONE `[[ ... && ... ]]` (`! LOCK -nt $mt_entry && ! -e
    DIR/uv.lock && -x ENV/bin/python && ...`) setting `mt_fresh=yes`, then one `no_pylock_before DIR NAME` per glob (the door's variables are `mt_*`:
    a name the caller exported, say `target`, must reach the program unchanged). One parse and stats done in C,
    whatever the environment's size, where a `while read` loop over lines costs ~15 µs a line
    (each `read <&3` is a dozen system calls). Every value is single-quoted. `-nt` may have
    one-second resolution: an entry is not written while any watched file changed within the
    last two seconds, so an edit can never hide inside the entry's second.

    `spelled`: the start directory as the front door spells it, through links (`$PWD` as the shell
    keeps it, `--project DIR` as given), when that is another path to `start_dir` (the launcher's,
    links resolved). The entry is then written under that spelling and also checks `SPELLED -ef
    START_DIR` (the same inode): a link pointed elsewhere sends the run back to the launcher.
    """
    import time

    name = name if python_cli is None else f"{name}+{python_cli}"
    if any(char in name for char in "/\n") or not os.path.isabs(root):
        return
    if name.startswith("script-") and not _front_door_name(name.split("+", 1)[0]):
        return  # the front door sends such names to the launcher anyway
    products = [path for path, state in launch.inputs if state == PRODUCT]
    # The hook is an input (write_env): `-e` and `-nt` below, no `-f` here too.
    hook = [] if any(path == launch.bootstrap for path, _ in launch.inputs) else [launch.bootstrap]
    files = [os.path.join(launch.env_dir, "launch"), *hook, *products]
    test = [f"-f {sh_quote(path)}" for path in files]
    if spelled is not None:
        test.insert(0, f"{sh_quote(spelled)} -ef {sh_quote(start_dir)}")
    # No check per store entry: the hook checks an entry's RECORD when the program first imports
    # from it, and has a deleted entry reinstalled (bootstrap/_monotrail_finder.py, `_repair`); a
    # `-f` per entry here cost ~8 µs each, most of the door's time in a large environment.
    test.append(f"-x {sh_quote(os.path.join(launch.env_dir, 'bin', 'python'))}")
    globs = []
    for check in watched:
        kind, path = check[:1], check[1:]
        if kind == "!":
            test.append(f"! -e {sh_quote(path)}")
        elif kind == "%":
            test.append(f"-d {sh_quote(path)}")
        elif kind == "*":
            directory, _, first = path.partition("\t")
            globs.append(f"no_pylock_before {sh_quote(directory)} {sh_quote(first)} || mt_fresh=no")
        else:  # `-nt` is false for a missing file: without `-e`, a deleted lock would pass
            test.append(f"-e {sh_quote(check)} && ! {sh_quote(check)} -nt $mt_entry")
    lines = [entry_header(), f"mt_env_dir={sh_quote(launch.env_dir)}",
             "[[ " + " && ".join(test) + " ]] && mt_fresh=yes", *globs]
    if any("\n" in line for line in lines):
        return  # the front door takes the Python launcher for such paths: slower, never wrong
    entry = os.path.join(root, "warm", (start_dir if spelled is None else spelled).lstrip("/"), name)
    newest = 0.0
    for path in watched:
        if path[:1] not in CHECK_PREFIXES:
            try:
                newest = max(newest, os.stat(path).st_mtime)
            except OSError:
                continue
    if newest > time.time() - 2:
        return
    text = "\n".join(lines) + "\n"
    try:
        with open(entry, encoding="utf-8", errors="surrogateescape") as file:
            if file.read() == text and os.stat(entry).st_mtime >= newest:
                return
    except OSError:
        pass
    from monotrail.faults import crash_point

    tmp = os.path.join(root, "tmp", f"{os.getpid()}-{os.urandom(8).hex()}.warm")
    try:
        os.makedirs(os.path.dirname(entry), exist_ok=True)
        os.makedirs(os.path.dirname(tmp), exist_ok=True)
        with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as file:
            file.write(text)
        crash_point("warm-entry-temp-written")
        os.replace(tmp, entry)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass  # the front door then takes the Python launcher: slower, never wrong


# The first character of a warm entry's check that is not a watched path (those start with "/").
CHECK_PREFIXES = "!*%"
# The warm entry's own shape: 5 = its header names ENV_FORMAT too, and an entry under a start
# directory spelled through links checks it still names the directory it was written for; 6 = a
# watched file must exist (`-e`), not only be no newer than the entry; 7 = no check per store
# entry (the hook checks an entry when it is first imported from, and has it reinstalled).
WARM_FORMAT = "7"


def entry_header() -> str:
    """A warm entry's first line. The front door (shims/monotrail) compares it with the line it
    carries, one string comparison, and takes any other for a stale entry: an entry written by a
    monotrail of another entry format, or of another environment format (ENV_FORMAT changes
    environment keys, so an older entry would exec an environment this monotrail no longer makes).
    tests/test_architecture.py checks that the door's line is this one."""
    return f"# monotrail warm entry {WARM_FORMAT}, environment format {ENV_FORMAT}: bash, sourced by shims/monotrail"


def sh_quote(text: str) -> str:
    """`text` as one bash word, taken literally (shlex.quote, without importing re)."""
    return "'" + text.replace("'", "'\\''") + "'"


def _front_door_name(name: str) -> bool:
    return all(char.isascii() and (char.isalnum() or char in "._-") for char in name)


def watched_files(start_dir: str, lock_path: str, python: str, python_from_cli: bool, inputs: list | tuple = ()) -> list:
    """What decided an environment besides the lock search (`monotrail.lock.search_checks`): see
    `write_warm_entry` for the lines.

    The lock, the pyproject.toml beside it and the interpreter (their mtimes); with no `+VERSION`,
    the `.python-version` search (`monotrail.interpreters.python_version_checks`); and `inputs` (a
    `Launch`'s editable build inputs): each file's mtime, each absent one absent, each directory
    present. The Python launcher then compares the exact states (`read_launch`). No directory's
    mtime is watched: a file written into the project directory must not cost the next runs
    their warm start.
    """
    pyproject = os.path.join(os.path.dirname(lock_path), "pyproject.toml")
    files = [lock_path, pyproject if os.path.exists(pyproject) else "!" + pyproject, python]
    for path, state in inputs:
        if state == PRODUCT:  # a product must exist, whatever its mtime: a `?` check (write_warm_entry)
            continue
        files.append("!" + path if state == "-" else "%" + path if state == "dir" else path)
    if not python_from_cli:
        from monotrail.interpreters import python_version_checks

        files += python_version_checks(start_dir)
    return list(dict.fromkeys(files))


def resolved_lock_path(root: str, kind: str, *parts: str) -> str:
    """`<root>/resolved/<kind>/<key>/pylock.toml`: a resolution kept in the store for inputs that
    have no lock file of their own (a PEP 723 script block, `--with` requirements, a tool of
    `monotrail x`), keyed by what decided it and the Python request. It then serves as the
    environment's lock path, so its key is computed as a project's is."""
    digest = new_sha256()
    for part in (__version__, kind, *parts):
        digest.update(part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    return os.path.join(root, "resolved", kind, digest.hexdigest()[:24], "pylock.toml")

"""Direct references (PEP 440/508 `name @ URL`): git repositories, local source trees, archive URLs.

- `git+https://host/repo@rev` / `git+file:///path/repo@rev` (also `git+ssh://`, `git+http://`):
  the repository is fetched into a bare cache, `<root>/git/<first 16 hex of sha256(url)>`, the
  revision (branch, tag or commit; none: the remote's HEAD) resolved to a commit, that commit
  exported into a temp dir (`git archive`) and built with its PEP 517 backend; the wheel is cached
  in `<root>/built/git-<commit>/`. A locked commit already cached is built or found without
  touching the network.
- `./dir`, `file:///abs/dir`: a source tree, built the same way and cached by the tree's content
  hash (`<root>/built/tree-<hash>/`), so an edit to the tree builds again.
- `https://.../x.whl` (or a local `.whl`): downloaded like any locked wheel, verified with the
  `#sha256=` fragment when given.

Everything here raises `MonotrailError`s with one line naming the reference.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from monotrail.errors import MonotrailError

GIT_SCHEMES = ("git+https://", "git+http://", "git+ssh://", "git+file://", "git+git://")
_COMMIT = re.compile(r"[0-9a-f]{40}")
_SKIP = {".git", "__pycache__", ".venv", "build", "dist", ".tox", ".nox", ".mypy_cache", ".pytest_cache"}


class DirectReferenceError(MonotrailError):
    """A direct reference that cannot be used: an unknown git ref, a missing directory, a bad URL."""


@dataclass(frozen=True)
class DirectRef:
    """One parsed direct reference. `kind`: "git", "directory" or "archive"."""

    kind: str
    url: str  # git: the repository URL without `git+` and `@rev`; archive: the file URL; directory: file URI
    path: str | None = None  # directory / local archive: absolute path
    revision: str | None = None  # git: as requested (None: the remote's HEAD)
    commit: str | None = None  # git: the resolved commit (set by `resolve_git` or read from a lock)
    hashes: tuple[tuple[str, str], ...] = ()  # archive
    subdirectory: str | None = None
    editable: bool = False

    @property
    def filename(self) -> str:
        return (self.path or self.url).split("#")[0].split("?")[0].rstrip("/").rsplit("/", 1)[-1]

    def requirement_url(self) -> str:
        """The reference as a PEP 508 URL (what `name @ URL` would carry), pinned to the commit."""
        fragment = f"#subdirectory={self.subdirectory}" if self.subdirectory else ""
        if self.kind == "git":
            return f"git+{self.url}@{self.commit or self.revision or 'HEAD'}{fragment}"
        if self.kind == "directory":
            return Path(self.path or "").as_uri() + fragment
        return self.url


def parse(url: str, base: Path | None = None, where: str = "") -> DirectRef:
    """`url` of `name @ url` (relative paths against `base`)."""
    text = url.strip()
    subdirectory = None
    fragment = ""
    if "#" in text:
        text, _, fragment = text.partition("#")
        match = re.search(r"(?:^|&)subdirectory=([^&]+)", fragment)
        subdirectory = match.group(1) if match else None
    if text.startswith("git+"):
        if not text.startswith(GIT_SCHEMES):
            raise DirectReferenceError(f"unsupported git URL {url!r}", where=where or None,
                                       hint="use git+https://, git+ssh:// or git+file://")
        repo = text[len("git+"):]
        scheme, _, rest = repo.partition("://")
        revision = None
        path_part = rest.split("/", 1)[1] if "/" in rest else ""
        if "@" in path_part:  # user@host is before the first '/': only a later '@' is a revision
            head, _, revision = repo.rpartition("@")
            repo = head
        return DirectRef("git", repo, revision=revision or None, subdirectory=subdirectory)
    if re.match(r"^(hg|svn|bzr)\+", text):
        raise DirectReferenceError(f"{url!r}: only git repositories are supported", where=where or None)
    if text.startswith("file:") or "://" not in text:
        path = _local_path(text, base)
        hashes = _fragment_hashes(fragment)
        if path.suffix in (".whl",) or path.name.endswith((".tar.gz", ".zip")):
            return DirectRef("archive", path.as_uri(), path=str(path), hashes=hashes)
        return DirectRef("directory", path.as_uri(), path=str(path), subdirectory=subdirectory)
    if text.startswith(("https://", "http://")):
        return DirectRef("archive", text, hashes=_fragment_hashes(fragment))
    raise DirectReferenceError(f"unsupported direct reference {url!r}", where=where or None,
                               hint="use git+URL@rev, a local directory, or an https:// URL of a wheel")


def _local_path(text: str, base: Path | None) -> Path:
    if text.startswith("file:"):
        return Path(url2pathname(unquote(urlsplit(text).path)))
    path = Path(text).expanduser()
    return path if path.is_absolute() else ((base or Path.cwd()) / path).resolve()


def _fragment_hashes(fragment: str) -> tuple[tuple[str, str], ...]:
    match = re.search(r"(?:^|&)(sha256|sha384|sha512)=([0-9a-fA-F]+)", fragment)
    return ((match.group(1), match.group(2).lower()),) if match else ()


# --- git -----------------------------------------------------------------------------------------


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true", LC_ALL="C")
    try:
        return subprocess.run(["git", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise DirectReferenceError("git is not installed (needed for a git+ requirement)",
                                   hint="install git, or depend on a released version") from None


def _redact(url: str) -> str:
    from monotrail.store.index import redact_url

    return redact_url(url)


def git_cache(root: Path, url: str) -> Path:
    return root / "git" / hashlib.sha256(url.encode()).hexdigest()[:16]


def resolve_git(ref: DirectRef, root: Path, offline: bool = False) -> DirectRef:
    """`ref` with `commit` set: the requested revision (or the locked commit) found in the cache,
    else fetched. A revision the repository does not have is one DirectReferenceError."""
    cache = _bare(root, ref.url)
    wanted = ref.commit or ref.revision
    if wanted:
        found = _rev_parse(cache, wanted)
        if found is not None and (ref.commit or _COMMIT.fullmatch(wanted)):
            return _with_commit(ref, found)  # a commit never moves: no fetch needed
    if offline:
        if wanted and found is not None:
            return _with_commit(ref, found)
        raise DirectReferenceError(f"offline and {_redact(ref.url)} is not in the git cache"
                                   + (f" at {wanted}" if wanted else ""),
                                   hint="run once without --offline")
    _fetch(cache, ref.url)
    if not wanted:
        found = _rev_parse(cache, "HEAD")
        if found is None:
            raise DirectReferenceError(f"the git repository {_redact(ref.url)} has no commits")
        return _with_commit(ref, found)
    for candidate in (f"refs/tags/{wanted}", f"refs/heads/{wanted}", wanted):
        found = _rev_parse(cache, candidate)
        if found is not None:
            return _with_commit(ref, found)
    if _COMMIT.fullmatch(wanted) or re.fullmatch(r"[0-9a-f]{7,40}", wanted):
        fetched = _git("--git-dir", str(cache), "fetch", "--quiet", ref.url, wanted)
        if fetched.returncode == 0:
            found = _rev_parse(cache, "FETCH_HEAD")
            if found is not None:
                return _with_commit(ref, found)
    raise DirectReferenceError(f"git ref {wanted!r} does not exist in {_redact(ref.url)}",
                               hint="check the branch, tag or commit after '@'")


def _with_commit(ref: DirectRef, commit: str) -> DirectRef:
    from dataclasses import replace

    return replace(ref, commit=commit)


def _bare(root: Path, url: str) -> Path:
    cache = git_cache(root, url)
    if not (cache / "HEAD").is_file():
        cache.parent.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(prefix=f"git-{os.getpid()}-", dir=cache.parent))
        result = _git("init", "--quiet", "--bare", str(temp))
        if result.returncode != 0:
            shutil.rmtree(temp, ignore_errors=True)
            raise DirectReferenceError(f"cannot create the git cache {cache}: {_tail(result)}")
        try:
            os.rename(temp, cache)
        except OSError:
            shutil.rmtree(temp, ignore_errors=True)  # another process made it first
    return cache


def _fetch(cache: Path, url: str) -> None:
    result = _git("--git-dir", str(cache), "fetch", "--quiet", "--prune", "--force", "--tags", url,
                  "+HEAD:refs/remotes/origin/HEAD", "+refs/heads/*:refs/heads/*")
    if result.returncode != 0:
        raise DirectReferenceError(f"cannot fetch the git repository {_redact(url)}: {_tail(result)}",
                                   hint="check the URL and that the repository is reachable")
    head = _rev_parse(cache, "refs/remotes/origin/HEAD")
    if head is not None:
        _git("--git-dir", str(cache), "update-ref", "--no-deref", "HEAD", head)


def _rev_parse(cache: Path, rev: str) -> str | None:
    if rev.startswith("-"):
        return None
    result = _git("--git-dir", str(cache), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    text = result.stdout.decode().strip()
    return text if result.returncode == 0 and _COMMIT.fullmatch(text) else None


def _tail(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else f"exit {result.returncode}"


def _export(root: Path, ref: DirectRef, target: Path) -> Path:
    """The tree of `ref.commit`, written to `target` (`git archive`, no .git)."""
    import io
    import tarfile

    cache = git_cache(root, ref.url)
    result = _git("--git-dir", str(cache), "archive", "--format=tar", str(ref.commit))
    if result.returncode != 0:
        raise DirectReferenceError(f"cannot export {ref.commit} of {_redact(ref.url)}: {_tail(result)}")
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as archive:
        archive.extractall(target, filter="data")
    return target / ref.subdirectory if ref.subdirectory else target


# --- building ------------------------------------------------------------------------------------


def tree_hash(directory: Path) -> str:
    """A content hash of a source tree (paths, modes and bytes; VCS and build outputs skipped)."""
    digest = hashlib.sha256()
    for current, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP and not d.endswith(".egg-info"))
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = Path(current) / name
            relative = path.relative_to(directory).as_posix()
            digest.update(relative.encode() + b"\0")
            try:
                if path.is_symlink():
                    digest.update(b"L" + os.readlink(path).encode())
                else:
                    digest.update(b"X" if os.access(path, os.X_OK) else b"F")
                    digest.update(path.read_bytes())
            except OSError:
                continue
            digest.update(b"\0")
    return digest.hexdigest()


def _check_project_dir(directory: Path, label: str) -> None:
    if not directory.is_dir():
        raise DirectReferenceError(f"the directory {directory} of {label} does not exist",
                                   hint="check the path (relative paths are relative to the file that names them)")
    if not any((directory / name).is_file() for name in ("pyproject.toml", "setup.py", "setup.cfg")):
        raise DirectReferenceError(f"{directory} ({label}) is not a Python project: no pyproject.toml or setup.py")


def interpreter_key(interpreter) -> str:
    """The directory of `<root>/built/<key>/` holding the wheels built for `interpreter`."""
    return (interpreter.tags[0] if interpreter.tags else "any").replace("/", "_")


def built_wheel(ref: DirectRef, name: str, interpreter, sources, root: Path,
                build_tree: Callable[[Path, str, str], Path]) -> Path:
    """The wheel of a git or directory reference for `interpreter`, built once and cached.
    `build_tree(tree, cache key, label)` builds a checked-out tree (`monotrail.builds` passes it:
    the store fetches and checks out, the builds stage runs backends)."""

    label = f"{name} @ {ref.requirement_url() if ref.kind != 'directory' else ref.path}"
    if ref.kind == "directory":
        directory = Path(ref.path or "")
        if ref.subdirectory:
            directory = directory / ref.subdirectory
        _check_project_dir(directory, label)
        key = "tree-" + tree_hash(directory)[:32]
        return build_tree(directory, key, f"{name}-{key[5:17]}")
    if ref.kind != "git":
        raise DirectReferenceError(f"{label} is not a source tree")
    if ref.commit is None:
        ref = resolve_git(ref, root, offline=sources.offline)
    key = f"git-{ref.commit}" + (f"-{hashlib.sha256(ref.subdirectory.encode()).hexdigest()[:8]}" if ref.subdirectory else "")
    cache = root / "built" / key
    if cache.is_dir() and any(cache.glob("*/*.whl")):
        found = sorted((cache / interpreter_key(interpreter)).glob("*.whl"))
        if found:
            return found[0]
    _ensure_commit(ref, root, sources.offline)
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"checkout-{os.getpid()}-", dir=root / "tmp"))
    try:
        tree = _export(root, ref, work / "tree")
        _check_project_dir(tree, label)
        return build_tree(tree, key, f"{name}-{str(ref.commit)[:12]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _ensure_commit(ref: DirectRef, root: Path, offline: bool) -> None:
    """A locked commit must be in the cache before exporting it: fetch it if it is not."""
    cache = _bare(root, ref.url)
    if _rev_parse(cache, str(ref.commit)) is not None:
        return
    resolve_git(DirectRef("git", ref.url, revision=ref.commit), root, offline=offline)
    if _rev_parse(cache, str(ref.commit)) is None:
        raise DirectReferenceError(f"git commit {ref.commit} does not exist in {_redact(ref.url)}")


def direct_url(ref: DirectRef) -> str:
    """PEP 610 direct_url.json (JSON text) of an install from `ref`, as pip and uv write it: a git
    reference with the commit it was built from (and the revision asked for, when that was not the
    commit), a source tree with `dir_info`, an archive with its hash; the URL without credentials."""
    import json

    data: dict = {"url": _without_credentials(ref.url)}
    if ref.kind == "git":
        vcs_info = {"vcs": "git", "commit_id": ref.commit}
        if ref.revision and ref.revision != ref.commit:
            vcs_info["requested_revision"] = ref.revision
        data["vcs_info"] = vcs_info
    elif ref.kind == "directory":
        data["dir_info"] = {"editable": True} if ref.editable else {}
    else:
        data["archive_info"] = {"hashes": dict(ref.hashes)} if ref.hashes else {}
        if "sha256" in dict(ref.hashes):
            data["archive_info"]["hash"] = f"sha256={dict(ref.hashes)['sha256']}"
    if ref.subdirectory:
        data["subdirectory"] = ref.subdirectory
    return json.dumps(data, sort_keys=True)


def _without_credentials(url: str) -> str:
    """PEP 610: no user or password in the URL, except ssh's conventional `git@`."""
    parts = urlsplit(url)
    if "@" not in parts.netloc or parts.netloc.split("@", 1)[0] == "git":
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


def wheel_version(wheel: Path) -> str:
    from monotrail.store.wheel import name_version

    return name_version(wheel.name)[1]


def from_locked(vcs: str | None, directory: str | None) -> DirectRef | None:
    """The reference a locked package's `vcs` string ("git+URL@commit") or directory names."""
    if vcs is not None:
        text = vcs
        if not text.startswith("git+"):
            raise DirectReferenceError(f"{vcs!r}: only git sources are supported")
        if "://" not in text:  # pylock `vcs.path`: a local repository
            text = "git+" + Path(text[4:].rsplit("@", 1)[0]).absolute().as_uri() + "@" + text.rsplit("@", 1)[1]
        head, _, fragment = text.partition("#")
        if _COMMIT.fullmatch(fragment):  # uv.lock: git+URL?rev=main#<commit>
            text = head.split("?", 1)[0] + "@" + fragment
        ref = parse(text)
        if ref.revision and _COMMIT.fullmatch(ref.revision):
            from dataclasses import replace

            return replace(ref, commit=ref.revision)
        return ref
    if directory is not None:
        return DirectRef("directory", Path(directory).as_uri(), path=directory)
    return None

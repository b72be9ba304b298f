"""Test helpers for the store: wheels built inside the tests and a local simple-API server.

`build_wheel` writes a real wheel (WHEEL, METADATA, RECORD with sha256 hashes) from a dict of
files; keyword switches make it hostile. `IndexServer` serves PEP 691 JSON and PEP 503 HTML
project pages, a flat find-links page and the files on 127.0.0.1, logs every request, and can
fail or delay chosen paths.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import ssl
import stat
import threading
import time
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from collections.abc import Mapping

from monotrail.lock.model import Artifact

from monotrail.selection import Selected


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(
    tmp_path: Path,
    name: str,
    version: str,
    files: Mapping[str, str | bytes],
    entry_points: str | None = None,
    tag: str = "py3-none-any",
    *,
    symlinks: Mapping[str, str] = {},
    corrupt_record: str | None = None,
    dist_info_name: str | None = None,
    executables: tuple = (),
    requires: tuple = (),
    requires_python: str | None = None,
    provides_extras: tuple = (),
) -> Path:
    """A wheel `{name}-{version}-{tag}.whl` in `tmp_path` holding `files` (paths used verbatim).

    `symlinks` adds symlink members, `corrupt_record` names a file whose RECORD hash is wrong,
    `dist_info_name` overrides the `.dist-info` project name. `requires` are Requires-Dist lines
    (`"b>=1 ; extra == 'x'"`), `requires_python` the Requires-Python field.
    """
    dist = name.replace("-", "_")
    dist_info = f"{dist_info_name or dist}-{version}.dist-info"
    members: dict[str, bytes] = {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}
    members[f"{dist_info}/METADATA"] = metadata_text(name, version, requires, requires_python, provides_extras).encode()
    members[f"{dist_info}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n".encode()
    if entry_points is not None:
        members[f"{dist_info}/entry_points.txt"] = entry_points.encode()
    record_lines = []
    for path, data in members.items():
        digest = _record_hash(b"tampered" if path == corrupt_record else data)
        record_lines.append(f"{path},{digest},{len(data)}")
    for path, target in symlinks.items():
        record_lines.append(f"{path},{_record_hash(target.encode())},{len(target)}")
    record_lines.append(f"{dist_info}/RECORD,,")
    members[f"{dist_info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()

    wheel = tmp_path / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            mode = 0o755 if path in executables else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
        for path, target in symlinks.items():
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return wheel


def metadata_text(name: str, version: str, requires: tuple = (), requires_python: str | None = None,
                  provides_extras: tuple = ()) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Provides-Extra: {extra}" for extra in provides_extras]
    lines += [f"Requires-Dist: {requirement}" for requirement in requires]
    return "\n".join(lines) + "\n"


def wheel_metadata(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return archive.read(name)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_sdist(directory: Path, top: str, members: Mapping[str, str]) -> Path:
    """`directory`/`top`.tar.gz holding each of `members` (path: text) under `top`/, with fixed
    mtimes and modes so the same members give the same bytes (and sha256)."""
    import io
    import tarfile

    path = directory / f"{top}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{member}")
            info.size, info.mtime, info.mode = len(data), 1_600_000_000, 0o644
            archive.addfile(info, io.BytesIO(data))
    return path


def write_find_links_requirements(directory: Path, wheels: list[Path]) -> None:
    """`directory`/requirements.txt pinning each of `wheels` (kept in `directory`/wheels) by hash,
    with --no-index and --find-links wheels: a project that needs no index server."""
    lines = ["--no-index", "--find-links wheels"]
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        lines.append(f"{name.replace('_', '-')}=={version} --hash=sha256:{sha256_of(wheel)}")
    (directory / "requirements.txt").write_text("\n".join(lines) + "\n")


@dataclass
class ServerState:
    files: dict[str, Path] = field(default_factory=dict)  # filename -> wheel
    # filename -> {"yanked": str|bool, "requires_python": str, "metadata": bool (serve <file>.metadata),
    #              "advertise": bool (PEP 658/714 attribute on the page)}
    attributes: dict[str, dict] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)  # request paths, in order
    failures: dict[str, list[int]] = field(default_factory=dict)  # path -> statuses to answer first
    retry_after: str | None = None  # Retry-After header sent with injected failures
    delays: dict[str, float] = field(default_factory=dict)  # path -> seconds before answering
    lock: threading.Lock = field(default_factory=threading.Lock)


CERTS = Path(__file__).parent / "certs"  # a test CA and a certificate for 127.0.0.1 (certs/make_certs.sh)


class IndexServer:
    """A simple-API server on 127.0.0.1: `/simple/` negotiates JSON/HTML by Accept, `/json/simple/`
    and `/html/simple/` force one format, `/flat/` is a find-links page, `/files/<name>` the files.

    `tls`: HTTPS with certs/server.pem, signed by the test CA certs/ca.pem; a connection whose
    handshake fails (the client did not trust it) is logged as `!handshake`."""

    def __init__(self, tls: bool = False) -> None:
        self.state = ServerState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.httpd = _TLSServer(("127.0.0.1", 0), handler) if tls else ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.tls = tls
        if tls:
            self.httpd.state = self.state
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "IndexServer":
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.httpd.server_address[1]}"

    def add(
        self,
        wheel: Path,
        *,
        yanked: bool | str = False,
        requires_python: str | None = None,
        metadata: bool = True,
        advertise: bool = False,
        size: bool = False,
    ) -> Artifact:
        """Serve `wheel`; return its Artifact with URL and hash, as a lock would carry it.

        `metadata`: serve `<file>.metadata` (as the index here does); `advertise`: say so on the
        page (PEP 658/714); `yanked`/`requires_python`: the PEP 592 / PEP 503 attributes; `size`: the
        file's size on the JSON page (PEP 700, as PyPI gives it)."""
        self.state.files[wheel.name] = wheel
        self.state.attributes[wheel.name] = {
            "yanked": yanked, "requires_python": requires_python, "metadata": metadata, "advertise": advertise,
            "size": size,
        }
        return Artifact(wheel.name, f"{self.url}/files/{wheel.name}", (("sha256", sha256_of(wheel)),))

    def requests(self, prefix: str) -> list[str]:
        with self.state.lock:
            return [p for p in self.state.log if p.startswith(prefix)]


class _TLSServer(ThreadingHTTPServer):
    """The handshake made in the request's own thread, so that a client refusing the certificate
    is logged and the server goes on."""

    state: ServerState

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(CERTS / "server.pem")

    def finish_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        try:
            secure = self.context.wrap_socket(request, server_side=True)
        except OSError:  # ssl.SSLError included
            with self.state.lock:
                self.state.log.append("!handshake")
            return
        try:
            super().finish_request(secure, client_address)
        finally:
            secure.close()


def _project(filename: str) -> str:
    return filename.split("-", 1)[0].replace("_", "-").lower()


class _Handler(BaseHTTPRequestHandler):
    state: ServerState

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = self.path
        with self.state.lock:
            self.state.log.append(path)
            queued = self.state.failures.get(path)
            status = queued.pop(0) if queued else None
        time.sleep(self.state.delays.get(path, 0.0))
        if status is not None:
            return self._send(status, b"failure injected", "text/plain", retry_after=self.state.retry_after)
        if path.startswith("/files/"):
            filename = path[len("/files/"):]
            if filename.endswith(".metadata") and filename[: -len(".metadata")] in self.state.files:
                wheel_name = filename[: -len(".metadata")]
                if not self.state.attributes.get(wheel_name, {}).get("metadata", True):
                    return self._send(404, b"not found", "text/plain")
                return self._send(200, wheel_metadata(self.state.files[wheel_name]), "application/octet-stream")
            wheel = self.state.files.get(filename)
            if wheel is None:
                return self._send(404, b"not found", "text/plain")
            return self._send_ranged(wheel.read_bytes())
        if path == "/flat/":
            return self._send(200, self._html(sorted(self.state.files)).encode(), "text/html")
        for prefix in ("/json/simple/", "/html/simple/", "/simple/"):
            if path.startswith(prefix):
                return self._project_page(prefix, path[len(prefix):].strip("/"))
        self._send(404, b"not found", "text/plain")

    def _project_page(self, prefix: str, project: str) -> None:
        names = sorted(f for f in self.state.files if _project(f) == project)
        if not names:
            return self._send(404, b"no such project", "text/plain")
        wants_json = prefix == "/json/simple/" or (
            prefix == "/simple/" and "application/vnd.pypi.simple.v1+json" in self.headers.get("Accept", "")
        )
        if wants_json:
            body = {
                "meta": {"api-version": "1.1"},
                "name": project,
                "files": [self._json_file(n) for n in names],
            }
            return self._send(200, json.dumps(body).encode(), "application/vnd.pypi.simple.v1+json")
        self._send(200, self._html(names, relative="../../../files/").encode(), "text/html; charset=utf-8")

    def _json_file(self, name: str) -> dict:
        entry: dict = {"filename": name, "url": f"../../../files/{name}", "hashes": {"sha256": sha256_of(self.state.files[name])}}
        attributes = self.state.attributes.get(name, {})
        if attributes.get("yanked"):
            entry["yanked"] = attributes["yanked"]
        if attributes.get("requires_python"):
            entry["requires-python"] = attributes["requires_python"]
        if attributes.get("advertise"):
            entry["core-metadata"] = True
        if attributes.get("size"):
            entry["size"] = self.state.files[name].stat().st_size
        return entry

    def _html(self, names: list[str], relative: str = "/files/") -> str:
        links = "".join(
            f'<a href="{relative}{html.escape(n)}#sha256={sha256_of(self.state.files[n])}"{self._html_attributes(n)}>'
            f'{html.escape(n)}</a><br/>\n'
            for n in names
        )
        return f"<!DOCTYPE html><html><body>\n{links}</body></html>"

    def _html_attributes(self, name: str) -> str:
        attributes = self.state.attributes.get(name, {})
        text = ""
        if attributes.get("yanked"):
            text += f' data-yanked="{html.escape(str(attributes["yanked"]) if attributes["yanked"] is not True else "")}"'
        if attributes.get("requires_python"):
            text += f' data-requires-python="{html.escape(attributes["requires_python"])}"'
        if attributes.get("advertise"):
            text += ' data-core-metadata="true"'
        return text

    def _send_ranged(self, body: bytes) -> None:
        """Range requests (`bytes=A-B`, `bytes=-N`), as the resolver uses them to read a wheel's
        central directory and METADATA without downloading it."""
        ranged = self.headers.get("Range", "")
        if not ranged.startswith("bytes="):
            return self._send(200, body, "application/octet-stream")
        first, _, last = ranged[len("bytes="):].partition("-")
        start = len(body) - int(last) if not first else int(first)
        end = len(body) - 1 if not first or not last else min(int(last), len(body) - 1)
        start = max(start, 0)
        with self.state.lock:
            self.state.log.append(f"range {self.path} {start}-{end}")
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self.wfile.write(body[start:end + 1])

    def _send(self, status: int, body: bytes, content_type: str, retry_after: str | None = None) -> None:
        self.send_response(status)
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def install_in_child(root: str, name: str, version: str, artifact: Artifact, results: "object") -> None:
    """multiprocessing target: one `ensure_installed` in a fresh process; reports path or error."""
    from monotrail.store.index import Sources
    from monotrail.store.entries import ensure_installed

    try:
        [entry] = ensure_installed([Selected(name, version, artifact, None, None)], Sources(), Path(root), False)
        results.put(("ok", str(entry.path)))  # type: ignore[attr-defined]
    except Exception as exc:  # reported to the parent, which asserts on it
        results.put(("error", repr(exc)))  # type: ignore[attr-defined]

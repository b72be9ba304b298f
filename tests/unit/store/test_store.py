"""The store: index lookups, downloads, wheel unpacking, markers, locking and crash leftovers.

Every wheel is built inside the test; every server is 127.0.0.1. No internet.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
import pytest

from index_fixtures import IndexServer, Selected, build_wheel, install_in_child, sha256_of
from monotrail.store import index as index_module
from monotrail.errors import DownloadError, IndexError_, StoreError, WheelError
from monotrail.store.index import IndexClient, Sources, redact_url, sources_from_env
from monotrail.lock.model import Artifact
from monotrail import store_root
from monotrail.store.entries import StoreEntry, ensure_installed, read_entry

SIX_FILES = {"six.py": "X = 1\n"}


@pytest.fixture
def server():
    with IndexServer() as running:
        yield running


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(index_module, "BACKOFF_SECONDS", 0.01)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


def selected(name: str, version: str, artifact: Artifact, index: str = None) -> Selected:
    return Selected(name, version, artifact, index, None)


def store_is_empty(root: Path) -> bool:
    stored = [p for p in (root / "store").rglob("*")] if (root / "store").exists() else []
    downloads = list((root / "downloads").iterdir()) if (root / "downloads").exists() else []
    return not stored and not downloads


def install_one(server_or_sources, root: Path, sel: Selected, **kwargs) -> StoreEntry:
    sources = server_or_sources if isinstance(server_or_sources, Sources) else Sources()
    [entry] = ensure_installed([sel], sources, root, False, **kwargs)
    return entry


# --- installing from indexes ------------------------------------------------------------------


def test_install_from_locked_url_creates_entry_with_marker(server, root, tmp_path):
    artifact = server.add(build_wheel(tmp_path, "six", "1.16.0", SIX_FILES))
    entry = install_one(server, root, selected("six", "1.16.0", artifact))
    assert entry.path == root / "store" / "six" / "1.16.0" / artifact.sha256[:16]
    assert (entry.path / "site-packages" / "six.py").read_text() == "X = 1\n"
    assert read_entry(entry.path) == entry
    assert entry.meta["sha256"] == artifact.sha256
    assert (root / "downloads" / f"{artifact.sha256}.whl").is_file()
    assert not list((root / "tmp").iterdir())


@pytest.mark.parametrize("api", ["json", "html", "negotiated"])
def test_lookup_by_filename_on_each_page_format(server, root, tmp_path, api):
    wheel = build_wheel(tmp_path, "six", "1.16.0", SIX_FILES)
    artifact = server.add(wheel)
    index = {"json": f"{server.url}/json/simple", "html": f"{server.url}/html/simple", "negotiated": f"{server.url}/simple"}[api]
    by_name = Artifact(wheel.name, url=None, hashes=artifact.hashes)  # poetry.lock 1.1: no URL
    entry = install_one(Sources(index_urls=(index,)), root, selected("six", "1.16.0", by_name))
    assert (entry.path / "site-packages" / "six.py").is_file()
    assert server.requests("/files/") == [f"/files/{wheel.name}"]


def test_page_format_follows_the_content_type(server, tmp_path, root):
    wheel = build_wheel(tmp_path, "six", "1.16.0", SIX_FILES)
    server.add(wheel)
    for index in (f"{server.url}/json/simple", f"{server.url}/html/simple"):
        [found] = IndexClient(Sources(index_urls=(index,)), root).project_files("Six")
        assert found.filename == wheel.name
        assert found.url == f"{server.url}/files/{wheel.name}"
        assert found.sha256 == sha256_of(wheel)


def test_lookup_uses_the_selected_packages_own_index(server, root, tmp_path):
    wheel = build_wheel(tmp_path, "six", "1.16.0", SIX_FILES)
    artifact = server.add(wheel)
    by_name = Artifact(wheel.name, hashes=artifact.hashes)
    sources = Sources(index_urls=("http://127.0.0.1:9/never-asked",))
    install_one(sources, root, selected("six", "1.16.0", by_name, index=f"{server.url}/json/simple"))


def test_find_links_directory(root, tmp_path):
    links = tmp_path / "links"
    links.mkdir()
    wheel = build_wheel(links, "six", "1.16.0", SIX_FILES)
    by_name = Artifact(wheel.name, hashes=(("sha256", sha256_of(wheel)),))
    sources = Sources(index_urls=(), find_links=(str(links),))
    entry = install_one(sources, root, selected("six", "1.16.0", by_name))
    assert (entry.path / "site-packages" / "six.py").is_file()


def test_find_links_flat_page(server, root, tmp_path):
    wheel = build_wheel(tmp_path, "six", "1.16.0", SIX_FILES)
    server.add(wheel)
    sources = Sources(index_urls=(), find_links=(f"{server.url}/flat/",))
    entry = install_one(sources, root, selected("six", "1.16.0", Artifact(wheel.name, hashes=((("sha256", sha256_of(wheel))),))))
    assert entry.meta["wheel"] == wheel.name


def test_file_url_is_copied(root, tmp_path):
    wheel = build_wheel(tmp_path, "six", "1.16.0", SIX_FILES)
    artifact = Artifact(wheel.name, url=wheel.as_uri(), hashes=(("sha256", sha256_of(wheel)),))
    entry = install_one(Sources(offline=True), root, selected("six", "1.16.0", artifact))
    assert (entry.path / "site-packages" / "six.py").is_file()


def test_requirements_style_pin_picks_best_tag_with_allowed_hash(server, root, tmp_path):
    generic = server.add(build_wheel(tmp_path, "fast", "1.0", {"fast/__init__.py": "KIND = 'py3'\n"}))
    specific = server.add(
        build_wheel(tmp_path, "fast", "1.0", {"fast/__init__.py": "KIND = 'cp312'\n"}, tag="cp312-cp312-manylinux_2_17_x86_64")
    )
    unallowed = server.add(
        build_wheel(tmp_path, "fast", "1.0", {"fast/__init__.py": "KIND = 'abi3'\n"}, tag="cp312-abi3-manylinux_2_17_x86_64")
    )
    tags = ("cp312-cp312-manylinux_2_17_x86_64", "cp312-abi3-manylinux_2_17_x86_64", "py3-none-any")
    pinned = Artifact("", hashes=(("sha256", generic.sha256), ("sha256", specific.sha256)))
    sources = Sources(index_urls=(f"{server.url}/simple",))
    entry = install_one(sources, root, selected("fast", "1.0", pinned), tags=tags)
    assert entry.meta["wheel"] == specific.filename
    assert entry.meta["sha256"] == specific.sha256
    assert unallowed.filename not in str(server.requests("/files/"))


def _fast_wheels(server, tmp_path):
    """fast 1.0 as a py3 wheel and a cp312 one, both on the index."""
    generic = server.add(build_wheel(tmp_path, "fast", "1.0", {"fast/__init__.py": "KIND = 'py3'\n"}))
    specific = server.add(
        build_wheel(tmp_path, "fast", "1.0", {"fast/__init__.py": "KIND = 'cp312'\n"}, tag="cp312-cp312-manylinux_2_17_x86_64")
    )
    return generic, specific


CP312_TAGS = ("cp312-cp312-manylinux_2_17_x86_64", "py3-none-any")


def test_pin_by_hashes_finds_its_stored_entry_without_the_index(server, root, tmp_path):
    """A second project with the same requirements.txt: its entries are found by their hashes,
    even with the index down and its cached pages gone."""
    generic, specific = _fast_wheels(server, tmp_path)
    pinned = Artifact("", hashes=(("sha256", generic.sha256), ("sha256", specific.sha256), ("sha256", "3" * 64)))
    sources = Sources(index_urls=(f"{server.url}/simple",))
    first = install_one(sources, root, Selected("fast", "1.0", pinned, None, None, tags=CP312_TAGS), tags=CP312_TAGS)
    requests = list(server.state.log)
    server.httpd.shutdown()
    shutil.rmtree(root / "cache")
    again = install_one(sources, root, Selected("fast", "1.0", pinned, None, None, tags=CP312_TAGS), tags=CP312_TAGS)
    assert again == first
    assert again.meta["sha256"] == specific.sha256
    assert server.state.log == requests


def test_pin_by_hashes_takes_the_best_tagged_of_its_stored_entries(server, root, tmp_path):
    generic, specific = _fast_wheels(server, tmp_path)
    sources = Sources(index_urls=(f"{server.url}/simple",))
    for artifact in (generic, specific):  # both stored, each by its own lock
        install_one(sources, root, selected("fast", "1.0", artifact))
    server.httpd.shutdown()
    pinned = Artifact("", hashes=(("sha256", generic.sha256), ("sha256", specific.sha256)))
    for tags, wanted in ((CP312_TAGS, specific), (("py3-none-any",), generic)):
        entry = install_one(sources, root, Selected("fast", "1.0", pinned, None, None, tags=tags), tags=tags)
        assert entry.meta["sha256"] == wanted.sha256


@pytest.mark.parametrize("case", ["hash not allowed", "tags do not fit"])
def test_pin_by_hashes_without_a_fitting_stored_entry_downloads_and_checks(server, root, tmp_path, case):
    generic, specific = _fast_wheels(server, tmp_path)
    sources = Sources(index_urls=(f"{server.url}/simple",))
    if case == "hash not allowed":
        install_one(sources, root, selected("fast", "1.0", generic))  # stored, but not among the pin's hashes
        pinned, tags, wanted = Artifact("", hashes=(("sha256", specific.sha256),)), CP312_TAGS, specific
    else:
        install_one(sources, root, selected("fast", "1.0", specific))  # allowed, but a cp312 wheel for a py3-only target
        pinned = Artifact("", hashes=(("sha256", generic.sha256), ("sha256", specific.sha256)))
        tags, wanted = ("py3-none-any",), generic
    entry = install_one(sources, root, Selected("fast", "1.0", pinned, None, None, tags=tags), tags=tags)
    assert entry.meta["sha256"] == wanted.sha256
    assert f"/files/{wanted.filename}" in server.state.log
    assert (root / "downloads" / f"{wanted.sha256}.whl").is_file()


def test_requirements_style_pin_without_hashes_takes_the_best_file_of_that_version(server, root, tmp_path):
    server.add(build_wheel(tmp_path, "fast", "1.0", {"fast/__init__.py": "KIND = 'py3'\n"}))
    specific = server.add(
        build_wheel(tmp_path, "fast", "1.0", {"fast/__init__.py": "KIND = 'cp312'\n"}, tag="cp312-cp312-manylinux_2_17_x86_64")
    )
    server.add(build_wheel(tmp_path, "fast", "2.0", {"fast/__init__.py": "KIND = 'newer'\n"}, tag="cp312-cp312-manylinux_2_17_x86_64"))
    tags = ("cp312-cp312-manylinux_2_17_x86_64", "py3-none-any")
    sources = Sources(index_urls=(f"{server.url}/simple",))
    entry = install_one(sources, root, selected("fast", "1.0", Artifact("")), tags=tags)
    assert (entry.meta["wheel"], entry.meta["sha256"]) == (specific.filename, specific.sha256)


def test_entry_with_marker_is_reused_without_network(server, root, tmp_path):
    artifact = server.add(build_wheel(tmp_path, "six", "1.16.0", SIX_FILES))
    first = install_one(server, root, selected("six", "1.16.0", artifact))
    server.httpd.shutdown()
    again = install_one(Sources(offline=True), root, selected("six", "1.16.0", artifact))
    assert again == first


def test_directory_sources_are_skipped(server, root, tmp_path):
    artifact = server.add(build_wheel(tmp_path, "six", "1.16.0", SIX_FILES))
    project = Selected("app", "0.1", None, None, str(tmp_path))
    entries = ensure_installed([project, selected("six", "1.16.0", artifact)], Sources(), root, False)
    assert [e.meta["name"] for e in entries] == ["six"]


def test_entries_keep_selection_order(server, root, tmp_path):
    wheels = [server.add(build_wheel(tmp_path, f"pkg{i}", "1.0", {f"pkg{i}.py": ""})) for i in range(10)]
    entries = ensure_installed([selected(f"pkg{i}", "1.0", a) for i, a in enumerate(wheels)], Sources(), root, False)
    assert [e.meta["name"] for e in entries] == [f"pkg{i}" for i in range(10)]


def test_the_http_client_is_made_before_the_unpacker_is_imported(server, root, tmp_path, monkeypatch):
    """The install's own thread makes (or waits for) the HTTP client before it imports the
    unpacker, so that those imports do not hold up the first request; a wheel from a local
    file needs no client and makes none."""
    import threading

    made_by: list[str] = []
    real = IndexClient.client

    def client(self):  # noqa: ANN001, ANN202
        made_by.append(threading.current_thread().name)
        return real(self)

    monkeypatch.setattr(IndexClient, "client", client)
    artifact = server.add(build_wheel(tmp_path, "six", "1.16.0", SIX_FILES))
    install_one(server, root, selected("six", "1.16.0", artifact))
    assert threading.main_thread().name in made_by
    made_by.clear()
    (tmp_path / "local").mkdir()
    local = build_wheel(tmp_path / "local", "seven", "1.0", {"seven.py": ""})
    artifact = Artifact(local.name, None, (("sha256", sha256_of(local)),), local.stat().st_size, str(local))
    install_one(Sources(), root, selected("seven", "1.0", artifact))
    assert made_by == []


def test_big_wheels_unpack_in_the_unpack_threads_with_the_same_result(server, root, tmp_path, monkeypatch):
    import monotrail.store.entries as store

    monkeypatch.setattr(store, "PROCESS_UNPACK_MIN_BYTES", 0)  # every wheel counts as big
    monkeypatch.setattr(store.os, "cpu_count", lambda: 2)
    wheels = [server.add(build_wheel(tmp_path, f"pkg{i}", "1.0", {f"pkg{i}/__init__.py": f"X = {i}\n"})) for i in range(3)]
    entries = ensure_installed([selected(f"pkg{i}", "1.0", a) for i, a in enumerate(wheels)], Sources(), root, False)
    assert [(e.path / "site-packages" / f"pkg{i}" / "__init__.py").read_text() for i, e in enumerate(entries)] == [
        "X = 0\n", "X = 1\n", "X = 2\n"
    ]
    assert [e.meta["top_level"] for e in entries] == [["pkg0"], ["pkg1"], ["pkg2"]]
    assert store._unpackers._pool is None  # shut down with the install


def test_hostile_big_wheel_is_refused_from_an_unpack_thread(server, root, tmp_path, monkeypatch):
    import monotrail.store.entries as store

    monkeypatch.setattr(store, "PROCESS_UNPACK_MIN_BYTES", 0)
    monkeypatch.setattr(store.os, "cpu_count", lambda: 2)
    artifact = server.add(build_wheel(tmp_path, "evil", "1.0", {"../evil.py": "boom"}))
    with pytest.raises(WheelError, match="'..'"):
        ensure_installed([selected("evil", "1.0", artifact)], Sources(), root, False)
    assert not (root / "store" / "evil").exists()


def _many_files(count: int) -> dict:
    files = {f"big/sub{i % 4}/m{i}.py": f"X = {i}\n" * (i + 1) for i in range(count)}
    files.update({"big/__init__.py": "", "big_top.py": "Y = 1\n", "big-1.0.data/scripts/big-tool": "#!python\nprint(1)\n",
                  "big-1.0.data/data/share/big.txt": "data\n"})
    return files


def _tree(path: Path) -> dict:
    return {str(p.relative_to(path)): (p.stat().st_mode, p.read_bytes() if p.is_file() else None)
            for p in sorted(path.rglob("*"))}


def test_a_big_wheel_is_split_over_the_unpack_threads_with_the_same_entry(server, root, tmp_path, monkeypatch):
    """The biggest wheel's unpack ends a cold install; with its members in runs, each unpack
    thread writes one, and the entry (files, modes, RECORD, marker) is the entry unpacked in one part."""
    import monotrail.store.entries as store
    from monotrail.store import wheel as wheels

    wheel = build_wheel(tmp_path, "big", "1.0", _many_files(60), executables=("big/sub1/m1.py",))
    runs = wheels.split_members(wheel, 2)
    assert all(runs) and not runs[0] & runs[1] and all(name.startswith("big/") for run in runs for name in run)
    artifact = server.add(wheel)
    whole = install_one(server, tmp_path / "whole", selected("big", "1.0", artifact))
    monkeypatch.setattr(store, "PROCESS_UNPACK_MIN_BYTES", 0)
    monkeypatch.setattr(store, "SPLIT_UNPACK_MIN_BYTES", 0)
    monkeypatch.setattr(store.os, "cpu_count", lambda: 2)
    split = install_one(server, root, selected("big", "1.0", artifact))
    assert _tree(split.path) == _tree(whole.path) and split.meta == whole.meta
    assert os.access(split.path / "site-packages" / "big" / "sub1" / "m1.py", os.X_OK)
    assert store._unpackers._pool is None


def test_a_tampered_member_in_another_threads_run_is_refused(server, root, tmp_path, monkeypatch):
    import monotrail.store.entries as store
    from monotrail.store import wheel as wheels

    wheel = build_wheel(tmp_path, "big", "1.0", _many_files(60), corrupt_record="big/sub3/m59.py")
    assert "big/sub3/m59.py" in wheels.split_members(wheel, 2)[1]  # written by the other thread
    monkeypatch.setattr(store, "PROCESS_UNPACK_MIN_BYTES", 0)
    monkeypatch.setattr(store, "SPLIT_UNPACK_MIN_BYTES", 0)
    monkeypatch.setattr(store.os, "cpu_count", lambda: 2)
    with pytest.raises(WheelError, match="m59.py does not match its RECORD"):
        install_one(server, root, selected("big", "1.0", server.add(wheel)))
    assert not (root / "store" / "big").exists() and not list((root / "tmp").iterdir())


# --- failures ---------------------------------------------------------------------------------


def test_hash_mismatch_raises_and_stores_nothing(server, root, tmp_path):
    artifact = server.add(build_wheel(tmp_path, "six", "1.16.0", SIX_FILES))
    wrong = Artifact(artifact.filename, artifact.url, (("sha256", "0" * 64),))
    with pytest.raises(DownloadError) as caught:
        install_one(server, root, selected("six", "1.16.0", wrong))
    message = str(caught.value)
    assert artifact.filename in message and "0" * 64 in message and artifact.sha256 in message
    assert store_is_empty(root)
    assert not list((root / "tmp").iterdir())


def test_server_errors_are_retried(server, root, tmp_path):
    artifact = server.add(build_wheel(tmp_path, "six", "1.16.0", SIX_FILES))
    server.state.failures[f"/files/{artifact.filename}"] = [500, 503]
    entry = install_one(server, root, selected("six", "1.16.0", artifact))
    assert (entry.path / "site-packages" / "six.py").is_file()
    assert len(server.requests("/files/")) == 3


def test_too_many_requests_honours_retry_after(server, root, tmp_path):
    artifact = server.add(build_wheel(tmp_path, "six", "1.16.0", SIX_FILES))
    server.state.failures[f"/files/{artifact.filename}"] = [429]
    server.state.retry_after = "1"
    started = time.monotonic()
    install_one(server, root, selected("six", "1.16.0", artifact))
    assert time.monotonic() - started >= 1.0  # the backoff alone would have waited 0.01 s
    assert len(server.requests("/files/")) == 2


def test_missing_file_is_one_clear_error(server, root, tmp_path):
    artifact = server.add(build_wheel(tmp_path, "six", "1.16.0", SIX_FILES))
    gone = Artifact("six-1.16.0-py3-none-any.whl", f"{server.url}/files/gone.whl", artifact.hashes)
    with pytest.raises(DownloadError, match="HTTP 404"):
        install_one(server, root, selected("six", "1.16.0", gone))
    assert server.requests("/files/") == ["/files/gone.whl"]  # a 404 is not retried


def test_file_not_on_index_is_an_index_error(server, root, tmp_path):
    server.add(build_wheel(tmp_path, "six", "1.16.0", SIX_FILES))
    by_name = Artifact("six-9.9-py3-none-any.whl", hashes=(("sha256", "1" * 64),))
    with pytest.raises(IndexError_, match="six-9.9-py3-none-any.whl is not listed"):
        install_one(Sources(index_urls=(f"{server.url}/simple",)), root, selected("six", "9.9", by_name))


def test_connection_refused_names_redacted_url_and_offline(root):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://user:s3cret@127.0.0.1:{port}/files/six-1.16.0-py3-none-any.whl"
    artifact = Artifact("six-1.16.0-py3-none-any.whl", url, (("sha256", "1" * 64),))
    with pytest.raises(DownloadError) as caught:
        install_one(Sources(), root, selected("six", "1.16.0", artifact))
    error = caught.value
    shown = f"{error} {error.hint}"
    assert "s3cret" not in shown
    assert f"user:****@127.0.0.1:{port}" in shown
    assert "--offline" in shown


def test_offline_uses_a_cached_page_and_download(server, root, tmp_path):
    wheel = build_wheel(tmp_path, "six", "1.16.0", SIX_FILES)
    artifact = server.add(wheel)
    index = f"{server.url}/simple"
    other = Artifact("", hashes=(("sha256", artifact.sha256), ("sha256", "2" * 64)))  # requirements.txt pin
    tags = ("py3-none-any",)
    first = install_one(Sources(index_urls=(index,)), root, selected("six", "1.16.0", other), tags=tags)
    server.httpd.shutdown()
    for stored in (root / "store").iterdir():  # the store was garbage-collected, the caches were not
        shutil.rmtree(stored)
    again = install_one(Sources(index_urls=(index,), offline=True), root, selected("six", "1.16.0", other), tags=tags)
    assert again.path == first.path


@pytest.mark.parametrize("api", ["json/simple", "html/simple"])
def test_a_cached_page_reads_back_as_fetched(server, root, tmp_path, api):
    """The page cache keeps the body as the server sent it: read back (offline) it gives the same
    files and details as the fetch; a project the index does not have is cached as missing."""
    server.add(build_wheel(tmp_path, "six", "1.16.0", SIX_FILES), requires_python=">=3.8", yanked="bad", advertise=True)
    server.add(build_wheel(tmp_path, "six", "1.17.0", SIX_FILES), size=True)
    online = IndexClient(Sources(index_urls=(f"{server.url}/{api}",)), root)
    fetched = online.index_files("six")
    assert online.index_files("nosuch") == []
    offline = IndexClient(Sources(index_urls=(f"{server.url}/{api}",), offline=True), root)
    assert offline.index_files("six") == fetched and len(fetched) == 2
    assert fetched[0][2].yanked and fetched[0][2].requires_python == ">=3.8" and fetched[0][2].metadata
    assert offline.index_files("nosuch") == []
    cached = [p.read_bytes() for p in (root / "cache" / "simple").glob("*/*.json")]
    assert len(cached) == 2 and all(page.startswith(b'{"format":3,') for page in cached)


def test_a_page_naming_urls_with_credentials_is_cached_without_them(root, tmp_path):
    """Absolute file URLs with credentials in a page's body are not written to the cache as they
    came: the parsed list is cached with the credentials stripped."""
    body = b'<a href="https://user:s3cret@files.example/six-1.16.0-py3-none-any.whl#sha256=' + b"1" * 64 + b'">six</a>'
    path = root / "cache" / "simple" / "x" / "six.json"
    files = index_module.parse_response_entries(body, "text/html", "https://index.example/simple/six/")
    index_module._write_cache(path, "https://index.example/simple/six/", files, (body, "text/html", "https://index.example/simple/six/"))
    assert b"s3cret" not in path.read_bytes()
    [(artifact, _)] = index_module._read_cache(path)[1]
    assert artifact.url == "https://files.example/six-1.16.0-py3-none-any.whl"


def test_offline_without_cached_page_says_so(root):
    by_name = Artifact("six-1.16.0-py3-none-any.whl", hashes=(("sha256", "1" * 64),))
    with pytest.raises(IndexError_, match="offline"):
        install_one(Sources(index_urls=("http://127.0.0.1:9/simple",), offline=True), root, selected("six", "1.16.0", by_name))


def test_page_is_cached_for_ten_minutes(server, root, tmp_path, monkeypatch):
    server.add(build_wheel(tmp_path, "six", "1.16.0", SIX_FILES))
    sources = Sources(index_urls=(f"{server.url}/json/simple",))
    IndexClient(sources, root).project_files("six")
    IndexClient(sources, root).project_files("six")
    assert len(server.requests("/json/simple/six/")) == 1
    later = time.time() + index_module.PAGE_TTL_SECONDS + 1
    monkeypatch.setattr(index_module.time, "time", lambda: later)
    IndexClient(sources, root).project_files("six")
    assert len(server.requests("/json/simple/six/")) == 2


# --- hostile and broken wheels ----------------------------------------------------------------


@pytest.mark.parametrize(
    "build_kwargs, message",
    [
        ({"files": {"../evil.py": "x"}}, "'..'"),
        ({"files": {"/abs.py": "x"}}, "absolute"),
        ({"files": {"ok.py": "x"}, "symlinks": {"link.py": "/etc/passwd"}}, "symlink"),
        ({"files": {"ok.py": "x"}, "corrupt_record": "ok.py"}, "RECORD"),
        ({"files": {"ok.py": "x"}, "dist_info_name": "other"}, "dist-info"),
    ],
    ids=["dotdot", "absolute", "symlink", "record-hash", "dist-info-name"],
)
def test_hostile_wheels_are_rejected_and_leave_nothing(server, root, tmp_path, build_kwargs, message):
    artifact = server.add(build_wheel(tmp_path, "evil", "1.0", **build_kwargs))
    with pytest.raises(WheelError, match=message):
        install_one(server, root, selected("evil", "1.0", artifact))
    assert not (root / "store").exists() or not list((root / "store").rglob("*"))
    assert not [p for p in (root / "tmp").iterdir() if p.is_dir()]  # no unpack dir left behind
    assert not (tmp_path.parent / "evil.py").exists()


def test_wheel_of_another_project_is_rejected(server, root, tmp_path):
    artifact = server.add(build_wheel(tmp_path, "other", "1.0", {"other.py": ""}))
    with pytest.raises(WheelError, match="the lock selects six 1.0, but this wheel is other 1.0"):
        install_one(server, root, selected("six", "1.0", artifact))


def test_wheel_of_another_version_is_rejected_naming_both(server, root, tmp_path):
    """What a poetry.lock 1.1 with two versions of idna did: 3.4 selected, 2.10's wheel given."""
    artifact = server.add(build_wheel(tmp_path, "idna", "2.10", {"idna/__init__.py": ""}, tag="py2.py3-none-any"))
    with pytest.raises(WheelError) as raised:
        install_one(server, root, selected("idna", "3.4", artifact))
    assert "the lock selects idna 3.4, but this wheel is idna 2.10" in str(raised.value)
    assert "idna-2.10-py2.py3-none-any.whl" in str(raised.value)
    assert store_is_empty(root) or not list((root / "store").rglob("*"))


def test_wheel_whose_metadata_states_another_version_is_rejected(server, root, tmp_path):
    built = build_wheel(tmp_path, "idna", "2.10", {"idna/__init__.py": ""})
    renamed = built.rename(tmp_path / "idna-3.4-py3-none-any.whl")  # the file name lies, METADATA does not
    artifact = server.add(renamed)
    with pytest.raises(WheelError, match=r"selects idna 3.4, but this wheel is idna 2.10") as raised:
        install_one(server, root, selected("idna", "3.4", artifact))
    assert "METADATA" in str(raised.value)
    assert not (root / "store").exists() or not list((root / "store").rglob("*"))


def test_equal_versions_in_another_spelling_are_accepted(server, root, tmp_path):
    artifact = server.add(build_wheel(tmp_path, "Zope.Interface", "5.0", {"zope_interface.py": ""}))
    entry = install_one(server, root, selected("zope-interface", "5.0.0", artifact))
    assert (entry.path / "site-packages" / "zope_interface.py").is_file()


# --- the marker ---------------------------------------------------------------------------------


def test_marker_describes_the_entry(server, root, tmp_path):
    wheel = build_wheel(
        tmp_path,
        "My.Pkg",
        "2.0",
        {
            "mypkg/__init__.py": "",
            "mypkg/__pycache__/x.cpython-312.pyc": b"",
            "fast.cpython-312-x86_64-linux-gnu.so": b"\x7fELF",
            "speedy.abi3.so": b"\x7fELF",
            "google/cloud/storage.py": "",  # namespace portion: no __init__.py
            "single.py": "",
            "not-an-identifier.py": "",
            "85cae5375ceb5d1ca6c6__mypyc.cpython-312-x86_64-linux-gnu.so": b"\x7fELF",  # mypyc's helper
            "mypkg.libs/libz.so": b"\x7fELF",  # auditwheel's vendored libraries: not a module
            "distutils-precedence.pth": "import os\n",
            "My.Pkg-2.0.data/scripts/jp.py": b"#!python\nprint('jp')\n",  # a .py script (jmespath's jp.py)
            "My.Pkg-2.0.data/scripts/tool": b"#!python\nprint('hi')\n",
            "My.Pkg-2.0.data/data/share/doc.txt": "doc",
            "My.Pkg-2.0.data/headers/pkg.h": "/* h */",
        },
        entry_points="[console_scripts]\nMyTool = mypkg.cli:main [extra]\n\n[gui_scripts]\ngui = mypkg.gui:run\n\n[other]\nx = y\n",
        executables=("My.Pkg-2.0.data/scripts/tool", "My.Pkg-2.0.data/scripts/jp.py"),
    )
    artifact = server.add(wheel)
    entry = install_one(server, root, selected("my-pkg", "2.0", artifact))
    meta = json.loads((entry.path / "monotrail.json").read_text())
    assert meta == entry.meta
    assert meta["version"] == 2
    assert (meta["name"], meta["version_"], meta["wheel"]) == ("my-pkg", "2.0", wheel.name)
    assert entry.path.name == artifact.sha256[:16]
    # every name Python's path finder would import, identifier or not (mypyc imports its helper by name)
    assert meta["top_level"] == ["85cae5375ceb5d1ca6c6__mypyc", "fast", "google", "mypkg", "not-an-identifier",
                                 "single", "speedy"]
    assert meta["dist_info"] == "My.Pkg-2.0.dist-info"
    assert meta["pth"] == ["distutils-precedence.pth"]
    assert meta["entry_points"] == {
        "console_scripts": {"MyTool": "mypkg.cli:main"},  # installer's parser drops extras, as launchers do
        "gui_scripts": {"gui": "mypkg.gui:run"},
    }
    assert meta["data_scripts"] == ["jp.py", "tool"]  # scripts only: no __pycache__ beside them
    assert not (entry.path / "bin" / "__pycache__").exists()
    tool = entry.path / "bin" / "tool"
    assert tool.read_bytes() == b"#!python\nprint('hi')\n"  # bytes as in the wheel
    assert os.access(tool, os.X_OK)
    assert (entry.path / "data" / "share" / "doc.txt").read_text() == "doc"
    assert (entry.path / "include" / "pkg.h").is_file()
    # The wheel's bytecode is skipped; the directory itself is made empty at unpack time (0o755,
    # not the program's umask when CPython would create it on first import).
    assert not list((entry.path / "site-packages" / "mypkg" / "__pycache__").iterdir())
    record = (entry.path / "site-packages" / "My.Pkg-2.0.dist-info" / "RECORD").read_text()
    assert "../bin/tool," in record and "mypkg/__init__.py,sha256=" in record
    assert not (entry.path / "bin" / "MyTool").exists()  # launchers are the manifest's job


def test_read_entry_without_marker_is_none(tmp_path):
    (tmp_path / "site-packages").mkdir()
    assert read_entry(tmp_path) is None


def test_store_root_honours_monotrail_root(monkeypatch, tmp_path):
    monkeypatch.setenv("MONOTRAIL_ROOT", str(tmp_path))
    assert store_root() == str(tmp_path)
    monkeypatch.delenv("MONOTRAIL_ROOT")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert store_root() == str(tmp_path / "xdg" / "monotrail")


# --- concurrency and crashes --------------------------------------------------------------------


def test_two_processes_install_the_same_wheel_once(server, root, tmp_path):
    artifact = server.add(build_wheel(tmp_path, "six", "1.16.0", SIX_FILES))
    server.state.delays[f"/files/{artifact.filename}"] = 1.0  # both processes overlap the download
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    children = [
        context.Process(target=install_in_child, args=(str(root), "six", "1.16.0", artifact, results)) for _ in range(2)
    ]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=60)
    assert [o[0] for o in outcomes] == ["ok", "ok"], outcomes
    assert outcomes[0][1] == outcomes[1][1]
    assert server.requests("/files/") == [f"/files/{artifact.filename}"]
    assert len(list((root / "store" / "six" / "1.16.0").iterdir())) == 1


def test_leftovers_of_a_killed_install_are_ignored_and_cleaned(server, root, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = root / "tmp" / f"{dead.pid}-0123456789abcdef"
    (leftover / "site-packages").mkdir(parents=True)
    (leftover / "site-packages" / "half.py").write_text("")
    old = root / "tmp" / f"{os.getpid()}-old"
    old.mkdir()
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    artifact = server.add(build_wheel(tmp_path, "six", "1.16.0", SIX_FILES))
    entry = install_one(server, root, selected("six", "1.16.0", artifact))
    assert (entry.path / "site-packages" / "six.py").is_file()
    assert not leftover.exists() and not old.exists()


def test_an_entry_of_the_previous_store_format_is_reinstalled_quietly(server, root, tmp_path, capsys):
    """Format 1 kept purelib in `lib/`; after an upgrade the next run reinstalls it in place."""
    artifact = server.add(build_wheel(tmp_path, "six", "1.16.0", SIX_FILES))
    old = root / "store" / "six" / "1.16.0" / artifact.sha256[:16]
    (old / "lib" / "six-1.16.0.dist-info").mkdir(parents=True)
    (old / "lib" / "six-1.16.0.dist-info" / "RECORD").write_text("")
    (old / "monotrail.json").write_text(json.dumps({"version": 1, "dist_info": "six-1.16.0.dist-info"}))
    entry = install_one(server, root, selected("six", "1.16.0", artifact))
    assert entry.path == old and entry.meta["version"] == 2
    assert (old / "site-packages" / "six.py").is_file() and not (old / "lib").exists()
    assert "damaged" not in capsys.readouterr().err


def test_directory_without_marker_is_not_an_entry(server, root, tmp_path):
    artifact = server.add(build_wheel(tmp_path, "six", "1.16.0", SIX_FILES))
    broken = root / "store" / "six" / "1.16.0" / artifact.sha256[:16]
    (broken / "site-packages").mkdir(parents=True)
    entry = install_one(server, root, selected("six", "1.16.0", artifact))
    assert entry.path == broken and read_entry(broken) is not None
    assert (broken / "site-packages" / "six.py").is_file()


# --- sources ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cli, env, expected",
    [
        ({}, {}, ("https://pypi.org/simple",)),
        ({}, {"PIP_INDEX_URL": "https://a/simple/"}, ("https://a/simple",)),
        ({}, {"UV_INDEX_URL": "https://u/simple"}, ("https://u/simple",)),
        ({}, {"PIP_EXTRA_INDEX_URL": "https://x/simple https://y/simple"}, ("https://pypi.org/simple", "https://x/simple", "https://y/simple")),
        ({"index_url": "https://cli/simple"}, {"PIP_INDEX_URL": "https://a/simple", "PIP_EXTRA_INDEX_URL": "https://x"}, ("https://cli/simple",)),
        ({"extra_index_urls": ("https://e",)}, {"PIP_INDEX_URL": "https://a/simple"}, ("https://pypi.org/simple", "https://e")),
        ({"lock_index_urls": ("https://lock/simple",)}, {"PIP_INDEX_URL": "https://a/simple"}, ("https://lock/simple",)),
    ],
)
def test_sources_from_env(cli, env, expected):
    assert sources_from_env(environ=env, **cli).index_urls == expected


@pytest.mark.parametrize(
    "url, shown",
    [
        ("https://user:pw@host/simple", "https://user:****@host/simple"),
        ("https://token@host/simple", "https://****@host/simple"),
        ("https://host/simple", "https://host/simple"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_unwritable_root_is_a_store_error(server, tmp_path):
    root = tmp_path / "root"
    root.write_text("a file where the store should be")
    artifact = server.add(build_wheel(tmp_path, "six", "1.16.0", SIX_FILES))
    with pytest.raises(StoreError) as caught:
        install_one(server, root, selected("six", "1.16.0", artifact))
    assert "MONOTRAIL_ROOT" in caught.value.hint


@pytest.mark.parametrize("text", ["[console_scripts]\nx = a:main\nx = a:other\n", "[console_scripts\nx = a:main\n", "[console_scripts]\nx = a\n"])
def test_unreadable_entry_points_is_a_wheel_error(server, root, tmp_path, text):
    """installer's entry_points.txt parser raises configparser errors and asserts, which were an
    'internal error'; they are the wheel's fault, one line, nothing stored."""
    artifact = server.add(build_wheel(tmp_path, "evil", "1.0", {"evil.py": ""}, entry_points=text))
    with pytest.raises(WheelError, match="unreadable entry_points.txt") as raised:
        install_one(server, root, selected("evil", "1.0", artifact))
    assert "\n" not in str(raised.value)
    assert store_is_empty(root) or not list((root / "store").rglob("*"))

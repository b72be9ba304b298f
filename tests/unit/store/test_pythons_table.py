"""`monotrail.store.pythons` in-process: reading requests, choosing a build from pbs-installer's
table (the real one, offline: it ships inside the package) and the mirror rule."""

from __future__ import annotations

import pytest

from monotrail.errors import InterpreterNotFound, UsageError
from monotrail.interpreters.discovery import NoMatchingPython, PythonRequest
from monotrail.store import pythons
from monotrail.store.pythons import Download, Wanted


def test_requests_are_read_as_uv_reads_them() -> None:
    assert Wanted.parse("3.13") == Wanted("3.13", "cpython", (3, 13), False)
    assert Wanted.parse("3.12.7").version == (3, 12, 7)
    assert Wanted.parse("3.13t").free_threaded
    assert Wanted.parse("312").version == (3, 12)
    for text in ("pypy3.10", "pypy@3.10", "pp310"):
        assert (Wanted.parse(text).implementation, Wanted.parse(text).version) == ("pypy", (3, 10)), text
    assert Wanted.parse("cpython@3.12") == Wanted("cpython@3.12", "cpython", (3, 12), False)
    assert Wanted.parse(">=3.11").constraints == ((">=3.11",),)
    with pytest.raises(InterpreterNotFound, match="no download offers 'jython' Pythons"):
        Wanted.parse("jython3.10")
    for bad in ("3.7", "2.7", "", "3.x", "3t"):
        with pytest.raises(UsageError):
            Wanted.parse(bad)


def _available() -> list[Download]:
    downloads = pythons.available({})
    if not downloads:
        pytest.skip(f"SKIPPED LOUDLY: pbs-installer's table has no build for {pythons.this_platform()}")
    return downloads


def test_the_table_gives_install_only_builds_newest_first() -> None:
    downloads = _available()
    assert all(d.sha256 and len(d.sha256) == 64 for d in downloads)
    cpython = [d for d in downloads if d.implementation == "cpython"]
    assert all("install_only" in d.filename for d in cpython)
    assert [d.version for d in cpython] == sorted((d.version for d in cpython), reverse=True)
    newest_313 = pythons.best_download(Wanted.parse("3.13"), {})
    assert newest_313.version[:2] == (3, 13) and not newest_313.free_threaded
    assert newest_313.version == max(d.version for d in cpython if d.version[:2] == (3, 13))
    assert newest_313.url.startswith(pythons.CPYTHON_UPSTREAMS)


def test_free_threaded_pypy_and_exact_requests() -> None:
    downloads = _available()
    threaded = pythons.best_download(Wanted.parse("3.13t"), {})
    assert threaded.free_threaded and "freethreaded" in threaded.filename and "install_only" in threaded.filename
    exact = next(d for d in downloads if d.implementation == "cpython" and d.version[:2] == (3, 12))
    assert pythons.best_download(Wanted.parse(".".join(map(str, exact.version))), {}) == exact
    if any(d.implementation == "pypy" for d in downloads):
        pypy = pythons.best_download(Wanted.parse("pypy3.10"), {})
        assert pypy.implementation == "pypy" and pypy.filename.startswith("pypy3.10-")
        assert pypy.dir_name(("linux", "x86_64")) == f"pypy-{pypy.version_text}-linux-x86_64"


def test_a_miss_is_filled_inside_requires_python() -> None:
    _available()
    missing = NoMatchingPython("no Python", where=None, hint=None, request=PythonRequest(raw="", kind="any"),
                               requires_python=">=3.9,<3.12", source="default")
    chosen = pythons.best_download(Wanted.of_missing(missing), {})
    assert chosen.version[:2] == (3, 11) and chosen.implementation == "cpython"
    missing = NoMatchingPython("no Python", where=None, hint=None, request=PythonRequest.parse("3.10"),
                               requires_python=">=3.9", source="command line")
    assert pythons.best_download(Wanted.of_missing(missing), {}).version[:2] == (3, 10)


def test_nothing_fits_is_one_line() -> None:
    _available()
    with pytest.raises(InterpreterNotFound) as caught:
        pythons.best_download(Wanted.parse("3.99"), {})
    assert "\n" not in caught.value.message
    assert caught.value.message.startswith("no Python download offers CPython 3.99: the downloads for ")
    for request, requires_python, what in ((PythonRequest.parse("3.12"), ">=3.13", "CPython 3.12 satisfying requires-python >=3.13"),
                                           (PythonRequest(raw="", kind="any"), ">=3.99", "a CPython satisfying requires-python >=3.99")):
        missing = NoMatchingPython("no Python", where=None, hint=None, request=request, requires_python=requires_python,
                                   source="command line")
        with pytest.raises(InterpreterNotFound, match=f"^no Python download offers {what}: the downloads for "):
            pythons.best_download(Wanted.of_missing(missing), {})


def test_the_mirror_replaces_the_upstream_prefix_as_uv_does() -> None:
    url = ("https://github.com/astral-sh/python-build-standalone/releases/download/20241016/"
           "cpython-3.12.7%2B20241016-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz")
    environ = {pythons.MIRROR_ENV: "https://mirror.example/pbs/"}
    assert pythons.mirrored(url, environ) == ("https://mirror.example/pbs/20241016/"
                                              "cpython-3.12.7%2B20241016-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz")
    assert pythons.mirrored(url, {}) == url
    pypy = "https://downloads.python.org/pypy/pypy3.10-v7.3.19-linux64.tar.bz2"
    assert pythons.mirrored(pypy, environ) == pypy  # PyPy has a mirror setting of its own
    assert pythons.mirrored(pypy, {pythons.PYPY_MIRROR_ENV: "file:///srv/pypy"}) == "file:///srv/pypy/pypy3.10-v7.3.19-linux64.tar.bz2"


@pytest.mark.parametrize(("value", "allowed"), [("", True), ("automatic", True), ("never", False), ("NEVER", False)])
def test_downloads_switch(value: str, allowed: bool) -> None:
    assert pythons.downloads_allowed({pythons.DOWNLOADS_ENV: value}) is allowed

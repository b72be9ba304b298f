"""What an HTTPS request trusts (monotrail.store.tls): the system's CA file and hashed directory
(SSL_CERT_FILE, SSL_CERT_DIR) plus certifi, the directory read first and lazily, the rest loaded
on the first verification failure. Against a local HTTPS index signed by a test CA
(tests/certs); no internet.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from index_fixtures import CERTS, IndexServer
from monotrail.errors import IndexError_
from monotrail.store import index as index_module
from monotrail.store import tls
from monotrail.store.index import make_client, with_retries


@pytest.fixture(autouse=True)
def fresh_trust(monkeypatch):
    """Each test starts as a new process does: no context built, nothing widened."""
    monkeypatch.setattr(tls, "_partial", [])
    monkeypatch.setattr(tls, "_widened", False)
    monkeypatch.setattr(index_module, "BACKOFF_SECONDS", 0.01)


@pytest.fixture
def https():
    with IndexServer(tls=True) as running:
        yield running


@pytest.fixture
def other_dir(tmp_path: Path) -> str:
    """A hashed directory without the test CA (one file under a hash no issuer here has)."""
    directory = tmp_path / "other-certs"
    directory.mkdir()
    (directory / "00000000.0").write_text("")
    return str(directory)


def get(server: IndexServer) -> int:
    client = make_client()
    try:
        return with_retries(lambda: client.get(f"{server.url}/simple/six/").status_code, server.url, IndexError_,
                            "fetching the index page")
    finally:
        client.close()


def refused(server: IndexServer) -> list[str]:
    """The handshakes the server saw fail. The client gives up before the server logs its side:
    wait until the log has been still for a moment."""
    seen, still_since = server.requests("!"), time.monotonic()
    deadline = still_since + 5
    while time.monotonic() < deadline and time.monotonic() - still_since < 0.3:
        time.sleep(0.02)
        now = server.requests("!")
        if now != seen:
            seen, still_since = now, time.monotonic()
    return seen


def test_a_hashed_directory_is_read_lazily(monkeypatch) -> None:
    monkeypatch.setenv("SSL_CERT_DIR", str(CERTS / "hashed"))
    monkeypatch.setenv("SSL_CERT_FILE", str(CERTS / "ca.pem"))
    context = tls.ssl_context()
    assert context.cert_store_stats()["x509"] == 0  # no bundle parsed up front
    assert context.check_hostname and context.verify_mode.name == "CERT_REQUIRED"


def test_a_ca_in_the_hashed_directory_is_trusted_at_once(monkeypatch, https: IndexServer, tmp_path: Path) -> None:
    monkeypatch.setenv("SSL_CERT_DIR", str(CERTS / "hashed"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "absent.pem"))
    assert get(https) == 404
    assert refused(https) == [] and not tls._widened


def test_a_ca_in_the_bundle_file_only_is_trusted_after_the_rest_is_loaded(monkeypatch, https: IndexServer,
                                                                          other_dir: str) -> None:
    monkeypatch.setenv("SSL_CERT_DIR", other_dir)
    monkeypatch.setenv("SSL_CERT_FILE", str(CERTS / "ca.pem"))
    assert get(https) == 404
    assert refused(https) == ["!handshake"] and tls._widened  # the directory alone said no, once
    assert get(https) == 404  # a client made later trusts the whole store from the start
    assert refused(https) == ["!handshake"]


def test_without_a_hashed_directory_everything_is_loaded_at_once(monkeypatch, https: IndexServer,
                                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "absent"))
    monkeypatch.setenv("SSL_CERT_FILE", str(CERTS / "ca.pem"))
    assert tls.ssl_context().cert_store_stats()["x509_ca"] > 1  # the test CA and certifi's
    assert get(https) == 404 and refused(https) == []


def test_an_untrusted_certificate_fails_once_the_whole_store_said_no(monkeypatch, https: IndexServer,
                                                                     other_dir: str, tmp_path: Path) -> None:
    monkeypatch.setenv("SSL_CERT_DIR", other_dir)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "absent.pem"))
    with pytest.raises(IndexError_, match="CERTIFICATE_VERIFY_FAILED") as raised:
        get(https)
    assert raised.value.hint and "SSL_CERT_FILE" in raised.value.hint
    # the directory alone, then the whole store (system file and certifi); no retries after that
    assert refused(https) == ["!handshake", "!handshake"] and https.requests("/") == []

"""The TLS trust store of a run: the system's certificates plus certifi's, read lazily.

What is trusted is what pip >= 24.2 trusts (truststore's system store plus certifi's bundle):
OpenSSL's default CA file and directory (`SSL_CERT_FILE` and `SSL_CERT_DIR` honoured) and
certifi. certifi alone fails behind a company proxy whose CA is installed system-wide; the
system store alone fails on minimal images without one.

How it is read is the difference. Loading a PEM bundle parses every certificate in it: the
system bundle (~150) and certifi's (~120) cost ~37 ms of CPU per process here, on the critical
path of a PEP 723 script's first run, while a run talks to one or two hosts. OpenSSL reads a
hashed directory (`<subject hash>.0` files, what `update-ca-certificates`/`openssl rehash` make
of `/etc/ssl/certs`) lazily, one file per issuer it looks up. So a context starts with that
directory only (when it holds hashed certificates, truststore's test), and the first
certificate verification failure loads the system bundle and certifi into every context built
so far; the request that failed is made once more (`retry_after_widening`). The certificates
accepted are those of the whole store, as before: a chain that verifies against part of it
verifies against all of it, and one that fails against part of it is tried against all of it.
Hostname checks and every other setting are `ssl.create_default_context`'s, unchanged.
"""

from __future__ import annotations

import os
import re
import threading
from typing import TYPE_CHECKING, Callable, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    import ssl

T = TypeVar("T")
_HASHED = re.compile(r"[0-9a-fA-F]{8}\.[0-9]+")
_lock = threading.Lock()
_partial: list[ssl.SSLContext] = []  # contexts holding the hashed directory only
_widened = False  # the rest was loaded: contexts built from now on get everything at once


def ssl_context() -> ssl.SSLContext:
    """A client context trusting the system store and certifi (the directory first, see above)."""
    import ssl

    capath = ssl.get_default_verify_paths().capath  # SSL_CERT_DIR, else OpenSSL's; None if not a directory
    with _lock:
        if capath is not None and not _widened and _holds_hashed_certificates(capath):
            context = ssl.create_default_context(capath=capath)  # nothing parsed until a lookup
            _partial.append(context)
            return context
    context = ssl.create_default_context()  # OpenSSL's default file and directory
    _load_certifi(context)
    return context


def retry_after_widening(attempt: Callable[[], T]) -> T:
    """`attempt()`; if its certificate verification failed while a context held the hashed
    directory only, load the rest of the store and make it once more (its answer or error is
    then the whole store's)."""
    partial = not _widened
    try:
        return attempt()
    except Exception as error:
        if not (partial and verification_failed(error) and _widen()):
            raise
    return attempt()


def verification_failed(error: BaseException) -> bool:
    """Whether `error` (an httpx error, say) was caused by a certificate that did not verify."""
    import ssl

    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _widen() -> bool:
    """Load the system bundle and certifi into every partial context; whether any was partial
    (built before the failure, so that the failed attempt may have used it)."""
    global _widened
    with _lock:
        if _widened:
            return True
        if not _partial:
            return False
        for context in _partial:
            context.load_default_certs()  # OpenSSL's default file (the directory is already there)
            _load_certifi(context)
        _partial.clear()
        _widened = True
        return True


def _load_certifi(context: ssl.SSLContext) -> None:
    import certifi

    context.load_verify_locations(cafile=certifi.where())


def _holds_hashed_certificates(directory: str) -> bool:
    """A directory OpenSSL can look issuers up in: at least one `<8 hex digits>.<n>` file."""
    try:
        with os.scandir(directory) as entries:
            return any(_HASHED.fullmatch(entry.name) for entry in entries)
    except OSError:
        return False

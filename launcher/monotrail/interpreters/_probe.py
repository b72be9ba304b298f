"""Print, as one JSON object, the facts monotrail needs about the Python running this file.

Run by path in the *candidate* interpreter (`python -E -s -S _probe.py`), never imported by the
launcher. Stdlib only, and written so that any Python from 2.7 on can execute it: a Python 2 or
3.6 candidate should report its version (and be listed as unsupported) rather than die on
syntax. `-I` would be stricter but Python 2 rejects it; `-E -s -S` plus dropping sys.path[0]
(this file's directory, which holds the launcher's modules) gives the same isolation.
"""

import sys

del sys.path[0]  # the launcher package must not shadow stdlib modules inside the candidate

import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import struct  # noqa: E402
import sysconfig  # noqa: E402


def format_full_version(info):
    """packaging.markers' `implementation_version` formatting: 3.13.0rc1, 3.12.1."""
    version = "%d.%d.%d" % (info.major, info.minor, info.micro)
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version


def implementation_name():
    implementation = getattr(sys, "implementation", None)
    if implementation is not None:
        return implementation.name
    return platform.python_implementation().lower()


def marker_environment():
    """PEP 508 environment, key for key as packaging.markers.default_environment() builds it."""
    implementation = getattr(sys, "implementation", None)
    version_info = implementation.version if implementation is not None else sys.version_info
    return {
        "implementation_name": implementation_name(),
        "implementation_version": format_full_version(version_info),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def libc():
    """("glibc", "2.36"), or ("", "") on musl and non-Linux systems.

    os.confstr is what packaging's manylinux detection uses first; platform.libc_ver() scans the
    executable's bytes, so it is only the fallback.
    """
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, OSError, ValueError):
        value = None
    if value:
        parts = value.split()
        if len(parts) == 2:
            return [parts[0], parts[1]]
    if sys.platform.startswith("linux"):
        name, version = platform.libc_ver()
        return [name, version]
    return ["", ""]


def extension_suffixes():
    try:
        import importlib.machinery

        return list(importlib.machinery.EXTENSION_SUFFIXES)
    except ImportError:  # Python 2
        import imp

        return [suffix for suffix, _, kind in imp.get_suffixes() if kind == imp.C_EXTENSION]


def facts():
    config = sysconfig.get_config_var
    info = sys.version_info
    return {
        "version": [info[0], info[1], info[2], info[3], info[4]],
        "implementation": implementation_name(),
        "free_threaded": bool(config("Py_GIL_DISABLED")),
        "py_debug": config("Py_DEBUG"),
        "has_refcount": hasattr(sys, "gettotalrefcount"),
        "py_version_nodot": config("py_version_nodot"),
        "markers": marker_environment(),
        "soabi": config("SOABI"),
        "ext_suffix": config("EXT_SUFFIX"),
        "ext_suffixes": extension_suffixes(),
        "stdlib": sysconfig.get_path("stdlib"),
        "platstdlib": sysconfig.get_path("platstdlib"),
        "sys_executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "platform": sysconfig.get_platform(),
        "machine": platform.machine(),
        "libc": libc(),
        "pointer_bits": struct.calcsize("P") * 8,
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(facts(), sort_keys=True))
    sys.stdout.write("\n")

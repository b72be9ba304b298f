"""A PEP 517/660 backend for the lock corpus' source trees: no build requirements, stdlib only."""
import base64, hashlib, os, zipfile

NAME = 'mt-app'
VERSION = '0.1.0'
REQUIRES = ()
MODULE = NAME.replace("-", "_")
DIST_INFO = "%s-%s.dist-info" % (MODULE, VERSION)


def _metadata():
    lines = ["Metadata-Version: 2.1", "Name: " + NAME, "Version: " + VERSION]
    lines += ["Requires-Dist: " + r for r in REQUIRES]
    return "\n".join(lines) + "\n"


def _wheel(directory, members):
    members = list(members) + [
        (DIST_INFO + "/METADATA", _metadata().encode()),
        (DIST_INFO + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: corpus\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    record = []
    for path, data in members:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
    record.append(DIST_INFO + "/RECORD,,")
    members.append((DIST_INFO + "/RECORD", ("\n".join(record) + "\n").encode()))
    name = "%s-%s-py3-none-any.whl" % (MODULE, VERSION)
    with zipfile.ZipFile(os.path.join(directory, name), "w") as archive:
        for path, data in members:
            archive.writestr(path, data)
    return name


def _sources():
    here = os.path.dirname(os.path.abspath(__file__))
    for top, dirs, files in os.walk(os.path.join(here, MODULE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for file in sorted(files):
            if file.endswith(".py"):
                path = os.path.join(top, file)
                with open(path, "rb") as handle:
                    yield os.path.relpath(path, here).replace(os.sep, "/"), handle.read()


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_editable = get_requires_for_build_sdist = get_requires_for_build_wheel


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    os.makedirs(os.path.join(metadata_directory, DIST_INFO))
    with open(os.path.join(metadata_directory, DIST_INFO, "METADATA"), "w") as handle:
        handle.write(_metadata())
    return DIST_INFO


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, _sources())


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    here = os.path.dirname(os.path.abspath(__file__))
    return _wheel(wheel_directory, [("_%s_editable.pth" % MODULE, (here + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    raise NotImplementedError("the corpus backend builds wheels only")

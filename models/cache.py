"""Where compiled code is cached on disk, keyed to the package's own sources.

numba checks a cached function only against its own file: once a callee in
another file changes, a cached caller still runs the old callee (a cached
simulator took GD steps with an edited gradient's old code). So every
compiled artefact of this package lives under one directory whose name is a
hash of all the package's source files and of the Python, numpy and numba
versions::

    <base>/<version>-<sha256 of sources and versions, 16 hex digits>/
        numba/       numba's cache (NUMBA_CACHE_DIR points here)
        generated/   generated kernel modules (symbolic landscapes, slot adapters)

Any edit of any source file gives a new directory, so a stale cache can never
run old code. ``<base>`` is ``$SANDBOX_CACHE_DIR``, else ``$NUMBA_CACHE_DIR``,
else ``$XDG_CACHE_HOME/landscape-sandbox`` (``~/.cache/landscape-sandbox``).
Old directories are never read again and may be deleted at any time.

:func:`configure` runs when ``models`` is first imported, before any of the
package's numba functions is defined (the cache location is fixed when a
function is decorated). On a cluster give each node its own
``SANDBOX_CACHE_DIR``: numba's cache holds machine code for the CPU that
compiled it.
"""
import hashlib
import os
import sys
import tempfile
from importlib import metadata
from pathlib import Path

__all__ = ["cache_dir", "generated_dir", "source_key", "configure", "write_once"]

_PACKAGES = ("models", "sandbox", "analysis")
_ROOT = Path(__file__).resolve().parent.parent
_KEY = None


def _version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "none"


def source_key():
    """``<version>-<hash>``: the package version and a hash of every source file and the toolchain versions."""
    global _KEY
    if _KEY is None:
        h = hashlib.sha256()
        h.update(f"{sys.version}|numpy {_version('numpy')}|numba {_version('numba')}".encode())
        for package in _PACKAGES:
            for path in sorted((_ROOT / package).rglob("*.py")):
                h.update(str(path.relative_to(_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
        _KEY = f"{_version('landscape-sandbox')}-{h.hexdigest()[:16]}"
    return _KEY


def _base_dir():
    for var in ("SANDBOX_CACHE_DIR", "NUMBA_CACHE_DIR"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "landscape-sandbox"


def cache_dir():
    """The cache directory of this exact source tree (created on first use)."""
    path = _base_dir() / source_key()
    path.mkdir(parents=True, exist_ok=True)
    return path


def generated_dir():
    """Where generated kernel modules are written; importable as top-level modules."""
    path = cache_dir() / "generated"
    path.mkdir(exist_ok=True)
    return path


def configure():
    """Point numba's on-disk cache at ``cache_dir()/numba`` (before anything compiles).

    ``SANDBOX_CACHE_DIR`` is set to the base directory in use, so that child
    processes (process pools, test subprocesses) derive the same keyed
    directory instead of nesting one inside the overridden ``NUMBA_CACHE_DIR``.
    """
    os.environ.setdefault("SANDBOX_CACHE_DIR", str(_base_dir()))
    numba_dir = str(cache_dir() / "numba")
    os.environ["NUMBA_CACHE_DIR"] = numba_dir
    if "numba" in sys.modules:  # already imported: its config was read from the old environment
        sys.modules["numba"].config.CACHE_DIR = numba_dir


def write_once(path, text):
    """Write ``text`` to ``path`` atomically unless the file exists; return ``path``.

    The text goes to a temporary file in the same directory (flushed and
    fsynced), which is then hard-linked to ``path``: linking fails if another
    process got there first, so a complete file is never replaced and no
    reader sees a partial one. Two processes writing the same content race
    harmlessly; the loser's temporary file is removed.
    """
    path = Path(path)
    if path.exists():
        return path
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return path

"""Where and with what a run was made: versions, git commit, threads, machine.

A report is only worth reading if it says what produced it. :func:`run_provenance`
collects the package version, the git commit of the source tree (when it is a
git checkout), the versions of Python, numpy, scipy and numba, and the thread
counts of numba and of the BLAS libraries.

Examples
--------
>>> info = run_provenance()
>>> sorted(info)[:3]
['blas_threads', 'cpu_count', 'git_commit']
"""
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

__all__ = ["DISTRIBUTION", "package_version", "git_commit", "run_provenance"]

#: The distribution that installs ``models``, ``sandbox`` and ``analysis``.
DISTRIBUTION = "landscape-sandbox"


def package_version():
    """Installed version of :data:`DISTRIBUTION`, or ``"unknown"`` when it is not installed."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def git_commit(path=None):
    """``(commit, dirty)`` of the source checkout at ``path``, or ``(None, None)``.

    ``path`` is the repository root; by default the directory above this
    package, which is the root when the package runs from its checkout
    (``pip install -e .``). ``dirty`` is True when tracked files differ from
    the commit. Returns ``(None, None)`` when git is missing or ``path`` is not
    the root of a checkout (an installed wheel, whose code may differ from
    any checkout around it).
    """
    where = Path(path).resolve() if path is not None else Path(__file__).resolve().parent.parent
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=where, capture_output=True, text=True,
                             timeout=10)
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != where:
            return None, None
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None, None
    if commit.returncode != 0:
        return None, None
    return commit.stdout.strip(), bool(status.stdout.strip()) if status.returncode == 0 else None


def _version(module):
    mod = sys.modules.get(module)
    if mod is None:
        try:
            return importlib.metadata.version(module)
        except importlib.metadata.PackageNotFoundError:
            return None
    return getattr(mod, "__version__", None)


def run_provenance():
    """A dict describing this process: versions, git commit, thread counts, machine.

    Keys: ``package``, ``version``, ``git_commit``, ``git_dirty``,
    ``python``, ``numpy``, ``scipy``, ``numba``, ``platform``, ``cpu_count``,
    ``numba_threads``, ``numba_threading_layer``, ``blas_threads`` (a list of
    ``"library: n"`` strings from threadpoolctl), ``load_average`` (1, 5 and
    15 minutes, or None where the system has none: wall times on a shared
    machine mean little without it). Thread counts are read, never changed.
    """
    commit, dirty = git_commit()
    info = {
        "package": DISTRIBUTION,
        "version": package_version(),
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "numba": _version("numba"),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "numba_threads": None,
        "numba_threading_layer": None,
        "blas_threads": [],
    }
    try:
        import numba

        info["numba_threads"] = numba.get_num_threads()
        try:
            info["numba_threading_layer"] = numba.threading_layer()
        except ValueError:  # no parallel region has run yet
            info["numba_threading_layer"] = "not yet chosen"
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_info

        info["blas_threads"] = [f"{pool['internal_api']} ({os.path.basename(pool['filepath'])}): "
                                f"{pool['num_threads']}" for pool in threadpool_info()
                                if pool["user_api"] == "blas"]
    except ImportError:
        pass
    return info

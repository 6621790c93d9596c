"""Tests of models.cache: compiled code is cached under a key of the package's sources.

numba checks a cached function only against its own file (its size and
modification time). The test edits a copy of the package in a way numba
cannot see (same size, same modification time), and shows that the next
process runs the new code: the cache directory is keyed by the sources'
contents, so the edit gives a new one.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from models import cache

REPO_ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = r"""
import json
import numpy as np
from models import Quadratic, cache
from models.landscape import Landscape
from sandbox import simulate

q = Quadratic([1.0])
grad = Landscape.grad(q, [1.0])[0]                 # through the compiled kernel
step = simulate(q, "gd", n_chains=1, n_steps=1, step_size=0.25, x0=[1.0]).x[0, 0]
print(json.dumps({"grad": float(grad), "gd_step": float(step), "dir": str(cache.cache_dir())}))
"""

#: (original, edited) lines of the diagonal quadratic's gradient kernels: the gradient doubled, same length
_EDITS = [("        out[i] = p[d + i] * (x[i] - p[i])\n", "        out[i] = 2*p[d+i] * (x[i] - p[i])\n"),
          ("        g = p[d + i] * u\n", "        g = 2*p[d+i] * u\n")]


def _run(src, cache_base):
    env = dict(os.environ, PYTHONPATH=str(src), SANDBOX_CACHE_DIR=str(cache_base))
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=src, env=env, capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_an_edit_numba_cannot_see_still_runs_the_new_code(tmp_path):
    src = tmp_path / "src"
    for package in ("models", "sandbox", "analysis"):
        shutil.copytree(REPO_ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    before = _run(src, tmp_path / "cache")
    assert before["grad"] == 1.0 and before["gd_step"] == 0.75

    target = src / "models" / "quadratic.py"
    text = target.read_text()
    for original, edited in _EDITS:
        assert text.count(original) == 1 and len(original) == len(edited)
        text = text.replace(original, edited)
    stat = target.stat()
    target.write_text(text)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert target.stat().st_size == stat.st_size and target.stat().st_mtime_ns == stat.st_mtime_ns

    after = _run(src, tmp_path / "cache")
    assert after["dir"] != before["dir"]
    assert after["grad"] == 2.0 and after["gd_step"] == 0.5


def test_the_key_names_the_version_and_hashes_the_sources():
    key = cache.source_key()
    version, digest = key.rsplit("-", 1)
    assert len(digest) == 16 and int(digest, 16) >= 0
    assert cache.cache_dir().name == key
    assert os.environ["NUMBA_CACHE_DIR"] == str(cache.cache_dir() / "numba")


def test_write_once_never_replaces_a_file(tmp_path):
    path = tmp_path / "m.py"
    cache.write_once(path, "a = 1\n")
    cache.write_once(path, "a = 2\n")
    assert path.read_text() == "a = 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"]

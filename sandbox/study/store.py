"""The durable store of a study: one content-addressed Parquet file per finished point.

Layout of a store directory::

    DIR/study.json              the last study run here (JSON: function, seed, version, grid)
    DIR/points/<key>.parquet    one row: the point's parameters and outputs

``key`` is :func:`sandbox.study.points.point_key`. Each file is written to a
temporary file in the same directory, flushed and fsync'ed, then renamed over
its final name with ``os.replace`` (atomic on POSIX and Windows), and the
directory is fsync'ed: a reader, or a study restarted after SIGKILL or a power
cut, sees a point either whole or not at all. Temporary files left by a killed
writer start with ``.tmp-`` and are ignored. The file's JSON metadata (key
``sandbox.study`` of the Parquet schema) records the function, version, seed,
parameter names and the wall time of the point. Nothing is pickled.
"""
import json
import os
import tempfile
from pathlib import Path

__all__ = ["PointStore", "STUDY_FILE", "POINTS_DIR"]

STUDY_FILE = "study.json"
POINTS_DIR = "points"
_META_KEY = b"sandbox.study"
_TMP_PREFIX = ".tmp-"


def _arrow_type(value):
    import pyarrow as pa

    if isinstance(value, bool):
        return pa.bool_()
    if isinstance(value, int):
        return pa.int64()
    if isinstance(value, float):
        return pa.float64()
    return pa.string()


def _fsync_directory(directory):
    if os.name != "posix":  # Windows cannot open a directory; os.replace is durable enough there
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path, write, *, sync_directory=True):
    """Write a file atomically: ``write(fileobj)`` into a temporary file, fsync, ``os.replace``.

    With ``sync_directory`` the directory is fsync'ed too, so that the rename
    itself survives a power cut (a process kill needs only the rename).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_TMP_PREFIX + path.name + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if sync_directory:
        _fsync_directory(path.parent)


class PointStore:
    """A directory of finished points (module docstring).

    Parameters
    ----------
    directory : str or path-like
        Created on the first write; reading a missing directory finds nothing.

    Examples
    --------
    >>> import tempfile
    >>> store = PointStore(tempfile.mkdtemp())
    >>> store.write("k1", {"x": 1.0}, {"y": 2.0}, {"function": "f"})
    >>> store.read("k1")
    ({'x': 1.0}, {'y': 2.0})
    """

    def __init__(self, directory):
        if isinstance(directory, PointStore):
            directory = directory.directory
        if not isinstance(directory, (str, os.PathLike)):
            raise ValueError(f"store must be a directory path, got {type(directory).__name__} {directory!r}")
        self.directory = Path(directory)
        self.points_dir = self.directory / POINTS_DIR

    def __repr__(self):
        return f"PointStore({str(self.directory)!r})"

    def _path(self, key):
        return self.points_dir / f"{key}.parquet"

    def finished_keys(self):
        """Keys of every finished point in the store (a set)."""
        if not self.points_dir.is_dir():
            return set()
        return {name[:-8] for name in os.listdir(self.points_dir)
                if name.endswith(".parquet") and not name.startswith(_TMP_PREFIX)}

    def n_temporary(self):
        """Number of ``.tmp-`` files left by interrupted writers (safe to delete when no study runs)."""
        if not self.points_dir.is_dir():
            return 0
        return sum(name.startswith(_TMP_PREFIX) for name in os.listdir(self.points_dir))

    def write(self, key, params, outputs, metadata, *, sync_directory=True):
        """Write one point atomically: a one-row table of ``params`` then ``outputs`` (floats).

        Safe to call from several threads at once (each write has its own
        temporary file). ``sync_directory=False`` leaves the directory fsync
        to :meth:`sync`, which a study calls about once a second and at the end.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        overlap = set(params) & set(outputs)
        if overlap:
            raise ValueError(f"output name(s) {sorted(overlap)} are also parameter names")
        fields, columns = [], []
        for name, value in params.items():
            fields.append(pa.field(name, _arrow_type(value)))
            columns.append([value])
        for name, value in outputs.items():
            fields.append(pa.field(name, pa.float64()))
            columns.append([float(value)])
        meta = dict(metadata, key=key, parameters=list(params), outputs=list(outputs))
        schema = pa.schema(fields, metadata={_META_KEY: json.dumps(meta, sort_keys=True).encode()})
        table = pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, fields)], schema=schema)
        self.points_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self._path(key), lambda f: pq.write_table(table, f), sync_directory=sync_directory)

    def sync(self):
        """fsync the points directory: make the renames of the points written so far durable."""
        if self.points_dir.is_dir():
            _fsync_directory(self.points_dir)

    def read(self, key):
        """Return ``(params, outputs)`` of a finished point, each a dict in stored column order."""
        import pyarrow.parquet as pq

        table = pq.read_table(self._path(key))
        meta = self.metadata_of(table)
        row = table.to_pylist()[0]
        return ({k: row[k] for k in meta["parameters"]}, {k: row[k] for k in meta["outputs"]})

    @staticmethod
    def metadata_of(table):
        return json.loads(table.schema.metadata[_META_KEY])

    def read_metadata(self, key):
        """The JSON metadata stored with a point."""
        import pyarrow.parquet as pq

        return json.loads(pq.read_schema(self._path(key)).metadata[_META_KEY])

    def write_study(self, description):
        """Atomically write ``study.json`` (a JSON-serialisable dict)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        lines = []
        for k in sorted(description):  # one line per key, and per point: readable and diff-able
            v = description[k]
            if isinstance(v, list) and v and isinstance(v[0], dict):
                items = ",\n  ".join(json.dumps(x, sort_keys=True, allow_nan=False) for x in v)
                lines.append(f"{json.dumps(k)}: [\n  {items}\n ]")
            else:
                lines.append(f"{json.dumps(k)}: {json.dumps(v, sort_keys=True, allow_nan=False)}")
        text = "{\n " + ",\n ".join(lines) + "\n}\n"
        atomic_write(self.directory / STUDY_FILE, lambda f: f.write(text.encode()))

    def read_study(self):
        """The dict in ``study.json``; ``ValueError`` if the directory holds no study."""
        path = self.directory / STUDY_FILE
        if not path.is_file():
            raise ValueError(f"{str(self.directory)!r} holds no study (no {STUDY_FILE})")
        return json.loads(path.read_text())

"""``sandbox study run SPEC.toml`` and ``sandbox study show DIR``.

The command line calls :func:`add_study_parser` on its sub-parsers; the
handlers below do the work. ``setup``, if given, is called before a spec is
read (the ``sandbox`` command uses it to register the claim checks as the
study function ``claim``).
"""
import sys
from functools import partial
from pathlib import Path

__all__ = ["add_study_parser", "run_command", "show_command"]


def add_study_parser(subparsers, *, setup=None):
    """Add the ``study`` command (``run`` and ``show``) to an argparse sub-parsers object."""
    study = subparsers.add_parser("study", help="run a parameter study from a TOML spec, or show one",
                                  description="Parameter studies: a registered function over a grid, each finished "
                                              "point stored at once, resumable, on local cores or Dask.")
    sub = study.add_subparsers(dest="study_command", required=True)
    run = sub.add_parser("run", help="compute the missing points of the study a spec describes")
    run.add_argument("spec", help="TOML spec: function (or claim), [grid], [sizes], seed")
    run.add_argument("--executor", nargs="+", default=["local"], metavar=("{local,serial,dask}", "ADDRESS"),
                     help="local process pool (default, all cores), serial, or dask ADDRESS (a scheduler)")
    run.add_argument("--workers", type=int, default=None, help="processes for --executor local (default: all cores)")
    run.add_argument("--out", default=None, help="store directory (default: study-<spec name>)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=partial(run_command, setup=setup))
    show = sub.add_parser("show", help="print the table of the study stored in a directory")
    show.add_argument("dir", help="store directory of a study")
    show.add_argument("--csv", default=None, metavar="PATH", help="also write the table as CSV to PATH")
    show.set_defaults(func=show_command)
    return study


def _executor(args):
    from sandbox.study.executors import DaskExecutor, ProcessExecutor, SerialExecutor

    kind, rest = args.executor[0], args.executor[1:]
    if kind == "dask":
        if len(rest) != 1:
            raise ValueError("--executor dask needs the scheduler address, e.g. --executor dask tcp://host:8786")
        return DaskExecutor(rest[0])
    if rest:
        raise ValueError(f"--executor {kind} takes no address, got {' '.join(rest)}")
    if kind == "local":
        return ProcessExecutor(args.workers)
    if kind == "serial":
        return SerialExecutor()
    raise ValueError(f"--executor must be local, serial or dask ADDRESS, got {kind!r}")


def _fail(message):
    print(f"sandbox study: error: {message}", file=sys.stderr)
    return 2


def run_command(args, *, setup=None):
    """Handler of ``sandbox study run``: validate the spec, then run the study; exit status."""
    from sandbox.study.spec import load_spec

    if setup is not None:
        setup()
    try:
        spec = load_spec(args.spec)
        executor = _executor(args)
    except ValueError as exc:  # nothing has been written yet
        return _fail(exc)
    out = Path(args.out if args.out is not None else f"study-{Path(args.spec).stem}")
    study = spec.study(out)
    n_pending = len(study.pending())
    print(f"{study.name}: {len(study)} points, {len(study) - n_pending} already in {out}, {n_pending} to run "
          f"on {executor!r}")
    study.run(executor=executor, progress=not args.no_progress)
    print(_format(study.results()))
    print(f"stored in {out} (sandbox study show {out})")
    return 0


def _format(table, width=160):
    """The table as text: one line per point, or, when that is too wide, one block per point."""
    text = table.to_string(index=False, max_rows=200)
    if max(map(len, text.splitlines()), default=0) <= width:
        return text
    blocks = []
    for i, row in enumerate(table.head(50).to_dict("records")):
        blocks.append(f"point {i}:\n" + "\n".join(f"  {k} = {v}" for k, v in row.items()))
    more = f"\n... {len(table) - 50} more points (--csv PATH writes them all)" if len(table) > 50 else ""
    return "\n".join(blocks) + more


def show_command(args):
    """Handler of ``sandbox study show``: print the stored table (and write it as CSV)."""
    from sandbox.study.store import PointStore
    from sandbox.study.study import read_study

    try:
        table, desc = read_study(args.dir)
    except ValueError as exc:
        return _fail(exc)
    n_tmp = PointStore(args.dir).n_temporary()
    print(f"function {desc['function']}, seed {desc['seed']}, version {desc['version']}: "
          f"{len(table)} of {len(desc['points'])} points finished")
    if n_tmp:
        print(f"({n_tmp} temporary files from interrupted writes; safe to delete while no study runs)")
    if len(table):
        print(_format(table))
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0

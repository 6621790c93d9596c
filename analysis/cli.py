"""The ``sandbox`` command: ``sandbox verify``, ``sandbox bench`` and ``sandbox study``.

It lives in :mod:`analysis` because ``verify`` runs the claims ledger, and
data flow models -> sandbox -> analysis: :mod:`sandbox` never imports
:mod:`analysis`. Each subcommand is added by a function
``add_<name>_parser(subparsers)`` that creates its parser and sets ``func``,
the function :func:`main` calls with the parsed arguments; :data:`SUBCOMMANDS`
lists them in the order ``sandbox --help`` shows them.
"""
import argparse
import datetime
import shlex
import sys
import time

__all__ = ["main", "build_parser", "SUBCOMMANDS", "add_verify_parser", "add_bench_parser", "add_study_parser"]


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def _select_claims(args):
    """Load the claim modules, then return the ids to run (or raise ValueError)."""
    from analysis.claims import REGISTRY, load_claims

    modules = args.module or ["analysis.claims"]
    loaded = []
    for module in modules:
        loaded += load_claims(module)
    if args.claim:
        unknown = [c for c in args.claim if c not in REGISTRY]
        if unknown:
            raise ValueError(f"unknown claim id(s) {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
        return list(dict.fromkeys(args.claim))
    if not loaded:
        raise ValueError(f"module(s) {', '.join(modules)} registered no claims")
    return list(dict.fromkeys(loaded))


def _verify(args):
    from analysis.claims import REGISTRY, iter_claims
    from analysis.provenance import run_provenance
    from analysis.report import format_header, format_rows, write_report

    try:
        ids = _select_claims(args)
    except ValueError as exc:
        print(f"sandbox verify: {exc}", file=sys.stderr)
        return 2
    size = "full" if args.full else "smoke" if args.smoke else "quick"
    width = max(6, *(len(i) for i in ids))
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    print(f"sandbox verify: {len(ids)} claims ({', '.join(ids)}), size {size}, seed {args.seed}; "
          f"writing to {args.out}", flush=True)
    print(format_header(width), flush=True)
    t0, cpu0 = time.perf_counter(), time.process_time()
    verdicts, errors, seconds = [], {}, {}
    for k, claim_id in enumerate(ids, start=1):
        print(f"[{k}/{len(ids)}] {claim_id} running ...", flush=True)
        for result in iter_claims([claim_id], size=size, seed=args.seed):
            verdicts.extend(result.verdicts)
            seconds[claim_id] = (result.seconds, result.cpu_seconds)
            if result.verdicts:
                print(format_rows(result.verdicts, width), flush=True)
            if result.error is not None:
                errors[claim_id] = result.error
                print(f"{claim_id:<{width}}  ERROR: {result.error.strip().splitlines()[-1]}", flush=True)
            surprising = sum(v.surprising for v in result.verdicts)
            print(f"[{k}/{len(ids)}] {claim_id} done in {result.seconds:.1f} s (CPU {result.cpu_seconds:.1f} s): "
                  f"{len(result.verdicts)} rows, "
                  f"{surprising} not as the claim expects{', ERROR' if result.error else ''}; "
                  f"{time.perf_counter() - t0:.0f} s elapsed", flush=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    run = run_provenance()
    run.update(seed=args.seed, size=size, started=started, wall_s=wall, cpu_s=cpu,
               command=shlex.join(["sandbox", *args.argv]))
    files = write_report(verdicts, errors, args.out, statements={i: REGISTRY[i].statement for i in ids},
                         run=run, seconds=seconds, figures=not args.no_figures)
    n_surprising = sum(v.surprising for v in verdicts)
    print(f"\n{len(verdicts)} comparisons, {n_surprising} not as the claim expects, {len(errors)} errors in "
          f"{wall:.1f} s (CPU {cpu:.1f} s); wrote {files.markdown}, {files.html}, {files.csv}"
          f"{f' and {len(files.figures)} figures' if files.figures else ''}")
    return 1 if errors else 0


def add_verify_parser(subparsers):
    """``sandbox verify``: run the claim checks, print their rows as they finish, write the report."""
    verify = subparsers.add_parser(
        "verify", help="run the claim checks; write report.md, report.html, results.csv and figures",
        description="Run the claims ledger: each claim's rows are printed as its check finishes; the report "
                    "(report.md, report.html, results.csv and PNG figures) is written at the end.")
    group = verify.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true",
                       help="default sizes (about 40 s on 2 cores; 100 s on the first run, which compiles)")
    group.add_argument("--full", action="store_true", help="larger samples and dimensions")
    group.add_argument("--smoke", action="store_true", help="tiny sizes: checks that every step runs (seconds)")
    verify.add_argument("--claim", nargs="+", metavar="ID", help="claim ids to run (default: all of the modules')")
    verify.add_argument("--module", action="append", metavar="MODULE",
                        help="import claims from MODULE (dotted name or path to a .py file) and run them; "
                             "repeatable (default: analysis.claims, the built-in ledger)")
    verify.add_argument("--out", default="sandbox-report", help="output directory (default: sandbox-report)")
    verify.add_argument("--seed", type=_seed, default=0, help="master seed, a non-negative integer (default 0)")
    verify.add_argument("--no-figures", action="store_true", help="skip the figures (no matplotlib)")
    verify.set_defaults(func=_verify)
    return verify


_BENCH_SECTIONS = ("ula", "spectra", "dos", "symbolic", "study", "splitting", "transitions")


def _bench(args):
    from sandbox import bench
    from sandbox.study import bench as study_bench

    sections = {
        "ula": bench.run_benchmarks,
        "spectra": bench.run_spectra_benchmarks,
        "dos": bench.run_dos_benchmarks,
        "symbolic": bench.run_symbolic_benchmarks,
        "study": study_bench.run_study_benchmarks,
        "splitting": bench.run_splitting_benchmarks,
        "transitions": bench.run_transitions_benchmarks,
    }
    for name in args.only or _BENCH_SECTIONS:
        print(f"== {name}", flush=True)
        sections[name](quick=args.quick, repeats=args.repeats)
    return 0


def add_bench_parser(subparsers):
    """``sandbox bench``: simulator throughput (:mod:`sandbox.bench`)."""
    bench = subparsers.add_parser("bench", help="simulator throughput vs numpy and the hardware bound")
    bench.add_argument("--quick", action="store_true", help="fewer steps")
    bench.add_argument("--repeats", type=int, default=2, help="best of this many runs (default 2)")
    bench.add_argument("--only", nargs="+", choices=_BENCH_SECTIONS, help="sections to run (default: all)")
    bench.set_defaults(func=_bench)
    return bench


def _register_claim_studies():
    import analysis.claim_study  # noqa: F401  (registers claim checks as the study function "claim")


def add_study_parser(subparsers):
    """``sandbox study run|show``: parameter studies (:mod:`sandbox.study.cli`); specs may name a claim check."""
    from sandbox.study.cli import add_study_parser as add_sandbox_study_parser

    return add_sandbox_study_parser(subparsers, setup=_register_claim_studies)


#: Functions adding the subcommands, in the order ``--help`` lists them. Another subcommand is one more
#: ``add_<name>_parser(subparsers)`` here.
SUBCOMMANDS = [add_verify_parser, add_bench_parser, add_study_parser]


def build_parser():
    """The ``sandbox`` argument parser with every subcommand of :data:`SUBCOMMANDS`."""
    parser = argparse.ArgumentParser(prog="sandbox", description="Check loss-landscape claims numerically.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv=None):
    """Entry point of the ``sandbox`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

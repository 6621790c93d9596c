"""The ``sandbox`` command: ``sandbox verify``, ``sandbox bench`` and ``sandbox study``."""
import argparse
import sys
import time

__all__ = ["main"]


def _verify(args):
    from analysis.claims import REGISTRY, run_claims
    from analysis.report import format_table, write_report

    import analysis.checks  # noqa: F401  (registers claims)

    if args.claim:
        unknown = [c for c in args.claim if c not in REGISTRY]
        if unknown:
            print(f"sandbox verify: unknown claim id(s) {', '.join(unknown)}; known: {', '.join(REGISTRY)}",
                  file=sys.stderr)
            return 2
    size = "full" if args.full else "quick"
    t0 = time.perf_counter()
    verdicts, errors = run_claims(args.claim, size=size, seed=args.seed)
    elapsed = time.perf_counter() - t0
    print(format_table(verdicts, errors))
    preamble = (f"Size: {size}; seed: {args.seed}; {elapsed:.1f} s. A row agrees when |z| < "
                f"{verdicts[0].z_threshold if verdicts else 4}; 'as expected (disagrees)' marks predictions "
                "the claim itself says fail in that regime.")
    md, csv_path = write_report(verdicts, errors, args.out, preamble=preamble)
    n_refuted = sum(v.verdict in ("refuted", "unexpectedly agrees") for v in verdicts)
    print(f"\n{len(verdicts)} comparisons, {n_refuted} not as theory predicts, {len(errors)} errors "
          f"in {elapsed:.1f} s; wrote {md} and {csv_path}")
    return 1 if errors else 0


def _bench(args):
    from sandbox import bench
    from sandbox.study import bench as study_bench

    sections = {
        "ula": bench.run_benchmarks,
        "spectra": bench.run_spectra_benchmarks,
        "dos": bench.run_dos_benchmarks,
        "symbolic": bench.run_symbolic_benchmarks,
        "study": study_bench.run_study_benchmarks,
    }
    for name in args.only or sections:
        print(f"== {name}")
        sections[name](quick=args.quick, repeats=args.repeats)
    return 0


def _register_claim_studies():
    import analysis.claim_study  # noqa: F401  (registers claim checks as the study function "claim")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="sandbox", description="Check loss-landscape claims numerically.")
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="run the claim checks and write report.md + results.csv")
    group = verify.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="small sizes (default; < 2 minutes on 2 cores)")
    group.add_argument("--full", action="store_true", help="10x larger samples")
    verify.add_argument("--claim", nargs="+", metavar="ID", help="claim ids to run (default: all)")
    verify.add_argument("--out", default="sandbox-report", help="output directory (default: sandbox-report)")
    verify.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    verify.set_defaults(func=_verify)
    bench = sub.add_parser("bench", help="simulator throughput vs numpy and the hardware bound")
    bench.add_argument("--quick", action="store_true", help="fewer steps")
    bench.add_argument("--repeats", type=int, default=2, help="best of this many runs (default 2)")
    bench.add_argument("--only", nargs="+", choices=("ula", "spectra", "dos", "symbolic", "study"),
                       help="sections to run (default: all)")
    bench.set_defaults(func=_bench)
    from sandbox.study.cli import add_study_parser

    add_study_parser(sub, setup=_register_claim_studies)
    args = parser.parse_args(argv)
    if getattr(args, "seed", 0) is not None and getattr(args, "seed", 0) < 0:
        parser.error("--seed must be a non-negative integer")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

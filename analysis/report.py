"""Tables, Markdown reports and CSV files of claim verdicts."""
import csv
import math
import os

__all__ = ["format_table", "write_report"]

_COLUMNS = ("claim", "quantity", "predicted", "measured", "stderr", "z", "verdict", "regime", "note")


def _num(x):
    return "nan" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.6g}"


def _row(v):
    return (v.claim, v.quantity, _num(v.predicted), _num(v.measured), _num(v.stderr), f"{v.z:.2f}",
            v.verdict, v.regime, v.note)


def format_table(verdicts, errors=None):
    """Plain-text table: claim, quantity, predicted, measured +- SE, z, verdict."""
    lines = []
    header = f"{'claim':<6} {'quantity':<52} {'predicted':>12} {'measured +- SE':>26} {'z':>8}  verdict"
    lines.append(header)
    lines.append("-" * len(header))
    for v in verdicts:
        measured = f"{_num(v.measured)} +- {_num(v.stderr)}"
        lines.append(f"{v.claim:<6} {v.quantity[:52]:<52} {_num(v.predicted):>12} {measured:>26} {v.z:>8.2f}  {v.verdict}")
        lines.append(f"{'':<6}   regime: {v.regime}" + (f"; {v.note}" if v.note else ""))
    for claim_id, tb in (errors or {}).items():
        lines.append(f"{claim_id:<6} ERROR: {tb.strip().splitlines()[-1]}")
    return "\n".join(lines)


def write_report(verdicts, errors, out_dir, *, title="Claim verification", preamble=""):
    """Write ``report.md`` and ``results.csv`` into ``out_dir``; return their paths."""
    os.makedirs(out_dir, exist_ok=True)
    csv_path = os.path.join(out_dir, "results.csv")
    with open(csv_path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(_COLUMNS)
        for v in verdicts:
            writer.writerow(_row(v))
    md_path = os.path.join(out_dir, "report.md")
    with open(md_path, "w") as fh:
        fh.write(f"# {title}\n\n{preamble}\n\n")
        fh.write("| " + " | ".join(_COLUMNS) + " |\n|" + "---|" * len(_COLUMNS) + "\n")
        for v in verdicts:
            fh.write("| " + " | ".join(str(c).replace("|", "/") for c in _row(v)) + " |\n")
        if errors:
            fh.write("\n## Errors\n\n")
            for claim_id, tb in errors.items():
                fh.write(f"### {claim_id}\n\n```\n{tb}\n```\n\n")
    return md_path, csv_path

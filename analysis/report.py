"""Console tables, Markdown and HTML reports and CSV files of claim verdicts.

:func:`write_report` writes, into one directory,

- ``results.csv``: one row per comparison, numbers at full precision;
- ``report.md``: how the run was made (package version, git commit, numpy /
  scipy / numba versions, thread counts, seed, size, times), a summary, and
  for each claim its statement, its figure and its rows;
- the figures (:func:`analysis.plots.write_figures`), beside ``report.md``
  and linked from it;
- ``report.html``: the same report as one self-contained page, the figures
  embedded as base64 PNG, no script and no external resource.

The console table (:func:`format_table`, :func:`format_rows`) puts the
quantity last, so it is never truncated.
"""
import base64
import csv
import html
import math
import os
from typing import NamedTuple

from analysis.verdict import Z_THRESHOLD

__all__ = ["VERDICTS", "format_header", "format_rows", "format_table", "summary_counts", "write_csv",
           "write_markdown", "write_html", "write_report", "ReportFiles"]

#: Every verdict a row can have, in the order summaries list them.
VERDICTS = ("confirmed", "as expected (disagrees)", "reported (no test)", "refuted", "unexpectedly agrees")

_CSV_COLUMNS = ("claim", "quantity", "predicted", "measured", "stderr", "z", "verdict", "regime", "note",
                "z_threshold", "expect_agreement", "x", "x_label")
_TABLE_COLUMNS = ("#", "quantity", "predicted", "measured", "SE", "z", "verdict", "regime", "note")
_VERDICT_WIDTH = max(map(len, VERDICTS))


class ReportFiles(NamedTuple):
    """Paths :func:`write_report` wrote: ``markdown``, ``csv``, ``html`` and ``figures`` ({name: path})."""

    markdown: str
    csv: str
    html: str
    figures: dict


def _num(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    return f"{x:.6g}"


def _z(v):
    return f"{v.z:.2f}"


def format_header(claim_width=6):
    """Header line (and rule) of the console table; ``claim_width`` is the width of the claim column."""
    header = (f"{'claim':<{claim_width}}  {'predicted':>12}  {'measured +- SE':>26}  {'z':>8}  "
              f"{'verdict':<{_VERDICT_WIDTH}}  quantity")
    return header + "\n" + "-" * len(header)


def format_rows(verdicts, claim_width=6):
    """Console lines of ``verdicts``: the numbers, the verdict and the full quantity; then regime and note."""
    lines = []
    for v in verdicts:
        measured = f"{_num(v.measured)} +- {_num(v.stderr)}"
        lines.append(f"{v.claim:<{claim_width}}  {_num(v.predicted):>12}  {measured:>26}  {v.z:>8.2f}  "
                     f"{v.verdict:<{_VERDICT_WIDTH}}  {v.quantity}")
        lines.append(f"{'':<{claim_width}}  regime: {v.regime}" + (f"; {v.note}" if v.note else ""))
    return "\n".join(lines)


def format_table(verdicts, errors=None):
    """Plain-text table: claim, predicted, measured +- SE, z, verdict, quantity, and each row's regime."""
    width = max([6] + [len(v.claim) for v in verdicts] + [len(c) for c in (errors or {})])
    lines = [format_header(width)]
    if verdicts:
        lines.append(format_rows(verdicts, width))
    for claim_id, tb in (errors or {}).items():
        lines.append(f"{claim_id:<{width}}  ERROR: {tb.strip().splitlines()[-1]}")
    return "\n".join(lines)


def summary_counts(verdicts):
    """``{claim: {verdict: count}}`` in the order the claims appear."""
    counts = {}
    for v in verdicts:
        counts.setdefault(v.claim, dict.fromkeys(VERDICTS, 0))[v.verdict] += 1
    return counts


def write_csv(verdicts, path):
    """One line per verdict, columns ``claim, quantity, predicted, measured, stderr, z, verdict, regime, note,
    z_threshold, expect_agreement, x, x_label``; numbers at full precision (``repr``)."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(_CSV_COLUMNS)
        for v in verdicts:
            writer.writerow((v.claim, v.quantity, repr(float(v.predicted)), repr(float(v.measured)),
                             repr(float(v.stderr)), repr(v.z), v.verdict, v.regime, v.note,
                             repr(float(v.z_threshold)), v.expect_agreement,
                             "" if v.x is None else repr(float(v.x)), v.x_label))
    return path


def _table_cells(k, v):
    return (str(k), v.quantity, _num(v.predicted), _num(v.measured), _num(v.stderr), _z(v), v.verdict, v.regime,
            v.note)


def _md_cell(text):
    """A Markdown table cell: pipes escaped (``\\|``, rendered ``|``), newlines as spaces."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(header, rows):
    out = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def _run_rows(run):
    """(label, value) pairs describing the run, from :func:`analysis.provenance.run_provenance` plus CLI keys."""
    run = run or {}
    rows = []
    if "version" in run:
        rows.append(("package", f"{run.get('package', '')} {run['version']}".strip()))
    if "git_commit" in run:
        commit = run["git_commit"]
        rows.append(("git commit", "not a git checkout" if commit is None else
                     commit + (" (with uncommitted changes)" if run.get("git_dirty") else "")))
    versions = [f"{name} {run[name]}" for name in ("python", "numpy", "scipy", "numba") if run.get(name)]
    if versions:
        rows.append(("versions", ", ".join(versions)))
    if "numba_threads" in run:
        layer = f" ({run['numba_threading_layer']} layer)" if run.get("numba_threading_layer") else ""
        blas = "; ".join(run.get("blas_threads") or []) or "none loaded"
        rows.append(("threads", f"numba {run['numba_threads']}{layer}; BLAS {blas}; {run.get('cpu_count')} CPUs"))
    if run.get("load_average"):
        rows.append(("load average", " / ".join(f"{x:.2f}" for x in run["load_average"]) + " (1 / 5 / 15 min)"))
    if "platform" in run:
        rows.append(("platform", run["platform"]))
    for key, label in (("seed", "seed"), ("size", "size"), ("command", "command"), ("started", "started (UTC)")):
        if key in run:
            rows.append((label, str(run[key])))
    if "wall_s" in run:
        cpu = f", CPU time {run['cpu_s']:.1f} s" if "cpu_s" in run else ""
        rows.append(("time", f"{run['wall_s']:.1f} s wall{cpu}"))
    return rows


def _time_text(value):
    """``"12.3 s"`` from wall seconds, or ``"12.3 s (CPU 20.1 s)"`` from a (wall, CPU) pair."""
    if isinstance(value, tuple):
        return f"{value[0]:.1f} s (CPU {value[1]:.1f} s)"
    return f"{value:.1f} s"


def _counts_text(counts):
    return ", ".join(f"{n} {name}" for name, n in counts.items() if n)


def _intro(verdicts, errors):
    total = dict.fromkeys(VERDICTS, 0)
    for per in summary_counts(verdicts).values():
        for name, n in per.items():
            total[name] += n
    text = (f"{len(verdicts)} comparisons: {_counts_text(total) or 'none'}; {len(errors)} checks raised an error. "
            f"A row agrees when |z| < {Z_THRESHOLD:g}, z = (measured - predicted) / SE (some rows set their own "
            "threshold). \"as expected (disagrees)\" marks a prediction the claim itself says fails in that "
            "regime; \"reported (no test)\" a number shown beside theory without a test. \"refuted\" and "
            "\"unexpectedly agrees\" are results that go against what the claim expects.")
    return text


def write_markdown(verdicts, errors, path, *, statements=None, run=None, figures=None, seconds=None,
                   title="Claim verification"):
    """Write the Markdown report to ``path``; ``figures`` maps ``"z-scores"``/claim id to figure paths."""
    statements, figures, seconds = statements or {}, figures or {}, seconds or {}
    base = os.path.dirname(os.path.abspath(path))
    counts = summary_counts(verdicts)
    claim_ids = list(dict.fromkeys([*counts, *errors]))
    parts = [f"# {title}\n\n", _intro(verdicts, errors) + "\n\n"]
    run_rows = _run_rows(run)
    if run_rows:
        parts += ["## Run\n\n", _md_table(("", ""), run_rows), "\n"]
    parts += ["## Summary\n\n", _md_table(("claim", *VERDICTS, "error", "time"), [
        (c, *(counts.get(c, {}).get(name, 0) for name in VERDICTS), "yes" if c in errors else "",
         _time_text(seconds[c]) if c in seconds else "") for c in claim_ids]), "\n"]
    if "z-scores" in figures:
        parts.append(f"![z-scores of all comparisons]({os.path.relpath(figures['z-scores'], base)})\n\n")
    for claim_id in claim_ids:
        parts.append(f"## {claim_id}\n\n")
        if statements.get(claim_id):
            parts.append(f"> {statements[claim_id]}\n\n")
        if claim_id in figures:
            parts.append(f"![figure of {claim_id}]({os.path.relpath(figures[claim_id], base)})\n\n")
        rows = [v for v in verdicts if v.claim == claim_id]
        if rows:
            parts.append(_md_table(_TABLE_COLUMNS, [_table_cells(k + 1, v) for k, v in enumerate(rows)]) + "\n")
        if claim_id in errors:
            parts.append(f"**Error**: the check raised:\n\n```\n{errors[claim_id].rstrip()}\n```\n\n")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("".join(parts))
    return path


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 72em;
       padding: 0 1em; color: #1f2328; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
blockquote { border-left: 0.25em solid #d0d7de; margin: 0 0 1em; padding: 0 1em; color: #57606a; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0 1em; }
pre { background: #f6f8fa; padding: 1em; overflow-x: auto; }
.confirmed { color: #1a7f37; } .refuted, .error { color: #cf222e; font-weight: bold; }
.as-expected-disagrees { color: #0969da; } .reported-no-test { color: #57606a; }
.unexpectedly-agrees { color: #bf8700; font-weight: bold; }
"""


def _css_class(verdict):
    return "".join(ch if ch.isalnum() else "-" for ch in verdict).strip("-").replace("--", "-")


def _html_table(header, rows, numeric=()):
    out = ["<table>"]
    if any(header):
        out.append("<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        cells = []
        for k, cell in enumerate(row):
            if isinstance(cell, tuple):  # (text, css class)
                text, cls = cell
                cells.append(f'<td class="{cls}">{html.escape(str(text))}</td>')
            elif k in numeric:
                cells.append(f'<td class="num">{html.escape(str(cell))}</td>')
            else:
                cells.append(f"<td>{html.escape(str(cell))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out) + "\n"


def _embedded_png(path, alt):
    with open(path, "rb") as fh:
        data = base64.b64encode(fh.read()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">\n'


def write_html(verdicts, errors, path, *, statements=None, run=None, figures=None, seconds=None,
               title="Claim verification"):
    """Write the report as one self-contained HTML page (figures embedded as base64 PNG) to ``path``."""
    statements, figures, seconds = statements or {}, figures or {}, seconds or {}
    counts = summary_counts(verdicts)
    claim_ids = list(dict.fromkeys([*counts, *errors]))
    esc = html.escape
    parts = ["<!DOCTYPE html>\n", '<html lang="en">\n<head>\n<meta charset="utf-8">\n',
             '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
             f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n",
             f"<h1>{esc(title)}</h1>\n<p>{esc(_intro(verdicts, errors))}</p>\n"]
    run_rows = _run_rows(run)
    if run_rows:
        parts += ["<h2>Run</h2>\n", _html_table(("", ""), run_rows)]
    parts.append("<h2>Summary</h2>\n")
    parts.append(_html_table(("claim", *VERDICTS, "error", "time"), [
        (c, *(counts.get(c, {}).get(name, 0) for name in VERDICTS), ("yes", "error") if c in errors else "",
         _time_text(seconds[c]) if c in seconds else "") for c in claim_ids], numeric=range(1, len(VERDICTS) + 3)))
    if "z-scores" in figures:
        parts.append(_embedded_png(figures["z-scores"], "z-scores of all comparisons"))
    for claim_id in claim_ids:
        parts.append(f'<h2 id="{esc(claim_id)}">{esc(claim_id)}</h2>\n')
        if statements.get(claim_id):
            parts.append(f"<blockquote>{esc(statements[claim_id])}</blockquote>\n")
        if claim_id in figures:
            parts.append(_embedded_png(figures[claim_id], f"figure of {claim_id}"))
        rows = [v for v in verdicts if v.claim == claim_id]
        if rows:
            cells = []
            for k, v in enumerate(rows):
                c = list(_table_cells(k + 1, v))
                c[6] = (v.verdict, _css_class(v.verdict))
                cells.append(c)
            parts.append(_html_table(_TABLE_COLUMNS, cells, numeric=(0, 2, 3, 4, 5)))
        if claim_id in errors:
            parts.append(f'<p class="error">The check raised an error:</p>\n<pre>{esc(errors[claim_id])}</pre>\n')
    parts.append("</body>\n</html>\n")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("".join(parts))
    return path


def write_report(verdicts, errors, out_dir, *, statements=None, run=None, seconds=None, figures=True,
                 title="Claim verification"):
    """Write ``results.csv``, the figures, ``report.md`` and ``report.html`` into ``out_dir``.

    Parameters
    ----------
    verdicts : sequence of Verdict
    errors : dict
        Claim id -> traceback of a check that raised.
    out_dir : str or path
        Created if missing; existing files of the same names are replaced.
    statements : dict, optional
        Claim id -> statement, shown above each claim's rows.
    run : dict, optional
        Provenance (:func:`analysis.provenance.run_provenance`) plus ``seed``,
        ``size``, ``command``, ``started``, ``wall_s``, ``cpu_s``.
    seconds : dict, optional
        Claim id -> seconds its check took, or a (wall, CPU) pair of seconds.
    figures : bool
        Draw the figures (matplotlib); False writes tables only.

    Returns
    -------
    ReportFiles
    """
    os.makedirs(out_dir, exist_ok=True)
    csv_path = write_csv(verdicts, os.path.join(out_dir, "results.csv"))
    figure_paths = {}
    if figures:
        from analysis.plots import write_figures

        figure_paths = write_figures(verdicts, out_dir, statements=statements)
    kwargs = dict(statements=statements, run=run, figures=figure_paths, seconds=seconds, title=title)
    md_path = write_markdown(verdicts, errors, os.path.join(out_dir, "report.md"), **kwargs)
    html_path = write_html(verdicts, errors, os.path.join(out_dir, "report.html"), **kwargs)
    return ReportFiles(md_path, csv_path, html_path, figure_paths)

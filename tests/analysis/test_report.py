"""Reports of verdicts: console table, CSV, Markdown and the self-contained HTML page."""
import base64
import csv
import html.parser
import math
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from analysis.report import format_table, write_report
from analysis.verdict import Verdict

TRICKY = "mean |z| of a\\b | c"  # a pipe and a backslash: both must survive every format


def _verdicts():
    return [
        Verdict("C3", "log V(eps), flat rotated ellipsoid", -1.25, -1.2412345678901234, 0.004, "d=2, eps=0.5",
                x=2, x_label="d"),
        Verdict("C3", "log V(eps), flat rotated ellipsoid", -2.5, -2.51, 0.01, "d=4, eps=0.5", x=4, x_label="d"),
        Verdict("C3-highd", TRICKY, 0.0, 3.0, 0.1, "regime with | pipe", expect_agreement=False,
                note="so |z| is not a test"),
        Verdict("C9", "exact row", 1.0, 1.0, 0.0, "d=1", z_threshold=math.inf),
    ]


def _run():
    return {"package": "landscape-sandbox", "version": "9.9", "git_commit": None, "git_dirty": None,
            "python": "3.x", "numpy": "2.x", "scipy": "1.x", "numba": "0.x", "numba_threads": 2,
            "numba_threading_layer": "omp", "blas_threads": ["openblas (lib.so): 1"], "cpu_count": 2,
            "platform": "test", "seed": 7, "size": "smoke", "command": "sandbox verify --smoke", "wall_s": 1.5,
            "cpu_s": 2.5, "started": "2024-01-01 00:00:00"}


def _split_md_row(line):
    """Cells of a GFM table row: split on pipes not escaped by a backslash, then unescape."""
    cells, cell, chars = [], "", iter(line.strip()[1:-1])
    for ch in chars:
        if ch == "\\":
            cell += next(chars)
        elif ch == "|":
            cells.append(cell.strip())
            cell = ""
        else:
            cell += ch
    return cells + [cell.strip()]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    files = write_report(_verdicts(), {"C5": "Traceback ...\nZeroDivisionError: boom\n"}, out,
                         statements={"C3": "Flat minima are larger.", "C3-highd": "The same, by nested sampling."},
                         run=_run(), seconds={"C3": 1.25})
    return out, files


def test_console_table_keeps_quantities_whole_and_columns_aligned():
    long = "q" * 120
    text = format_table([Verdict("C3-highd", long, 1.0, 1.5, 0.25, "r")])
    header, rule, row, regime = text.splitlines()
    assert row.endswith(long) and row.index(long) == header.index("quantity")
    assert row.index("2.00") + 4 == header.index("z") + 1  # z right-aligned under its header
    assert regime.strip() == "regime: r"


def test_csv_holds_every_number_at_full_precision(report):
    out, files = report
    rows = list(csv.DictReader(open(files.csv)))
    for row, v in zip(rows, _verdicts(), strict=True):
        assert row["claim"] == v.claim and row["quantity"] == v.quantity and row["regime"] == v.regime
        assert float(row["predicted"]) == v.predicted and float(row["measured"]) == v.measured
        assert float(row["stderr"]) == v.stderr and float(row["z"]) == v.z
        assert row["verdict"] == v.verdict and float(row["z_threshold"]) == v.z_threshold
        assert row["x"] == ("" if v.x is None else repr(float(v.x)))


def test_markdown_tables_escape_pipes_so_cells_read_back_unchanged(report):
    out, files = report
    text = Path(files.markdown).read_text()
    assert "/z/" not in text
    lines = text.splitlines()
    tables = [k for k, line in enumerate(lines) if line.startswith("| #")]
    assert len(tables) == 3  # C3, C3-highd, C9
    cells = [_split_md_row(line) for line in lines[tables[1]:] if line.startswith("|")]
    header, rule, row = cells[0], cells[1], cells[2]
    assert len(header) == len(rule) == len(row) == 9
    assert row[1] == TRICKY and row[7] == "regime with | pipe" and row[8] == "so |z| is not a test"
    assert "> Flat minima are larger." in text


def test_markdown_states_how_the_run_was_made_and_links_the_figures(report):
    out, files = report
    text = Path(files.markdown).read_text()
    for needle in ("| package | landscape-sandbox 9.9 |", "| git commit | not a git checkout |",
                   "numpy 2.x", "numba 0.x", "numba 2 (omp layer); BLAS openblas (lib.so): 1; 2 CPUs",
                   "| seed | 7 |", "| size | smoke |", "1.5 s wall, CPU time 2.5 s", "ZeroDivisionError: boom"):
        assert needle in text, needle
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
    assert sorted(links) == sorted(["z-scores.png", "claim-C3.png", "claim-C3-highd.png", "claim-C9.png"])
    for link in links:
        assert (out / link).is_file()


class StrictHTML(html.parser.HTMLParser):
    """Checks nesting (every element closed, in order), collects text, images and outside references."""

    VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "source", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.images, self.external, self.text, self.tags = [], [], [], [], [], []
        self.doctype = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        for key in ("src", "href"):
            if key in attrs and not attrs[key].startswith(("data:", "#")):
                self.external.append(attrs[key])
        if tag == "img":
            self.images.append(attrs)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_html_is_well_formed_self_contained_and_embeds_every_figure(report):
    out, files = report
    parser = StrictHTML()
    parser.feed(Path(files.html).read_text(encoding="utf-8"))
    parser.close()
    assert parser.doctype == "DOCTYPE html" and not parser.errors and not parser.stack
    assert not parser.external and "script" not in parser.tags
    text = "".join(parser.text)
    assert "so |z| is not a test" in text and TRICKY in text and "/z/" not in text
    assert "Flat minima are larger." in text and "ZeroDivisionError: boom" in text
    assert len(parser.images) == len(files.figures) == 4
    on_disk = sorted(_png_size(Path(p).read_bytes()) for p in files.figures.values())
    embedded = []
    for img in parser.images:
        assert img["src"].startswith("data:image/png;base64,") and img["alt"]
        embedded.append(_png_size(base64.b64decode(img["src"].split(",", 1)[1], validate=True)))
    assert sorted(embedded) == on_disk


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_chromium() is None, reason="no Chromium installed (apt-get install chromium)")
def test_html_renders_in_headless_chromium_with_every_image_decoded(report, tmp_path):
    out, files = report
    page = Path(files.html).read_text(encoding="utf-8")
    probe = ("<script>window.addEventListener('load', () => { const imgs = [...document.images]; "
             "document.title = 'PROBE ' + JSON.stringify({n: imgs.length, "
             "ok: imgs.filter(i => i.complete && i.naturalWidth > 0).length, "
             "sizes: imgs.map(i => [i.naturalWidth, i.naturalHeight]), "
             "tables: document.querySelectorAll('table').length}); });</script>")
    probed = tmp_path / "probe.html"
    probed.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    result = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-dev-shm-usage", "--no-first-run", "--virtual-time-budget=10000", "--dump-dom",
         probed.as_uri()], capture_output=True, text=True, timeout=120,
        env={**os.environ, "HOME": str(tmp_path)})
    match = re.search(r"<title>PROBE (.*?)</title>", result.stdout)
    assert match, result.stderr[-2000:]
    import json

    seen = json.loads(match.group(1).replace("&quot;", '"'))
    assert seen["n"] == seen["ok"] == 4 and seen["tables"] == 5  # run, summary, C3, C3-highd, C9
    on_disk = sorted(list(_png_size(Path(p).read_bytes())) for p in files.figures.values())
    assert sorted(seen["sizes"]) == on_disk

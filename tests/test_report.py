"""The HTML report: self-contained, escaped, in the agreed order, with notebook sections rendered inline."""
from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path

import nbformat
import nbformat.v4 as v4
import pytest

from auralis_perf.catalog import load_catalog
from auralis_perf.regress.section import changes_section_html
from auralis_perf.regress.verdicts import Comparison, Verdict
from auralis_perf.report import (
    comparison_rows,
    render_report,
    subject_line,
    summarize,
    text_summary,
    write_report,
)
from auralis_perf.report.check import external_references
from auralis_perf.results import check_record, errored, skipped, validate_results

CATALOG = load_catalog()
EVIL = "<script>alert('pwned')</script> & \"a<b>.wav\""


def tiny_png() -> str:
    """A valid 1x1 PNG, base64 as notebooks store it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")
    return base64.b64encode(raw).decode()


def results_doc(engine: str = "reference", value_scale: float = 1.0, notebook: str | None = "notebooks/01.ipynb"):
    checks = [
        check_record("RT-01", 45.0 * value_scale, samples=[44.0, 45.0, 46.0]),        # pass
        check_record("RT-06", 150.0, samples=[150.0]),                              # critical miss
        skipped(CATALOG["RT-08"], EVIL),
        errored(CATALOG["RT-09"], RuntimeError("<b>boom</b>")),
    ]
    for c in checks:
        c.engine = engine
    run = {"id": f"run-{engine}", "started_at": "2025-01-01T00:00:00+00:00",
           "finished_at": "2025-01-01T00:02:05+00:00", "engine": engine, "profile": "smoke",
           "machine": {"cpu": {"model": "<CPU & co>", "logical_cores": 2, "physical_cores": 2, "usable_cores": 2},
                       "memory": {"total_mb": 8192.0}, "os": {"platform": "Linux"}, "python": {"version": "3.11"}},
           "versions": {"python": "3.11"}, "parameters": {"audio": ["/music/<odd>.wav"]},
           "notebooks": [{"category": "realtime", "status": "failed", "error": "cell 3: KeyError: '<x>'",
                          "notebook": notebook, "duration_s": 3.0}]}
    doc = {"run": run, "checks": [c.to_dict() for c in checks]}
    assert validate_results(doc) == []
    return doc


def executed_notebook(path: Path) -> Path:
    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    code = v4.new_code_cell("secret_source_code = 1", execution_count=1)
    code.outputs = [
        v4.new_output("display_data", data={"image/png": tiny_png(), "text/plain": "<Figure>"}),
        v4.new_output("display_data", data={"application/javascript": "alert(1)", "text/plain": "js"}),
        v4.new_output("display_data", data={"text/html": "<div>x</div><script src='https://cdn.example/x.js'></script>",
                                            "text/plain": "html with script"}),
        v4.new_output("stream", name="stdout", text="printed <tag> & more\n"),
        v4.new_output("error", ename="ValueError", evalue="bad <value>",
                      traceback=["\x1b[0;31mValueError\x1b[0m: bad <value>"]),
    ]
    params = v4.new_code_cell("engine = 'x'", metadata={"tags": ["parameters"]})
    nb.cells = [params, v4.new_markdown_cell("## Plots of the group"), code]
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def report_html(tmp_path) -> str:
    (tmp_path / "notebooks").mkdir()
    executed_notebook(tmp_path / "notebooks" / "01.ipynb")
    comparison = Comparison(verdicts=[
        Verdict("RT-02", "t", "x", "unchanged", 1.0, 1.0, 1.0, 0.5, "samples", ""),
        Verdict("RT-01", "<t>", "x", "regressed", 50.0, 40.0, 0.8, 0.001, "samples", "", critical=True)],
        normalised=False, baseline_id="r0")
    return render_report([(results_doc(), tmp_path)], changes_html=changes_section_html(comparison))


def test_report_is_self_contained(report_html):
    assert external_references(report_html) == []
    # One copy of the report's CSS; the baseline section brings its own small scoped style.
    assert report_html.count("<style>") == 2 and report_html.count("<style>\n#changes table") == 1
    assert "data:image/png;base64," in report_html and 'alt="plot"' in report_html


def test_external_reference_detector_finds_each_kind():
    bad = ('<script src="https://x/y.js"></script><link rel="stylesheet" href="//cdn/x.css">'
           '<img src="http://a/b.png"><style>@import "x";</style><div style="background:url(https://q)"></div>'
           '<a href="https://example.org">x</a><script>inline()</script>')
    found = " ".join(external_references(bad))
    for fragment in ("y.js", "cdn/x.css", "a/b.png", "@import", "url(https://q", "example.org", "<script>"):
        assert fragment in found
    assert external_references('<a href="#summary">s</a><img src="data:image/png;base64,AA==">') == []


def test_everything_from_outside_is_escaped(report_html):
    assert "<script>alert" not in report_html
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; &amp; &#34;a&lt;b&gt;.wav&#34;" in report_html
    assert "&lt;b&gt;boom&lt;/b&gt;" in report_html
    assert "&lt;CPU &amp; co&gt;" in report_html
    assert "/music/&lt;odd&gt;.wav" in report_html
    assert "KeyError: &#39;&lt;x&gt;&#39;" in report_html
    assert "printed &lt;tag&gt; &amp; more" in report_html  # a notebook's stdout
    assert "bad &lt;value&gt;" in report_html              # a notebook's traceback


def test_code_is_hidden_and_script_outputs_dropped(report_html):
    assert "secret_source_code" not in report_html
    assert "alert(1)" not in report_html and "cdn.example" not in report_html
    assert "html with script" in report_html  # the plain-text fallback of the dropped HTML output


def test_sections_come_in_order_with_critical_misses_first(report_html):
    order = [report_html.index(marker) for marker in
             ('id="summary"', "Critical thresholds missed", "&lt;CPU", 'id="changes"',
              'id="checks"', 'id="reference-realtime"')]
    assert order == sorted(order)
    changes = report_html[report_html.index('id="changes"'):report_html.index('id="checks"')]
    assert changes.index("regressed") < changes.index("unchanged")
    summary = report_html[:report_html.index('id="changes"')]
    assert "RT-06" in summary and "Notebooks that failed or timed out" in summary and "2 min 05 s" in summary
    checks = report_html[report_html.index('id="checks"'):report_html.index('id="reference-realtime"')]
    assert [checks.index(i) for i in ("RT-01", "RT-06", "RT-08", "RT-09")] == sorted(
        checks.index(i) for i in ("RT-01", "RT-06", "RT-08", "RT-09"))
    section = report_html[report_html.index('id="reference-realtime"'):]
    assert "This notebook failed" in section and "Plots of the group" in section


def test_no_baseline_section_without_baseline_and_a_note_when_nothing_changed(tmp_path):
    html = render_report([(results_doc(notebook=None), tmp_path)])
    assert 'id="changes"' not in html
    assert "the executed notebook was not written" in html
    nothing = Comparison(verdicts=[Verdict("RT-01", "t", "x", "unchanged", 1.0, 1.0, 1.0, 0.5, "samples", "")],
                         normalised=False, baseline_id="r0")
    html = render_report([(results_doc(notebook=None), tmp_path)], changes_html=changes_section_html(nothing))
    assert 'href="#changes"' in html and "No check changed: every compared check is unchanged" in html


def test_comparison_of_two_engines(tmp_path):
    docs = [(results_doc("reference", notebook=None), tmp_path), (results_doc("other", 2.0, notebook=None), tmp_path)]
    rows = comparison_rows([summarize(d, b) for d, b in docs])
    assert [r["id"] for r in rows] == ["RT-01", "RT-06"]  # only checks both measured
    assert rows[0]["ratios"] == {"reference": 1.0, "other": 2.0}
    html = render_report(docs)
    assert 'id="comparison"' in html and "ratio other" in html
    assert html.count("<h2>Every check") == 2


def test_text_summary_and_subject(tmp_path):
    summary = summarize(results_doc(notebook=None), tmp_path)
    text = text_summary([summary], "/r/report.html")
    assert "pass 1, fail 1, skip 1, error 1" in text
    assert "RT-06 first-chunk latency: 150 ms" in text
    assert "Notebook realtime failed" in text and "/r/report.html" in text
    assert "1 critical missed" in subject_line([summary])


def test_write_report_is_atomic_and_complete(tmp_path):
    path = write_report(tmp_path / "report.html", [(results_doc(notebook=None), tmp_path)])
    html = path.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]

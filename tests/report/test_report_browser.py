"""The HTML reports opened in a real browser (headless Chromium driven by selenium).

Selenium rather than ``chromium --headless --dump-dom/--screenshot``: it reads the console
log (``--dump-dom`` does not), asks the DOM for each image's natural size and layout box, and
screenshots one element at a time, so each figure's own pixels are checked.

Checked: no console message of level SEVERE; every figure decoded (natural size > 0) and
laid out, its screenshot not blank, its inline PNG byte-identical to the PNG written beside
the page; the page's table holds every stored point with the very numbers of
``Store.frame()`` (exact, from ``data-value``; the shown text equal to its rounding); the
run page's per-op table equals the run's own ``--json`` output; the sorting script sorts.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from hwsim.cli import main
from hwsim.sweep import METRICS, Store

FIGURES_JS = """
return Array.from(document.querySelectorAll("figure.plot")).map(function (f) {
  var img = f.querySelector("img"), r = img.getBoundingClientRect();
  return {id: f.id, complete: img.complete, w: img.naturalWidth, h: img.naturalHeight,
          box_w: r.width, box_h: r.height, src: img.getAttribute("src")};
});
"""
TABLE_JS = """
var t = document.getElementById(arguments[0]);
return {cols: Array.from(t.tHead.rows[0].cells).map(function (c) { return c.textContent; }),
        rows: Array.from(t.tBodies[0].rows).map(function (r) {
          return Array.from(r.cells).map(function (c) {
            return [c.textContent, c.getAttribute("data-value")]; }); })};
"""


def _cli(argv: list[str]) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return json.loads(out.getvalue())


def _open(chrome, html: Path) -> None:
    chrome.get_log("browser")  # drop what an earlier page logged
    chrome.get(html.resolve().as_uri())
    assert chrome.execute_script("return document.readyState") == "complete"


def _console_errors(chrome) -> list[dict]:
    return [e for e in chrome.get_log("browser") if e["level"] == "SEVERE"]


def _fetched(chrome) -> list[str]:
    """What the page would fetch: every src/href that is not an inline data: URI, and any
    url() in its style sheets (Chromium keeps no resource timing for file:// loads)."""
    return chrome.execute_script("""
      var refs = Array.from(document.querySelectorAll("[src], [href]")).map(function (e) {
        return e.getAttribute("src") || e.getAttribute("href"); });
      Array.from(document.querySelectorAll("style")).forEach(function (s) {
        if (s.textContent.indexOf("url(") >= 0) refs.push("url() in a style sheet"); });
      return refs.filter(function (r) { return r.indexOf("data:") !== 0; });""")


def _check_figures(chrome, html: Path, expected: list[str]) -> None:
    from PIL import Image
    from selenium.webdriver.common.by import By

    figs = chrome.execute_script(FIGURES_JS)
    assert sorted(f["id"] for f in figs) == sorted(f"fig-{Path(p).stem}" for p in expected)
    for f in figs:
        assert f["complete"] and f["w"] > 0 and f["h"] > 0, f["id"]
        assert f["box_w"] > 100 and f["box_h"] > 100, f["id"]
        assert f["src"].startswith("data:image/png;base64,"), f["id"]  # inline, no fetch
        beside = html.parent / f"{html.stem}_figures" / f"{f['id'][4:]}.png"
        assert base64.b64decode(f["src"].split(",", 1)[1]) == beside.read_bytes(), f["id"]
        shot = chrome.find_element(By.CSS_SELECTOR, f"#{f['id']} img").screenshot_as_png
        pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=float)
        inked = float((pixels < 200).mean())  # share of pixels clearly darker than paper
        assert pixels.std() > 10 and inked > 0.01, (f["id"], pixels.std(), inked)


def _check_cell(text: str, value: str | None, expected, where: str) -> None:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        assert (text, value) == ("", None), where
        return
    if isinstance(expected, str):
        assert text == expected and value is None, where
        return
    assert float(value) == float(expected), where  # exact: the page keeps the stored value
    shown = float(text.replace(",", ""))
    assert shown == pytest.approx(float(expected), rel=5e-6), where  # rounded to 6 digits


def _param(params: dict, column: str):
    value = params
    for part in column.split("."):
        value = value[part]
    return value


def test_sweep_report_in_chromium(chrome, sweep_dir, tmp_path) -> None:
    html = tmp_path / "page" / "sweep.html"
    info = _cli(["report", str(sweep_dir), "-o", str(html), "--json"])
    _open(chrome, html)
    assert _console_errors(chrome) == [] and _fetched(chrome) == []
    _check_figures(chrome, html, info["figures"])
    # three objectives: three pairwise fronts, plus the chosen point's energy and ops
    assert sum("pareto_" in p for p in info["figures"]) == 3

    with Store(sweep_dir) as store:
        frame = store.frame()
    table = chrome.execute_script(TABLE_JS, "points")
    cols = table["cols"]
    assert len(table["rows"]) == len(frame) == 16
    # every column of the store is in the page but the two JSON ones, shown flattened
    assert set(frame.columns) - {"params", "energy_pj", "version"} <= set(cols)
    assert set(METRICS) <= set(cols)
    by_key = {row[cols.index("key")][0]: row for row in table["rows"]}
    assert set(by_key) == set(frame["key"])
    for rec in frame.to_dict("records"):
        row = dict(zip(cols, by_key[rec["key"]], strict=True))
        params = json.loads(rec["params"])
        energy = json.loads(rec["energy_pj"]) if rec["status"] == "done" else {}
        for col, (text, value) in row.items():
            if col.startswith("energy_pj."):
                expected = energy.get(col.split(".", 1)[1])
            elif col in rec:  # a column of the store: key, status, every metric, error, ...
                expected = rec[col]
            else:  # a parameter that varies between points
                expected = _param(params, col)
            _check_cell(text, value, expected, f"{rec['key'][:8]} {col}")
    failed = frame[frame.status == "failed"]
    assert len(failed) == 4 and all("too small" in e for e in failed.error)

    # the sorting script: a click on total_cycles puts the done points in ascending order
    from selenium.webdriver.common.by import By

    chrome.find_elements(By.CSS_SELECTOR, "#points th")[cols.index("total_cycles")].click()
    after = chrome.execute_script(TABLE_JS, "points")["rows"]
    values = [float(r[cols.index("total_cycles")][1]) for r in after
              if r[cols.index("total_cycles")][1] is not None]
    assert len(values) == 12 and values == sorted(values)
    assert _console_errors(chrome) == []


def test_gpu_run_report_in_chromium(chrome, tmp_path) -> None:
    folder = tmp_path / "gpu"
    res = _cli(["run", "--device", "a100", "--workload", "llama2-7b", "--phase", "decode",
                "--kv-len", "512", "--layers", "12", "--report", str(folder), "--json"])
    html = Path(res["report"]["html"])
    _open(chrome, html)
    assert _console_errors(chrome) == [] and _fetched(chrome) == []
    _check_figures(chrome, html, res["report"]["figures"])
    assert {Path(p).stem for p in res["report"]["figures"]} == {"energy", "ops", "roofline"}
    table = chrome.execute_script(TABLE_JS, "ops-table")
    cols = table["cols"]
    assert len(table["rows"]) == len(res["ops"]) == 12
    for op, row in zip(res["ops"], table["rows"], strict=True):
        for col, (text, value) in zip(cols, row, strict=True):
            _check_cell(text, value, op[col], f"{op['name']} {col}")
    roof = chrome.execute_script(TABLE_JS, "roofline-table")
    assert len(roof["rows"]) == sum(op["macs"] > 0 for op in res["ops"])


def test_the_checks_catch_a_broken_page(chrome, tmp_path) -> None:
    """The checks above can fail: on a script error, a fetched file, a blank figure, an
    undecodable one."""
    from PIL import Image

    blank = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(blank, format="PNG")
    for name, data in (("blank", blank.getvalue()), ("broken", b"not a png")):
        (tmp_path / f"{name}_figures").mkdir()
        (tmp_path / f"{name}_figures" / f"{name}.png").write_bytes(data)
        uri = "data:image/png;base64," + base64.b64encode(data).decode()
        html = tmp_path / f"{name}.html"
        html.write_text(f'<!DOCTYPE html><html><body><figure class="plot" id="fig-{name}">'
                        f'<img src="{uri}"></figure><img src="{name}_figures/{name}.png">'
                        "<script>console.error('boom')</script></body></html>")
        _open(chrome, html)
        assert [e["message"] for e in _console_errors(chrome)][-1].endswith('"boom"')
        assert _fetched(chrome) == [f"{name}_figures/{name}.png"]
        with pytest.raises(AssertionError, match=f"fig-{name}"):
            _check_figures(chrome, html, [f"{name}.png"])

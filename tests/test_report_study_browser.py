"""The study report of a fake-Hub population in headless Chromium (the DevTools client of
test_report_browser): it renders, the charts are there, the repo table's search, column filters and
sort work, print keeps every row, nothing overflows its card at 1280 px, no console errors.
The screenshot lands in docs/study-report.png (the README shows it) with INSPECTOR_UPDATE_DOCS=1."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from conftest import REPO
from studyhub import POPULATION_YAML, populate
from test_report_browser import CHROMIUM, Browser

from inspector.cli import main

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="SKIPPED: no chromium, the study report was NOT tested in a browser")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from fakehub import FakeHub, use_endpoint

    d = tmp_path_factory.mktemp("study-browser")
    with FakeHub() as hub, use_endpoint(hub.endpoint, hf_home=d / "hf"):
        populate(hub)
        (d / "pop.yaml").write_text(POPULATION_YAML)
        assert CliRunner().invoke(main, ["audit", "--population", str(d / "pop.yaml"), "--derivatives", "--db", str(d / "a.sqlite"), "-q"]).exit_code == 0
    out = d / "study.html"
    r = CliRunner().invoke(main, ["report", str(d / "a.sqlite"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    b = Browser(width=1280, height=1600)
    for domain in ("Page", "Runtime", "Log"):
        b.call(f"{domain}.enable")
    b.open(out)
    yield b
    b.close()


def shown(b) -> int:
    return b.eval('Array.prototype.filter.call(document.querySelectorAll("#repos-table tbody tr"), r => !r.hidden).length')


def test_renders_with_claims_charts_and_no_console_errors(page):
    assert page.eval("document.querySelectorAll('#claims-table tbody tr').length") == 2
    assert page.eval("!!document.querySelector('#trend-chart polyline.series') && !!document.querySelector('#trend-chart .release')")
    assert page.eval("document.getElementById('headline').textContent").startswith("Of 33 inspected repos")
    assert page.problems() == []


def test_search_and_a_column_filter_narrow_the_table(page):
    total = shown(page)
    assert total == 33
    page.eval("(() => {const q = document.getElementById('repo-search'); q.value = 'deepseek'; q.dispatchEvent(new Event('input'))})()")
    assert 0 < shown(page) < total
    assert page.eval("document.getElementById('repos-shown').textContent") == str(shown(page))
    page.eval("(() => {const q = document.getElementById('repo-search'); q.value = ''; q.dispatchEvent(new Event('input'));"
              "const f = document.querySelector('#repos-table .filters input[data-col=\"9\"]'); f.value = 'moe';"
              "f.dispatchEvent(new Event('input'))})()")
    moe = page.eval('Array.prototype.filter.call(document.querySelectorAll("#repos-table tbody tr"), r => !r.hidden)'
                    '.map(r => r.cells[9].textContent)')
    assert moe and all(v.lower() == "moe" for v in moe)
    page.eval("(() => {const f = document.querySelector('#repos-table .filters input[data-col=\"9\"]'); f.value = '';"
              "f.dispatchEvent(new Event('input'))})()")
    assert shown(page) == total


def test_a_header_click_sorts_the_repo_table(page):
    page.click("#repos-table thead tr:first-child th:nth-child(7)")  # downloads
    first = page.eval("[...document.querySelectorAll('#repos-table tbody tr')].map(r => Number(r.cells[6].dataset.v))")
    assert first == sorted(first)
    page.click("#repos-table thead tr:first-child th:nth-child(7)")
    again = page.eval("[...document.querySelectorAll('#repos-table tbody tr')].map(r => Number(r.cells[6].dataset.v))")
    assert again == sorted(again, reverse=True)


def test_no_chart_or_bar_overflows_its_card_at_1280px(page):
    over = page.eval("""[...document.querySelectorAll('svg.chart, .pbar')].filter(e => {
        const c = e.closest('section').getBoundingClientRect(), r = e.getBoundingClientRect();
        return r.right > c.right + 0.5}).length""")
    assert over == 0
    clipped = page.eval("[...document.querySelectorAll('#study-shares .wrap')].filter(w => w.scrollWidth > w.clientWidth + 1)"
                        ".map(w => w.querySelector('table').id)")
    assert clipped == []


def test_print_keeps_every_row(page):
    page.eval("(() => {const q = document.getElementById('repo-search'); q.value = 'qwen'; q.dispatchEvent(new Event('input'))})()")
    page.call("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        clipped = page.eval("[...document.querySelectorAll('.wrap')].filter(w => w.scrollHeight > w.clientHeight + 1).length")
        hidden = page.eval("[...document.querySelectorAll('tbody tr')].filter(r => getComputedStyle(r).display === 'none').length")
        assert (clipped, hidden) == (0, 0)
        pdf = page.call("Page.printToPDF", {"printBackground": False})
        assert len(pdf["data"]) > 1000
    finally:
        page.call("Emulation.setEmulatedMedia", {"media": ""})
        page.eval("(() => {const q = document.getElementById('repo-search'); q.value = ''; q.dispatchEvent(new Event('input'))})()")


def test_screenshot_for_the_readme(page, tmp_path):
    # INSPECTOR_UPDATE_DOCS=1 refreshes the README's picture; otherwise a test run leaves the tree clean.
    page.eval("window.scrollTo(0, 0)")
    path = REPO / "docs" / "study-report.png" if os.environ.get("INSPECTOR_UPDATE_DOCS") == "1" else tmp_path / "study-report.png"
    page.screenshot(path, full=False)
    assert path.stat().st_size > 10_000
    assert json.dumps(page.problems()) == "[]"

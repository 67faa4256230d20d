"""The page in a real browser: the system's Chromium, driven by Playwright.

Playwright (rather than Selenium) because it waits for what a test asks for (an element,
a download, a JavaScript condition) without sleeps, hears the page's console and errors,
takes screenshots and catches downloads with one call each, and drives a Chromium it
did not install (``executable_path``): no browser is downloaded, no chromedriver
version has to match. One server and one browser serve the whole module; each test
opens its own tab, and fails if the page logged an error to its console.

Screenshots go to ``screenshots/`` in pytest's base temporary folder
(``--basetemp=DIR`` keeps them in ``DIR/screenshots``); two of them are in ``docs/``.
Without Chromium (``/usr/bin/chromium``) or Playwright the tests skip, unless
``BACKPROP86_REQUIRE_BROWSER`` is on (CI), where they fail.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from backprop86.cli import main as cli_main
from serve_server import REQUIRED, need, running

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
#: Chromium on a machine without network: no background fetches, no sandbox (CI is root).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

sync_api = need("playwright.sync_api")
if not CHROMIUM.exists():
    if REQUIRED:
        pytest.fail(f"no Chromium at {CHROMIUM}: .ci/run installs it with apt-get "
                    "(BACKPROP86_REQUIRE_BROWSER is on)", pytrace=False)
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)


@pytest.fixture(scope="module")
def server():
    with running() as port:
        yield f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def playwright():
    with sync_api.sync_playwright() as p:
        yield p


def chromium(playwright, profile: Path, **options):
    """Chromium with a fresh profile ``profile``."""
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True, args=FLAGS,
        viewport={"width": 1400, "height": 1000}, accept_downloads=True, **options)


@pytest.fixture(scope="module")
def browser(playwright, tmp_path_factory):
    """The tests' browser. The page's Content-Security-Policy forbids evaluating strings as
    script, which is how Playwright asks the page questions: this browser bypasses it (the
    policy itself is tested in a browser that keeps it, below)."""
    context = chromium(playwright, tmp_path_factory.mktemp("profile"), bypass_csp=True)
    yield context
    context.close()


def test_the_page_runs_under_its_own_content_security_policy(playwright, server, tmp_path):
    context = chromium(playwright, tmp_path / "strict-profile")
    try:
        tab = context.new_page()
        problems: list[str] = []
        tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: problems.append(str(e)))
        tab.goto(server)
        tab.wait_for_selector("#play:not([disabled])")  # connected, set up, a frame drawn
        tab.click("#step")
        tab.wait_for_selector("#status:has-text('sweep 1 of')")
        assert problems == []
    finally:
        context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def page(browser, server):
    """A new tab on the page, its console watched: an error there fails the test."""
    tab = browser.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.set_default_timeout(30_000)
    tab.goto(server)
    tab.wait_for_function("window.bp86 && window.bp86.frames > 0")
    yield tab
    tab.close()
    expected = ALLOWED.pop(id(tab), ())
    assert [p for p in problems if not any(e in p for e in expected)] == []


#: Console errors a test expects, by tab: the browser logs a refused upload's 400 itself.
ALLOWED: dict[int, tuple[str, ...]] = {}


def state(page, expression: str):
    return page.evaluate(f"window.bp86.{expression}")


def play_fast(page) -> None:
    page.select_option("#speed", "")
    page.click("#play")


def test_xor_trains_until_solved_the_curve_falls_and_the_surface_changes(page, shots):
    assert "The article's XOR network" in page.inner_text("#task-title")
    before = page.evaluate("document.getElementById('surface').toDataURL()")
    play_fast(page)
    page.wait_for_function("window.bp86.frame?.finished && !window.bp86.playing")
    assert "solved" in page.inner_text("#status")
    curve = state(page, "curve")
    assert curve[-1][1] < curve[0][1] / 100 and curve[-1][0] == 10001
    after = page.evaluate("document.getElementById('surface').toDataURL()")
    assert after != before
    assert page.locator("#units canvas").count() == 4  # each hidden unit's own surface
    rows = page.locator("#patterns td.right")
    assert rows.count() == 4
    page.screenshot(path=shots / "xor-solved.png", full_page=True)


def test_circle_play_pause_step_and_the_address_keeps_the_setup(page, browser, server, shots):
    page.select_option("#task", "circle")
    page.wait_for_function("document.getElementById('n').value === '200'")
    page.fill("#hidden", "8,8")
    page.fill("#noise", "0.05")
    page.click("#apply")
    page.wait_for_function("window.bp86.ready?.name === 'circle-points' && "
                           "window.bp86.frame?.sweep === 0")
    page.select_option("#speed", "10")
    page.click("#play")
    page.wait_for_function("window.bp86.frame?.sweep >= 40")
    page.click("#play")  # pause
    page.wait_for_function("!window.bp86.playing")
    paused = state(page, "frame.sweep")
    page.click("#step")
    page.wait_for_function(f"window.bp86.frame?.sweep === {paused + 1}")
    assert page.locator("#units canvas").count() == 16
    assert "held out" in page.inner_text("#status")
    assert state(page, "frame.right") >= 150  # of 160: the disc is learnt
    page.screenshot(path=shots / "circle.png", full_page=False)
    url = page.url
    assert "task=circle" in url and "hidden=8%2C8" in url and "noise=0.05" in url
    shared = browser.new_page()
    shared.goto(url)
    shared.wait_for_function("window.bp86.ready?.name === 'circle-points'")
    assert shared.input_value("#hidden") == "8,8" and shared.input_value("#noise") == "0.05"
    shared.close()
    page.click("#reset")
    page.wait_for_function("window.bp86.frame?.sweep === 0")


def test_show_your_working_steps_through_one_update(page, shots):
    page.click("#patterns tr[data-index='2']")
    page.wait_for_function("window.bp86.frame?.pattern === 2")
    assert page.inner_text("#pattern-name") == "10"
    page.click("#trace-show")
    page.wait_for_function("window.bp86.trace !== null")
    sections = []
    while True:
        sections.append(page.inner_text("#trace-section"))
        if page.is_disabled("#trace-next"):
            break
        page.click("#trace-next")
    assert [s.split(": ", 1)[1] for s in sections] == [
        "forward pass", "error", "backward pass", "weight gradients", "weight changes"]
    assert "(8)" in page.inner_text("#trace")  # Δw = −ε ∂E/∂w with the numbers in
    page.click("#trace-prev")
    assert "(6)" in page.inner_text("#trace")
    page.screenshot(path=shots / "trace.png", full_page=True)


def test_a_recurrent_net_shows_its_activity_over_time(page, shots):
    page.select_option("#task", "shift-register")
    page.wait_for_function("document.getElementById('lr').value === '0.25'")
    page.click("#apply")
    page.wait_for_function("window.bp86.ready?.name === 'shift-register' && "
                           "window.bp86.frame?.sweep === 0")
    blank = page.evaluate("document.getElementById('history').toDataURL()")
    page.click("#step")
    page.wait_for_function("window.bp86.frame?.sweep === 1")
    assert page.is_visible("#history-figure") and not page.is_visible("#surface-figure")
    assert state(page, "frame.history.units.length") == 3  # steps 0, 1, 2
    page.click("#patterns tr[data-index='5']")
    page.wait_for_function("window.bp86.frame?.pattern === 5")
    drawn = page.evaluate("document.getElementById('history').toDataURL()")
    assert drawn != blank and page.inner_text("#history-name") == state(
        page, "ready.patterns.labels[5]")
    assert "hidden code (t=2)" in page.inner_text("#patterns")
    page.screenshot(path=shots / "shift-register.png", full_page=False)


def test_a_hundred_seeds_fill_in_with_the_1986_record_beside_them(page, shots):
    page.select_option("#task", "encoder-4-2-4")
    page.wait_for_function("document.getElementById('lr').value === '0.5'")
    page.click("#apply")
    page.wait_for_function("window.bp86.ready?.name === 'encoder-4-2-4'")
    page.fill("#seeds-count", "100")
    page.click("#seeds-run")
    page.wait_for_function("window.bp86.seeds && window.bp86.seeds.finished", timeout=60_000)
    summary = page.inner_text("#seeds-summary")
    assert "100 seeds" in summary and "/100" in summary and "95% interval" in summary
    claims = page.inner_text("#claims")
    assert "published" in claims and "159" in claims and "(so far)" not in claims
    verdicts = page.locator("#claims td[class^='verdict']")
    assert verdicts.count() == 3
    page.screenshot(path=shots / "seeds.png", full_page=True)


def test_a_csv_upload_trains_on_your_data(page, tmp_path):
    rng = np.random.default_rng(0)
    rows = ["size,weight,kind"] + [
        f"{a:.3f},{b:.3f},{'big' if a + b > 1 else 'small'}"
        for a, b in rng.uniform(0, 1, size=(60, 2))]
    data = tmp_path / "parcels.csv"
    data.write_text("\n".join(rows) + "\n")
    page.set_input_files("#csv-file", str(data))
    page.wait_for_function("window.bp86.ready && window.bp86.ready?.name === 'parcels-csv'")
    assert page.input_value("#target") == "kind"
    play_fast(page)
    page.wait_for_function("window.bp86.frame?.sweep >= 200")
    page.click("#play")
    ALLOWED[id(page)] = ("the server responded with a status of 400",)
    bad = tmp_path / "bad.csv"
    bad.write_text("size,kind\n1,a\nheavy,b\n")
    page.set_input_files("#csv-file", str(bad))
    page.wait_for_function("!document.getElementById('message').hidden")
    assert "bad.csv line 3 (data row 2), column 'size'" in page.inner_text("#message")


def test_export_a_toml_that_backprop86_run_runs_and_the_weights(page, tmp_path):
    page.select_option("#task", "xor-paper")
    page.wait_for_function("document.getElementById('max-sweeps').value === '10001'")
    page.fill("#max-sweeps", "300")
    page.click("#apply")
    page.wait_for_function("window.bp86.ready?.name === 'xor-paper'")
    play_fast(page)
    page.wait_for_function("window.bp86.frame?.finished")
    with page.expect_download() as download:
        page.click("#export-toml")
    toml = tmp_path / download.value.suggested_filename
    download.value.save_as(toml)
    assert toml.name == "xor-paper.toml" and "max_sweeps = 300" in toml.read_text()
    assert cli_main(["run", str(toml), "--json", str(tmp_path / "run.json")]) == 0
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["replicas"][0]["sweeps"] == 300
    assert record["replicas"][0]["final_error"] == pytest.approx(state(page, "frame.error"),
                                                                 rel=1e-3)
    with page.expect_download() as download:
        page.click("#export-npz")
    with np.load(download.value.path()) as weights:
        assert set(weights.files) == {"w:input->hidden1", "w:hidden1->output", "b:hidden1",
                                      "b:output"}
    with page.expect_download() as download:
        page.click("#export-python")
    assert "Trainer(net, task, exp.config, seeds=[0])" in page.inner_text("#export-text")

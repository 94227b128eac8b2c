"""The report opened in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`, installed by .ci/run) loads report.html from disk; the test fails on any
console error, any request that leaves the file, or a plot that did not render, and saves a
screenshot. Under CI (CI=true) a missing browser is a failure, not a skip."""

import os
import shutil

import pytest

from nas.reports.build import build_report
from nas.reports.data import load_run

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    missing = [
        name for name, path in (("chromium", CHROMIUM), ("chromedriver", DRIVER)) if not path
    ]
    reason = f"{' and '.join(missing)} not installed (apt-get install chromium chromium-driver)"
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing, reason = ["selenium"], "selenium not installed (pip install -e '.[dev]')"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the browser test: {reason}")
        pytest.skip(reason)

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--hide-scrollbars"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # The driver's path is given, so Selenium Manager neither looks for nor downloads one.
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def test_the_report_renders_in_chromium_without_errors(tiny_run, tmp_path, browser):
    import json

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    out, _ = tiny_run
    built = build_report([load_run(out)], tmp_path / "report", top=5)
    browser.get(built.html.as_uri())
    expected = built.html.read_text().count("Plotly.newPlot")
    assert expected >= 5

    def plots_present(driver) -> list:  # a loaded 5 MB page can still be parsing its body
        found = driver.find_elements(By.CSS_SELECTOR, "div.plotly-graph-div")
        return found if len(found) == expected else []

    plots = WebDriverWait(browser, 60).until(plots_present)

    def rendered(driver) -> bool:
        return driver.execute_script(
            "return Array.from(document.querySelectorAll('div.plotly-graph-div')).every("
            "d => d.querySelector('svg.main-svg') && d.querySelectorAll('g.trace').length > 0)"
        )

    WebDriverWait(browser, 60).until(rendered)
    for plot in plots:  # every plot drew its data: marks, bars or boxes in its SVG
        marks = plot.find_elements(By.CSS_SELECTOR, "g.trace path, g.trace .point")
        assert marks, plot.get_attribute("id")
        assert plot.size["height"] > 200 and plot.size["width"] > 300
    drawings = browser.find_elements(By.CSS_SELECTOR, ".drawings img")
    assert drawings and all(
        browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img)
        for img in drawings
    )

    table = browser.find_element(By.ID, "ranking-1")
    measured = table.find_elements(By.TAG_NAME, "th")[9]
    column = "return Array.from(arguments[0].tBodies[0].rows).map(r => r.cells[9].textContent)"
    before = browser.execute_script(column, table)
    measured.click()  # ascending
    after = browser.execute_script(column, table)
    assert [float(x) for x in after] == sorted(float(x) for x in before)
    assert measured.get_attribute("aria-sort") == "ascending"

    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors
    requests = [json.loads(entry["message"])["message"] for entry in browser.get_log("performance")]
    urls = [
        m["params"]["request"]["url"]
        for m in requests
        if m["method"] == "Network.requestWillBeSent"
    ]
    remote = [url for url in urls if not url.startswith(("file:", "data:", "blob:", "about:"))]
    assert not remote, remote

    screenshot = tmp_path / "report.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 20_000


def test_a_registered_section_renders_in_chromium(tiny_run, tmp_path, browser, monkeypatch):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from test_sections import TOY

    from nas.reports import sections

    monkeypatch.setattr(sections, "REGISTRY", TOY)
    out, _ = tiny_run
    built = build_report([load_run(out)], tmp_path / "report", top=3)
    browser.get(built.html.as_uri())

    def drawn(driver) -> bool:
        return driver.execute_script(
            "var d = document.getElementById('plot-sizes');"
            "return !!(d && d.querySelector('svg.main-svg') && d.querySelector('g.trace path'))"
        )

    WebDriverWait(browser, 60).until(drawn)
    assert browser.find_element(By.ID, "sizes").text == "8. Networks by size"
    table = browser.find_element(By.ID, "sizes-1")
    column = "return Array.from(arguments[0].tBodies[0].rows).map(r => r.cells[1].textContent)"
    before = browser.execute_script(column, table)
    table.find_elements(By.TAG_NAME, "th")[1].click()  # sortable like the built-in tables
    assert browser.execute_script(column, table) == sorted(before, key=int)
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors

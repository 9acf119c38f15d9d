"""The pages in a real browser: Playwright driving Debian's Chromium (headless).

Outside CI, a missing Chromium or Playwright skips with a message; in CI (``$CI`` set, as
``.ci/run`` does) it fails: ``.ci/install-browser`` installs ``chromium`` and ``fonts-noto-cjk``.
Never ``playwright install`` (it downloads browsers from the network).
"""

from __future__ import annotations

import os
import re
import zlib
from pathlib import Path

import pytest

from pipeline.stages import report
from tests.pipeline.pages_fixture import MANIFEST, mixed_batch

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CJK_FONT = "Noto Sans CJK SC"


def _unavailable(message: str):
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must run the browser tests: run .ci/install-browser)")
    pytest.skip(reason=message)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} not found (apt-get install chromium fonts-noto-cjk)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def site(_tiny_tables, tmp_path_factory):
    """The mixed batch's pages in English and Chinese, each folder with its index."""
    model, frame = mixed_batch(_tiny_tables)
    scores = model.score(frame)
    root = tmp_path_factory.mktemp("pages")
    for lang in ("en", "zh"):
        folder = root / lang
        folder.mkdir()
        pages = report.render_reports(model, MANIFEST, frame, "f.parquet", lang)
        for applicant_id, page in zip(frame["applicant_id"], pages, strict=True):
            (folder / report.safe_filename(applicant_id)).write_text(page, encoding="utf-8")
        report._index(folder, lang)
    return root, model, scores


@pytest.fixture
def page(browser):
    context = browser.new_context()
    pg = context.new_page()
    pg.requests = []  # every request the page makes
    pg.errors = []  # console errors (a CSP violation shows up here)
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    context.close()


def _pick(scores, decision: str, knockout: bool) -> str:
    chosen = (scores["decision"] == decision) & (scores["knockout_rule"].notna() == knockout)
    return str(scores.index[chosen][0])


def test_pages_fetch_nothing_but_themselves(site, page):
    root, _, scores = site
    files = [root / "en" / "index.html", root / "zh" / "index.html"]
    for decision, knockout in (("decline", True), ("decline", False), ("refer", False)):
        files.append(root / "zh" / report.safe_filename(_pick(scores, decision, knockout)))
    for path in files:
        page.requests.clear()
        page.goto(path.as_uri(), wait_until="load")
        assert page.requests == [path.as_uri()], page.requests
    assert not page.errors, page.errors


def test_index_sorts_by_pd_without_network(site, page):
    root, _, scores = site
    page.goto((root / "en" / "index.html").as_uri())
    assert page.locator("#applicants tbody tr").count() == len(scores)
    page.click("#applicants th:nth-child(7)")  # PD, ascending
    first = page.locator("#applicants tbody tr:first-child td:nth-child(7)").get_attribute(
        "data-key"
    )
    page.click("#applicants th:nth-child(7)")  # descending
    top = page.locator("#applicants tbody tr:first-child td:nth-child(7)").get_attribute("data-key")
    assert float(first) == pytest.approx(scores["pd"].min(), abs=1e-6)
    assert float(top) == pytest.approx(scores["pd"].max(), abs=1e-6)
    assert not page.errors, page.errors  # the script ran under the page's CSP


def test_chinese_renders_with_the_cjk_font(site, page):
    root, _, scores = site
    path = root / "zh" / report.safe_filename(str(scores.index[0]))
    page.goto(path.as_uri())
    # The font that actually drew the heading's glyphs (not just what the CSS asks for).
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    doc = cdp.send("DOM.getDocument")
    node = cdp.send("DOM.querySelector", {"nodeId": doc["root"]["nodeId"], "selector": "h1"})
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    families = {f["familyName"] for f in fonts}
    if not any(CJK_FONT in f for f in families):
        _unavailable(f"Chinese drawn with {families}, not {CJK_FONT} (install fonts-noto-cjk)")
    # Two different characters draw different glyphs (a missing font draws the same box).
    same = page.evaluate(
        """(font) => {
            const draw = (ch) => { const c = document.createElement('canvas');
                c.width = c.height = 64; const x = c.getContext('2d');
                x.font = '48px "' + font + '"'; x.fillText(ch, 4, 52);
                return Array.from(x.getImageData(0, 0, 64, 64).data).join(','); };
            return draw('授') === draw('信');
        }""",
        CJK_FONT,
    )
    assert not same
    width = page.evaluate(
        """(font) => { const x = document.createElement('canvas').getContext('2d');
            x.font = '40px "' + font + '"'; return x.measureText('授信决策').width; }""",
        CJK_FONT,
    )
    assert width == pytest.approx(160, rel=0.1)  # full-width glyphs: one em each


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_statements_match_the_decision_in_the_browser(site, page, lang):
    root, model, scores = site
    t = report.TEXT[lang]
    for applicant_id, s in scores.iterrows():
        page.goto((root / lang / report.safe_filename(str(applicant_id))).as_uri())
        headline = page.locator("#headline")
        assert headline.get_attribute("data-decision") == s["decision"]
        text = page.inner_text("body")
        fired = page.locator("#knockout-reason").count() == 1
        assert fired == isinstance(s["knockout_rule"], str), applicant_id
        if fired:
            assert headline.inner_text().startswith(t["headline_knockout"].split("{")[0])
            assert s["knockout_rule"] in page.inner_text("#knockout-reason")
        else:
            assert t["knocked_out"].split("{")[0] not in text
        is_refer = s["decision"] == "refer"
        assert (t["pending"] in headline.inner_text()) == is_refer
        assert (page.locator("#review").count() == 1) == is_refer


def _pdf_streams(pdf: bytes) -> str:
    out = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, flags=re.S):
        try:
            out.append(zlib.decompress(raw).decode("latin-1"))
        except zlib.error:
            continue
    return "\n".join(out)


def test_print_keeps_the_waterfall_bars(site, page):
    root, _, scores = site
    path = root / "en" / report.safe_filename(_pick(scores, "refer", False))
    page.goto(path.as_uri())
    page.emulate_media(media="print")
    bars = page.locator("#waterfall svg rect")
    assert bars.count() >= 2
    for i in range(bars.count()):
        box = bars.nth(i).bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0
    # Printed without background graphics (the browser's default), the bars are still drawn:
    # their fill colours are in the PDF's content streams.
    pdf = page.pdf(format="A4", print_background=False)
    content = _pdf_streams(pdf)
    red = re.search(r"(?<![\d.])0?\.85\d* 0?\.32\d* 0?\.3\d* rg", content)  # #d9534f
    green = re.search(r"(?<![\d.])0?\.29\d* 0?\.68\d* 0?\.31\d* rg", content)  # #4caf50
    assert red and green, "waterfall bar colours missing from the printed PDF"
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 2  # A4 pages with the page margins


@pytest.fixture(scope="module")
def mlflow_ui(tmp_path_factory):
    """A small project trained and exported in-process, and a light MLflow UI on its store
    (one worker, no job runner), stopped by its process id."""
    import shutil
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    import yaml

    from pipeline.layout import Layout
    from pipeline.params import load
    from pipeline.stages import evaluate, export, generate, split, train
    from pipeline.stages import features as build_features
    from pipeline.stages import validate as validate_stage
    from tests.pipeline.conftest import tiny_params

    if shutil.which("mlflow", path=str(Path(sys.executable).parent)) is None:
        _unavailable("the mlflow command is not installed beside this Python")
    root = tmp_path_factory.mktemp("mlflow-project")
    (root / "params.yaml").write_text(yaml.safe_dump(tiny_params(n_applicants=2000)))
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        p, layout = load(root / "params.yaml"), Layout.at(root)
        for stage in (generate, validate_stage, build_features, split, train, evaluate, export):
            stage.run(p, layout)
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    env.pop("MLFLOW_TRACKING_URI", None)
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the MLflow UI did not start within 60 s")
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def test_mlflow_ui_shows_champion_and_model_card(mlflow_ui, page):
    page.goto(f"{mlflow_ui}/#/models/credit-admission", wait_until="domcontentloaded")
    page.get_by_text("champion").first.wait_for(timeout=60_000)
    import json
    import urllib.request

    query = (
        f"{mlflow_ui}/api/2.0/mlflow/registered-models/alias?name=credit-admission&alias=champion"
    )
    with urllib.request.urlopen(query, timeout=10) as r:
        version = json.load(r)["model_version"]
    assert "Out-of-time gates passed" in version["description"]
    page.goto(f"{mlflow_ui}/#/models/credit-admission/versions/{version['version']}")
    page.get_by_text("Which model decides").first.wait_for(timeout=60_000)
    with urllib.request.urlopen(
        f"{mlflow_ui}/api/2.0/mlflow/runs/get?run_id={version['run_id']}", timeout=10
    ) as r:
        run = json.load(r)["run"]
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert "Known limits" in tags["mlflow.note.content"]
    params = {p["key"] for p in run["data"]["params"]}
    assert {"gates.min_auc", "grading.default_label"} <= params
    assert {d["dataset"]["name"] for d in run["inputs"]["dataset_inputs"]} == {"features", "split"}

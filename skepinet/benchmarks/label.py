"""The labelling page under a scripted browser: time from an answer to the next row shown.

``skepinet label`` runs as a real server process (the offline MiniLM epinet
by default, refitting in the background every ``retrain_every`` answers), and
headless Chromium, driven by Playwright, answers SST-2 sentences with their
true labels as fast as the page allows. The page itself times each answer,
from the click to the next row painted (``window.skepinetTimings``); the
summary gives the median and 95th percentile, split by whether a refit was
running when the answer came back.

The browser is the system's Chromium (Debian's ``chromium`` package, or
``$SKEPINET_CHROMIUM``): Playwright's own browser downloads are not needed.
"""

import contextlib
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .common import environment, option

__all__ = [
    "CHROMIUM_FLAGS",
    "LabelDefaults",
    "LabelServer",
    "answer_on_page",
    "find_chromium",
    "format_label_latency",
    "label_latency",
    "launch_chromium",
    "shown_row",
    "write_sst2_sample",
]

# Headless, and quiet on a machine with no network: no background connections at all.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def find_chromium():
    """Path of a Chromium binary (``$SKEPINET_CHROMIUM`` first), or ``None``."""
    named = os.environ.get("SKEPINET_CHROMIUM")
    if named:
        return named
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def launch_chromium(playwright):
    """Headless system Chromium through a started ``sync_playwright()``."""
    executable = find_chromium()
    if executable is None:
        raise RuntimeError("no Chromium found: apt-get install chromium, or set "
                           "$SKEPINET_CHROMIUM to a Chromium binary.")
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)


class LabelServer:
    """``python -m skepinet.label ...`` in a child process, on a free loopback port.

    Parameters
    ----------
    args : list of str
        The command's arguments (DATA, ``--labels``...); ``--port 0`` is added.
    timeout : float (default=180)
        Seconds to wait for the address to be printed.
    """

    def __init__(self, args, timeout=180):
        self.args, self.timeout = list(args), timeout
        self.process, self.address = None, None

    def start(self):
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1",
               "TRANSFORMERS_OFFLINE": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "skepinet.label", *self.args, "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        deadline, printed = time.monotonic() + self.timeout, []
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            printed.append(line)
            found = re.search(r"Open (http://\S+)", line)
            if found:
                self.address = found.group(1)
                return self
        self.kill()
        raise RuntimeError("skepinet label did not start:\n" + "".join(printed))

    def kill(self):
        """SIGKILL: nothing is flushed or closed on the server's side."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.kill()


def shown_row(page):
    """The row id on the page, or ``None`` when the session is done."""
    if page.is_visible("#done"):
        return None
    return int(page.get_attribute("#card", "data-row"))


def answer_on_page(page, label=None, key=None):
    """Click a label's button (or press ``key``) and wait for the next row to be painted.

    Returns
    -------
    timing : dict
        The page's record of it: ``ms`` from the click to the next row
        painted, and ``training`` (a refit was running).
    """
    count = page.evaluate("() => window.skepinetTimings.length")
    if key is not None:
        page.keyboard.press(key)
    else:
        page.click(f'#buttons button[data-label="{label}"]')
    page.wait_for_function("n => window.skepinetTimings.length > n", arg=count)
    return page.evaluate("() => window.skepinetTimings[window.skepinetTimings.length - 1]")


def write_sst2_sample(data_dir, path, n_rows, seed=0):
    """``n_rows`` SST-2 training sentences, drawn at random, as a CSV (sentence, truth)."""
    from ..datasets import load_glue

    X, y = load_glue("sst2", data_dir, split="train")
    rows = np.random.default_rng(seed).choice(len(X), size=n_rows, replace=False)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["sentence", "truth"])
        for row in rows:
            writer.writerow([X[row], ["negative", "positive"][int(y[row])]])
    return [["negative", "positive"][int(y[row])] for row in rows]


def _driver(playwright):
    if playwright is not None:
        return contextlib.nullcontext(playwright)
    from playwright.sync_api import sync_playwright

    return sync_playwright()


def _percentile(values, q):
    return float(np.percentile(values, q)) if len(values) else None


def _summary(times):
    return {"n": len(times), "median_ms": _percentile(times, 50), "p95_ms": _percentile(times, 95),
            "max_ms": float(max(times)) if times else None}


@dataclass(frozen=True)
class LabelDefaults:
    """Settings of ``skepinet-bench label`` and :func:`label_latency`.

    :meth:`quick` gives the smoke test's.
    """

    data_dir: Path = option(None, "GLUE folder with SST-2", Path,
                            shown="$GLUE_DIR; one of the two is required")
    answers: int = option(100, "answers given", int)
    rows: int = option(2000, "rows of the labelled file", int)
    retrain_every: int = option(10, "answers per refit", int)
    candidates: int = option(256, "rows scored per refit", int)

    @classmethod
    def quick(cls):
        """The smoke test's settings."""
        return cls(answers=15, rows=200)


def label_latency(data_dir, *, n_answers=LabelDefaults.answers, n_rows=LabelDefaults.rows,
                  retrain_every=LabelDefaults.retrain_every, candidates=LabelDefaults.candidates,
                  folder=None, playwright=None):
    """Answer ``n_answers`` SST-2 rows through the page; time answer -> next row shown.

    The defaults are :class:`LabelDefaults`' (the command line's ``--answers``,
    ``--rows``, ``--retrain-every`` and ``--candidates``).

    Parameters
    ----------
    data_dir : str or path
        GLUE folder holding ``SST-2/train.tsv``.
    n_answers : int
    n_rows : int
        Rows of the file being labelled.
    retrain_every, candidates : int
        The server's ``--retrain-every`` and ``--candidates``.
    folder : str or None
        Where the data and session go (a temporary folder by default).
    playwright : playwright.sync_api.Playwright or None
        A driver already started (one thread runs one); ``None`` starts one.

    Returns
    -------
    result : dict
    """
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        folder = folder or scratch
        data = os.path.join(folder, "sst2.csv")
        truth = write_sst2_sample(data_dir, data, n_rows)
        args = [data, "--text-column", "sentence", "--labels", "negative,positive",
                "--out", os.path.join(folder, "session"), "--budget", str(n_answers),
                "--retrain-every", str(retrain_every), "--candidates", str(candidates)]
        started = time.perf_counter()
        with LabelServer(args) as server, _driver(playwright) as driver:
            browser = launch_chromium(driver)
            page = browser.new_page()
            page.goto(server.address)
            page.wait_for_selector("#card:not([hidden])")
            timings = [answer_on_page(page, truth[shown_row(page)]) for _ in range(n_answers)]
            versions = page.text_content("#model")
            browser.close()
        wall = time.perf_counter() - started
    every = [t["ms"] for t in timings]
    training = [t["ms"] for t in timings if t["training"]]
    idle = [t["ms"] for t in timings if not t["training"]]
    return {"benchmark": "label", "n_answers": n_answers, "n_rows": n_rows,
            "retrain_every": retrain_every, "candidates": candidates,
            "all": _summary(every), "while_training": _summary(training),
            "while_idle": _summary(idle), "answers_per_s": n_answers / wall,
            "model_at_end": versions, "wall_s": wall,
            "environment": environment("cpu", load_before)}


def format_label_latency(result):
    """A plain-text table of :func:`label_latency`'s result."""
    lines = [(f"Answer -> next row shown, {result['n_answers']} answers through the page "
              f"(refit every {result['retrain_every']} answers, {result['candidates']} "
              f"candidates scored; {result['n_rows']} SST-2 rows)"),
             f"{'answers':<22}{'n':>5}{'median ms':>12}{'p95 ms':>10}{'max ms':>10}"]
    for key, name in (("all", "all"), ("while_training", "while a refit ran"),
                      ("while_idle", "no refit running")):
        s = result[key]
        if s["n"]:
            lines.append(f"{name:<22}{s['n']:>5}{s['median_ms']:>12.1f}{s['p95_ms']:>10.1f}"
                         f"{s['max_ms']:>10.1f}")
    lines.append(f"{result['answers_per_s']:.1f} answers/s end to end (server start included); "
                 f"{result['model_at_end']}")
    return "\n".join(lines)

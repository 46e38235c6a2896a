"""The fleet report's page as tests read it (tests/unit/plugins/plugin_utils/test_report_html.py and
tests/e2e/test_report.py): a parser of the rendered or Chromium-dumped HTML, and Debian's chromium run headless."""

import html.parser
import os
import shutil
import signal
import subprocess
import tempfile


class Page(html.parser.HTMLParser):
    """Tile values, figures, table rows and notices of a rendered (or Chromium-dumped) page."""

    def __init__(self, text):
        super().__init__()
        self.tiles, self.figures, self.rows, self.notices, self.info = {}, {}, [], [], ""
        self._stack, self._tile, self._figure, self._row, self._cell, self._capture = [], None, None, None, None, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if "tile" in classes:
            self._tile = attrs["id"][len("tile-"):]
        if tag == "div" and "value" in classes and self._tile:
            self._capture = ("tile", self._tile)
        if tag == "figure":
            self._figure = attrs["id"][len("chart-"):]
            self.figures[self._figure] = {"svg": False, "text": ""}
        if tag == "svg" and self._figure:
            self.figures[self._figure]["svg"] = True
        if tag == "p" and self._figure:
            self._capture = ("figure", self._figure)
        if tag == "tr" and self._stack and "tbody" in self._stack:
            self._row = []
        if tag == "td" and self._row is not None:
            self._row.append("")  # an empty cell has no data event
            self._capture = ("cell", None)
        if tag == "li" and "unavailable" in classes:
            self._capture = ("notice", attrs.get("data-section"))
        if attrs.get("id") == "page-info":
            self._capture = ("info", None)
        self._stack.append(tag)

    def handle_endtag(self, tag):
        while self._stack and self._stack.pop() != tag:
            pass
        if tag == "figure":
            self._figure = None
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        if tag in ("div", "p", "td", "li", "span"):
            self._capture = None

    def handle_data(self, data):
        kind, key = self._capture or (None, None)
        if kind == "tile":
            self.tiles[key] = self.tiles.get(key, "") + data.strip()
        elif kind == "figure":
            self.figures[key]["text"] += data
        elif kind == "cell":
            self._row[-1] += data
        elif kind == "notice":
            self.notices.append((key, data))
        elif kind == "info":
            self.info += data


def chromium(*args, timeout=90):
    """Run Debian's chromium headless with ``args`` (``--dump-dom URL`` or ``--screenshot=PATH URL``); return its
    standard output. The page's script gets 5 s of virtual time to lay the table out.

    Each run has its own profile directory and its own process group: chromium's helper processes (zygote,
    renderer) inherit its output pipes, so on a timeout the whole group is killed; killing the browser alone would
    leave the pipes open and the read of its output waiting for ever."""
    binary = shutil.which("chromium")
    if not binary:
        raise AssertionError("Debian's chromium is missing: make setup installs it (tools/ensure_debian_packages.sh)")
    with tempfile.TemporaryDirectory(prefix="gough-chromium-") as profile:
        command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                   "--user-data-dir=%s" % profile, "--virtual-time-budget=5000"] + list(args)
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            try:
                out, err = process.communicate(timeout=10)
            except subprocess.TimeoutExpired:  # a helper that left the group still holds a pipe: stop reading
                out, err = "", ""
            raise AssertionError("chromium did not finish within %d s (%s); stopped: %s"
                                 % (timeout, " ".join(args), err[-2000:]))
        finally:
            try:  # helpers the browser left behind, if any
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if process.returncode != 0:
        raise AssertionError("chromium failed (%d): %s" % (process.returncode, err[-2000:]))
    return out

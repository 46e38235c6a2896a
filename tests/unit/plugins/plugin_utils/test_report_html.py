# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet report's page (plugin_utils/report_html.py) rendered from fixture data: what it shows, that it
fetches nothing, that an unavailable source is a section that says so; and the same page in headless Chromium
(Debian's chromium, installed by tools/ensure_debian_packages.sh), whose script pages, sorts and filters."""

import html.parser
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from ansible_collections.gough.gough.plugins.plugin_utils import report_html

NOW = time.time()
TOKEN = "fleet-token-0123456789"


def vector(samples):
    return {"status": 200, "json": {"status": "success", "data": {"resultType": "vector", "result": samples}}}


def matrix(value):
    points = [[NOW - 86400 + i * 300, str(value)] for i in range(289)]
    return {"status": 200, "json": {"status": "success", "data": {"resultType": "matrix",
                                                                   "result": [{"metric": {}, "values": points}]}}}


def machine(index, status="Deployed", tags=()):
    return {"hostname": "node-%03d" % index, "system_id": "sys%03d" % index, "status": status,
            "ip_addresses": ["10.0.%d.%d" % (index // 250, index % 250 + 1)], "zone": "z%d" % (index % 3),
            "pool": "default", "tags": list(tags)}


def sources(count=3, fleet=None, prometheus_error=None):
    machines = [machine(1), machine(2, tags=["gough-quarantine"]), machine(3, "Ready")]
    machines += [machine(i, "Ready" if i % 2 else "Deployed") for i in range(4, count + 1)]
    fleet_hosts = [{"hostname": "node-001", "status": "online", "policies_passing": 2, "policies_total": 2,
                    "failing_critical_policies": [],
                    "policies": [{"name": "root login", "response": "pass", "critical": True},
                                 {"name": "journal", "response": "pass", "critical": False}]},
                   {"hostname": "node-002", "status": "online", "policies_passing": 1, "policies_total": 2,
                    "failing_critical_policies": ["root login"],
                    "policies": [{"name": "root login", "response": "fail", "critical": True},
                                 {"name": "journal", "response": "pass", "critical": False}]}]
    prometheus = {"agents": vector([{"metric": {"instance": "node-001"}, "value": [NOW, "1"]},
                                    {"metric": {"instance": "node-002"}, "value": [NOW, "0"]}]),
                  "agents_up_range": matrix(1), "agents_scraped_range": matrix(2),
                  "certificates": vector([{"metric": {"cert": "agent", "instance": "node-001"},
                                           "value": [NOW, str(NOW + 3 * 86400)]}])}
    if prometheus_error:
        prometheus = dict((name, prometheus_error) for name in prometheus)
    return dict(prometheus, maas={"changed": False, "machines": machines},
                fleet=fleet if fleet is not None else {"changed": False, "hosts": fleet_hosts},
                deploys=[{"hostname": "node-001", "action": "deploy", "seconds": 310.5, "failed": False,
                          "time": NOW - 600},
                         {"hostname": "node-002", "action": "deploy", "seconds": 290.0, "failed": False,
                          "time": NOW - 600}],
                backups=["gough-%s" % time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(NOW - 3600))])


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

    def handle_data(self, text):
        kind, key = self._capture or (None, None)
        if kind == "tile":
            self.tiles[key] = self.tiles.get(key, "") + text.strip()
        elif kind == "figure":
            self.figures[key]["text"] += text
        elif kind == "cell":
            self._row.append(text)
        elif kind == "notice":
            self.notices.append((key, text))
        elif kind == "info":
            self.info += text


def test_the_page_shows_every_tile_and_chart_and_embeds_every_host():
    page, summary, hosts = report_html.render_report(sources(), NOW)
    parsed = Page(page)
    assert parsed.tiles == {"machines": "3", "deployed-24h": "2", "failing-critical": "1", "agents-down": "1",
                            "quarantined": "1", "certificates": "1",
                            "last-backup": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(NOW - 3600))}
    assert all(figure["svg"] for figure in parsed.figures.values()) and len(parsed.figures) == 4
    rows = json.loads(re.search(r'id="host-data">(.*?)</script>', page).group(1))["rows"]
    assert hosts == 3 and [row[:3] for row in rows] == [["node-001", "sys001", "Deployed"],
                                                        ["node-002", "sys002", "Deployed"],
                                                        ["node-003", "sys003", "Ready"]]
    assert summary["unavailable"] == {}


def test_the_page_fetches_nothing_from_outside():
    page, _summary, _hosts = report_html.render_report(sources(), NOW)
    # Only the SVG namespace names a URL; no attribute, stylesheet or script loads one.
    assert re.findall(r'(?:src|href)\s*=\s*["\']?(?:https?:)?//', page) == []
    assert "@import" not in page and not re.search(r"url\(\s*['\"]?(?:https?:)?//", page)
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) <= {"http://www.w3.org/2000/svg",
                                                               "http://www.w3.org/1999/xlink"}
    assert re.findall(r"<script[^>]*\bsrc=", page) == []


def test_unreachable_fleet_and_prometheus_make_their_sections_unavailable_with_the_error_not_a_failure():
    refused = {"failed": True, "status": -1, "url": "https://prometheus:9443/api/v1/query",
               "msg": "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] Connection refused>"}
    fleet = {"failed": True, "msg": "Fleet GET hosts failed: connection refused (Bearer %s)" % TOKEN}
    page, summary, hosts = report_html.render_report(sources(fleet=fleet, prometheus_error=refused), NOW,
                                                     secrets=[TOKEN])
    parsed = Page(page)
    assert set(summary["unavailable"]) == {"fleet", "agents", "certificates"}
    assert dict(parsed.notices)["fleet"].startswith("Fleet unavailable: Fleet GET hosts failed")
    assert "Connection refused" in dict(parsed.notices)["agents"]
    for tile in ("failing-critical", "agents-down", "certificates"):
        assert parsed.tiles[tile] == "—"
    assert parsed.tiles["machines"] == "3" and hosts == 3
    assert "unavailable" in parsed.figures["policies"]["text"] and "Connection refused" in \
        parsed.figures["agents"]["text"]
    assert parsed.figures["status"]["svg"] and parsed.figures["deploys"]["svg"]
    assert TOKEN not in page and "********" in page


def test_hostile_names_are_text_never_markup():
    data = sources()
    data["maas"]["machines"][0]["hostname"] = "</script><script>alert(1)</script>"
    data["maas"]["machines"][0]["tags"] = ["<b>x</b>"]
    page, _summary, _hosts = report_html.render_report(data, NOW)
    assert "<script>alert(1)" not in page and "<b>x</b>" not in page
    assert page.count("<script") == 2  # the data block and the inline script, nothing else


def test_without_pygal_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setattr(report_html, "HAS_PYGAL", False)
    with pytest.raises(report_html.ReportError, match="pip install pygal"):
        report_html.render_report(sources(), NOW)


def chromium(*args):
    """Debian's chromium, headless; output of ``args`` (a --dump-dom or --screenshot run)."""
    binary = shutil.which("chromium")
    assert binary, "Debian's chromium is missing: make setup installs it (tools/ensure_debian_packages.sh)"
    process = subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                              "--no-first-run", "--virtual-time-budget=5000"] + list(args),
                             capture_output=True, text=True, timeout=120, check=False)
    assert process.returncode == 0, process.stderr[-2000:]
    return process.stdout


def test_in_chromium_the_table_shows_the_first_page_sorted_and_a_link_filters_it(tmp_path):
    page, _summary, _hosts = report_html.render_report(sources(count=120), NOW)
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    first = Page(chromium("--dump-dom", path.as_uri()))
    assert len(first.rows) == report_html.PAGE_SIZE
    assert [row[0] for row in first.rows[:3]] == ["node-001", "node-002", "node-003"]
    assert first.info == "1-50 of 120 hosts, page 1 of 3"
    assert first.tiles["machines"] == "120"
    filtered = Page(chromium("--dump-dom", path.as_uri() + "#filter=status:ready%20z1&sort=hostname&desc"))
    names = [row[0] for row in filtered.rows]
    assert names and all(row[2] == "Ready" and row[4] == "z1" for row in filtered.rows)
    assert names == sorted(names, reverse=True)
    assert filtered.info.startswith("1-%d of %d hosts (filtered from 120)" % (len(names), len(names)))
    shot = tmp_path / "report.png"
    chromium("--window-size=1400,1400", "--screenshot=%s" % shot, path.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

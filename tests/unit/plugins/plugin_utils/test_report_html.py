# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet report's page (plugin_utils/report_html.py) rendered from fixture data: what it shows, that it
fetches nothing, that an unavailable source is a section that says so; and the same page in headless Chromium
(Debian's chromium, installed by tools/ensure_debian_packages.sh), whose script pages, sorts and filters."""

import json
import re
import time

import pytest

from gough_lab.report_page import Page, chromium

from ansible_collections.gough.gough.plugins.plugin_utils import report_html

NOW = time.time()
TOKEN = "fleet-token-0123456789"


def vector(samples):
    return {"status": 200, "json": {"status": "success", "data": {"resultType": "vector", "result": samples}}}


def matrix(value):
    points = [[NOW - 86400 + i * 300, str(value)] for i in range(289)]
    series = [{"metric": {}, "values": points}]
    return {"status": 200, "json": {"status": "success", "data": {"resultType": "matrix", "result": series}}}


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

# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet report as one HTML file: tiles, four SVG charts drawn on the controller with pygal, and the host table
as JSON that a small inline script pages, sorts and filters. Nothing in the page is fetched from anywhere.

``render_report(sources, now)`` is a pure function of its arguments (module_utils/report_data.py does the join);
gough.gough.html_report's action plugin writes what it returns. pygal is a controller requirement
(requirements.txt); without it ``render_report`` raises ReportError saying so.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re
import time
from html import escape

from ansible_collections.gough.gough.plugins.module_utils import report_data as data

try:
    import pygal
    from pygal.style import Style
    HAS_PYGAL = True
except ImportError:  # the import sanity test's venv has no pygal; render_report says what to install
    HAS_PYGAL = False

PAGE_SIZE = 50
MAX_GROUPS = 30
# pygal's comments name its home page, and each SVG carries a script that only configures pygal's tooltips (not
# loaded here): the page keeps neither.
_SVG_NOISE_RE = re.compile(r"<!--.*?-->|<script\b[^>]*>.*?</script>", re.S)
STATUS_COLOURS = {"Deployed": "#2e7d32", "Ready": "#1565c0", "Allocated": "#6a1b9a", "Deploying": "#00838f",
                  "Commissioning": "#ef6c00", "New": "#78909c", "Failed deployment": "#c62828",
                  "Failed commissioning": "#ad1457", "Broken": "#4e342e"}
PALETTE = ("#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#c62828", "#00838f", "#78909c", "#ad1457")


class ReportError(Exception):
    """The report cannot be rendered (pygal missing)."""


def _style(colors=None):
    return Style(background="transparent", plot_background="transparent", foreground="#333",
                 foreground_strong="#111", foreground_subtle="#888", opacity=".85", opacity_hover=".95",
                 font_family="system-ui, sans-serif", label_font_size=11, major_label_font_size=11,
                 legend_font_size=11, title_font_size=13, value_font_size=10,
                 colors=colors or PALETTE)


def _chart(kind, colors=None, **options):
    # js=[]: pygal's default SVG loads its tooltip script from a CDN; the report fetches nothing.
    settings = dict(width=640, height=340, legend_at_bottom=True, truncate_legend=40, truncate_label=28)
    settings.update(options)
    return kind(style=_style(colors), js=[], disable_xml_declaration=True, **settings)


def _count_labels(maximum):
    """Whole numbers for a count axis (pygal would mark 0.1 steps up to 1), about eight of them."""
    step = max(1, -(-int(maximum) // 8))
    return list(range(0, int(maximum) + step + 1, step))


def _svg(chart):
    return _SVG_NOISE_RE.sub("", chart.render(is_unicode=True))


def status_chart(machines):
    """Stacked bars: machines by status per zone and pool (the largest MAX_GROUPS groups, the rest as "other")."""
    groups = data.status_by_zone_pool(machines)
    if len(groups) > MAX_GROUPS:
        ranked = sorted(groups, key=lambda key: -sum(groups[key].values()))
        other = {}
        for key in ranked[MAX_GROUPS - 1:]:
            for status, count in groups.pop(key).items():
                other[status] = other.get(status, 0) + count
        groups["other"] = other
    statuses = sorted(set(s for counts in groups.values() for s in counts))
    # One colour per status, the same in bars and legend.
    colors = tuple(STATUS_COLOURS.get(status, PALETTE[i % len(PALETTE)]) for i, status in enumerate(statuses))
    chart = _chart(pygal.StackedBar, colors=colors, x_label_rotation=20 if len(groups) > 4 else 0,
                   y_labels=_count_labels(max(sum(counts.values()) for counts in groups.values())))
    chart.x_labels = list(groups)
    for status in statuses:
        chart.add(status, [groups[key].get(status) or None for key in groups])
    return _svg(chart)


def deploy_chart(durations):
    """Bars: how many deploys took how long (minutes), from maas_deploy's per-machine seconds."""
    buckets = data.duration_buckets(durations)
    chart = _chart(pygal.Bar, show_legend=False, print_values=True, x_title="deploy duration",
                   y_title="deploys", x_label_rotation=20,
                   y_labels=_count_labels(max(count for _label, count in buckets)))
    chart.x_labels = [label for label, _count in buckets]
    chart.add("deploys", [count for _label, count in buckets])
    return _svg(chart)


def policy_chart(rates):
    """Horizontal bars: the share of answering hosts that pass each policy (critical ones in red)."""
    chart = _chart(pygal.HorizontalBar, show_legend=False, range=(0, 100), print_values=True,
                   y_labels=[0, 25, 50, 75, 100], value_formatter=lambda value: "%.0f %%" % value,
                   height=max(220, 40 + 26 * len(rates)))
    chart.x_labels = ["%s%s" % (name, " (critical)" if critical else "") for name, _p, _a, critical in rates]
    chart.add("pass rate", [{"value": 100.0 * passing / answered if answered else 0,
                             "color": "#c62828" if critical else "#1565c0",
                             "label": "%d of %d hosts" % (passing, answered)}
                            for _name, passing, answered, critical in rates])
    return _svg(chart)


def agents_chart(up_points, scraped_points):
    """Lines: agents up and agents scraped over the range query's window (UTC hours on the axis)."""
    chart = _chart(pygal.Line, show_dots=False, fill=False, show_minor_x_labels=False, x_label_rotation=0,
                   y_title="agents", include_x_axis=True,
                   y_labels=_count_labels(max([value for _stamp, value in up_points + scraped_points] or [1])))
    chart.x_labels = [time.strftime("%H:%M", time.gmtime(stamp)) for stamp, _value in up_points]
    chart.x_labels_major_every = max(1, len(up_points) // 8)
    chart.add("agents up", [value for _stamp, value in up_points])
    if scraped_points:
        scraped = dict(scraped_points)
        chart.add("agents scraped", [scraped.get(stamp) for stamp, _value in up_points])
    return _svg(chart)


def _when(stamp):
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(stamp))


def _age(seconds):
    seconds = max(0, int(seconds))
    if seconds < 3600:
        return "%d min ago" % (seconds // 60)
    if seconds < 2 * data.DAY:
        return "%d h ago" % (seconds // 3600)
    return "%d days ago" % (seconds // data.DAY)


def _tile(tile_id, label, value, detail="", level="", error=None):
    if error:
        value, detail, level = "—", "unavailable: " + error, "unavailable"
    return ('<div class="tile %s" id="tile-%s"><div class="label">%s</div><div class="value%s">%s</div>'
            '<div class="detail">%s</div></div>' % (level, tile_id, escape(label), "" if len(str(value)) < 8 else
                                                    " text", escape(str(value)), escape(detail)))


def tiles(summary, now):
    """The tiles' HTML, each with id ``tile-<name>`` and its number in ``.value``."""
    errors = summary["unavailable"]
    by_status = " · ".join("%s %d" % item for item in summary["machines_by_status"].items())
    earliest = summary["earliest_certificate"]
    last = summary["last_backup"]
    parts = [
        _tile("machines", "Machines", summary["machines"], by_status or "none in MAAS", error=errors.get("maas")),
        _tile("deployed-24h", "Deployed in the last 24 h", summary["deployed_last_24h"], "from maas_deploy's records"),
        _tile("failing-critical", "Failing critical policies", summary["failing_critical_policies"], "hosts in Fleet",
              "bad" if summary["failing_critical_policies"] else "good", errors.get("fleet")),
        _tile("agents-down", "Agents down", summary["agents_down"], "of %s scraped by Prometheus" % (
            (summary["agents_up"] or 0) + (summary["agents_down"] or 0)),
            "bad" if summary["agents_down"] else "good", errors.get("agents")),
        _tile("quarantined", "Quarantined", summary["quarantined"], "MAAS tag gough-quarantine",
              "bad" if summary["quarantined"] else "good", errors.get("maas")),
        _tile("certificates", "Certificates expiring within %d days" % summary["certificate_days"],
              summary["certificates_expiring"],
              "earliest %s (%s of %s)" % (_when(earliest["not_after"]), earliest["cert"] or "?",
                                          earliest["instance"] or "?") if earliest else "no certificate known",
              "bad" if summary["certificates_expiring"] else "good", errors.get("certificates")),
        _tile("last-backup", "Last backup", _when(last) if last else "none",
              "%s, %d kept" % (_age(now - last), summary["backups"]) if last else "playbooks/backup.yml makes one",
              "" if last and now - last < 2 * data.DAY else "bad"),
    ]
    return "\n".join(parts)


def _figure(figure_id, title, svg=None, error=None, empty="no data yet", note=""):
    if error:
        body = '<p class="unavailable">unavailable: %s</p>' % escape(error)
    elif svg is None:
        body = '<p class="empty">%s</p>' % escape(empty)
    else:
        body = svg
    return '<figure id="chart-%s"><figcaption>%s</figcaption>%s%s</figure>' % (
        figure_id, escape(title), body, '<p class="note">%s</p>' % escape(note) if note else "")


def _json_for_script(value):
    # Inside <script>: no "<" or "&" may start markup, whatever a hostname or tag holds.
    text = json.dumps(value, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_report(sources, now, title="Gough fleet report", certificate_days=21, quarantine_tag="gough-quarantine",
                  secrets=()):
    """(html, summary, number of host rows) of the report. ``sources`` holds the registered results: ``maas``
    (maas_machine_info), ``fleet`` (fleet_host_info with policies), ``agents``, ``agents_up_range``,
    ``agents_scraped_range`` and ``certificates`` (uri on Prometheus's query API), ``deploys`` (maas_deploy's
    records) and ``backups`` (backup directory names). Errors in them are shown with ``secrets`` blanked, never
    raised."""
    if not HAS_PYGAL:
        raise ReportError("the fleet report draws its charts with pygal, which this controller's Python lacks: "
                          "pip install pygal (requirements.txt pins the tested version)")
    maas_error = data.source_error(sources.get("maas"), secrets, "MAAS")
    machines = [] if maas_error else list(sources["maas"].get("machines") or [])
    fleet_error = data.source_error(sources.get("fleet"), secrets, "Fleet")
    fleet_hosts = None if fleet_error else list(sources["fleet"].get("hosts") or [])
    agent_samples, agents_error = data.prometheus_result(sources.get("agents"), secrets)
    agents = None if agents_error else data.agent_states(agent_samples)
    up_samples, range_error = data.prometheus_result(sources.get("agents_up_range"), secrets)
    scraped_samples, _ignored = data.prometheus_result(sources.get("agents_scraped_range"), secrets)
    cert_samples, cert_error = data.prometheus_result(sources.get("certificates"), secrets)
    deploys = list(sources.get("deploys") or [])
    summary = data.summarize(machines, maas_error, fleet_hosts, fleet_error, agents or {}, agents_error, deploys,
                             sources.get("backups"), cert_samples, cert_error, now, certificate_days, quarantine_tag)
    rows = data.join_hosts(machines, fleet_hosts, agents, quarantine_tag)
    durations = data.deploy_durations(deploys)
    rates = data.policy_pass_rates(fleet_hosts)
    up_points = data.range_series(up_samples)
    figures = [
        _figure("status", "Machines by status per zone and pool",
                status_chart(machines) if machines else None, maas_error, "no machines in MAAS"),
        _figure("deploys", "Deploy durations (%d deploys recorded)" % len(durations),
                deploy_chart(durations) if durations else None, None,
                "no deploy recorded yet (site.yml records maas_deploy's results)"),
        _figure("policies", "Pass rate per policy", policy_chart(rates) if rates else None, fleet_error,
                "no policy results in Fleet"),
        _figure("agents", "Agents up over the last 24 h",
                agents_chart(up_points, data.range_series(scraped_samples)) if up_points else None, range_error,
                "Prometheus has no gough-agent samples in the last 24 h"),
    ]
    notices = "".join('<li class="unavailable" data-section="%s">%s unavailable: %s</li>' % (
        escape(key), escape({"maas": "MAAS", "fleet": "Fleet", "agents": "Prometheus (agents)",
                             "certificates": "Prometheus (certificates)"}[key]), escape(error))
        for key, error in summary["unavailable"].items())
    if range_error and "agents" not in summary["unavailable"]:
        notices += '<li class="unavailable" data-section="agents-range">Prometheus (range) unavailable: %s</li>' % (
            escape(range_error))
    table = {"columns": list(data.COLUMNS), "rows": rows}
    page = _PAGE.format(
        title=escape(title), generated=escape(_when(now)), tiles=tiles(summary, now), figures="\n".join(figures),
        notices='<ul class="notices">%s</ul>' % notices if notices else "", css=_CSS, script=_SCRIPT,
        headers="".join('<th data-col="%d" tabindex="0">%s</th>' % (i, escape(name.replace("_", " ")))
                        for i, name in enumerate(data.COLUMNS)),
        rows=_json_for_script(table), page_size=PAGE_SIZE, count=len(rows))
    return page, summary, len(rows)


_CSS = """
:root{color-scheme:light}body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#222}
header{background:#1f2933;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#cbd2d9}main{padding:16px 24px}
.notices{margin:0 0 12px;padding:0;list-style:none}.notices li{background:#fdecea;border-left:4px solid #c62828;
padding:6px 10px;margin-bottom:4px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:12px;margin-bottom:16px}
.tile{background:#fff;border-radius:6px;padding:12px;border-top:4px solid #90a4ae;box-shadow:0 1px 2px #0002}
.tile.good{border-top-color:#2e7d32}.tile.bad{border-top-color:#c62828}.tile.unavailable{border-top-color:#ef6c00}
.tile .label{color:#555;font-size:12px}.tile .value{font-size:28px;font-weight:600;margin:4px 0}
.tile .value.text{font-size:16px;line-height:34px}
.tile .detail{color:#666;font-size:12px;overflow-wrap:anywhere}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:12px;margin-bottom:16px}
figure{background:#fff;margin:0;padding:10px;border-radius:6px;box-shadow:0 1px 2px #0002}
figcaption{font-weight:600;margin-bottom:6px}figure svg{width:100%;height:auto}
p.unavailable{color:#c62828}p.empty{color:#777}
section.hosts{background:#fff;border-radius:6px;padding:10px;box-shadow:0 1px 2px #0002}
.toolbar{display:flex;gap:10px;align-items:center;flex-wrap:wrap;margin-bottom:8px}
.toolbar input{padding:5px 8px;min-width:280px}table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;background:#eceff1;cursor:pointer;user-select:none;padding:6px;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td{padding:4px 6px;border-top:1px solid #eceff1}tr:hover td{background:#f7f9fa}
td[data-v=down],td[data-v=yes],td[data-v=offline],td[data-v^=Failed]{color:#c62828;font-weight:600}
td[data-v=up],td[data-v=online],td[data-v=Deployed]{color:#2e7d32}
"""

_SCRIPT = """
(function () {
  var table = JSON.parse(document.getElementById('host-data').textContent);
  var rows = table.rows, view = rows, page = 0, size = PAGE_SIZE, sortCol = 0, sortDir = 1;
  var body = document.querySelector('#hosts tbody'), info = document.getElementById('page-info');
  var filter = document.getElementById('filter'), heads = document.querySelectorAll('#hosts th');
  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: 'base'});
  function matches(row, terms) {
    return terms.every(function (term) {
      var at = term.indexOf(':'), column = at > 0 ? table.columns.indexOf(term.slice(0, at)) : -1;
      if (column >= 0) { return String(row[column]).toLowerCase().indexOf(term.slice(at + 1)) >= 0; }
      return row.join('\\u0001').toLowerCase().indexOf(term) >= 0;
    });
  }
  function apply() {
    var terms = filter.value.toLowerCase().split(/\\s+/).filter(Boolean);
    view = terms.length ? rows.filter(function (row) { return matches(row, terms); }) : rows.slice();
    view.sort(function (a, b) { return sortDir * collator.compare(String(a[sortCol]), String(b[sortCol])); });
    heads.forEach(function (th, i) {
      if (i === sortCol) { th.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending'); }
      else { th.removeAttribute('aria-sort'); }
    });
    page = 0; draw();
  }
  function draw() {
    var pages = Math.max(1, Math.ceil(view.length / size)), start, fragment = document.createDocumentFragment();
    page = Math.min(Math.max(page, 0), pages - 1); start = page * size;
    view.slice(start, start + size).forEach(function (row) {
      var tr = document.createElement('tr');
      row.forEach(function (value) {
        var td = document.createElement('td'); td.textContent = value; td.setAttribute('data-v', value);
        tr.appendChild(td);
      });
      fragment.appendChild(tr);
    });
    body.replaceChildren(fragment);
    info.textContent = view.length ? (start + 1) + '-' + Math.min(start + size, view.length) + ' of ' +
      view.length + ' hosts' + (view.length < rows.length ? ' (filtered from ' + rows.length + ')' : '') +
      ', page ' + (page + 1) + ' of ' + pages : 'no host matches';
    document.getElementById('prev').disabled = page === 0;
    document.getElementById('next').disabled = page >= pages - 1;
  }
  heads.forEach(function (th) {
    function sort() {
      var column = Number(th.getAttribute('data-col'));
      sortDir = column === sortCol ? -sortDir : 1; sortCol = column; apply();
    }
    th.addEventListener('click', sort);
    th.addEventListener('keydown', function (event) { if (event.key === 'Enter') { sort(); } });
  });
  // A link can carry the view: report/#filter=status:ready&sort=agent&desc
  var wanted = new URLSearchParams(location.hash.slice(1));
  filter.value = wanted.get('filter') || '';
  if (table.columns.indexOf(wanted.get('sort')) >= 0) { sortCol = table.columns.indexOf(wanted.get('sort')); }
  if (wanted.has('desc')) { sortDir = -1; }
  filter.addEventListener('input', apply);
  document.getElementById('prev').addEventListener('click', function () { page -= 1; draw(); });
  document.getElementById('next').addEventListener('click', function () { page += 1; draw(); });
  document.getElementById('page-size').addEventListener('change', function (event) {
    size = Number(event.target.value); page = 0; draw();
  });
  apply();
}());
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style>{css}</style></head>
<body><header><h1>{title}</h1><p>Generated {generated} by gough.gough.html_report from MAAS, Fleet and Prometheus.
</p></header>
<main>{notices}
<section class="tiles" aria-label="Summary">{tiles}</section>
<section class="charts" aria-label="Charts">{figures}</section>
<section class="hosts" aria-label="Hosts"><div class="toolbar">
<input id="filter" type="search" placeholder="Filter, e.g. deployed  or  status:ready agent:down" aria-label="Filter">
<label>Rows <select id="page-size"><option>25</option><option selected>{page_size}</option><option>100</option>
<option>500</option></select></label>
<button id="prev" type="button">Previous</button><button id="next" type="button">Next</button>
<span id="page-info">{count} hosts</span></div>
<table id="hosts"><thead><tr>{headers}</tr></thead><tbody></tbody></table></section></main>
<script type="application/json" id="host-data">{rows}</script>
<script>{script}</script>
</body></html>
"""
_SCRIPT = _SCRIPT.replace("PAGE_SIZE", str(PAGE_SIZE))

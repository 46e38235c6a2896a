# Copyright: Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""gough-fleet-exporter: Fleet's host status and policy results as Prometheus metrics.

Fleet's own /metrics has no per-host status and no policy results, so Gough's alert rules read them from here.
Standard library only (Python 3.10+). A background thread lists Fleet's hosts through its REST API
(``GET /api/v1/fleet/hosts?populate_policies=true``, paged) every ``--interval`` seconds with the API token, TLS
verified against ``--ca-file``; every scrape of ``/metrics`` serves the latest result, so a scrape never waits
for Fleet and Fleet sees a few list calls per interval however often Prometheus scrapes.

Metrics (see docs/alerts.md):

* ``gough_fleet_up``: 1 when the last refresh read every page, else 0;
* ``gough_fleet_last_success_timestamp_seconds``, ``gough_fleet_refresh_duration_seconds``,
  ``gough_fleet_refresh_errors_total``;
* ``gough_fleet_hosts{status}``: hosts per Fleet status (online, offline, mia, ...);
* ``gough_fleet_host_online{host_id,hostname,team}``: 1 when Fleet reports the host online, else 0;
* ``gough_fleet_host_policy_failing{host_id,hostname,team,policy_id,policy,critical}``: 1 for each policy a host
  fails (a passing or not yet answered policy has no series, which bounds the series to the failures);
* ``gough_fleet_policy_failing_hosts`` and ``gough_fleet_policy_passing_hosts{policy_id,policy,critical,team}``.

After a failed refresh the last good host data is served for ``--stale-seconds``, then dropped (``gough_fleet_up``
stays 0), so a short Fleet outage does not resolve and re-fire every host alert.

Usage: python3 gough_fleet_exporter.py --fleet-url https://fleet:8080 --ca-file ca.crt --token-file TOKEN
"""

import argparse
import json
import logging
import math
import signal
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "0.1.0"
LOG = logging.getLogger("gough-fleet-exporter")
HOSTS_PATH = "/api/v1/fleet/hosts"


class RefreshError(Exception):
    """Fleet could not be read; the message says why (never the token)."""


def listen_address(text):
    """argparse type: ``HOST:PORT`` -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % text)
    return host.strip("[]") or "0.0.0.0", int(port)


def positive(kind):
    """argparse type: a positive number of ``kind`` (int or float)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError("expected a positive number, got %r" % text) from None
        if value <= 0 or (isinstance(value, float) and not math.isfinite(value)):
            raise argparse.ArgumentTypeError("expected a positive number, got %r" % text)
        return value
    return parse


def fleet_url(text):
    """argparse type: an https URL with a host (the token must not travel in clear)."""
    parts = urllib.parse.urlsplit(text)
    if parts.scheme != "https" or not parts.hostname:
        raise argparse.ArgumentTypeError("--fleet-url must be an https:// URL with a host, got %r" % text)
    return text.rstrip("/")


class FleetReader:
    """Lists Fleet's hosts with their policy results, page by page, with bounded timeouts."""

    def __init__(self, url, token_file, ca_file=None, timeout=10.0, per_page=500, max_pages=200):
        """``ca_file`` verifies Fleet's certificate (None: the system store); the URL's host must be in it."""
        self.url = url
        self.token_file = token_file
        self.timeout = timeout
        self.per_page = per_page
        self.max_pages = max_pages
        self.context = ssl.create_default_context(cafile=ca_file)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2

    def _token(self):
        # Read on every refresh: the stack writes the token after Fleet's bootstrap, and may rotate it.
        try:
            with open(self.token_file, encoding="utf-8") as handle:
                token = handle.read().strip()
        except OSError as exc:
            raise RefreshError("cannot read the token file %s: %s" % (self.token_file, exc.strerror or exc)) from exc
        if not token:
            raise RefreshError("the token file %s is empty" % self.token_file)
        return token

    def _get(self, path, params, token):
        url = "%s%s?%s" % (self.url, path, urllib.parse.urlencode(params))
        request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token,
                                                       "Accept": "application/json",
                                                       "User-Agent": "gough-fleet-exporter/" + VERSION})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace").strip()
            raise RefreshError("GET %s: HTTP %d %s" % (path, exc.code, detail)) from exc
        except (OSError, ValueError) as exc:
            raise RefreshError("GET %s: %s" % (path, getattr(exc, "reason", None) or exc)) from exc

    def hosts(self):
        """Every host (dicts as Fleet returns them, with ``policies``); raises RefreshError."""
        token = self._token()
        found = []
        for page in range(self.max_pages):
            doc = self._get(HOSTS_PATH, {"populate_policies": "true", "per_page": self.per_page, "page": page,
                                         "order_key": "id"}, token)
            batch = doc.get("hosts") if isinstance(doc, dict) else None
            if not isinstance(batch, list):
                raise RefreshError("GET %s: the answer has no hosts list" % HOSTS_PATH)
            found.extend(batch)
            meta = doc.get("meta") or {}
            more = meta.get("has_next_results") if "has_next_results" in meta else len(batch) == self.per_page
            if not more or not batch:
                return found
        raise RefreshError("more than %d pages of %d hosts: raise --max-pages" % (self.max_pages, self.per_page))


def escape_label(value):
    """A label value escaped for the text format."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(lines, name, kind, help_text, samples):
    lines.append("# HELP %s %s\n# TYPE %s %s\n" % (name, help_text, name, kind))
    for labels, value in samples:
        if labels:
            text = ",".join('%s="%s"' % (key, escape_label(val)) for key, val in labels.items())
            lines.append("%s{%s} %s\n" % (name, text, _number(value)))
        else:
            lines.append("%s %s\n" % (name, _number(value)))


def _number(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def host_families(hosts):
    """The host and policy families (name, type, help, samples) for a list of Fleet hosts."""
    statuses = {}
    online = []
    failing = []
    per_policy = {}
    for host in hosts:
        status = str(host.get("status") or "unknown")
        statuses[status] = statuses.get(status, 0) + 1
        base = {"host_id": str(host.get("id", "")), "hostname": str(host.get("hostname") or ""),
                "team": str(host.get("team_name") or "")}
        online.append((base, 1 if status == "online" else 0))
        for policy in host.get("policies") or []:
            response = policy.get("response")
            if response not in ("pass", "fail"):
                continue  # not answered yet: neither passing nor failing
            labels = {"policy_id": str(policy.get("id", "")), "policy": str(policy.get("name") or ""),
                      "critical": "true" if policy.get("critical") else "false"}
            # A global policy counts over every host; a team policy over its team's hosts.
            team = base["team"] if policy.get("team_id") is not None else ""
            key = tuple(sorted(dict(labels, team=team).items()))
            counts = per_policy.setdefault(key, [0, 0])
            counts[0 if response == "fail" else 1] += 1
            if response == "fail":
                failing.append((dict(base, **labels), 1))
    policy_failing = [(dict(key), counts[0]) for key, counts in sorted(per_policy.items())]
    policy_passing = [(dict(key), counts[1]) for key, counts in sorted(per_policy.items())]
    return [
        ("gough_fleet_hosts", "gauge", "Hosts Fleet knows, by status.",
         [({"status": name}, count) for name, count in sorted(statuses.items())]),
        ("gough_fleet_host_online", "gauge", "1 when Fleet reports the host online, else 0.", online),
        ("gough_fleet_host_policy_failing", "gauge",
         "1 for each policy the host fails (passing or unanswered policies have no series).", failing),
        ("gough_fleet_policy_failing_hosts", "gauge", "Hosts failing the policy.", policy_failing),
        ("gough_fleet_policy_passing_hosts", "gauge", "Hosts passing the policy.", policy_passing),
    ]


class Exporter:
    """The refresh loop and the latest snapshot of Fleet."""

    def __init__(self, reader, interval=30.0, stale_seconds=600.0, clock=time.time):
        """Refresh from ``reader`` every ``interval`` seconds; keep host data ``stale_seconds`` after a failure."""
        self.reader = reader
        self.interval = interval
        self.stale_seconds = stale_seconds
        self.clock = clock
        self.lock = threading.Lock()
        self.hosts = None
        self.up = 0
        self.last_success = None
        self.duration = 0.0
        self.errors = 0
        self.last_error = None
        self.stopping = threading.Event()

    def refresh(self):
        """Read Fleet once; returns True on success."""
        started = time.monotonic()
        try:
            hosts = self.reader.hosts()
        except RefreshError as exc:
            with self.lock:
                self.up = 0
                self.errors += 1
                self.duration = time.monotonic() - started
                if str(exc) != self.last_error:  # once per distinct error, not once per interval
                    LOG.warning("refresh failed: %s", exc)
                self.last_error = str(exc)
            return False
        with self.lock:
            self.hosts = hosts
            self.up = 1
            self.last_success = self.clock()
            self.duration = time.monotonic() - started
            if self.last_error is not None:
                LOG.info("refresh works again: %d hosts", len(hosts))
            self.last_error = None
        return True

    def run(self):
        """Refresh until stop()."""
        while not self.stopping.is_set():
            self.refresh()
            self.stopping.wait(self.interval)

    def stop(self):
        """End the refresh loop."""
        self.stopping.set()

    def render(self):
        """The metrics in Prometheus text format 0.0.4."""
        with self.lock:
            hosts = self.hosts
            if hosts is not None and self.up == 0 and self.last_success is not None and \
                    self.clock() - self.last_success > self.stale_seconds:
                hosts = None  # too old to alert on
            lines = []
            _family(lines, "gough_fleet_exporter_build_info", "gauge", "Version of gough-fleet-exporter; always 1.",
                    [({"version": VERSION}, 1)])
            _family(lines, "gough_fleet_up", "gauge", "1 when the last refresh read every page of Fleet's hosts.",
                    [(None, self.up)])
            if self.last_success is not None:
                _family(lines, "gough_fleet_last_success_timestamp_seconds", "gauge",
                        "Unix time of the last successful refresh.", [(None, self.last_success)])
            _family(lines, "gough_fleet_refresh_duration_seconds", "gauge", "Seconds the last refresh took.",
                    [(None, self.duration)])
            _family(lines, "gough_fleet_refresh_errors_total", "counter", "Refreshes that failed.",
                    [(None, self.errors)])
        if hosts is not None:
            for name, kind, help_text, samples in host_families(hosts):
                if samples:
                    _family(lines, name, kind, help_text, samples)
        return "".join(lines)


class Handler(BaseHTTPRequestHandler):
    """GET /metrics and /healthz."""

    protocol_version = "HTTP/1.1"
    server_version = "gough-fleet-exporter/" + VERSION
    sys_version = ""

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        LOG.debug("%s %s", self.address_string(), format % args)

    def _send(self, status, body, content_type):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):  # pylint: disable=invalid-name
        """Serve the latest snapshot; never waits for Fleet."""
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, self.server.exporter.render(), "text/plain; version=0.0.4; charset=utf-8")
        elif path == "/healthz":
            self._send(200, "ok\n", "text/plain; charset=utf-8")
        else:
            self._send(404, "not found: /metrics and /healthz only\n", "text/plain; charset=utf-8")

    do_HEAD = do_GET


def build_parser():
    """The command line."""
    parser = argparse.ArgumentParser(prog="gough-fleet-exporter", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--listen", type=listen_address, default=("0.0.0.0", 9556), help="HOST:PORT (default :9556)")
    parser.add_argument("--fleet-url", type=fleet_url, required=True, help="Fleet's base URL (https)")
    parser.add_argument("--token-file", required=True, help="file with an API token (re-read on every refresh)")
    parser.add_argument("--ca-file", help="CA certificate(s) that verify Fleet (default: the system store)")
    parser.add_argument("--interval", type=positive(float), default=30.0, help="seconds between refreshes")
    parser.add_argument("--timeout", type=positive(float), default=10.0, help="seconds per Fleet request")
    parser.add_argument("--per-page", type=positive(int), default=500, help="hosts per list call")
    parser.add_argument("--max-pages", type=positive(int), default=200, help="list calls per refresh at most")
    parser.add_argument("--stale-seconds", type=positive(float), default=600.0,
                        help="serve host data this long after refreshes start failing")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return parser


def main(argv=None):
    """Serve until SIGTERM or SIGINT."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        reader = FleetReader(args.fleet_url, args.token_file, ca_file=args.ca_file,
                             timeout=args.timeout, per_page=args.per_page, max_pages=args.max_pages)
    except (OSError, ssl.SSLError) as exc:
        print("gough-fleet-exporter: --ca-file: cannot load %s: %s" % (args.ca_file, exc), file=sys.stderr)
        return 78
    exporter = Exporter(reader, interval=args.interval, stale_seconds=args.stale_seconds)
    server = ThreadingHTTPServer(args.listen, Handler)
    server.daemon_threads = True
    server.exporter = exporter
    threading.Thread(target=exporter.run, name="refresh", daemon=True).start()

    def shutdown(_signum, _frame):
        exporter.stop()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    LOG.info("gough-fleet-exporter %s listening on %s:%d, reading %s every %gs", VERSION,
             server.server_address[0], server.server_address[1], args.fleet_url, args.interval)
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

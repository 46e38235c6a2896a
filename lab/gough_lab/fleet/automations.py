"""Fleet's failing policies webhook automation, run on Fleet's schedule from a background thread.

Mirrors server/webhooks/failing_policies.go and the automations cron: every ``webhook_settings.interval`` (Fleet's
default 24h; the lab knob ``webhook_interval_seconds`` shortens it) each configured policy's failing set (hosts that
newly failed it since their last report) is POSTed to the webhook's destination URL as
``{"timestamp", "policy", "hosts": [{"id", "hostname", "display_name", "url"}]}``, ``host_batch_size`` hosts per
request (0: all in one), hosts in id order. A delivered batch leaves the set; a failed one stays for the next run.
Requests have a bounded timeout; failures are logged and never stop the emulator.
"""

import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from collections import deque

LOG = logging.getLogger("gough_lab.fleet.webhooks")
UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def go_duration_seconds(text):
    """Seconds of a Go duration string such as ``24h0m0s`` or ``90s``."""
    return sum(float(value) * UNITS[unit] for value, unit in re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)", text))


def rfc3339_nano(epoch):
    """A Go time.Time as JSON: RFC 3339 with nanoseconds, UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + ".%09dZ" % int((epoch % 1) * 1e9)


class FailingPoliciesWebhook:
    """The automation: ``run_once`` sends what is due; ``start``/``stop`` run it on the schedule."""

    def __init__(self, fleet, config, server_url):
        """``server_url`` (a callable) is Fleet's server URL, for each host's link in the payload."""
        self.fleet = fleet
        self.config = config
        self.server_url = server_url
        self.deliveries = deque(maxlen=200)
        self._stop = threading.Event()
        self._thread = None

    def interval(self):
        """Seconds between runs: the lab knob when set, else the app config's webhook_settings.interval."""
        override = float(self.config.get("webhook_interval_seconds") or 0)
        if override > 0:
            return override
        return go_duration_seconds(self.fleet.webhook_settings()["interval"]) or 86400.0

    def payload(self, policy, hosts, now):
        """Fleet's failing policies payload for one batch."""
        base = self.server_url().rstrip("/")
        return {"timestamp": rfc3339_nano(now), "policy": policy,
                "hosts": [{"id": h["id"], "hostname": h["hostname"], "display_name": h["display_name"],
                           "url": "%s/hosts/%d" % (base, h["id"])} for h in hosts]}

    def run_once(self):
        """Send every due batch; returns how many were delivered."""
        delivered = 0
        failed_policies = set()
        for url, policy, policy_id, hosts in self.fleet.failing_policy_batches():
            if policy_id in failed_policies:
                continue  # Fleet stops a policy's batches at its first failed POST
            body = json.dumps(self.payload(policy, hosts, time.time())).encode()
            request = urllib.request.Request(url, data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            record = {"time": time.time(), "url": url, "policy_id": policy_id, "host_ids": [h["id"] for h in hosts]}
            try:
                with urllib.request.urlopen(request, timeout=float(self.config.get("webhook_timeout_seconds"))) as resp:
                    resp.read()
                    record["status"] = resp.status
                if not 200 <= record["status"] < 300:
                    raise urllib.error.HTTPError(url, record["status"], "unexpected status", None, None)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                record["error"] = str(exc)
                failed_policies.add(policy_id)
                LOG.warning("failing policies webhook for policy %d to %s failed: %s", policy_id, url, exc)
            else:
                self.fleet.failing_policy_sent(policy_id, hosts)
                delivered += 1
            self.deliveries.append(record)
        return delivered

    def start(self):
        """Run on the schedule from a daemon thread, the first run one interval after the start."""
        def loop():
            next_run = time.monotonic() + self.interval()
            while not self._stop.wait(0.2):
                if time.monotonic() >= next_run:
                    try:
                        self.run_once()
                    except Exception:  # pylint: disable=broad-except
                        LOG.exception("failing policies automation failed")
                    next_run = time.monotonic() + self.interval()
                else:
                    # A shorter interval configured meanwhile takes effect without waiting out the old one.
                    next_run = min(next_run, time.monotonic() + self.interval())
        self._thread = threading.Thread(target=loop, name="fleet-failing-policies", daemon=True)
        self._thread.start()

    def stop(self):
        """Stop the schedule (a POST under way finishes within its timeout)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(float(self.config.get("webhook_timeout_seconds")) + 1)
            self._thread = None

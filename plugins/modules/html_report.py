#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: html_report
short_description: Render the fleet report, one self-contained HTML page, from MAAS, Fleet and Prometheus results
version_added: 0.1.0
description:
  - Joins the machines of MAAS, the hosts of Fleet and the agents Prometheus scrapes into one row per host, and
    writes one HTML file with tiles (machines by status, deployed in the last 24 h, hosts failing critical policies,
    agents down, quarantined hosts, certificates expiring soon, the last backup), four SVG charts and a host table
    that pages, sorts and filters in the browser.
  - The page fetches nothing; the charts are drawn on the controller with the Python library C(pygal), a
    controller requirement (C(pip install pygal); the collection's C(requirements.txt) pins the tested version).
  - Each source is the registered result of the task that read it. A source whose task failed (an unreachable
    Prometheus or Fleet) does not fail this task; its sections say V(unavailable) with the task's error, with the
    values of O(redact) blanked out.
  - Runs on the controller through its action plugin, and writes O(dest) on the controller. A report is a snapshot
    (it shows when it was made), so a run that writes one reports a change; check mode writes nothing.
  - C(playbooks/report.yml) gathers the sources and serves the page at C(/report/) of the stack's nginx;
    C(docs/report.md) in the collection describes the page.
author:
  - Gough developers (@gough)
requirements:
  - pygal (Python, on the controller)
attributes:
  check_mode:
    support: full
    description: Reads and renders as a normal run does, and writes no file.
  diff_mode:
    support: none
    description: A report is a new snapshot each time; there is no diff to show.
options:
  dest:
    description: Path of the HTML file on the controller. Its directory must exist.
    type: path
    required: true
  title:
    description: Title of the page.
    type: str
    default: Gough fleet report
  maas:
    description: The registered result of M(gough.gough.maas_machine_info) (every machine; its RV(gough.gough.maas_machine_info#module:machines)).
    type: dict
    default: {}
  fleet:
    description: The registered result of M(gough.gough.fleet_host_info) with O(gough.gough.fleet_host_info#module:policies=true).
    type: dict
    default: {}
  agents:
    description: The registered result of C(ansible.builtin.uri) on Prometheus's C(/api/v1/query) for C(up{job="gough-agent"}).
    type: dict
    default: {}
  agents_up_range:
    description: The registered result of C(ansible.builtin.uri) on Prometheus's C(/api/v1/query_range) for the agents up over the last 24 h.
    type: dict
    default: {}
  agents_scraped_range:
    description: As O(agents_up_range), for the number of agents scraped (the chart's second line; optional).
    type: dict
    default: {}
  certificates:
    description: The registered result of C(ansible.builtin.uri) on Prometheus's C(/api/v1/query) for C(gough_tls_cert_not_after_seconds).
    type: dict
    default: {}
  deploys:
    description:
      - M(gough.gough.maas_deploy)'s per-machine results as recorded by the provision role (O(gough.gough.provision#role:main:provision_deploy_log)),
        each with V(hostname), V(action), V(seconds), V(failed) and V(time) (Unix seconds).
    type: list
    elements: dict
    default: []
  backups:
    description: Names of the stack's backup directories (C(gough-YYYYmmddTHHMMSSZ)); others are ignored.
    type: list
    elements: str
    default: []
  certificate_days:
    description: Certificates expiring within this many days count on their tile.
    type: int
    default: 21
  quarantine_tag:
    description: The MAAS tag of quarantined machines (the compliance gate's).
    type: str
    default: gough-quarantine
  redact:
    description: Values (API keys, tokens) blanked out of every error the page shows.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Render the fleet report
  gough.gough.html_report:
    dest: /var/tmp/gough-report.html
    maas: "{{ report_maas }}"
    fleet: "{{ report_fleet }}"
    agents: "{{ report_agents }}"
    agents_up_range: "{{ report_agents_range }}"
    certificates: "{{ report_certificates }}"
    redact: ["{{ gough_fleet_api_token }}", "{{ gough_maas_api_key }}"]
  register: report
"""

RETURN = r"""
dest:
  description: Path of the report on the controller.
  returned: always
  type: str
  sample: /var/tmp/gough-report.html
size:
  description: Size of the report in bytes.
  returned: success
  type: int
  sample: 84211
seconds:
  description: Seconds spent joining and rendering.
  returned: success
  type: float
  sample: 0.41
hosts:
  description: Rows in the host table.
  returned: success
  type: int
  sample: 3
summary:
  description: The tiles' numbers; a number whose source is unavailable is null.
  returned: success
  type: dict
  contains:
    machines:
      description: Machines in MAAS.
      returned: success
      type: int
      sample: 3
    machines_by_status:
      description: Machines per MAAS status.
      returned: success
      type: dict
      sample: {Deployed: 2, Ready: 1}
    deployed_last_24h:
      description: Machines with a successful deploy recorded in the last 24 hours.
      returned: success
      type: int
      sample: 2
    failing_critical_policies:
      description: Fleet hosts failing at least one critical policy.
      returned: success
      type: int
      sample: 1
    agents_down:
      description: Gough agents Prometheus scrapes that are down.
      returned: success
      type: int
      sample: 0
    agents_up:
      description: Gough agents Prometheus scrapes that are up.
      returned: success
      type: int
      sample: 2
    quarantined:
      description: Machines with the quarantine tag.
      returned: success
      type: int
      sample: 1
    certificates_expiring:
      description: Certificates expiring within RV(summary.certificate_days) days.
      returned: success
      type: int
      sample: 0
    certificate_days:
      description: The window of RV(summary.certificates_expiring) (O(certificate_days)).
      returned: success
      type: int
      sample: 21
    earliest_certificate:
      description: The certificate that expires first, null when none is known.
      returned: success
      type: dict
      sample: {not_after: 1798000000.0, cert: agent, instance: node-01}
    last_backup:
      description: Unix time of the last backup, null when there is none.
      returned: success
      type: int
      sample: 1796472000
    backups:
      description: Backups found.
      returned: success
      type: int
      sample: 3
    unavailable:
      description: The error of each unavailable source (V(maas), V(fleet), V(agents), V(certificates)).
      returned: success
      type: dict
      sample: {fleet: "Request failed: [Errno 111] Connection refused"}
"""

from ansible.module_utils.basic import AnsibleModule


def argument_spec():
    """The options; the action plugin validates against the same spec."""
    return dict(
        dest=dict(type="path", required=True),
        title=dict(type="str", default="Gough fleet report"),
        maas=dict(type="dict", default={}),
        fleet=dict(type="dict", default={}),
        agents=dict(type="dict", default={}),
        agents_up_range=dict(type="dict", default={}),
        agents_scraped_range=dict(type="dict", default={}),
        certificates=dict(type="dict", default={}),
        deploys=dict(type="list", elements="dict", default=[]),
        backups=dict(type="list", elements="str", default=[]),
        certificate_days=dict(type="int", default=21),
        quarantine_tag=dict(type="str", default="gough-quarantine"),
        redact=dict(type="list", elements="str", default=[], no_log=True),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    # The charts are drawn with the controller's pygal; only the action plugin runs there.
    module.fail_json(msg="gough.gough.html_report runs on the controller through its action plugin; it cannot run "
                         "as a module on its own.")


if __name__ == "__main__":
    main()

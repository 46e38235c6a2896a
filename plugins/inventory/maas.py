# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: maas
short_description: MAAS machines as an Ansible inventory
version_added: 0.1.0
author:
  - Gough developers (@gough)
description:
  - Reads the machines of a MAAS region with one C(GET machines/) request per run, filtered on the server, and turns
    them into hosts with C(maas_) host variables and groups by tag, zone, resource pool and status.
  - Everything else (more groups, variables, conditions) is left to O(compose), O(groups) and O(keyed_groups).
  - Every string that comes from MAAS is marked unsafe, so a hostname, tag or annotation that contains Jinja2 syntax
    is never templated.
  - The configuration file must end in C(maas.yml) or C(maas.yaml) and set O(plugin) to V(gough.gough.maas).
extends_documentation_fragment:
  - gough.gough.maas.INVENTORY
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: Marks the file as a configuration of this plugin.
    type: str
    required: true
    choices: [gough.gough.maas]
  status:
    description:
      - Only machines in one of these states, as MAAS names them in lower case with underscores (V(deployed),
        V(ready), V(allocated), V(failed_deployment), ...) or as shown in the UI (V(Failed deployment)).
      - An empty list lists machines in every state.
    type: list
    elements: str
    default: [deployed]
  tags:
    description: Only machines that carry all of these tags.
    type: list
    elements: str
    default: []
  not_tags:
    description: Leave out machines that carry any of these tags.
    type: list
    elements: str
    default: []
  zones:
    description: Only machines in one of these availability zones.
    type: list
    elements: str
    default: []
  pools:
    description: Only machines in one of these resource pools.
    type: list
    elements: str
    default: []
  hostnames:
    description: Only machines with one of these short host names.
    type: list
    elements: str
    default: []
  hostname_source:
    description:
      - Which MAAS field names the inventory host.
      - V(system_id) never changes over a machine's life in MAAS; V(hostname) and V(fqdn) are friendlier.
    type: str
    choices: [hostname, fqdn, system_id]
    default: hostname
  preferred_cidrs:
    description:
      - Networks, in order of preference, to pick C(ansible_host) from, for example V(10.0.0.0/8).
      - C(ansible_host) is the first address of the machine in the first of these networks that has one; without
        a match it is the machine's first IPv4 address, and without any IPv4 address its FQDN.
    type: list
    elements: str
    default: []
  group_by:
    description:
      - Which groups to create from MAAS data, named C(<group_prefix>tag_<tag>), C(<group_prefix>zone_<zone>),
        C(<group_prefix>pool_<pool>) and C(<group_prefix>status_<status>), for example C(maas_tag_web) or
        C(maas_status_deployed).
      - Set to V([]) to create none and build groups only with O(groups) and O(keyed_groups).
    type: list
    elements: str
    choices: [tags, zones, pools, status]
    default: [tags, zones, pools, status]
  group_prefix:
    description: Prefix of the names of the O(group_by) groups.
    type: str
    default: maas_
  quarantine_tag:
    description:
      - Machines carrying this MAAS tag go into the group C(gough_quarantine) as well, whatever O(group_by) says.
      - Gough's compliance gate (role C(gough.gough.compliance)) puts this tag on servers that fail a critical Fleet
        policy and takes it off when they pass again; Gough's playbooks leave the group out by default.
      - V("") creates no such group.
    type: str
    default: gough-quarantine
  hostvars_detail:
    description:
      - Detail groups of host variables to set on every host besides the default ones, C(maas_system_id),
        C(maas_hostname), C(maas_fqdn), C(maas_domain), C(maas_status), C(maas_zone), C(maas_pool), C(maas_tags),
        C(maas_osystem), C(maas_distro_series), C(maas_ip_addresses) and C(ansible_host).
      - V(status) adds C(maas_status_code), C(maas_status_message), C(maas_error_description) and C(maas_locked).
      - V(ownership) adds C(maas_owner) and C(maas_description).
      - V(annotations) adds C(maas_workload_annotations).
      - V(hardware) adds C(maas_architecture), C(maas_cpu_count), C(maas_memory), C(maas_storage),
        C(maas_power_type), C(maas_power_state), and C(maas_hardware_vendor) and C(maas_hardware_product) when
        MAAS reports them.
      - V(interfaces) adds C(maas_mac_addresses) and C(maas_interfaces).
      - V(all) adds every group.
      - Whatever this selects, O(compose), O(groups) and O(keyed_groups) see every C(maas_) variable, so an
        expression such as C(maas_memory >= 262144) works without V(hardware); only the hosts leave the rest out.
      - Every variable costs time in each C(ansible-inventory --list) and AWX sync of a large region, which is why
        the default keeps what playbooks need to pick and reach machines.
    type: list
    elements: str
    choices: [status, ownership, annotations, hardware, interfaces, all]
    default: []
  cache_fallback:
    description:
      - When MAAS cannot be reached (no connection, timeout, or HTTP 5xx), serve the inventory last stored in the
        cache with a warning instead of failing.
      - The cache is written after every successful read while this is enabled, even with O(cache=false), so
        configure O(cache_plugin) and O(cache_connection) to a persistent cache such as V(jsonfile). Entries still
        expire after O(cache_timeout).
      - Off by default, because a playbook run against a stale inventory can act on machines that have since been
        released or redeployed; turn it on where availability of the inventory matters more, such as AWX syncs.
    type: bool
    default: false
notes:
  - The plugin asks MAAS for the machine list once per run, with every filter in the query string, and caches each
    host's finished variables (not the raw list), keyed by the URL, the filters, the variables chosen and
    O(preferred_cidrs).
  - Host variables are the collection's machine fields (the names M(gough.gough.maas_machine_info) returns) with
    the C(maas_) prefix; O(hostvars_detail) lists them. By default C(maas_system_id), C(maas_hostname),
    C(maas_fqdn), C(maas_domain), C(maas_status) (the label, for example C(Deployed)), C(maas_zone), C(maas_pool),
    C(maas_tags) (list), C(maas_osystem), C(maas_distro_series), C(maas_ip_addresses) (list) and C(ansible_host).
  - C(maas_interfaces) is a list of C(name), C(mac_address), C(vlan_name), C(vlan_vid) and C(ip_addresses);
    C(maas_memory) is in MiB and C(maas_storage) in MB; C(maas_workload_annotations) is a dict.
seealso:
  - name: Gough inventory guide
    description: Configuration examples and use as an AWX inventory source.
    link: https://github.com/gough/gough/blob/main/docs/inventory.md
"""

EXAMPLES = r"""
# maas.yml: every deployed machine, grouped by tag, zone, pool and status.
# MAAS_URL and MAAS_API_KEY come from the environment.
plugin: gough.gough.maas

---
# production.maas.yml: deployed and deploying web machines outside maintenance, named by FQDN,
# reached on the management network, cached for ten minutes.
plugin: gough.gough.maas
url: https://maas.example.com:5240/MAAS
ca_path: /etc/ssl/certs/example-ca.pem
status: [deployed, deploying]
tags: [web]
not_tags: [maintenance]
zones: [dc1-a, dc1-b]
hostname_source: fqdn
preferred_cidrs: [10.10.0.0/16]
hostvars_detail: [hardware, annotations]
group_by: [tags, zones]
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/gough-maas-inventory
cache_timeout: 600
cache_fallback: true
compose:
  # MAAS knows the OS only of machines it installed; machines added with deployed=true have maas_osystem "",
  # so the OS says nothing about the login user. Machines Gough deploys get the admin user of its cloud-init
  # template (cloudinit_admin_user, ops by default); a machine added as deployed names its user in the workload
  # annotation ansible_user.
  ansible_user: "maas_workload_annotations.ansible_user | default('ops')"
groups:
  big_memory: maas_memory >= 262144
  # Added as already deployed and never installed by MAAS: check how to log in, then annotate them.
  maas_os_unknown: maas_osystem == ''
keyed_groups:
  - key: maas_distro_series
    prefix: series
  - key: maas_workload_annotations.team | default('none')
    prefix: team
"""

import gc
import hashlib
import ipaddress
import json

import ansible.template as ansible_template
from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient, MAASError
from ansible_collections.gough.gough.plugins.module_utils.maas_machine_view import FIELDS, hostvar_fields
from ansible_collections.gough.gough.plugins.module_utils.maas_machine_view import hostvars as hostvars_of

# ansible-core 2.19+ (data tagging: it has trust_as_template) templates only strings tagged as trusted, and nothing
# parsed from MAAS's JSON, or reloaded from the cache, which keeps tags, carries that tag. There every such string is
# unsafe already, and wrap_var would spend seconds per 10,000 hosts walking values it leaves as they are.
STRINGS_UNTRUSTED_BY_DEFAULT = hasattr(ansible_template, "trust_as_template")

# Where the compliance gate's quarantined machines go (the quarantine_tag option).
QUARANTINE_GROUP = "gough_quarantine"
# group_by choice: (group kind in the name, host variable holding the value or values).
GROUP_FIELDS = {"tags": ("tag", "maas_tags"), "zones": ("zone", "maas_zone"), "pools": ("pool", "maas_pool"),
                "status": ("status", "maas_status")}


def status_filter_value(name):
    """MAAS's ``status`` filter value for a name as users write it: ``Failed deployment`` -> ``failed_deployment``."""
    return "_".join(str(name).strip().lower().replace("-", " ").split())


def mark_unsafe(value):
    """``value`` with every string marked unsafe, so templating never evaluates it (see STRINGS_UNTRUSTED_BY_DEFAULT)."""
    if STRINGS_UNTRUSTED_BY_DEFAULT:
        return value
    return wrap_var(value)


def machine_hostvars(machine, fields=None):
    """The ``maas_`` host variables of one machine from ``GET machines/``: the collection's machine projection
    (``maas_machine_view``) with the ``maas_`` prefix, every field or those in ``fields``, as plain JSON-able data."""
    return hostvars_of(machine, fields)


def pick_ansible_host(hostvars, networks):
    """The first address in the first of ``networks`` that holds one, else the first IPv4 address, else the FQDN."""
    addresses = []
    for text in hostvars["maas_ip_addresses"]:
        try:
            addresses.append(ipaddress.ip_address(text))
        except ValueError:
            continue
    for network in networks:
        for address in addresses:
            if address.version == network.version and address in network:
                return str(address)
    for address in addresses:
        if address.version == 4:
            return str(address)
    return hostvars["maas_fqdn"]


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Hosts from one MAAS machine list; grouping beyond the defaults is Constructable's."""

    NAME = "gough.gough.maas"

    def verify_file(self, path):
        """Accept only ``*maas.yml`` / ``*maas.yaml`` files."""
        return super(InventoryModule, self).verify_file(path) and path.endswith(("maas.yml", "maas.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        self.load_cache_plugin()
        params = self._list_params()
        try:
            self._hostvar_fields = hostvar_fields(self.get_option("hostvars_detail"))
            self._networks = [ipaddress.ip_network(text, strict=False)
                              for text in self.get_option("preferred_cidrs") or ()]
        except ValueError as exc:
            raise AnsibleParserError("gough.gough.maas: %s" % exc)
        # compose, groups and keyed_groups see every field, whatever hostvars_detail sets on the hosts, so their
        # expressions keep working when a detail group is left out; without them only the set fields are read.
        constructing = bool(self.get_option("compose") or self.get_option("groups") or self.get_option("keyed_groups"))
        self._record_fields = tuple(FIELDS) if constructing else self._hostvar_fields
        cache_key = self._machine_cache_key(path, params)
        use_cache = bool(cache and self.get_option("cache"))
        records = None
        if use_cache:
            try:
                records = self._cache[cache_key]
            except KeyError:
                records = None
        # Parsing the list and building hosts allocate millions of long-lived objects; the collector's full passes
        # over them would cost more than the work itself and free nothing.
        collecting = gc.isenabled()
        gc.disable()
        try:
            if records is None:
                records, fresh = self._fetch_records(params, cache_key)
                # A fallback must not store the stale records again: that would restart their cache_timeout.
                if fresh and (self.get_option("cache") or self.get_option("cache_fallback")):
                    self._cache[cache_key] = records
            self._populate(records)
        finally:
            # The hosts live as long as the process: move them out of the collector's sight, so ansible-core's
            # own work afterwards (variables, output) does not re-scan them on every full collection.
            gc.freeze()
            if collecting:
                gc.enable()

    # -- fetching -----------------------------------------------------------------------------------------

    def _list_params(self):
        """The ``GET machines/`` query: every configured filter, ready for ``MAASClient.get``."""
        params = {
            "status": [status_filter_value(s) for s in self.get_option("status") or ()],
            "tags": list(self.get_option("tags") or ()),
            "not_tags": list(self.get_option("not_tags") or ()),
            "zone": list(self.get_option("zones") or ()),
            "pool": list(self.get_option("pools") or ()),
            "hostname": list(self.get_option("hostnames") or ()),
        }
        return dict((name, values) for name, values in params.items() if values)

    def _machine_cache_key(self, path, params):
        # Another URL or other filters select other machines, and other fields or preferred_cidrs make other
        # records, so they must not share an entry.
        selection = json.dumps([self.get_option("url"), sorted(params.items()), self._record_fields,
                                [str(network) for network in self._networks]], sort_keys=True)
        return "%s_%s" % (self.get_cache_key(path), hashlib.sha256(selection.encode("utf-8")).hexdigest()[:16])

    def _fetch_records(self, params, cache_key):
        """``(records, fresh)``: the machines' host variables from MAAS, or from the cache when it is unreachable."""
        try:
            client = MAASClient(self.get_option("url"), self.get_option("api_key"),
                                validate_certs=self.get_option("validate_certs"), ca_path=self.get_option("ca_path"),
                                timeout=self.get_option("timeout"), retries=self.get_option("retries"))
        except MAASError as exc:
            raise AnsibleParserError("gough.gough.maas: %s" % exc)
        try:
            with client:
                machines = client.get("machines/", params=params)
        except MAASError as exc:
            unreachable = exc.status is None or exc.status >= 500
            if unreachable and self.get_option("cache_fallback"):
                try:
                    records = self._cache[cache_key]
                except KeyError:
                    raise AnsibleParserError("gough.gough.maas: %s No cached inventory to fall back to." % exc)
                self.display.warning("gough.gough.maas: MAAS is unreachable, serving the cached inventory of %d "
                                     "machines: %s" % (len(records), exc))
                return records, False
            raise AnsibleParserError("gough.gough.maas: %s" % exc)
        if not isinstance(machines, list):
            raise AnsibleParserError("gough.gough.maas: MAAS answered GET machines/ with something other than a "
                                     "list of machines.")
        return [self._record(machine) for machine in machines], True

    def _record(self, machine):
        """One host's finished variables as the cache stores them: the ``maas_`` fields and ``ansible_host``."""
        record = machine_hostvars(machine, self._record_fields)
        record["ansible_host"] = pick_ansible_host(record, self._networks)
        return record

    # -- building the inventory -----------------------------------------------------------------------------

    def _populate(self, records):
        name_field = "maas_" + self.get_option("hostname_source")
        group_fields = [GROUP_FIELDS[key] for key in self.get_option("group_by") or ()]
        prefix = self.get_option("group_prefix") or ""
        compose = self.get_option("compose")
        groups = self.get_option("groups")
        keyed_groups = self.get_option("keyed_groups")
        strict = self.get_option("strict")
        # The host variables: the set fields and ansible_host. None when the records hold exactly those.
        keep = None
        if self._record_fields != self._hostvar_fields:
            keep = ["maas_" + field for field in self._hostvar_fields] + ["ansible_host"]
        inventory = self.inventory
        group_names = {}
        quarantine_tag = self.get_option("quarantine_tag")
        if quarantine_tag:
            # Always there (empty when nothing is quarantined), so patterns like all:!gough_quarantine never warn.
            inventory.add_group(QUARANTINE_GROUP)

        def group_for(kind, value):
            key = (kind, value)
            name = group_names.get(key)
            if name is None:
                name = self._sanitize_group_name("%s%s_%s" % (prefix, kind, value.lower() if kind == "status"
                                                              else value))
                inventory.add_group(name)
                group_names[key] = name
            return name

        for record in records:
            name = record.get(name_field)
            if not name:
                continue
            # Cached records were stored as plain data; marking here covers fresh and cached ones alike.
            hostvars = mark_unsafe(record)
            inventory.add_host(name)
            # One dict update instead of a set_variable call per name: the names are this plugin's own valid
            # identifiers, none is a dict merged into an existing one, and at 10,000 hosts the per-call checks
            # of set_variable cost more than everything else the plugin does with the list.
            if keep is None:
                inventory.get_host(name).vars.update(hostvars)
            else:
                inventory.get_host(name).vars.update((key, hostvars[key]) for key in keep if key in hostvars)
            for kind, field in group_fields:
                values = hostvars.get(field)
                if isinstance(values, list):
                    for value in values:
                        inventory.add_child(group_for(kind, value), name)
                elif values:
                    inventory.add_child(group_for(kind, values), name)
            if quarantine_tag and quarantine_tag in (hostvars.get("maas_tags") or ()):
                inventory.add_child(QUARANTINE_GROUP, name)
            if compose:
                self._set_composite_vars(compose, hostvars, name, strict=strict)
            if groups:
                self._add_host_to_composed_groups(groups, hostvars, name, strict=strict)
            if keyed_groups:
                self._add_host_to_keyed_groups(keyed_groups, hostvars, name, strict=strict)

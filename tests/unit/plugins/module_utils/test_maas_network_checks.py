# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The network checks and the IP range plan of maas_network, without a MAAS."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress

import pytest

from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput
from ansible_collections.gough.gough.plugins.module_utils.maas_network import (
    check_gateway, check_ranges, parse_cidr, plan_ranges)

NET = ipaddress.ip_network("10.20.0.0/24")


def view(rtype, start, end, comment=""):
    return {"type": rtype, "start_ip": start, "end_ip": end, "comment": comment}


def test_ranges_come_back_normalised_and_sorted_by_start():
    given = [view("dynamic", "10.20.0.100", "10.20.0.199"), view("reserved", "10.20.0.1", "10.20.0.9", "gw")]
    assert check_ranges(given, NET, "", []) == [given[1], given[0]]


def test_overlap_names_the_later_range_and_the_one_it_overlaps():
    with pytest.raises(BadInput) as caught:
        check_ranges([view("reserved", "10.20.0.50", "10.20.0.60"), view("dynamic", "10.20.0.10", "10.20.0.55")],
                     NET, "", [])
    assert caught.value.field == "ip_ranges[0]" and "overlaps ip_ranges[1]" in caught.value.message


def test_dynamic_range_over_a_dns_server_is_refused_but_a_reserved_one_is_not():
    with pytest.raises(BadInput) as caught:
        check_ranges([view("dynamic", "10.20.0.2", "10.20.0.9")], NET, "", ["10.20.0.5"])
    assert caught.value.field == "ip_ranges[0]" and "dns_servers 10.20.0.5" in caught.value.message
    assert check_ranges([view("reserved", "10.20.0.2", "10.20.0.9")], NET, "", ["10.20.0.5"])


def test_ipv6_dynamic_ranges_need_256_addresses_above_the_block_maas_keeps():
    net6 = ipaddress.ip_network("2001:db8::/64")
    with pytest.raises(BadInput) as low:
        check_ranges([view("reserved", "2001:db8::10", "2001:db8::20")], net6, "", [])
    assert low.value.field == "ip_ranges[0].start_ip"
    with pytest.raises(BadInput) as small:
        check_ranges([view("dynamic", "2001:db8::1:0:0", "2001:db8::1:0:10")], net6, "", [])
    assert "256" in small.value.message


def test_unmanaged_subnet_nests_dynamic_in_reserved_ranges_joined_end_to_end():
    ranges = [view("reserved", "10.20.0.100", "10.20.0.149"), view("reserved", "10.20.0.150", "10.20.0.199"),
              view("dynamic", "10.20.0.140", "10.20.0.160")]
    assert len(check_ranges(ranges, NET, "", [], managed=False)) == 3
    with pytest.raises(BadInput):
        check_ranges(ranges, NET, "", [], managed=True)


def test_cidr_and_gateway_checks_name_their_option():
    with pytest.raises(BadInput) as host_bits:
        parse_cidr("10.20.0.5/24")
    assert host_bits.value.field == "cidr"
    with pytest.raises(BadInput) as outside:
        check_gateway("10.21.0.1", NET)
    assert outside.value.field == "gateway_ip"
    assert check_gateway("fe80::1", ipaddress.ip_network("2001:db8::/64")) == "fe80::1"


def test_plan_keeps_equal_ranges_moves_same_type_ones_and_creates_the_rest():
    current = [(1, view("reserved", "10.20.0.1", "10.20.0.9", "old")),
               (2, view("dynamic", "10.20.0.100", "10.20.0.199")),
               (3, view("reserved", "10.20.0.200", "10.20.0.210"))]
    desired = [view("reserved", "10.20.0.1", "10.20.0.9", "routers"), view("dynamic", "10.20.0.50", "10.20.0.99"),
               view("dynamic", "10.20.0.150", "10.20.0.199")]
    delete, update, create = plan_ranges(current, desired)
    assert delete == [3]
    assert update == [(1, {"comment": "routers"}),
                      (2, {"start_ip": "10.20.0.50", "end_ip": "10.20.0.99", "comment": ""})]
    assert create == [view("dynamic", "10.20.0.150", "10.20.0.199")]
    assert plan_ranges([(2, desired[1])], [desired[1]]) == ([], [], [])

# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""maas_server_info run in-process against the lab MAAS emulator: results, the failure cases, option plumbing."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import functools
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from ansible_collections.gough.gough.plugins.doc_fragments import maas as maas_fragment
from ansible_collections.gough.gough.plugins.module_utils.maas import maas_argument_spec
from ansible_collections.gough.gough.plugins.modules import maas_server_info


@pytest.fixture
def maas(lab_maas_factory):
    """The lab MAAS emulator (a fresh region: admin user, MAAS 3.6.1)."""
    return lab_maas_factory()


def test_reports_version_capabilities_and_user(maas, run_module):
    result = run_module(maas_server_info, {"url": maas.url, "api_key": maas.api_key})
    assert result["changed"] is False and "failed" not in result
    assert result["api_url"] == maas.url + "/api/2.0/"
    assert result["server"]["version"] == "3.6.1" and result["server"]["subversion"] == ""
    assert "authenticate-api" in result["server"]["capabilities"]
    assert result["user"] == {"username": "admin", "email": "admin@example.com", "is_superuser": True,
                              "is_local": True}
    assert maas.stats()["by_op"] == {"GET users/ whoami": 1, "GET version/ read": 1}


def test_returned_keys_match_the_documented_return_tree(maas, run_module):
    result = run_module(maas_server_info, {"url": maas.url, "api_key": maas.api_key})
    documented = yaml.safe_load(maas_server_info.RETURN)
    for key, spec in documented.items():
        assert key in result
        if "contains" in spec:
            assert set(result[key]) == set(spec["contains"])


def test_url_and_key_come_from_the_environment(maas, run_module, monkeypatch):
    monkeypatch.setenv("MAAS_URL", maas.url + "/api/2.0/")
    monkeypatch.setenv("MAAS_API_KEY", maas.api_key + "\n")
    result = run_module(maas_server_info, {})
    assert result["user"]["username"] == "admin"


def test_check_mode_reads_the_same(maas, run_module):
    result = run_module(maas_server_info, {"url": maas.url, "api_key": maas.api_key, "_ansible_check_mode": True})
    assert result["server"]["version"] == "3.6.1"
    stats = maas.stats()
    assert stats["by_method"] == {"GET": 2} and stats["writes"] == 0


def test_malformed_key_fails_naming_api_key_without_showing_it(maas, run_module):
    result = run_module(maas_server_info, {"url": maas.url, "api_key": "tokenkeyonly:sekritsekrit"})
    assert result["failed"] is True
    assert result["msg"].startswith("api_key: The MAAS API key is malformed")
    assert "sekritsekrit" not in json.dumps(result) and "tokenkeyonly" not in json.dumps(result)
    assert maas.stats()["requests_total"] == 0


def test_wrong_key_fails_with_maas_message_and_no_key(maas, run_module):
    """MAAS answers an unknown OAuth token with 401 "Authorization Error: Invalid API key."."""
    result = run_module(maas_server_info, {"url": maas.url, "api_key": "wrongconsumer:wrongtokenkey:wrongsecretvalue"})
    assert result["failed"] is True and result["status"] == 401
    assert result["msg"] == ("MAAS rejected the API key (HTTP 401) at %s/api/2.0/users/?op=whoami: "
                             "Authorization Error: Invalid API key." % maas.url)
    assert "wrongsecretvalue" not in json.dumps(result)


def test_unreachable_url_fails_with_one_connection_message(closed_port, run_module):
    url = "http://127.0.0.1:%d/MAAS" % closed_port
    result = run_module(maas_server_info, {"url": url, "api_key": "ck:tk:secretvalue1", "retries": 0})
    assert result["failed"] is True and result["status"] is None
    assert result["msg"] == "Cannot connect to MAAS for GET %s/api/2.0/users/?op=whoami: connection refused." % url


def test_bad_url_fails_naming_url(run_module):
    result = run_module(maas_server_info, {"url": "maas.example:5240", "api_key": "ck:tk:secretvalue1"})
    assert result["failed"] is True and result["msg"].startswith("url: ")


@pytest.mark.parametrize("option, value", [("timeout", 0), ("retries", -1)])
def test_nonsense_timeout_or_retries_fail_naming_the_option(run_module, option, value):
    result = run_module(maas_server_info, {"url": "http://127.0.0.1:5240/MAAS", "api_key": "ck:tk:secretvalue1",
                                           option: value})
    assert result["failed"] is True and result["msg"].startswith(option + ": ")


class QuietHandler(SimpleHTTPRequestHandler):
    """Python's static file handler without the access log on stderr."""

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


@pytest.fixture
def plain_web_server(tmp_path):
    """A web server that is not MAAS: static HTML pages where the whoami and version calls go."""
    for name in ("users", "version"):
        page = tmp_path / "site" / "MAAS" / "api" / "2.0" / name
        page.mkdir(parents=True)
        (page / "index.html").write_text("<html>hello</html>")
    handler = functools.partial(QuietHandler, directory=str(tmp_path / "site"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d/MAAS" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_non_json_answer_says_the_url_is_probably_wrong(plain_web_server, run_module):
    result = run_module(maas_server_info, {"url": plain_web_server, "api_key": "ck:tk:secretvalue1"})
    assert result["failed"] is True and "is the URL the MAAS root" in result["msg"]


def test_doc_fragment_documents_exactly_the_argument_spec():
    documented = yaml.safe_load(maas_fragment.ModuleDocFragment.DOCUMENTATION)["options"]
    spec = maas_argument_spec()
    assert set(documented) == set(spec)
    for name, option in spec.items():
        assert documented[name]["type"] == option["type"]
        assert documented[name].get("default") == option.get("default")
        assert documented[name].get("required", False) == option.get("required", False)
    assert spec["api_key"]["no_log"] is True

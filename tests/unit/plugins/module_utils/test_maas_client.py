# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""MAASClient against the lab MAAS emulator through a wire tap (tests/unit/plugins/conftest.py): wire format,
errors, retries, connections."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import email.parser
import email.policy
import threading
import time

import pytest

from ansible_collections.gough.gough.plugins.module_utils.maas import (
    MAASClient,
    MAASError,
    MAASKeyError,
    encode_multipart,
    flatten_maas_errors,
    normalize_api_url,
    parse_api_key,
    status_in,
)


def client_for(fake, **kwargs):
    kwargs.setdefault("backoff_base", 0.01)
    kwargs.setdefault("backoff_cap", 0.05)
    return MAASClient(fake.url, fake.api_key, **kwargs)


def oauth_fields(header):
    assert header.startswith("OAuth ")
    fields = {}
    for item in header[len("OAuth "):].split(", "):
        name, value = item.split("=", 1)
        fields[name] = value.strip('"')
    return fields


def multipart_fields(recorded):
    """(name, value) pairs of a recorded multipart body, in order."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + recorded.headers["content-type"].encode() + b"\r\n\r\n" + recorded.body)
    assert message.is_multipart()
    # Parts carry no charset; the client sends UTF-8 (what MAAS/Django assume for form fields).
    return [(part.get_param("name", header="content-disposition"), part.get_payload(decode=True).decode("utf-8"))
            for part in message.iter_parts()]


def assert_no_secret(text, fake):
    for part in fake.secret_parts:
        assert part not in text


# -- API key and URL ----------------------------------------------------------------------------------------

def test_api_key_splits_into_consumer_token_and_secret():
    assert parse_api_key(" ck:tk:secret\n") == ("ck", "tk", "secret")


@pytest.mark.parametrize("bad", [
    "onlyonepartxyzsecret", "two:partsxyzsecret", "aaaq1:bbbq2:cccq3:dddq4", "ck::secretvalue1", "ckq1:tkq2:secq ret3",
    "", None, 12345,
])
def test_malformed_api_key_is_refused_without_echoing_any_part(bad):
    with pytest.raises(MAASKeyError) as info:
        MAASClient("http://127.0.0.1:1/MAAS", bad)
    message = str(info.value) + repr(info.value)
    assert "consumer_key:token_key:token_secret" in message
    if isinstance(bad, str):
        for part in bad.replace(" ", ":").split(":"):
            if part:
                assert part not in message


def test_malformed_key_error_is_a_maas_error():
    with pytest.raises(MAASError):
        parse_api_key("nope")


@pytest.mark.parametrize("url", [
    "http://maas.example:5240/MAAS", "http://maas.example:5240/MAAS/", "http://maas.example:5240/MAAS/api/2.0/",
    "http://maas.example:5240/MAAS/api/2.0", " http://maas.example:5240/MAAS/api/ ",
])
def test_url_spellings_normalise_to_the_api_base(url):
    assert normalize_api_url(url) == "http://maas.example:5240/MAAS/api/2.0/"


def test_https_and_ipv6_urls_keep_scheme_and_brackets():
    assert normalize_api_url("https://[::1]:5443/MAAS") == "https://[::1]:5443/MAAS/api/2.0/"


@pytest.mark.parametrize("url, words", [
    ("maas.example:5240/MAAS", "http://"), ("ftp://maas.example/MAAS", "http://"), ("", "empty"),
    ("http://maas.example/MAAS?x=1", "query"), ("http://maas.example/MAAS/api/1.0/", "1.0"),
    ("http://maas.example:notaport/MAAS", "invalid"),
])
def test_bad_urls_are_refused_with_a_reason(url, words):
    with pytest.raises(MAASError) as info:
        normalize_api_url(url)
    assert words in str(info.value)


def test_url_with_credentials_is_refused_without_echoing_them():
    with pytest.raises(MAASError) as info:
        normalize_api_url("http://admin:hunter2secret@maas.example/MAAS")
    assert "hunter2secret" not in str(info.value) and "credentials" in str(info.value)


# -- signing and encoding -----------------------------------------------------------------------------------

def test_requests_carry_a_plaintext_oauth_header_in_the_documented_order(maas_tap):
    client = client_for(maas_tap)
    client.whoami()
    header = maas_tap.requests[-1].headers["authorization"]
    assert header.startswith('OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="')
    fields = oauth_fields(header)
    consumer, token, secret = maas_tap.secret_parts
    assert fields["oauth_consumer_key"] == consumer and fields["oauth_token"] == token
    assert fields["oauth_signature"] == "&" + secret
    assert list(fields) == ["oauth_version", "oauth_signature_method", "oauth_consumer_key", "oauth_token",
                            "oauth_signature", "oauth_nonce", "oauth_timestamp"]
    assert abs(int(fields["oauth_timestamp"]) - time.time()) < 5


def test_key_values_are_url_quoted_in_the_header():
    client = MAASClient("http://127.0.0.1:1/MAAS", "c+k:t/k:s&e=cret")
    fields = oauth_fields(client.authorization_header())
    assert fields["oauth_consumer_key"] == "c%2Bk" and fields["oauth_token"] == "t%2Fk"
    assert fields["oauth_signature"] == "&s%26e%3Dcret"


def test_every_request_and_every_retry_gets_a_fresh_nonce(maas_tap):
    client = client_for(maas_tap)
    maas_tap.script(("text", 503, "busy"), ("text", 503, "busy"))
    client.version()
    client.version()
    nonces = [oauth_fields(r.headers["authorization"])["oauth_nonce"] for r in maas_tap.requests]
    assert len(nonces) == 4 and len(set(nonces)) == 4


def test_op_and_get_params_go_in_the_query_string_with_repeated_keys(maas_tap):
    client = client_for(maas_tap)
    with pytest.raises(MAASError) as info:
        client.get("machines/", params={"id": ["abc123", "def456"], "status": "ready", "skip": None, "flag": False})
    # MAAS read every parameter: it knows id and status, and refuses the made-up constraint by name.
    assert info.value.status == 400 and info.value.maas_message == "flag: No such constraint."
    recorded = maas_tap.requests[-1]
    assert recorded.path == "/MAAS/api/2.0/machines/"
    assert recorded.query == [("id", "abc123"), ("id", "def456"), ("status", "ready"), ("flag", "false")]
    client.get("events", op="query", params={"id": "abc123"})
    assert maas_tap.requests[-1].path == "/MAAS/api/2.0/events/"
    assert maas_tap.requests[-1].query == [("op", "query"), ("id", "abc123")]


def test_absolute_resource_uris_are_accepted_as_paths(maas_tap):
    client = client_for(maas_tap)
    assert client.get("/MAAS/api/2.0/zones/default/")["name"] == "default"
    assert maas_tap.requests[-1].path == "/MAAS/api/2.0/zones/default/"


def test_post_sends_multipart_with_repeated_fields_and_true_false(maas_tap):
    client = client_for(maas_tap)
    created = client.post("machines/", data={
        "mac_addresses": ["52:54:00:00:10:01", "52:54:00:00:10:02"], "commission": False, "deployed": True,
        "architecture": "amd64/generic", "power_type": "manual", "hostname": "multipart-1",
        "description": "n\u00f6de", "domain": None})
    recorded = maas_tap.requests[-1]
    assert recorded.method == "POST" and recorded.query == []
    assert recorded.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert multipart_fields(recorded) == [
        ("mac_addresses", "52:54:00:00:10:01"), ("mac_addresses", "52:54:00:00:10:02"), ("commission", "false"),
        ("deployed", "true"), ("architecture", "amd64/generic"), ("power_type", "manual"),
        ("hostname", "multipart-1"), ("description", "n\u00f6de")]
    # MAAS read every field: both MACs, the deployed flag and the UTF-8 description.
    assert created["status_name"] == "Deployed" and created["description"] == "n\u00f6de"
    assert sorted(i["mac_address"] for i in created["interface_set"]) == ["52:54:00:00:10:01", "52:54:00:00:10:02"]


def test_post_op_goes_in_the_query_string_not_the_body(maas_tap):
    client = client_for(maas_tap)
    with pytest.raises(MAASError) as info:
        client.post("machines/abc123/", op="deploy", data={"distro_series": "jammy"})
    assert info.value.status == 404  # no such machine; what went over the wire is what counts here
    recorded = maas_tap.requests[-1]
    assert recorded.query == [("op", "deploy")]
    assert multipart_fields(recorded) == [("distro_series", "jammy")]


def test_empty_post_is_an_empty_urlencoded_body_never_a_zero_part_multipart(maas_tap):
    client = client_for(maas_tap)
    client.post("tags/", data={"name": "empty-put"})
    client.post("boot-resources/", op="stop_import")
    client.put("tags/empty-put/", data={})
    for recorded in maas_tap.requests[-2:]:
        assert recorded.headers["content-type"] == "application/x-www-form-urlencoded"
        assert recorded.body == b"" and recorded.headers["content-length"] == "0"


def test_multipart_part_containing_the_boundary_gets_a_new_boundary():
    body, content_type = encode_multipart([("user_data", "--gough-fixed\r\n")], boundary="gough-fixed")
    assert "gough-fixed" != content_type.split("boundary=")[1]
    assert body.count(b"--" + content_type.split("boundary=")[1].encode()) == 2


def test_json_responses_are_parsed_and_text_kept_as_text(maas_tap):
    client = client_for(maas_tap)
    maas_tap.script(("json", 200, {"a": [1, 2]}), ("text", 200, "2.0"), ("text", 204, ""))
    assert client.get("x/") == {"a": [1, 2]}
    assert client.get("y/") == "2.0"
    assert client.delete("z/") is None


# -- errors ---------------------------------------------------------------------------------------------------

def test_form_errors_are_flattened_with_field_names():
    text = flatten_maas_errors({"distro_series": ["'x' is not a valid distro_series."],
                                "__all__": ["Commission is not available."], "mem": ["a", "b"]})
    assert text == "Commission is not available.; distro_series: 'x' is not a valid distro_series.; mem: a; mem: b"


def test_http_400_carries_status_method_url_and_the_flattened_maas_message(maas_tap):
    client = client_for(maas_tap)
    maas_tap.script(("json", 400, {"distro_series": ["'x' is not a valid distro_series.  It should be one of: "
                                                     "'jammy'."]}))
    with pytest.raises(MAASError) as info:
        client.post("machines/abc123/", op="deploy", data={"distro_series": "x"})
    error = info.value
    assert error.status == 400 and error.method == "POST"
    assert error.url == maas_tap.url + "/api/2.0/machines/abc123/?op=deploy"
    assert error.maas_message == "distro_series: 'x' is not a valid distro_series. It should be one of: 'jammy'."
    assert error.field_errors == {"distro_series": ["'x' is not a valid distro_series.  It should be one of: "
                                                    "'jammy'."]}
    assert str(error).startswith("MAAS returned HTTP 400 for POST http://127.0.0.1:")
    assert "distro_series: 'x' is not a valid" in str(error)


def test_text_errors_keep_maas_wording(maas_tap):
    client = client_for(maas_tap)
    maas_tap.script(("text", 409, "Can't deploy a machine that is in the 'Failed deployment' state"))
    with pytest.raises(MAASError) as info:
        client.post("machines/abc123/", op="deploy")
    assert info.value.status == 409
    assert info.value.maas_message == "Can't deploy a machine that is in the 'Failed deployment' state"


def test_empty_403_says_so(maas_tap):
    client = client_for(maas_tap)
    maas_tap.script(("text", 403, ""))
    with pytest.raises(MAASError) as info:
        client.post("machines/abc123/", op="release")
    assert info.value.status == 403 and "no message" in str(info.value) and "permission" in str(info.value)


def test_wrong_key_gives_one_clear_401_message_without_the_key(maas_tap):
    client = MAASClient(maas_tap.url, "wrongconsumer:wrongtokenkey:wrongsecretvalue")
    with pytest.raises(MAASError) as info:
        client.whoami()
    error = info.value
    assert str(error) == ("MAAS rejected the API key (HTTP 401) at %s/api/2.0/users/?op=whoami: "
                          "Authorization Error: Invalid API key." % maas_tap.url)
    for text in (str(error), repr(error), repr(error.args), repr(error.details())):
        assert "wrongsecretvalue" not in text and "wrongtokenkey" not in text and "wrongconsumer" not in text


def test_a_server_echoing_the_key_is_scrubbed_from_the_message(maas_tap):
    consumer, token, secret = maas_tap.secret_parts
    maas_tap.script(("text", 401, "bad token %s with signature &%s from %s" % (token, secret, consumer)))
    with pytest.raises(MAASError) as info:
        client_for(maas_tap).whoami()
    assert_no_secret(str(info.value) + repr(info.value) + repr(info.value.__dict__), maas_tap)


def test_no_exception_ever_contains_the_authorization_header(maas_tap):
    client = client_for(maas_tap, retries=1)
    maas_tap.script(("reset",), ("reset",), ("text", 500, "boom"))
    failures = []
    for call in (lambda: client.get("a/"), lambda: client.post("b/", data={"x": 1})):
        with pytest.raises(MAASError) as info:
            call()
        failures.append(info.value)
    for error in failures:
        text = str(error) + repr(error) + repr(error.__dict__)
        assert "OAuth" not in text and "oauth_" not in text
        assert_no_secret(text, maas_tap)


def test_huge_html_error_pages_are_clipped(maas_tap):
    maas_tap.script(("text", 500, "<html>" + "x" * 5000 + "</html>"))
    with pytest.raises(MAASError) as info:
        client_for(maas_tap).get("machines/")
    assert len(info.value.maas_message) < 600


def test_refused_connection_names_the_url_and_is_retried(closed_port):
    sleeps = []
    client = MAASClient("http://127.0.0.1:%d/MAAS" % closed_port, "ck:tk:secretvalue1", retries=3,
                        sleep=sleeps.append)
    with pytest.raises(MAASError) as info:
        client.whoami()
    error = info.value
    assert error.status is None and error.attempts == 4 and len(sleeps) == 3
    assert str(error) == ("Cannot connect to MAAS for GET http://127.0.0.1:%d/MAAS/api/2.0/users/?op=whoami: "
                          "connection refused (4 attempts)." % closed_port)


def test_unresolvable_host_is_a_maas_error_without_status():
    client = MAASClient("http://gough-no-such-host.invalid/MAAS", "ck:tk:secretvalue1", retries=0)
    with pytest.raises(MAASError) as info:
        client.version()
    assert info.value.status is None and "resolve" in str(info.value)
    assert "gough-no-such-host.invalid" in str(info.value)


def test_read_timeout_is_reported_and_gets_retried(maas_tap):
    client = client_for(maas_tap, timeout=0.3, retries=1)
    maas_tap.script(("slow", 1.0, ("json", 200, {})), ("slow", 1.0, ("json", 200, {})))
    with pytest.raises(MAASError) as info:
        client.get("machines/")
    assert info.value.status is None and "timed out after 0.3 seconds" in str(info.value)
    assert info.value.attempts == 2


# -- retries --------------------------------------------------------------------------------------------------

def test_get_rides_through_503_502_504_and_resets(maas_tap):
    client = client_for(maas_tap)
    maas_tap.script(("text", 503, ""), ("text", 502, ""), ("reset",), ("text", 504, ""), ("close",))
    assert client.version()["version"] == "3.6.1"
    assert len(maas_tap.requests) == 6


def test_get_gives_up_with_the_last_error_after_the_configured_retries(maas_tap):
    client = client_for(maas_tap, retries=2)
    maas_tap.script(*[("text", 503, "MAAS is starting")] * 5)
    with pytest.raises(MAASError) as info:
        client.version()
    assert info.value.status == 503 and info.value.attempts == 3 and "(3 attempts)" in str(info.value)
    assert len(maas_tap.requests) == 3


def test_429_retry_after_is_honoured_and_capped(maas_tap):
    sleeps = []
    client = client_for(maas_tap, sleep=sleeps.append, retry_after_cap=5)
    maas_tap.script(("text", 429, "slow down", {"Retry-After": "2"}), ("text", 429, "", {"Retry-After": "999"}))
    assert client.version()["version"] == "3.6.1"
    assert sleeps == [2.0, 5.0]


def test_backoff_sleeps_grow_and_stay_under_the_cap(maas_tap):
    sleeps = []
    client = client_for(maas_tap, sleep=sleeps.append, backoff_base=1, backoff_cap=4, retries=5)
    maas_tap.script(*[("text", 503, "")] * 5)
    client.version()
    assert len(sleeps) == 5
    ceilings = [1, 2, 4, 4, 4]
    assert all(c / 2 <= s <= c for s, c in zip(sleeps, ceilings))


def test_post_reset_without_check_raises_and_is_sent_once(maas_tap):
    client = client_for(maas_tap)
    maas_tap.script(("reset",))
    with pytest.raises(MAASError) as info:
        client.post("machines/abc123/", op="deploy")
    assert info.value.status is None and str(info.value).startswith("No response from MAAS to POST ")
    assert "not retried" in str(info.value)
    assert [r.method for r in maas_tap.requests] == ["POST"]


def test_post_503_without_check_raises_and_is_sent_once(maas_tap):
    client = client_for(maas_tap)
    maas_tap.script(("text", 503, "Unable to power on"))
    with pytest.raises(MAASError) as info:
        client.post("machines/abc123/", op="power_on")
    assert info.value.status == 503 and info.value.maas_message == "Unable to power on"
    assert len(maas_tap.requests) == 1


def test_post_to_a_server_not_yet_listening_is_sent_once_it_is(closed_port):
    # Nothing listens at first, so the attempt provably never arrived; the server appears during the backoff.
    started = []

    def sleep_then_start(seconds):  # pylint: disable=unused-argument
        if not started:
            from http.server import BaseHTTPRequestHandler, HTTPServer

            class Handler(BaseHTTPRequestHandler):
                def do_POST(self):
                    started.append(self.path)
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")

                def log_message(self, *args):
                    pass

            server = HTTPServer(("127.0.0.1", closed_port), Handler)
            threading.Thread(target=server.handle_request, daemon=True).start()
            started.append(server)

    client = MAASClient("http://127.0.0.1:%d/MAAS" % closed_port, "ck:tk:secretvalue1", sleep=sleep_then_start)
    assert client.post("machines/", data={"hostname": "n1"}) == {}
    assert started[1:] == ["/MAAS/api/2.0/machines/"]
    started[0].server_close()


def ready_machine(tap, taken):
    """A Ready machine of the emulator behind ``tap`` that no other test uses (``taken`` remembers)."""
    for machine in MAASClient(tap.upstream.url, tap.upstream.api_key).get("machines/"):
        if machine["status_name"] == "Ready" and machine["system_id"] not in taken:
            taken.add(machine["system_id"])
            return machine["system_id"]
    raise AssertionError("no Ready machine left behind the tap")


USED_MACHINES = set()


def test_machine_op_lost_after_it_took_effect_is_not_sent_again(maas_tap):
    system_id = ready_machine(maas_tap, USED_MACHINES)
    # MAAS handles the deploy, then the connection dies before the answer reaches the client.
    maas_tap.script(("forward_then_reset",))
    client = client_for(maas_tap)
    result = client.machine_op(system_id, "deploy", {"distro_series": "jammy"},
                               took_effect=status_in("Deploying", "Deployed", "Failed deployment"))
    assert result["status_name"] == "Deploying"
    path = "/MAAS/api/2.0/machines/%s/" % system_id
    assert [(r.method, r.path) for r in maas_tap.requests] == [("POST", path), ("GET", path)]


def test_machine_op_lost_before_it_took_effect_is_sent_again_once(maas_tap):
    system_id = ready_machine(maas_tap, USED_MACHINES)
    # The connection dies before MAAS sees the deploy: the machine is still Ready.
    maas_tap.script(("reset",))
    client = client_for(maas_tap)
    result = client.machine_op(system_id, "deploy", {"distro_series": "jammy"},
                               took_effect=status_in("Deploying", "Deployed", "Failed deployment"))
    assert result["status_name"] == "Deploying"
    posts = [r for r in maas_tap.requests if r.method == "POST"]
    assert len(posts) == 2
    assert multipart_fields(posts[1]) == [("distro_series", "jammy")]


def test_status_in_accepts_names_and_numeric_codes():
    deploying = status_in("Deploying")
    assert deploying({"status_name": "Deploying"}) and deploying({"status": 9})
    assert not deploying({"status": 4}) and not deploying(None)


def test_failed_state_check_reports_an_unknown_outcome(maas_tap):
    client = client_for(maas_tap, retries=1)
    maas_tap.script(("reset",), ("text", 404, "No Machine matches the given query."))
    with pytest.raises(MAASError) as info:
        client.machine_op("abc123", "release", took_effect=status_in("Releasing"))
    assert "outcome is unknown" in str(info.value) and "No Machine matches" in str(info.value)


# -- connections and threads -----------------------------------------------------------------------------------

def test_requests_from_one_thread_reuse_one_keep_alive_connection(maas_tap):
    client = client_for(maas_tap)
    for dummy in range(5):
        client.version()
    client.post("tags/", data={"name": "keep-alive"})
    assert maas_tap.connections == 1 and len(maas_tap.requests) == 6


def test_a_keep_alive_connection_closed_by_the_server_is_replaced_before_a_post(maas_tap):
    client = client_for(maas_tap)
    maas_tap.script(("json", 200, {}, {"_drop": True}))
    client.version()
    time.sleep(0.2)
    # Without the idle check this POST would hit the dead socket and, unconfirmed, have to fail.
    assert client.post("tags/", data={"name": "after-drop"})["name"] == "after-drop"
    assert maas_tap.connections == 2


def test_one_client_serves_many_threads_with_a_connection_each(maas_tap):
    client = client_for(maas_tap)
    errors = []

    def work():
        try:
            for dummy in range(10):
                assert client.whoami()["username"] == "admin"
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(exc)

    threads = [threading.Thread(target=work) for dummy in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(maas_tap.requests) == 160 and maas_tap.connections == 16
    nonces = {oauth_fields(r.headers["authorization"])["oauth_nonce"] for r in maas_tap.requests}
    assert len(nonces) == 160
    client.close()


def test_close_then_reuse_reconnects(maas_tap):
    client = client_for(maas_tap)
    client.version()
    client.close()
    client.version()
    assert maas_tap.connections == 2


# -- TLS ------------------------------------------------------------------------------------------------------

def test_tls_without_the_ca_fails_verification_with_advice(maas_tap_tls):
    client = client_for(maas_tap_tls)
    with pytest.raises(MAASError) as info:
        client.version()
    error = info.value
    assert error.status is None and error.attempts == 1
    assert "certificate verification failed" in str(error) and "ca_path" in str(error)
    assert maas_tap_tls.url.replace("/MAAS", "") in str(error)


def test_tls_with_the_ca_bundle_succeeds(maas_tap_tls, tls_files):
    client = client_for(maas_tap_tls, ca_path=tls_files.ca_cert)
    assert client.whoami()["username"] == "admin"


def test_tls_connections_are_kept_alive_too(maas_tap_tls, tls_files):
    client = client_for(maas_tap_tls, ca_path=tls_files.ca_cert)
    for dummy in range(4):
        client.version()
    client.post("tags/", data={"name": "tls-keep-alive"})
    assert maas_tap_tls.connections == 1 and len(maas_tap_tls.requests) == 5


def test_a_tls_connection_closed_by_the_server_is_replaced_before_a_post(maas_tap_tls, tls_files):
    client = client_for(maas_tap_tls, ca_path=tls_files.ca_cert)
    maas_tap_tls.script(("json", 200, {}, {"_drop": True}))
    client.version()
    time.sleep(0.2)
    assert client.post("tags/", data={"name": "tls-after-drop"})["name"] == "tls-after-drop"
    assert maas_tap_tls.connections == 2


def test_tls_with_an_unrelated_ca_fails(maas_tap_tls, tls_files):
    client = client_for(maas_tap_tls, ca_path=tls_files.other_ca_cert)
    with pytest.raises(MAASError) as info:
        client.version()
    assert "certificate verification failed" in str(info.value)


def test_tls_hostname_mismatch_fails_even_with_the_right_ca(maas_tap_tls_wrong_name, tls_files):
    client = client_for(maas_tap_tls_wrong_name, ca_path=tls_files.ca_cert)
    with pytest.raises(MAASError) as info:
        client.version()
    assert "certificate verification failed" in str(info.value) and "127.0.0.1" in str(info.value)


def test_tls_without_validation_accepts_an_untrusted_misnamed_certificate(maas_tap_tls_wrong_name):
    client = client_for(maas_tap_tls_wrong_name, validate_certs=False)
    assert client.version()["version"] == "3.6.1"


def test_missing_ca_bundle_is_reported(maas_tap_tls, tmp_path):
    with pytest.raises(MAASError) as info:
        MAASClient(maas_tap_tls.url, maas_tap_tls.api_key, ca_path=str(tmp_path / "nope.pem"))
    assert "ca_path" in str(info.value)

# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""MAASClient against the in-test fake MAAS (tests/unit/plugins/conftest.py): wire format, errors, retries."""

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

def test_requests_carry_a_plaintext_oauth_header_in_the_documented_order(fake_maas):
    client = client_for(fake_maas)
    client.whoami()
    header = fake_maas.requests[-1].headers["authorization"]
    assert header.startswith('OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="')
    fields = oauth_fields(header)
    consumer, token, secret = fake_maas.secret_parts
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


def test_every_request_and_every_retry_gets_a_fresh_nonce(fake_maas):
    client = client_for(fake_maas)
    fake_maas.script(("text", 503, "busy"), ("text", 503, "busy"))
    client.version()
    client.version()
    nonces = [oauth_fields(r.headers["authorization"])["oauth_nonce"] for r in fake_maas.requests]
    assert len(nonces) == 4 and len(set(nonces)) == 4


def test_op_and_get_params_go_in_the_query_string_with_repeated_keys(fake_maas):
    client = client_for(fake_maas)
    client.get("machines/", params={"id": ["abc123", "def456"], "status": "ready", "skip": None, "flag": False})
    recorded = fake_maas.requests[-1]
    assert recorded.path == "/MAAS/api/2.0/machines/"
    assert recorded.query == [("id", "abc123"), ("id", "def456"), ("status", "ready"), ("flag", "false")]
    client.get("events", op="query", params={"id": "abc123"})
    assert fake_maas.requests[-1].path == "/MAAS/api/2.0/events/"
    assert fake_maas.requests[-1].query == [("op", "query"), ("id", "abc123")]


def test_absolute_resource_uris_are_accepted_as_paths(fake_maas):
    client = client_for(fake_maas)
    client.get("/MAAS/api/2.0/machines/abc123/")
    assert fake_maas.requests[-1].path == "/MAAS/api/2.0/machines/abc123/"


def test_post_sends_multipart_with_repeated_fields_and_true_false(fake_maas):
    client = client_for(fake_maas)
    client.post("machines/", data={"mac_addresses": ["52:54:00:00:00:01", "52:54:00:00:00:02"],
                                   "commission": False, "deployed": True, "cpu_count": 4, "hostname": "n\u00f6de",
                                   "domain": None})
    recorded = fake_maas.requests[-1]
    assert recorded.method == "POST" and recorded.query == []
    assert recorded.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert multipart_fields(recorded) == [
        ("mac_addresses", "52:54:00:00:00:01"), ("mac_addresses", "52:54:00:00:00:02"), ("commission", "false"),
        ("deployed", "true"), ("cpu_count", "4"), ("hostname", "n\u00f6de")]


def test_post_op_goes_in_the_query_string_not_the_body(fake_maas):
    client = client_for(fake_maas)
    client.post("machines/abc123/", op="deploy", data={"distro_series": "jammy"})
    recorded = fake_maas.requests[-1]
    assert recorded.query == [("op", "deploy")]
    assert multipart_fields(recorded) == [("distro_series", "jammy")]


def test_empty_post_is_an_empty_urlencoded_body_never_a_zero_part_multipart(fake_maas):
    client = client_for(fake_maas)
    client.post("machines/abc123/", op="abort")
    client.put("tags/t1/", data={})
    for recorded in fake_maas.requests[-2:]:
        assert recorded.headers["content-type"] == "application/x-www-form-urlencoded"
        assert recorded.body == b"" and recorded.headers["content-length"] == "0"


def test_multipart_part_containing_the_boundary_gets_a_new_boundary():
    body, content_type = encode_multipart([("user_data", "--gough-fixed\r\n")], boundary="gough-fixed")
    assert "gough-fixed" != content_type.split("boundary=")[1]
    assert body.count(b"--" + content_type.split("boundary=")[1].encode()) == 2


def test_json_responses_are_parsed_and_text_kept_as_text(fake_maas):
    client = client_for(fake_maas)
    fake_maas.script(("json", 200, {"a": [1, 2]}), ("text", 200, "2.0"), ("text", 204, ""))
    assert client.get("x/") == {"a": [1, 2]}
    assert client.get("y/") == "2.0"
    assert client.delete("z/") is None


# -- errors ---------------------------------------------------------------------------------------------------

def test_form_errors_are_flattened_with_field_names():
    text = flatten_maas_errors({"distro_series": ["'x' is not a valid distro_series."],
                                "__all__": ["Commission is not available."], "mem": ["a", "b"]})
    assert text == "Commission is not available.; distro_series: 'x' is not a valid distro_series.; mem: a; mem: b"


def test_http_400_carries_status_method_url_and_the_flattened_maas_message(fake_maas):
    client = client_for(fake_maas)
    fake_maas.script(("json", 400, {"distro_series": ["'x' is not a valid distro_series.  It should be one of: "
                                                      "'jammy'."]}))
    with pytest.raises(MAASError) as info:
        client.post("machines/abc123/", op="deploy", data={"distro_series": "x"})
    error = info.value
    assert error.status == 400 and error.method == "POST"
    assert error.url == fake_maas.url + "/api/2.0/machines/abc123/?op=deploy"
    assert error.maas_message == "distro_series: 'x' is not a valid distro_series. It should be one of: 'jammy'."
    assert error.field_errors == {"distro_series": ["'x' is not a valid distro_series.  It should be one of: "
                                                    "'jammy'."]}
    assert str(error).startswith("MAAS returned HTTP 400 for POST http://127.0.0.1:")
    assert "distro_series: 'x' is not a valid" in str(error)


def test_text_errors_keep_maas_wording(fake_maas):
    client = client_for(fake_maas)
    fake_maas.script(("text", 409, "Can't deploy a machine that is in the 'Failed deployment' state"))
    with pytest.raises(MAASError) as info:
        client.post("machines/abc123/", op="deploy")
    assert info.value.status == 409
    assert info.value.maas_message == "Can't deploy a machine that is in the 'Failed deployment' state"


def test_empty_403_says_so(fake_maas):
    client = client_for(fake_maas)
    fake_maas.script(("text", 403, ""))
    with pytest.raises(MAASError) as info:
        client.post("machines/abc123/", op="release")
    assert info.value.status == 403 and "no message" in str(info.value) and "permission" in str(info.value)


def test_wrong_key_gives_one_clear_401_message_without_the_key(fake_maas):
    client = MAASClient(fake_maas.url, "wrongconsumer:wrongtokenkey:wrongsecretvalue")
    with pytest.raises(MAASError) as info:
        client.whoami()
    error = info.value
    assert str(error) == ("MAAS rejected the API key (HTTP 401) at %s/api/2.0/users/?op=whoami: "
                          "Authorization Error: Invalid API key." % fake_maas.url)
    for text in (str(error), repr(error), repr(error.args), repr(error.details())):
        assert "wrongsecretvalue" not in text and "wrongtokenkey" not in text and "wrongconsumer" not in text


def test_a_server_echoing_the_key_is_scrubbed_from_the_message(fake_maas):
    consumer, token, secret = fake_maas.secret_parts
    fake_maas.script(("text", 401, "bad token %s with signature &%s from %s" % (token, secret, consumer)))
    with pytest.raises(MAASError) as info:
        client_for(fake_maas).whoami()
    assert_no_secret(str(info.value) + repr(info.value) + repr(info.value.__dict__), fake_maas)


def test_no_exception_ever_contains_the_authorization_header(fake_maas):
    client = client_for(fake_maas, retries=1)
    fake_maas.script(("reset",), ("reset",), ("text", 500, "boom"))
    failures = []
    for call in (lambda: client.get("a/"), lambda: client.post("b/", data={"x": 1})):
        with pytest.raises(MAASError) as info:
            call()
        failures.append(info.value)
    for error in failures:
        text = str(error) + repr(error) + repr(error.__dict__)
        assert "OAuth" not in text and "oauth_" not in text
        assert_no_secret(text, fake_maas)


def test_huge_html_error_pages_are_clipped(fake_maas):
    fake_maas.script(("text", 500, "<html>" + "x" * 5000 + "</html>"))
    with pytest.raises(MAASError) as info:
        client_for(fake_maas).get("machines/")
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


def test_read_timeout_is_reported_and_gets_retried(fake_maas):
    client = client_for(fake_maas, timeout=0.3, retries=1)
    fake_maas.script(("slow", 1.0, ("json", 200, {})), ("slow", 1.0, ("json", 200, {})))
    with pytest.raises(MAASError) as info:
        client.get("machines/")
    assert info.value.status is None and "timed out after 0.3 seconds" in str(info.value)
    assert info.value.attempts == 2


# -- retries --------------------------------------------------------------------------------------------------

def test_get_rides_through_503_502_504_and_resets(fake_maas):
    client = client_for(fake_maas)
    fake_maas.script(("text", 503, ""), ("text", 502, ""), ("reset",), ("text", 504, ""), ("close",))
    assert client.version()["version"] == "3.6.1"
    assert len(fake_maas.requests) == 6


def test_get_gives_up_with_the_last_error_after_the_configured_retries(fake_maas):
    client = client_for(fake_maas, retries=2)
    fake_maas.script(*[("text", 503, "MAAS is starting")] * 5)
    with pytest.raises(MAASError) as info:
        client.version()
    assert info.value.status == 503 and info.value.attempts == 3 and "(3 attempts)" in str(info.value)
    assert len(fake_maas.requests) == 3


def test_429_retry_after_is_honoured_and_capped(fake_maas):
    sleeps = []
    client = client_for(fake_maas, sleep=sleeps.append, retry_after_cap=5)
    fake_maas.script(("text", 429, "slow down", {"Retry-After": "2"}), ("text", 429, "", {"Retry-After": "999"}))
    assert client.version()["version"] == "3.6.1"
    assert sleeps == [2.0, 5.0]


def test_backoff_sleeps_grow_and_stay_under_the_cap(fake_maas):
    sleeps = []
    client = client_for(fake_maas, sleep=sleeps.append, backoff_base=1, backoff_cap=4, retries=5)
    fake_maas.script(*[("text", 503, "")] * 5)
    client.version()
    assert len(sleeps) == 5
    ceilings = [1, 2, 4, 4, 4]
    assert all(c / 2 <= s <= c for s, c in zip(sleeps, ceilings))


def test_post_reset_without_check_raises_and_is_sent_once(fake_maas):
    client = client_for(fake_maas)
    fake_maas.script(("reset",))
    with pytest.raises(MAASError) as info:
        client.post("machines/abc123/", op="deploy")
    assert info.value.status is None and str(info.value).startswith("No response from MAAS to POST ")
    assert "not retried" in str(info.value)
    assert [r.method for r in fake_maas.requests] == ["POST"]


def test_post_503_without_check_raises_and_is_sent_once(fake_maas):
    client = client_for(fake_maas)
    fake_maas.script(("text", 503, "Unable to power on"))
    with pytest.raises(MAASError) as info:
        client.post("machines/abc123/", op="power_on")
    assert info.value.status == 503 and info.value.maas_message == "Unable to power on"
    assert len(fake_maas.requests) == 1


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


def machine_server(fake, effect_on_attempt):
    """Script a machine op whose first attempt is reset; ``effect_on_attempt`` says if that attempt counted."""
    machine = {"system_id": "abc123", "status": 4, "status_name": "Ready"}
    posts = []

    def respond(handler, recorded):  # pylint: disable=unused-argument
        if recorded.method == "POST":
            posts.append(recorded)
            if len(posts) == 1:
                if effect_on_attempt:
                    machine.update(status=9, status_name="Deploying")
                return ("reset",)
            machine.update(status=9, status_name="Deploying")
            return ("json", 200, dict(machine))
        return ("json", 200, dict(machine))

    fake.script(*[respond] * 10)
    return posts


def test_machine_op_lost_after_it_took_effect_is_not_sent_again(fake_maas):
    posts = machine_server(fake_maas, effect_on_attempt=True)
    client = client_for(fake_maas)
    result = client.machine_op("abc123", "deploy", {"distro_series": "jammy"},
                               took_effect=status_in("Deploying", "Deployed", "Failed deployment"))
    assert result["status_name"] == "Deploying"
    assert len(posts) == 1
    assert [(r.method, r.path) for r in fake_maas.requests] == [
        ("POST", "/MAAS/api/2.0/machines/abc123/"), ("GET", "/MAAS/api/2.0/machines/abc123/")]


def test_machine_op_lost_before_it_took_effect_is_sent_again_once(fake_maas):
    posts = machine_server(fake_maas, effect_on_attempt=False)
    client = client_for(fake_maas)
    result = client.machine_op("abc123", "deploy", {"distro_series": "jammy"},
                               took_effect=status_in("Deploying", "Deployed", "Failed deployment"))
    assert result["status_name"] == "Deploying"
    assert len(posts) == 2
    assert multipart_fields(posts[1]) == [("distro_series", "jammy")]


def test_status_in_accepts_names_and_numeric_codes():
    deploying = status_in("Deploying")
    assert deploying({"status_name": "Deploying"}) and deploying({"status": 9})
    assert not deploying({"status": 4}) and not deploying(None)


def test_failed_state_check_reports_an_unknown_outcome(fake_maas):
    client = client_for(fake_maas, retries=1)
    fake_maas.script(("reset",), ("text", 404, "No Machine matches the given query."))
    with pytest.raises(MAASError) as info:
        client.machine_op("abc123", "release", took_effect=status_in("Releasing"))
    assert "outcome is unknown" in str(info.value) and "No Machine matches" in str(info.value)


# -- connections and threads -----------------------------------------------------------------------------------

def test_requests_from_one_thread_reuse_one_keep_alive_connection(fake_maas):
    client = client_for(fake_maas)
    for dummy in range(5):
        client.version()
    client.post("machines/", data={"a": "b"})
    assert fake_maas.connections == 1 and len(fake_maas.requests) == 6


def test_a_keep_alive_connection_closed_by_the_server_is_replaced_before_a_post(fake_maas):
    client = client_for(fake_maas)
    fake_maas.script(("json", 200, {}, {"_drop": True}))
    client.version()
    time.sleep(0.2)
    # Without the idle check this POST would hit the dead socket and, unconfirmed, have to fail.
    assert client.post("machines/", data={"hostname": "n1"}) == {"method": "POST", "path": "/MAAS/api/2.0/machines/"}
    assert fake_maas.connections == 2


def test_one_client_serves_many_threads_with_a_connection_each(fake_maas):
    client = client_for(fake_maas)
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
    assert len(fake_maas.requests) == 160 and fake_maas.connections == 16
    nonces = {oauth_fields(r.headers["authorization"])["oauth_nonce"] for r in fake_maas.requests}
    assert len(nonces) == 160
    client.close()


def test_close_then_reuse_reconnects(fake_maas):
    client = client_for(fake_maas)
    client.version()
    client.close()
    client.version()
    assert fake_maas.connections == 2


# -- TLS ------------------------------------------------------------------------------------------------------

def test_tls_without_the_ca_fails_verification_with_advice(fake_maas_tls):
    client = client_for(fake_maas_tls)
    with pytest.raises(MAASError) as info:
        client.version()
    error = info.value
    assert error.status is None and error.attempts == 1
    assert "certificate verification failed" in str(error) and "ca_path" in str(error)
    assert fake_maas_tls.url.replace("/MAAS", "") in str(error)


def test_tls_with_the_ca_bundle_succeeds(fake_maas_tls, tls_files):
    client = client_for(fake_maas_tls, ca_path=tls_files.ca_cert)
    assert client.whoami()["username"] == "admin"


def test_tls_connections_are_kept_alive_too(fake_maas_tls, tls_files):
    client = client_for(fake_maas_tls, ca_path=tls_files.ca_cert)
    for dummy in range(4):
        client.version()
    client.post("machines/", data={"hostname": "n1"})
    assert fake_maas_tls.connections == 1 and len(fake_maas_tls.requests) == 5


def test_a_tls_connection_closed_by_the_server_is_replaced_before_a_post(fake_maas_tls, tls_files):
    client = client_for(fake_maas_tls, ca_path=tls_files.ca_cert)
    fake_maas_tls.script(("json", 200, {}, {"_drop": True}))
    client.version()
    time.sleep(0.2)
    assert client.post("machines/", data={"hostname": "n1"})["method"] == "POST"
    assert fake_maas_tls.connections == 2


def test_tls_with_an_unrelated_ca_fails(fake_maas_tls, tls_files):
    client = client_for(fake_maas_tls, ca_path=tls_files.other_ca_cert)
    with pytest.raises(MAASError) as info:
        client.version()
    assert "certificate verification failed" in str(info.value)


def test_tls_hostname_mismatch_fails_even_with_the_right_ca(fake_maas_tls_wrong_name, tls_files):
    client = client_for(fake_maas_tls_wrong_name, ca_path=tls_files.ca_cert)
    with pytest.raises(MAASError) as info:
        client.version()
    assert "certificate verification failed" in str(info.value) and "127.0.0.1" in str(info.value)


def test_tls_without_validation_accepts_an_untrusted_misnamed_certificate(fake_maas_tls_wrong_name):
    client = client_for(fake_maas_tls_wrong_name, validate_certs=False)
    assert client.version()["version"] == "3.6.1"


def test_missing_ca_bundle_is_reported(fake_maas_tls, tmp_path):
    with pytest.raises(MAASError) as info:
        MAASClient(fake_maas_tls.url, fake_maas_tls.api_key, ca_path=str(tmp_path / "nope.pem"))
    assert "ca_path" in str(info.value)

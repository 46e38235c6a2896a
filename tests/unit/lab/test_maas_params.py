"""The emulator's request-body parsing: multipart/form-data as MAAS clients send it, and urlencoded forms."""

import base64

import pytest

from gough_lab.maas.errors import APIError
from gough_lab.maas.params import parse_body

BOUNDARY = "x-gough-7f3a"
CTYPE = "multipart/form-data; boundary=%s" % BOUNDARY


def body(*parts, newline=b"\r\n"):
    """A multipart body of raw ``(header lines, payload bytes)`` parts."""
    out = []
    for headers, payload in parts:
        out.append(b"--" + BOUNDARY.encode() + newline)
        out.extend(h.encode("latin-1") + newline for h in headers)
        out.append(newline + payload + newline)
    out.append(b"--" + BOUNDARY.encode() + b"--" + newline)
    return b"".join(out)


def test_plain_and_base64_parts_keep_order_and_repeats():
    raw = body((['Content-Disposition: form-data; name="mac_addresses"'], b"52:54:00:00:00:01"),
               (['Content-Disposition: form-data; name="mac_addresses"', "Content-Transfer-Encoding: base64"],
                base64.b64encode(b"52:54:00:00:00:02")),
               (['Content-Disposition: form-data; name="hostname"'], b"node-1"))
    params = parse_body(CTYPE, raw)
    assert params.getlist("mac_addresses") == ["52:54:00:00:00:01", "52:54:00:00:00:02"]
    assert params.get("hostname") == "node-1"
    assert params.names() == ["mac_addresses", "hostname"]


def test_user_data_with_blank_lines_and_boundary_like_text_survives_intact():
    user_data = b"#cloud-config\r\n\r\nruncmd:\r\n  - echo '--x-gough' > /tmp/t\r\n"
    raw = body((['Content-Disposition: form-data; name="user_data"', "Content-Transfer-Encoding: base64"],
                base64.b64encode(base64.b64encode(user_data))))
    assert base64.b64decode(parse_body(CTYPE, raw).get("user_data")) == user_data


def test_quoted_names_filenames_charsets_and_rfc2231_names():
    raw = body((['Content-Disposition: form-data; name="a;b"'], b"semi"),
               (['Content-Disposition: form-data; name="script"; filename="s.sh"', "Content-Type: text/x-sh"],
                b"#!/bin/sh\n"),
               (['Content-Disposition: form-data; name="comment"', "Content-Type: text/plain; charset=latin-1"],
                "café".encode("latin-1")),
               (["Content-Disposition: form-data; name=ascii; name*=utf-8''caf%C3%A9"], b"x"))
    params = parse_body('multipart/form-data; boundary="%s"' % BOUNDARY, raw)
    assert params.get("a;b") == "semi"
    assert params.get("script") == b"#!/bin/sh\n"
    assert params.get("comment") == "café"
    assert params.get("café") == "x" and "ascii" not in params


def test_bare_newline_bodies_parse_like_crlf_ones():
    raw = body((['Content-Disposition: form-data; name="hostname"'], b"node-2"), newline=b"\n")
    assert parse_body(CTYPE, raw).get("hostname") == "node-2"


@pytest.mark.parametrize("raw, content_type", [
    (body(), CTYPE),                                                           # zero parts
    (body((["Content-Type: text/plain"], b"no disposition")), CTYPE),        # no named field
    (body((['Content-Disposition: form-data; name="x"', "Content-Transfer-Encoding: base64"], b"%%%")), CTYPE),
    (b"whatever", "multipart/form-data"),                                      # no boundary
])
def test_unusable_multipart_bodies_are_400_with_an_empty_body(raw, content_type):
    with pytest.raises(APIError) as caught:
        parse_body(content_type, raw)
    assert caught.value.status == 400 and caught.value.body == b""


def test_urlencoded_forms_and_other_bodies():
    params = parse_body("application/x-www-form-urlencoded", b"tags=a&tags=b&comment=")
    assert params.getlist("tags") == ["a", "b"] and params.get("comment") == ""
    assert parse_body("application/json", b'{"a": 1}').names() == []

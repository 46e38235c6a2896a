"""gough-agent connection handling: idle, slow and malformed clients cannot starve the scrapes.

The agent listens on 127.0.0.1; the tests pick their client address from 127.0.0.0/8 (``source_address``) to stand
for different hosts: 127.0.0.2 is the configured scraper (Prometheus), others are strangers.
"""

import http.client
import re
import resource
import socket
import ssl
import time

import pytest

SCRAPER = "127.0.0.2"


def metric(body, name, **labels):
    """The value of one series in an exposition body (0 when absent)."""
    wanted = ",".join('%s="%s"' % item for item in sorted(labels.items()))
    pattern = r"^%s%s (\S+)$" % (re.escape(name), re.escape("{%s}" % wanted) if wanted else "")
    match = re.search(pattern, body, re.M)
    return float(match.group(1)) if match else 0.0


def scrape(agent, pki, source=SCRAPER, path="/metrics", timeout=5):
    """(status, body text, seconds) of one scrape with the good client certificate from ``source``."""
    started = time.monotonic()
    connection = http.client.HTTPSConnection("127.0.0.1", agent.port, timeout=timeout, source_address=(source, 0),
                                             context=pki.client_context(pki.client))
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode(), time.monotonic() - started
    finally:
        connection.close()


def open_idle(agent, count, source):
    """``count`` TCP connections from ``source`` that never send a byte."""
    held = []
    for _n in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((source, 0))
        sock.settimeout(5)
        sock.connect(("127.0.0.1", agent.port))
        held.append(sock)
    return held


def closed_by_peer(sock, timeout=5):
    """True when the agent closed (or reset) the connection within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:  # whatever the server sent first (its TLS flight) is read past
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            if sock.recv(65536) == b"":
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        pass
    return False


def wait_metric(agent, pki, name, minimum, timeout=10, **labels):
    """Scrape until the series reaches ``minimum``; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = metric(scrape(agent, pki)[1], name, **labels)
        if value >= minimum or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_two_hundred_idle_connections_from_one_host_do_not_stop_the_scraper(agent_factory, pki):
    # The old server refused every connection past 16 (max_connections), the scraper's included.
    agent = agent_factory(scrapers=[SCRAPER])
    held = open_idle(agent, 200, "127.0.0.3")
    try:
        for _n in range(5):
            status, body, seconds = scrape(agent, pki)
            assert status == 200 and seconds < 2
        # 32 per source (max_connections_per_source); the rest closed at once and counted.
        assert wait_metric(agent, pki, "gough_agent_connections_refused_total", 168,
                           reason="per_source_limit") == 168
        assert metric(body, "gough_agent_connections_open") >= 32
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]  # the agent inherits it: 4096, or less to fit it
        expected = 4096 if soft == resource.RLIM_INFINITY else min(4096, soft - 64)
        assert metric(body, "gough_agent_connections_max") == expected
    finally:
        for sock in held:
            sock.close()


def test_a_full_agent_evicts_the_oldest_idle_stranger_and_keeps_room_for_the_scraper(agent_factory, pki):
    agent = agent_factory(scrapers=[SCRAPER], max_connections=8, max_connections_per_source=100)
    held = open_idle(agent, 20, "127.0.0.3")
    try:
        # 8 in all, 1 kept for the scraper: the strangers' 8th and later connections each evicted the oldest.
        assert closed_by_peer(held[0]) and not closed_by_peer(held[-1], timeout=0.5)
        status, body, _seconds = scrape(agent, pki)
        assert status == 200
        assert metric(body, "gough_agent_connections_evicted_total", reason="connection_limit") >= 13
        assert metric(body, "gough_agent_connections_refused_total", reason="connection_limit") == 0
        # Another stranger still gets in, at the cost of the oldest idle connection.
        status, _body, _seconds = scrape(agent, pki, source="127.0.0.4")
        assert status == 200
    finally:
        for sock in held:
            sock.close()


def test_silent_connection_fails_its_handshake_after_handshake_timeout(agent_factory, pki):
    agent = agent_factory(handshake_timeout=1, scrapers=[SCRAPER])
    (sock,) = open_idle(agent, 1, "127.0.0.3")
    started = time.monotonic()
    try:
        assert closed_by_peer(sock, timeout=5)
        assert 0.7 < time.monotonic() - started < 3
    finally:
        sock.close()
    body = scrape(agent, pki)[1]
    assert metric(body, "gough_agent_tls_handshake_failures_total", reason="timeout") == 1
    assert metric(body, "gough_agent_connection_timeouts_total", phase="handshake") == 1


def test_slowloris_head_is_cut_at_request_timeout_however_slowly_it_trickles(agent_factory, pki):
    agent = agent_factory(request_timeout=1.5, scrapers=[SCRAPER])
    raw = socket.create_connection(("127.0.0.1", agent.port), timeout=5, source_address=("127.0.0.3", 0))
    conn = pki.client_context(pki.client).wrap_socket(raw, server_hostname="127.0.0.1")
    started = time.monotonic()
    closed_after = None
    try:
        for byte in b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40:
            try:
                conn.sendall(bytes([byte]))
            except (OSError, ssl.SSLError):
                closed_after = time.monotonic() - started
                break
            time.sleep(0.1)
        if closed_after is None:
            conn.settimeout(3)
            try:
                data = conn.recv(100)
            except (OSError, ssl.SSLError):
                data = b""
            assert data == b""
            closed_after = time.monotonic() - started
    finally:
        conn.close()
    assert closed_after < 4
    body = scrape(agent, pki)[1]
    assert metric(body, "gough_agent_connection_timeouts_total", phase="request") == 1


@pytest.mark.parametrize("request_bytes,status", [
    (b"\x16\x03\x01garbage\r\n\r\n", 400),
    (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET /metrics HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % n for n in range(200)) + b"\r\n", 431),
    (b"GET /metrics HTTP/1.1\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
    (b"GET /metrics HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 400),
    (b"GET /../../etc/passwd HTTP/1.1\r\n\r\n", 404),
    (b"GET /metrics HTTP/2.0\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n", 400),
])
def test_malformed_requests_get_their_4xx_and_the_agent_keeps_serving(agent_factory, request_bytes, status):
    agent = agent_factory(tls=False)
    sock = socket.create_connection(("127.0.0.1", agent.port), timeout=5)
    try:
        sock.sendall(request_bytes)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    finally:
        sock.close()
    assert answer.split(b"\r\n", 1)[0].startswith(b"HTTP/1.1 %d " % status)
    assert agent.request("/metrics")[0] == 200


def test_pipelined_requests_on_one_connection_are_answered_in_order(agent_factory):
    agent = agent_factory(tls=False)
    sock = socket.create_connection(("127.0.0.1", agent.port), timeout=5)
    try:
        sock.sendall(b"HEAD /healthz HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\n"
                     b"Connection: close\r\n\r\n")
        answer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    finally:
        sock.close()
    statuses = re.findall(rb"^HTTP/1.1 (\d+) ", answer, re.M)
    assert statuses == [b"200", b"404", b"200"]
    assert b"gough_agent_build_info" in answer


def test_unfinished_handshakes_are_bounded_and_the_oldest_stranger_gives_way(agent_factory, pki):
    # A handshake in progress holds about 40 KiB of TLS state; max_handshakes bounds them (memory under MemoryMax).
    agent = agent_factory(scrapers=[SCRAPER], max_handshakes=4, max_connections_per_source=100)
    context = pki.client_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    try:
        context.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1").do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    held = []
    try:
        for _n in range(10):  # each sends its ClientHello and never answers the server's flight
            sock = socket.create_connection(("127.0.0.1", agent.port), timeout=5, source_address=("127.0.0.3", 0))
            sock.sendall(hello)
            held.append(sock)
            time.sleep(0.05)
        assert closed_by_peer(held[0]) and not closed_by_peer(held[-1], timeout=0.5)
        status, body, _seconds = scrape(agent, pki)
        assert status == 200
        assert metric(body, "gough_agent_connections_evicted_total", reason="handshake_limit") == 6
    finally:
        for sock in held:
            sock.close()


def test_thousands_of_pipelined_requests_are_answered_without_stopping_the_others(agent_factory):
    # Answered one per turn of the event loop (not by recursion): 5,000 in one send neither crash the agent nor
    # hold up another client.
    agent = agent_factory(tls=False)
    sock = socket.create_connection(("127.0.0.1", agent.port), timeout=10)
    try:
        sock.sendall(b"GET /nope HTTP/1.1\r\n\r\n" * 5000)
        assert agent.request("/healthz")[0] == 200
        answer = b""
        while answer.count(b"HTTP/1.1 404 ") < 5000:
            chunk = sock.recv(65536)
            assert chunk, answer.count(b"HTTP/1.1 404 ")
            answer += chunk
    finally:
        sock.close()
    assert agent.request("/metrics")[0] == 200

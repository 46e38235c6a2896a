"""Hostile and legitimate load on an exporter, run inside a lab container (standard library only).

    python3 load.py attack HOST PORT --idle 1000 --slow 100 --malformed 1000 --seconds 30
        From a host without a client certificate: keeps ``--idle`` TCP connections open that never send a byte
        (reopening those the server closes), ``--slow`` slowloris connections that send a real TLS ClientHello (or,
        with ``--plain``, an HTTP request head) one byte a second (reopened when closed), and sends ``--malformed``
        malformed requests, each on its own connection. Prints one JSON line of counts.

    python3 load.py scrape HOST PORT --count 20 --cert C --key K --ca CA [--plain] [--keep-alive]
        Scrapes /metrics ``--count`` times (a new connection and TLS handshake each time, or one kept-alive
        connection) and prints one JSON line: every scrape's status and seconds, and the last body's
        gough_agent_connection* and handshake series.

Used by tests/lab_nodes/test_agent_under_load.py and bench/agent/run.py.
"""

import argparse
import http.client
import json
import os
import random
import selectors
import socket
import ssl
import sys
import threading
import time

MALFORMED = (
    lambda: os.urandom(random.randint(1, 2048)),
    lambda: b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n",
    lambda: b"GET /metrics HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % n for n in range(200)) + b"\r\n",
    lambda: b"GET /metrics HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
    lambda: b"GET /../../../etc/shadow HTTP/1.1\r\n\r\n",
    lambda: b"GET /metrics HTTP/9.9\r\n\r\n",
    lambda: b"\r\n\r\n",
)


def client_hello():
    """The bytes of a real TLS ClientHello (what a slowloris on a TLS port sends, slowly)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_side=False)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def connect(host, port):
    """A non-blocking connected socket, or None when the connection fails at once."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        sock.connect_ex((host, port))
    except OSError:
        sock.close()
        return None
    return sock


def attack(args):
    """Idle, slowloris and malformed load until --seconds pass; print counts."""
    counts = {"idle_opened": 0, "idle_closed_by_server": 0, "slow_opened": 0, "slow_closed_by_server": 0,
              "malformed_sent": 0, "malformed_answered": {}, "malformed_refused": 0}
    lock = threading.Lock()
    stop = time.monotonic() + args.seconds
    slow_bytes = (b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-a: b\r\n" * 100) if args.plain else client_hello()
    selector = selectors.DefaultSelector()
    slow = {}  # socket -> bytes sent so far

    def open_one(kind):
        sock = connect(args.host, args.port)
        if sock is None:
            return
        selector.register(sock, selectors.EVENT_READ, kind)
        counts[kind + "_opened"] += 1
        if kind == "slow":
            slow[sock] = 0

    def malformed_worker(share):
        for index in range(share):
            if time.monotonic() > stop:
                return
            payload = MALFORMED[index % len(MALFORMED)]()
            try:
                with socket.create_connection((args.host, args.port), timeout=5) as sock:
                    sock.sendall(payload)
                    sock.shutdown(socket.SHUT_WR)
                    answer = sock.recv(64)
            except OSError:
                answer = None
            with lock:
                counts["malformed_sent"] += 1
                if answer and answer.startswith(b"HTTP/1.1 "):
                    code = answer[9:12].decode("ascii", "replace")
                    counts["malformed_answered"][code] = counts["malformed_answered"].get(code, 0) + 1
                else:  # a TLS port answers garbage with an alert or a close, a refused connection with a close
                    counts["malformed_refused"] += 1

    workers = [threading.Thread(target=malformed_worker, args=(args.malformed // 8 + (n < args.malformed % 8),))
               for n in range(8)]
    for _n in range(args.idle):
        open_one("idle")
    for _n in range(args.slow):
        open_one("slow")
    for worker in workers:
        worker.start()
    next_byte = time.monotonic() + 1
    while time.monotonic() < stop:
        for key, _mask in selector.select(0.2):
            sock = key.fileobj
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:  # closed by the server: a real attacker opens another one
                selector.unregister(sock)
                slow.pop(sock, None)
                sock.close()
                counts[key.data + "_closed_by_server"] += 1
                if time.monotonic() < stop - 1:
                    open_one(key.data)
        if time.monotonic() >= next_byte:
            next_byte += 1
            for sock, sent in list(slow.items()):
                try:
                    sock.send(slow_bytes[sent % len(slow_bytes):sent % len(slow_bytes) + 1])
                    slow[sock] = sent + 1
                except OSError:
                    pass
    for worker in workers:
        worker.join()
    for key in list(selector.get_map().values()):
        key.fileobj.close()
    print(json.dumps(counts))


def scrape(args):
    """--count scrapes; print their statuses and seconds."""
    context = None
    if not args.plain:
        context = ssl.create_default_context(cafile=args.ca)
        context.check_hostname = False  # the address, not the certificate's name, is what this checks
        context.load_cert_chain(args.cert, args.key)
    results, body, connection = [], "", None
    for _n in range(args.count):
        started = time.monotonic()
        try:
            if connection is None:
                connection = (http.client.HTTPConnection(args.host, args.port, timeout=args.timeout) if args.plain
                              else http.client.HTTPSConnection(args.host, args.port, timeout=args.timeout,
                                                               context=context))
            connection.request("GET", "/metrics")
            response = connection.getresponse()
            body = response.read().decode("utf-8", "replace")
            results.append({"status": response.status, "seconds": time.monotonic() - started})
        except (OSError, http.client.HTTPException) as exc:
            results.append({"status": 0, "seconds": time.monotonic() - started, "error": str(exc)[:200]})
            connection = None
        if not args.keep_alive and connection is not None:
            connection.close()
            connection = None
        time.sleep(args.interval)
    series = [line for line in body.splitlines()
              if line.startswith(("gough_agent_connection", "gough_agent_tls_handshake"))]
    print(json.dumps({"scrapes": results, "series": series}))


def main():
    """Parse the command line and run the mode."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("mode", choices=("attack", "scrape"))
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--slow", type=int, default=100)
    parser.add_argument("--malformed", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--plain", action="store_true", help="plain HTTP (node_exporter)")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--timeout", type=float, default=2)
    parser.add_argument("--keep-alive", action="store_true")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--ca")
    args = parser.parse_args()
    (attack if args.mode == "attack" else scrape)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

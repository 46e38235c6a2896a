"""The lab HTTP servers answer a kept-alive request at once, as MAAS, Fleet and AWX do.

The handler writes the headers and the body of an answer in two writes; with Nagle's algorithm on, the body waits
for the client's delayed ACK of the headers, about 40 ms a request on a kept-alive connection. The lab servers turn
it off on every connection (TCP_NODELAY).
"""

import http.client
import socket
import threading
import time

from gough_lab.common.http import LabHTTPServer, LabRequestHandler


class EchoNodelay(LabRequestHandler):
    """Answers every request with the TCP_NODELAY setting of its own connection."""

    def _handle(self):
        value = self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        self._send_bytes(200, str(value).encode() * 2000, "text/plain")


def test_connections_have_nagle_off_and_kept_alive_requests_are_not_held_for_a_delayed_ack():
    server = LabHTTPServer(("127.0.0.1", 0), EchoNodelay, emulator=None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        answers, started = [], time.monotonic()
        for _request in range(20):
            conn.request("GET", "/")
            answers.append(conn.getresponse().read())
        elapsed = time.monotonic() - started
        conn.close()
        assert all(answer.startswith(b"1") for answer in answers)
        # 20 requests held for a delayed ACK take 0.8 s or more; answered at once, a few ms each.
        assert elapsed < 0.8, elapsed
    finally:
        server.shutdown()
        server.server_close()

"""The skeleton both hand-written HTTP servers share (the fake OpenSearch, the SQS/S3 latency
stand-in): a quiet HTTP/1.1 handler and a threaded server on a daemon thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive, no request log. TCP_NODELAY: http.server writes headers and body separately,
    and delayed ACKs would otherwise add about 40 ms to answers on kept-alive connections."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        """Status, headers, Content-Length; the body unless the request was HEAD."""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


STOP_POLL_SECONDS = 0.02


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops SYNs when a worker opens its pool


class BackgroundServer:
    """`handler` served on host:port (0: a free port) from a daemon thread; `url` is its base."""

    def __init__(self, handler: type[QuietHandler], host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = _Server((host, port), handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread: threading.Thread | None = None

    def start(self) -> Any:
        """Serve; returns the server itself, so that `Fake().start()` reads as one step."""
        # stop() waits until the serving loop next checks for it: every 0.5 s by default, which
        # made each stop half a second (the tests start and stop one per test).
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": STOP_POLL_SECONDS}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

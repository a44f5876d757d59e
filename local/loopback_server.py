"""An HTTP server of the local stack answering in a background thread (the gateway, the Cognito front)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    """One thread per connection; :meth:`start` serves in the background, :meth:`stop` releases the port."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str, port: int, name: str) -> None:
        # TCP_NODELAY on each connection: BaseHTTPRequestHandler writes the headers and then the
        # body in two sends, and on a kept-alive connection Nagle's algorithm held the body until the
        # client's delayed ACK of the headers, 40 ms later: every answer of the gateway and the
        # Cognito front took at least 40 ms (GET /v1/health: 50 ms; now about 1 ms).
        handler.disable_nagle_algorithm = True
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name=name, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

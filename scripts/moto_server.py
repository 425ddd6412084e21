"""moto server on 127.0.0.1:PORT, serving one request at a time.

moto's DynamoDB backend takes no lock, and its default server is threaded:
concurrent clients then see oversold conditional counters and broken
transactions. Served single-threaded, every request is atomic, so a
concurrency failure in our tests is always a bug of ours. Usage:
    python scripts/moto_server.py PORT
"""

import signal
import sys

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


def main() -> None:
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(
        "127.0.0.1", port, app, threaded=False, processes=1, request_handler=MotoRequestHandler
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"moto listening on http://127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

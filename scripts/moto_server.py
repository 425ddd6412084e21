"""moto server on 127.0.0.1:PORT, serving one request at a time.

moto's DynamoDB backend takes no lock, and its default server is threaded:
concurrent clients then see oversold conditional counters and broken
transactions. Served single-threaded, every request is atomic, so a
concurrency failure in our tests is always a bug of ours.

It also serves GET /_seatflow/ses/sent-messages?source=ADDRESS: the messages
moto's SES accepted, read from its backends. moto's own /moto-api/data.json
has them too, but builds them with a JSON dump of every model instance moto
ever created, DynamoDB items included: after the workspace's other tests that
took a minute per call. Usage:
    python scripts/moto_server.py PORT
"""

import json
import signal
import sys
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


SENT_MESSAGES = "/_seatflow/ses/sent-messages"


def sent_messages(source):
    """moto's SES messages from `source` (all accounts and regions), oldest
    first, with the attributes data.json would give them."""
    from moto.ses.models import Message, ses_backends

    found = []
    for regions in ses_backends.values():
        for backend in regions.values():
            for message in backend.sent_messages:
                if isinstance(message, Message) and message.source == source:
                    found.append(
                        {
                            "id": message.id,
                            "source": message.source,
                            "subject": message.subject,
                            "body": message.body,
                            "destinations": message.destinations,
                        }
                    )
    return found


def with_sent_messages(app):
    def serve(environ, start_response):
        if environ.get("PATH_INFO") != SENT_MESSAGES:
            return app(environ, start_response)
        source = parse_qs(environ.get("QUERY_STRING", "")).get("source", [""])[0]
        body = json.dumps(sent_messages(source)).encode()
        start_response(
            "200 OK",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return serve


def main() -> None:
    port = int(sys.argv[1])
    app = with_sent_messages(DomainDispatcherApplication(create_backend_app))
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

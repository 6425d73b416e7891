# A bookhook webhook receiver in Python 3.10+, standard library only besides:
#   pip install standardwebhooks
# Run it with: PORT=8000 python3 receiver.py
import hashlib
import hmac
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET = "{{SECRET}}"
webhook = Webhook(SECRET)


def timekit_signature_ok(body: bytes, signature: str) -> bool:
    """Timekit's x-timekit-signature: hex HMAC-SHA256 of the raw body, keyed with the whole secret."""
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            # Checks webhook-signature over webhook-id, webhook-timestamp (at most 5 minutes
            # old) and the raw body, then parses the body.
            booking = webhook.verify(body, headers)
        except WebhookVerificationError:
            return self.reply(400, "invalid webhook-signature")
        if not timekit_signature_ok(body, headers.get("x-timekit-signature", "")):
            return self.reply(400, "invalid x-timekit-signature")
        # webhook-id is the same on every retry of a message: handle each id once.
        print(f"{headers['webhook-id']}: booking {booking['id']} is {booking['state']}", flush=True)
        self.reply(204, "")

    def reply(self, status: int, text: str):
        self.send_response(status)
        self.send_header("content-type", "text/plain")
        self.end_headers()
        self.wfile.write(text.encode())


HTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Receiver).serve_forever()

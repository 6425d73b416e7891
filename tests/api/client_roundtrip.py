"""A developer's first session with the Python client generated from /v2/openapi.json: a resource,
a webhook, a booking created and confirmed, and the delivery the confirmation caused.

Run by tests/api/client.rs: python3 client_roundtrip.py BASE_URL API_KEY RECEIVER_URL
(with the generated package bookhook_client importable). Prints what it read, as JSON."""

import base64
import json
import sys
import time

from bookhook_client import AuthenticatedClient
from bookhook_client.api.bookings import apply_action, create_booking
from bookhook_client.api.deliveries import get_delivery, list_deliveries
from bookhook_client.api.resources import create_resource
from bookhook_client.api.webhooks import create_webhook
from bookhook_client.models import (
    ApplyActionBody,
    BookingIn,
    CustomerIn,
    ErrorBody,
    EventRef,
    PayloadFormat,
    ResourceIn,
    WebhookIn,
)

base_url, key, receiver = sys.argv[1:4]
# HTTP Basic with an empty user name and the key as the password.
token = base64.b64encode(f":{key}".encode()).decode()
client = AuthenticatedClient(base_url=base_url, token=token, prefix="Basic", raise_on_unexpected_status=True)


def ok(result, what):
    if result is None or isinstance(result, ErrorBody):
        sys.exit(f"{what} was refused: {result}")
    return result


resource = ok(
    create_resource.sync(client=client, body=ResourceIn(name="Studio", timezone="Europe/Copenhagen")),
    "the resource",
).data
hook = ok(
    create_webhook.sync(
        client=client,
        body=WebhookIn(
            url=receiver,
            events=[EventRef(graph="confirm_decline", state="confirmed")],
            payload_format=PayloadFormat.BOOKHOOK,
        ),
    ),
    "the webhook",
).data
booking = ok(
    create_booking.sync(
        client=client,
        body=BookingIn(
            resource_id=resource.id,
            graph="confirm_decline",
            start="2030-03-01T10:00:00+01:00",
            end="2030-03-01T11:00:00+01:00",
            what="Intro session",
            customer=CustomerIn(name="Ada Lovelace", email="ada@example.com"),
        ),
    ),
    "the booking",
).data
confirmed = ok(
    apply_action.sync(id=booking.id, action="confirm", client=client, body=ApplyActionBody()),
    "confirming",
).data

for _ in range(400):
    page = ok(list_deliveries.sync(client=client, booking_id=booking.id, status="delivered"), "the log")
    if page.data:
        break
    time.sleep(0.05)
else:
    sys.exit("the confirmation was never delivered")
message = page.data[0]
detail = ok(get_delivery.sync(msg_id=message.msg_id, client=client), "the message").data

print(
    json.dumps(
        {
            "resource": resource.id,
            "webhook": hook.id,
            "booking": booking.id,
            "created_state": booking.state,
            "confirmed_state": confirmed.state,
            "msg_id": message.msg_id,
            "message_webhook": message.webhook_id,
            "payload_id": detail.payload["id"],
            "payload_state": detail.payload["state"],
            "attempt_status": detail.attempts[0].response_status,
        }
    )
)

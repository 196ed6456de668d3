"""Webhooks through the real client: create, list, update, test, delete, and a delivery that a
receiver written for MLflow (signature check included) accepts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import threading
import time

import pytest

from _util import RESOURCE_DOES_NOT_EXIST, raises_code


class _Receiver:
    def __init__(self):
        self.requests: list[tuple[dict[str, str], bytes]] = []
        received = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, predicate, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [r for r in list(self.requests) if predicate(r)]
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no matching request in {timeout}s: {self.requests!r}")


@pytest.fixture
def receiver():
    r = _Receiver()
    yield r
    r.httpd.shutdown()


def _signed_by(secret: str, headers: dict[str, str], body: bytes) -> bool:
    signed = f"{headers['x-mlflow-delivery-id']}.{headers['x-mlflow-timestamp']}.{body.decode()}"
    digest = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()
    return headers.get("x-mlflow-signature") == "v1," + base64.b64encode(digest).decode()


def test_webhook_lifecycle_with_the_real_client(client, receiver, name):
    from mlflow.entities.webhook import WebhookStatus

    hook = client.create_webhook(
        name="cd-hook",
        url=receiver.url,
        events=["registered_model.created", "model_version_tag.set"],
        description="tell CD",
        secret="s3cr3t",
    )
    assert hook.name == "cd-hook"
    assert hook.url == receiver.url
    assert hook.description == "tell CD"
    assert hook.status == WebhookStatus.ACTIVE
    assert sorted(str(e) for e in hook.events) == ["model_version_tag.set", "registered_model.created"]
    assert hook.secret is None
    assert hook.creation_timestamp == hook.last_updated_timestamp > 0

    got = client.get_webhook(hook.webhook_id)
    assert (got.webhook_id, got.name, got.url) == (hook.webhook_id, "cd-hook", receiver.url)

    # Listing is newest first: let the clock (shared with the server) pass the first one's time.
    while time.time() * 1000 <= hook.creation_timestamp + 1:
        time.sleep(0.001)
    other = client.create_webhook(name="other", url=receiver.url, events=["model_version.created"])
    first = client.list_webhooks(max_results=1)
    assert [w.webhook_id for w in first] == [other.webhook_id]
    assert first.token
    second = client.list_webhooks(max_results=1, page_token=first.token)
    assert [w.webhook_id for w in second] == [hook.webhook_id]

    # A real event, delivered and signed as MLflow receivers expect.
    client.create_registered_model(name)
    headers, body = receiver.wait_for(lambda r: json.loads(r[1]).get("data", {}).get("name") == name)[0]
    envelope = json.loads(body)
    assert (envelope["entity"], envelope["action"]) == ("registered_model", "created")
    assert envelope["data"]["name"] == name
    assert envelope["timestamp"].endswith("+00:00")
    assert _signed_by("s3cr3t", headers, body)
    assert abs(int(headers["x-mlflow-timestamp"]) - time.time()) < 120

    updated = client.update_webhook(hook.webhook_id, status="DISABLED", description="paused")
    assert updated.status == WebhookStatus.DISABLED
    assert updated.description == "paused"
    assert updated.last_updated_timestamp >= hook.last_updated_timestamp

    result = client.test_webhook(hook.webhook_id, event="model_version_tag.set")
    assert result.success, result
    assert result.response_status == 200
    assert result.response_body == "ok"
    headers, body = receiver.wait_for(lambda r: json.loads(r[1])["data"].get("key") == "example_key")[0]
    assert json.loads(body)["data"] == {
        "name": "example_model",
        "version": "1",
        "key": "example_key",
        "value": "example_value",
    }
    assert _signed_by("s3cr3t", headers, body)

    client.delete_webhook(hook.webhook_id)
    client.delete_webhook(other.webhook_id)
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.get_webhook(hook.webhook_id)
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.delete_webhook(hook.webhook_id)


def test_webhook_errors_match(client, receiver):
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match="is invalid"):
        client.create_webhook(name="-bad-", url=receiver.url, events=["registered_model.created"])
    with pytest.raises(MlflowException, match="scheme"):
        client.create_webhook(name="ftp", url="ftp://example.com/", events=["registered_model.created"])
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.test_webhook("no-such-webhook")

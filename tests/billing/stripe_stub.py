"""A local HTTP stub of the few Stripe API endpoints billing uses, for the real `stripe` SDK
(STRIPE_API_BASE points at it). It keeps objects in memory, answers like Stripe (form-encoded
requests, JSON objects and lists, 404 errors, idempotency keys), and records every request.

Also here: test-only helpers that do what Stripe does on its side (a customer completes
Checkout, a payment fails) and a signer for webhook payloads, exactly as Stripe signs them.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_stub{next(_ids):06d}"


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket notation (a[b][0][c]=v) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


class StripeStub:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.products: dict[str, dict] = {}
        self.prices: dict[str, dict] = {}
        self.tax_rates: dict[str, dict] = {}
        self.customers: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.portal_sessions: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.idempotent: dict[str, tuple[int, dict]] = {}
        self.fail_next = 0  # answer the next N requests with a 500
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> StripeStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- what Stripe does on its side ---------------------------------------------------

    def complete_checkout(self, session_id: str, *, status: str = "trialing") -> dict:
        """The customer pays (or starts the trial): a subscription exists."""
        with self.lock:
            session = self.sessions[session_id]
            line = session["line_items"][0]
            data = session.get("subscription_data") or {}
            now = int(time.time())
            sub = {
                "id": new_id("sub"),
                "object": "subscription",
                "customer": session["customer"],
                "status": status,
                "metadata": data.get("metadata") or {},
                "trial_end": now + int(data.get("trial_period_days") or 0) * 86400 or None,
                "created": now,
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": new_id("si"),
                            "object": "subscription_item",
                            "price": self.prices[line["price"]],
                            "quantity": int(line["quantity"]),
                            "current_period_end": now + 30 * 86400,
                            "tax_rates": line.get("tax_rates") or [],
                        }
                    ],
                    "has_more": False,
                },
            }
            self.subscriptions[sub["id"]] = sub
            session["status"] = "complete"
            session["subscription"] = sub["id"]
            return json.loads(json.dumps(sub))

    def set_status(self, subscription_id: str, status: str) -> dict:
        with self.lock:
            self.subscriptions[subscription_id]["status"] = status
            return json.loads(json.dumps(self.subscriptions[subscription_id]))

    def calls(self, method: str, prefix: str) -> list[dict]:
        return [
            params for m, path, params in self.requests if m == method and path.startswith(prefix)
        ]

    # --- the API ---------------------------------------------------------------------------

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _serve(self, method: str) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                params = decode_form(parse_qsl(split.query or body, keep_blank_values=True))
                key = self.headers.get("Idempotency-Key")
                with stub.lock:
                    stub.requests.append((method, split.path, params))
                    if stub.fail_next > 0:
                        stub.fail_next -= 1
                        code, payload = 500, _error("api_error", "stub failure", None)
                    elif key and method == "POST" and key in stub.idempotent:
                        code, payload = stub.idempotent[key]
                    else:
                        code, payload = stub.route(method, split.path, params)
                        if key and method == "POST" and code < 500:
                            stub.idempotent[key] = (code, payload)
                raw = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Request-Id", new_id("req"))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_DELETE(self):
                self._serve("DELETE")

        return Handler

    def route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        if parts[:2] == ["checkout", "sessions"]:
            return self._sessions(method, parts[2:], params)
        if parts[:2] == ["billing_portal", "sessions"] and method == "POST":
            session = {
                "id": new_id("bps"),
                "object": "billing_portal.session",
                "url": f"https://billing.stripe.com/p/session/{new_id('test')}",
                **params,
            }
            self.portal_sessions[session["id"]] = session
            return 200, session
        collections = {
            "products": (self.products, "prod"),
            "prices": (self.prices, "price"),
            "tax_rates": (self.tax_rates, "txr"),
            "customers": (self.customers, "cus"),
            "subscriptions": (self.subscriptions, "sub"),
        }
        if not parts or parts[0] not in collections:
            return 404, _error("invalid_request_error", f"Unrecognized request URL ({path})", None)
        store, prefix = collections[parts[0]]
        if len(parts) == 1 and method == "GET":
            return 200, self._list(parts[0], store, params)
        if len(parts) == 1 and method == "POST":
            return self._create(parts[0], store, prefix, params)
        obj = store.get(parts[1])
        if obj is None:
            return 404, _error("invalid_request_error", f"No such {parts[0]}: '{parts[1]}'",
                               "resource_missing")  # fmt: skip
        if method == "GET":
            return 200, obj
        if method == "DELETE" and parts[0] == "subscriptions":
            obj["status"] = "canceled"
            return 200, obj
        if method == "POST":
            return 200, self._update(parts[0], obj, params)
        return 405, _error("invalid_request_error", "method", None)

    def _list(self, kind: str, store: dict, params: dict) -> dict:
        items = list(store.values())
        if "lookup_keys" in params:
            items = [i for i in items if i.get("lookup_key") in params["lookup_keys"]]
        if "active" in params:
            wanted = params["active"] == "true"
            items = [i for i in items if i.get("active", True) == wanted]
        return {"object": "list", "url": f"/v1/{kind}", "has_more": False, "data": items}

    def _create(self, kind: str, store: dict, prefix: str, params: dict) -> tuple[int, dict]:
        obj_id = params.pop("id", None) or new_id(prefix)
        transfer = params.pop("transfer_lookup_key", None) == "true"
        if obj_id in store:
            return 400, _error("invalid_request_error", "already exists", "resource_already_exists")
        obj = {"id": obj_id, "object": kind.rstrip("s"), "active": True, "created": int(time.time()),
               "metadata": {}, **params}  # fmt: skip
        if kind == "prices":
            obj["unit_amount"] = int(obj["unit_amount"])
            if transfer:
                for other in store.values():
                    if other.get("lookup_key") == obj.get("lookup_key"):
                        other["lookup_key"] = None
        if kind == "tax_rates":
            obj["percentage"] = float(obj["percentage"])
        store[obj_id] = obj
        return 200, obj

    def _update(self, kind: str, obj: dict, params: dict) -> dict:
        if kind == "subscriptions":
            for change in params.pop("items", []):
                for item in obj["items"]["data"]:
                    if item["id"] == change.get("id") and "quantity" in change:
                        item["quantity"] = int(change["quantity"])
            params.pop("proration_behavior", None)
        for key, value in params.items():
            if key == "active":
                obj["active"] = value == "true"
            elif isinstance(value, dict) and isinstance(obj.get(key), dict):
                obj[key] = {**obj[key], **value}
            else:
                obj[key] = value
        return obj

    def _sessions(self, method: str, rest: list[str], params: dict) -> tuple[int, dict]:
        if method == "POST" and not rest:
            session = {
                "id": new_id("cs_test"),
                "object": "checkout.session",
                "url": f"https://checkout.stripe.com/c/pay/{new_id('cs_test')}",
                "status": "open",
                "subscription": None,
                **params,
            }
            self.sessions[session["id"]] = session
            return 200, session
        if method == "GET" and rest and rest[0] in self.sessions:
            return 200, self.sessions[rest[0]]
        return 404, _error("invalid_request_error", "No such checkout.session", "resource_missing")


def _error(kind: str, message: str, code: str | None) -> dict:
    return {"error": {"type": kind, "message": message, "code": code}}


# --- webhooks --------------------------------------------------------------------------------


def event(kind: str, obj: dict, *, created: int | None = None, event_id: str | None = None) -> dict:
    return {
        "id": event_id or new_id("evt"),
        "object": "event",
        "type": kind,
        "created": created or int(time.time()),
        "livemode": False,
        "api_version": "2025-01-27.acacia",
        "data": {"object": obj},
    }


def sign(payload: str, secret: str, *, timestamp: int | None = None) -> str:
    """The Stripe-Signature header: t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<payload>")."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"

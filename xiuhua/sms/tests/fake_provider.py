"""A fake SMS provider on loopback, written from the protocol in backends.py, not from its code.

It checks each SendSms request the way the provider would (signature, key id, timestamp window,
nonce reuse), answers as scripted (success, rate limit, invalid number, server error, a body that
is not JSON, or no answer at all), and can push delivery reports and inbound messages to the
app's webhooks, signed as signing.py describes. It keeps connections alive (HTTP/1.1), counts
every accepted message by its OutId (`sent`: a count above 1 is a message sent twice), and
answers QuerySendDetails from what it accepted, by phone and China date.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEY_ID = "LTAI-test-key"
KEY_SECRET = "test-secret-不要外传"
WEBHOOK_SECRET = "webhook-secret-for-tests"

ANSWERS = {
    "ok": None,  # filled per request with a fresh BizId
    "rate": (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发小时级流控Permits:5"}),
    "invalid": (200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}),
    "server_error": (500, {"Code": "isp.SYSTEM_ERROR", "Message": "系统错误"}),
}


def _enc(text: str) -> str:
    # RFC 3986 unreserved characters stay; every other UTF-8 byte is %XX in upper case.
    out = []
    for byte in text.encode("utf-8"):
        ch = chr(byte)
        if ch.isascii() and (ch.isalnum() or ch in "-_.~"):
            out.append(ch)
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def expected_signature(params: dict[str, str], secret: str) -> str:
    canonical = "&".join(f"{_enc(k)}={_enc(params[k])}" for k in sorted(params) if k != "Signature")
    to_sign = "POST&" + _enc("/") + "&" + _enc(canonical)
    return base64.b64encode(hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha256).digest()).decode()


def sign_webhook(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Sms-Timestamp": stamp, "X-Sms-Signature": signature}


CHINA = dt.timezone(dt.timedelta(hours=8))


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that went away (or was killed)
            super().handle_error(request, client_address)


class FakeProvider:
    def __init__(self, *, keep_requests: bool = True) -> None:
        self.accepted: list[dict[str, str]] = []  # verified SendSms requests, in order (if kept)
        self.keep_requests = keep_requests
        self.sent: Counter[str] = Counter()  # accepted SendSms requests by OutId
        self.records: dict[tuple[str, str], list[dict]] = defaultdict(list)  # (phone, yyyyMMdd) -> details
        self.queries = 0
        # Past this many accepted messages, SendSms requests wait for `release` before they are
        # taken (a worker can be caught with requests in flight); `holding` counts them.
        self.hold_after: int | None = None
        self.holding = 0
        self.refused: list[str] = []  # why a request was refused (bad signature, ...)
        self.script: list[str] = []  # answers to give next; "ok" when empty
        self.release = threading.Event()  # lets "hang" requests go
        self._nonces: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keeps the connection for the client's next request
            disable_nagle_algorithm = True  # the headers and the body go out as two writes

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                status, answer = provider.handle(self.headers.get("Content-Type", ""), body)
                if answer == "hang":
                    provider.release.wait(10)
                    status, answer = 200, {"Code": "OK", "BizId": "too-late"}
                if isinstance(answer, bytes):
                    payload, kind = answer, "text/html"
                else:
                    payload, kind = json.dumps(answer, ensure_ascii=False).encode(), "application/json"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout test)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def start(self) -> FakeProvider:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    # --- the provider's side of SendSms ------------------------------------------------------

    def handle(self, content_type: str, body: str):
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return self._refuse("content type", 400, "InvalidParameter")
        pairs = urllib.parse.parse_qsl(body, keep_blank_values=True, strict_parsing=True)
        params = dict(pairs)
        if len(params) != len(pairs):
            return self._refuse("repeated parameter", 400, "InvalidParameter")
        if params.get("AccessKeyId") != KEY_ID:
            return self._refuse("key id", 404, "InvalidAccessKeyId.NotFound")
        signature = params.get("Signature", "")
        if not hmac.compare_digest(signature, expected_signature(params, KEY_SECRET)):
            return self._refuse("signature", 400, "SignatureDoesNotMatch")
        required = {"Version": "2017-05-25", "Format": "JSON", "SignatureMethod": "HMAC-SHA256",
                    "SignatureVersion": "1.0"}
        if any(params.get(k) != v for k, v in required.items()) or params.get("Action") not in (
                "SendSms", "QuerySendDetails"):
            return self._refuse("fixed parameters", 400, "InvalidParameter")
        stamp = dt.datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        now = dt.datetime.now(dt.UTC)
        if abs((now - stamp).total_seconds()) > 900:
            return self._refuse("timestamp", 400, "InvalidTimeStamp.Expired")
        if params["Action"] == "QuerySendDetails":
            return self._query(params)
        held = self._hold()
        with self._lock:
            if held:
                self.holding -= 1  # taken below, in the same step
            if params["SignatureNonce"] in self._nonces:
                return self._refuse("nonce reused", 400, "SignatureNonceUsed")
            self._nonces.add(params["SignatureNonce"])
            json.loads(params["TemplateParam"])  # must be JSON
            if self.keep_requests:
                self.accepted.append(params)
            mode = self.script.pop(0) if self.script else "ok"
            if mode == "ok":
                self.sent[params.get("OutId", "")] += 1
                self.records[(params["PhoneNumbers"], now.astimezone(CHINA).strftime("%Y%m%d"))].append(
                    {"OutId": params.get("OutId", ""), "PhoneNum": params["PhoneNumbers"], "SendStatus": 1,
                     "TemplateCode": params["TemplateCode"], "SendDate": now.astimezone(CHINA).isoformat()})
        if mode == "ok":
            return 200, {"RequestId": "req", "Code": "OK", "Message": "OK", "BizId": f"biz-{next(self._ids)}^0"}
        if mode == "not_json":
            return 502, b"<html><body>502 Bad Gateway</body></html>"
        if mode == "hang":
            return 200, "hang"
        return ANSWERS[mode]

    def _hold(self) -> bool:
        with self._lock:
            if self.hold_after is None or sum(self.sent.values()) < self.hold_after:
                return False
            self.holding += 1
        self.release.wait(30)
        return True

    def _query(self, params: dict[str, str]):
        """QuerySendDetails: the accepted messages to one phone on one China date, a page at a time."""
        size, page = int(params.get("PageSize") or 10), int(params.get("CurrentPage") or 1)
        with self._lock:
            self.queries += 1
            mode = self.script.pop(0) if self.script and self.script[0] == "server_error" else "ok"
            records = list(self.records.get((params.get("PhoneNumber", ""), params.get("SendDate", "")), []))
        if mode != "ok":
            return ANSWERS[mode]
        return 200, {"RequestId": "req", "Code": "OK", "Message": "OK", "TotalCount": len(records),
                     "SmsSendDetailDTOs": {"SmsSendDetailDTO": records[(page - 1) * size:page * size]}}

    def stats(self) -> dict[str, int]:
        """Accepted messages: distinct OutIds, and how many of them were sent more than once."""
        with self._lock:
            return {"accepted": sum(self.sent.values()), "distinct": len(self.sent),
                    "sent_twice": sum(1 for n in self.sent.values() if n > 1), "queries": self.queries}

    def _refuse(self, why: str, status: int, code: str):
        with self._lock:
            self.refused.append(why)
        return status, {"RequestId": "req", "Code": code, "Message": why}

    # --- the provider's pushes to our webhooks ------------------------------------------------

    @staticmethod
    def push(url: str, payload, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", **sign_webhook(body, secret, timestamp)}
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.loads(exc.read())

"""Loopback servers that speak outside services' real protocols (used by tests and benchmarks)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve `app` on a free port of 127.0.0.1; its runner (to clean up) and base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@dataclass
class ReceivedMessage:
    """One Messages.json request as Twilio would have received it."""

    account_sid: str
    form: dict[str, str]
    received_at: float


@dataclass
class FakeTwilioApi:
    """Twilio's Messages API on 127.0.0.1: basic auth, form body, 201 JSON (or scripted failures)."""

    account_sid: str
    auth_token: str
    messages: list[ReceivedMessage] = field(default_factory=list)
    # Scripted answers, consumed in order before normal 201s: (status, twilio error code).
    failures: list[tuple[int, int]] = field(default_factory=list)
    # Recipients whose requests are accepted and never answered (until `recover()` or `stop()`).
    stalled: set[str] = field(default_factory=set)
    # Seconds every answer takes (a slow gateway).
    delay: float = 0.0
    stalled_requests: int = 0
    _recovered: asyncio.Event | None = None
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Condition | None = None
    url: str = ""

    async def start(self) -> str:
        """Serve on a free port; return the base URL."""
        self._arrived = asyncio.Condition()
        self._recovered = asyncio.Event()
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        self._runner, self.url = await serve(app)
        return self.url

    def recover(self) -> None:
        """Stop stalling: new requests are answered, and stalled ones are let go (with a 503 nobody reads)."""
        self.stalled.clear()
        if self._recovered:
            self._recovered.set()

    async def stop(self) -> None:
        """Shut the server down."""
        self.recover()
        if self._runner:
            await self._runner.cleanup()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Wait until at least `count` messages arrived; return them."""
        assert self._arrived is not None
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.messages) >= count), timeout)
        return list(self.messages)

    def _authorised(self, request: web.Request, sid: str) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == self.account_sid == sid and password == self.auth_token

    async def _create(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        if not self._authorised(request, sid):
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        if request.content_type != "application/x-www-form-urlencoded":
            return web.json_response({"code": 20001, "message": "bad content type", "status": 400}, status=400)
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        if not form.get("To") or not (form.get("From") or form.get("MessagingServiceSid")) or not form.get("Body"):
            return web.json_response({"code": 21604, "message": "missing To, From or Body", "status": 400},
                                     status=400)
        if form["To"] in self.stalled:
            assert self._recovered is not None
            self.stalled_requests += 1
            await self._recovered.wait()  # the connection stays open and silent, as a hung gateway's does
            return web.json_response({"code": 0, "message": "late", "status": 503}, status=503)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures:
            status, code = self.failures.pop(0)
            return web.json_response({"code": code, "message": "scripted failure", "status": status},
                                     status=status)
        message_sid = "SM" + uuid.uuid4().hex
        assert self._arrived is not None
        async with self._arrived:
            self.messages.append(ReceivedMessage(sid, form, time.monotonic()))
            self._arrived.notify_all()
        return web.json_response(_message_resource(sid, message_sid, form), status=201)


def _message_resource(account_sid: str, message_sid: str, form: dict[str, str]) -> dict[str, Any]:
    now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    return {
        "account_sid": account_sid, "api_version": "2010-04-01", "body": form["Body"],
        "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
        "error_code": None, "error_message": None, "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"), "num_media": "0", "num_segments": "1",
        "price": None, "price_unit": "USD", "sid": message_sid, "status": "queued", "subresource_uris": {},
        "to": form["To"], "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}.json",
    }


@dataclass
class FakeAfricasTalkingApi:
    """AT's messaging API on 127.0.0.1: `apiKey` header, form body, 201 JSON with a statusCode per recipient.

    `codes` scripts the statusCodes of the next sends, in order (then 101 Success); `http_failures` the
    HTTP statuses of the next answers, before any JSON.
    """

    username: str
    api_key: str
    messages: list[dict[str, str]] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)
    http_failures: list[int] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Condition | None = None
    url: str = ""

    async def start(self) -> str:
        """Serve on a free port; return the base URL (as EWS_AT_API_BASE takes it)."""
        self._arrived = asyncio.Condition()
        app = web.Application()
        app.router.add_post("/version1/messaging", self._send)
        self._runner, self.url = await serve(app)
        return self.url

    async def stop(self) -> None:
        """Shut the server down."""
        if self._runner:
            await self._runner.cleanup()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, str]]:
        """Wait until at least `count` messages were accepted; return them."""
        assert self._arrived is not None
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.messages) >= count), timeout)
        return list(self.messages)

    async def _send(self, request: web.Request) -> web.Response:
        if request.headers.get("apiKey") != self.api_key:
            # What AT answers a wrong key: 401 with a plain-text body.
            return web.Response(status=401, text="The supplied authentication is invalid")
        if request.content_type != "application/x-www-form-urlencoded":
            return web.Response(status=415, text="Unsupported media type")
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        if form.get("username") != self.username or not form.get("to") or not form.get("message"):
            return web.Response(status=400, text="Request is missing required form field 'to' or 'message'")
        if self.http_failures:
            return web.Response(status=self.http_failures.pop(0), text="scripted failure")
        code = self.codes.pop(0) if self.codes else 101
        status = {100: "Processed", 101: "Success", 102: "Queued", 401: "RiskHold", 402: "InvalidSenderId",
                  403: "InvalidPhoneNumber", 404: "UnsupportedNumberType", 405: "InsufficientBalance",
                  406: "UserInBlacklist", 407: "CouldNotRoute", 409: "DoNotDisturbRejection",
                  500: "InternalServerError", 501: "GatewayError", 502: "RejectedByGateway"}.get(code, "Unknown")
        sent = code in (100, 101, 102)
        message_id = "ATXid_" + uuid.uuid4().hex if sent else "None"
        recipients = [{"statusCode": code, "number": form["to"], "status": status,
                       "cost": "KES 0.8000" if sent else "0", "messageId": message_id}]
        if sent:
            assert self._arrived is not None
            async with self._arrived:
                self.messages.append({**form, "messageId": message_id})
                self._arrived.notify_all()
        total = "Sent to 1/1 Total Cost: KES 0.8000" if sent else "Sent to 0/1 Total Cost: 0"
        # AT answers 201 with exactly application/json (the SDK checks the content type to the letter).
        return web.Response(status=201, content_type="application/json",
                            text=json.dumps({"SMSMessageData": {"Message": total, "Recipients": recipients}}))


@dataclass
class FakeSmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1, on the test's own event loop.

    `rcpt_answers` scripts the replies to the next RCPT TO commands, in order ("450 4.2.0 Mailbox busy",
    "550 5.1.1 Mailbox unavailable"); then recipients are accepted and each message kept in `messages`.
    With `login` set (user, password) the server offers AUTH (over plain TCP: this is loopback) and
    refuses mail from sessions that did not authenticate.
    """

    rcpt_answers: list[str] = field(default_factory=list)
    login: tuple[str, str] | None = None
    messages: list[Any] = field(default_factory=list)  # aiosmtpd Envelope objects
    port: int = 0
    _server: asyncio.AbstractServer | None = None

    async def start(self) -> int:
        """Serve on a free port; return it."""
        from aiosmtpd.smtp import SMTP, AuthResult

        # aiosmtpd logs every line of every message at DEBUG: the outside world's log, not ours, and it
        # would quote the numbers a body may carry to the suite's leak guard.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        fake = self

        class Handler:
            async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                                  rcpt_options: list[str]) -> str:
                if fake.login is not None and not session.authenticated:
                    return "530 5.7.0 Authentication required"
                if fake.rcpt_answers:
                    return fake.rcpt_answers.pop(0)
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                fake.messages.append(envelope)
                return "250 Message accepted for delivery"

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
            ok = fake.login is not None and (auth_data.login.decode(), auth_data.password.decode()) == fake.login
            return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

        def factory() -> SMTP:
            if self.login is None:
                return SMTP(Handler(), hostname="smtp.test")
            return SMTP(Handler(), hostname="smtp.test", authenticator=authenticate, auth_require_tls=False)

        self._server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Shut the server down."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@dataclass
class FakeWebhookReceiver:
    """A partner's webhook endpoint at /hooks/ews: keeps each request, answers from `answers` (then 204)."""

    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes, str]] = field(default_factory=list)  # headers, raw body, path_qs
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Serve on a free port; return the base URL."""
        app = web.Application()
        app.router.add_post("/hooks/ews", self._hook)
        self._runner, self.url = await serve(app)
        return self.url

    async def stop(self) -> None:
        """Shut the server down."""
        if self._runner:
            await self._runner.cleanup()

    async def _hook(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read(), request.path_qs))
        status, headers = self.answers.pop(0) if self.answers else (204, {})
        if 300 <= status < 400:
            headers = {"Location": "http://127.0.0.1:1/elsewhere", **headers}
        return web.Response(status=status, headers=headers)

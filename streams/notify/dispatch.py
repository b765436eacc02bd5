"""Delivering notifications: a queue, a few workers, retries with back-off.

Evaluation never waits for a receiver: :meth:`Dispatcher.submit` only queues.
Workers pick items up, deliver them to every routed receiver concurrently,
retry transient failures (network errors, HTTP 429 and 5xx) with exponential
back-off, and report each outcome to ``on_result`` (the runtime records it on
the alert's timeline as ``notify`` / ``notify_failed``). Errors are masked
with :meth:`NotifyConfig.mask` before they leave this module.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from streams.alerting.engine import Notification
from streams.notify import payloads
from streams.notify.config import NotifyConfig, Receiver

__all__ = ["Delivery", "Dispatcher", "PermanentError"]

log = logging.getLogger(__name__)


class PermanentError(Exception):
    """A failure retrying will not fix (HTTP 4xx other than 429, a refused recipient)."""


@dataclass(frozen=True)
class Delivery:
    key: str
    receiver: str
    receiver_type: str
    ok: bool
    status: str  # firing | resolved
    attempts: int
    ts: float
    latency_s: float
    error: str = ""


OnResult = Callable[[Delivery], Awaitable[None] | None]


class Dispatcher:
    def __init__(
        self,
        config: NotifyConfig,
        on_result: OnResult | None = None,
        device_tags: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.config = config
        self.on_result = on_result
        self.device_tags = device_tags if device_tags is not None else {}
        self.queue: asyncio.Queue[tuple[Notification, float]] = asyncio.Queue(maxsize=10000)
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._workers: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.config.retry.timeout, follow_redirects=False)
        self._workers = [
            asyncio.create_task(self._work(), name=f"notify-{i}") for i in range(self.config.workers)
        ]

    async def stop(self, drain: float = 2.0) -> None:
        if drain > 0:
            try:
                async with asyncio.timeout(drain):
                    await self.queue.join()
            except TimeoutError:
                log.warning("notification queue not drained: %d left", self.queue.qsize())
        for w in self._workers:
            w.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        if self._client is not None:
            await self._client.aclose()

    def submit(self, note: Notification) -> None:
        """Queue one notification; a full queue drops it with a log line (counted)."""
        try:
            self.queue.put_nowait((note, time.time()))
        except asyncio.QueueFull:
            self.dropped += 1
            log.error("notification queue full: dropped %s for %s", note.status, note.alert.key)

    async def _work(self) -> None:
        while True:
            note, queued = await self.queue.get()
            try:
                tags = self.device_tags.get(note.alert.device, {})
                names = self.config.receivers_for(note.alert, note.status, note.escalated, tags)
                await asyncio.gather(*(self._deliver(self.config.receivers[n], note, queued) for n in names))
            except Exception:  # a bug in one notification must not kill the worker
                log.exception("notification of %s failed unexpectedly", note.alert.key)
            finally:
                self.queue.task_done()

    async def _deliver(self, rec: Receiver, note: Notification, queued: float) -> None:
        retry = self.config.retry
        error = ""
        attempt = 0
        ok = False
        for attempt in range(1, retry.attempts + 1):
            try:
                await self._send(rec, note)
                ok = True
                break
            except PermanentError as exc:
                error = self.config.mask(str(exc))
                break
            except Exception as exc:
                error = self.config.mask(f"{type(exc).__name__}: {exc}")
                if attempt < retry.attempts:
                    delay = min(retry.backoff * retry.factor ** (attempt - 1), retry.max_backoff)
                    log.info("receiver %s failed (%s), retry %d in %.1fs", rec.name, error, attempt, delay)
                    await asyncio.sleep(delay)
        now = time.time()
        if ok:
            self.sent += 1
        else:
            self.failed += 1
            log.warning(
                "notification of %s to %s failed after %d attempts: %s",
                note.alert.key,
                rec.name,
                attempt,
                error,
            )
        result = Delivery(
            note.alert.key, rec.name, rec.type, ok, note.status, attempt, now, now - queued, error[:500]
        )
        if self.on_result is not None:
            r = self.on_result(result)
            if r is not None:
                await r

    async def _send(self, rec: Receiver, note: Notification) -> None:
        a, status, reason = note.alert, note.status, note.reason
        if rec.type == "email":
            msg = payloads.email_message(rec, a, status, self.config.external_url, reason)
            await asyncio.to_thread(_smtp_send, rec, msg, self.config.retry.timeout)
            return
        if rec.type == "webhook":
            await self._post(
                rec, rec.url, payloads.alertmanager(a, status, rec.name, self.config.external_url, reason)
            )
        elif rec.type == "slack":
            await self._post(rec, rec.url, payloads.slack(a, status, reason))
        elif rec.type == "teams":
            await self._post(rec, rec.url, payloads.teams(a, status, rec.card, reason))
        elif rec.type == "telegram":
            url = f"{rec.api_base.rstrip('/')}/bot{rec.token}/sendMessage"
            await self._post(rec, url, payloads.telegram(a, status, rec.chat_id, reason))
        elif rec.type == "sms":
            text = payloads.text_of(a, status, reason)
            for to in rec.to:
                url, body = payloads.sms_request(rec, to, text)
                await self._post(rec, url, body, method=rec.method)

    async def _post(self, rec: Receiver, url: str, body: Any, method: str = "POST") -> None:
        assert self._client is not None, "Dispatcher.start() was not called"
        headers = dict(rec.headers)
        if rec.auth_header:
            headers["Authorization"] = rec.auth_header
        resp = await self._client.request(method, url, json=body, headers=headers)
        if resp.status_code == 429 or resp.status_code >= 500:
            raise RuntimeError(f"HTTP {resp.status_code}")
        if resp.status_code >= 400:
            raise PermanentError(f"HTTP {resp.status_code}: {resp.text[:200]}")


def _smtp_send(rec: Receiver, msg: Any, timeout: float) -> None:
    try:
        with smtplib.SMTP(rec.host, rec.port, timeout=timeout) as smtp:
            if rec.starttls:
                ctx = ssl.create_default_context()
                if not rec.tls_verify:
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                smtp.starttls(context=ctx)
            if rec.username:
                smtp.login(rec.username, rec.password)
            smtp.send_message(msg)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPAuthenticationError) as exc:
        raise PermanentError(f"SMTP refused: {type(exc).__name__}") from None

"""The outbox: mails (and password resets) this service owes, kept in its own store until the
mail service took them, so that nothing it answered 2xx for is lost to a Redis or mail outage.

* **Written before the answer.** A signup stores its confirmation mail (``OutboxMail``, keyed by
  the mail's idempotency key) in the same store as the profile, just before the profile: the
  profile is the commit point. An entry whose account does not exist ``grace`` seconds after it
  was written (the signup failed or lost a race) is void and dropped, never sent.
* **Tried at once.** Right after the change, the entry is handed to the worker
  (``tasks.deliver_outbox``); with the task queue down it is tried directly, once (the mail
  client's 2 s budget), and left pending when that fails too.
* **Drained until delivered.** Every process that served a signup, login, verification or
  reset runs a drainer thread (every ``outbox.drain_interval`` seconds) that tries each due
  entry, with backoff, under a lease (so two drainers do not try one entry at once). It needs
  no Redis: it calls the mail service directly.
* **Exactly once.** Every try carries the entry's idempotency key; the mail service answers a
  known key with the mail it already has, so a retry after a lost answer is not a second mail.
  The entry is deleted only once the mail service took it (202) or refused it for good (4xx).

The framework has no periodic-job hook for a service (nor a start-up hook), so the drainer is
started lazily by the handlers (``ensure_drainer``); a process that has served no request yet
has no drainer, and entries wait for the next one that has.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Any

from macaron import Service, current_service
from macaron.store import AlreadyExists, ConditionFailed
from macaron.tasks import QueueUnavailable

from .tasks import deliver_outbox, request_mail, start_password_reset

BACKOFF = (1, 2, 4, 8, 15, 30, 60)  # seconds before try i + 1; the last one repeats
LEASE = 30.0  # longer than one try can take (mail: 2 s, reset: Auth0's 8 s + mail's 2 s)
_LOCK = threading.Lock()


def _settings(service: Service) -> dict[str, Any]:
    return dict(service.config.get("outbox") or {})


def add(service: Service, kind: str, to: str, *, key: str, template: str | None = None,
        data: dict[str, Any] | None = None, user_id: str | None = None) -> Any:
    """Store what is owed (idempotently: a key already owed is the same entry) and return it."""
    now = time.time()
    fields: dict[str, Any] = {"id": key, "kind": kind, "to": to, "state": "pending", "attempts": 0,
                              "next_at": now, "lease_until": 0, "created_at": now}
    if template is not None:
        fields["template"] = template
    if template is not None or data is not None:
        fields["data"] = data or {}
    if user_id is not None:
        fields["user_id"] = user_id
    entry = service.models.OutboxMail(**fields)
    try:
        entry.create()
    except AlreadyExists:
        return service.models.OutboxMail.get(key) or entry
    return entry


def send_soon(service: Service, entry_id: str) -> None:
    """The try right after the change: queue it for the worker; the queue down, try it now once.
    Never raises: what fails stays in the outbox for the drainer."""
    ensure_drainer(service)
    try:
        deliver_outbox.delay(entry_id)
        return
    except QueueUnavailable:
        service.log.warning("the task queue is unavailable; trying the outbox entry directly")
    try:
        attempt(service, entry_id)
    except Exception as exc:
        service.log.error("outbox entry not tried: %s", type(exc).__name__)


def hand_off_reset(service: Service, email: str, stamp: str) -> None:
    """A password reset, handed off without looking at the account (so every answer is the same
    work): the reset task queued, or with the queue down an outbox entry stored (its key random,
    as the address may have no account)."""
    ensure_drainer(service)
    try:
        start_password_reset.delay(email, stamp)
    except QueueUnavailable:
        add(service, "reset", email, key=f"reset-request:{uuid.uuid4().hex}", data={"stamp": stamp})


def _perform(service: Service, entry: Any) -> None:
    """One try of ``entry``; raises on an outage (the entry is then retried)."""
    if entry.kind == "reset":
        start_password_reset.bind(service).run_now(entry.to, (entry.data or {}).get("stamp", ""))
        return
    request_mail.bind(service).run_now(entry.to, entry.template, entry.data or {}, entry.id)


def attempt(service: Service, entry_id: str) -> str:
    """Try entry ``entry_id`` now: ``done`` (delivered or refused for good, and deleted), ``void``
    (its account does not exist: dropped), ``later`` (failed or not yet valid; retried), ``busy``
    (another drainer holds it) or ``gone`` (nothing owed under this key)."""
    Outbox = service.models.OutboxMail
    entry = Outbox.get(entry_id)
    if entry is None:
        return "gone"
    now = time.time()
    if entry.lease_until > now:
        return "busy"
    held = entry.lease_until
    entry.lease_until = now + LEASE
    try:
        entry.save(expect={"lease_until": held})
    except ConditionFailed:
        return "busy"
    grace = float(_settings(service).get("grace", 30))
    try:
        if entry.kind == "mail" and entry.user_id and service.models.User.get(entry.user_id) is None:
            if now - entry.created_at > grace:
                entry.delete()
                return "void"
            entry.lease_until, entry.next_at = 0, now + 1
            entry.save()
            return "later"
        _perform(service, entry)
    except Exception as exc:
        entry.attempts += 1
        entry.next_at = time.time() + BACKOFF[min(entry.attempts, len(BACKOFF)) - 1]
        entry.lease_until = 0
        entry.last_error = f"{type(exc).__name__}: {getattr(exc, 'detail', '') or exc}"[:300]
        entry.save()
        return "later"
    entry.delete()
    return "done"


def drain(service: Service, *, limit: int = 1000) -> dict[str, int]:
    """Try every due entry once; how many ended each way."""
    now = time.time()
    counts: dict[str, int] = {}
    for entry in service.models.OutboxMail.find_all_by("state", "pending", limit=limit):
        if entry.next_at <= now and entry.lease_until <= now:
            outcome = attempt(service, entry.id)
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def pending(service: Service) -> int:
    return len(service.models.OutboxMail.find_all_by("state", "pending"))


def ensure_drainer(service: Service | None = None) -> None:
    """Start this process's drainer thread for ``service`` unless it runs (``drain_interval`` 0: none)."""
    service = service or current_service()
    interval = float(_settings(service).get("drain_interval", 2))
    if interval <= 0:
        return
    state = service.extensions.setdefault("user.outbox", {})
    running = state.get("thread")
    if running is not None and running.is_alive() and state.get("pid") == os.getpid():
        return
    with _LOCK:
        running = state.get("thread")
        if running is not None and running.is_alive() and state.get("pid") == os.getpid():
            return
        stop = threading.Event()
        thread = threading.Thread(target=_drain_forever, args=(service, interval, stop),
                                  name=f"{service.name}-outbox-drainer", daemon=True)
        state.update(thread=thread, pid=os.getpid(), stop=stop)
        thread.start()


def stop_drainer(service: Service) -> None:
    """Stop this process's drainer (tests); a running try finishes first."""
    state = service.extensions.get("user.outbox") or {}
    if state.get("stop") is not None:
        state["stop"].set()
        state["thread"].join(timeout=LEASE)


def _drain_forever(service: Service, interval: float, stop: threading.Event) -> None:
    last_report = 0.0
    while not stop.wait(interval):
        try:
            drain(service)
        except Exception as exc:  # the store itself is down: next round
            if time.monotonic() - last_report > 60:
                last_report = time.monotonic()
                service.log.warning("outbox drain failed: %s", type(exc).__name__)

"""The transactional outbox: task messages are rows committed with the change that needs them, then sent.

A view (or task) calls `stage` before its commit, so the submission and its grading message, or the reset request
and its mail, are stored together or not at all. After the commit, `flush` hands what this session staged to the
broker. When the broker is down the rows stay, nothing is lost and the user's request still succeeds; the periodic
sweeper `drain`s whatever is left once the broker is back.

Sending is at least once: a message is claimed by one atomic UPDATE (so two senders never send it together),
deleted after the broker accepted it, and sent again only if its sender died in between. Every task the outbox
sends is idempotent (grading claims its submission; a mail sent twice is the rare worst case).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from flask import current_app
from kombu import Connection
from kombu.exceptions import KombuError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from certplatform.extensions import db
from certplatform.models import OutboxMessage
from certplatform.models.types import utcnow

log = logging.getLogger(__name__)

CLAIM = timedelta(seconds=60)  # how long one sender holds a message before another may try it
DRAIN_BATCH = 500
_STAGED = "certplatform.outbox.staged"
# What publishing raises when the broker cannot be reached (kombu wraps most; some transports raise their own).
BROKER_ERRORS = (KombuError, OSError, RedisConnectionError, RedisTimeoutError)


def stage(task: str, args: list[Any], options: dict[str, Any] | None = None, ref: str | None = None) -> OutboxMessage:
    """Add a message to the current transaction; it is sent by `flush` after the commit (or by the sweeper)."""
    message = OutboxMessage(task=task, args=list(args), options=dict(options or {}), ref=ref, available_at=utcnow())
    db.session.add(message)
    db.session.info.setdefault(_STAGED, []).append(message)
    return message


def flush() -> bool:
    """Send what this session staged and committed; True when the broker took all of it."""
    staged = db.session.info.pop(_STAGED, [])
    ids = [sa.inspect(m).identity[0] for m in staged if sa.inspect(m).persistent]  # no reload: it may be sent
    return _send_ids(ids)


def pending(ref: str) -> bool:
    return db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.ref == ref).limit(1)) is not None


def send(ref: str) -> bool:
    """Send every waiting message about `ref` now; True when none is left waiting."""
    ids = db.session.scalars(sa.select(OutboxMessage.id).where(OutboxMessage.ref == ref).order_by(OutboxMessage.id))
    return _send_ids(list(ids)) and not pending(ref)


def drain(now: datetime | None = None, limit: int = DRAIN_BATCH) -> int:
    """Send messages that are due, oldest first, until the broker refuses one; returns how many went out."""
    now = now or utcnow()
    ids = list(
        db.session.scalars(
            sa.select(OutboxMessage.id)
            .where(OutboxMessage.available_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )
    sent = 0
    with _broker() as connection:
        if connection is False:
            return 0
        for message_id in ids:
            outcome = _send_one(connection, message_id, now)
            if outcome is False:
                break  # the broker went away: the rest waits for the next sweep
            sent += bool(outcome)
    return sent


def waiting() -> int:
    return db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) or 0


def _send_ids(ids: list[int]) -> bool:
    if not ids:
        return True
    delivered = True
    with _broker() as connection:
        if connection is False:
            return False
        for message_id in ids:
            outcome = _send_one(connection, message_id)
            if outcome is False:
                return False
            delivered = delivered and outcome is True
    return delivered


@contextmanager
def _broker() -> Iterator[Connection | Literal[False] | None]:
    """One connection for a batch, checked once without retrying: False when the broker does not answer.

    Celery's own publishing retries the connection for several seconds, which a user would wait through; here a
    broker that is down costs one refused connection. None in eager mode (tests), where no broker is involved.
    """
    celery = current_app.extensions["celery"]
    if celery.conf.task_always_eager:
        yield None
        return
    with celery.connection_for_write() as connection:
        try:
            connection.ensure_connection(max_retries=0)
        except BROKER_ERRORS as exc:
            log.warning("broker unavailable, %d message(s) stay in the outbox: %s", waiting(), exc)
            yield False
            return
        yield connection


def _send_one(connection: Connection | None, message_id: int, now: datetime | None = None) -> bool | None:
    """True: sent and deleted. False: the broker refused it (it stays). None: another sender holds it, or it is gone."""
    now = now or utcnow()
    claimed = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.available_at <= now)
        .values(available_at=now + CLAIM, tries=OutboxMessage.tries + 1)
    ).rowcount
    db.session.commit()
    if claimed != 1:
        return None
    message = db.session.get(OutboxMessage, message_id)
    try:
        _publish(message, connection)
    except BROKER_ERRORS as exc:
        log.warning("broker unavailable, %s (message %d) stays in the outbox: %s", message.task, message.id, exc)
        message.available_at = utcnow()  # free for the next sender at once
        message.last_error = f"{type(exc).__name__}: {exc}"[:500]
        db.session.commit()
        return False
    db.session.delete(message)
    db.session.commit()
    return True


def _publish(message: OutboxMessage, connection: Connection | None) -> None:
    """Hand the message to the broker by task name: the services never import the task module, which imports
    them. In eager mode (tests; no connection) the task runs here, found by name in the app's registry."""
    celery = current_app.extensions["celery"]
    if connection is None:
        if message.task not in celery.tasks:
            celery.loader.import_default_modules()  # the configured `imports`, once
        celery.tasks[message.task].apply_async(args=message.args, **message.options)
        return
    celery.send_task(message.task, args=message.args, connection=connection, retry=False, **message.options)

"""The outbox: a message exists exactly when its transaction committed, and one sender at a time sends it."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import OutboxMessage
from certplatform.models.types import utcnow
from certplatform.services import mailer, outbox
from tests.conftest import outbox as sent_mail


def test_a_staged_mail_is_sent_after_the_commit(app) -> None:
    mailer.stage_mail("ada@example.com", "Hello", "Body")
    db.session.commit()
    assert outbox.waiting() == 1 and sent_mail(app) == []
    assert outbox.flush() is True
    assert [m.to for m in sent_mail(app)] == [["ada@example.com"]] and outbox.waiting() == 0


def test_a_rolled_back_transaction_sends_nothing(app) -> None:
    mailer.stage_mail("ada@example.com", "Hello", "Body")
    db.session.rollback()
    assert outbox.flush() is True  # nothing left to send
    assert outbox.waiting() == 0 and sent_mail(app) == []


def test_a_message_held_by_another_sender_is_left_to_it(app) -> None:
    mailer.stage_mail("ada@example.com", "Hello", "Body")
    db.session.commit()
    message = db.session.scalar(sa.select(OutboxMessage))
    message.available_at = utcnow() + timedelta(seconds=30)  # claimed by a sender that is still at it
    db.session.commit()
    assert outbox.drain() == 0 and outbox.flush() is False
    assert sent_mail(app) == []
    # That sender died: after its claim lapses the next drain sends the message, once.
    assert outbox.drain(now=utcnow() + timedelta(seconds=31)) == 1
    assert outbox.drain(now=utcnow() + timedelta(seconds=31)) == 0
    assert len(sent_mail(app)) == 1 and outbox.waiting() == 0

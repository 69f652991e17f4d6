"""Celery tasks: they take plain values or primary keys, call services, and are safe to run twice."""

from __future__ import annotations

from celery import shared_task
from flask import current_app
from flask_mailman import EmailMessage


@shared_task(name="certplatform.send_email", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email(to: str, subject: str, body: str) -> None:
    """Deliver one plain-text message through the configured mail backend."""
    message = EmailMessage(subject=subject, body=body, from_email=current_app.config["MAIL_DEFAULT_SENDER"], to=[to])
    message.send()


@shared_task(name="certplatform.ping")
def ping() -> str:
    """Round trip through the broker, used to check that workers are consuming."""
    return "pong"

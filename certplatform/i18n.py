"""Language selection: the user's saved choice, then the session's, then Accept-Language."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

from certplatform.models import Locale

SESSION_KEY = "locale"
LANGUAGE_NAMES = {Locale.EN: "English", Locale.ZH_CN: "中文"}


def current_locale() -> Locale:
    """The interface language of this request as our enum (Babel spells Simplified Chinese zh_Hans_CN)."""
    return Locale.ZH_CN if get_locale().language == "zh" else Locale.EN


def pick(zh, en):
    """Of a value written in both languages, the one in the reader's language."""
    return zh if current_locale() is Locale.ZH_CN else en


def current_lang() -> str:
    """The reader's language as content files key their texts: "zh" or "en"."""
    return pick("zh", "en")


def parse_locale(value: str | None) -> Locale | None:
    try:
        return Locale(value) if value else None
    except ValueError:
        return None


def locale_for_tag(tag: str | None) -> Locale:
    """Our language for a language tag (zh, zh-CN, zh_Hans, ... are Simplified Chinese; anything else English)."""
    return Locale.ZH_CN if (tag or "").lower().startswith("zh") else Locale.EN


def select_locale() -> str:
    if not has_request_context():  # commands and tasks choose their language explicitly (force_locale)
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale:
        return current_user.locale.value
    chosen = parse_locale(session.get(SESSION_KEY))
    if chosen:
        return chosen.value
    # Browsers send zh-CN, zh-Hans, zh ...; every Chinese variant gets the Simplified Chinese interface.
    best = request.accept_languages.best_match(["en", "zh-CN", "zh-Hans", "zh"])
    return locale_for_tag(best).value if best else current_app.config["BABEL_DEFAULT_LOCALE"]

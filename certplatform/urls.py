"""URLs: links that come from the user, and absolute links on the platform's public address."""

from __future__ import annotations

from urllib.parse import quote, urlsplit


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


_FRAGMENT_SAFE = "%!#$&'()*+,/:;=?@~"


def public_url(endpoint: str, **values: object) -> str:
    """An absolute URL of `endpoint` on the platform's public address (PUBLIC_BASE_URL).

    Everything that leaves the site with a link in it (certificates, QR codes, Open Badges, mail, the OpenAPI
    document, links shown for copying) uses this, never the Host header of the request that happens to build
    it: a request to an internal name or a forged Host must not end up printed on a certificate or in a mail.
    Works without a request (commands, Celery tasks). `_anchor` adds a fragment, as with `url_for`.
    """
    from flask import current_app

    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    anchor = values.pop("_anchor", None)
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{quote(str(anchor), safe=_FRAGMENT_SAFE)}" if anchor else url

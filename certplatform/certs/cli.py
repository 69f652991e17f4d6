"""`certplatform keys init|rotate` and `certplatform certificates verify-pdf FILE|publish-status-list`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext


def init_app(app: Flask) -> None:
    app.cli.add_command(keys)
    app.cli.add_command(certificates)


@click.group("keys")
def keys() -> None:
    """Certificate signing keys (kept outside the database, files 0600)."""


@keys.command("init")
@with_appcontext
def init() -> None:
    """Create the signing key and the PDF signing certificate."""
    from certplatform.certificates.keys import CertificateKeyError
    from certplatform.services.certificates.issuing import keystore

    store = keystore()
    try:
        keyset = store.init()
    except CertificateKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created signing key {keyset.key_id} in {store.directory}")
    click.echo(f"PDF signing certificate SHA-256 {keyset.pdf_cert_fingerprint()}")


@keys.command("rotate")
@with_appcontext
def rotate() -> None:
    """Add a new active key; certificates signed with older keys stay verifiable."""
    from certplatform.certificates.keys import CertificateKeyError
    from certplatform.services import audit
    from certplatform.services.certificates.issuing import keystore

    try:
        keyset = keystore().rotate()
    except CertificateKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    from certplatform.extensions import db

    audit.record(None, "keys.rotate", "signing_key", keyset.key_id, via="cli")
    db.session.commit()
    click.echo(f"new active signing key {keyset.key_id}; {len(keystore().all())} keys in total")


@click.group("certificates")
def certificates() -> None:
    """Certificate commands."""


def _cli_locale(choice: str | None) -> str:
    """The language of command output: --lang, else the terminal's locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG)."""
    from babel import default_locale

    if choice is None:
        choice = default_locale(("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")) or "en"
    from certplatform.i18n import locale_for_tag

    return locale_for_tag(choice).value


@certificates.command("verify-pdf")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--lang", type=click.Choice(["en", "zh"]), help="Language of the report (default: the terminal's).")
@with_appcontext
def verify_pdf(file: Path, lang: str | None) -> None:
    """Check a certificate PDF: PAdES signature intact, signed by the platform, and a live record. Exit 0 when valid.

    The last line is VALID or NOT VALID in every language.
    """
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from certplatform.services.certificates.status import STATUS_LABELS
    from certplatform.services.certificates.verification import check_uploaded_pdf

    result = check_uploaded_pdf(file.read_bytes())
    with force_locale(_cli_locale(lang)):
        yes, no = _("yes"), _("no")
        lines = [
            (_("Signed:"), yes if result.signed else no),
            (_("Unmodified since signing:"), yes if result.intact else no),
            (_("Signed by this platform:"), yes if result.trusted else no),
            (_("The document issued for a live record:"), yes if result.same_document else no),
        ]
        if result.certificate is not None:
            lines.append((_("Certificate:"), f"{result.certificate.id} ({STATUS_LABELS[result.status]})"))
        facts = result.assessment.facts if result.assessment is not None else None
        if facts is not None:  # from the signed snapshot only
            holder = facts.holder_name_latin + (f" · {facts.holder_name_zh}" if facts.holder_name_zh else "")
            lines.append((_("Holder"), holder))
            lines.append((_("Level"), facts.level))
            lines.append((_("Issued"), facts.issued_at.strftime("%Y-%m-%d")))
            lines.append((_("Valid until"), facts.expires_at.strftime("%Y-%m-%d")))
        if result.problem:
            lines.append((_("Problem:"), result.problem_message))
        if result.assessment is not None:
            lines.extend((_("Problem:"), message) for message in result.assessment.problem_messages)
        for label, value in lines:
            click.echo(f"{label} {value}")
    click.echo("VALID" if result.valid else "NOT VALID")
    raise SystemExit(0 if result.valid else 1)


@certificates.command("publish-status-list")
@with_appcontext
def publish_status_list() -> None:
    """Sign the revocation status list again (after a key rotation or a change of PUBLIC_BASE_URL).

    Bits are only ever added: every verified revocation in the database is included, none is removed.
    """
    from certplatform.certificates.keys import CertificateKeyError
    from certplatform.certificates.status_list import StatusListError
    from certplatform.services.certificates.revocation import republish_status_list

    try:
        count = republish_status_list()
    except (CertificateKeyError, StatusListError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"status list signed again: {count} revoked certificate(s)")

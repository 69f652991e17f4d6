"""`certplatform keys init|rotate` and `certplatform certificates verify-pdf FILE`."""

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
    from certplatform.services.issuing import keystore

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
    from certplatform.services.issuing import keystore

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


@certificates.command("verify-pdf")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def verify_pdf(file: Path) -> None:
    """Check a certificate PDF: PAdES signature intact, signed by the platform, and a live record. Exit 0 when valid."""
    from certplatform.services.verification import check_uploaded_pdf

    result = check_uploaded_pdf(file.read_bytes())
    click.echo(f"signed:              {'yes' if result.signed else 'no'}")
    click.echo(f"unmodified:          {'yes' if result.intact else 'no'}")
    click.echo(f"signed by platform:  {'yes' if result.trusted else 'no'}")
    click.echo(f"issued document:     {'yes' if result.same_document else 'no'}")
    if result.certificate is not None:
        click.echo(f"certificate:         {result.certificate.id} ({result.status})")
    if result.problem:
        click.echo(f"problem:             {result.problem}")
    click.echo("VALID" if result.valid else "NOT VALID")
    raise SystemExit(0 if result.valid else 1)

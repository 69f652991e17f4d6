"""The certificate PDF: rendering, PAdES signing, and checking uploads."""

from __future__ import annotations

import io
import os
import re
from dataclasses import replace

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pypdf import PdfReader

from certplatform.certificates.ids import new_certificate_id
from certplatform.certificates.keys import KeyStore
from certplatform.certificates.pdf import (
    MODIFIED,
    NO_KEYS,
    NO_SIGNATURE,
    NOT_A_PDF,
    NOT_OURS,
    CertificateDocument,
    check_pdf,
    render_pdf,
    sign_pdf,
)
from tests.certificates.factories import make_document


def _signed_range_end(pdf: bytes) -> int:
    """End of the first /ByteRange part: everything before it is covered by the signature."""
    match = re.search(rb"/ByteRange\s*\[\s*0\s+(\d+)", pdf)
    assert match
    return int(match.group(1))


def test_render_is_a_bilingual_a4_landscape_page(document: CertificateDocument) -> None:
    pdf = render_pdf(document)
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (842, 595)
    text = page.extract_text()
    for expected in (
        document.holder_name_latin,
        document.holder_name_zh,
        document.title_en,
        document.title_zh,
        document.certificate_id,
        document.issued_on,
        document.expires_on,
        document.score_percent,
        document.verify_url,
        document.key_fingerprint,
        "认证证书",
    ):
        assert expected in text, expected
    assert reader.metadata is not None
    assert reader.metadata.subject == document.certificate_id


def test_render_copes_with_long_and_non_latin1_names(keystore: KeyStore) -> None:
    document = make_document(keystore, holder_name_latin="Łukasz Nguyễn " * 6, holder_name_zh=None)
    text = PdfReader(io.BytesIO(render_pdf(document))).pages[0].extract_text()
    assert document.certificate_id in text


def test_signed_pdf_checks_signed_intact_trusted(keystore: KeyStore, document: CertificateDocument) -> None:
    signed = sign_pdf(render_pdf(document), keystore.active())
    (signature,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    assert signature.field_name == "FlagOSCertificate"
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    result = check_pdf(signed, keystore)
    assert (result.signed, result.intact, result.trusted) == (True, True, True)
    assert result.ok
    assert result.key_id == keystore.active().key_id
    assert result.certificate_id == document.certificate_id
    assert result.problem is None
    # Signing appends to the rendered file: the page is untouched.
    assert document.holder_name_latin in PdfReader(io.BytesIO(signed)).pages[0].extract_text()


def _flip_in_page_stream(pdf: bytes) -> bytes:
    start = re.search(rb"stream\r?\n", pdf)
    assert start
    position = start.end() + 10
    assert position < _signed_range_end(pdf)
    altered = bytearray(pdf)
    altered[position] ^= 0x01
    return bytes(altered)


def _swap_certificate_id(pdf: bytes) -> bytes:
    """Claim another (well-formed) certificate ID in the metadata, keeping every offset in place."""
    original = re.search(rb"/Subject \((FLAGOS-L1-[^)]+)\)", pdf)
    assert original and original.end() < _signed_range_end(pdf)
    forged = new_certificate_id("L1").encode()
    return pdf.replace(original.group(1), forged, 1)


@pytest.mark.parametrize("alter", [_flip_in_page_stream, _swap_certificate_id])
def test_a_change_inside_the_signed_range_is_caught(keystore, document, alter) -> None:
    altered = alter(sign_pdf(render_pdf(document), keystore.active()))
    result = check_pdf(altered, keystore)
    assert result.signed
    assert not result.intact
    assert not result.ok
    assert result.problem == MODIFIED


def test_an_update_appended_after_signing_is_caught(keystore: KeyStore, document: CertificateDocument) -> None:
    signed = sign_pdf(render_pdf(document), keystore.active())
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    writer.root["/Lang"] = generic.TextStringObject("en")
    writer.update_root()
    output = io.BytesIO()
    writer.write(output)
    result = check_pdf(output.getvalue(), keystore)
    assert result.signed and not result.intact
    assert result.problem == MODIFIED


def test_a_pdf_signed_by_another_key_store_is_not_trusted(keystore, other_keystore, document) -> None:
    signed = sign_pdf(render_pdf(document), other_keystore.active())
    result = check_pdf(signed, keystore)
    assert result.signed and result.intact
    assert not result.trusted
    assert result.key_id is None
    assert result.problem == NOT_OURS


def test_an_unsigned_pdf(keystore: KeyStore, document: CertificateDocument) -> None:
    result = check_pdf(render_pdf(document), keystore)
    assert (result.signed, result.intact, result.trusted) == (False, False, False)
    assert result.problem == NO_SIGNATURE


@pytest.mark.parametrize("data", [b"", b"garbage", os.urandom(4096), b"<html>%PDF</html>", "not bytes"])
def test_garbage_is_not_a_pdf(keystore: KeyStore, data: bytes) -> None:
    result = check_pdf(data, keystore)  # type: ignore[arg-type]
    assert not result.signed
    assert result.problem == NOT_A_PDF


def test_damaged_pdfs_never_raise(keystore: KeyStore, document: CertificateDocument) -> None:
    signed = sign_pdf(render_pdf(document), keystore.active())
    for damaged in (b"%PDF-1.7\n" + os.urandom(2000), signed[: len(signed) // 2], signed[:-40], signed[:300]):
        result = check_pdf(damaged, keystore)
        assert not result.ok and result.problem


def test_old_pdfs_stay_trusted_after_rotation(keystore: KeyStore, document: CertificateDocument) -> None:
    old_key = keystore.active()
    old_pdf = sign_pdf(render_pdf(document), old_key)
    new_key = keystore.rotate()
    new_document = replace(document, key_fingerprint=new_key.pdf_cert_fingerprint())
    new_pdf = sign_pdf(render_pdf(new_document), keystore.active())

    old_result, new_result = check_pdf(old_pdf, keystore), check_pdf(new_pdf, keystore)
    assert old_result.ok and old_result.key_id == old_key.key_id
    assert new_result.ok and new_result.key_id == new_key.key_id


def test_without_keys_nothing_is_trusted(tmp_path, keystore: KeyStore, document: CertificateDocument) -> None:
    signed = sign_pdf(render_pdf(document), keystore.active())
    result = check_pdf(signed, KeyStore(tmp_path / "empty"))
    assert result.signed and not result.trusted
    assert result.problem == NO_KEYS

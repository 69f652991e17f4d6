"""The certificate document: a bilingual A4 page rendered with ReportLab, PAdES-signed and checked with pyHanko."""

from __future__ import annotations

import io
from dataclasses import dataclass

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from certplatform.certificates.ids import normalize_certificate_id
from certplatform.certificates.keys import KeySet, KeyStore
from certplatform.config import PLATFORM_NAME

SIGNATURE_FIELD = "FlagOSCertificate"

# The problems check_pdf reports, as codes; the application words and translates them for people.
NOT_A_PDF = "not_a_pdf"
UNREADABLE_PDF = "unreadable_pdf"
NO_SIGNATURE = "no_signature"
UNREADABLE_SIGNATURE = "unreadable_signature"
MODIFIED = "modified"
NOT_OURS = "not_ours"
UNTRUSTED = "untrusted"  # our certificate, but pyHanko did not accept it as a trust root (expired, malformed)
NO_KEYS = "no_keys"

# ReportLab's built-in Adobe CID font: Chinese without shipping a font file (the reader supplies the glyphs).
CJK_FONT = "STSong-Light"
INK = colors.HexColor("#1B2A41")
ACCENT = colors.HexColor("#8C6D1F")
MUTED = colors.HexColor("#555555")
PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
MARGIN = 60


@dataclass(frozen=True)
class CertificateDocument:
    """Everything printed on the certificate, already formatted as text."""

    certificate_id: str
    holder_name_latin: str
    holder_name_zh: str | None
    level: str
    title_en: str
    title_zh: str
    issued_on: str
    expires_on: str
    score_percent: str
    verify_url: str
    key_fingerprint: str


@dataclass(frozen=True)
class PdfCheck:
    """What check_pdf found. `certificate_id` is what the signed revision claims; rely on it only if all flags hold.

    `problem` is one of the codes above, or None when the signature is intact and the platform's.
    """

    signed: bool
    intact: bool
    trusted: bool
    key_id: str | None
    certificate_id: str | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.trusted


# -- rendering ---------------------------------------------------------------------------------------------------


def _register_fonts() -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def _runs(text: str, font: str) -> list[tuple[str, str]]:
    """Split `text` into (segment, font) runs: characters a standard font cannot encode go to the CID font.

    Helvetica covers Western European names; STSong-Light adds Chinese, pinyin accents and some other Latin
    letters (e.g. Ł). Letters neither font has (much of Vietnamese) cannot be printed without shipping a font file.
    """
    if font == CJK_FONT:
        return [(text, font)] if text else []
    runs: list[tuple[str, str]] = []
    for char in text:
        try:
            char.encode("cp1252")
            char_font = font
        except UnicodeEncodeError:
            char_font = CJK_FONT
        if runs and runs[-1][1] == char_font:
            runs[-1] = (runs[-1][0] + char, char_font)
        else:
            runs.append((char, char_font))
    return runs


def _width(runs: list[tuple[str, str]], size: float) -> float:
    return sum(pdfmetrics.stringWidth(segment, font, size) for segment, font in runs)


def _fitted_size(runs: list[tuple[str, str]], size: float, max_width: float, min_size: float = 7) -> float:
    """Shrink `size` until the text fits in `max_width` (long names must not run off the page)."""
    while size > min_size and _width(runs, size) > max_width:
        size -= 0.5
    return size


def _draw_runs(canvas: Canvas, x: float, y: float, runs: list[tuple[str, str]], size: float) -> None:
    for segment, font in runs:
        canvas.setFont(font, size)
        canvas.drawString(x, y, segment)
        x += pdfmetrics.stringWidth(segment, font, size)


def _centered(canvas: Canvas, y: float, text: str, font: str, size: float, color=INK, max_width: float = 660) -> None:
    runs = _runs(text, font)
    size = _fitted_size(runs, size, max_width)
    canvas.setFillColor(color)
    _draw_runs(canvas, (PAGE_WIDTH - _width(runs, size)) / 2, y, runs, size)


def _left(canvas: Canvas, x: float, y: float, text: str, font: str, size: float, color=INK, max_width=460) -> None:
    runs = _runs(text, font)
    canvas.setFillColor(color)
    _draw_runs(canvas, x, y, runs, _fitted_size(runs, size, max_width))


def _bilingual_label(
    canvas: Canvas, x: float, y: float, english: str, chinese: str, size: float = 9, *, centred: bool = True
) -> None:
    """`English 中文` as one label, each part in its own font; centred on x, or starting at x."""
    gap = size * 0.6
    width_en = pdfmetrics.stringWidth(english, "Helvetica", size)
    width_zh = pdfmetrics.stringWidth(chinese, CJK_FONT, size)
    start = x - (width_en + gap + width_zh) / 2 if centred else x
    canvas.setFillColor(MUTED)
    canvas.setFont("Helvetica", size)
    canvas.drawString(start, y, english)
    canvas.setFont(CJK_FONT, size)
    canvas.drawString(start + width_en + gap, y, chinese)


def _frame(canvas: Canvas) -> None:
    canvas.setStrokeColor(INK)
    canvas.setLineWidth(2.5)
    canvas.rect(22, 22, PAGE_WIDTH - 44, PAGE_HEIGHT - 44)
    canvas.setStrokeColor(ACCENT)
    canvas.setLineWidth(0.8)
    canvas.rect(30, 30, PAGE_WIDTH - 60, PAGE_HEIGHT - 60)


def _qr_code(canvas: Canvas, url: str, x: float, y: float, size: float) -> None:
    # Level M survives a smudged or creased print; the widget includes the 4-module quiet zone scanners need.
    widget = QrCodeWidget(url, barLevel="M", barWidth=size, barHeight=size)
    drawing = Drawing(size, size)
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, x, y)


def render_pdf(doc: CertificateDocument) -> bytes:
    """The printable certificate page (A4 landscape, English and Chinese); the ID is also the PDF's /Subject."""
    _register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), pageCompression=1)
    canvas.setTitle(f"{doc.title_en} — {doc.holder_name_latin}")
    canvas.setAuthor(PLATFORM_NAME)
    canvas.setSubject(doc.certificate_id)  # check_pdf reads the ID back from here, inside the signed revision
    canvas.setKeywords(f"FlagOS, certificate, {doc.level}, {doc.certificate_id}")
    canvas.setCreator("certplatform")

    _frame(canvas)
    centre = PAGE_WIDTH / 2
    _centered(canvas, 520, "FLAGOS CERTIFICATION", "Helvetica-Bold", 12, ACCENT)
    _centered(canvas, 480, "Certificate", "Helvetica-Bold", 34)
    _centered(canvas, 450, "认证证书", CJK_FONT, 22)
    _bilingual_label(canvas, centre, 415, "This certifies that", "兹证明", 11)

    _centered(canvas, 375, doc.holder_name_latin, "Helvetica-Bold", 30)
    if doc.holder_name_zh:
        _centered(canvas, 347, doc.holder_name_zh, CJK_FONT, 20)

    _bilingual_label(canvas, centre, 315, "has been certified as", "经认证为", 11)
    _centered(canvas, 282, doc.title_en, "Helvetica-Bold", 22)
    _centered(canvas, 255, doc.title_zh, CJK_FONT, 18)

    details = [
        ("Level", "等级", doc.level),
        ("Score", "成绩", doc.score_percent),
        ("Issued", "颁发日期", doc.issued_on),
        ("Valid until", "有效期至", doc.expires_on),
    ]
    column = (PAGE_WIDTH - 2 * MARGIN - 80) / len(details)
    for index, (english, chinese, value) in enumerate(details):
        x = MARGIN + 40 + column * (index + 0.5)
        _bilingual_label(canvas, x, 212, english, chinese)
        canvas.setFillColor(INK)
        canvas.setFont("Helvetica-Bold", 14)
        canvas.drawCentredString(x, 193, value)
    canvas.setStrokeColor(ACCENT)
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN + 40, 178, PAGE_WIDTH - MARGIN - 40, 178)

    _bilingual_label(canvas, MARGIN, 140, "Certificate ID", "证书编号", centred=False)
    _left(canvas, MARGIN, 120, doc.certificate_id, "Courier-Bold", 17)
    _bilingual_label(canvas, MARGIN, 98, "Verify this certificate at", "验证网址", centred=False)
    _left(canvas, MARGIN, 84, doc.verify_url, "Helvetica", 10, INK, max_width=520)
    _left(canvas, MARGIN, 52, f"Signing key SHA-256: {doc.key_fingerprint}", "Courier", 6.5, MUTED, max_width=560)

    qr_size = 100
    qr_x = PAGE_WIDTH - MARGIN - qr_size
    _qr_code(canvas, doc.verify_url, qr_x, 58, qr_size)
    _bilingual_label(canvas, qr_x + qr_size / 2, 48, "Scan to verify", "扫码验证", 8)

    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# -- signing -----------------------------------------------------------------------------------------------------


def _asn1_certificate(keyset: KeySet) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(keyset.pdf_cert.public_bytes(serialization.Encoding.DER))


def sign_pdf(pdf: bytes, keyset: KeySet) -> bytes:
    """PAdES signature (field FlagOSCertificate) over the whole file; a certification signature allowing no changes."""
    certificate = _asn1_certificate(keyset)
    private_key = asn1_keys.PrivateKeyInfo.load(
        keyset.pdf_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    signer = signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=private_key,
        cert_registry=SimpleCertificateStore.from_certs([certificate]),
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        # Certifying with "no changes" makes PDF readers flag any later edit, not only our own checker.
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        reason="FlagOS certificate",
        name=keyset.issuer_name,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    output = signers.sign_pdf(writer, metadata, signer=signer)
    return output.getvalue()


# -- checking ----------------------------------------------------------------------------------------------------


def _signed_certificate_id(reader: PdfFileReader, revision: int) -> str | None:
    """The /Subject of the document information as it was in the signed revision, if it is a valid ID."""
    try:
        info = reader.get_historical_resolver(revision).trailer_view["/Info"].get_object()
        subject = str(info["/Subject"])
    except Exception:  # absent or malformed metadata is simply "no ID"
        return None
    return normalize_certificate_id(subject)


def _signer_der(signature: EmbeddedPdfSignature) -> bytes | None:
    try:
        return signature.signer_cert.dump()
    except Exception:  # a CMS blob without a usable signer certificate
        return None


def _unsigned(problem: str) -> PdfCheck:
    return PdfCheck(signed=False, intact=False, trusted=False, key_id=None, certificate_id=None, problem=problem)


def check_pdf(pdf: bytes, keystore: KeyStore) -> PdfCheck:
    """Check the platform's signature on an uploaded PDF; never raises on bad input.

    A damaged key directory still raises CertificateKeyError: that is the operator's problem, not the upload's.
    """
    if not isinstance(pdf, bytes | bytearray) or b"%PDF-" not in bytes(pdf[:1024]):
        return _unsigned(NOT_A_PDF)
    try:
        reader = PdfFileReader(io.BytesIO(bytes(pdf)))
        signatures = list(reader.embedded_signatures)
    except Exception:  # the reader raises many kinds of errors on hostile input
        return _unsigned(UNREADABLE_PDF)
    if not signatures:
        return _unsigned(NO_SIGNATURE)

    key_sets = keystore.all()
    ours = {key_set.pdf_cert.public_bytes(serialization.Encoding.DER): key_set for key_set in key_sets}
    # Judge our own signature if there is one (a later foreign signature then shows up as a modification).
    signature = next((sig for sig in signatures if _signer_der(sig) in ours), signatures[-1])
    signer = ours.get(_signer_der(signature))
    certificate_id = _signed_certificate_id(reader, signature.signed_revision)

    def signed(*, intact: bool, trusted: bool, problem: str | None) -> PdfCheck:
        key_id = signer.key_id if signer else None
        return PdfCheck(True, intact, trusted, key_id, certificate_id, problem)

    if not key_sets:
        return signed(intact=False, trusted=False, problem=NO_KEYS)
    try:
        # A foreign signature is never trusted, but whether it is intact still matters for the message; making its
        # own certificate the root keeps pyHanko from logging a path-building failure for an expected case.
        roots = [_asn1_certificate(key_set) for key_set in key_sets] if signer else [signature.signer_cert]
        # Anything after the signed revision is refused below, so the (slow) difference analysis is skipped.
        status = validate_pdf_signature(signature, ValidationContext(trust_roots=roots), skip_diff=True)
    except Exception:  # malformed CMS or certificates in an uploaded file
        return signed(intact=False, trusted=False, problem=UNREADABLE_SIGNATURE)

    intact = bool(status.intact and status.valid and status.coverage == SignatureCoverageLevel.ENTIRE_FILE)
    trusted = bool(signer is not None and status.trusted)
    if not intact:
        return signed(intact=False, trusted=trusted, problem=MODIFIED)
    if signer is None:
        return signed(intact=True, trusted=False, problem=NOT_OURS)
    if not trusted:
        return signed(intact=True, trusted=False, problem=UNTRUSTED)
    return signed(intact=True, trusted=True, problem=None)

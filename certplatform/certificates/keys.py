"""Signing keys kept as files outside the database; rotation adds key sets and never replaces one.

Layout of the key directory (0700)::

    ACTIVE                     key id of the key set used for new certificates
    <key id>/meta.json         creation time and issuer name
    <key id>/ed25519.pem       Ed25519 private key (0600): snapshot signatures and Open Badges JWTs
    <key id>/pdf-key.pem       EC P-256 private key (0600): PAdES signatures
    <key id>/pdf-cert.pem      self-signed X.509 certificate for the PDF key (public)

A key set is written into a temporary directory and renamed into place, and ACTIVE is replaced atomically, so a
crash never leaves a half-written key set that verification would trip over.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID

from certplatform.config import PLATFORM_NAME

DEFAULT_ISSUER_NAME = PLATFORM_NAME
PDF_CERT_VALIDITY = timedelta(days=3653)  # 10 years
# Signatures made right after `keys init` on another machine whose clock runs slightly behind still validate.
_CLOCK_SKEW = timedelta(minutes=5)

_ACTIVE = "ACTIVE"
_LOCK = ".lock"
_META = "meta.json"
_ED25519 = "ed25519.pem"
_PDF_KEY = "pdf-key.pem"
_PDF_CERT = "pdf-cert.pem"
_KEY_ID = re.compile(r"[0-9a-f]{16}")


class CertificateKeyError(Exception):
    """Signing keys are missing, unknown, already present or unreadable."""


def key_id_for(public_key: Ed25519PublicKey) -> str:
    """First 16 hex characters of the SHA-256 of the raw Ed25519 public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class KeySet:
    """One generation of platform keys: Ed25519 for snapshots and badges, EC P-256 + certificate for PDFs."""

    key_id: str
    created_at: datetime
    active: bool
    ed25519_private: Ed25519PrivateKey = field(repr=False)
    ed25519_public: Ed25519PublicKey = field(repr=False)
    pdf_key: ec.EllipticCurvePrivateKey = field(repr=False)
    pdf_cert: x509.Certificate = field(repr=False)
    sequence: int = field(default=0, compare=False)  # creation order within the key store (1, 2, ...)

    def public_key_pem(self) -> str:
        """The Ed25519 public key as SubjectPublicKeyInfo PEM."""
        return self.ed25519_public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def pdf_cert_pem(self) -> str:
        """The PDF signing certificate as PEM, for publishing on the verification page."""
        return self.pdf_cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def pdf_cert_fingerprint(self) -> str:
        """SHA-256 of the certificate's DER, upper-case hex without colons."""
        return self.pdf_cert.fingerprint(hashes.SHA256()).hex().upper()

    @property
    def issuer_name(self) -> str:
        """The issuer name given at `init`/`rotate` (the certificate's common name)."""
        names = self.pdf_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else DEFAULT_ISSUER_NAME


class KeyStore:
    """The key directory: creates, rotates and loads key sets."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def exists(self) -> bool:
        """Whether at least one key set is present."""
        return bool(self._key_ids())

    def init(self, issuer_name: str = DEFAULT_ISSUER_NAME) -> KeySet:
        """Create the first key set; refuses if any key set exists (use `rotate`)."""
        with self._locked():
            if self._key_ids():
                raise CertificateKeyError(
                    f"signing keys already exist in {self.directory}; use `certplatform keys rotate` to add a new key"
                )
            return self._add(issuer_name)

    def rotate(self, issuer_name: str = DEFAULT_ISSUER_NAME) -> KeySet:
        """Add a new key set and make it active; older key sets stay available for verification."""
        with self._locked():
            if not self._key_ids():
                raise CertificateKeyError(f"no signing keys in {self.directory}: run `certplatform keys init` first")
            return self._add(issuer_name)

    def active(self) -> KeySet:
        """The key set used for new certificates."""
        try:
            key_id = (self.directory / _ACTIVE).read_text(encoding="ascii").strip()
        except FileNotFoundError:
            if not self._key_ids():
                raise CertificateKeyError(
                    f"no signing keys in {self.directory}: run `certplatform keys init`"
                ) from None
            raise CertificateKeyError(f"{self.directory / _ACTIVE} is missing; the key directory is damaged") from None
        except OSError as exc:
            raise CertificateKeyError(f"cannot read {self.directory / _ACTIVE}: {exc}") from exc
        if not _KEY_ID.fullmatch(key_id):
            raise CertificateKeyError(f"{self.directory / _ACTIVE} names no key set ({key_id!r})")
        return self._load(key_id, active_id=key_id)

    def get(self, key_id: str) -> KeySet:
        """Any key set, active or retired, by its key id."""
        # The id may come from an untrusted JWT header: never let it form a path outside the directory.
        if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id) or key_id not in self._key_ids():
            raise CertificateKeyError(f"unknown signing key {key_id!r}")
        return self._load(key_id, active_id=self._active_id())

    def all(self) -> list[KeySet]:
        """Every key set, oldest first."""
        return self._load_all()

    # -- internals -------------------------------------------------------------------------------------------

    def _key_ids(self) -> list[str]:
        try:
            entries = list(self.directory.iterdir())
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise CertificateKeyError(f"cannot read the key directory {self.directory}: {exc}") from exc
        return sorted(entry.name for entry in entries if _KEY_ID.fullmatch(entry.name) and entry.is_dir())

    def _load_all(self) -> list[KeySet]:
        active_id = self._active_id()
        key_sets = [self._load(key_id, active_id=active_id) for key_id in self._key_ids()]
        return sorted(key_sets, key=lambda key_set: (key_set.sequence, key_set.created_at, key_set.key_id))

    def _active_id(self) -> str | None:
        try:
            return (self.directory / _ACTIVE).read_text(encoding="ascii").strip()
        except OSError:
            return None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialize init/rotate between processes (two `keys rotate` at once must not race on ACTIVE)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)  # also when the directory existed with a looser mode
        with file_lock(self.directory / _LOCK):
            yield

    def _add(self, issuer_name: str) -> KeySet:
        if not issuer_name.strip() or len(issuer_name) > 64:  # an X.509 common name holds 1..64 characters
            raise ValueError("the issuer name must be 1 to 64 characters")
        created_at = datetime.now(UTC).replace(microsecond=0)
        ed25519_private = Ed25519PrivateKey.generate()
        key_id = key_id_for(ed25519_private.public_key())
        pdf_key = ec.generate_private_key(ec.SECP256R1())
        pdf_cert = _self_signed_certificate(pdf_key, issuer_name, key_id, created_at)

        staging = self.directory / f".new-{key_id}-{secrets.token_hex(4)}"
        staging.mkdir(mode=0o700)
        write_new_file(staging / _ED25519, _private_pem(ed25519_private), 0o600)
        write_new_file(staging / _PDF_KEY, _private_pem(pdf_key), 0o600)
        write_new_file(staging / _PDF_CERT, pdf_cert.public_bytes(serialization.Encoding.PEM), 0o644)
        # Two rotations within one second share created_at; the sequence keeps "oldest first" exact.
        sequence = 1 + max((key_set.sequence for key_set in self._load_all()), default=0)
        meta = {
            "key_id": key_id,
            "sequence": sequence,
            "created_at": created_at.isoformat(),
            "issuer_name": issuer_name,
        }
        write_new_file(staging / _META, json.dumps(meta, indent=2).encode("utf-8") + b"\n", 0o644)
        os.rename(staging, self.directory / key_id)

        active_tmp = self.directory / f".{_ACTIVE}-{secrets.token_hex(4)}"
        write_new_file(active_tmp, key_id.encode("ascii") + b"\n", 0o644)
        os.replace(active_tmp, self.directory / _ACTIVE)
        return self._load(key_id, active_id=key_id)

    def _load(self, key_id: str, *, active_id: str | None) -> KeySet:
        folder = self.directory / key_id
        try:
            files = tuple((folder / name).read_bytes() for name in (_META, _ED25519, _PDF_KEY, _PDF_CERT))
        except FileNotFoundError as exc:
            raise CertificateKeyError(f"key set {key_id} in {self.directory} is incomplete: {exc.filename}") from exc
        except OSError as exc:
            raise CertificateKeyError(f"key set {key_id} in {self.directory} is unreadable: {exc}") from exc
        try:
            return _parse_key_set(key_id, key_id == active_id, *files)
        except CertificateKeyError as exc:
            raise CertificateKeyError(f"key set {key_id} in {self.directory} {exc}") from exc


# Parsing and checking a key set costs milliseconds (EC key validation); every verification reads the key files, so
# the result is remembered per exact file contents: changed bytes are parsed again, the same bytes never are.
@functools.lru_cache(maxsize=32)
def _parse_key_set(
    key_id: str, active: bool, meta_bytes: bytes, ed25519_pem: bytes, pdf_key_pem: bytes, pdf_cert_pem: bytes
) -> KeySet:
    try:
        meta = json.loads(meta_bytes.decode("utf-8"))
        ed25519_private = serialization.load_pem_private_key(ed25519_pem, password=None)
        pdf_key = serialization.load_pem_private_key(pdf_key_pem, password=None)
        pdf_cert = x509.load_pem_x509_certificate(pdf_cert_pem)
        created_at = datetime.fromisoformat(meta["created_at"])
        sequence = int(meta.get("sequence", 0))
    except (ValueError, KeyError, TypeError) as exc:
        raise CertificateKeyError(f"is unreadable: {exc}") from exc
    if not isinstance(ed25519_private, Ed25519PrivateKey) or not isinstance(pdf_key, ec.EllipticCurvePrivateKey):
        raise CertificateKeyError("holds keys of the wrong type")
    ed25519_public = ed25519_private.public_key()
    # A key set whose files were swapped would sign under a name that isn't its own.
    if key_id_for(ed25519_public) != key_id or pdf_cert.public_key() != pdf_key.public_key():
        raise CertificateKeyError("does not match its key id or certificate")
    return KeySet(
        key_id=key_id,
        created_at=created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC),
        active=active,
        ed25519_private=ed25519_private,
        ed25519_public=ed25519_public,
        pdf_key=pdf_key,
        pdf_cert=pdf_cert,
        sequence=sequence,
    )


def directory_fingerprint(directory: Path | str) -> tuple:
    """What changes whenever a file in the key directory or in one of its key sets is written, replaced or removed.

    Inode, size and both timestamps of every entry, two levels deep: the status change time moves on every write and
    cannot be set back, so content that differs never shares a fingerprint with what was read before. Lock files are
    left out: they hold nothing, only their lock. Every public verification takes one, so it stays cheap: one stat
    per entry, and a folder is listed again only when its own stat moved or its last listing was not settled (see
    `_names`).
    """
    now = time.time_ns()  # before any stat: a listing counts as read no later than this
    found: list[tuple] = []

    def visit(folder: str, own: os.stat_result, prefix: str, depth: int) -> None:
        try:
            names = _names(folder, own, now)
        except FileNotFoundError:
            return
        except OSError as exc:
            found.append((prefix, "unreadable", str(exc)))
            return
        for name in names:
            path = os.path.join(folder, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            found.append((prefix + name, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
            if depth and stat.S_ISDIR(st.st_mode):
                visit(path, st, prefix + name + "/", depth - 1)

    folder = os.fspath(directory)
    try:
        own = os.stat(folder)
    except FileNotFoundError:
        return ()
    except OSError as exc:
        return (("", "unreadable", str(exc)),)
    visit(folder, own, "", 1)
    return tuple(found)


# A folder's entries change its own modification and status change times, but those come from a clock that ticks
# coarsely (milliseconds; seconds on some filesystems): a change in the same tick as a listing can leave them as
# they were. So a listing is reused only when it was read this long after the folder last changed; any change
# after such a listing moves the folder's times.
_SETTLED_NS = 2_000_000_000
_listings: dict[str, tuple[tuple[int, int, int, int], int, tuple[str, ...]]] = {}


def _names(folder: str, own: os.stat_result, now: int) -> tuple[str, ...]:
    """The sorted names in `folder` but lock files; `own` is the folder's stat, taken after `now`."""
    key = (own.st_dev, own.st_ino, own.st_mtime_ns, own.st_ctime_ns)
    known = _listings.get(folder)
    if known is not None and known[0] == key and key[3] + _SETTLED_NS < known[1]:
        return known[2]
    names = tuple(sorted(name for name in os.listdir(folder) if not name.endswith(".lock")))
    if len(_listings) >= 256:  # key sets come and go with rotations; this only bounds memory
        _listings.clear()
    _listings[folder] = (key, now, names)
    return names


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (created 0600) shared by every process on the machine, held for the block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _private_pem(key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_new_file(path: Path, data: bytes, mode: int) -> None:
    """Create `path` with `mode` from the start (not chmod afterwards: the key must never be readable by others)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, mode)  # exactly `mode`, whatever the umask took away


def _self_signed_certificate(
    key: ec.EllipticCurvePrivateKey, issuer_name: str, key_id: str, created_at: datetime
) -> x509.Certificate:
    # The key id in the subject keeps the certificates of different rotations apart by name as well as by key.
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, issuer_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "FlagOS"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"PDF signing key {key_id}"),
        ]
    )
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(created_at - _CLOCK_SKEW)
        .not_valid_after(created_at + PDF_CERT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )

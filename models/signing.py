"""Detached Ed25519 signatures for an exported model bundle directory.

Why: ``manifest.json`` lists the sha256 of every bundle file, but nothing protects the manifest
itself. Editing ``policy.json`` in a copy and writing its new sha256 into the manifest was
accepted, and the content-hash suffix of the version (``1.0+<12 hex>``) was never re-derived.
A signature over *every* file (the manifest included) with a key the loader trusts closes both.

Why Ed25519 through ``cryptography`` rather than OpenSSF ``model-signing`` (1.1.1):
- ``model-signing`` pulls in sigstore, pyOpenSSL (not even declared: its import fails without it)
  and their transitive stack; its key-pair mode is the same Ed25519/ECDSA-over-file-hashes idea
  we implement here in about 200 lines, and its keyless mode needs an OIDC identity and network
  access to Fulcio/Rekor, which batch scoring hosts do not have.
- ``cryptography`` is one small, widely audited dependency with no further requirements.
- The signature is one detached JSON file (``signature.json``) anyone can read: the algorithm, the
  key fingerprint, the exact signed payload (file -> sha256, and the version) and the base64
  signature. An auditor can check it with any Ed25519 tool, no sigstore bundle format to decode.
- The trusted public key comes from the caller (params) or ``CREDITRISK_SIGNING_PUBLIC_KEY``,
  never from the bundle being verified.

Keys: ``CREDITRISK_SIGNING_KEY`` (path to the PEM private key, for signing),
``CREDITRISK_SIGNING_PASSPHRASE`` (optional, encrypts/decrypts that key),
``CREDITRISK_SIGNING_PUBLIC_KEY`` (path to, or text of, the PEM public key, for verifying).
No key material or passphrase ever appears in an error message or log line; only fingerprints.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from features.errors import DataError

SIGNATURE_FILE = "signature.json"
MANIFEST_FILE = "manifest.json"
SIGNATURE_FORMAT = "credit-bundle-signature/1"
ALGORITHM = "ed25519"

ENV_PRIVATE_KEY = "CREDITRISK_SIGNING_KEY"
ENV_PASSPHRASE = "CREDITRISK_SIGNING_PASSPHRASE"
ENV_PUBLIC_KEY = "CREDITRISK_SIGNING_PUBLIC_KEY"

# The files of a bundle whose hashes make up the version's content-hash suffix, in order
# (``models.bundle`` writes exactly these, plus the manifest and this signature).
CONTENT_FILES = (
    "pd_model.txt",
    "calibrator.json",
    "scorecard.json",
    "catalogue.json",
    "grading.json",
    "policy.json",
    "input_schema.json",
)
# Content files a bundle may have (the glass-box model's tables, when it was trained): hashed
# after the required ones, in this order, when present.
OPTIONAL_CONTENT_FILES = ("ebm.json",)
CONTENT_HASH_LENGTH = 12


class SignatureError(DataError):
    """A bundle whose signature is missing, invalid, from an untrusted key, or that no longer
    matches its files; also a key that cannot be found or read. One line, no key material."""


# --------------------------------------------------------------------------- hashing


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def canonical_json(data: object) -> bytes:
    """Sorted keys, no whitespace, ASCII only: one byte string per value."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def bundle_file_hashes(directory: Path) -> dict[str, str]:
    """sha256 of every file under ``directory`` (relative POSIX path -> hex), the signature file
    excepted. Symlinks and other non-regular entries are refused: they could point outside."""
    directory = Path(directory)
    if not directory.is_dir():
        raise SignatureError(f"{directory}: not a bundle directory")
    hashes = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise SignatureError(f"{path}: not a regular file (symlinks are refused in a bundle)")
        if path.is_file() and rel != SIGNATURE_FILE:
            hashes[rel] = _sha256_file(path)
    return hashes


def content_hash(files: dict[str, str]) -> str:
    """The version suffix ``write_bundle`` derives: the first 12 hex of the sha256 of the
    concatenated hex sha256 of the content files, in ``CONTENT_FILES`` order, then the
    ``OPTIONAL_CONTENT_FILES`` present. Pure function of ``files`` (name -> sha256 hex); the
    manifest and signature are not part of it."""
    missing = [name for name in CONTENT_FILES if name not in files]
    if missing:
        raise SignatureError(f"cannot derive the content hash: no sha256 for {', '.join(missing)}")
    names = [*CONTENT_FILES, *(n for n in OPTIONAL_CONTENT_FILES if n in files)]
    joined = "".join(files[name] for name in names)
    return hashlib.sha256(joined.encode()).hexdigest()[:CONTENT_HASH_LENGTH]


def verify_content_version(manifest: dict, files: dict[str, str]) -> None:
    """Refuse a manifest whose ``version`` suffix is not the content hash of ``files``.

    Pass the hashes recomputed from disk (or the manifest's after they were checked against
    disk). Catches a version string left stale after a file was edited and re-hashed."""
    version = manifest.get("version")
    if not isinstance(version, str) or "+" not in version:
        raise SignatureError(
            f"{MANIFEST_FILE}: version {version!r} has no '+<content hash>' suffix"
        )
    suffix = version.rpartition("+")[2]
    expected = content_hash(files)
    if suffix != expected:
        raise SignatureError(
            f"{MANIFEST_FILE}: version {version} is stale: the files hash to "
            f"+{expected} (a file was changed after export)"
        )


# --------------------------------------------------------------------------- keys


def public_key_fingerprint(public_key: bytes | Ed25519PublicKey) -> str:
    """sha256 (hex) of the 32 raw public key bytes."""
    if isinstance(public_key, Ed25519PublicKey):
        public_key = public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    return hashlib.sha256(public_key).hexdigest()


def _passphrase() -> bytes | None:
    value = os.environ.get(ENV_PASSPHRASE)
    return value.encode() if value else None


def _create_exclusive(path: Path, data: bytes, mode: int) -> None:
    """Write a new file with ``mode`` from the start (no window where it is world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, mode)  # exactly this mode, whatever the umask


def generate_keypair(private_path: str | Path, public_path: str | Path) -> str:
    """Write a new Ed25519 key pair as PEM; returns the public key fingerprint.

    The private key (PKCS#8, mode 0600) is encrypted when ``CREDITRISK_SIGNING_PASSPHRASE`` is
    set. Existing files are never overwritten."""
    private_path, public_path = Path(private_path), Path(public_path)
    if private_path.resolve() == public_path.resolve():
        raise SignatureError(f"{private_path}: private and public key paths must differ")
    for path in (private_path, public_path):
        if path.exists():
            raise SignatureError(f"{path}: already exists (refusing to overwrite a key)")
    key = Ed25519PrivateKey.generate()
    passphrase = _passphrase()
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for path in (private_path, public_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _create_exclusive(private_path, private_pem, 0o600)
    except FileExistsError:
        raise SignatureError(
            f"{private_path}: already exists (refusing to overwrite a key)"
        ) from None
    try:
        _create_exclusive(public_path, public_pem, 0o644)
    except FileExistsError:
        private_path.unlink()
        raise SignatureError(
            f"{public_path}: already exists (refusing to overwrite a key)"
        ) from None
    return public_key_fingerprint(key.public_key())


def signing_key_path(explicit: str | Path | None = None) -> Path:
    """The signing key file: ``explicit``, else ``$CREDITRISK_SIGNING_KEY``."""
    value = explicit if explicit is not None else os.environ.get(ENV_PRIVATE_KEY)
    if not value:
        raise SignatureError(
            f"no signing key: pass its path or set {ENV_PRIVATE_KEY} to the PEM "
            "private key file (create one with generate_keypair)"
        )
    return Path(value)


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """Read a PEM Ed25519 private key, decrypting with ``CREDITRISK_SIGNING_PASSPHRASE``.
    Refuses a key file readable by group or others, as ssh does."""
    path = Path(path)
    if not path.is_file():
        raise SignatureError(f"{path}: signing key not found")
    if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise SignatureError(f"{path}: private key is readable by others (chmod 600 it)")
    data = path.read_bytes()
    passphrase = _passphrase()
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError:  # encrypted without a passphrase, or a passphrase for a plain key
        if passphrase is None:
            raise SignatureError(
                f"{path}: private key is encrypted: set {ENV_PASSPHRASE}"
            ) from None
        raise SignatureError(
            f"{path}: private key is not encrypted: unset {ENV_PASSPHRASE}"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        hint = " or wrong passphrase" if passphrase else ""
        raise SignatureError(f"{path}: not a readable PEM private key{hint}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(f"{path}: not an Ed25519 private key")
    return key


def _public_key_from_pem(pem: bytes, source: str) -> bytes:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        raise SignatureError(f"{source}: not a readable PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureError(f"{source}: not an Ed25519 public key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _public_key_from(value: str | Path | bytes, source: str) -> bytes:
    if isinstance(value, bytes):
        return _public_key_from_pem(value, source)
    if isinstance(value, str) and value.lstrip().startswith("-----BEGIN"):
        return _public_key_from_pem(value.encode(), source)
    path = Path(value)
    if not path.is_file():
        raise SignatureError(f"{path}: trusted public key file not found ({source})")
    return _public_key_from_pem(path.read_bytes(), str(path))


def trusted_public_key(explicit: str | Path | bytes | None = None) -> bytes:
    """The 32 raw bytes of the public key bundles must be signed with.

    Resolution: ``explicit`` (a path, or PEM text/bytes), else ``$CREDITRISK_SIGNING_PUBLIC_KEY``
    (a path or PEM text). Never read from the bundle itself."""
    if explicit is not None:
        return _public_key_from(explicit, "given public key")
    env = os.environ.get(ENV_PUBLIC_KEY)
    if env:
        return _public_key_from(env, f"${ENV_PUBLIC_KEY}")
    raise SignatureError(
        f"no trusted public key: set {ENV_PUBLIC_KEY} to the PEM public key "
        "file (or its text), or pass it explicitly"
    )


# --------------------------------------------------------------------------- sign / verify


def _read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST_FILE
    if not path.is_file():
        raise SignatureError(f"{path}: missing manifest (not a model bundle)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SignatureError(f"{path}: unreadable manifest") from None
    if not isinstance(manifest, dict):
        raise SignatureError(f"{path}: unreadable manifest (not a JSON object)")
    return manifest


def _names(names: Iterable[str]) -> str:
    names = sorted(names)
    return ", ".join(names[:5]) + (f" (+{len(names) - 5} more)" if len(names) > 5 else "")


def _compare(
    directory: Path, expected: dict[str, str], actual: dict[str, str], source: str
) -> None:
    """Refuse missing, extra and changed files against ``expected`` (from ``source``)."""
    missing = set(expected) - set(actual)
    if missing:
        raise SignatureError(f"{directory}: missing file {_names(missing)} (listed in {source})")
    extra = set(actual) - set(expected)
    if extra:
        raise SignatureError(f"{directory}: extra file {_names(extra)} (not listed in {source})")
    changed = [name for name in expected if expected[name] != actual[name]]
    if changed:
        raise SignatureError(
            f"{directory}: file changed: {_names(changed)} (sha256 differs from {source})"
        )


def sign_bundle(directory: str | Path, private_key_path: str | Path | None = None) -> Path:
    """Write ``signature.json`` over every bundle file (manifest included) and the version.

    Before signing, the bundle must be self-consistent: the manifest lists exactly the files
    present with their current sha256, and the version suffix is their content hash, so a
    tampered copy cannot be blessed by signing it. Re-signing replaces an old signature."""
    directory = Path(directory)
    key = load_private_key(signing_key_path(private_key_path))
    manifest = _read_manifest(directory)
    files = bundle_file_hashes(directory)
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        raise SignatureError(f"{directory / MANIFEST_FILE}: no 'files' table")
    _compare(
        directory, listed, {k: v for k, v in files.items() if k != MANIFEST_FILE}, MANIFEST_FILE
    )
    verify_content_version(manifest, files)
    payload = canonical_json({"files": files, "version": manifest["version"]})
    document = {
        "format": SIGNATURE_FORMAT,
        "algorithm": ALGORITHM,
        "public_key_fingerprint": public_key_fingerprint(key.public_key()),
        "payload": payload.decode("ascii"),
        "signature": base64.b64encode(key.sign(payload)).decode("ascii"),
    }
    target = directory / SIGNATURE_FILE
    fd, tmp = tempfile.mkstemp(prefix=".signature.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(document, indent=2) + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _read_signature(directory: Path) -> dict:
    path = directory / SIGNATURE_FILE
    if not path.is_file():
        raise SignatureError(f"{directory}: unsigned bundle (no {SIGNATURE_FILE})")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SignatureError(f"{path}: unreadable signature file") from None
    if not isinstance(document, dict) or document.get("format") != SIGNATURE_FORMAT:
        raise SignatureError(f"{path}: unknown signature format (expected {SIGNATURE_FORMAT})")
    if document.get("algorithm") != ALGORITHM:
        raise SignatureError(
            f"{path}: unsupported algorithm {document.get('algorithm')!r} (expected {ALGORITHM})"
        )
    for field in ("public_key_fingerprint", "payload", "signature"):
        if not isinstance(document.get(field), str):
            raise SignatureError(f"{path}: signature file has no {field}")
    return document


def verify_bundle_signature(
    directory: str | Path, public_key: str | Path | bytes | None = None
) -> dict:
    """Check ``signature.json`` against the trusted key and the files on disk.

    Order: signature present and well-formed; signed by the trusted key (fingerprints); the
    signature is valid over the stored payload; the payload lists exactly the files present
    with their sha256; the manifest version is the signed one and its content-hash suffix is
    current. Returns ``{"version", "files", "fingerprint"}``; raises SignatureError."""
    directory = Path(directory)
    document = _read_signature(directory)
    trusted = trusted_public_key(public_key)
    fingerprint = public_key_fingerprint(trusted)
    claimed = document["public_key_fingerprint"]
    if claimed != fingerprint:
        raise SignatureError(
            f"{directory}: signed with another key (signature key "
            f"{claimed[:12]}..., trusted key {fingerprint[:12]}...)"
        )
    payload = document["payload"].encode("utf-8")
    try:
        signature = base64.b64decode(document["signature"], validate=True)
        Ed25519PublicKey.from_public_bytes(trusted).verify(signature, payload)
    except (InvalidSignature, binascii.Error, ValueError):
        raise SignatureError(
            f"{directory}: bad signature (signature.json does not match its signed payload)"
        ) from None
    signed = json.loads(payload)  # authentic from here on
    actual = bundle_file_hashes(directory)
    _compare(directory, signed["files"], actual, "the signature")
    manifest = _read_manifest(directory)
    if manifest.get("version") != signed["version"]:  # unreachable unless the manifest changed
        raise SignatureError(
            f"{directory}: manifest version {manifest.get('version')!r} is not "
            f"the signed version {signed['version']!r}"
        )
    verify_content_version(manifest, actual)
    return {"version": signed["version"], "files": signed["files"], "fingerprint": fingerprint}

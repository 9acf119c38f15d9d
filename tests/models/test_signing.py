"""Bundle signatures: the attacks from the security review are refused, a valid bundle passes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from features.errors import DataError
from models import signing
from models.signing import (
    CONTENT_FILES,
    SignatureError,
    content_hash,
    generate_keypair,
    sign_bundle,
    trusted_public_key,
    verify_bundle_signature,
    verify_content_version,
)

ENV_VARS = (signing.ENV_PRIVATE_KEY, signing.ENV_PASSPHRASE, signing.ENV_PUBLIC_KEY)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def keys(tmp_path_factory) -> SimpleNamespace:
    """A throwaway key pair for the session (plain PEM), plus a second, untrusted one."""
    root = tmp_path_factory.mktemp("keys")
    fp = generate_keypair(root / "signing.pem", root / "signing.pub.pem")
    other_fp = generate_keypair(root / "other.pem", root / "other.pub.pem")
    return SimpleNamespace(
        private=root / "signing.pem",
        public=root / "signing.pub.pem",
        fingerprint=fp,
        other_private=root / "other.pem",
        other_public=root / "other.pub.pem",
        other_fingerprint=other_fp,
    )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_manifest(directory: Path, prefix: str = "1.0") -> dict:
    """The manifest as pipeline.bundle.write_bundle writes it (hashes, content-hash version)."""
    hashes = {
        p.name: _sha(p)
        for p in sorted(directory.iterdir())
        if p.name not in ("manifest.json", "signature.json")
    }
    digest = hashlib.sha256("".join(hashes[n] for n in CONTENT_FILES).encode()).hexdigest()[:12]
    manifest = {
        "format": "credit-bundle/1",
        "version": f"{prefix}+{digest}",
        "created_at": "2026-01-01T00:00:00+00:00",
        "files": hashes,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def make_bundle(directory: Path) -> Path:
    directory.mkdir()
    (directory / "pd_model.txt").write_text("tree\nversion=v4\nnum_leaves=7\n")
    for name in CONTENT_FILES[1:]:
        data = {"name": name, "values": [1, 2, 3]}
        if name == "policy.json":
            data = {"max_pd": 0.08, "refer_band": [0.05, 0.08], "limit_cap": 250000}
        (directory / name).write_text(json.dumps(data, indent=2) + "\n")
    _write_manifest(directory)
    return directory


@pytest.fixture
def bundle(tmp_path) -> Path:
    return make_bundle(tmp_path / "bundle")


@pytest.fixture
def signed(bundle, keys) -> Path:
    sign_bundle(bundle, keys.private)
    return bundle


def _refused(directory: Path, public, match: str) -> SignatureError:
    with pytest.raises(SignatureError, match=match) as info:
        verify_bundle_signature(directory, public)
    message = str(info.value)
    assert "\n" not in message and "PRIVATE" not in message and "PUBLIC KEY" not in message
    return info.value


def test_valid_bundle_verifies(signed, keys):
    result = verify_bundle_signature(signed, keys.public)
    manifest = json.loads((signed / "manifest.json").read_text())
    assert result["version"] == manifest["version"]
    assert result["fingerprint"] == keys.fingerprint
    assert set(result["files"]) == set(CONTENT_FILES) | {"manifest.json"}


def test_signature_file_is_readable_and_covers_the_manifest(signed, keys):
    doc = json.loads((signed / "signature.json").read_text())
    assert doc["algorithm"] == "ed25519"
    assert doc["public_key_fingerprint"] == keys.fingerprint
    payload = json.loads(doc["payload"])
    assert doc["payload"] == json.dumps(payload, sort_keys=True, separators=(",", ":"))
    assert payload["files"]["manifest.json"] == _sha(signed / "manifest.json")
    assert "signature.json" not in payload["files"]
    # Anyone can check it with the public key alone.
    from base64 import b64decode

    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    load_pem_public_key(keys.public.read_bytes()).verify(
        b64decode(doc["signature"]), doc["payload"].encode()
    )


def test_rehash_attack_is_refused(signed, keys):
    """The review's finding: edit policy.json, write its new sha256 (and a fresh version) into
    manifest.json. The manifest is self-consistent, but no longer what was signed."""
    policy = signed / "policy.json"
    policy.write_text(policy.read_text().replace("0.08", "0.80"))
    _write_manifest(signed)
    _refused(signed, keys.public, r"file changed: manifest\.json, policy\.json")


def test_signature_payload_edited_is_refused(signed, keys):
    policy = signed / "policy.json"
    policy.write_text(policy.read_text().replace("0.08", "0.80"))
    _write_manifest(signed)
    doc = json.loads((signed / "signature.json").read_text())
    payload = json.loads(doc["payload"])
    payload["files"] = signing.bundle_file_hashes(signed)
    doc["payload"] = signing.canonical_json(payload).decode()
    (signed / "signature.json").write_text(json.dumps(doc))
    _refused(signed, keys.public, "bad signature")


def test_resigned_with_another_key_is_refused(signed, keys):
    policy = signed / "policy.json"
    policy.write_text(policy.read_text().replace("0.08", "0.80"))
    _write_manifest(signed)
    sign_bundle(signed, keys.other_private)
    err = _refused(signed, keys.public, "signed with another key")
    assert keys.other_fingerprint[:12] in str(err) and keys.fingerprint[:12] in str(err)


def test_forged_fingerprint_is_a_bad_signature(signed, keys):
    sign_bundle(signed, keys.other_private)
    doc = json.loads((signed / "signature.json").read_text())
    doc["public_key_fingerprint"] = keys.fingerprint
    (signed / "signature.json").write_text(json.dumps(doc))
    _refused(signed, keys.public, "bad signature")


def test_unsigned_bundle_is_refused(bundle, keys):
    _refused(bundle, keys.public, "unsigned bundle")


def test_extra_file_is_refused(signed, keys):
    (signed / "backdoor.py").write_text("print('hi')\n")
    _refused(signed, keys.public, r"extra file backdoor\.py")


def test_extra_file_in_subdirectory_is_refused(signed, keys):
    (signed / "sub").mkdir()
    (signed / "sub" / "x.json").write_text("{}")
    _refused(signed, keys.public, r"extra file sub/x\.json")


def test_missing_file_is_refused(signed, keys):
    (signed / "scorecard.json").unlink()
    _refused(signed, keys.public, r"missing file scorecard\.json")


def test_symlink_is_refused(signed, keys, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    (signed / "link.json").symlink_to(outside)
    _refused(signed, keys.public, "symlinks are refused")


def test_stale_version_suffix_is_refused(bundle, keys):
    """An edit re-hashed into the manifest, but the version string left as it was."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    policy = bundle / "policy.json"
    policy.write_text(policy.read_text().replace("0.08", "0.80"))
    manifest["files"]["policy.json"] = _sha(policy)
    files = {n: _sha(bundle / n) for n in CONTENT_FILES}
    with pytest.raises(SignatureError, match=r"version 1\.0\+[0-9a-f]{12} is stale"):
        verify_content_version(manifest, files)
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SignatureError, match="is stale"):  # nor can it be signed
        sign_bundle(bundle, keys.private)


def test_version_without_suffix_is_refused():
    with pytest.raises(SignatureError, match="no '\\+<content hash>' suffix"):
        verify_content_version({"version": "1.0"}, {})


def test_signing_a_tampered_copy_is_refused(bundle, keys):
    """The manifest must match the files before a signature blesses them."""
    (bundle / "policy.json").write_text("{}")
    with pytest.raises(SignatureError, match=r"file changed: policy\.json"):
        sign_bundle(bundle, keys.private)
    assert not (bundle / "signature.json").exists()


def test_copy_of_signed_bundle_verifies(signed, keys, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(signed, copy)
    assert verify_bundle_signature(copy, keys.public)["fingerprint"] == keys.fingerprint


def test_content_hash_matches_write_bundle(tmp_path):
    """content_hash re-derives exactly the suffix pipeline.bundle.write_bundle puts in the
    version, on a bundle written by write_bundle itself (with stand-in model parts)."""
    from models import bundle as pb

    assert pb.FILES == CONTENT_FILES

    @dataclass
    class Part:
        value: float = 0.5

    model = SimpleNamespace(
        pd_model=SimpleNamespace(
            model_to_string=lambda: "tree\n", calibrator_=SimpleNamespace(to_dict=lambda: {"a": 1})
        ),
        scorecard=SimpleNamespace(spec={"points": 600}),
        catalogue=SimpleNamespace(to_records=lambda: [{"name": "x"}]),
        scale=Part(),
        policy=Part(0.08),
        ebm=None,
    )
    manifest = pb.write_bundle(tmp_path / "b", model, {"features": []}, {"version_prefix": "2.3"})
    files = signing.bundle_file_hashes(tmp_path / "b")
    assert manifest["version"] == f"2.3+{content_hash(files)}"
    verify_content_version(manifest, files)
    assert pb.verify_bundle(tmp_path / "b") == manifest
    assert "ebm.json" not in manifest["files"]

    # With the glass-box model's tables: hashed into the version too, so that dropping them
    # (file and manifest entry) leaves a stale version.
    model.ebm = SimpleNamespace(to_dict=lambda: {"terms": []})
    with_ebm = pb.write_bundle(tmp_path / "e", model, {"features": []}, {"version_prefix": "2.3"})
    files = signing.bundle_file_hashes(tmp_path / "e")
    assert "ebm.json" in with_ebm["files"] and with_ebm["version"] != manifest["version"]
    assert with_ebm["version"] == f"2.3+{content_hash(files)}"
    assert pb.verify_bundle(tmp_path / "e") == with_ebm
    (tmp_path / "e" / "ebm.json").unlink()
    del with_ebm["files"]["ebm.json"]
    (tmp_path / "e" / "manifest.json").write_text(json.dumps(with_ebm))
    with pytest.raises(SignatureError, match="is stale"):
        pb.verify_bundle(tmp_path / "e")


def test_content_hash_needs_every_content_file():
    with pytest.raises(SignatureError, match=r"no sha256 for policy\.json"):
        content_hash({n: "0" * 64 for n in CONTENT_FILES if n != "policy.json"})


def test_signature_error_is_a_one_line_data_error():
    assert issubclass(SignatureError, DataError)


# --------------------------------------------------------------------------- keys


def test_keypair_files_and_permissions(keys):
    assert stat.S_IMODE(keys.private.stat().st_mode) == 0o600
    assert keys.private.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert keys.public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert len(keys.fingerprint) == 64


def test_generate_keypair_refuses_to_overwrite(keys, tmp_path):
    before = keys.private.read_bytes()
    with pytest.raises(SignatureError, match="refusing to overwrite"):
        generate_keypair(keys.private, tmp_path / "new.pub.pem")
    with pytest.raises(SignatureError, match="refusing to overwrite"):
        generate_keypair(tmp_path / "new.pem", keys.public)
    assert keys.private.read_bytes() == before
    assert not (tmp_path / "new.pem").exists() and not (tmp_path / "new.pub.pem").exists()


def test_passphrase_protected_key(bundle, tmp_path, monkeypatch):
    monkeypatch.setenv(signing.ENV_PASSPHRASE, "correct horse battery staple")
    private, public = tmp_path / "enc.pem", tmp_path / "enc.pub.pem"
    generate_keypair(private, public)
    assert private.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    sign_bundle(bundle, private)
    assert verify_bundle_signature(bundle, public)["version"].startswith("1.0+")

    monkeypatch.setenv(signing.ENV_PASSPHRASE, "wrong")
    with pytest.raises(SignatureError, match="wrong passphrase") as info:
        sign_bundle(bundle, private)
    assert "correct horse" not in str(info.value) and "wrong" in str(info.value)
    monkeypatch.delenv(signing.ENV_PASSPHRASE)
    with pytest.raises(SignatureError, match=f"encrypted: set {signing.ENV_PASSPHRASE}"):
        sign_bundle(bundle, private)


def test_private_key_readable_by_others_is_refused(bundle, tmp_path):
    private = tmp_path / "loose.pem"
    generate_keypair(private, tmp_path / "loose.pub.pem")
    os.chmod(private, 0o644)
    with pytest.raises(SignatureError, match="chmod 600"):
        sign_bundle(bundle, private)


def test_keys_from_environment(bundle, keys, monkeypatch):
    with pytest.raises(SignatureError, match=f"set {signing.ENV_PRIVATE_KEY}"):
        sign_bundle(bundle)
    monkeypatch.setenv(signing.ENV_PRIVATE_KEY, str(keys.private))
    sign_bundle(bundle)
    with pytest.raises(SignatureError, match=f"set {signing.ENV_PUBLIC_KEY}"):
        verify_bundle_signature(bundle)
    monkeypatch.setenv(signing.ENV_PUBLIC_KEY, str(keys.public))  # a path
    assert verify_bundle_signature(bundle)["fingerprint"] == keys.fingerprint
    monkeypatch.setenv(signing.ENV_PUBLIC_KEY, keys.public.read_text())  # the PEM text
    assert verify_bundle_signature(bundle)["fingerprint"] == keys.fingerprint


def test_trusted_public_key_resolution(keys, monkeypatch):
    raw = trusted_public_key(keys.public)
    assert len(raw) == 32 and hashlib.sha256(raw).hexdigest() == keys.fingerprint
    assert trusted_public_key(keys.public.read_bytes()) == raw
    monkeypatch.setenv(signing.ENV_PUBLIC_KEY, str(keys.other_public))
    assert trusted_public_key(keys.public) == raw  # explicit wins over the environment
    assert trusted_public_key(None) != raw
    with pytest.raises(SignatureError, match="not found"):
        trusted_public_key(keys.public.parent / "nope.pem")
    with pytest.raises(SignatureError, match="not a readable PEM public key"):
        trusted_public_key("-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n")
    with pytest.raises(SignatureError, match="not a readable PEM public key"):
        trusted_public_key(keys.private)  # a private key is not a trusted public key

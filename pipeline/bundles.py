"""Bundles as the stages use them: where the signing keys are, and a verified bundle to score.

Every stage and command that scores (``score``, ``report``, ``monitor``, ``reassess``, the
ledger) opens the bundle through :func:`open_bundle`, so each one checks the same things: file
hashes, the content-hash version, the signature against the trusted public key, and the gates.
"""

from __future__ import annotations

import os
from pathlib import Path

from features.errors import DataError
from models.bundle import Bundle, load_bundle
from models.signing import ENV_PRIVATE_KEY, ENV_PUBLIC_KEY, generate_keypair, sign_bundle
from pipeline.console import console
from pipeline.layout import Layout
from pipeline.params import Params


def public_key(params: Params, layout: Layout) -> str | Path:
    """The trusted public key: ``$CREDITRISK_SIGNING_PUBLIC_KEY`` or params ``signing``."""
    return os.environ.get(ENV_PUBLIC_KEY) or layout.root / params.signing.public_key


def open_bundle(
    params: Params,
    layout: Layout,
    directory: Path | None = None,
    allow_failed_gates: bool = False,
) -> Bundle:
    """The verified bundle (default ``data/models/bundle``); refusals are one line."""
    directory = directory or layout.models / "bundle"
    key = public_key(params, layout)
    if isinstance(key, Path) and not key.is_file():
        raise DataError(
            f"{key}: trusted public key not found (set {ENV_PUBLIC_KEY} or params "
            "signing.public_key; `creditrisk keys` makes a pair)"
        )
    return load_bundle(directory, key, allow_failed_gates=allow_failed_gates)


def sign(params: Params, layout: Layout, directory: Path) -> Path:
    """Sign an exported bundle. Without a configured key, a development key pair is created
    at the params paths (say so: production keys come from the environment)."""
    env_key = os.environ.get(ENV_PRIVATE_KEY)
    private = Path(env_key) if env_key else layout.root / params.signing.private_key
    if not env_key and not private.is_file():
        public = layout.root / params.signing.public_key
        private.parent.mkdir(parents=True, exist_ok=True)
        fingerprint = generate_keypair(private, public)
        console.print(
            f"created a development signing key pair ({fingerprint[:12]}) at "
            f"{private.parent}: production keys come from {ENV_PRIVATE_KEY} / {ENV_PUBLIC_KEY}"
        )
    return sign_bundle(directory, private)

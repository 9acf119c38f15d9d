"""The exported model bundle: a directory of text/JSON files plus a manifest of their hashes.

No pickle anywhere: the PD model is LightGBM's text format, the EBM (when trained) its tables
as JSON, everything else is JSON. Loading
verifies every file against ``manifest.json`` and refuses a bundle with a missing, extra or
modified file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.catalogue import Catalogue
from features.config import build
from features.errors import DataError
from models.ebm import EBMModel
from models.grading import MasterScale
from models.pd_model import PDModel
from models.policy import CreditPolicy
from models.scorecard import ScorecardSpec
from models.scoring import REQUEST_COLUMNS, ScoringModel
from models.signing import (
    CONTENT_FILES,
    MANIFEST_FILE,
    OPTIONAL_CONTENT_FILES,
    SIGNATURE_FILE,
    content_hash,
    verify_bundle_signature,
    verify_content_version,
)


def sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


BUNDLE_FORMAT = "credit-bundle/1"
MANIFEST = MANIFEST_FILE
FILES = CONTENT_FILES
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".sav")


class BundleError(DataError):
    """A bundle that is incomplete, tampered with or of an unknown format."""


PLAUSIBLE_WIDTH = 10.0  # a value may exceed the training range by this many range widths


def input_schema(catalogue: Catalogue, frame: pd.DataFrame) -> dict:
    """What a scoring input must contain: id, request fields, every feature and its type.

    ``frame`` is the training data: categorical features keep its categories, and each
    numeric feature gets a plausible range, the training range widened by ``PLAUSIBLE_WIDTH``
    widths above (and below, unless the feature was never negative, then 0), so that an
    absurd value (a negative firm age, revenue where its logarithm belongs) is refused
    instead of scored.
    """
    features = []
    for f in catalogue:
        entry: dict = {"name": f.name, "kind": f.kind}
        if f.kind == "categorical":
            entry["categories"] = [str(c) for c in frame[f.name].cat.categories]
        else:
            values = frame[f.name].to_numpy(dtype="float64", na_value=float("nan"))
            values = values[np.isfinite(values)]
            if len(values):
                lo, hi = float(values.min()), float(values.max())
                width = max(hi - lo, abs(hi), 1.0)
                entry["plausible"] = [
                    0.0 if lo >= 0 else lo - PLAUSIBLE_WIDTH * width,
                    hi + PLAUSIBLE_WIDTH * width,
                ]
        features.append(entry)
    return {"id": "applicant_id", "request": list(REQUEST_COLUMNS), "features": features}


def write_bundle(directory: Path, model: ScoringModel, schema: dict, info: dict) -> dict:
    """Write all files to a temp dir, hash them, then move the dir into place atomically."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".bundle.", dir=directory.parent))
    try:
        (tmp / "pd_model.txt").write_text(model.pd_model.model_to_string(), encoding="utf-8")
        contents = {
            "calibrator.json": model.pd_model.calibrator_.to_dict(),
            "scorecard.json": model.scorecard.spec,
            "catalogue.json": model.catalogue.to_records(),
            "grading.json": asdict(model.scale),
            "policy.json": asdict(model.policy),
            "input_schema.json": schema,
        }
        if model.ebm is not None:
            contents["ebm.json"] = model.ebm.to_dict()
        for name, data in contents.items():
            (tmp / name).write_text(
                json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        hashes = {
            name: sha256(tmp / name)
            for name in (*FILES, *OPTIONAL_CONTENT_FILES)
            if (tmp / name).is_file()
        }
        digest = content_hash(hashes)
        manifest = {
            "format": BUNDLE_FORMAT,
            "version": f"{info.pop('version_prefix', '1.0')}+{digest}",
            **info,
            "files": hashes,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if directory.exists():
            shutil.rmtree(directory)
        tmp.rename(directory)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return manifest


def verify_bundle(directory: Path) -> dict:
    """The manifest, after checking every file's presence and sha256; raises BundleError."""
    path = directory / MANIFEST
    if not path.is_file():
        raise BundleError(f"{path}: missing manifest (not a model bundle)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BundleError(f"{path}: unreadable manifest ({exc.msg})") from None
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"{path}: unknown bundle format {manifest.get('format')!r} (expected {BUNDLE_FORMAT})"
        )
    listed = manifest.get("files", {})
    missing = [n for n in FILES if n not in listed]
    if missing:
        raise BundleError(f"{path}: manifest does not list {', '.join(missing)}")
    present = {p.name for p in directory.iterdir() if p.name not in (MANIFEST, SIGNATURE_FILE)}
    extra = sorted(present - set(listed))
    if extra:
        raise BundleError(f"{directory / extra[0]}: unexpected file in bundle (not in manifest)")
    for name, expected in listed.items():
        file = directory / name
        if not file.is_file():
            raise BundleError(f"{file}: missing bundle file")
        actual = sha256(file)
        if actual != expected:
            raise BundleError(
                f"{file}: sha256 mismatch (manifest {expected[:12]}..., file "
                f"{actual[:12]}...): the bundle was modified"
            )
    verify_content_version(manifest, listed)
    return manifest


@dataclass
class Bundle:
    """A verified bundle: the scoring model, its input schema and its manifest."""

    model: ScoringModel
    schema: dict
    manifest: dict
    directory: Path

    @property
    def version(self) -> str:
        return self.manifest["version"]


def load_bundle(
    directory: Path,
    public_key: str | Path | bytes | None = None,
    allow_failed_gates: bool = False,
) -> Bundle:
    """Verify, then rebuild the scoring model from text and JSON (no pickle, no params).

    Checks, each refusing in one line: every file against the manifest, the version's content
    hash against the files, the Ed25519 signature against the trusted ``public_key`` (a path or
    PEM; default ``$CREDITRISK_SIGNING_PUBLIC_KEY``), and that the export gates passed (unless
    ``allow_failed_gates``, which the caller must record).
    """
    directory = Path(directory)
    manifest = verify_bundle(directory)
    verify_bundle_signature(directory, public_key)
    if not allow_failed_gates and not manifest.get("gates", {}).get("passed", False):
        failed = "; ".join(manifest.get("gates", {}).get("failed", [])) or "gates not recorded"
        raise BundleError(
            f"{directory}: the export gates did not pass ({failed}); refusing to use it "
            "(--allow-failed-gates overrides, and is recorded)"
        )

    def read(name: str):
        return json.loads((directory / name).read_text(encoding="utf-8"))

    pd_model = PDModel.from_parts(
        (directory / "pd_model.txt").read_text(encoding="utf-8"), read("calibrator.json")
    )
    ebm = None
    if "ebm.json" in manifest["files"]:
        try:
            ebm = EBMModel.from_tables(read("ebm.json"))
        except ValueError as exc:
            raise BundleError(f"{directory / 'ebm.json'}: {exc}") from None
    model = ScoringModel(
        pd_model=pd_model,
        scorecard=ScorecardSpec(read("scorecard.json")),
        catalogue=Catalogue.from_records(read("catalogue.json")),
        scale=build(MasterScale, read("grading.json"), "grading"),
        policy=build(CreditPolicy, read("policy.json"), "policy"),
        version=manifest["version"],
        ebm=ebm,
    )
    return Bundle(model, read("input_schema.json"), manifest, directory)


def find_pickles(directory: Path) -> list[Path]:
    """Files that are pickles by name or by content (protocol 2+ header)."""
    found = []
    for path in directory.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix.lower() in PICKLE_SUFFIXES:
            found.append(path)
            continue
        with path.open("rb") as fh:
            head = fh.read(2)
        if len(head) == 2 and head[0] == 0x80 and head[1] in (2, 3, 4, 5):
            found.append(path)
    return found

"""The exported model bundle: a directory of text/JSON files plus a manifest of their hashes.

No pickle anywhere: the PD model is LightGBM's text format, everything else is JSON. Loading
verifies every file against ``manifest.json`` and refuses a bundle with a missing, extra or
modified file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from features.catalogue import Catalogue
from features.errors import DataError
from models.grading import MasterScale
from models.pd_model import PDModel
from models.policy import CreditPolicy
from models.scorecard import ScorecardSpec
from models.scoring import REQUEST_COLUMNS, ScoringModel
from pipeline.io import sha256

BUNDLE_FORMAT = "credit-bundle/1"
MANIFEST = "manifest.json"
FILES = (
    "pd_model.txt",
    "calibrator.json",
    "scorecard.json",
    "catalogue.json",
    "grading.json",
    "policy.json",
    "input_schema.json",
)
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".sav")


class BundleError(DataError):
    """A bundle that is incomplete, tampered with or of an unknown format."""


def input_schema(catalogue: Catalogue, frame: pd.DataFrame) -> dict:
    """What a scoring input must contain: id, request fields, every feature and its type."""
    features = []
    for f in catalogue:
        entry = {"name": f.name, "kind": f.kind}
        if f.kind == "categorical":
            entry["categories"] = [str(c) for c in frame[f.name].cat.categories]
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
        for name, data in contents.items():
            (tmp / name).write_text(
                json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        hashes = {name: sha256(tmp / name) for name in FILES}
        digest = hashlib.sha256("".join(hashes[n] for n in FILES).encode()).hexdigest()[:12]
        manifest = {
            "format": BUNDLE_FORMAT,
            "version": f"{info.pop('version_prefix', '1.0')}+{digest}",
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
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
    present = {p.name for p in directory.iterdir() if p.name != MANIFEST}
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
    return manifest


def load_bundle(directory: Path) -> tuple[ScoringModel, dict]:
    """Verify, then rebuild the scoring model from text and JSON."""
    from pipeline.params import build

    manifest = verify_bundle(directory)

    def read(name: str):
        return json.loads((directory / name).read_text(encoding="utf-8"))

    pd_model = PDModel.from_parts(
        (directory / "pd_model.txt").read_text(encoding="utf-8"), read("calibrator.json")
    )
    model = ScoringModel(
        pd_model=pd_model,
        scorecard=ScorecardSpec(read("scorecard.json")),
        catalogue=Catalogue.from_records(read("catalogue.json")),
        scale=build(MasterScale, read("grading.json"), "grading"),
        policy=build(CreditPolicy, read("policy.json"), "policy"),
        version=manifest["version"],
    )
    return model, manifest


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


def conform(frame: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """Cast an input frame to the bundle's schema: categoricals to their fixed categories."""
    out = frame.copy()
    for f in schema["features"]:
        if f["kind"] == "categorical":
            out[f["name"]] = pd.Categorical(
                out[f["name"]].astype(object), categories=f["categories"]
            )
        else:
            out[f["name"]] = pd.to_numeric(out[f["name"]], errors="coerce").astype("float64")
    return out


def check_columns(frame: pd.DataFrame, schema: dict, source: str) -> None:
    """Whole-input problem: a column the bundle needs is absent."""
    needed = [schema["id"], *schema["request"], *(f["name"] for f in schema["features"])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing required column(s) {', '.join(missing[:8])}"
            + (" ..." if len(missing) > 8 else "")
        )


def input_problems(frame: pd.DataFrame, schema: dict) -> pd.Series:
    """Per row, the first reason it cannot be scored (None when it can). Vectorised: checks
    run column blocks at a time, messages are assigned in priority order."""
    n = len(frame)
    checks: list[tuple[np.ndarray, str]] = []
    ids = frame[schema["id"]]
    checks.append((ids.isna().to_numpy(), "applicant_id is required; got empty"))
    checks.append(
        (
            (ids.duplicated(keep="first") & ids.notna()).to_numpy(),
            "applicant_id appears more than once in the input (first occurrence scored)",
        )
    )
    for col in schema["request"]:  # empty: no request to cap the limit / terms
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        checks.append((np.isnan(values) & frame[col].notna().to_numpy(), f"{col} must be a number"))
        checks.append((values < 0, f"{col} must be >= 0"))
    numeric = [f["name"] for f in schema["features"] if f["kind"] != "categorical"]
    typed = [c for c in numeric if pd.api.types.is_numeric_dtype(frame[c].dtype)]
    if typed:
        block = frame[typed].to_numpy(dtype="float64", na_value=np.nan)
        bad = np.isinf(block)
        for j in np.flatnonzero(bad.any(axis=0)):
            checks.append((bad[:, j], f"{typed[j]} must be finite"))
    for c in (c for c in numeric if c not in set(typed)):
        values = pd.to_numeric(frame[c], errors="coerce")
        checks.append(((values.isna() & frame[c].notna()).to_numpy(), f"{c} must be a number"))
        checks.append(
            (np.isinf(values.to_numpy(dtype="float64", na_value=np.nan)), f"{c} must be finite")
        )
    for f in schema["features"]:
        if f["kind"] == "categorical":
            col = frame[f["name"]]
            known = (col.isna() | col.astype(object).isin(f["categories"])).to_numpy()
            checks.append((~known, f"{f['name']} has a category unknown to the model"))
    problems = np.full(n, None, dtype=object)
    for mask, message in checks:
        problems[mask & (problems == None)] = message  # noqa: E711
    return pd.Series(problems, index=frame.index, dtype=object)

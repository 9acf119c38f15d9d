"""The DVC graph is true: every stage depends on every repository file its code runs.

Each stage's import closure is computed from its entry module (every ``import`` in the repository
packages, including those inside functions, except ``TYPE_CHECKING`` blocks), plus the modules of
the params sections it reads (``params.<section>``) and the data files those modules load. A path
missing from the stage's ``deps`` in ``dvc.yaml`` fails the test with the path named: editing it
would otherwise leave ``dvc repro`` keeping stale outputs.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.layout import SCORECARD_BINS_DIR
from pipeline.params import SECTION_NEEDS, SECTIONS

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("features", "models", "pipeline", "credit")
# Files a module reads at run time (package data), tracked like code.
DATA_FILES = {
    "features/catalogue.py": ["features/catalogue.yaml"],
    "pipeline/html.py": ["pipeline/templates"],
}
# Folders a params section may name files in (train.scorecard.bins_file must lie in its folder).
SECTION_FOLDERS = {"train": [str(SCORECARD_BINS_DIR)]}


def _module_file(name: str) -> Path | None:
    path = REPO.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(path: Path) -> set[str]:
    """Repository modules ``path`` imports, and the params sections' modules it reads."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    names: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "params"
            and node.attr in SECTIONS
        ):
            for section in (node.attr, *SECTION_NEEDS.get(node.attr, ())):
                names.add(SECTIONS[section].split(":")[0])
    out = set()
    for name in names:
        parts = name.split(".")
        if parts[0] not in PACKAGES:
            continue
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__
            out.add(".".join(parts[:i]))
    return out


def closure(module: str) -> set[str]:
    """Repository files (relative paths) that running ``module`` may execute or read."""
    seen: set[Path] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        path = _module_file(name)
        if path is None or path in seen:
            continue
        seen.add(path)
        todo.extend(_imports(path))
    files = {str(p.relative_to(REPO)) for p in seen}
    for module_file, data in DATA_FILES.items():
        if module_file in files:
            files.update(data)
    return files


def _stages() -> dict[str, dict]:
    return yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def _entry(cmd: str) -> str:
    parts = cmd.split()
    assert parts[:2] == ["python", "-m"], f"stage command should be 'python -m ...': {cmd}"
    return parts[2]


def _covered(path: str, deps: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


@pytest.mark.parametrize("stage", sorted(_stages()))
def test_stage_deps_cover_import_closure(stage: str) -> None:
    spec = _stages()[stage]
    deps = [str(d) for d in spec["deps"]]
    needed = closure(_entry(spec["cmd"]))
    missing = sorted(p for p in needed if not _covered(p, deps))
    assert not missing, f"dvc.yaml stage {stage!r} lacks deps: {missing}"


@pytest.mark.parametrize("stage", sorted(_stages()))
def test_stage_params_cover_sections_read(stage: str) -> None:
    """A stage that reads ``params.<section>`` lists that section (or keys of it)."""
    spec = _stages()[stage]
    listed = {str(p).split(".")[0] for p in spec.get("params", [])}
    path = _module_file(_entry(spec["cmd"]))
    tree = ast.parse(path.read_text(encoding="utf-8"))
    read = {
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name)
        and n.value.id == "params"
        and n.attr in (*SECTIONS, "seed")
    }
    assert read <= listed, f"stage {stage!r} reads params {sorted(read - listed)} not listed"


@pytest.mark.parametrize("stage", sorted(_stages()))
def test_stage_deps_cover_folders_its_params_name(stage: str) -> None:
    """A stage reading ``params.train`` depends on the folder of the scorecard's bins file."""
    spec = _stages()[stage]
    deps = [str(d) for d in spec["deps"]]
    tree = ast.parse(_module_file(_entry(spec["cmd"])).read_text(encoding="utf-8"))
    read = {
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "params"
    }
    needed = [f for section in read for f in SECTION_FOLDERS.get(section, [])]
    missing = sorted(f for f in needed if not _covered(f, deps))
    assert not missing, f"dvc.yaml stage {stage!r} lacks deps: {missing}"
    assert all((REPO / f).is_dir() for f in needed)  # DVC refuses a missing dependency


def test_closure_follows_function_level_imports() -> None:
    files = closure("pipeline.stages.train")
    assert "models/calibration.py" in files  # via models.development -> models.pd_model
    assert "features/dataset_features.py" in files
    assert "pipeline/stages/features.py" not in files


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_editing_a_library_module_makes_dvc_list_the_stages(tmp_path: Path) -> None:
    """In a copy of the repository with the committed lock: touch a module, ask DVC."""
    dvc = shutil.which("dvc", path=str(Path(sys.executable).parent)) or shutil.which("dvc")
    assert dvc is not None and (REPO / "dvc.lock").is_file(), "needs dvc and a dvc.lock"
    copy = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(REPO), str(copy)], check=True)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}

    def stages_seeing(module: str) -> set[str]:
        """Stages whose deps DVC reports modified after editing ``module``."""
        subprocess.run(["git", "checkout", "-q", "."], cwd=copy, check=True)
        path = copy / module
        path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
        out = subprocess.run(
            [dvc, "status", "--json"], cwd=copy, capture_output=True, text=True, env=env
        )
        seen = set()
        for stage, entries in (yaml.safe_load(out.stdout) or {}).items():
            for entry in entries:
                if isinstance(entry, dict) and module in entry.get("changed deps", {}):
                    seen.add(stage)
        return seen

    after_train = {"train", "evaluate", "explain"}
    assert after_train <= stages_seeing("models/calibration.py")
    assert "generate" not in stages_seeing("models/calibration.py")
    assert {"features", "reassess"} <= stages_seeing("features/payments.py")
    assert {"score", "export", "report"} <= stages_seeing("models/scoring.py")


def test_only_evaluation_reads_the_truth() -> None:
    """The simulator's truth (true PD, the declines' outcomes) is written by generate and read
    by evaluate alone: no other stage or library module opens ``layout.truth``, and only the
    evaluate stage depends on ``data/truth``."""
    readers = {
        str(path.relative_to(REPO))
        for package in ("pipeline", "models", "features", "credit")
        for path in (REPO / package).rglob("*.py")
        if "layout.truth" in path.read_text(encoding="utf-8")
    }
    assert readers == {"pipeline/stages/evaluate.py", "pipeline/stages/generate.py"}
    deps = {n for n, st in _stages().items() if any("data/truth" in d for d in st["deps"])}
    assert deps == {"evaluate"}

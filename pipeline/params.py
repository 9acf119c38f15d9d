"""``params.yaml`` -> typed sections, each parsed when a stage first asks for it.

Reading the file checks only its shape: valid YAML, no duplicate keys, no unknown section. A
section (``params.train``, ``params.policy`` ...) is validated into its typed object on first
access, so a stage imports and checks only the sections it uses (and DVC tracks only those
modules). Errors are one line naming the file, the dotted key, the rule and the value.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import yaml

from features.config import build
from features.errors import DataError

# Section -> the class that holds it ("module:Class"), imported only when the section is used.
# (Strings, not imports: a stage's DVC deps then include only the sections it reads.)
SECTIONS: dict[str, str] = {
    "generate": "features.sources.settings:source_settings",
    "validate": "features.contract.rules:ValidationConfig",
    "features": "features.assemble:FeatureConfig",
    "split": "models.split:SplitConfig",
    "train": "pipeline.settings:TrainSettings",
    "grading": "models.grading:MasterScale",
    "evaluate": "pipeline.settings:EvaluateSettings",
    "strategy": "models.strategy:StrategySettings",
    "policy": "models.policy:CreditPolicy",
    "export": "pipeline.settings:ExportSettings",
    "score": "pipeline.settings:ScoreSettings",
    "report": "pipeline.settings:ReportSettings",
    "monitor": "models.monitoring:MonitorConfig",
    "signing": "pipeline.settings:SigningSettings",
    "ledger": "credit.settings:LedgerSettings",
    "customers": "credit.customers.settings:CustomerSettings",
    "compute": "pipeline.compute:ComputeSettings",
}
TOP_LEVEL = ("seed", *SECTIONS)
# Sections validated against another one (the policy needs terms for exactly the master scale's
# grades). The knock-outs are also checked against the feature catalogue, built from the raw
# ``features`` windows by models.policy (no extra section module in every stage's closure).
SECTION_NEEDS = {"policy": ("grading",)}


# A class rule written "<key> must ..." under its section: reported as "<section>.<key>: must ...".
_KEY_RULE = re.compile(r"^(?P<loc>[\w.]+): (?P<key>[A-Za-z_][\w.]*) (?P<rule>must .*)$", re.S)


def _dotted(message: str) -> str:
    """``<loc>: <key> must ...`` -> ``<loc>.<key>: must ...``; always one line (a key or value
    holding a line break is shown escaped)."""
    message = message.replace("\r", "\\r").replace("\n", "\\n")
    match = _KEY_RULE.match(message)
    if match is None:
        return message
    return f"{match['loc']}.{match['key']}: {match['rule']}"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key written twice in one mapping (YAML lets the last win)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise DataError(
                    f"line {key_node.start_mark.line + 1}: duplicate key {key!r} (YAML would "
                    "silently keep the last one)"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def section_class(name: str) -> type:
    module, cls = SECTIONS[name].split(":")
    return getattr(importlib.import_module(module), cls)


class Params:
    """The parsed ``params.yaml``; ``params.<section>`` is the validated section object."""

    def __init__(self, raw: dict[str, Any], source: str = "params.yaml"):
        if not isinstance(raw, dict):
            raise DataError(f"{source}: top level must be a mapping of sections")
        unknown = sorted(set(raw) - set(TOP_LEVEL), key=str)
        if unknown:
            raise DataError(
                f"{source}: {_dotted(str(unknown[0]))}: unknown section (known: "
                f"{', '.join(TOP_LEVEL)})"
            )
        self.raw = raw
        self.source = source
        self._sections: dict[str, Any] = {}

    @property
    def seed(self) -> int:
        seed = self.raw.get("seed", 42)
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise DataError(f"{self.source}: seed: must be an integer >= 0; got {seed!r}")
        return seed

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in SECTIONS:
            raise AttributeError(name)
        if name not in self._sections:
            self._sections[name] = self._build(name)
        return self._sections[name]

    def _build(self, name: str) -> Any:
        data = self.raw.get(name) or {}
        try:
            if name == "generate":  # the generator's knobs sit beside the source switch
                return section_class(name)(data, self.seed)
            obj = build(section_class(name), data, name)
            if name == "policy":
                self._check_policy(obj)
            return obj
        except DataError as exc:
            message = str(exc)
            if message.startswith(f"{self.source}: ") and "\n" not in message:
                raise
            if message.startswith(f"{self.source}: "):
                message = message.removeprefix(f"{self.source}: ")
            raise DataError(f"{self.source}: {_dotted(message)}") from None
        except ValueError as exc:
            message = str(exc) if str(exc).startswith(f"{name}.") else f"{name}: {exc}"
            raise DataError(f"{self.source}: {_dotted(message)}") from None

    def _check_policy(self, policy: Any) -> None:
        """Cross-section rules of ``policy`` (ValueError naming ``policy.<key>``)."""
        grading = self.grading
        policy.check((*grading.labels, grading.default_label))
        windows = self._catalogue_windows()
        if windows is not None:
            policy.check_catalogue(**windows)

    def _catalogue_windows(self) -> dict[str, tuple[int, ...]] | None:
        """The windows of the synthetic feature catalogue (``features`` keys, defaults when
        absent), or None when knock-outs are not checked: a tabular source (its catalogue comes
        from the data set's config; a knock-out on a feature it lacks never applies, as
        documented) or windows the ``features`` section itself refuses."""
        generate, features = self.raw.get("generate") or {}, self.raw.get("features") or {}
        if not isinstance(generate, dict) or not isinstance(features, dict):
            return None
        if generate.get("source") == "tabular":
            return None
        windows = {}
        for key, arg in (
            ("payment_windows_months", "payment_windows"),
            ("compliance_windows_months", "compliance_windows"),
        ):
            if key not in features:
                continue
            value = features[key]
            ok = isinstance(value, (list, tuple)) and all(
                isinstance(w, int) and not isinstance(w, bool) for w in value
            )
            if not ok:
                return None
            windows[arg] = tuple(value)
        return windows

    def updated(self, **sections: Any) -> Params:
        """A copy with some sections replaced by ready objects (benchmarks, tests)."""
        out = Params(self.raw, self.source)
        out._sections = {**self._sections, **sections}
        return out

    def check_all(self) -> None:
        """Validate every section (``creditrisk params``): the first problem is raised."""
        self.seed  # noqa: B018 - validated on access
        for name in SECTIONS:
            getattr(self, name)


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    """YAML text -> mapping, refusing duplicate keys; errors name the file and line."""
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)
    except DataError as exc:
        raise DataError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        raise DataError(f"{source}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return raw or {}


def load(path: Path | str = "params.yaml") -> Params:
    """Read ``params.yaml`` (its shape only; sections are validated on first use)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: params file not found")
    return Params(parse_yaml(path.read_text(encoding="utf-8"), str(path)), str(path))

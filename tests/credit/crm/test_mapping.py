"""The mapping files: the shipped ones load; a user's mistakes are one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from credit.crm import ADAPTERS, adapter
from credit.crm.mapping import FIELDS, AccountColumns, default_mapping, load_mapping
from features.errors import DataError


@pytest.mark.parametrize("crm", sorted(ADAPTERS))
def test_shipped_mappings_load(crm):
    m = load_mapping(default_mapping(crm))
    assert m.crm == crm
    assert adapter(crm).mapping == m


def test_field_table_matches_the_settings():
    assert set(FIELDS["accounts"]) == set(AccountColumns.__dataclass_fields__)


def _edited(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(default_mapping("zoho").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "zoho.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["accounts"]["columns"].update(industy="Industry"),
            "zoho.yaml: accounts.columns.industy: unknown key (did you mean 'industry'?)",
        ),
        (
            lambda d: d["accounts"]["columns"]["industry"]["values"].update(Mining="mining"),
            "zoho.yaml: accounts.columns: industry.values.Mining must be one of agriculture, ",
        ),
        (
            lambda d: d["accounts"]["columns"]["country"]["values"].update(Germany="Germany"),
            "country.values.Germany must be a two-letter ISO 3166-1 code",
        ),
        (
            lambda d: d["accounts"]["columns"].pop("legal_form"),
            "zoho.yaml: accounts.columns.legal_form: required key is missing",
        ),
        (
            lambda d: d["orders"]["columns"].update(customer_id=None, customer_name=None),
            "orders.columns: map customer_id (the account's record id) or customer_name",
        ),
        (
            lambda d: d["export"].update(decision={"maybe": "Vielleicht"}),
            "export: decision maps 'maybe'; the keys are the product's values: approve",
        ),
        (
            lambda d: d["export"]["labels"].update(pd="Credit Grade"),
            "export.labels: labels must differ; 'Credit Grade' is used twice",
        ),
        (lambda d: d.update(crm="salesforce"), "zoho.yaml: crm: input should be 'zoho' or"),
        (
            lambda d: (
                d["accounts"]["columns"]["registered_capital"].__class__  # no-op
                and d["accounts"]["columns"].update(registered_capital={"column": "X", "scale": 0})
            ),
            "registered_capital: scale must be > 0; got 0",
        ),
    ],
    ids=[
        "typo",
        "value-outside-contract",
        "country-not-iso",
        "required-field",
        "no-customer-key",
        "export-decision",
        "duplicate-label",
        "unknown-crm",
        "scale",
    ],
)
def test_mapping_mistakes_are_one_line(tmp_path, change, message):
    path = _edited(tmp_path, change)
    with pytest.raises(DataError) as info:
        load_mapping(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("crm: zoho\naccounts: [unclosed\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.yaml: line \d+: not valid YAML"):
        load_mapping(path)


def test_shorthand_and_numeric_value_maps(tmp_path):
    m = load_mapping(default_mapping("zoho"))
    assert m.accounts.columns.company_name.column == "Account Name"
    grade = m.accounts.columns.country_risk_grade
    assert grade.values["China"] == "2" and grade.other == "0"  # YAML numbers read as text


def test_a_mapping_for_the_other_crm_is_refused(tmp_path):
    path = _edited(tmp_path, lambda d: None)
    with pytest.raises(DataError, match="crm is 'zoho', not a fxiaoke mapping"):
        adapter("fxiaoke", path)

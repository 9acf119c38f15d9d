"""Approval authority: the pure rule check and its configuration."""

from __future__ import annotations

import pytest

from credit.ledger import AuthorityConfig, AuthorityError, LedgerError, check
from credit.ledger.authority import DEFAULT_AUTHORITY

PARAMS = {
    "roles": [
        {"name": "analyst", "max_limit": 50_000},
        {"name": "credit_manager", "max_limit": 500_000},
        {"name": "committee", "max_limit": None},
    ],
    "knockout_override_role": "committee",
}
CFG = AuthorityConfig.from_mapping(PARAMS)
PLAIN = {"decision": "refer", "knockout_rule": None}
KNOCKED = {"decision": "decline", "knockout_rule": "sanctions_hit"}


def test_params_section_builds_the_default():
    assert CFG == DEFAULT_AUTHORITY
    assert CFG.role("committee").max_limit is None


@pytest.mark.parametrize(
    "role, limit",
    [
        ("analyst", 50_000),
        ("analyst", 100),
        ("credit_manager", 500_000),
        ("committee", 10_000_000),
    ],
)
def test_within_authority_passes(role, limit):
    assert check(CFG, role, limit, PLAIN) is None


@pytest.mark.parametrize(
    "role, limit, needs",
    [
        ("analyst", 50_001, "credit_manager"),
        ("credit_manager", 500_001, "committee"),
    ],
)
def test_beyond_authority_names_the_rule(role, limit, needs):
    with pytest.raises(AuthorityError) as err:
        check(CFG, role, limit, PLAIN)
    message = str(err.value)
    assert f"ledger.authority.roles.{role}.max_limit" in message
    assert needs in message and "\n" not in message
    assert isinstance(err.value, LedgerError)


def test_knockout_override_needs_the_named_role():
    for role in ("analyst", "credit_manager"):
        with pytest.raises(
            AuthorityError,
            match="knockout_override_role: knock-out "
            "sanctions_hit can only be overridden by "
            "committee",
        ):
            check(CFG, role, 1_000, KNOCKED)
    check(CFG, "committee", 1_000, KNOCKED)


def test_declining_a_knockout_needs_no_special_role():
    check(CFG, "analyst", None, KNOCKED, new_decision="decline")


def test_unknown_role_is_refused():
    with pytest.raises(AuthorityError, match="unknown role 'intern'"):
        check(CFG, "intern", 1, PLAIN)


@pytest.mark.parametrize(
    "section, message",
    [
        ({"roles": [], "knockout_override_role": "x"}, "at least one role"),
        (
            {
                "roles": [{"name": "a", "max_limit": 10}, {"name": "a", "max_limit": 20}],
                "knockout_override_role": "a",
            },
            "unique",
        ),
        (
            {
                "roles": [{"name": "a", "max_limit": 10}, {"name": "b", "max_limit": 5}],
                "knockout_override_role": "a",
            },
            "ordered by max_limit",
        ),
        (
            {
                "roles": [{"name": "a", "max_limit": None}, {"name": "b", "max_limit": 5}],
                "knockout_override_role": "a",
            },
            "ordered by max_limit",
        ),
        (
            {"roles": [{"name": "a", "max_limit": "lots"}], "knockout_override_role": "a"},
            "must be a number or null",
        ),
        (
            {"roles": [{"name": "a", "max_limit": -1}], "knockout_override_role": "a"},
            "non-negative",
        ),
        (
            {"roles": [{"name": "a", "max_limit": 1}], "knockout_override_role": "boss"},
            "unknown role 'boss'",
        ),
        ({"roles": [{"name": "a", "max_limit": 1}]}, "knockout_override_role is required"),
        ({"roles": [{"name": "a", "limit": 1}], "knockout_override_role": "a"}, r"roles\[0\]"),
        (
            {"roles": [{"name": "a", "max_limit": 1}], "knockout_override_role": "a", "x": 1},
            "unknown key",
        ),
    ],
)
def test_bad_configuration_names_the_key(section, message):
    with pytest.raises(ValueError, match=message) as err:
        AuthorityConfig.from_mapping(section)
    assert "ledger.authority" in str(err.value)


def test_config_method_is_the_same_check():
    CFG.check("analyst", 50_000, PLAIN)
    with pytest.raises(AuthorityError, match="analyst.max_limit"):
        CFG.check("analyst", 50_001, PLAIN)

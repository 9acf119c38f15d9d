"""Approval authority: who may approve or override a decision, and up to which limit.

Configured in params.yaml (section ``ledger.authority``)::

    ledger:
      authority:
        roles:                       # least to most authority; max_limit null = unlimited
          - {name: analyst, max_limit: 50000}
          - {name: credit_manager, max_limit: 500000}
          - {name: committee, max_limit: null}
        knockout_override_role: committee   # this role or above may lift a knock-out

``check`` is pure: it reads nothing and writes nothing, and raises ``AuthorityError`` naming
the rule that refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from credit.ledger.errors import LedgerError

SECTION = "ledger.authority"


class AuthorityError(LedgerError):
    """An approval or override beyond the role's authority (the rule is named)."""


@dataclass(frozen=True)
class Role:
    """One approval role and the largest limit it may approve or override to."""

    name: str
    max_limit: float | None  # None: unlimited

    def allows(self, limit: float) -> bool:
        return self.max_limit is None or limit <= self.max_limit


@dataclass(frozen=True)
class AuthorityConfig:
    """Roles ordered from least to most authority, and who may lift a knock-out."""

    roles: tuple[Role, ...]
    knockout_override_role: str

    def __post_init__(self) -> None:
        if not self.roles:
            raise ValueError(f"{SECTION}.roles: at least one role is needed")
        names = [r.name for r in self.roles]
        if len(set(names)) != len(names):
            raise ValueError(f"{SECTION}.roles: role names must be unique; got {names}")
        previous = -math.inf
        for role in self.roles:
            if not role.name or not isinstance(role.name, str):
                raise ValueError(f"{SECTION}.roles: every role needs a name")
            cap = math.inf if role.max_limit is None else role.max_limit
            if role.max_limit is not None and (not math.isfinite(cap) or cap < 0):
                raise ValueError(
                    f"{SECTION}.roles.{role.name}.max_limit must be a "
                    f"non-negative number or null; got {role.max_limit!r}"
                )
            if cap < previous:
                raise ValueError(
                    f"{SECTION}.roles must be ordered by max_limit (least "
                    f"authority first); {role.name} has less than the role before"
                )
            previous = cap
        if self.knockout_override_role not in names:
            raise ValueError(
                f"{SECTION}.knockout_override_role: unknown role "
                f"{self.knockout_override_role!r} (roles: {', '.join(names)})"
            )

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any]) -> AuthorityConfig:
        """Build from the params.yaml section; raises ValueError naming the bad key."""
        if not isinstance(section, Mapping):
            raise ValueError(f"{SECTION} must be a mapping")
        unknown = set(section) - {"roles", "knockout_override_role"}
        if unknown:
            raise ValueError(f"{SECTION}: unknown key(s) {sorted(unknown)}")
        raw_roles = section.get("roles")
        if not isinstance(raw_roles, Sequence) or isinstance(raw_roles, str):
            raise ValueError(f"{SECTION}.roles must be a list of {{name, max_limit}}")
        roles = []
        for i, item in enumerate(raw_roles):
            if (
                not isinstance(item, Mapping)
                or set(item) - {"name", "max_limit"}
                or "name" not in item
            ):
                raise ValueError(f"{SECTION}.roles[{i}] must be {{name, max_limit}}; got {item!r}")
            cap = item.get("max_limit")
            if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int | float)):
                raise ValueError(
                    f"{SECTION}.roles[{i}].max_limit must be a number or null; got {cap!r}"
                )
            roles.append(Role(str(item["name"]), None if cap is None else float(cap)))
        if "knockout_override_role" not in section:
            raise ValueError(f"{SECTION}.knockout_override_role is required")
        return cls(tuple(roles), str(section["knockout_override_role"]))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.roles)

    def role(self, name: str) -> Role:
        for r in self.roles:
            if r.name == name:
                return r
        raise AuthorityError(
            f"{SECTION}.roles: unknown role {name!r} (roles: {', '.join(self.names)})"
        )

    def rank(self, name: str) -> int:
        return self.names.index(self.role(name).name)

    def check(
        self,
        role: str,
        new_limit: float | None,
        decision_row: Mapping[str, Any],
        new_decision: str = "approve",
    ) -> None:
        """``check(self, ...)``: refuse with ``AuthorityError`` naming the rule."""
        check(self, role, new_limit, decision_row, new_decision)


DEFAULT_AUTHORITY = AuthorityConfig(
    roles=(Role("analyst", 50_000.0), Role("credit_manager", 500_000.0), Role("committee", None)),
    knockout_override_role="committee",
)


def _money(x: float) -> str:
    return f"{x:,.0f}"


def check(
    config: AuthorityConfig,
    role: str,
    new_limit: float | None,
    decision_row: Mapping[str, Any],
    new_decision: str = "approve",
) -> None:
    """Refuse (``AuthorityError`` naming the rule) when ``role`` may not move the decision in
    ``decision_row`` (its ``knockout_rule``) to ``new_decision`` with ``new_limit``.

    Declining is always within authority; approving or referring a knocked-out application
    needs ``knockout_override_role`` or above; the limit must be within the role's max_limit.
    """
    r = config.role(role)
    if new_decision == "decline":
        return
    knockout = decision_row.get("knockout_rule")
    if knockout and config.rank(role) < config.rank(config.knockout_override_role):
        raise AuthorityError(
            f"{SECTION}.knockout_override_role: knock-out {knockout} can only be overridden by "
            f"{config.knockout_override_role} or above; {role} may not"
        )
    if new_limit is not None and not r.allows(new_limit):
        raise AuthorityError(
            f"{SECTION}.roles.{role}.max_limit: {role} may approve or override up to "
            f"{_money(r.max_limit or 0)}; {_money(new_limit)} needs "
            f"{_first_allowing(config, new_limit)}"
        )


def _first_allowing(config: AuthorityConfig, limit: float) -> str:
    for r in config.roles:
        if r.allows(limit):
            return r.name
    return "a role with more authority"

"""Validate raw tables: type coercion, pandera row rules, referential integrity, row accounting.

Every input row ends up either in ``valid`` (typed) or in ``rejects`` (the original row plus
``row``, ``rule``, ``rules``, ``column``, ``value`` and ``message``): ``n_input == len(valid) +
len(rejects)`` always. Whole-table problems (a missing or renamed required column, an
``applicants`` table without rows) raise :class:`features.errors.DataError` with one line naming
the source and the problem. Any other table may have a header and no rows: no records of that
kind (a batch without compliance events; a CRM export, which has no financial statements).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from features.contract.rules import KeyRule, Rule, ValidationConfig, build_schema, table_rules
from features.contract.tables import TABLES, TRADE_TABLES, TableSpec
from features.errors import DataError

REJECT_COLUMNS = ["row", "rule", "rules", "column", "value", "message"]
VALIDATION_ORDER = (
    "applicants",
    "financial_statements",
    "invoices",
    "compliance_events",
    "external_ratings",
    "outcomes",
)
# What is known when an application is decided: every applicant table but the outcomes.
APPLICATION_TABLES = tuple(t for t in VALIDATION_ORDER if t != "outcomes")
_EXPECTED = {
    "int": "a whole number",
    "float": "a number",
    "date": "a date (YYYY-MM-DD)",
    "str": "text",
}


@dataclass
class TableResult:
    """Outcome of validating one table."""

    table: str
    n_input: int
    valid: pd.DataFrame
    rejects: pd.DataFrame
    rule_counts: dict[str, int] = field(default_factory=dict)
    dropped_columns: list[str] = field(default_factory=list)

    @property
    def n_valid(self) -> int:
        return len(self.valid)

    @property
    def n_rejected(self) -> int:
        return len(self.rejects)

    @property
    def balanced(self) -> bool:
        return self.n_input == self.n_valid + self.n_rejected

    def summary(self) -> dict:
        return _summary(self)


def _summary(t: TableResult | TableTotals) -> dict:
    """A table's line of the validation report: counts, balance, rules and dropped columns."""
    return {
        "input_rows": t.n_input,
        "valid_rows": t.n_valid,
        "rejected_rows": t.n_rejected,
        "balanced": t.balanced,
        "rules": dict(sorted(t.rule_counts.items())),
        "dropped_columns": t.dropped_columns,
    }


DATE_MIN = pd.Timestamp("1678-01-01")
DATE_MAX = pd.Timestamp("2261-12-31")


# Tables that must have rows: without applicants there is nothing to validate against.
NEEDS_ROWS = ("applicants",)


def check_columns(raw: pd.DataFrame, spec: TableSpec, source: str) -> list[str]:
    """Raise on missing required columns, or no rows in a table that needs rows; return the
    extra columns that are ignored."""
    present = [str(c).strip() for c in raw.columns]
    missing = [c.name for c in spec.columns if c.required and c.name not in present]
    if missing:
        shown = ", ".join(present[:12]) + (" ..." if len(present) > 12 else "")
        raise DataError(
            f"{source}: missing required column(s) {', '.join(missing)} (found: {shown or 'none'})"
        )
    if len(raw) == 0 and spec.name in NEEDS_ROWS:
        raise DataError(f"{source}: empty file (no data rows)")
    return [c for c in present if c not in spec.column_names]


def coerce(
    raw: pd.DataFrame, spec: TableSpec
) -> tuple[pd.DataFrame, list[tuple[int, str, str, object]]]:
    """Cast each column to its contract type; return the frame and type/required failures.

    Failures are ``(position, rule, column, raw value)``. A value that cannot be parsed becomes
    missing in the typed frame and is reported as ``<column>.type``; a missing required value as
    ``<column>.required``.
    """
    out = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    failures: list[tuple[int, str, str, object]] = []
    for col in spec.columns:
        if col.name not in raw.columns:
            out[col.name] = _empty(col.kind, len(raw))
            continue
        values = raw[col.name].reset_index(drop=True)
        typed, bad = _cast(values, col.kind)
        for pos in np.flatnonzero(bad):
            failures.append((int(pos), f"{col.name}.type", col.name, values.iloc[pos]))
        if col.required:
            for pos in np.flatnonzero(typed.isna().to_numpy() & ~bad):
                failures.append((int(pos), f"{col.name}.required", col.name, None))
        out[col.name] = typed
    return out, failures


def _empty(kind: str, n: int) -> pd.Series:
    dtype = {"int": "Int64", "float": "float64", "date": "datetime64[ns]", "str": "str"}[kind]
    return pd.Series(pd.array([None] * n, dtype=dtype) if kind != "float" else np.full(n, np.nan))


def _blank(values: pd.Series) -> np.ndarray:
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        stripped = values.astype("str").str.strip()
        return (values.isna() | (stripped == "")).to_numpy()
    return values.isna().to_numpy()


def _cast(values: pd.Series, kind: str) -> tuple[pd.Series, np.ndarray]:
    """Typed series and a mask of present values that failed to parse."""
    blank = _blank(values)
    if kind == "str":
        typed = values.astype("str").str.strip()
        typed = typed.where(~blank, None)
        return typed, np.zeros(len(values), bool)
    if kind == "date":
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            typed = values
        else:
            text = values.astype("str").str.strip().where(~blank, None)
            typed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        # Sentinels such as 9999-12-31 or 1000-01-01 parse, but lie outside what the tables
        # hold (nanosecond dates, 1677-2262): they are unparseable here, hence rejected rows.
        typed = typed.astype("datetime64[us]")
        typed = typed.where((typed >= DATE_MIN) & (typed <= DATE_MAX)).astype("datetime64[ns]")
    else:
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        ):
            num = values.astype("float64")
        else:
            text = values.astype("str").str.strip().where(~blank, None)
            num = pd.to_numeric(text, errors="coerce").astype("float64")
        num = num.where(np.isfinite(num.to_numpy(dtype="float64", na_value=np.nan)))
        if kind == "int":  # whole numbers that fit exactly (|x| < 2**53), else unparseable
            frac = num.notna() & ((num != np.round(num)) | (num.abs() >= 2.0**53))
            num = num.where(~frac)
            typed = num.astype("Int64")
        else:
            typed = num
    bad = typed.isna().to_numpy() & ~blank
    return typed, bad


def validate_table(
    raw: pd.DataFrame,
    table: str,
    cfg: ValidationConfig,
    source: str = "",
    valid_ids: pd.Index | None = None,
    rejected_ids: pd.Index | None = None,
    refs: dict[str, tuple[pd.Index, pd.Index]] | None = None,
) -> TableResult:
    """Validate one raw table (as read, untyped or typed) against its contract."""
    spec = TABLES[table]
    source = source or table
    raw = raw.rename(columns=lambda c: str(c).strip())
    dropped = check_columns(raw, spec, source)
    raw = raw.reset_index(drop=True)
    typed, failures = coerce(raw, spec)
    keys, rules = table_rules(table, cfg, valid_ids, rejected_ids, refs)
    failures += _run_schema(typed, spec, rules, keys)
    return _assemble(table, raw, typed, failures, rules, keys, dropped)


def _run_schema(
    typed: pd.DataFrame, spec: TableSpec, rules: list[Rule], keys: list[KeyRule]
) -> list[tuple[int, str, str, object]]:
    schema = build_schema(spec.name, spec.column_names, rules, keys)
    try:
        schema.validate(typed, lazy=True)
        return []
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    key_by_check = {
        "field_uniqueness": {k.columns[0]: k.id for k in keys if len(k.columns) == 1},
        "multiple_fields_uniqueness": next((k.id for k in keys if len(k.columns) > 1), None),
    }
    wide_cols = {r.id: r.columns for r in rules if r.column is None}
    failures: list[tuple[int, str, str, object]] = []
    cases = cases.dropna(subset=["index"])
    seen: set[tuple[int, str]] = set()
    for check, column, index, value in cases[
        ["check", "column", "index", "failure_case"]
    ].itertuples(index=False):
        pos = int(index)
        if check == "field_uniqueness":
            rule = key_by_check["field_uniqueness"].get(column, f"{column}.unique")
        elif check == "multiple_fields_uniqueness":
            rule = key_by_check["multiple_fields_uniqueness"]
            column = ",".join(next(k.columns for k in keys if k.id == rule))
        else:
            rule = str(check)
        if rule in wide_cols:
            column = ",".join(wide_cols[rule])
        if (pos, rule) in seen:
            continue
        seen.add((pos, rule))
        failures.append((pos, rule, str(column), value))
    return failures


def _describe(typed: pd.DataFrame, raw: pd.DataFrame, pos: int, column: str, value: object) -> str:
    cols = column.split(",")
    if len(cols) > 1 or column not in raw.columns:
        parts = []
        for c in cols:
            if c in typed.columns:
                parts.append(f"{c}={_fmt(typed[c].iloc[pos])}")
        return ", ".join(parts)
    return _fmt(value if value is not None else raw[column].iloc[pos])


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return "empty"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return repr(value) if isinstance(value, str) else str(value)


def _assemble(
    table: str,
    raw: pd.DataFrame,
    typed: pd.DataFrame,
    failures: list[tuple[int, str, str, object]],
    rules: list[Rule],
    keys: list[KeyRule],
    dropped: list[str],
) -> TableResult:
    spec = TABLES[table]
    order = {f"{c.name}.type": i for i, c in enumerate(spec.columns)}
    order.update({f"{c.name}.required": len(order) + i for i, c in enumerate(spec.columns)})
    for i, rule_id in enumerate([k.id for k in keys] + [r.id for r in rules]):
        order.setdefault(rule_id, 1000 + i)
    messages = {r.id: r.message for r in rules} | {k.id: k.message for k in keys}
    by_row: dict[int, list[tuple[int, str, str, object]]] = {}
    for f in failures:
        by_row.setdefault(f[0], []).append(f)
    rule_counts: Counter[str] = Counter()
    records = []
    for pos in sorted(by_row):
        fs = sorted(by_row[pos], key=lambda f: order.get(f[1], 10_000))
        rule_counts.update({f[1] for f in fs})
        _, rule, column, value = fs[0]
        shown = _describe(typed, raw, pos, column, value)
        if rule.endswith(".type"):
            kind = next(c.kind for c in spec.columns if c.name == column)
            message = f"{column} must be {_EXPECTED[kind]}; got {shown}"
        elif rule.endswith(".required"):
            message = f"{column} is required; got empty"
        elif rule in ("applicant_id.unique",) or rule.endswith(
            (".unique", ".unique_per_applicant")
        ):
            key_cols = next(k.columns for k in keys if k.id == rule)
            key_val = tuple(typed[c].iloc[pos] for c in key_cols)
            message = messages[rule].format(value=_fmt(key_val if len(key_val) > 1 else key_val[0]))
            shown = _fmt(key_val if len(key_val) > 1 else key_val[0])
        else:
            message = messages.get(rule, rule).format(value=shown)
        records.append(
            (pos + 1, rule, "; ".join(dict.fromkeys(f[1] for f in fs)), column, shown, message)
        )
    meta = pd.DataFrame(records, columns=REJECT_COLUMNS)
    bad_pos = np.array(sorted(by_row), dtype=int)
    original = raw.iloc[bad_pos].reset_index(drop=True)
    original.columns = [c if c not in REJECT_COLUMNS else f"input_{c}" for c in original.columns]
    rejects = pd.concat([meta, original], axis=1)
    keep = np.ones(len(typed), bool)
    keep[bad_pos] = False
    valid = typed.loc[keep].reset_index(drop=True)
    return TableResult(table, len(raw), valid, rejects, dict(rule_counts), dropped)


def validate_tables(
    raw: dict[str, pd.DataFrame],
    cfg: ValidationConfig,
    sources: dict[str, str] | None = None,
    applicant_ids: tuple[pd.Index, pd.Index] | None = None,
    foreign: dict[str, tuple[pd.Index, pd.Index]] | None = None,
) -> dict[str, TableResult]:
    """Validate all tables, parents first so children can be checked against them.

    The applicant tables need ``applicants``; the trade tables (``TRADE_TABLES``) are optional
    and checked against their parents (customers -> orders -> invoices -> payments). Trade
    tables validated on their own (the applicant tables done partition by partition) take
    the applicants' ``(valid, rejected)`` ids from :func:`applicant_id_sets` instead. A bucket
    of customers takes in ``foreign`` (``order_id`` / ``invoice_id``: valid and rejected ids)
    what other buckets found about the parents it names but does not hold
    (:func:`foreign_refs`), so that it rejects exactly the rows one whole run rejects."""
    sources = sources or {}
    results: dict[str, TableResult] = {}
    valid_ids, rejected_ids = applicant_ids or (None, None)
    if "applicants" in raw:
        apps = validate_table(raw["applicants"], "applicants", cfg, sources.get("applicants", ""))
        results["applicants"] = apps
        valid_ids, rejected_ids = applicant_id_sets(raw["applicants"], apps)
        for table in VALIDATION_ORDER[1:]:
            if table not in raw:
                continue
            results[table] = validate_table(
                raw[table], table, cfg, sources.get(table, ""), valid_ids, rejected_ids
            )
    refs: dict[str, tuple[pd.Index, pd.Index]] = {}
    for table in TRADE_TABLES:
        if table not in raw:
            continue
        result = validate_table(
            raw[table], table, cfg, sources.get(table, ""), valid_ids, rejected_ids, refs
        )
        results[table] = result
        key = TABLES[table].key[0]
        valid = pd.Index(result.valid[key].unique())
        refs[key] = (valid, pd.Index(_raw_ids(raw[table], key)).difference(valid))
        if foreign and key in foreign:
            refs[key] = (refs[key][0].append(foreign[key][0]), refs[key][1].append(foreign[key][1]))
    return results


# References between trade tables that may cross buckets of customers (a row naming another
# customer's order or invoice): child table -> (column, parent table).
CROSS_REFS = {
    "sales_invoices": ("order_id", "sales_orders"),
    "payments": ("invoice_id", "sales_invoices"),
}


def foreign_refs(raw: dict[str, pd.DataFrame]) -> dict[str, pd.Index]:
    """The parent ids the rows of ``raw`` (one bucket of customers) name but its parent
    tables do not hold, per column of :data:`CROSS_REFS`."""
    out = {}
    for child, (key, parent) in CROSS_REFS.items():
        columns = {str(c).strip() for c in raw[child].columns} if child in raw else set()
        if parent in raw and key in columns:
            named = pd.Index(_raw_ids(raw[child], key))
            out[key] = named.difference(pd.Index(_raw_ids(raw[parent], key)))
    return out


def ref_status(
    raw: dict[str, pd.DataFrame], results: dict[str, TableResult], wanted: dict[str, pd.Index]
) -> dict[str, tuple[pd.Index, pd.Index]]:
    """Of the ``wanted`` parent ids (column -> ids), those valid and those rejected here."""
    parents = dict(CROSS_REFS.values())
    out = {}
    for key, ids in wanted.items():
        parent = parents[key]
        if parent not in results:
            continue
        valid = pd.Index(results[parent].valid[key].unique())
        present = pd.Index(_raw_ids(raw[parent], key))
        out[key] = (ids.intersection(valid), ids.intersection(present.difference(valid)))
    return out


def applicant_id_sets(raw: pd.DataFrame, result: TableResult) -> tuple[pd.Index, pd.Index]:
    """The valid applicant ids and the ids present in the raw table but rejected."""
    valid = pd.Index(result.valid["applicant_id"].unique())
    return valid, pd.Index(_raw_ids(raw, "applicant_id")).difference(valid)


@dataclass
class TableTotals:
    """One table's counts summed over its partitions (what the report shows)."""

    table: str
    n_input: int = 0
    n_valid: int = 0
    n_rejected: int = 0
    rule_counts: Counter = field(default_factory=Counter)
    dropped_columns: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.n_input == self.n_valid + self.n_rejected

    def add(self, result: TableResult) -> None:
        self.n_input += result.n_input
        self.n_valid += result.n_valid
        self.n_rejected += result.n_rejected
        self.rule_counts.update(result.rule_counts)
        self.dropped_columns += [c for c in result.dropped_columns if c not in self.dropped_columns]

    def summary(self) -> dict:
        return _summary(self)


def _raw_ids(frame: pd.DataFrame, key: str) -> pd.Series:
    col = frame.rename(columns=lambda c: str(c).strip())[key]
    return col.dropna().astype("str").str.strip().unique()

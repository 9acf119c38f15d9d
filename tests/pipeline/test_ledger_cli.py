"""``creditrisk decide`` and ``creditrisk decisions ...`` end to end through ``main()`` on a
small project (2,000 generated applicants, trained and exported in-process, the champion
registered in the project's own MLflow store).

The project and its first ``decide`` are built once per machine (a file lock shares them
between xdist workers); every test acts on its own application, so they run in any order.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

import orjson
import pytest
import yaml

from credit.ledger import Ledger, feature_hash, sqlite_url
from pipeline.cli import main
from tests.pipeline.conftest import tiny_params
from tests.pipeline.ledger_project import bundle_project, shared_project


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """One project per machine run, shared by the xdist workers (built under a lock)."""
    return shared_project(tmp_path_factory)


def run(project: Path, *args: str) -> int:
    return main(["--project", str(project), *args])


def ledger_of(project: Path) -> Ledger:
    return Ledger.open(sqlite_url(project / "data/ledger/ledger.db"), create=False)


def unlabelled(project: Path) -> int:
    import pandas as pd

    frame = pd.read_parquet(project / "data/processed/features.parquet", columns=["default_12m"])
    return int(frame["default_12m"].isna().sum())


def pick(project: Path, decision: str, index: int) -> str:
    """A recorded application with this decision (distinct per test, stable order)."""
    with ledger_of(project) as ledger:
        frame = ledger.list_decisions(decision=decision, latest_only=True)
    ids = sorted(frame["application_id"])
    assert len(ids) > index, f"the tiny project has only {len(ids)} {decision} decision(s)"
    return ids[index]


def test_decide_records_the_batch(project: Path):
    text = (project / "first_decide.txt").read_text()
    n = unlabelled(project)
    with ledger_of(project) as ledger:
        counts = ledger.counts()
        listed = ledger.list_decisions()
    assert f"input {n:,} = recorded {counts['decisions']:,} + skipped 0 + rejected" in text
    assert 0 < counts["decisions"] <= n
    assert set(listed["registry_version"]) == {"1"}  # the champion of the project's MLflow
    assert set(listed["decision"]) <= {"approve", "refer", "decline"}
    assert "refer" in set(listed["decision"])


def test_second_decide_changes_nothing(project: Path, capsys):
    with ledger_of(project) as ledger:
        before = ledger.counts()["decisions"]
    assert run(project, "decide") == 0
    out = capsys.readouterr().out
    assert f"recorded 0 + skipped {before:,} + rejected" in out
    with ledger_of(project) as ledger:
        assert ledger.counts()["decisions"] == before


def test_approve_a_referral_within_authority(project: Path, capsys):
    app_id = pick(project, "refer", 0)
    assert run(project, "decisions", "list", "--open", "--limit", "10000") == 0
    assert app_id in capsys.readouterr().out
    code = run(
        project, "decisions", "approve", app_id, "--by", "Ann Lee", "--role", "analyst",
        "--limit", "20000", "--terms", "30", "--reason", "accounts and references checked",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "approve of" in out and "20,000" in out
    assert run(project, "decisions", "list", "--open", "--limit", "10000") == 0
    assert app_id not in capsys.readouterr().out
    assert run(project, "decisions", "show", app_id) == 0
    assert "accounts and references checked" in capsys.readouterr().out
    with ledger_of(project) as ledger:
        customer = ledger.show(app_id)["application"]["customer_id"]
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert run(project, "decisions", "limits", "--as-of", today, "--customer", customer) == 0
    out = capsys.readouterr().out
    assert "20,000" in out and "approve" in out


def test_override_beyond_authority_is_refused(project: Path, capsys):
    app_id = pick(project, "approve", 0)
    with ledger_of(project) as ledger:  # this application's: other tests act on theirs
        before = len(ledger.show(app_id)["actions"])
    code = run(
        project, "decisions", "override", app_id, "--by", "bob", "--role", "analyst",
        "--limit", "600000", "--reason", "big customer",
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "ledger.authority.roles.analyst.max_limit" in err
    assert "600,000 needs committee" in err
    assert len(err.strip().splitlines()) == 1
    with ledger_of(project) as ledger:
        assert len(ledger.show(app_id)["actions"]) == before


def test_replay_is_identical(project: Path, capsys):
    for decision in ("refer", "approve", "decline"):
        app_id = pick(project, decision, 1)
        started = time.perf_counter()
        code = run(project, "decisions", "replay", app_id)
        seconds = time.perf_counter() - started
        out = capsys.readouterr().out
        assert code == 0, out
        assert out.startswith("IDENTICAL"), out
        assert seconds < 5, seconds  # target 2 s on an idle machine; shared CPUs in CI


def _copy_ledger(project: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the project's ledger (triggers dropped: it is tampered with) and a params
    file pointing at it."""
    dst = tmp_path / "ledger.db"
    src = sqlite3.connect(project / "data/ledger/ledger.db")
    out = sqlite3.connect(dst)
    src.backup(out)
    src.close()
    out.execute("DROP TRIGGER decisions_no_update")
    out.commit()
    out.close()
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["ledger"] = {"url": sqlite_url(dst)}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return dst, path


def test_replay_of_a_tampered_row_shows_what_differs(project: Path, tmp_path: Path, capsys):
    db, params = _copy_ledger(project, tmp_path)
    approved, refused = pick(project, "approve", 2), pick(project, "approve", 3)
    con = sqlite3.connect(db)
    # A recorded output changed: the recomputed limit differs from it.
    con.execute(
        "UPDATE decisions SET credit_limit = credit_limit + 1 WHERE application_id = ?",
        (approved,),
    )
    # A feature row changed without its hash: refused before any replay.
    con.execute(
        "UPDATE decisions SET features = replace(features, '\"cmp', '\"cmpx') "
        "WHERE application_id = ?",
        (refused,),
    )
    con.commit()
    con.close()
    assert run(project, "--params", str(params), "decisions", "replay", approved) == 1
    out = capsys.readouterr().out
    assert "DIFFERS" in out and "credit_limit" in out
    assert run(project, "--params", str(params), "decisions", "replay", refused) == 1
    assert "does not match its hash" in capsys.readouterr().err


def test_replay_of_a_rehashed_row_shows_the_knockout(project: Path, tmp_path: Path, capsys):
    """Someone changes a stored row and its hash: the recomputed decision gives it away."""
    db, params = _copy_ledger(project, tmp_path)
    app_id = pick(project, "approve", 4)
    con = sqlite3.connect(db)
    (text,) = con.execute(
        "SELECT features FROM decisions WHERE application_id = ?", (app_id,)
    ).fetchone()
    row = orjson.loads(text)
    row["cmp_sanctions_hit"] = 1
    new = orjson.dumps(row, option=orjson.OPT_SORT_KEYS).decode()
    con.execute(
        "UPDATE decisions SET features = ?, feature_hash = ? WHERE application_id = ?",
        (new, feature_hash(new), app_id),
    )
    con.commit()
    con.close()
    assert run(project, "--params", str(params), "decisions", "replay", app_id) == 1
    out = capsys.readouterr().out
    assert "knockout_rule" in out and "sanctions_hit" in out and "decision" in out


def test_replay_refuses_a_rehashed_policy_change(project: Path, tmp_path, capsys):
    """The same bundle version with another policy and a re-hashed manifest is refused before
    anything is recomputed: its version no longer matches its content (and the signature)."""
    bundle = tmp_path / "bundle"
    shutil.copytree(project / "data/models/bundle", bundle)
    policy = json.loads((bundle / "policy.json").read_text())
    policy["grades"]["8"]["decision"] = "decline"
    (bundle / "policy.json").write_text(json.dumps(policy, indent=2) + "\n")
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"]["policy.json"] = hashlib.sha256(
        (bundle / "policy.json").read_bytes()
    ).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    app_id = pick(project, "refer", 2)
    assert run(project, "decisions", "replay", app_id, "--bundle", str(bundle)) == 1
    assert "is stale" in capsys.readouterr().err.replace("\n", "")


def test_report_of_a_past_decision_has_the_escaped_history(project: Path, tmp_path, capsys):
    app_id = pick(project, "refer", 3)
    reason = "<script>alert(1)</script> [bold red]not markup[/]"
    code = run(
        project, "decisions", "approve", app_id, "--by", "<b>Eve</b>", "--role",
        "credit_manager", "--limit", "100000", "--terms", "30", "--reason", reason,
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "[bold red]not markup[/]" in out  # shown literally, not as rich markup
    assert run(project, "decisions", "report", app_id, "--out", str(tmp_path)) == 0
    pages = list(tmp_path.glob("*.html"))
    assert len(pages) == 1
    page = pages[0].read_text(encoding="utf-8")
    assert 'id="ledger-history"' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;Eve&lt;/b&gt;" in page
    assert "<script>" not in page and "<b>Eve" not in page
    assert "credit_manager" in page and "100,000" in page


def test_queries_without_a_ledger_say_so(tmp_path: Path, capsys):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params()))
    assert main(["--project", str(tmp_path), "decisions", "list"]) == 1
    assert "record a batch with `creditrisk decide`" in capsys.readouterr().err
    assert not (tmp_path / "data/ledger").exists()


def test_monitoring_page_counts_decisions_and_overrides_by_grade(project: Path, capsys):
    app_id = pick(project, "approve", 6)
    code = run(
        project, "decisions", "override", app_id, "--by", "Kim", "--role", "credit_manager",
        "--limit", "30000", "--reason", "trade references",
    )  # fmt: skip
    assert code == 0, capsys.readouterr()
    batch = project / "data/processed/features.parquet"
    assert run(project, "monitor", "--batch", str(batch), "--ledger") == 0
    out = project / "data/ledger/monitoring"
    report = json.loads((out / "drift.json").read_text())
    with ledger_of(project) as ledger:
        latest = ledger.list_decisions(latest_only=True)
        stats = ledger.grade_stats()
    rows = report["ledger_by_grade"]
    assert sum(r["decisions"] for r in rows) == len(latest) > 0
    assert [r["overridden_by_people"] for r in rows] == stats["overridden_by_people"].tolist()
    assert sum(r["overridden_by_people"] for r in rows) >= 1
    page = (out / "drift.html").read_text()
    assert "Decisions and overrides by grade" in page and "Override rate" in page
    assert not (project / "data/reports/monitoring/drift.html").exists()


def test_an_old_ledger_is_refused_with_the_command_that_migrates_it(tmp_path: Path, capsys):
    from credit.ledger import db

    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params()))
    path = tmp_path / "data/ledger/ledger.db"
    assert main(["--project", str(tmp_path), "decisions", "migrate"]) == 1
    assert "nothing to migrate" in capsys.readouterr().err and not path.exists()
    path.parent.mkdir(parents=True)
    engine = db.make_engine(db.parse_url(sqlite_url(path)))
    with engine.begin() as conn:
        db.upgrade(conn, "0001")
    engine.dispose()
    assert main(["--project", str(tmp_path), "decisions", "list"]) == 1
    err = capsys.readouterr().err
    assert "at migration 0001, behind 0002" in err and "creditrisk decisions migrate" in err
    assert main(["--project", str(tmp_path), "decisions", "migrate"]) == 0
    assert "migrated from 0001 to 0002" in capsys.readouterr().out
    assert main(["--project", str(tmp_path), "decisions", "migrate"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["--project", str(tmp_path), "decisions", "list"]) == 0


def test_bad_authority_in_params_is_one_line(tmp_path: Path, capsys):
    params = tiny_params()
    params["ledger"] = {"url": "postgresql+psycopg://ledger:secret@localhost/ledger"}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    assert main(["--project", str(tmp_path), "decisions", "list"]) == 1
    err = capsys.readouterr().err
    assert "CREDITRISK_DB_PASSWORD" in err and "secret" not in err


def test_replay_fetches_the_bundle_from_the_mlflow_registry(
    project: Path, tmp_path: Path, monkeypatch, capsys
):
    """A project without the bundle on disk replays with the registered model version
    tagged with the recorded bundle version."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["ledger"] = {"url": sqlite_url(project / "data/ledger/ledger.db")}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    app_id = pick(project, "decline", 0)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["--project", str(tmp_path), "decisions", "replay", app_id]) == 1
    assert "no MLflow store" in capsys.readouterr().err
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'mlflow.db'}")
    # Another machine trusts the signing key through the environment.
    monkeypatch.setenv("CREDITRISK_SIGNING_PUBLIC_KEY", str(project / ".keys/bundle-signing.pub"))
    assert main(["--project", str(tmp_path), "decisions", "replay", app_id]) == 0
    assert capsys.readouterr().out.startswith("IDENTICAL")
    from mlflow.tracking._model_registry import utils as registry

    # the lookup leaves no registry behind for later MLflow clients of this process
    assert registry._registry_uri is None and "MLFLOW_REGISTRY_URI" not in os.environ


def test_reviews_become_proposals_approved_within_authority(
    project: Path, tmp_path: Path, monkeypatch, capsys
):
    """From a fresh ledger: the customers' admission applications (back-dated), the review's
    proposals (once), a refused and an accepted approval, a rejection, and the limits."""
    import pandas as pd

    params = yaml.safe_load((project / "params.yaml").read_text())
    params["ledger"] = {"url": sqlite_url(tmp_path / "ledger.db")}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    as_of = params["customers"]["as_of"]

    def cli(*args: str) -> int:
        return main(["--project", str(project), "--params", str(tmp_path / "params.yaml"), *args])

    assert cli("decisions", "proposals") == 1
    assert "record a batch with `creditrisk decide`" in capsys.readouterr().err
    assert cli("decide", "--customers") == 0
    assert "decisions dated on each application date" in capsys.readouterr().out
    master = pd.read_parquet(project / "data/interim/customers.parquet")
    with Ledger.open(sqlite_url(tmp_path / "ledger.db")) as ledger:
        decided = ledger.list_decisions()
    assert len(decided) == master["applicant_id"].notna().sum()
    assert set(decided["customer_id"]) == set(master["customer_id"])
    assert (
        pd.to_datetime(decided["decided_at"]) == pd.to_datetime(decided["application_date"])
    ).all()

    assert cli("reviews", "--propose", "--top", "0") == 0
    out, err = capsys.readouterr()
    on_book = int((master["customer_since"] <= pd.Timestamp(as_of)).sum())
    assert f"from the decision ledger for {on_book:,} of {on_book:,}" in " ".join(err.split())
    assert "0 already there" in out and "0 could not be proposed" in out
    with Ledger.open(sqlite_url(tmp_path / "ledger.db")) as ledger:
        pending = ledger.pending_proposals()
    assert len(pending) > 2, out
    assert f"{len(pending):,} recorded" in out
    assert cli("reviews", "--propose", "--top", "0") == 0  # the same review again
    assert f"0 recorded, {len(pending):,} already there" in capsys.readouterr().out

    assert cli("decisions", "proposals", "--limit", "10000") == 0
    listed = capsys.readouterr().out
    assert all(c in listed for c in pending["customer_id"])
    beyond = (pending["proposed_limit"] > 50_000) | (pending["required_role"] != "analyst")
    assert beyond.any(), "the tiny project has no proposal beyond an analyst's authority"
    first = pending.loc[beyond].iloc[0]
    pid, customer = str(first["id"]), first["customer_id"]
    with Ledger.open(sqlite_url(tmp_path / "ledger.db")) as ledger:
        before = ledger.counts()
    code = cli(
        "decisions", "approve-proposal", pid, "--who", "Ann", "--role", "analyst",
        "--reason", "looks fine",
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "analyst may" in err and ("max_limit" in err or "needs credit_manager or above" in err)
    with Ledger.open(sqlite_url(tmp_path / "ledger.db")) as ledger:
        assert ledger.counts() == before  # refused: nothing recorded
    reason = "[bold red]accounts checked[/] <b>"
    assert cli(
        "decisions", "approve-proposal", pid, "--by", "Cleo", "--role", "committee",
        "--reason", reason,
    ) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert f"approval of proposal {pid} recorded" in out and reason in out  # not markup
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert cli("decisions", "limits", "--as-of", today, "--customer", customer) == 0
    assert f"{first['proposed_limit']:,.0f}" in capsys.readouterr().out
    with Ledger.open(sqlite_url(tmp_path / "ledger.db")) as ledger:
        before = ledger.effective_limits(as_of, customer_id=customer).iloc[0]
        assert before["credit_limit"] == first["current_limit"]  # not before the approval
        after = ledger.effective_limits(today, customer_id=customer).iloc[0]
        assert (after["credit_limit"], after["source"]) == (first["proposed_limit"], "override")

    other = pending.loc[pending["id"] != first["id"]].iloc[0]
    assert cli(
        "decisions", "reject-proposal", str(other["id"]), "--by", "Cleo", "--role", "analyst",
        "--reason", "no growth expected",
    ) == 0  # fmt: skip
    assert "limits unchanged" in capsys.readouterr().out
    assert cli("decisions", "reject-proposal", str(other["id"]), "--by", "C", "--role",
               "analyst", "--reason", "again") == 1  # fmt: skip
    assert "already decided: rejected by Cleo" in capsys.readouterr().err
    assert cli("decisions", "proposals", "--status", "all", "--limit", "10000") == 0
    assert "reject" in capsys.readouterr().out
    with Ledger.open(sqlite_url(tmp_path / "ledger.db")) as ledger:
        assert len(ledger.pending_proposals()) == len(pending) - 2


def test_decide_on_dask_records_what_the_local_engine_records(
    project: Path, tmp_path: Path, capsys
):
    """The input side on a LocalCluster of 2 workers, in batches of 400: the same decisions,
    reasons and features recorded; an id repeated in a later batch is rejected either way."""
    import pandas as pd

    features = pd.read_parquet(project / "data/processed/features.parquet")
    batch = 400
    assert len(features) > 2 * batch
    repeated = pd.concat([features, features.iloc[[5]]], ignore_index=True)  # a later batch
    source = tmp_path / "features.parquet"
    repeated.to_parquet(source)
    listed = {}
    for engine in ("local", "dask"):
        root = bundle_project(project, tmp_path / engine)
        params = yaml.safe_load((root / "params.yaml").read_text())
        params["score"]["batch_size"] = batch
        params["compute"] = {"engine": engine, "workers": 2}
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        capsys.readouterr()
        assert run(root, "decide", "--features", str(source), "--all-rows") == 0
        printed = capsys.readouterr()
        out = printed.out + printed.err
        n = len(features)
        assert f"input {n + 1:,} = recorded {n:,} + skipped 0 + rejected 1" in out
        with ledger_of(root) as ledger:
            frame = ledger.list_decisions()
        assert "feature_hash" in frame.columns  # the recorded feature rows are compared too
        listed[engine] = (
            frame.drop(columns=["id", "decided_at"])
            .sort_values("application_id", kind="stable")
            .reset_index(drop=True)
        )
    assert "dask: local cluster of 2 worker process(es)" in out
    pd.testing.assert_frame_equal(listed["local"], listed["dask"])

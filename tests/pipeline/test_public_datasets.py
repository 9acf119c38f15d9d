"""``creditrisk datasets fetch``: download from the source, verify, cache, and the configs find it.

No network: a local HTTP server (http.server in a thread) serves the shared copies at the
source's paths (the Polish zip is built here from the two shared files)."""

from __future__ import annotations

import http.server
import shutil
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import yaml

from features.errors import DataError
from pipeline import layout as layout_module
from pipeline import public_datasets as pub
from pipeline.cli import main
from pipeline.layout import Layout, datasets_dir
from pipeline.params import load
from pipeline.stages import source
from tests.pipeline.conftest import REPO, tiny_params

GERMAN_PATH = "ml/machine-learning-databases/statlog/german/german.data"
POLISH_PATH = "static/public/365/polish+companies+bankruptcy+data.zip"
TAIWAN_PATH = "ml/machine-learning-databases/00350/default of credit card clients.xls"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request lines in the test output
        pass


class _Truncating(_Quiet):
    """Announces the whole file, sends half of it and hangs up: an interrupted download."""

    def do_GET(self) -> None:
        body = Path(self.translate_path(self.path)).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True


def _serve(folder: Path, handler=_Quiet) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(handler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def mirror_files(tmp_path_factory, shared_datasets) -> Path:
    """The source's paths, holding the shared copies (bytes as published)."""
    root = tmp_path_factory.mktemp("uci")
    german = root / GERMAN_PATH
    german.parent.mkdir(parents=True)
    shutil.copyfile(shared_datasets / "german_credit" / "german.data", german)
    polish = root / POLISH_PATH
    polish.parent.mkdir(parents=True)
    with zipfile.ZipFile(polish, "w", zipfile.ZIP_DEFLATED) as zf:
        for year in ("1year", "5year"):
            zf.write(shared_datasets / "polish_bankruptcy" / f"{year}.arff", f"data/{year}.arff")
    return root


@pytest.fixture(scope="module")
def mirror(mirror_files) -> Iterator[str]:
    yield from _serve(mirror_files)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_fetch_verifies_and_caches_with_a_licence_note(mirror, tmp_path, shared_datasets):
    cache = tmp_path / "cache"
    done = pub.fetch(["german_credit", "polish_1year", "polish_5year"], cache, mirror)
    assert done == dict.fromkeys(("german_credit", "polish_1year", "polish_5year"), "fetched")
    for entry in (pub.PUBLIC[n] for n in done):
        for rel in entry.files:
            assert (cache / rel).read_bytes() == (shared_datasets / rel).read_bytes()
        note = (cache / entry.folder / f"LICENCE-{entry.name}.md").read_text()
        assert "CC BY 4.0" in note and entry.doi in note and mirror in note
    assert not [p for p in cache.iterdir() if p.name.startswith(".fetch-")]  # no leftovers
    seen = []
    again = pub.fetch(["german_credit"], cache, mirror, lambda *a: seen.append(a))
    assert again == {"german_credit": "cached"} and not seen  # verified in place, no download


def test_fetch_reports_progress(mirror, tmp_path):
    seen: list[tuple[str, int, int | None]] = []
    pub.fetch(["german_credit"], tmp_path, mirror, lambda *a: seen.append(a))
    assert seen[-1] == ("german.data", 79_793, 79_793)


def test_a_hash_mismatch_is_one_line_and_leaves_nothing(mirror_files, tmp_path):
    tampered = tmp_path / "uci"
    shutil.copytree(mirror_files, tampered)
    path = tampered / GERMAN_PATH
    data = bytearray(path.read_bytes())
    data[100] = ord("9") if data[100] != ord("9") else ord("8")  # one changed byte
    path.write_bytes(bytes(data))
    cache = tmp_path / "cache"
    server = _serve(tampered)
    url = next(server)
    try:
        with pytest.raises(DataError, match="SHA-256") as info:
            pub.fetch(["german_credit"], cache, url)
    finally:
        server.close()
    message = str(info.value)
    assert "\n" not in message and "german_credit/german.data" in message
    assert "nothing cached" in message
    assert _files(cache) == []


def test_an_interrupted_download_leaves_nothing(mirror_files, tmp_path):
    cache = tmp_path / "cache"
    server = _serve(mirror_files, _Truncating)
    url = next(server)
    try:
        with pytest.raises(DataError, match="interrupted") as info:
            pub.fetch(["german_credit"], cache, url)
    finally:
        server.close()
    assert "\n" not in str(info.value) and "run the fetch again" in str(info.value)
    assert _files(cache) == []


def test_cli_fetch_and_a_failure_is_one_line(mirror, tmp_path, capsys):
    cache = tmp_path / "cache"
    assert main(["datasets", "fetch", "german_credit", "--mirror", mirror, "--to", str(cache)]) == 0
    assert (cache / "german_credit" / "german.data").is_file()
    assert main(["datasets", "fetch", "no_such_set", "--to", str(cache)]) == 1
    err = capsys.readouterr().err
    assert "unknown data set 'no_such_set'" in err
    missing = ["datasets", "fetch", "german_credit", "--force", "--to", str(cache)]
    assert main([*missing, "--mirror", mirror + "/nowhere"]) == 1
    assert "HTTP 404" in capsys.readouterr().err
    assert (cache / "german_credit" / "german.data").is_file()  # the verified copy stays


def test_the_source_stage_finds_the_fetch_cache(mirror, tmp_path, monkeypatch):
    """No generate.datasets_dir, no $CREDIT_DATASETS, no shared folder: the user's cache."""
    monkeypatch.delenv("CREDIT_DATASETS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(layout_module, "SHARED_DATASETS", tmp_path / "no-shared")
    root = tmp_path / "project"
    shutil.copytree(REPO / "datasets", root / "datasets")
    params = tiny_params()
    params["generate"].update(source="tabular", dataset="datasets/german_credit.yaml")
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    with pytest.raises(DataError, match="creditrisk datasets fetch german_credit"):
        source.run(load(root / "params.yaml"), Layout.at(root))
    pub.fetch(["german_credit"], None, mirror)  # default destination: the user cache
    cache = tmp_path / "xdg" / "creditrisk" / "datasets"
    assert (cache / "german_credit" / "german.data").is_file()
    assert datasets_dir(root, "", ("german_credit/german.data",)) == cache
    summary = source.run(load(root / "params.yaml"), Layout.at(root))
    assert summary["files"] == {
        "german_credit/german.data": pub.PUBLIC["german_credit"].files["german_credit/german.data"]
    }


def test_a_folder_holding_the_files_wins(tmp_path, monkeypatch):
    """The first folder in the lookup order that holds the config's files is used."""
    monkeypatch.delenv("CREDIT_DATASETS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    shared = tmp_path / "shared-empty"
    shared.mkdir()
    monkeypatch.setattr(layout_module, "SHARED_DATASETS", shared)
    cache = tmp_path / "xdg" / "creditrisk" / "datasets"
    (cache / "a").mkdir(parents=True)
    (cache / "a" / "x.csv").write_text("x\n")
    root = tmp_path / "project"
    assert datasets_dir(root, "", ("a/x.csv",)) == cache
    assert datasets_dir(root, "", ("a/other.csv",)) == shared  # none holds it: the first


def _taiwan_xlsx(shared: Path, target: Path, rows: int | None) -> bytes:
    """The UCI Excel layout (X1..X23, Y above the names; the target's name with spaces) from
    the shared CSV; returns the CSV bytes the conversion must give back."""
    import pandas as pd

    csv = (shared / "taiwan_default" / "UCI_Credit_Card.csv").read_bytes()
    frame = pd.read_csv(shared / "taiwan_default" / "UCI_Credit_Card.csv", nrows=rows)
    frame = frame.astype("int64")
    names = [c.replace("default.payment.next.month", "default payment next month") for c in frame]
    codes = ["", *(f"X{i}" for i in range(1, 24)), "Y"]
    sheet = pd.DataFrame([codes, names, *frame.to_numpy().tolist()])
    target.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(target, engine="openpyxl") as writer:
        sheet.to_excel(writer, header=False, index=False, sheet_name="Data")
    n = len(frame) + 1
    return b"".join(csv.splitlines(keepends=True)[:n])


def test_taiwan_excel_becomes_the_published_csv_byte_for_byte(tmp_path, shared_datasets):
    """Names quoted, numbers as R writes them (5e+05 beside 120000), LF endings."""
    source_file = tmp_path / "clients.xlsx"
    expected = _taiwan_xlsx(shared_datasets, source_file, 400)
    assert b"5e+05" in expected  # the case that needs R's rule
    out = tmp_path / "out.csv"
    pub.uci_xls_to_csv(source_file, out)
    assert out.read_bytes() == expected


@pytest.mark.slow
def test_taiwan_fetch_end_to_end(tmp_path, shared_datasets):
    """The whole Excel file through the server: the SHA-256 of the published CSV matches."""
    root = tmp_path / "uci"
    _taiwan_xlsx(shared_datasets, root / TAIWAN_PATH, None)
    server = _serve(root)
    url = next(server)
    try:
        assert pub.fetch(["taiwan_default"], tmp_path / "cache", url) == {
            "taiwan_default": "fetched"
        }
    finally:
        server.close()

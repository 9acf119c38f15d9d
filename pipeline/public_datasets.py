"""The public data sets of ``datasets/*.yaml``, fetched from their original source.

``creditrisk datasets fetch NAME`` downloads a data set from where its authors published it
(the UCI Machine Learning Repository), unpacks what the config reads when the download is an
archive, verifies each file's SHA-256 against the bytes the configs were developed on, and only
then moves the files into the cache folder, beside a licence note. A mismatch or an interrupted
download leaves nothing in the cache (one line says why). The configs find the cache through
:func:`pipeline.layout.find_datasets_dir`.

Cache folder: ``$CREDIT_DATASETS`` when set, else ``$XDG_CACHE_HOME/creditrisk/datasets``
(``~/.cache/creditrisk/datasets``). Each data set keeps the layout of the shared folder
(``german_credit/german.data``, ...), so the configs' relative paths work unchanged.
"""

from __future__ import annotations

import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from features.errors import DataError
from pipeline.io import sha256
from pipeline.layout import user_datasets_cache

UCI = "https://archive.ics.uci.edu"
TIMEOUT_SECONDS = 60
_BLOCK = 1 << 16


@dataclass(frozen=True)
class PublicDataset:
    """One data set: where its authors publish it and the files a config reads from it.

    ``files`` maps each path in the datasets folder to its SHA-256; ``members`` maps a path to
    its name inside the download (a zip member, matched by file name) when the download is an
    archive; ``convert`` names a conversion of the download into that file.
    """

    name: str
    title: str
    url: str
    files: dict[str, str]
    citation: str
    doi: str
    licence: str = "Creative Commons Attribution 4.0 International (CC BY 4.0)"
    archive: str = ""  # "" (the download is the file) | "zip"
    members: dict[str, str] = field(default_factory=dict)
    convert: str = ""  # "" | "uci_xls_to_csv"
    notes: str = ""

    @property
    def folder(self) -> str:
        return PurePosixPath(next(iter(self.files))).parts[0]


_POLISH = dict(
    title='UCI "Polish Companies Bankruptcy" (Tomczak / Zieba 2016)',
    url=f"{UCI}/static/public/365/polish+companies+bankruptcy+data.zip",
    citation=(
        "Tomczak, S. (2016). Polish Companies Bankruptcy [Dataset]. UCI Machine Learning "
        "Repository, dataset id 365. Zieba, M., Tomczak, S. K., & Tomczak, J. M. (2016). "
        "Ensemble boosted trees with synthetic features generation in application to "
        "bankruptcy prediction. Expert Systems with Applications, 58, 93-101."
    ),
    doi="https://doi.org/10.24432/C5F600",
    archive="zip",
)

PUBLIC: dict[str, PublicDataset] = {
    d.name: d
    for d in (
        PublicDataset(
            name="german_credit",
            title="UCI Statlog (German Credit Data)",
            url=f"{UCI}/ml/machine-learning-databases/statlog/german/german.data",
            files={
                "german_credit/german.data": (
                    "b21f3d81db8071257d5ff1deaeba1fd4303b62712e6fcc9715c7a86202cb5871"
                )
            },
            citation=(
                "Hofmann, H. (1994). Statlog (German Credit Data) [Dataset]. UCI Machine "
                "Learning Repository, dataset id 144."
            ),
            doi="https://doi.org/10.24432/C5NC77",
            notes="Credit UCI and Hofmann when you use or redistribute the data.",
        ),
        PublicDataset(
            name="taiwan_default",
            title='UCI "Default of Credit Card Clients" (Taiwan, 2005)',
            url=(
                f"{UCI}/ml/machine-learning-databases/00350/"
                "default%20of%20credit%20card%20clients.xls"
            ),
            files={
                "taiwan_default/UCI_Credit_Card.csv": (
                    "a0f0ab49d6326671d6cd83be5c88dcf18007025fe9a53ecd699119c871176ca1"
                )
            },
            citation=(
                "Yeh, I.-C. (2009). Default of Credit Card Clients [Dataset]. UCI Machine "
                "Learning Repository, dataset id 350. Yeh, I.-C., & Lien, C.-H. (2009). The "
                "comparisons of data mining techniques for the predictive accuracy of "
                "probability of default of credit card clients. Expert Systems with "
                "Applications, 36(2), 2473-2480."
            ),
            doi="https://doi.org/10.24432/C55S3H",
            convert="uci_xls_to_csv",
            notes=(
                "UCI publishes an Excel file with a two-row header; the config reads the "
                "widely used CSV re-export (UCI_Credit_Card.csv: the names row, the target "
                "as default.payment.next.month, the same 30,000 rows). The fetch converts the "
                "Excel file to that CSV and verifies its SHA-256. Credit UCI and Yeh & Lien."
            ),
        ),
        PublicDataset(
            name="polish_1year",
            files={
                "polish_bankruptcy/1year.arff": (
                    "978ce71a4809e964dda43d46a368c27a1a36df1e0b6345f215473ec9c3b12add"
                )
            },
            members={"polish_bankruptcy/1year.arff": "1year.arff"},
            **_POLISH,
        ),
        PublicDataset(
            name="polish_5year",
            files={
                "polish_bankruptcy/5year.arff": (
                    "cb3f6f250ac46bd8d18e9a222f489fe8ee3e396fcec18959f5a0ef8e8169b2fc"
                )
            },
            members={"polish_bankruptcy/5year.arff": "5year.arff"},
            **_POLISH,
        ),
    )
}


def cache_dir() -> Path:
    """Where ``fetch`` writes: ``$CREDIT_DATASETS``, else the user's cache folder."""
    env = os.environ.get("CREDIT_DATASETS")
    return Path(env) if env else user_datasets_cache()


def dataset(name: str) -> PublicDataset:
    if name not in PUBLIC:
        raise DataError(f"unknown data set {name!r}; known: {', '.join(PUBLIC)}")
    return PUBLIC[name]


def is_cached(entry: PublicDataset, folder: Path) -> bool:
    """All files of ``entry`` are in ``folder`` (sizes and hashes are checked by ``fetch``)."""
    return all((folder / rel).is_file() for rel in entry.files)


def licence_note(entry: PublicDataset, url: str) -> str:
    """The note written beside the files: what it is, who to credit, the licence, the source."""
    lines = [
        f"# {entry.title}",
        "",
        f"- Citation: {entry.citation}",
        f"- DOI: {entry.doi}",
        f"- Licence: {entry.licence}",
        f"- Downloaded from: {url}",
        "",
        "| file | SHA-256 (verified) |",
        "|---|---|",
        *(f"| `{PurePosixPath(rel).name}` | `{digest}` |" for rel, digest in entry.files.items()),
    ]
    if entry.notes:
        lines += ["", entry.notes]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------- fetch
Progress = Callable[[str, int, int | None], None]  # (label, bytes so far, total or None)


def fetch(
    names: list[str],
    destination: Path | None = None,
    mirror: str = "",
    progress: Progress | None = None,
    force: bool = False,
) -> dict[str, str]:
    """Download, verify and cache each named data set; returns name -> what happened
    (``fetched`` or ``cached``). ``mirror`` replaces the scheme and host of the source URLs
    (a local copy of the UCI paths). Raises :class:`DataError` (one line) on a hash mismatch or
    a failed download; nothing of that data set is then left in ``destination``."""
    entries = [dataset(n) for n in names]
    folder = Path(destination) if destination else cache_dir()
    out: dict[str, str] = {}
    downloads: dict[str, Path] = {}  # one download per URL (the Polish years share a zip)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".fetch-") as tmp:
        work = Path(tmp)
        for entry in entries:
            if not force and is_cached(entry, folder) and _verified(entry, folder):
                out[entry.name] = "cached"
                continue
            url = _mirrored(entry.url, mirror)
            if url not in downloads:
                downloads[url] = _download(url, work / f"download-{len(downloads)}", progress)
            staged = _unpack(entry, downloads[url], work / entry.name, url)
            for rel, path in staged.items():
                got = sha256(path)
                if got != entry.files[rel]:
                    raise DataError(
                        f"{url}: {rel} has SHA-256 {got[:16]}..., expected "
                        f"{entry.files[rel][:16]}...; not the published file, nothing cached"
                    )
            note = work / entry.name / "LICENCE.md"
            note.write_text(licence_note(entry, url), encoding="utf-8")
            for rel, path in staged.items():  # every file verified: move them in
                target = folder / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
            os.replace(note, folder / entry.folder / f"LICENCE-{entry.name}.md")
            out[entry.name] = "fetched"
    return out


def _verified(entry: PublicDataset, folder: Path) -> bool:
    return all(sha256(folder / rel) == digest for rel, digest in entry.files.items())


def _mirrored(url: str, mirror: str) -> str:
    if not mirror:
        return url
    parts = urllib.parse.urlsplit(url)
    return mirror.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


def _download(url: str, target: Path, progress: Progress | None) -> Path:
    """``url`` into ``target``; a short or failed transfer is one DataError line."""
    label = urllib.parse.unquote(PurePosixPath(urllib.parse.urlsplit(url).path).name)
    done, total = 0, None
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "creditrisk-datasets"})
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with target.open("wb") as fh:
                while block := response.read(_BLOCK):
                    fh.write(block)
                    done += len(block)
                    if progress:
                        progress(label, done, total)
    except urllib.error.HTTPError as exc:
        raise DataError(f"{url}: download failed (HTTP {exc.code} {exc.reason})") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DataError(
            f"{url}: download interrupted after {done:,} bytes ({reason}); nothing cached, "
            "run the fetch again"
        ) from None
    if total is not None and done != total:
        raise DataError(
            f"{url}: download interrupted after {done:,} of {total:,} bytes; nothing cached, "
            "run the fetch again"
        )
    return target


def _unpack(entry: PublicDataset, download: Path, work: Path, url: str) -> dict[str, Path]:
    """The files the config reads, staged under ``work`` (path in the datasets folder ->
    staged file)."""
    work.mkdir(parents=True, exist_ok=True)
    staged = {}
    for i, rel in enumerate(entry.files):
        target = work / f"{i}-{PurePosixPath(rel).name}"
        if entry.archive == "zip":
            _extract(download, entry.members[rel], target, url)
        elif entry.convert == "uci_xls_to_csv":
            uci_xls_to_csv(download, target, url)
        else:
            shutil.copyfile(download, target)
        staged[rel] = target
    return staged


def _extract(archive: Path, member: str, target: Path, url: str) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if PurePosixPath(n).name == member]
            if not names:
                raise DataError(f"{url}: the archive holds no {member!r}; nothing cached")
            with zf.open(names[0]) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, _BLOCK)
    except zipfile.BadZipFile:
        raise DataError(f"{url}: not a valid zip archive; nothing cached") from None


TAIWAN_TARGET = "default.payment.next.month"


def uci_xls_to_csv(source: Path, target: Path, url: str = "") -> None:
    """The UCI Excel file of the Taiwan data (a row X1..X23, Y above the names row) as the
    CSV re-export the config reads: quoted names, the target named ``default.payment.next.
    month``, numbers as R's ``write.csv`` prints them (``5e+05`` where that is shorter)."""
    import pandas as pd

    try:
        frame = pd.read_excel(source, header=1)
    except ImportError as exc:
        raise DataError(
            f"{url or source}: reading the UCI Excel file needs an extra package ({exc}); "
            "install 'xlrd'"
        ) from None
    except ValueError as exc:
        raise DataError(f"{url or source}: not a readable Excel file ({exc})") from None
    frame = frame.rename(columns={"default payment next month": TAIWAN_TARGET})
    lines = [",".join(f'"{c}"' for c in frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append(",".join(_r_number(v) for v in row))
    target.write_bytes(("\n".join(lines) + "\n").encode("ascii"))


def _r_number(value: object) -> str:
    """A number as R prints it in a CSV: 15 significant digits, scientific notation only where
    it is shorter than the fixed one (R's ``scipen = 0``)."""
    v = float(value)  # type: ignore[arg-type]
    if not v.is_integer():
        return f"{v:.15g}"
    fixed = str(int(v))
    mantissa, exponent = f"{abs(v):.14e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    e = int(exponent)
    sci = f"{'-' if v < 0 else ''}{mantissa}e{'+' if e >= 0 else '-'}{abs(e):02d}"
    return sci if len(sci) < len(fixed) else fixed

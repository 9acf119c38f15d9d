"""Stage ``source``: fingerprint the input data that lives outside the project.

A public data set is read from ``generate.datasets_dir`` / ``$CREDIT_DATASETS`` /
``../shared/datasets``, a folder DVC does not track: without this stage, editing that file left
``dvc status`` up to date. The stage runs on every ``dvc repro`` (``always_changed``; it only
hashes files) and writes the SHA-256 of each data file, named relative to the data sets folder
(the same bytes on every machine) to ``data/reports/source.json``, which ``generate`` depends on:
a changed file re-runs ``generate`` and what follows; an unchanged one re-runs nothing else.
"""

from __future__ import annotations

from features.errors import DataError
from features.sources.dataset import load_config
from pipeline.io import sha256, write_json
from pipeline.layout import Layout, dataset_folder
from pipeline.params import Params

OUTPUT = "source.json"


def run(params: Params, layout: Layout) -> dict:
    source = params.generate.source
    summary: dict = {"source": source}
    if source == "tabular":
        config = load_config(layout.root / params.generate.dataset)
        base = dataset_folder(
            layout.root, params.generate.datasets_dir, params.generate.dataset, config
        )
        files = {}
        for rel in config.files:
            path = base / rel
            if not path.is_file():
                raise DataError(
                    f"{path}: file of dataset {config.name!r} not found (a public data set "
                    f"can be fetched: creditrisk datasets fetch {config.name})"
                )
            files[rel] = sha256(path)
        summary |= {"dataset": config.name, "files": files}
    write_json(summary, layout.reports / OUTPUT)
    return summary


if __name__ == "__main__":
    from pipeline.stages import main

    main(run)

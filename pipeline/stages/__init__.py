"""The DVC stages: one module each, a few lines of wiring (read, call the library, write, log).

``dvc repro`` runs each as ``python -m pipeline.stages.<name>`` (so a stage's code
dependencies are its own imports, listed in ``dvc.yaml`` and checked by a test); ``creditrisk
<name>`` runs the same ``run`` function from the command line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from features.errors import DataError
from pipeline.console import print_error, setup_logging
from pipeline.io import exit_cleanly_on_sigterm
from pipeline.layout import Layout
from pipeline.params import Params, load


def main(run: Callable[[Params, Layout], Any]) -> None:
    """Run one stage on ``./params.yaml`` in the current project; bad input is one line."""
    setup_logging("-v" in sys.argv[1:])
    exit_cleanly_on_sigterm()
    try:
        run(load(Path("params.yaml")), Layout.at("."))
    except DataError as exc:
        print_error(exc)
        sys.exit(1)

"""Where the raw tables come from (params ``generate``, see :mod:`features.sources.settings`).

- :mod:`features.sources.synthetic`: the embedded generator (the default data set);
- :mod:`features.sources.dataset`: one table described by a YAML config (public data sets,
  your own single-table data);
- your own multi-table exports in ``data/external/``, read by the stage with the contract of
  :mod:`features.contract`.

Modules here are the only part of ``features/`` that parse files, and only the paths they are
given; everything else in ``features/`` takes and returns DataFrames.
"""

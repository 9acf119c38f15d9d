"""Pure data library: source tables, validation, synthetic data and point-in-time features.

Functions here take and return DataFrames; they never read files, DVC or MLflow.
"""

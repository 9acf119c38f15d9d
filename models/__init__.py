"""Pure modelling library: PD model, scorecard, grading, policy, metrics and explanations.

Estimators follow scikit-learn conventions; nothing here reads files, DVC or MLflow.
"""

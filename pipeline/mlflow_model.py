"""MLflow pyfunc model, logged as *code* (models-from-code): nothing is pickled.

The model's only artifact is the verified bundle directory; ``predict`` takes a DataFrame with
``applicant_id``, the request fields and the features, and returns the same columns as the batch
``score`` command (reasons for every row).
"""

from __future__ import annotations

from pathlib import Path

import mlflow
from mlflow.pyfunc import PythonModel


class CreditAdmissionModel(PythonModel):
    def load_context(self, context) -> None:
        import os

        from models.bundle import load_bundle
        from models.signing import ENV_PUBLIC_KEY

        # The deployment's own trusted key when it sets one; else the key logged at export.
        key = os.environ.get(ENV_PUBLIC_KEY) or context.artifacts["public_key"]
        loaded = load_bundle(Path(context.artifacts["bundle"]), key)
        self.model, self.schema, self.manifest = loaded.model, loaded.schema, loaded.manifest

    # No type hints on purpose: the explicit signature logged with the model validates input.
    def predict(self, context, model_input, params=None):
        from features.errors import DataError
        from models.scoring import check_columns, conform, input_problems

        check_columns(model_input, self.schema, "model input")
        problems = input_problems(model_input, self.schema)
        if problems.notna().any():
            first = problems.dropna()
            raise DataError(f"model input row {first.index[0]}: {first.iloc[0]}")
        frame = conform(model_input.reset_index(drop=True), self.schema)
        out = self.model.score(frame, reasons_for=("approve", "refer", "decline"))
        out.insert(0, "applicant_id", frame["applicant_id"].astype(str).to_numpy())
        return out


mlflow.models.set_model(CreditAdmissionModel())

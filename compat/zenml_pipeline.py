"""ZenML pipeline and Python-side checks for compat/zenml_e2e.sh.

Runs inside the ZenML venv (zenml 0.98 + its MLflow integration) with an
active stack made of the MLflow experiment tracker and the MLflow model
registry, both pointed at the server under test.

    python zenml_pipeline.py run     # train + log with MLflow, mlflow_register_model_step
    python zenml_pipeline.py check   # registry API checks, load_model_version, predict

ZenML resolves step sources relative to its repository root (the folder of
`zenml init`), so the e2e script copies this file there and runs it from there.

Environment:
  ARCA_ZENML_MODEL    registered model name (default zenml-e2e-iris)
  ARCA_ZENML_TRACKER  name of the MLflow experiment tracker component
                      (default mlflow_tracker)
"""

from __future__ import annotations

import os
import sys

import mlflow
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from zenml import pipeline, step
from zenml.client import Client
from zenml.integrations.mlflow.steps.mlflow_registry import mlflow_register_model_step
from zenml.model_registries.base_model_registry import (
    ModelRegistryModelMetadata,
    ModelVersionStage,
)

MODEL_NAME = os.environ.get("ARCA_ZENML_MODEL", "zenml-e2e-iris")
TRACKER = os.environ.get("ARCA_ZENML_TRACKER", "mlflow_tracker")
PIPELINE_NAME = "arca_zenml_e2e"
VERSION_DESCRIPTION = "iris logistic regression from the arca ZenML e2e pipeline"
# ZenML maps its stages onto these MLflow aliases when the client is MLflow >= 3.
PRODUCTION_ALIAS = "champion"


def iris():
    # Bundled with scikit-learn: no download.
    return load_iris(return_X_y=True)


@step(experiment_tracker=TRACKER, enable_cache=False)
def trainer() -> LogisticRegression:
    """Train a small model and log it to the MLflow run ZenML opened for this step."""
    X, y = iris()
    clf = LogisticRegression(max_iter=500, random_state=0).fit(X, y)
    mlflow.log_param("max_iter", 500)
    mlflow.log_metric("train_accuracy", float(clf.score(X, y)))
    # `name="model"` is the `trained_model_name` mlflow_register_model_step looks for.
    mlflow.sklearn.log_model(clf, name="model")
    return clf


@pipeline(name=PIPELINE_NAME, enable_cache=False)
def e2e_pipeline() -> None:
    model = trainer()
    mlflow_register_model_step(
        model=model,
        name=MODEL_NAME,
        description=VERSION_DESCRIPTION,
        metadata=ModelRegistryModelMetadata(team="arca", purpose="zenml-e2e"),
    )


def fail(msg: str) -> None:
    print(f"CHECK FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def expect(cond: bool, msg: str) -> None:
    if not cond:
        fail(msg)
    print(f"ok: {msg}")


def cmd_run() -> None:
    run = e2e_pipeline()
    if run is None:
        fail("the pipeline call returned no run")
    run = Client().get_pipeline_run(run.id)
    expect(str(run.status) in ("completed", "ExecutionStatus.COMPLETED"), f"pipeline run {run.name} completed (status {run.status})")
    tracker = Client().active_stack.experiment_tracker
    run_id = tracker.get_run_id(experiment_name=PIPELINE_NAME, run_name=run.name)
    expect(bool(run_id), f"the MLflow run of ZenML run {run.name} is found by name")
    tracker.configure_mlflow()
    experiment = mlflow.get_experiment_by_name(PIPELINE_NAME)
    expect(experiment is not None, f"the MLflow experiment {PIPELINE_NAME} exists")
    # Read by the shell script.
    print(f"MLFLOW_RUN_ID={run_id}")
    print(f"MLFLOW_EXPERIMENT_ID={experiment.experiment_id}")


def cmd_check() -> None:
    version = os.environ.get("ARCA_ZENML_VERSION", "1")
    run_id = os.environ["ARCA_ZENML_RUN_ID"]
    registry = Client().active_stack.model_registry

    names = [m.name for m in registry.list_models()]
    expect(MODEL_NAME in names, f"list_models() contains {MODEL_NAME} ({names})")
    rm = registry.get_model(MODEL_NAME)
    expect(rm.name == MODEL_NAME, "get_model() returns the model")

    mv = registry.get_model_version(MODEL_NAME, version)
    expect(mv.version == version, f"get_model_version() returns version {version}")
    expect(mv.model_format == "MLflow", f"model_format is MLflow ({mv.model_format})")
    expect(mv.model_library == "mlflow.sklearn", f"model_library is mlflow.sklearn ({mv.model_library})")
    expect(mv.model_source_uri == f"runs:/{run_id}/model", f"model_source_uri is runs:/<run>/model ({mv.model_source_uri})")
    expect(mv.description == VERSION_DESCRIPTION, f"version description kept ({mv.description!r})")
    meta = mv.metadata.model_dump() if mv.metadata else {}
    for key, value in {
        "zenml_pipeline_name": PIPELINE_NAME,
        "zenml_project": "default",
        "mlflow_run_id": run_id,
        "team": "arca",
        "purpose": "zenml-e2e",
    }.items():
        expect(meta.get(key) == value, f"version metadata {key}={value!r} ({meta.get(key)!r})")
    expect(str(meta.get("zenml_version", "")).startswith("0.98."), f"metadata zenml_version ({meta.get('zenml_version')})")
    aliases = str(meta.get("mlflow_aliases", "")).split(",")
    expect(PRODUCTION_ALIAS in aliases, f"Production was stored as MLflow alias {PRODUCTION_ALIAS!r} ({aliases})")
    # With MLflow 3, ZenML writes an alias and leaves MLflow's stage alone...
    expect(mv.stage == ModelVersionStage.NONE, f"the version's stage stays None ({mv.stage})")
    # ...so its stage filter, which reads current_stage, finds nothing in Production.
    prod = registry.get_latest_model_version(MODEL_NAME, ModelVersionStage.PRODUCTION)
    expect(prod is None, f"get_latest_model_version(stage=PRODUCTION) is None with MLflow 3 ({prod and prod.version})")
    latest = registry.get_latest_model_version(MODEL_NAME)
    expect(latest is not None and latest.version == version, f"get_latest_model_version() is version {version}")
    versions = registry.list_model_versions(name=MODEL_NAME)
    expect([v.version for v in versions or []] == [version], "list_model_versions() has the one version")

    # The alias as plain MLflow sees it (the same client ZenML uses).
    by_alias = registry.mlflow_client.get_model_version_by_alias(MODEL_NAME, PRODUCTION_ALIAS)
    expect(by_alias.version == version, f"MLflow alias {PRODUCTION_ALIAS} points at version {version}")

    loaded = registry.load_model_version(MODEL_NAME, version)
    expect(type(loaded).__name__ == "PyFuncModel", f"load_model_version() returns a PyFuncModel ({type(loaded).__name__})")
    X, y = iris()
    pred = np.asarray(loaded.predict(X))
    accuracy = float((pred == y).mean())
    expect(accuracy >= 0.9, f"the loaded model predicts iris (accuracy {accuracy:.3f})")
    # Same predictions as the model object the pipeline's trainer step returned.
    trained = Client().get_pipeline(PIPELINE_NAME).last_run.steps["trainer"].output.load()
    expect(bool((pred == trained.predict(X)).all()), "the loaded model predicts exactly like the trained one")


if __name__ == "__main__":
    commands = {"run": cmd_run, "check": cmd_check}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(commands)}}}")
    commands[sys.argv[1]]()

"""The end-to-end MLflow 3 flow: log_model with registration, stages, aliases, load_model.

Every model file goes through the server's artifact proxy (mlflow-artifacts:/), so with
ARCA_COMPAT_ARTIFACTS=s3 these tests cover log_model -> S3 -> load_model.
"""

import posixpath

import mlflow
import mlflow.sklearn
import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from _util import raises_code

# Keep log_model fast: no requirement inference (it imports the model in a subprocess).
PIP_REQS = ["scikit-learn"]


def _data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.25
    return X, y


def _fit(scale):
    X, y = _data()
    return LinearRegression().fit(X, y * scale)


def _assert_predicts_like(loaded, model):
    X, _ = _data()
    np.testing.assert_allclose(np.asarray(loaded.predict(X)).ravel(), model.predict(X).ravel(), rtol=1e-9)


def _log(model, name, registered=None, **kw):
    """log_model inside a run with a param and a metric; returns (run_id, ModelInfo)."""
    with mlflow.start_run() as run:
        mlflow.log_param("scale", kw.pop("scale", 1))
        mlflow.log_metric("r2", 0.99)
        info = mlflow.sklearn.log_model(
            model, name=name, registered_model_name=registered, pip_requirements=PIP_REQS, **kw
        )
    return run.info.run_id, info


@pytest.fixture
def exp_id(client, name):
    eid = client.create_experiment(name)
    mlflow.set_experiment(experiment_id=eid)
    return eid


@pytest.fixture
def two_versions(client, exp_id, name):
    """Two log_model runs registered as versions 1 and 2 of `name` (scale 1 and 3)."""
    m1, m2 = _fit(1.0), _fit(3.0)
    run1, info1 = _log(m1, "model", registered=name, scale=1)
    run2, info2 = _log(m2, "model", registered=name, scale=3)
    return {"models": (m1, m2), "runs": (run1, run2), "infos": (info1, info2), "exp_id": exp_id}


def test_log_model_registers_versions(client, name, two_versions, stored_artifact):
    (run1, run2), (info1, info2) = two_versions["runs"], two_versions["infos"]
    exp_id = two_versions["exp_id"]
    assert str(info1.registered_model_version) == "1"
    assert str(info2.registered_model_version) == "2"
    assert info1.model_id != info2.model_id
    assert info1.model_id.startswith("m-")
    assert info1.model_uri == f"models:/{info1.model_id}"

    mv1 = client.get_model_version(name, "1")
    assert mv1.source == f"models:/{info1.model_id}"
    assert mv1.run_id == run1
    assert mv1.status == "READY"
    assert mv1.current_stage == "None"
    mv2 = client.get_model_version(name, "2")
    assert mv2.run_id == run2
    assert mv2.source == f"models:/{info2.model_id}"

    # the download URI resolves the models:/m-<id> source to the logged model's artifacts
    uri = client.get_model_version_download_uri(name, "1")
    assert uri == f"mlflow-artifacts:/{exp_id}/models/{info1.model_id}/artifacts"
    # ... which is where the files are in the artifact store (local folder or S3 bucket)
    mlmodel = stored_artifact(f"{exp_id}/models/{info1.model_id}/artifacts/MLmodel")
    assert mlmodel is not None and f"model_id: {info1.model_id}".encode() in mlmodel

    # the run records the logged model as an output, and the run itself is finished
    run = client.get_run(run1)
    assert run.info.status == "FINISHED"
    assert [(o.model_id, o.step) for o in run.outputs.model_outputs] == [(info1.model_id, 0)]
    assert run.data.params == {"scale": "1"}
    assert run.data.metrics == {"r2": 0.99}


def test_load_model_by_uri(client, name, two_versions):
    m1, m2 = two_versions["models"]
    client.transition_model_version_stage(name, "1", "Production")
    client.transition_model_version_stage(name, "2", "Staging")
    client.set_registered_model_alias(name, "champion", "2")
    client.set_registered_model_alias(name, "old", "1")

    for uri, model in [
        (f"models:/{name}/1", m1),
        (f"models:/{name}/2", m2),
        (f"models:/{name}/Production", m1),
        (f"models:/{name}/Staging", m2),
        (f"models:/{name}@champion", m2),
        (f"models:/{name}@old", m1),
        (f"models:/{name}/latest", m2),
        (two_versions["infos"][0].model_uri, m1),  # models:/m-<id>
        (f"runs:/{two_versions['runs'][1]}/model", m2),
    ]:
        _assert_predicts_like(mlflow.pyfunc.load_model(uri), model)

    # the native flavor loads too
    native = mlflow.sklearn.load_model(f"models:/{name}@champion")
    np.testing.assert_allclose(native.coef_, m2.coef_)

    # moving the alias and the stages changes what the URIs load
    client.set_registered_model_alias(name, "champion", "1")
    client.transition_model_version_stage(name, "2", "Production", archive_existing_versions=True)
    assert client.get_model_version(name, "1").current_stage == "Archived"
    _assert_predicts_like(mlflow.pyfunc.load_model(f"models:/{name}@champion"), m1)
    _assert_predicts_like(mlflow.pyfunc.load_model(f"models:/{name}/Production"), m2)

    with pytest.raises(mlflow.exceptions.MlflowException):
        mlflow.pyfunc.load_model(f"models:/{name}/Staging")  # no version left in Staging


def test_copy_model_version_then_load(client, name, new_name, two_versions):
    m1, _ = two_versions["models"]
    dst = new_name("copy")
    mv = client.copy_model_version(f"models:/{name}/1", dst)
    assert mv.name == dst
    assert mv.version == "1"
    assert mv.source == f"models:/{name}/1"
    assert mv.run_id == two_versions["runs"][0]
    _assert_predicts_like(mlflow.pyfunc.load_model(f"models:/{dst}/1"), m1)


def test_logged_models(client, name, two_versions):
    info1, info2 = two_versions["infos"]
    run1, _ = two_versions["runs"]
    exp_id = two_versions["exp_id"]

    lm = mlflow.get_logged_model(info1.model_id)
    assert lm.model_id == info1.model_id
    assert lm.name == "model"
    assert lm.experiment_id == exp_id
    assert lm.source_run_id == run1
    assert str(lm.status) == "READY"
    assert lm.artifact_location == f"mlflow-artifacts:/{exp_id}/models/{info1.model_id}/artifacts"
    assert lm.params == {"scale": "1"}
    assert isinstance(lm.creation_timestamp, int) and lm.creation_timestamp > 0
    # the registration is recorded on the logged model
    assert name in lm.tags.get("mlflow.modelVersions", "")
    # log_model re-logs the run's metrics with the model id
    assert [(m.key, m.value) for m in lm.metrics] == [("r2", 0.99)]

    found = mlflow.search_logged_models(experiment_ids=[exp_id], output_format="list")
    assert sorted(m.model_id for m in found) == sorted([info1.model_id, info2.model_id])
    found = mlflow.search_logged_models(
        experiment_ids=[exp_id], filter_string="params.scale = '3'", output_format="list"
    )
    assert [m.model_id for m in found] == [info2.model_id]
    df = mlflow.search_logged_models(experiment_ids=[exp_id])
    assert sorted(df["model_id"]) == sorted([info1.model_id, info2.model_id])

    client.set_logged_model_tags(info1.model_id, {"reviewed": "yes"})
    assert mlflow.get_logged_model(info1.model_id).tags["reviewed"] == "yes"


def test_log_model_without_registration(client, exp_id):
    model = _fit(2.0)
    run_id, info = _log(model, "plain")
    assert info.registered_model_version is None
    _assert_predicts_like(mlflow.pyfunc.load_model(info.model_uri), model)
    # MLflow 3 logs the model files under the logged model, not in the run's artifacts
    assert client.list_artifacts(run_id) == []
    lm = mlflow.get_logged_model(info.model_id)
    files = {posixpath.basename(f.path) for f in mlflow.artifacts.list_artifacts(artifact_uri=lm.artifact_location)}
    assert {"MLmodel", "requirements.txt", "python_env.yaml", "conda.yaml"} <= files


def test_register_model_from_logged_model(client, name, exp_id):
    model = _fit(5.0)
    _, info = _log(model, "later")
    mv = mlflow.register_model(info.model_uri, name)
    assert mv.version == "1"
    assert mv.source == info.model_uri
    _assert_predicts_like(mlflow.pyfunc.load_model(f"models:/{name}/1"), model)


def test_missing_model_uris(client, name, exp_id):
    from _util import RESOURCE_DOES_NOT_EXIST

    with raises_code(RESOURCE_DOES_NOT_EXIST):
        mlflow.pyfunc.load_model(f"models:/{name}/1")
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        mlflow.get_logged_model("m-" + "0" * 32)

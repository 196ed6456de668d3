"""The real mlflow client against a server with authentication on: Arca with --auth, or (with
ARCA_COMPAT_TARGET=mlflow) `mlflow server --app-name basic-auth`. Credentials come from the
variables the client reads (MLFLOW_TRACKING_USERNAME / _PASSWORD, MLFLOW_TRACKING_TOKEN), and
users and grants are managed with `mlflow.server.get_app_client("basic-auth", uri)`."""

import os
import uuid

import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.server import get_app_client

from conftest import AUTH_ADMIN_PASSWORD, spawn_server

TIMEOUT = 30


@pytest.fixture(scope="module")
def auth_url():
    with spawn_server(auth=True) as srv:
        yield srv.url


@pytest.fixture
def as_user(monkeypatch):
    """as_user(name, password) or as_user(token=...): the client's credentials from now on."""

    def use(username=None, password=None, token=None):
        for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
            monkeypatch.delenv(var, raising=False)
        if username is not None:
            monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", username)
            monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
        if token is not None:
            monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)

    return use


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_user(auth_url, as_user):
    as_user("admin", AUTH_ADMIN_PASSWORD)
    name = unique("user")
    get_app_client("basic-auth", tracking_uri=auth_url).create_user(name, f"{name}-pw")
    return name, f"{name}-pw"


def test_basic_credentials_are_required_and_checked(auth_url, as_user):
    client = MlflowClient(tracking_uri=auth_url, registry_uri=auth_url)
    as_user("admin", AUTH_ADMIN_PASSWORD)
    model = unique("basic")
    client.create_registered_model(model)
    as_user()
    with pytest.raises(MlflowException) as anonymous:
        client.get_registered_model(model)
    assert anonymous.value.error_code == "UNAUTHENTICATED"
    as_user("admin", "not-the-password")
    with pytest.raises(MlflowException) as wrong:
        client.get_registered_model(model)
    assert wrong.value.error_code == "UNAUTHENTICATED"
    resp = requests.get(f"{auth_url}/api/2.0/mlflow/registered-models/get", params={"name": model}, timeout=TIMEOUT)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="mlflow"'
    # Health stays open for load balancers.
    assert requests.get(f"{auth_url}/health", timeout=TIMEOUT).status_code == 200


def test_grants_decide_what_a_user_may_do(auth_url, as_user):
    client = MlflowClient(tracking_uri=auth_url, registry_uri=auth_url)
    auth = get_app_client("basic-auth", tracking_uri=auth_url)
    user, password = new_user(auth_url, as_user)
    model = unique("granted")
    client.create_registered_model(model)  # as admin
    as_user(user, password)
    # The default permission is READ: reading works, writing is denied.
    assert client.get_registered_model(model).name == model
    with pytest.raises(MlflowException) as denied:
        client.update_registered_model(model, description="mine")
    assert denied.value.error_code == "PERMISSION_DENIED"
    with pytest.raises(MlflowException) as not_admin:
        auth.create_user(unique("x"), "pw")
    assert not_admin.value.error_code == "PERMISSION_DENIED"
    as_user("admin", AUTH_ADMIN_PASSWORD)
    auth.grant_user_permission(user, "registered_model", model, "EDIT")
    got = auth.get_user_permission(user, "registered_model", model)
    assert (got.permission, got.allowed) == ("EDIT", True)
    as_user(user, password)
    client.update_registered_model(model, description="edited")
    with pytest.raises(MlflowException) as cannot_delete:
        client.delete_registered_model(model)
    assert cannot_delete.value.error_code == "PERMISSION_DENIED"
    as_user("admin", AUTH_ADMIN_PASSWORD)
    auth.revoke_user_permission(user, "registered_model", model)
    assert auth.get_user_permission(user, "registered_model", model).permission == "READ"


def test_the_creator_manages_what_they_create(auth_url, as_user):
    client = MlflowClient(tracking_uri=auth_url, registry_uri=auth_url)
    auth = get_app_client("basic-auth", tracking_uri=auth_url)
    user, password = new_user(auth_url, as_user)
    as_user(user, password)
    model = unique("mine")
    client.create_registered_model(model)
    experiment = client.create_experiment(unique("exp"))
    run = client.create_run(experiment)
    client.log_metric(run.info.run_id, "auc", 0.9)
    version = client.create_model_version(model, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.transition_model_version_stage(model, version.version, "Production")
    as_user("admin", AUTH_ADMIN_PASSWORD)
    assert auth.get_user_permission(user, "registered_model", model).permission == "MANAGE"
    assert auth.get_user_permission(user, "experiment", experiment).permission == "MANAGE"
    as_user(user, password)
    client.delete_registered_model(model)


def test_users_are_managed_with_the_basic_auth_client(auth_url, as_user):
    auth = get_app_client("basic-auth", tracking_uri=auth_url)
    as_user("admin", AUTH_ADMIN_PASSWORD)
    name = unique("managed")
    created = auth.create_user(name, "first-password")
    assert (created.username, created.is_admin) == (name, False)
    assert auth.get_user(name).id == created.id
    auth.update_user_admin(name, True)
    assert auth.get_user(name).is_admin is True
    auth.update_user_password(name, "second-password")
    as_user(name, "second-password")
    assert auth.get_user(name).username == name
    as_user("admin", AUTH_ADMIN_PASSWORD)
    auth.delete_user(name)
    with pytest.raises(MlflowException) as gone:
        auth.get_user(name)
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_a_model_is_logged_and_loaded_with_credentials(auth_url, as_user, tmp_path):
    import mlflow
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    user, password = new_user(auth_url, as_user)
    as_user(user, password)
    # The fluent API's URIs are process-wide, and set_*_uri(None) also deletes the
    # MLFLOW_*_URI variables the other tests' server fixture set: put those back afterwards.
    saved_env = {v: os.environ.get(v) for v in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(auth_url)
    mlflow.set_registry_uri(auth_url)
    try:
        experiment = mlflow.create_experiment(unique("logged"))
        model_name = unique("sk")
        X = np.array([[0.0], [1.0], [2.0], [3.0]])
        y = np.array([0, 0, 1, 1])
        with mlflow.start_run(experiment_id=experiment):
            mlflow.sklearn.log_model(LogisticRegression().fit(X, y), name="model", registered_model_name=model_name)
        loaded = mlflow.pyfunc.load_model(f"models:/{model_name}/1")
        assert list(loaded.predict(X)) == [0, 0, 1, 1]
        # Another user without a grant on that experiment cannot fetch the files.
        other, other_pw = new_user(auth_url, as_user)
        as_user("admin", AUTH_ADMIN_PASSWORD)
        get_app_client("basic-auth", tracking_uri=auth_url).grant_user_permission(
            other, "experiment", experiment, "DENY"
        )
        as_user(other, other_pw)
        # The artifact repository raises requests' error for the 403, not an MlflowException.
        with pytest.raises((MlflowException, requests.HTTPError), match="403|PERMISSION_DENIED"):
            mlflow.artifacts.download_artifacts(f"models:/{model_name}/1", dst_path=str(tmp_path))
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
        for var, value in saved_env.items():
            if value is not None:
                os.environ[var] = value


def test_an_api_token_works_as_bearer(auth_url, as_user, target):
    if target != "arca":
        pytest.skip("MLflow's basic-auth app has no API tokens")
    user, password = new_user(auth_url, as_user)
    resp = requests.post(
        f"{auth_url}/api/2.0/arca/tokens/create",
        json={"name": "ci"},
        auth=(user, password),
        timeout=TIMEOUT,
    )
    assert resp.status_code == 200, resp.text
    token = resp.json()["secret"]
    as_user(token=token)
    client = MlflowClient(tracking_uri=auth_url, registry_uri=auth_url)
    model = unique("bearer")
    client.create_registered_model(model)
    assert client.get_registered_model(model).name == model
    as_user(token=token + "x")
    with pytest.raises(MlflowException) as wrong:
        client.get_registered_model(model)
    assert wrong.value.error_code == "UNAUTHENTICATED"


def test_a_version_needs_read_on_the_run_or_model_it_is_made_from(auth_url, as_user):
    client = MlflowClient(tracking_uri=auth_url, registry_uri=auth_url)
    auth = get_app_client("basic-auth", tracking_uri=auth_url)
    user, password = new_user(auth_url, as_user)  # leaves the admin signed in
    experiment = client.create_experiment(unique("private"))
    run_id = client.create_run(experiment).info.run_id
    logged = client.create_logged_model(experiment, name="lm", source_run_id=run_id)
    theirs = unique("theirs")
    client.create_registered_model(theirs)
    client.create_model_version(theirs, "s3://bucket/theirs/1")
    # The default permission is READ: take it away on what the versions would be made from.
    auth.grant_user_permission(user, "experiment", experiment, "DENY")
    auth.grant_user_permission(user, "registered_model", theirs, "DENY")
    as_user(user, password)
    mine = unique("mine")
    client.create_registered_model(mine)
    attempts = {
        "a run she may not read": dict(source=f"runs:/{run_id}/model", run_id=run_id),
        "a logged model she may not read": dict(source=f"models:/{logged.model_id}", model_id=logged.model_id),
        "a registered model she may not read": dict(source=f"models:/{theirs}/1"),
        # A run that does not exist is refused the same way, so the answer tells nothing.
        "a run that does not exist": dict(source="runs:/" + "0" * 32 + "/model", run_id="0" * 32),
    }
    for what, kwargs in attempts.items():
        with pytest.raises(MlflowException) as denied:
            client.create_model_version(mine, **kwargs)
        assert denied.value.error_code == "PERMISSION_DENIED", what
    assert client.search_model_versions(f"name='{mine}'") == []
    as_user("admin", AUTH_ADMIN_PASSWORD)
    # Back to the default READ.
    auth.revoke_user_permission(user, "experiment", experiment)
    auth.revoke_user_permission(user, "registered_model", theirs)
    as_user(user, password)
    made = [client.create_model_version(mine, **kwargs).version for what, kwargs in attempts.items() if "exist" not in what]
    assert made == ["1", "2", "3"]

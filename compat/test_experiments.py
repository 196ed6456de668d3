"""Experiments: create / get / get-by-name / search / rename / delete / restore / tags."""

import uuid

import mlflow
import pytest
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from _util import RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST, raises_code


def _names(experiments):
    return [e.name for e in experiments]


def test_default_experiment(client):
    exp = client.get_experiment("0")
    assert exp.experiment_id == "0"
    assert exp.name == "Default"
    assert exp.lifecycle_stage == "active"
    assert client.get_experiment_by_name("Default").experiment_id == "0"


def test_create_with_tags(client, name):
    eid = client.create_experiment(name, tags={"team": "vision", "empty": ""})
    assert isinstance(eid, str) and eid.isdigit() and eid != "0"
    exp = client.get_experiment(eid)
    assert exp.experiment_id == eid
    assert exp.name == name
    assert exp.lifecycle_stage == "active"
    assert exp.tags == {"team": "vision", "empty": ""}
    # no artifact_location given: the server proxies artifacts under mlflow-artifacts:/<id>
    assert exp.artifact_location == f"mlflow-artifacts:/{eid}"
    assert isinstance(exp.creation_time, int) and exp.creation_time > 0
    assert exp.last_update_time >= exp.creation_time

    by_name = client.get_experiment_by_name(name)
    assert by_name.experiment_id == eid
    assert by_name.tags == exp.tags


def test_create_duplicate_name(client, name):
    client.create_experiment(name)
    with raises_code(RESOURCE_ALREADY_EXISTS):
        client.create_experiment(name)


def test_get_missing(client, name):
    assert client.get_experiment_by_name(name) is None
    assert mlflow.get_experiment_by_name(name) is None
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.get_experiment("987654321")


def test_set_experiment_creates_it(server_url, name):
    exp = mlflow.set_experiment(name)
    assert exp.name == name
    assert exp.lifecycle_stage == "active"
    assert mlflow.get_experiment_by_name(name).experiment_id == exp.experiment_id
    # a second call finds the same experiment
    assert mlflow.set_experiment(name).experiment_id == exp.experiment_id


def test_search_filter_and_order(client, name):
    ids = {}
    for suffix, team in [("c", "x"), ("a", "y"), ("b", "x")]:
        ids[suffix] = client.create_experiment(f"{name}-{suffix}", tags={"team": team})

    got = client.search_experiments(filter_string=f"name LIKE '{name}-%'", order_by=["name ASC"])
    assert _names(got) == [f"{name}-a", f"{name}-b", f"{name}-c"]
    got = client.search_experiments(filter_string=f"name LIKE '{name}-%'", order_by=["name DESC"])
    assert _names(got) == [f"{name}-c", f"{name}-b", f"{name}-a"]

    got = client.search_experiments(filter_string=f"name LIKE '{name}-%' AND tags.team = 'x'", order_by=["name"])
    assert _names(got) == [f"{name}-b", f"{name}-c"]

    got = client.search_experiments(filter_string=f"name = '{name}-a'")
    assert [e.experiment_id for e in got] == [ids["a"]]
    assert got[0].tags == {"team": "y"}

    # creation order; the id breaks ties between experiments created in the same millisecond
    # (MLflow's own tie-break is experiment_id DESC)
    got = client.search_experiments(
        filter_string=f"name LIKE '{name}-%'", order_by=["creation_time ASC", "experiment_id ASC"]
    )
    assert _names(got) == [f"{name}-c", f"{name}-a", f"{name}-b"]
    got = client.search_experiments(filter_string=f"name LIKE '{name}-%'", order_by=["experiment_id DESC"])
    assert _names(got) == [f"{name}-b", f"{name}-a", f"{name}-c"]

    assert client.search_experiments(filter_string=f"name = '{name}-nope'") == []


def test_search_pagination(client, name):
    names = [f"{name}-{i:02d}" for i in range(7)]
    for n in names:
        client.create_experiment(n)
    seen = []
    token = None
    pages = 0
    while True:
        page = client.search_experiments(
            filter_string=f"name LIKE '{name}-%'", order_by=["name ASC"], max_results=3, page_token=token
        )
        pages += 1
        assert len(page) <= 3
        seen += _names(page)
        token = page.token
        if not token:
            break
        assert pages < 10, "pagination does not end"
    assert pages == 3
    assert seen == names


def test_rename(client, name):
    eid = client.create_experiment(name)
    new = name + "-renamed"
    client.rename_experiment(eid, new)
    assert client.get_experiment(eid).name == new
    assert client.get_experiment_by_name(new).experiment_id == eid
    assert client.get_experiment_by_name(name) is None


def test_rename_to_existing_name(client, name, target):
    client.create_experiment(name + "-a")
    eid = client.create_experiment(name + "-b")
    with pytest.raises(MlflowException) as excinfo:
        client.rename_experiment(eid, name + "-a")
    # MLflow lets the database's unique constraint fail: HTTP 400 BAD_REQUEST with the
    # IntegrityError text. Arca answers with the same code and names the conflict.
    assert excinfo.value.get_http_status_code() == 400
    assert excinfo.value.error_code == "BAD_REQUEST", excinfo.value.message
    if target == "arca":
        assert "already exists" in excinfo.value.message
    assert client.get_experiment(eid).name == name + "-b"


def test_delete_and_restore(client, name):
    keep = client.create_experiment(name + "-keep")
    gone = client.create_experiment(name + "-gone")
    client.delete_experiment(gone)

    exp = client.get_experiment(gone)
    assert exp.lifecycle_stage == "deleted"
    # a deleted experiment is still found by name, marked deleted
    assert client.get_experiment_by_name(name + "-gone").lifecycle_stage == "deleted"

    flt = f"name LIKE '{name}-%'"
    assert _names(client.search_experiments(filter_string=flt)) == [name + "-keep"]
    assert _names(client.search_experiments(view_type=ViewType.ACTIVE_ONLY, filter_string=flt)) == [name + "-keep"]
    assert _names(client.search_experiments(view_type=ViewType.DELETED_ONLY, filter_string=flt)) == [name + "-gone"]
    got = client.search_experiments(view_type=ViewType.ALL, filter_string=flt, order_by=["name ASC"])
    assert _names(got) == [name + "-gone", name + "-keep"]

    # the name stays taken while the experiment is deleted
    with raises_code(RESOURCE_ALREADY_EXISTS):
        client.create_experiment(name + "-gone")

    client.restore_experiment(gone)
    assert client.get_experiment(gone).lifecycle_stage == "active"
    assert _names(client.search_experiments(filter_string=flt, order_by=["name ASC"])) == [
        name + "-gone",
        name + "-keep",
    ]
    assert client.get_experiment(keep).lifecycle_stage == "active"


def test_delete_missing(client):
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.delete_experiment("987654321")


def test_set_and_delete_tag(client, name):
    eid = client.create_experiment(name, tags={"a": "1"})
    client.set_experiment_tag(eid, "b", "2")
    client.set_experiment_tag(eid, "a", "changed")  # overwrite
    assert client.get_experiment(eid).tags == {"a": "changed", "b": "2"}
    client.delete_experiment_tag(eid, "a")
    assert client.get_experiment(eid).tags == {"b": "2"}

    mlflow.set_experiment(experiment_id=eid)
    mlflow.set_experiment_tag("fluent", "yes")
    assert client.get_experiment(eid).tags == {"b": "2", "fluent": "yes"}


def test_experiment_id_is_unique(client):
    ids = {client.create_experiment(f"uniq-{uuid.uuid4().hex[:10]}") for _ in range(3)}
    assert len(ids) == 3

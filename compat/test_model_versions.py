"""Model versions: create / get / update / delete / tags / download URI / copy."""

import mlflow
from _util import (
    RESOURCE_DOES_NOT_EXIST,
    make_versions,
    raises_code,
    run_id,
    s3_source,
)


def test_versions_are_numbered_from_one(client, name):
    rm = client.create_registered_model(name)
    src = s3_source()
    mvs = [client.create_model_version(name, src) for _ in range(3)]
    assert [mv.version for mv in mvs] == ["1", "2", "3"]
    for mv in mvs:
        assert mv.name == name
        assert mv.source == src
        assert mv.current_stage == "None"
        assert mv.status == "READY"
        assert not mv.run_id  # MLflow answers run_id "" (the client keeps "")
        assert mv.tags == {}
        assert mv.aliases == []
        assert isinstance(mv.creation_timestamp, int) and mv.creation_timestamp > 0
        assert mv.last_updated_timestamp >= mv.creation_timestamp
    got = client.get_registered_model(name)
    assert got.last_updated_timestamp >= rm.last_updated_timestamp
    assert [(mv.version, mv.current_stage) for mv in got.latest_versions] == [("3", "None")]


def test_create_with_all_fields(client, name):
    client.create_registered_model(name)
    rid = run_id()
    src = f"runs:/{rid}/model"
    mv = client.create_model_version(
        name,
        src,
        run_id=rid,
        tags={"framework": "sklearn", "empty": ""},
        run_link="http://ci.example/runs/7",
        description="first version",
    )
    assert mv.version == "1"
    assert mv.source == src
    assert mv.run_id == rid
    assert mv.run_link == "http://ci.example/runs/7"
    assert mv.description == "first version"
    assert mv.tags == {"framework": "sklearn", "empty": ""}

    got = client.get_model_version(name, "1")
    assert got.source == src
    assert got.run_id == rid
    assert got.run_link == "http://ci.example/runs/7"
    assert got.description == "first version"
    assert got.tags == {"framework": "sklearn", "empty": ""}
    assert got.current_stage == "None"
    assert got.status == "READY"
    assert got.creation_timestamp == mv.creation_timestamp


def test_create_for_missing_model(client, name):
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.create_model_version(name, s3_source())


def test_get_missing_version(client, name):
    make_versions(client, name, 1)
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.get_model_version(name, "2")
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.get_model_version(name + "-nope", "1")


def test_version_accepts_int(client, name):
    make_versions(client, name, 2)
    assert client.get_model_version(name, 2).version == "2"


def test_update_description(client, name):
    (mv,) = make_versions(client, name, 1)
    updated = client.update_model_version(name, "1", description="better")
    assert updated.version == "1"
    assert updated.description == "better"
    assert updated.last_updated_timestamp >= mv.last_updated_timestamp
    assert client.get_model_version(name, "1").description == "better"
    client.update_model_version(name, "1", description="")
    assert client.get_model_version(name, "1").description == ""


def test_update_missing_version(client, name):
    make_versions(client, name, 1)
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.update_model_version(name, "5", description="x")


def test_delete_hides_version_and_never_reuses_number(client, name):
    make_versions(client, name, 3)
    client.transition_model_version_stage(name, "3", "Production")
    client.set_registered_model_alias(name, "prod", "3")

    client.delete_model_version(name, "3")

    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.get_model_version(name, "3")
    assert sorted(mv.version for mv in client.search_model_versions(f"name = '{name}'")) == ["1", "2"]
    assert client.get_latest_versions(name, stages=["Production"]) == []
    rm = client.get_registered_model(name)
    assert [mv.version for mv in rm.latest_versions] == ["2"]
    assert rm.aliases == {}

    assert client.create_model_version(name, s3_source()).version == "4"
    client.delete_model_version(name, "4")
    assert client.create_model_version(name, s3_source()).version == "5"
    assert sorted(mv.version for mv in client.search_model_versions(f"name = '{name}'")) == ["1", "2", "5"]


def test_delete_missing_version(client, name):
    make_versions(client, name, 1)
    client.delete_model_version(name, "1")
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.delete_model_version(name, "1")
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.delete_model_version(name, "9")


def test_download_uri(client, name):
    client.create_registered_model(name)
    src = s3_source("artifacts/model")
    mv = client.create_model_version(name, src)
    assert client.get_model_version_download_uri(name, mv.version) == src
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.get_model_version_download_uri(name, "7")


def test_version_tags(client, name):
    make_versions(client, name, 2)
    client.set_model_version_tag(name, "1", "k", "v")
    client.set_model_version_tag(name, "1", "dotted.key", "")
    assert client.get_model_version(name, "1").tags == {"k": "v", "dotted.key": ""}
    assert client.get_model_version(name, "2").tags == {}

    client.set_model_version_tag(name, "1", "k", "v2")
    assert client.get_model_version(name, "1").tags == {"k": "v2", "dotted.key": ""}

    client.delete_model_version_tag(name, "1", "k")
    assert client.get_model_version(name, "1").tags == {"dotted.key": ""}


def test_version_tag_by_stage(client, name):
    make_versions(client, name, 2)
    client.transition_model_version_stage(name, "1", "Staging")
    client.set_model_version_tag(name, key="via", value="stage", stage="Staging")
    assert client.get_model_version(name, "1").tags == {"via": "stage"}
    client.delete_model_version_tag(name, key="via", stage="Staging")
    assert client.get_model_version(name, "1").tags == {}


def test_version_tag_errors(client, name):
    make_versions(client, name, 1)
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.set_model_version_tag(name, "2", "k", "v")
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.delete_model_version_tag(name, "2", "k")
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.set_model_version_tag(name + "-nope", "1", "k", "v")


def test_delete_missing_version_tag_is_a_no_op(client, name):
    make_versions(client, name, 1)
    client.set_model_version_tag(name, "1", "keep", "1")
    client.delete_model_version_tag(name, "1", "nope")
    assert client.get_model_version(name, "1").tags == {"keep": "1"}


def test_register_model(client, name):
    src = s3_source()
    mv = mlflow.register_model(src, name, tags={"via": "register_model"})
    assert mv.name == name
    assert mv.version == "1"
    assert mv.source == src
    # the model now exists; a second registration just adds a version
    assert mlflow.register_model(src, name).version == "2"
    assert client.get_model_version(name, "1").tags == {"via": "register_model"}


def test_copy_model_version(client, name, new_name):
    client.create_registered_model(name)
    src = s3_source()
    client.create_model_version(name, src, tags={"k": "v"}, description="orig")
    dst = new_name("copy")
    copied = client.copy_model_version(f"models:/{name}/1", dst)
    assert copied.name == dst
    assert copied.version == "1"
    assert copied.source == f"models:/{name}/1"
    got = client.get_model_version(dst, "1")
    assert got.tags == {"k": "v"}
    assert got.description == "orig"
    assert client.get_registered_model(dst).name == dst
    # the copy's download URI resolves through its source version
    assert client.get_model_version_download_uri(dst, "1") == src
    # copying again into the existing model adds a version
    assert client.copy_model_version(f"models:/{name}/1", dst).version == "2"

"""Registered models: create / get / update / rename / delete / tags."""

import pytest

from _util import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    raises_code,
    s3_source,
)


def test_create_with_tags_and_description(client, name):
    rm = client.create_registered_model(name, tags={"team": "fraud", "tier": "1"}, description="churn model")
    assert rm.name == name
    assert rm.description == "churn model"
    assert rm.tags == {"team": "fraud", "tier": "1"}
    assert isinstance(rm.creation_timestamp, int) and rm.creation_timestamp > 0
    assert rm.last_updated_timestamp >= rm.creation_timestamp

    got = client.get_registered_model(name)
    assert got.name == name
    assert got.description == "churn model"
    assert got.tags == {"team": "fraud", "tier": "1"}
    assert got.creation_timestamp == rm.creation_timestamp
    assert got.latest_versions == []
    assert got.aliases == {}


def test_create_minimal(client, name):
    rm = client.create_registered_model(name)
    assert rm.name == name
    assert not rm.description
    assert rm.tags == {}
    got = client.get_registered_model(name)
    assert not got.description
    assert got.tags == {}
    assert got.latest_versions == []


def test_name_with_spaces_and_unicode(client, name):
    odd = f"My Model (ünïcode) {name}"
    client.create_registered_model(odd)
    assert client.get_registered_model(odd).name == odd
    mv = client.create_model_version(odd, s3_source())
    assert client.get_model_version(odd, mv.version).name == odd


@pytest.mark.parametrize("bad", ["a/b", "a:b"])
def test_name_with_slash_or_colon_rejected(client, name, bad):
    with raises_code(INVALID_PARAMETER_VALUE):
        client.create_registered_model(f"{name}-{bad}")


def test_get_missing(client, name):
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.get_registered_model(name)


def test_create_duplicate(client, name):
    client.create_registered_model(name)
    with raises_code(RESOURCE_ALREADY_EXISTS):
        client.create_registered_model(name)


def test_create_empty_name(client):
    with raises_code(INVALID_PARAMETER_VALUE):
        client.create_registered_model("")


def test_update_description(client, name):
    rm = client.create_registered_model(name, description="old")
    updated = client.update_registered_model(name, description="new description")
    assert updated.name == name
    assert updated.description == "new description"
    assert updated.last_updated_timestamp >= rm.last_updated_timestamp
    got = client.get_registered_model(name)
    assert got.description == "new description"
    assert got.creation_timestamp == rm.creation_timestamp


def test_update_missing(client, name):
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.update_registered_model(name, description="x")


def test_rename_carries_versions_tags_and_aliases(client, name, new_name):
    client.create_registered_model(name, tags={"team": "a"}, description="d")
    v1 = client.create_model_version(name, s3_source("v1"), tags={"vt": "1"})
    client.create_model_version(name, s3_source("v2"))
    client.set_registered_model_alias(name, "champion", "1")
    client.transition_model_version_stage(name, "2", "Staging")

    target = new_name("renamed")
    client.rename_registered_model(name, target)  # returns None in the client

    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.get_registered_model(name)
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.get_model_version(name, "1")

    rm = client.get_registered_model(target)
    assert rm.name == target
    assert rm.description == "d"
    assert rm.tags == {"team": "a"}
    assert rm.aliases == {"champion": "1"}
    assert sorted((mv.version, mv.current_stage) for mv in rm.latest_versions) == [("1", "None"), ("2", "Staging")]
    assert all(mv.name == target for mv in rm.latest_versions)

    mv1 = client.get_model_version(target, "1")
    assert mv1.name == target
    assert mv1.source == v1.source
    assert mv1.tags == {"vt": "1"}
    assert mv1.aliases == ["champion"]
    assert client.get_model_version_by_alias(target, "champion").version == "1"
    assert client.get_model_version(target, "2").current_stage == "Staging"

    found = client.search_model_versions(f"name = '{target}'")
    assert sorted(mv.version for mv in found) == ["1", "2"]
    assert client.search_model_versions(f"name = '{name}'") == []

    # numbering continues under the new name; the old name is free again
    assert client.create_model_version(target, s3_source()).version == "3"
    client.create_registered_model(name)
    assert client.create_model_version(name, s3_source()).version == "1"


def test_rename_to_existing_name(client, name, new_name):
    other = new_name("other")
    client.create_registered_model(name)
    client.create_registered_model(other)
    with raises_code(RESOURCE_ALREADY_EXISTS):
        client.rename_registered_model(name, other)
    assert client.get_registered_model(name).name == name


def test_rename_missing(client, name, new_name):
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.rename_registered_model(name, new_name())


def test_delete_and_recreate(client, name):
    client.create_registered_model(name, tags={"k": "v"}, description="first")
    client.create_model_version(name, s3_source())
    client.create_model_version(name, s3_source())
    client.set_registered_model_alias(name, "prod", "2")

    client.delete_registered_model(name)
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.get_registered_model(name)
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.get_model_version(name, "1")
    assert client.search_model_versions(f"name = '{name}'") == []
    assert client.search_registered_models(f"name = '{name}'") == []

    rm = client.create_registered_model(name)
    assert rm.name == name
    got = client.get_registered_model(name)
    assert got.tags == {}
    assert got.aliases == {}
    assert not got.description
    assert got.latest_versions == []
    assert client.create_model_version(name, s3_source()).version == "1"


def test_delete_missing(client, name):
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.delete_registered_model(name)


def test_tags_set_overwrite_delete(client, name):
    rm = client.create_registered_model(name)
    client.set_registered_model_tag(name, "team", "a")
    client.set_registered_model_tag(name, "stage.note", "")
    assert client.get_registered_model(name).tags == {"team": "a", "stage.note": ""}

    client.set_registered_model_tag(name, "team", "b")
    got = client.get_registered_model(name)
    assert got.tags == {"team": "b", "stage.note": ""}
    assert got.last_updated_timestamp >= rm.last_updated_timestamp

    client.delete_registered_model_tag(name, "team")
    assert client.get_registered_model(name).tags == {"stage.note": ""}


def test_tag_non_string_value_is_stringified(client, name):
    client.create_registered_model(name)
    client.set_registered_model_tag(name, "n", 42)
    assert client.get_registered_model(name).tags == {"n": "42"}


def test_delete_missing_tag_is_a_no_op(client, name):
    client.create_registered_model(name, tags={"a": "1"})
    client.delete_registered_model_tag(name, "nope")
    assert client.get_registered_model(name).tags == {"a": "1"}


def test_tag_on_missing_model(client, name):
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.set_registered_model_tag(name, "k", "v")
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.delete_registered_model_tag(name, "k")

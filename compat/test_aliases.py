"""Registered model aliases."""

import pytest

from _util import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_DOES_NOT_EXIST,
    make_versions,
    raises_code,
)


def test_set_get_delete_alias(client, name):
    make_versions(client, name, 2)
    client.set_registered_model_alias(name, "champion", "1")
    client.set_registered_model_alias(name, "challenger", "2")
    client.set_registered_model_alias(name, "stable", "1")

    mv = client.get_model_version_by_alias(name, "champion")
    assert mv.name == name
    assert mv.version == "1"
    assert sorted(mv.aliases) == ["champion", "stable"]

    assert client.get_registered_model(name).aliases == {"champion": "1", "challenger": "2", "stable": "1"}
    assert sorted(client.get_model_version(name, "1").aliases) == ["champion", "stable"]
    assert client.get_model_version(name, "2").aliases == ["challenger"]

    client.delete_registered_model_alias(name, "stable")
    assert client.get_registered_model(name).aliases == {"champion": "1", "challenger": "2"}
    assert client.get_model_version(name, "1").aliases == ["champion"]
    with raises_code(INVALID_PARAMETER_VALUE):
        client.get_model_version_by_alias(name, "stable")


def test_alias_moves_to_new_version(client, name):
    make_versions(client, name, 2)
    client.set_registered_model_alias(name, "champion", "1")
    client.set_registered_model_alias(name, "champion", "2")
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    assert client.get_registered_model(name).aliases == {"champion": "2"}
    assert client.get_model_version(name, "1").aliases == []
    assert client.get_model_version(name, "2").aliases == ["champion"]


def test_aliases_on_transition_and_latest_versions(client, name):
    make_versions(client, name, 1)
    client.set_registered_model_alias(name, "champion", "1")
    mv = client.transition_model_version_stage(name, "1", "Production")
    assert mv.aliases == ["champion"]
    (latest,) = client.get_latest_versions(name, stages=["Production"])
    assert latest.aliases == ["champion"]


def test_missing_alias(client, name):
    make_versions(client, name, 1)
    with raises_code(INVALID_PARAMETER_VALUE):
        client.get_model_version_by_alias(name, "nosuch")


def test_alias_on_missing_version(client, name):
    make_versions(client, name, 1)
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.set_registered_model_alias(name, "champion", "2")
    assert client.get_registered_model(name).aliases == {}


def test_alias_on_missing_model(client, name):
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.set_registered_model_alias(name, "champion", "1")


@pytest.mark.parametrize("alias", ["latest", "LATEST", "v1", "V2", "v10"])
def test_reserved_aliases(client, name, alias):
    make_versions(client, name, 1)
    with raises_code(INVALID_PARAMETER_VALUE):
        client.set_registered_model_alias(name, alias, "1")
    assert client.get_registered_model(name).aliases == {}


@pytest.mark.parametrize("alias", ["v1beta", "version1", "prod-v1", "latest2"])
def test_alias_names_that_look_reserved_but_are_not(client, name, alias):
    make_versions(client, name, 1)
    client.set_registered_model_alias(name, alias, "1")
    assert client.get_model_version_by_alias(name, alias).version == "1"


def test_alias_removed_with_its_version(client, name):
    make_versions(client, name, 2)
    client.set_registered_model_alias(name, "a", "1")
    client.set_registered_model_alias(name, "b", "2")
    client.delete_model_version(name, "1")
    assert client.get_registered_model(name).aliases == {"b": "2"}
    with raises_code(INVALID_PARAMETER_VALUE):
        client.get_model_version_by_alias(name, "a")


@pytest.mark.parametrize("alias", ["has space", "dot.ted", "slash/y"])
def test_alias_bad_characters(client, name, alias):
    make_versions(client, name, 1)
    with raises_code(INVALID_PARAMETER_VALUE):
        client.set_registered_model_alias(name, alias, "1")


def test_delete_missing_alias_is_a_no_op(client, name):
    make_versions(client, name, 1)
    client.set_registered_model_alias(name, "keep", "1")
    client.delete_registered_model_alias(name, "never-set")
    assert client.get_registered_model(name).aliases == {"keep": "1"}

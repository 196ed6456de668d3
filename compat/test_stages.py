"""Stage transitions and get_latest_versions."""

import pytest
from mlflow.exceptions import MlflowException

from _util import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_DOES_NOT_EXIST,
    make_versions,
    raises_code,
)


@pytest.mark.parametrize(
    "given, canonical",
    [
        ("production", "Production"),
        ("STAGING", "Staging"),
        ("Archived", "Archived"),
        ("none", "None"),
    ],
)
def test_stage_input_is_case_insensitive(client, name, given, canonical):
    make_versions(client, name, 1)
    mv = client.transition_model_version_stage(name, "1", given)
    assert mv.current_stage == canonical
    assert mv.version == "1"
    assert client.get_model_version(name, "1").current_stage == canonical


def test_transition_bumps_timestamps(client, name):
    (mv,) = make_versions(client, name, 1)
    before = client.get_registered_model(name).last_updated_timestamp
    moved = client.transition_model_version_stage(name, "1", "Staging")
    assert moved.last_updated_timestamp >= mv.last_updated_timestamp
    assert client.get_registered_model(name).last_updated_timestamp >= before


def test_bad_stage(client, name):
    make_versions(client, name, 1)
    with raises_code(INVALID_PARAMETER_VALUE):
        client.transition_model_version_stage(name, "1", "Bogus")
    assert client.get_model_version(name, "1").current_stage == "None"


def test_transition_missing_version(client, name):
    make_versions(client, name, 1)
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.transition_model_version_stage(name, "4", "Staging")


def test_archive_existing_versions(client, name):
    make_versions(client, name, 3)
    client.transition_model_version_stage(name, "1", "Production")
    client.transition_model_version_stage(name, "3", "Staging")

    # without archive_existing_versions both stay in Production
    client.transition_model_version_stage(name, "2", "Production")
    assert client.get_model_version(name, "1").current_stage == "Production"
    assert client.get_model_version(name, "2").current_stage == "Production"

    client.transition_model_version_stage(name, "2", "Staging")
    mv = client.transition_model_version_stage(name, "2", "Production", archive_existing_versions=True)
    assert mv.current_stage == "Production"
    assert client.get_model_version(name, "1").current_stage == "Archived"
    # versions in other stages are untouched
    assert client.get_model_version(name, "3").current_stage == "Staging"


def test_archive_existing_versions_needs_active_stage(client, name):
    make_versions(client, name, 2)
    client.transition_model_version_stage(name, "1", "Archived")
    # MLflow refuses (with an INTERNAL_ERROR, i.e. HTTP 500); only check that it fails
    with pytest.raises(MlflowException):
        client.transition_model_version_stage(name, "2", "Archived", archive_existing_versions=True)
    assert client.get_model_version(name, "1").current_stage == "Archived"


def test_get_latest_versions(client, name):
    make_versions(client, name, 5)
    client.transition_model_version_stage(name, "1", "Production")
    client.transition_model_version_stage(name, "2", "Production")
    client.transition_model_version_stage(name, "3", "Staging")
    client.transition_model_version_stage(name, "4", "Archived")
    # version 5 stays in "None"

    latest = client.get_latest_versions(name)
    assert sorted((mv.current_stage, mv.version) for mv in latest) == [
        ("Archived", "4"),
        ("None", "5"),
        ("Production", "2"),
        ("Staging", "3"),
    ]
    assert all(mv.name == name for mv in latest)

    prod = client.get_latest_versions(name, stages=["Production"])
    assert [(mv.version, mv.current_stage) for mv in prod] == [("2", "Production")]

    both = client.get_latest_versions(name, stages=["Production", "Staging"])
    assert sorted(mv.version for mv in both) == ["2", "3"]

    assert [mv.version for mv in client.get_latest_versions(name, stages=["production"])] == ["2"]

    rm = client.get_registered_model(name)
    assert sorted((mv.current_stage, mv.version) for mv in rm.latest_versions) == [
        ("Archived", "4"),
        ("None", "5"),
        ("Production", "2"),
        ("Staging", "3"),
    ]


def test_get_latest_versions_empty_stage(client, name):
    make_versions(client, name, 1)
    assert client.get_latest_versions(name, stages=["Production"]) == []
    client.create_registered_model(name + "-empty")
    assert client.get_latest_versions(name + "-empty") == []


def test_get_latest_versions_missing_model(client, name):
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.get_latest_versions(name)

"""Small helpers shared by the compat tests."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest
from mlflow.exceptions import MlflowException

RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"


@contextmanager
def raises_code(code: str):
    """Expect an MlflowException (RestException included) with this error_code."""
    with pytest.raises(MlflowException) as excinfo:
        yield excinfo
    assert excinfo.value.error_code == code, (
        f"expected {code}, got {excinfo.value.error_code}: {excinfo.value.message}"
    )


def s3_source(tag: str = "model") -> str:
    """A model version source the real server accepts without any run or logged model."""
    return f"s3://compat-bucket/{uuid.uuid4().hex[:8]}/{tag}"


def run_id() -> str:
    return uuid.uuid4().hex


def make_versions(client, name: str, count: int, **kwargs):
    """Create the registered model `name` and `count` versions of it."""
    client.create_registered_model(name)
    return [client.create_model_version(name, s3_source(f"v{i + 1}"), **kwargs) for i in range(count)]

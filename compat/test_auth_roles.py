"""Roles through the real client: `get_app_client("basic-auth", uri)`'s role methods against Arca
with --auth, or (ARCA_COMPAT_TARGET=mlflow) `mlflow server --app-name basic-auth` with its default
configuration (workspaces off, default permission READ). With workspaces off, MLflow resolves
grants in its "default" workspace, so roles there decide; roles of other workspaces are kept
but grant nothing.

MLflow also lists the per-user roles (`__user_<id>__`) that hold each user's own grants; Arca
keeps those grants apart and does not list them, so listings here are compared without them."""

import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.server import get_app_client

from conftest import AUTH_ADMIN_PASSWORD, spawn_server
from test_auth import as_user, new_user, unique  # noqa: F401 (as_user is a fixture)

TIMEOUT = 30


@pytest.fixture(scope="module")
def auth_url():
    with spawn_server(auth=True) as srv:
        yield srv.url


def named(roles):
    return [r.name for r in roles if not r.name.startswith("__user_")]


def error_code(call, *args):
    with pytest.raises(MlflowException) as raised:
        call(*args)
    return raised.value.error_code


def test_roles_are_managed_with_the_basic_auth_client(auth_url, as_user):
    auth = get_app_client("basic-auth", tracking_uri=auth_url)
    user, _ = new_user(auth_url, as_user)  # leaves the admin signed in
    name = unique("role")
    role = auth.create_role("default", name, description="reviewers")
    assert (role.name, role.workspace, role.description, role.permissions) == (name, "default", "reviewers", [])
    assert auth.get_role(role.id).name == name
    assert name in named(auth.list_roles("default"))
    # The same name in another workspace is another role.
    other = auth.create_role(unique("elsewhere"), name)
    assert [r.id for r in auth.list_roles(other.workspace)] == [other.id]
    assert other.id not in [r.id for r in auth.list_roles("default")]
    assert {role.id, other.id} <= {r.id for r in auth.list_all_roles()}
    assert error_code(auth.create_role, "default", name) == "RESOURCE_ALREADY_EXISTS"
    assert error_code(auth.create_role, "default", "__user_9__") == "INVALID_PARAMETER_VALUE"
    assert error_code(auth.get_role, 987654321) == "RESOURCE_DOES_NOT_EXIST"

    renamed = auth.update_role(role.id, name=f"{name}-2", description="release")
    assert (renamed.name, renamed.description) == (f"{name}-2", "release")

    grant = auth.add_role_permission(role.id, "registered_model", "*", "READ")
    assert (grant.role_id, grant.resource_type, grant.resource_pattern, grant.permission) == (
        role.id,
        "registered_model",
        "*",
        "READ",
    )
    assert error_code(auth.add_role_permission, role.id, "registered_model", "*", "EDIT") == "RESOURCE_ALREADY_EXISTS"
    assert error_code(auth.add_role_permission, role.id, "workspace", "*", "READ") == "INVALID_PARAMETER_VALUE"
    assert error_code(auth.add_role_permission, role.id, "experiment", "*", "NO_PERMISSIONS") == "INVALID_PARAMETER_VALUE"
    assert auth.update_role_permission(grant.id, "EDIT").permission == "EDIT"
    assert [(p.id, p.permission) for p in auth.list_role_permissions(role.id)] == [(grant.id, "EDIT")]

    assignment = auth.assign_role(user, role.id)
    assert assignment.role_id == role.id
    assert assignment.user_id == auth.get_user(user).id
    assert error_code(auth.assign_role, user, role.id) == "RESOURCE_ALREADY_EXISTS"
    assert named(auth.list_user_roles(user)) == [f"{name}-2"]
    assert auth.list_user_roles(user)[0].permissions[0].permission == "EDIT"
    assert [a.id for a in auth.list_role_users(role.id)] == [assignment.id]

    auth.unassign_role(user, role.id)
    assert named(auth.list_user_roles(user)) == []
    assert error_code(auth.unassign_role, user, role.id) == "RESOURCE_DOES_NOT_EXIST"
    auth.remove_role_permission(grant.id)
    assert auth.list_role_permissions(role.id) == []
    assert error_code(auth.remove_role_permission, grant.id) == "RESOURCE_DOES_NOT_EXIST"
    auth.delete_role(role.id)
    assert error_code(auth.get_role, role.id) == "RESOURCE_DOES_NOT_EXIST"
    auth.delete_role(other.id)


def test_a_roles_grants_decide_what_its_members_may_do(auth_url, as_user):
    client = MlflowClient(tracking_uri=auth_url, registry_uri=auth_url)
    auth = get_app_client("basic-auth", tracking_uri=auth_url)
    user, password = new_user(auth_url, as_user)
    prefix = unique("team")
    mine, theirs = f"{prefix}-mine", f"{prefix}-theirs"
    for model in (mine, theirs):
        client.create_registered_model(model)  # as admin
    editors = auth.create_role("default", unique("editors"))
    auth.add_role_permission(editors.id, "registered_model", mine, "EDIT")
    # Before the assignment the default (READ) holds.
    as_user(user, password)
    with pytest.raises(MlflowException) as denied:
        client.update_registered_model(mine, description="not yet")
    assert denied.value.error_code == "PERMISSION_DENIED"

    as_user("admin", AUTH_ADMIN_PASSWORD)
    auth.assign_role(user, editors.id)
    got = auth.get_user_permission(user, "registered_model", mine)
    assert (got.permission, got.allowed) == ("EDIT", True)
    as_user(user, password)
    client.update_registered_model(mine, description="edited through a role")
    with pytest.raises(MlflowException) as other:
        client.update_registered_model(theirs, description="no")
    assert other.value.error_code == "PERMISSION_DENIED"

    # A DENY in a role beats the default and the other role's READ, in searches too.
    as_user("admin", AUTH_ADMIN_PASSWORD)
    shut = auth.create_role("default", unique("shut"))
    auth.add_role_permission(shut.id, "registered_model", theirs, "DENY")
    auth.assign_role(user, shut.id)
    assert auth.get_user_permission(user, "registered_model", theirs).permission == "DENY"
    as_user(user, password)
    with pytest.raises(MlflowException) as hidden:
        client.get_registered_model(theirs)
    assert hidden.value.error_code == "PERMISSION_DENIED"
    found = client.search_registered_models(filter_string=f"name LIKE '{prefix}%'", max_results=1)
    names = [m.name for m in found]
    while found.token:
        found = client.search_registered_models(
            filter_string=f"name LIKE '{prefix}%'", max_results=1, page_token=found.token
        )
        names += [m.name for m in found]
    assert names == [mine]

    # Unassigned, the role's grants are gone.
    as_user("admin", AUTH_ADMIN_PASSWORD)
    auth.unassign_role(user, shut.id)
    auth.unassign_role(user, editors.id)
    assert auth.get_user_permission(user, "registered_model", theirs).permission == "READ"
    assert auth.get_user_permission(user, "registered_model", mine).permission == "READ"


def test_a_workspace_admin_manages_every_resource_and_the_roles(auth_url, as_user):
    client = MlflowClient(tracking_uri=auth_url, registry_uri=auth_url)
    auth = get_app_client("basic-auth", tracking_uri=auth_url)
    user, password = new_user(auth_url, as_user)
    model = unique("admins-model")
    client.create_registered_model(model)
    admins = auth.create_role("default", unique("ws-admins"))
    auth.add_role_permission(admins.id, "workspace", "*", "MANAGE")
    auth.assign_role(user, admins.id)
    assert auth.get_user_permission(user, "registered_model", model).permission == "MANAGE"
    as_user(user, password)
    made = auth.create_role("default", unique("made-by-a-workspace-admin"))
    assert made.workspace == "default"
    assert error_code(auth.create_role, unique("other-workspace"), "x") == "PERMISSION_DENIED"
    assert error_code(auth.list_all_roles) == "PERMISSION_DENIED"
    # As on MLflow, a workspace admin may make an account (to give it a role), not delete one.
    seeded = unique("seeded")
    auth.create_user(seeded, "a-password-123")
    assert error_code(auth.delete_user, seeded) == "PERMISSION_DENIED"
    client.delete_registered_model(model)


def test_roles_are_an_admins_business(auth_url, as_user):
    auth = get_app_client("basic-auth", tracking_uri=auth_url)
    user, password = new_user(auth_url, as_user)
    role = auth.create_role("default", unique("closed"))
    as_user(user, password)
    assert error_code(auth.create_role, "default", unique("mine")) == "PERMISSION_DENIED"
    assert error_code(auth.list_all_roles) == "PERMISSION_DENIED"
    assert error_code(auth.list_role_users, role.id) == "PERMISSION_DENIED"
    assert error_code(auth.delete_role, role.id) == "PERMISSION_DENIED"
    assert error_code(auth.list_user_roles, "admin") == "PERMISSION_DENIED"
    # Their own roles they may see.
    assert named(auth.list_user_roles(user)) == []


def test_a_protected_stage_admits_its_groups_members(auth_url, as_user, target):
    if target != "arca":
        pytest.skip("protected stages and aliases are Arca's own; MLflow has none")
    client = MlflowClient(tracking_uri=auth_url, registry_uri=auth_url)
    auth = get_app_client("basic-auth", tracking_uri=auth_url)
    releaser, releaser_pw = new_user(auth_url, as_user)
    dev, dev_pw = new_user(auth_url, as_user)
    model = unique("guarded")
    client.create_registered_model(model)
    version = client.create_model_version(model, "s3://bucket/model").version
    group = auth.create_role("default", unique("release-managers"))
    auth.assign_role(releaser, group.id)
    for user in (releaser, dev):
        auth.grant_user_permission(user, "registered_model", model, "EDIT")
    for what in ({"stage": "Production"}, {"alias": "champion"}):
        resp = requests.post(
            f"{auth_url}/api/2.0/arca/registered-models/protections",
            json={"name": model, "role": group.name, **what},
            auth=("admin", AUTH_ADMIN_PASSWORD),
            timeout=TIMEOUT,
        )
        assert resp.status_code == 200, resp.text

    as_user(dev, dev_pw)
    with pytest.raises(MlflowException) as stage:
        client.transition_model_version_stage(model, version, "Production")
    assert stage.value.error_code == "PERMISSION_DENIED"
    assert "Production" in str(stage.value) and group.name in str(stage.value)
    with pytest.raises(MlflowException) as alias:
        client.set_registered_model_alias(model, "champion", version)
    assert alias.value.error_code == "PERMISSION_DENIED"
    assert "champion" in str(alias.value) and group.name in str(alias.value)
    client.transition_model_version_stage(model, version, "Staging")  # not protected

    as_user(releaser, releaser_pw)
    moved = client.transition_model_version_stage(model, version, "Production")
    assert moved.current_stage == "Production"
    client.set_registered_model_alias(model, "champion", version)
    assert client.get_model_version_by_alias(model, "champion").version == version

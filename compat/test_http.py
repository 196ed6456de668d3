"""Raw HTTP checks of the wire format, for what the client hides."""

import requests

from _util import s3_source

TIMEOUT = 30


def _error(resp, status, code):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["error_code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


def test_missing_required_field(api):
    resp = requests.post(f"{api}/registered-models/create", json={}, timeout=TIMEOUT)
    _error(resp, 400, "INVALID_PARAMETER_VALUE")


def test_missing_required_query_param(api):
    resp = requests.get(f"{api}/registered-models/get", timeout=TIMEOUT)
    _error(resp, 400, "INVALID_PARAMETER_VALUE")


def test_missing_source_on_version_create(api, name):
    requests.post(f"{api}/registered-models/create", json={"name": name}, timeout=TIMEOUT).raise_for_status()
    resp = requests.post(f"{api}/model-versions/create", json={"name": name}, timeout=TIMEOUT)
    _error(resp, 400, "INVALID_PARAMETER_VALUE")


def test_already_exists_is_http_400(api, name):
    assert requests.post(f"{api}/registered-models/create", json={"name": name}, timeout=TIMEOUT).status_code == 200
    resp = requests.post(f"{api}/registered-models/create", json={"name": name}, timeout=TIMEOUT)
    _error(resp, 400, "RESOURCE_ALREADY_EXISTS")


def test_not_found_is_http_404(api, name):
    resp = requests.get(f"{api}/registered-models/get", params={"name": name}, timeout=TIMEOUT)
    _error(resp, 404, "RESOURCE_DOES_NOT_EXIST")
    requests.post(f"{api}/registered-models/create", json={"name": name}, timeout=TIMEOUT).raise_for_status()
    resp = requests.get(f"{api}/model-versions/get", params={"name": name, "version": "3"}, timeout=TIMEOUT)
    _error(resp, 404, "RESOURCE_DOES_NOT_EXIST")


def test_missing_alias_is_http_400(api, name):
    requests.post(f"{api}/registered-models/create", json={"name": name}, timeout=TIMEOUT).raise_for_status()
    resp = requests.get(f"{api}/registered-models/alias", params={"name": name, "alias": "nosuch"}, timeout=TIMEOUT)
    _error(resp, 400, "INVALID_PARAMETER_VALUE")


def test_bad_stage_is_http_400(api, name):
    requests.post(f"{api}/registered-models/create", json={"name": name}, timeout=TIMEOUT).raise_for_status()
    requests.post(
        f"{api}/model-versions/create", json={"name": name, "source": s3_source()}, timeout=TIMEOUT
    ).raise_for_status()
    resp = requests.post(
        f"{api}/model-versions/transition-stage",
        json={"name": name, "version": "1", "stage": "Bogus", "archive_existing_versions": False},
        timeout=TIMEOUT,
    )
    _error(resp, 400, "INVALID_PARAMETER_VALUE")


def test_max_results_over_limit_is_http_400(api):
    resp = requests.get(f"{api}/registered-models/search", params={"max_results": "1001"}, timeout=TIMEOUT)
    _error(resp, 400, "INVALID_PARAMETER_VALUE")


def test_bad_page_token_is_http_400(api):
    resp = requests.get(
        f"{api}/registered-models/search", params={"page_token": "not a valid token!"}, timeout=TIMEOUT
    )
    _error(resp, 400, "INVALID_PARAMETER_VALUE")


def test_json_shapes(api, name):
    resp = requests.post(
        f"{api}/registered-models/create",
        json={"name": name, "tags": [{"key": "k", "value": "v"}]},
        timeout=TIMEOUT,
    )
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    rm = resp.json()["registered_model"]
    assert rm["name"] == name
    # int64 timestamps are JSON numbers
    assert isinstance(rm["creation_timestamp"], int)
    assert isinstance(rm["last_updated_timestamp"], int)
    assert rm["tags"] == [{"key": "k", "value": "v"}]

    resp = requests.post(f"{api}/model-versions/create", json={"name": name, "source": "s3://b/m"}, timeout=TIMEOUT)
    assert resp.status_code == 200
    mv = resp.json()["model_version"]
    assert mv["name"] == name
    assert mv["version"] == "1"  # versions are strings
    assert isinstance(mv["creation_timestamp"], int)
    assert mv["current_stage"] == "None"
    assert mv["status"] == "READY"
    assert mv["source"] == "s3://b/m"

    requests.post(
        f"{api}/registered-models/alias", json={"name": name, "alias": "champion", "version": "1"}, timeout=TIMEOUT
    ).raise_for_status()
    rm = requests.get(f"{api}/registered-models/get", params={"name": name}, timeout=TIMEOUT).json()[
        "registered_model"
    ]
    assert rm["aliases"] == [{"alias": "champion", "version": "1"}]
    assert [v["version"] for v in rm["latest_versions"]] == ["1"]

    mv = requests.get(
        f"{api}/registered-models/alias", params={"name": name, "alias": "champion"}, timeout=TIMEOUT
    ).json()["model_version"]
    assert mv["version"] == "1"
    assert mv["aliases"] == ["champion"]


def test_mutations_return_empty_object(api, name):
    requests.post(f"{api}/registered-models/create", json={"name": name}, timeout=TIMEOUT).raise_for_status()
    resp = requests.post(
        f"{api}/registered-models/set-tag", json={"name": name, "key": "k", "value": "v"}, timeout=TIMEOUT
    )
    assert resp.status_code == 200
    assert resp.json() == {}


def test_delete_takes_a_json_body(api, name):
    requests.post(f"{api}/registered-models/create", json={"name": name}, timeout=TIMEOUT).raise_for_status()
    requests.post(
        f"{api}/model-versions/create", json={"name": name, "source": s3_source()}, timeout=TIMEOUT
    ).raise_for_status()
    requests.post(
        f"{api}/registered-models/alias", json={"name": name, "alias": "a1", "version": "1"}, timeout=TIMEOUT
    ).raise_for_status()
    resp = requests.delete(f"{api}/registered-models/alias", json={"name": name, "alias": "a1"}, timeout=TIMEOUT)
    assert resp.status_code == 200
    resp = requests.delete(f"{api}/registered-models/delete", json={"name": name}, timeout=TIMEOUT)
    assert resp.status_code == 200
    resp = requests.get(f"{api}/registered-models/get", params={"name": name}, timeout=TIMEOUT)
    assert resp.status_code == 404


def test_get_latest_versions_get_and_post(api, name):
    requests.post(f"{api}/registered-models/create", json={"name": name}, timeout=TIMEOUT).raise_for_status()
    for _ in range(2):
        requests.post(
            f"{api}/model-versions/create", json={"name": name, "source": s3_source()}, timeout=TIMEOUT
        ).raise_for_status()
    requests.post(
        f"{api}/model-versions/transition-stage",
        json={"name": name, "version": "1", "stage": "Staging", "archive_existing_versions": False},
        timeout=TIMEOUT,
    ).raise_for_status()

    resp = requests.post(
        f"{api}/registered-models/get-latest-versions", json={"name": name, "stages": ["Staging"]}, timeout=TIMEOUT
    )
    assert resp.status_code == 200
    assert [v["version"] for v in resp.json()["model_versions"]] == ["1"]

    # GET with repeated query parameters
    resp = requests.get(
        f"{api}/registered-models/get-latest-versions",
        params=[("name", name), ("stages", "Staging"), ("stages", "None")],
        timeout=TIMEOUT,
    )
    assert resp.status_code == 200
    assert sorted(v["version"] for v in resp.json()["model_versions"]) == ["1", "2"]


def test_search_get_with_repeated_order_by(api, name):
    for suffix in ("b", "a"):
        requests.post(
            f"{api}/registered-models/create", json={"name": f"{name}-{suffix}"}, timeout=TIMEOUT
        ).raise_for_status()
    resp = requests.get(
        f"{api}/registered-models/search",
        params=[("filter", f"name LIKE '{name}-%'"), ("order_by", "name DESC"), ("max_results", "1")],
        timeout=TIMEOUT,
    )
    assert resp.status_code == 200
    body = resp.json()
    assert [m["name"] for m in body["registered_models"]] == [f"{name}-b"]
    token = body["next_page_token"]
    assert isinstance(token, str) and token

    resp = requests.get(
        f"{api}/registered-models/search",
        params=[
            ("filter", f"name LIKE '{name}-%'"),
            ("order_by", "name DESC"),
            ("max_results", "1"),
            ("page_token", token),
        ],
        timeout=TIMEOUT,
    )
    body = resp.json()
    assert [m["name"] for m in body["registered_models"]] == [f"{name}-a"]
    assert "next_page_token" not in body or not body["next_page_token"]


def test_ajax_api_prefix(server_url, name):
    ajax = f"{server_url}/ajax-api/2.0/mlflow"
    assert requests.post(f"{ajax}/registered-models/create", json={"name": name}, timeout=TIMEOUT).status_code == 200
    resp = requests.get(f"{ajax}/registered-models/get", params={"name": name}, timeout=TIMEOUT)
    assert resp.status_code == 200
    assert resp.json()["registered_model"]["name"] == name


def test_unknown_route_is_404(server_url):
    resp = requests.get(f"{server_url}/api/2.0/mlflow/no-such-endpoint", timeout=TIMEOUT)
    assert resp.status_code == 404


def test_health(server_url):
    assert requests.get(f"{server_url}/health", timeout=TIMEOUT).status_code == 200


def test_rename_returns_the_model(api, name):
    requests.post(f"{api}/registered-models/create", json={"name": name}, timeout=TIMEOUT).raise_for_status()
    requests.post(
        f"{api}/model-versions/create", json={"name": name, "source": s3_source()}, timeout=TIMEOUT
    ).raise_for_status()
    resp = requests.post(
        f"{api}/registered-models/rename", json={"name": name, "new_name": f"{name}-new"}, timeout=TIMEOUT
    )
    assert resp.status_code == 200
    rm = resp.json()["registered_model"]
    assert rm["name"] == f"{name}-new"
    assert [(v["name"], v["version"]) for v in rm["latest_versions"]] == [(f"{name}-new", "1")]


def test_version_without_run_id(api, name):
    requests.post(f"{api}/registered-models/create", json={"name": name}, timeout=TIMEOUT).raise_for_status()
    resp = requests.post(f"{api}/model-versions/create", json={"name": name, "source": "s3://b/m"}, timeout=TIMEOUT)
    mv = resp.json()["model_version"]
    # the real server answers "" for description, run_link and run_id
    assert mv.get("description", "") == ""
    assert mv.get("run_link", "") == ""
    assert mv.get("run_id", "") == ""


def test_unknown_request_fields_are_ignored(api, name):
    resp = requests.post(
        f"{api}/registered-models/create", json={"name": name, "no_such_field": 1}, timeout=TIMEOUT
    )
    assert resp.status_code == 200
    assert resp.json()["registered_model"]["name"] == name


def test_non_integer_max_results_is_http_400(api):
    resp = requests.get(f"{api}/registered-models/search", params={"max_results": "abc"}, timeout=TIMEOUT)
    _error(resp, 400, "INVALID_PARAMETER_VALUE")
    resp = requests.get(f"{api}/model-versions/search", params={"max_results": "0"}, timeout=TIMEOUT)
    _error(resp, 400, "INVALID_PARAMETER_VALUE")

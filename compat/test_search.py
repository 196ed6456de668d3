"""search_registered_models and search_model_versions.

The server is shared by all tests, so every search is scoped to names made
unique by the test (a uuid prefix).
"""

import uuid

import pytest

from _util import INVALID_PARAMETER_VALUE, raises_code, run_id, s3_source


def _names(models):
    return [m.name for m in models]


@pytest.fixture
def prefix():
    return f"srch{uuid.uuid4().hex[:10]}"


# --------------------------------------------------------------------------- registered models


def test_search_models_by_name(client, prefix):
    names = [f"{prefix}-alpha", f"{prefix}-beta", f"{prefix}-Gamma"]
    for n in names:
        client.create_registered_model(n)

    assert _names(client.search_registered_models(f"name = '{prefix}-beta'")) == [f"{prefix}-beta"]
    assert _names(client.search_registered_models(f"name = '{prefix}-BETA'")) == []
    assert sorted(_names(client.search_registered_models(f"name LIKE '{prefix}-%'"))) == sorted(names)
    got = client.search_registered_models(f"name LIKE '{prefix}-%a' AND name != '{prefix}-beta'")
    assert sorted(_names(got)) == [f"{prefix}-Gamma", f"{prefix}-alpha"]
    # LIKE is case-sensitive, ILIKE is not
    assert _names(client.search_registered_models(f"name LIKE '{prefix}-g%'")) == []
    assert _names(client.search_registered_models(f"name ILIKE '{prefix.upper()}-G%'")) == [f"{prefix}-Gamma"]
    # `_` is a single-character wildcard
    assert _names(client.search_registered_models(f"name LIKE '{prefix}-_eta'")) == [f"{prefix}-beta"]
    # IN lists
    got = client.search_registered_models(f"name IN ('{prefix}-alpha', '{prefix}-beta', '{prefix}-nope')")
    assert _names(got) == [f"{prefix}-alpha", f"{prefix}-beta"]


def test_search_models_default_order_is_name_asc(client, prefix):
    names = [f"{prefix}-{c}" for c in "dbeac"]
    for n in names:
        client.create_registered_model(n)
    assert _names(client.search_registered_models(f"name LIKE '{prefix}%'")) == sorted(names)


def test_search_models_order_by(client, prefix):
    names = [f"{prefix}-{c}" for c in "dbeac"]
    for n in names:
        client.create_registered_model(n)
    flt = f"name LIKE '{prefix}%'"
    assert _names(client.search_registered_models(flt, order_by=["name ASC"])) == sorted(names)
    assert _names(client.search_registered_models(flt, order_by=["name DESC"])) == sorted(names, reverse=True)
    assert _names(client.search_registered_models(flt, order_by=["name desc"])) == sorted(names, reverse=True)
    # last_updated_timestamp: touch "b" last
    client.update_registered_model(f"{prefix}-b", description="touched")
    got = _names(client.search_registered_models(flt, order_by=["last_updated_timestamp DESC"]))
    assert got[0] == f"{prefix}-b"
    assert sorted(got) == sorted(names)


def test_search_models_by_tag(client, prefix):
    client.create_registered_model(f"{prefix}-1", tags={"team": "fraud", "mlflow.note": "x"})
    client.create_registered_model(f"{prefix}-2", tags={"team": "growth"})
    client.create_registered_model(f"{prefix}-3")
    scope = f"name LIKE '{prefix}%'"
    assert _names(client.search_registered_models(f"{scope} AND tag.team = 'fraud'")) == [f"{prefix}-1"]
    assert _names(client.search_registered_models(f"{scope} AND tags.team = 'growth'")) == [f"{prefix}-2"]
    # a missing tag does not match `!=`
    assert _names(client.search_registered_models(f"{scope} AND tag.team != 'fraud'")) == [f"{prefix}-2"]
    assert _names(client.search_registered_models(f"{scope} AND tag.team LIKE 'gr%'")) == [f"{prefix}-2"]
    assert _names(client.search_registered_models(f"{scope} AND tag.team ILIKE 'FR%'")) == [f"{prefix}-1"]
    assert _names(client.search_registered_models(f"{scope} AND tag.`mlflow.note` = 'x'")) == [f"{prefix}-1"]
    assert _names(client.search_registered_models(f"{scope} AND tag.team = 'fraud' AND tag.team = 'growth'")) == []


def test_search_models_result_content(client, prefix):
    n = f"{prefix}-full"
    client.create_registered_model(n, tags={"k": "v"}, description="desc")
    client.create_model_version(n, s3_source())
    client.create_model_version(n, s3_source())
    client.transition_model_version_stage(n, "1", "Production")
    client.set_registered_model_alias(n, "champion", "1")
    (rm,) = client.search_registered_models(f"name = '{n}'")
    assert rm.name == n
    assert rm.description == "desc"
    assert rm.tags == {"k": "v"}
    assert rm.aliases == {"champion": "1"}
    assert sorted((mv.current_stage, mv.version) for mv in rm.latest_versions) == [("None", "2"), ("Production", "1")]


def test_search_models_pagination(client, prefix):
    names = sorted(f"{prefix}-{i:02d}" for i in range(25))
    for n in names:
        client.create_registered_model(n)
    flt = f"name LIKE '{prefix}-%'"

    seen = []
    token = None
    pages = 0
    while True:
        page = client.search_registered_models(flt, max_results=4, page_token=token)
        pages += 1
        assert len(page) <= 4
        seen.extend(_names(page))
        token = page.token
        if not token:
            break
        assert pages < 20, "pagination does not terminate"
    assert pages == 7
    assert seen == names  # no duplicates, no misses, name order kept across pages

    # descending order paginates too
    seen_desc = []
    token = None
    while True:
        page = client.search_registered_models(flt, max_results=10, order_by=["name DESC"], page_token=token)
        seen_desc.extend(_names(page))
        token = page.token
        if not token:
            break
    assert seen_desc == names[::-1]

    # an exact fit leaves no dangling empty page behind
    exact = client.search_registered_models(f"name LIKE '{prefix}-0%'", max_results=10)
    assert len(exact) == 10
    assert not exact.token


def test_search_models_no_match(client, prefix):
    got = client.search_registered_models(f"name = '{prefix}-none'")
    assert list(got) == []
    assert not got.token


def test_search_models_max_results_limit(client):
    with raises_code(INVALID_PARAMETER_VALUE):
        client.search_registered_models(max_results=1001)
    client.search_registered_models("name = 'does-not-matter'", max_results=1000)


@pytest.mark.parametrize(
    "bad",
    [
        "name = ",
        "name = 'a' OR name = 'b'",
        "nonsense = 'x'",
        "name ~ 'x'",
        "name LIKE",
        "name = 3",
        "tag.team = 3",
        "run_id = 'x'",
        "version_number = 1",
    ],
)
def test_search_models_bad_filter(client, bad):
    with raises_code(INVALID_PARAMETER_VALUE):
        client.search_registered_models(bad)


def test_search_models_bad_order_by(client):
    with raises_code(INVALID_PARAMETER_VALUE):
        client.search_registered_models(order_by=["bogus_key ASC"])


# --------------------------------------------------------------------------- model versions


def _mv_pairs(mvs):
    return sorted((mv.name, mv.version) for mv in mvs)


def test_search_versions_by_name(client, prefix):
    a, b = f"{prefix}-a", f"{prefix}-b"
    for n, count in ((a, 3), (b, 2)):
        client.create_registered_model(n)
        for _ in range(count):
            client.create_model_version(n, s3_source())
    assert _mv_pairs(client.search_model_versions(f"name = '{a}'")) == [(a, "1"), (a, "2"), (a, "3")]
    assert _mv_pairs(client.search_model_versions(f"name LIKE '{prefix}-%'")) == [
        (a, "1"),
        (a, "2"),
        (a, "3"),
        (b, "1"),
        (b, "2"),
    ]
    assert _mv_pairs(client.search_model_versions(f"name IN ('{b}')")) == [(b, "1"), (b, "2")]
    assert _mv_pairs(client.search_model_versions(f"name ILIKE '{prefix.upper()}-B'")) == [(b, "1"), (b, "2")]


def test_search_versions_result_content(client, prefix):
    n = f"{prefix}-content"
    client.create_registered_model(n)
    rid = run_id()
    src = f"runs:/{rid}/model"
    client.create_model_version(n, src, run_id=rid, tags={"k": "v"}, description="d", run_link="link")
    client.transition_model_version_stage(n, "1", "Staging")
    (mv,) = client.search_model_versions(f"name = '{n}'")
    assert mv.name == n
    assert mv.version == "1"
    assert mv.source == src
    assert mv.run_id == rid
    assert mv.tags == {"k": "v"}
    assert mv.description == "d"
    assert mv.run_link == "link"
    assert mv.current_stage == "Staging"
    assert mv.status == "READY"


def test_search_versions_by_version_number(client, prefix):
    n = f"{prefix}-vn"
    client.create_registered_model(n)
    for _ in range(5):
        client.create_model_version(n, s3_source())

    def versions(clause):
        return sorted(int(mv.version) for mv in client.search_model_versions(f"name = '{n}' AND {clause}"))

    assert versions("version_number = 3") == [3]
    assert versions("version_number != 3") == [1, 2, 4, 5]
    assert versions("version_number > 3") == [4, 5]
    assert versions("version_number >= 3") == [3, 4, 5]
    assert versions("version_number < 3") == [1, 2]
    assert versions("version_number <= 3") == [1, 2, 3]
    assert versions("version_number > 2 AND version_number < 5") == [3, 4]


def test_search_versions_by_run_id_source_and_tag(client, prefix):
    n = f"{prefix}-rid"
    client.create_registered_model(n)
    r1, r2 = run_id(), run_id()
    client.create_model_version(n, f"runs:/{r1}/model", run_id=r1, tags={"env": "prod"})
    client.create_model_version(n, f"runs:/{r2}/model", run_id=r2, tags={"env": "dev"})
    client.create_model_version(n, f"s3://other-bucket/{prefix}/model")

    def versions(flt):
        return sorted(mv.version for mv in client.search_model_versions(flt))

    assert versions(f"run_id = '{r1}'") == ["1"]
    assert versions(f"run_id IN ('{r1}', '{r2}')") == ["1", "2"]
    # version 3 has run_id "" (not NULL), so it matches `!=`
    assert versions(f"name = '{n}' AND run_id != '{r1}'") == ["2", "3"]
    assert versions(f"name = '{n}' AND run_id = ''") == ["3"]
    assert versions(f"name = '{n}' AND tag.env = 'prod'") == ["1"]
    assert versions(f"name = '{n}' AND tags.env != 'prod'") == ["2"]
    assert versions(f"name = '{n}' AND tag.env LIKE '%e%'") == ["2"]
    assert versions(f"name = '{n}' AND source_path = 's3://other-bucket/{prefix}/model'") == ["3"]
    assert versions(f"name = '{n}' AND source_path LIKE 'runs:/%'") == ["1", "2"]


def test_search_versions_excludes_deleted(client, prefix):
    n = f"{prefix}-del"
    client.create_registered_model(n)
    for _ in range(3):
        client.create_model_version(n, s3_source())
    client.delete_model_version(n, "2")
    assert sorted(mv.version for mv in client.search_model_versions(f"name = '{n}'")) == ["1", "3"]
    assert client.search_model_versions(f"name = '{n}' AND version_number = 2") == []


def test_search_versions_order_by(client, prefix):
    a, b = f"{prefix}-a", f"{prefix}-b"
    for n in (a, b):
        client.create_registered_model(n)
        for _ in range(3):
            client.create_model_version(n, s3_source())
    flt = f"name LIKE '{prefix}-%'"

    def order(*keys):
        return [(mv.name, mv.version) for mv in client.search_model_versions(flt, order_by=list(keys))]

    assert order("name ASC", "version_number ASC") == [(a, "1"), (a, "2"), (a, "3"), (b, "1"), (b, "2"), (b, "3")]
    assert order("name DESC", "version_number DESC") == [(b, "3"), (b, "2"), (b, "1"), (a, "3"), (a, "2"), (a, "1")]
    assert order("version_number DESC", "name ASC")[:2] == [(a, "3"), (b, "3")]

    # touching a version moves it to the front of the default order (last_updated_timestamp DESC)
    client.update_model_version(a, "1", description="touched")
    default = [(mv.name, mv.version) for mv in client.search_model_versions(flt)]
    assert default[0] == (a, "1")
    assert sorted(default) == sorted(order("name ASC", "version_number ASC"))


def test_search_versions_pagination(client, prefix):
    n = f"{prefix}-pages"
    client.create_registered_model(n)
    for _ in range(7):
        client.create_model_version(n, s3_source())
    seen = []
    token = None
    pages = 0
    while True:
        page = client.search_model_versions(
            f"name = '{n}'", max_results=3, order_by=["version_number ASC"], page_token=token
        )
        pages += 1
        seen.extend(int(mv.version) for mv in page)
        token = page.token
        if not token:
            break
        assert pages < 10, "pagination does not terminate"
    assert pages == 3
    assert seen == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize(
    "bad",
    [
        "name = ",
        "name = 'a' OR name = 'b'",
        "version_number = 'abc'",
        "version_number = 1.5",
        "version_number IN (1, 2)",
        "source_path IN ('a')",
        "current_stage = 'None'",
        "nonsense = 'x'",
    ],
)
def test_search_versions_bad_filter(client, bad):
    with raises_code(INVALID_PARAMETER_VALUE):
        client.search_model_versions(bad)


def test_prompts_are_hidden_from_model_search(client, api, prefix):
    import requests

    client.create_registered_model(f"{prefix}-model")
    # the client refuses the prompt tag on models, so go through the REST API
    for suffix, value in (("notprompt", "false"), ("prompt", "true")):
        resp = requests.post(
            f"{api}/registered-models/create",
            json={"name": f"{prefix}-{suffix}", "tags": [{"key": "mlflow.prompt.is_prompt", "value": value}]},
            timeout=30,
        )
        assert resp.status_code == 200

    # the client adds AND tag.`mlflow.prompt.is_prompt` != 'true' to the filter
    assert _names(client.search_registered_models(f"name LIKE '{prefix}-%'")) == [
        f"{prefix}-model",
        f"{prefix}-notprompt",
    ]
    # the server leaves prompts out by itself too, unless the filter asks for them
    resp = requests.get(f"{api}/registered-models/search", params={"filter": f"name LIKE '{prefix}-%'"}, timeout=30)
    assert [m["name"] for m in resp.json()["registered_models"]] == [f"{prefix}-model", f"{prefix}-notprompt"]
    resp = requests.get(
        f"{api}/registered-models/search",
        params={"filter": f"name LIKE '{prefix}-%' AND tag.`mlflow.prompt.is_prompt` = 'true'"},
        timeout=30,
    )
    assert [m["name"] for m in resp.json()["registered_models"]] == [f"{prefix}-prompt"]
    # the client's prompt guard reads the tags from registered-models/get
    with raises_code("RESOURCE_DOES_NOT_EXIST"):
        client.get_registered_model(f"{prefix}-prompt")

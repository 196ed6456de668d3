"""MLflow 3's prompt registry: `mlflow.genai` prompt functions and `MlflowClient` prompt methods.

A prompt is a registered model tagged `mlflow.prompt.is_prompt=true`; each prompt version is a
model version carrying its template in the tag `mlflow.prompt.text`. The client builds all of it
from the registry endpoints, so these tests check that the server keeps prompts and models apart
(searches, name clashes, version sources) exactly as `mlflow server` does.
"""

import json
import threading

import mlflow
import mlflow.pyfunc
import pytest
import requests
from mlflow.exceptions import MlflowException

from _util import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    raises_code,
    s3_source,
)

IS_PROMPT = "mlflow.prompt.is_prompt"
EXPERIMENT_IDS = "_mlflow_experiment_ids"
CHAT = [
    {"role": "system", "content": "You are a {{style}} assistant."},
    {"role": "user", "content": "Summarise: {{text}}"},
]


@pytest.fixture(autouse=True)
def _uris(server_url):
    # mlflow.genai.* reads the process-wide URIs, not a client's.
    mlflow.set_tracking_uri(server_url)
    mlflow.set_registry_uri(server_url)


def load(uri, **kwargs):
    # The client caches loaded prompts; these tests want what the server says now.
    return mlflow.genai.load_prompt(uri, cache_ttl_seconds=0, **kwargs)


def names_of(items):
    return [i.name for i in items]


def settle_experiment_links():
    """Wait for the client's background threads that tag each registered or loaded prompt with
    the active experiment's id (`_mlflow_experiment_ids`)."""
    for t in threading.enumerate():
        if t.name.startswith("link_prompt_to_experiment_thread"):
            t.join(timeout=30)


def user_tags(tags):
    """A prompt's tags without the experiment links the client adds on its own."""
    settle_experiment_links()
    return {k: v for k, v in tags.items() if k != EXPERIMENT_IDS}


def test_register_text_prompt_load_and_format(name):
    pv = mlflow.genai.register_prompt(
        name=name,
        template="Hello {{name}}, welcome to {{ place }}!",
        commit_message="first draft",
        tags={"team": "nlp"},
    )
    assert (pv.name, pv.version) == (name, 1)
    assert pv.is_text_prompt
    assert pv.commit_message == "first draft"
    assert pv.tags == {"team": "nlp"}
    assert pv.variables == {"name", "place"}

    loaded = load(f"prompts:/{name}/1")
    assert (loaded.name, loaded.version) == (name, 1)
    assert loaded.template == "Hello {{name}}, welcome to {{ place }}!"
    assert loaded.commit_message == "first draft"
    assert loaded.tags == {"team": "nlp"}
    assert loaded.format(name="Ada", place="Arca") == "Hello Ada, welcome to Arca!"
    with pytest.raises(MlflowException, match="Missing variables"):
        loaded.format(name="Ada")
    partial = loaded.format(name="Ada", allow_partial=True)
    assert partial.template == "Hello Ada, welcome to {{ place }}!"
    assert partial.format(place="Arca") == "Hello Ada, welcome to Arca!"

    by_name = load(name, version=1)
    assert by_name.template == loaded.template

    settle_experiment_links()
    assert user_tags(mlflow.genai.get_prompt_tags(name)) == {"team": "nlp"}


def test_second_version_is_a_chat_prompt(api, name):
    mlflow.genai.register_prompt(name=name, template="v1 {{text}}", commit_message="text")
    pv = mlflow.genai.register_prompt(
        name=name, template=CHAT, commit_message="as chat", tags={"format": "chat"}
    )
    assert pv.version == 2
    assert not pv.is_text_prompt

    loaded = load(f"prompts:/{name}/2")
    assert loaded.template == CHAT
    assert loaded.commit_message == "as chat"
    assert loaded.tags == {"format": "chat"}
    assert loaded.variables == {"style", "text"}
    assert loaded.format(style="terse", text="a long story") == [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "Summarise: a long story"},
    ]
    # The first version is untouched by the second.
    first = load(f"prompts:/{name}/1")
    assert first.is_text_prompt
    assert first.template == "v1 {{text}}"
    assert first.format(text="x") == "v1 x"

    # What the server stores: the template and its type as version tags.
    # (The client itself will not show a prompt version as a model version.)
    r = requests.get(f"{api}/model-versions/get", params={"name": name, "version": "2"})
    assert r.status_code == 200, r.text
    mv = r.json()["model_version"]
    tags = {t["key"]: t["value"] for t in mv["tags"]}
    assert mv["source"] == "dummy-source"
    assert (mv["description"], mv["run_id"], mv["status"]) == ("as chat", "", "READY")
    assert tags[IS_PROMPT] == "true"
    assert json.loads(tags["mlflow.prompt.text"]) == CHAT
    assert tags["_mlflow_prompt_type"] == "chat"
    with pytest.raises(MlflowException, match="not found"):
        mlflow.MlflowClient().get_model_version(name, "2")


def test_model_config_and_response_format(name):
    schema = {"type": "object", "properties": {"summary": {"type": "string"}}}
    pv = mlflow.genai.register_prompt(
        name=name,
        template="Summarise {{text}}",
        response_format=schema,
        model_config={"model_name": "gpt-x", "temperature": 0.2},
    )
    loaded = load(f"prompts:/{name}/1")
    assert loaded.response_format == schema
    assert loaded.model_config == {"model_name": "gpt-x", "temperature": 0.2}
    assert pv.model_config == loaded.model_config

    # Unlike the template, the model config of a version can change.
    mlflow.genai.set_prompt_model_config(name, 1, {"model_name": "gpt-y", "max_tokens": 64})
    assert load(f"prompts:/{name}/1").model_config == {"model_name": "gpt-y", "max_tokens": 64}
    mlflow.genai.delete_prompt_model_config(name, 1)
    assert load(f"prompts:/{name}/1").model_config is None
    assert load(f"prompts:/{name}/1").template == "Summarise {{text}}"

    # A name alone loads the newest version.
    mlflow.genai.register_prompt(name=name, template="Shorten {{text}}")
    assert load(name).version == 2
    assert load(f"prompts:/{name}@latest").template == "Shorten {{text}}"


def test_aliases_and_latest(name):
    for i in range(1, 4):
        mlflow.genai.register_prompt(name=name, template=f"version {i} {{{{x}}}}")
    mlflow.genai.set_prompt_alias(name, alias="production", version=2)

    prod = load(f"prompts:/{name}@production")
    assert prod.version == 2
    assert prod.template == "version 2 {{x}}"
    assert prod.aliases == ["production"]
    assert load(f"prompts:/{name}/2").aliases == ["production"]

    latest = load(f"prompts:/{name}@latest")
    assert latest.version == 3
    assert latest.template == "version 3 {{x}}"

    mlflow.genai.set_prompt_alias(name, alias="production", version=3)
    assert load(f"prompts:/{name}@production").version == 3

    mlflow.genai.delete_prompt_alias(name, alias="production")
    with raises_code(INVALID_PARAMETER_VALUE):
        load(f"prompts:/{name}@production")

    # `@latest` follows deletions, and is an error once no version is left.
    client = mlflow.MlflowClient()
    client.delete_prompt_version(name, 3)
    assert load(f"prompts:/{name}@latest").version == 2
    client.delete_prompt_version(name, 2)
    client.delete_prompt_version(name, 1)
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        load(f"prompts:/{name}@latest")


def test_latest_alias_over_rest(client, api, name):
    """The server resolves `latest` itself: the highest live version, whatever its stage."""
    client.create_registered_model(name)
    for _ in range(3):
        client.create_model_version(name, s3_source())
    client.transition_model_version_stage(name, "1", "Production")
    client.set_registered_model_alias(name, "champion", "3")
    for alias in ("latest", "LATEST", "Latest"):
        r = requests.get(f"{api}/registered-models/alias", params={"name": name, "alias": alias})
        assert r.status_code == 200, r.text
        assert r.json()["model_version"]["version"] == "3"
        assert r.json()["model_version"]["aliases"] == ["champion"]
    client.delete_model_version(name, "3")
    assert client.get_model_version_by_alias(name, "latest").version == "2"

    def latest_error(model):
        r = requests.get(f"{api}/registered-models/alias", params={"name": model, "alias": "latest"})
        assert r.status_code == 404, r.text
        assert r.json()["error_code"] == RESOURCE_DOES_NOT_EXIST
        return r.json()["message"]

    assert latest_error(f"{name}-none") == f"Registered Model with name={name}-none not found"
    client.delete_model_version(name, "2")
    client.delete_model_version(name, "1")
    assert latest_error(name) == f"Latest version not found for model {name}."


def test_search_prompts_and_models_stay_apart(client, name):
    model = f"{name}-model"
    prompts = [f"{name}-a", f"{name}-b", f"{name}-c"]
    client.create_registered_model(model)
    client.create_model_version(model, s3_source())
    for i, p in enumerate(prompts):
        mlflow.genai.register_prompt(name=p, template=f"t{i} {{{{q}}}}", tags={"team": "x" if i < 2 else "y"})

    found = mlflow.genai.search_prompts(filter_string=f"name LIKE '{name}%'")
    assert sorted(names_of(found)) == prompts
    assert all(IS_PROMPT not in p.tags for p in found)
    found = mlflow.genai.search_prompts(filter_string=f"name LIKE '{name}%' AND tags.team = 'x'")
    assert sorted(names_of(found)) == prompts[:2]
    assert names_of(mlflow.genai.search_prompts(filter_string=f"name = '{prompts[2]}'")) == [prompts[2]]
    assert names_of(mlflow.genai.search_prompts(filter_string=f"name = '{model}'")) == []

    # Pages of one, in the order asked for, each prompt exactly once.
    seen, token = [], None
    while True:
        page = client.search_prompts(
            filter_string=f"name LIKE '{name}%'", max_results=1, page_token=token
        )
        seen += names_of(page)
        token = page.token
        if not token:
            break
    assert sorted(seen) == prompts

    assert names_of(client.search_registered_models(filter_string=f"name LIKE '{name}%'")) == [model]
    assert names_of(client.search_registered_models(filter_string=f"name = '{prompts[0]}'")) == []
    assert names_of(client.search_model_versions(filter_string=f"name LIKE '{name}%'")) == [model]
    assert names_of(client.search_model_versions(f"name = '{prompts[0]}'")) == []


def test_search_prompts_by_experiment(client, name, new_name):
    """`experiment_id = '<id>'` is the client's shorthand for a LIKE on the experiment links it
    writes as a prompt tag when a prompt is registered or loaded under an active experiment."""
    other = new_name("other")
    first, second = (client.create_experiment(new_name("exp")) for _ in range(2))
    previous = mlflow.tracking.fluent._get_experiment_id()
    try:
        mlflow.set_experiment(experiment_id=first)
        mlflow.genai.register_prompt(name=other, template="x")
        mlflow.set_experiment(experiment_id=second)
        mlflow.genai.register_prompt(name=name, template="x")
        settle_experiment_links()
        load(f"prompts:/{other}/1")
    finally:
        mlflow.set_experiment(experiment_id=previous)
    settle_experiment_links()
    found = mlflow.genai.search_prompts(filter_string=f"experiment_id = '{first}'")
    assert names_of(found) == [other]
    assert found[0].tags[EXPERIMENT_IDS] == f",{first},{second},"
    found = mlflow.genai.search_prompts(filter_string=f"experiment_id = '{second}' AND name LIKE 't%'")
    assert sorted(names_of(found)) == [name]
    found = mlflow.genai.search_prompts(filter_string=f"experiment_id = '{second}'")
    assert sorted(names_of(found)) == sorted([name, other])


def test_server_leaves_prompts_out_of_searches_unless_asked(api, name):
    """Without the client's own prompt clause, the server still keeps prompts out of model and
    version searches; a filter on the prompt tag decides which side it returns."""
    model, prompt = f"{name}-model", f"{name}-prompt"
    mlflow.MlflowClient().create_registered_model(model, tags={"team": "x"})
    mlflow.MlflowClient().create_model_version(model, s3_source())
    mlflow.genai.register_prompt(name=prompt, template="hi", tags={"team": "x"})

    def models(filter_string):
        r = requests.get(f"{api}/registered-models/search", params={"filter": filter_string})
        assert r.status_code == 200, r.text
        return sorted(m["name"] for m in r.json().get("registered_models", []))

    def versions(filter_string):
        r = requests.get(f"{api}/model-versions/search", params={"filter": filter_string})
        assert r.status_code == 200, r.text
        return sorted(m["name"] for m in r.json().get("model_versions", []))

    mine = f"name LIKE '{name}%'"
    for search in (models, versions):
        assert search(mine) == [model]
        assert search(f"{mine} AND tags.team = 'x'") == ([model] if search is models else [])
        assert search(f"{mine} AND tags.`{IS_PROMPT}` = 'true'") == [prompt]
        assert search(f"{mine} AND tags.`{IS_PROMPT}` = 'TRUE'") == []
        assert search(f"{mine} AND tags.`{IS_PROMPT}` != 'false'") == [prompt]
        # Any other condition on the prompt tag is dropped: it selects the models.
        assert search(f"{mine} AND tags.`{IS_PROMPT}` != 'true'") == [model]
        assert search(f"{mine} AND tags.`{IS_PROMPT}` = 'false'") == [model]
        assert search(f"{mine} AND tags.`{IS_PROMPT}` LIKE '%'") == [model]


def test_prompt_and_version_tags(name):
    client = mlflow.MlflowClient()
    mlflow.genai.register_prompt(name=name, template="x", tags={"team": "nlp"})
    client.set_prompt_tag(name, "owner", "ada")
    mlflow.genai.set_prompt_tag(name, "stage", "beta")
    prompt = client.get_prompt(name)
    assert prompt.name == name
    assert prompt.tags["owner"] == "ada"
    assert prompt.tags["team"] == "nlp"
    assert IS_PROMPT not in prompt.tags

    assert prompt.tags["stage"] == "beta"

    client.delete_prompt_tag(name, "owner")
    mlflow.genai.delete_prompt_tag(name, "stage")
    assert user_tags(client.get_prompt(name).tags) == {"team": "nlp"}

    client.set_prompt_version_tag(name, 1, "reviewed", "yes")
    assert client.get_prompt_version(name, 1).tags == {"team": "nlp", "reviewed": "yes"}
    client.delete_prompt_version_tag(name, 1, "reviewed")
    mlflow.genai.set_prompt_version_tag(name, 1, "lang", "en")
    assert client.get_prompt_version(name, 1).tags == {"team": "nlp", "lang": "en"}
    mlflow.genai.delete_prompt_version_tag(name, 1, "lang")
    assert client.get_prompt_version(name, 1).tags == {"team": "nlp"}
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.set_prompt_version_tag(name, 9, "k", "v")


def test_client_prompt_version_methods(name, new_name):
    client = mlflow.MlflowClient()
    for i in range(1, 4):
        mlflow.genai.register_prompt(name=name, template=f"v{i}", commit_message=f"c{i}")

    pv = client.get_prompt_version(name, 2)
    assert (pv.version, pv.template, pv.commit_message) == (2, "v2", "c2")

    versions = client.search_prompt_versions(name)
    assert [v.version for v in versions] == [3, 2, 1]
    assert [v.template for v in versions] == ["v3", "v2", "v1"]
    first_page = client.search_prompt_versions(name, max_results=2)
    assert [v.version for v in first_page] == [3, 2]
    assert first_page.token
    rest = client.search_prompt_versions(name, max_results=2, page_token=first_page.token)
    assert [v.version for v in rest] == [1]

    client.delete_prompt_version(name, 2)
    assert [v.version for v in client.search_prompt_versions(name)] == [3, 1]
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.get_prompt_version(name, 2)
    # Numbers are never reused.
    assert mlflow.genai.register_prompt(name=name, template="v4").version == 4

    client.delete_prompt_version(name, 1)
    client.delete_prompt_version(name, 3)
    client.delete_prompt_version(name, 4)
    client.delete_prompt(name)
    assert client.get_prompt(name) is None
    assert client.get_prompt(new_name("never")) is None
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        client.get_registered_model(name)


def test_prompt_and_model_names_clash(client, api, name, new_name):
    client.create_registered_model(name)
    with pytest.raises(MlflowException, match="exists with the same name"):
        mlflow.genai.register_prompt(name=name, template="x")
    with pytest.raises(MlflowException, match="not a prompt"):
        client.get_prompt_version(name, 1)
    prompt = new_name("prompt")
    mlflow.genai.register_prompt(name=prompt, template="x")
    with raises_code(RESOURCE_ALREADY_EXISTS):
        client.create_registered_model(prompt)
    with raises_code(RESOURCE_ALREADY_EXISTS):
        client.create_prompt(prompt)

    # The server says which kind holds the name. (The client rewrites "registered model" to
    # "prompt" in errors of its prompt methods, so this is checked on the wire.)
    def create(model, tags=()):
        r = requests.post(
            f"{api}/registered-models/create",
            json={"name": model, "tags": [{"key": k, "value": v} for k, v in tags]},
        )
        assert r.status_code == 400, r.text
        assert r.json()["error_code"] == RESOURCE_ALREADY_EXISTS
        return r.json()["message"]

    clash = "MLflow does not allow creating a model and a prompt with the same name."
    assert create(prompt) == (
        f"Tried to create a registered model with name '{prompt}', but the name is already "
        f"taken by a prompt. {clash}"
    )
    assert create(name, [(IS_PROMPT, "true")]) == (
        f"Tried to create a prompt with name '{name}', but the name is already taken by a "
        f"registered model. {clash}"
    )
    assert create(prompt, [(IS_PROMPT, "true")]) == f"Prompt (name={prompt}) already exists."
    assert create(name, [("team", "x")]) == f"Registered Model (name={name}) already exists."
    # Here the tag's presence counts, whatever its value.
    assert create(prompt, [(IS_PROMPT, "false")]) == f"Prompt (name={prompt}) already exists."


def test_prompt_version_sources(api, name, new_name):
    """A prompt version's source is one of MLflow's placeholders; a model version cannot be made
    from a prompt version."""
    mlflow.genai.register_prompt(name=name, template="x")
    prompt_tags = [{"key": IS_PROMPT, "value": "true"}, {"key": "mlflow.prompt.text", "value": "y"}]

    def create(body):
        return requests.post(f"{api}/model-versions/create", json=body)

    for source in ("prompt-template", "dummy-source"):
        r = create({"name": name, "source": source, "tags": prompt_tags})
        assert r.status_code == 200, r.text
    for source in ("s3://bucket/prompt", "models:/x/1", "/tmp/prompt"):
        r = create({"name": name, "source": source, "tags": prompt_tags})
        assert r.status_code == 400, r.text
        assert r.json()["error_code"] == INVALID_PARAMETER_VALUE
        assert r.json()["message"] == (
            f"Invalid prompt source: '{source}'. Prompt sources must use an MLflow placeholder."
        )
    # The tag's value decides, case-insensitively, and the last one given wins.
    tags = [{"key": IS_PROMPT, "value": "false"}, {"key": IS_PROMPT, "value": "TRUE"}]
    r = create({"name": name, "source": "s3://bucket/prompt", "tags": tags})
    assert (r.status_code, r.json()["error_code"]) == (400, INVALID_PARAMETER_VALUE)
    tags = [{"key": IS_PROMPT, "value": "true"}, {"key": IS_PROMPT, "value": "no"}]
    r = create({"name": name, "source": "dummy-source", "tags": tags})
    assert (r.status_code, r.json()["error_code"]) == (400, INVALID_PARAMETER_VALUE)

    model = new_name("model")
    mlflow.MlflowClient().create_registered_model(model)
    r = create({"name": model, "source": f"models:/{name}/1"})
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == INVALID_PARAMETER_VALUE
    assert r.json()["message"] == (
        f"Invalid model version source: 'models:/{name}/1'. Prompt versions cannot be used as "
        "model version sources."
    )


def test_template_length_limit(api, name):
    mlflow.genai.register_prompt(name=name, template="x" * 100_000)
    assert len(load(f"prompts:/{name}/1").template) == 100_000
    with pytest.raises(MlflowException, match="Prompt text exceeds max length of 100000 characters"):
        mlflow.genai.register_prompt(name=name, template="x" * 100_001)
    r = requests.post(
        f"{api}/model-versions/set-tag",
        json={"name": name, "version": "1", "key": "mlflow.prompt.text", "value": "y" * 100_001},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == INVALID_PARAMETER_VALUE
    assert r.json()["message"] == "Prompt text exceeds max length of 100000 characters."
    assert [v.version for v in mlflow.MlflowClient().search_prompt_versions(name)] == [1]


def test_link_prompts_to_run_and_logged_model(client, name):
    mlflow.genai.register_prompt(name=name, template="Hi {{who}}")
    mlflow.genai.register_prompt(name=name, template="Hello {{who}}")

    with mlflow.start_run() as run:
        load(f"prompts:/{name}/1")
    linked = json.loads(client.get_run(run.info.run_id).data.tags["mlflow.linkedPrompts"])
    assert linked == [{"name": name, "version": "1"}]

    client.link_prompt_version_to_run(run.info.run_id, f"prompts:/{name}/2")
    linked = json.loads(client.get_run(run.info.run_id).data.tags["mlflow.linkedPrompts"])
    assert sorted(linked, key=lambda p: p["version"]) == [
        {"name": name, "version": "1"},
        {"name": name, "version": "2"},
    ]

    model = client.create_logged_model(experiment_id=run.info.experiment_id, name="agent")
    client.link_prompt_version_to_model(name, "2", model.model_id)
    linked = json.loads(client.get_logged_model(model.model_id).tags["mlflow.linkedPrompts"])
    assert linked == [{"name": name, "version": "2"}]


def test_missing_prompts(client, name):
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        load(f"prompts:/{name}/1")
    assert load(f"prompts:/{name}/1", allow_missing=True) is None
    mlflow.genai.register_prompt(name=name, template="x")
    with raises_code(RESOURCE_DOES_NOT_EXIST):
        load(f"prompts:/{name}/7")
    with raises_code(INVALID_PARAMETER_VALUE):
        load(f"prompts:/{name}@nosuch")


class _Greeter(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: list[str]) -> list[str]:
        return ["hi"] * len(model_input)


def test_log_model_links_its_prompts(client, name):
    """log_model(prompts=[...]) links each prompt to the run and to the logged model, and the
    prompts come back with the model."""
    mlflow.genai.register_prompt(name=name, template="Hi {{who}}")
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(
            name="agent",
            python_model=_Greeter(),
            prompts=[f"prompts:/{name}/1"],
            pip_requirements=[],
        )
    run_tag = client.get_run(run.info.run_id).data.tags["mlflow.linkedPrompts"]
    assert json.loads(run_tag) == [{"name": name, "version": "1"}]
    model_tag = client.get_logged_model(info.model_id).tags["mlflow.linkedPrompts"]
    assert json.loads(model_tag) == [{"name": name, "version": "1"}]
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    assert loaded.predict(["a", "b"]) == ["hi", "hi"]

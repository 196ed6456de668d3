"""The request sequences of the differential test, generated from tables of the inputs users
really send: valid ones, and missing, empty, mistyped, unknown, oversized and oddly spelled ones.

Every case id is stable (it names what the case sends, never a random part), so the allow-list
in `differential_allowlist.py` can name cases. Names are unique per run: each case gets its own
token, the same on both servers.
"""

from __future__ import annotations

import uuid

from differential import MISSING, Case, Fmt, Step, Var

HEX_RUN = "0123456789abcdef0123456789abcdef"


def _token() -> str:
    return uuid.uuid4().hex[:8]


# ----------------------------------------------------------------------------- building blocks


def create_model(name, **fields) -> Step:
    return Step("POST", "registered-models/create", {"name": name, **fields})


def create_version(name, source="s3://bucket/model", **fields) -> Step:
    return Step("POST", "model-versions/create", {"name": name, "source": source, **fields})


def create_experiment(name) -> Step:
    return Step("POST", "experiments/create", {"name": name}, save={"exp_id": "experiment_id"})


def create_run(exp=Var("exp_id")) -> Step:
    return Step(
        "POST", "runs/create", {"experiment_id": exp, "start_time": 1700000000000, "run_name": "run"},
        save={"run_id": "run.info.run_id"},
    )


def model_with_version(name) -> list[Step]:
    return [create_model(name), create_version(name)]


def experiment_with_run(name) -> list[Step]:
    return [create_experiment(name), create_run()]


# Values that stand where a string belongs.
WRONG_TYPES = {"int": 123, "float": 1.5, "bool": True, "list": ["x"], "object": {"a": 1}, "null": None}

# Model names: (id, name given the case token)
MODEL_NAMES = {
    "plain": lambda t: f"m-{t}",
    "unicode": lambda t: f"модель-数据-{t}",
    "emoji": lambda t: f"model-🚀-{t}",
    "space": lambda t: f"my model {t}",
    "quote": lambda t: f"it's-{t}",
    "double-quote": lambda t: f'say-"hi"-{t}',
    "percent": lambda t: f"100%-{t}",
    "percent-encoded": lambda t: f"a%2Fb-{t}",
    "slash": lambda t: f"team/model-{t}",
    "colon": lambda t: f"team:model-{t}",
    "backslash": lambda t: f"team\\model-{t}",
    "dot": lambda t: f"model.v1.{t}",
    "dotdot": lambda t: f"..-{t}",
    "underscore-wildcard": lambda t: f"m_{t}",
    "leading-space": lambda t: f" m-{t}",
    "trailing-space": lambda t: f"m-{t} ",
    "tab": lambda t: f"m\t{t}",
    "newline": lambda t: f"m\n{t}",
    "long-250": lambda t: ("n" * 242) + t,
    "long-256": lambda t: ("n" * 248) + t,
    "long-1000": lambda t: ("n" * 992) + t,
    "long-20000": lambda t: ("n" * 19992) + t,
    "html": lambda t: f"<script>alert(1)</script>-{t}",
    "sql": lambda t: f"x' OR '1'='1-{t}",
}

VERSIONS = {
    "valid": "1",
    "unknown": "7",
    "zero": "0",
    "negative": "-1",
    "alpha": "abc",
    "decimal": "1.5",
    "leading-zero": "01",
    "spaces": " 1 ",
    "plus": "+1",
    "huge": "99999999999999999999",
    "empty": "",
    "missing": MISSING,
}

STAGES = ["None", "Staging", "Production", "Archived", "staging", "PRODUCTION", "none", "Bogus",
          "Deleted_Internal", ""]

RM_FILTERS = [
    "name = '{n}'",
    "name='{n}'",
    "name LIKE '{n}%'",
    "name ILIKE '{N}%'",
    "name != 'x' AND name LIKE '{n}%'",
    "name IN ('{n}', 'other')",
    "name NOT IN ('x') AND name LIKE '{n}%'",
    "tags.team = 'risk' AND name LIKE '{n}%'",
    "tag.team = 'risk' AND name LIKE '{n}%'",
    "tags.`team` = 'risk' AND name LIKE '{n}%'",
    "tags.team LIKE 'r%' AND name LIKE '{n}%'",
    "tags.`mlflow.prompt.is_prompt` != 'true' AND name LIKE '{n}%'",
    "name = \"{n}\"",
    "name = {n}",
    "name",
    "name =",
    "= 'x'",
    "name == '{n}'",
    "name = 'x' OR name = 'y'",
    "(name = '{n}')",
    "name IS NULL",
    "foo = 'x'",
    "version_number = 1",
    "name LIKE '{n}%' AND",
    "name LIKE '{n}%' and tags.team = 'risk'",
    "name > 'a'",
    "name = 'unterminated",
    "tags. = 'x'",
    "name IN ()",
    "name IN 'x'",
    "creation_timestamp > 0",
    "name RLIKE 'x'",
]

MV_FILTERS = [
    "name = '{n}'",
    "name LIKE '{n}%'",
    "name = '{n}' AND version_number = 1",
    "name = '{n}' AND version_number > 0",
    "name = '{n}' AND version_number >= 1",
    "name = '{n}' AND version_number != 2",
    "name = '{n}' AND version_number = 1.5",
    "name = '{n}' AND version_number = '1'",
    "name = '{n}' AND version_number = abc",
    "name = '{n}' AND run_id = 'abc'",
    "name = '{n}' AND run_id IN ('abc', 'def')",
    "name = '{n}' AND source_path = 's3://bucket/model'",
    "name = '{n}' AND source_path LIKE 's3://%'",
    "name = '{n}' AND tags.k = 'v'",
    "name = '{n}' AND tag.k = 'v'",
    "name = '{n}' AND current_stage = 'None'",
    "name = '{n}' AND creation_timestamp > 0",
    "name = '{n}' AND foo = 'x'",
    "name = '{n}' OR version_number = 1",
    "name = '{n}' AND version_number IN (1, 2)",
    "name = '{n}' AND",
    "run_id = ",
    "name ILIKE '{N}'",
]

RM_ORDER_BY = [
    ["name"], ["name ASC"], ["name DESC"], ["name asc"], ["timestamp DESC"],
    ["last_updated_timestamp"], ["last_updated_timestamp DESC", "name"], ["creation_timestamp"],
    ["`name` DESC"], ["bogus"], ["name sideways"], ["name", "name"], [""], ["name ASC DESC"],
]

MV_ORDER_BY = [
    ["version_number"], ["version_number DESC"], ["name ASC", "version_number DESC"],
    ["creation_timestamp DESC"], ["last_updated_timestamp"], ["run_id"], ["source_path"],
    ["bogus DESC"], ["version_number", "version_number"], ["timestamp"],
]

MAX_RESULTS = {"0": 0, "neg": -1, "one": 1, "1000": 1000, "1001": 1001, "200000": 200000,
               "200001": 200001, "alpha": "abc", "decimal": "1.5", "empty": ""}

PAGE_TOKENS = {
    "garbage": "not a valid token!",
    "base64-not-json": "bm90IGpzb24=",
    "json-no-offset": "eyJhIjogMX0=",
    "negative-offset": "eyJvZmZzZXQiOiAtMX0=",
    "string-offset": "eyJvZmZzZXQiOiAiYWJjIn0=",
    "empty": "",
}

SOURCES = {
    "s3": "s3://bucket/path/model",
    "s3-no-key": "s3://bucket",
    "gs": "gs://bucket/model",
    "wasbs": "wasbs://container@account.blob.core.windows.net/model",
    "abfss": "abfss://container@account.dfs.core.windows.net/model",
    "hdfs": "hdfs://namenode:8020/model",
    "dbfs": "dbfs:/models/m",
    "http": "http://example.com/model.tar.gz",
    "https": "https://example.com/model",
    "ftp": "ftp://example.com/model",
    "mlflow-artifacts": "mlflow-artifacts:/0/abc/artifacts/model",
    "mlflow-artifacts-host": "mlflow-artifacts://host:5000/0/abc/artifacts/model",
    "runs-hex": f"runs:/{HEX_RUN}/model",
    "runs-short-id": "runs:/abc/model",
    "runs-word-id": "runs:/run_id/model",
    "runs-dash-id": "runs:/my-run-1/model",
    "runs-no-path": f"runs:/{HEX_RUN}",
    "runs-dotdot": f"runs:/{HEX_RUN}/../../etc",
    "runs-dotdot-id": "runs:/../model",
    "runs-encoded-dotdot": f"runs:/{HEX_RUN}/%2e%2e/x",
    "models-name": "models:/other/1",
    "models-logged": "models:/m-0123456789abcdef0123456789abcdef",
    "file": "file:///etc/passwd",
    "file-relative": "file:model",
    "absolute": "/etc/passwd",
    "relative": "model/dir",
    "dot": ".",
    "dotdot": "../model",
    "windows": "C:\\models\\m",
    "s3-dotdot": "s3://bucket/a/../../b",
    "empty": "",
    "unicode": "s3://bucket/модель",
    "space": "s3://bucket/my model",
    "query": "s3://bucket/model?x=1#frag",
    "long": "s3://bucket/" + "k" * 5000,
}

ALIASES = {
    "plain": "champion", "upper": "Champion", "digits": "v1", "v-word": "vx", "v-digits-word": "v1x",
    "latest": "latest", "LATEST": "LATEST", "dash": "my-alias", "underscore": "my_alias",
    "space": "my alias", "slash": "a/b", "unicode": "чемпион", "empty": "", "long-255": "a" * 255,
    "long-256": "a" * 256, "dot": "a.b", "numeric": "123",
}

TAG_KEYS = {
    "plain": "team", "dotted": "mlflow.note", "slash": "a/b", "space": "a b", "unicode": "ключ",
    "empty": "", "long-250": "k" * 250, "long-251": "k" * 251, "long-1000": "k" * 1000,
    "dotdot": "../x", "leading-slash": "/x",
}

TAG_VALUES = {
    "plain": "risk", "empty": "", "long-5000": "v" * 5000, "long-5001": "v" * 5001,
    "long-8000": "v" * 8000, "long-100000": "v" * 100000, "unicode": "значение", "newline": "a\nb",
}


# ----------------------------------------------------------------------------- the cases


def registry_cases() -> list[Case]:
    cases: list[Case] = []

    def add(case_id: str, steps: list[Step]) -> None:
        cases.append(Case(case_id, steps))

    # create / get / delete by name spelling
    for kind, make in MODEL_NAMES.items():
        n = make(_token())
        search = [] if "'" in n else [Step("GET", "registered-models/search", {"filter": f"name = '{n}'"})]
        add(f"rm-name/{kind}", [
            create_model(n), Step("GET", "registered-models/get", {"name": n}), *search,
            create_version(n),
            Step("GET", "model-versions/get", {"name": n, "version": "1"}),
            Step("DELETE", "registered-models/delete", {"name": n}),
            Step("GET", "registered-models/get", {"name": n}),
        ])
    add("rm-create/missing-name", [Step("POST", "registered-models/create", {})])
    add("rm-create/empty-name", [create_model("")])
    for kind, value in WRONG_TYPES.items():
        add(f"rm-create/name-{kind}", [Step("POST", "registered-models/create", {"name": value})])
    n = f"dup-{_token()}"
    add("rm-create/duplicate", [create_model(n), create_model(n)])
    n = f"dup-{_token()}"
    add("rm-create/duplicate-case", [create_model(n), create_model(n.upper())])
    add("rm-create/unknown-field", [create_model(f"m-{_token()}", bogus_field=1)])
    add("rm-create/with-description", [create_model(f"m-{_token()}", description="A **model**")])
    for kind, value in WRONG_TYPES.items():
        if value is not None:
            add(f"rm-create/description-{kind}", [create_model(f"m-{_token()}", description=value)])
    add("rm-create/description-long", [create_model(f"m-{_token()}", description="d" * 100000)])
    for kind, key in TAG_KEYS.items():
        n = f"m-{_token()}"
        add(f"rm-create/tag-key-{kind}", [create_model(n, tags=[{"key": key, "value": "v"}]),
                                          Step("GET", "registered-models/get", {"name": n})])
    for kind, value in TAG_VALUES.items():
        n = f"m-{_token()}"
        add(f"rm-create/tag-value-{kind}", [create_model(n, tags=[{"key": "k", "value": value}]),
                                            Step("GET", "registered-models/get", {"name": n})])
    add("rm-create/tags-not-a-list", [create_model(f"m-{_token()}", tags={"key": "k", "value": "v"})])
    add("rm-create/tag-missing-value", [create_model(f"m-{_token()}", tags=[{"key": "k"}])])
    add("rm-create/tag-missing-key", [create_model(f"m-{_token()}", tags=[{"value": "v"}])])
    add("rm-create/tag-value-int", [create_model(f"m-{_token()}", tags=[{"key": "k", "value": 5}])])
    n = f"m-{_token()}"
    add("rm-create/duplicate-tag-keys", [
        create_model(n, tags=[{"key": "k", "value": "a"}, {"key": "k", "value": "b"}]),
        Step("GET", "registered-models/get", {"name": n}),
    ])

    # every name-taking registry endpoint: unknown, missing and empty names
    name_endpoints = {
        "get": ("GET", "registered-models/get", {}),
        "update": ("PATCH", "registered-models/update", {"description": "d"}),
        "delete": ("DELETE", "registered-models/delete", {}),
        "rename": ("POST", "registered-models/rename", {"new_name": "renamed-x"}),
        "latest": ("POST", "registered-models/get-latest-versions", {}),
        "latest-get": ("GET", "registered-models/get-latest-versions", {}),
        "set-tag": ("POST", "registered-models/set-tag", {"key": "k", "value": "v"}),
        "delete-tag": ("DELETE", "registered-models/delete-tag", {"key": "k"}),
        "alias-set": ("POST", "registered-models/alias", {"alias": "a", "version": "1"}),
        "alias-get": ("GET", "registered-models/alias", {"alias": "a"}),
        "alias-delete": ("DELETE", "registered-models/alias", {"alias": "a"}),
        "mv-create": ("POST", "model-versions/create", {"source": "s3://b/m"}),
        "mv-get": ("GET", "model-versions/get", {"version": "1"}),
        "mv-update": ("PATCH", "model-versions/update", {"version": "1", "description": "d"}),
        "mv-delete": ("DELETE", "model-versions/delete", {"version": "1"}),
        "mv-transition": ("POST", "model-versions/transition-stage",
                          {"version": "1", "stage": "Staging", "archive_existing_versions": False}),
        "mv-uri": ("GET", "model-versions/get-download-uri", {"version": "1"}),
        "mv-set-tag": ("POST", "model-versions/set-tag", {"version": "1", "key": "k", "value": "v"}),
        "mv-delete-tag": ("DELETE", "model-versions/delete-tag", {"version": "1", "key": "k"}),
    }
    for ep, (method, path, rest) in name_endpoints.items():
        add(f"name/{ep}/unknown", [Step(method, path, {"name": f"nosuch-{_token()}", **rest})])
        add(f"name/{ep}/missing", [Step(method, path, dict(rest))])
        add(f"name/{ep}/empty", [Step(method, path, {"name": "", **rest})])
        if method != "GET":
            add(f"name/{ep}/int", [Step(method, path, {"name": 5, **rest})])

    # version numbers on every version endpoint
    version_endpoints = {
        "get": ("GET", "model-versions/get", {}),
        "update": ("PATCH", "model-versions/update", {"description": "new"}),
        "transition": ("POST", "model-versions/transition-stage",
                       {"stage": "Staging", "archive_existing_versions": False}),
        "uri": ("GET", "model-versions/get-download-uri", {}),
        "set-tag": ("POST", "model-versions/set-tag", {"key": "k", "value": "v"}),
        "delete-tag": ("DELETE", "model-versions/delete-tag", {"key": "k"}),
        "alias-set": ("POST", "registered-models/alias", {"alias": "champion"}),
        "delete": ("DELETE", "model-versions/delete", {}),
    }
    for ep, (method, path, rest) in version_endpoints.items():
        for kind, version in VERSIONS.items():
            n = f"mv-{_token()}"
            add(f"version/{ep}/{kind}", [
                *model_with_version(n),
                Step(method, path, {"name": n, "version": version, **rest}),
                Step("GET", "model-versions/get", {"name": n, "version": "1"}),
            ])
        if method != "GET":
            for kind in ("int", "float", "list"):
                n = f"mv-{_token()}"
                add(f"version/{ep}/json-{kind}", [
                    *model_with_version(n),
                    Step(method, path, {"name": n, "version": {"int": 1, "float": 1.0, "list": ["1"]}[kind], **rest}),
                ])

    # stages
    for stage in STAGES:
        for archive in (False, True):
            n = f"st-{_token()}"
            add(f"stage/{stage or 'empty'}/archive-{str(archive).lower()}", [
                *model_with_version(n), create_version(n),
                Step("POST", "model-versions/transition-stage",
                     {"name": n, "version": "1", "stage": stage, "archive_existing_versions": archive}),
                Step("POST", "model-versions/transition-stage",
                     {"name": n, "version": "2", "stage": stage, "archive_existing_versions": archive}),
                Step("POST", "registered-models/get-latest-versions", {"name": n}),
                Step("GET", "registered-models/get", {"name": n}),
            ])
    n = f"st-{_token()}"
    add("stage/missing", [*model_with_version(n),
                          Step("POST", "model-versions/transition-stage", {"name": n, "version": "1"})])
    n = f"st-{_token()}"
    add("stage/int", [*model_with_version(n),
                      Step("POST", "model-versions/transition-stage", {"name": n, "version": "1", "stage": 2})])
    n = f"st-{_token()}"
    add("stage/archive-string", [*model_with_version(n), Step(
        "POST", "model-versions/transition-stage",
        {"name": n, "version": "1", "stage": "Staging", "archive_existing_versions": "yes"})])
    for stages_kind, stages in {"one": ["Staging"], "two": ["None", "Staging"], "lower": ["production"],
                                "bogus": ["Bogus"], "empty": [], "scalar": "Staging"}.items():
        n = f"lv-{_token()}"
        add(f"latest/stages-{stages_kind}", [
            *model_with_version(n),
            Step("POST", "registered-models/get-latest-versions", {"name": n, "stages": stages}),
        ])

    # searches
    for i, f in enumerate(RM_FILTERS):
        n = f"sr{i}-{_token()}"
        flt = f.format(n=n, N=n.upper())
        add(f"rm-search/filter-{i:02d}", [
            create_model(n, tags=[{"key": "team", "value": "risk"}]), create_version(n),
            Step("GET", "registered-models/search", {"filter": flt}),
        ])
    for i, order in enumerate(RM_ORDER_BY):
        n = f"so{i}-{_token()}"
        add(f"rm-search/order-{i:02d}", [
            create_model(n + "-b"), create_model(n + "-a"),
            Step("GET", "registered-models/search", {"filter": f"name LIKE '{n}%'", "order_by": order}),
        ])
    for i, f in enumerate(MV_FILTERS):
        n = f"sv{i}-{_token()}"
        flt = f.format(n=n, N=n.upper())
        add(f"mv-search/filter-{i:02d}", [
            create_model(n), create_version(n, tags=[{"key": "k", "value": "v"}], run_id="abc"),
            create_version(n),
            Step("GET", "model-versions/search", {"filter": flt}),
        ])
    for i, order in enumerate(MV_ORDER_BY):
        n = f"svo{i}-{_token()}"
        add(f"mv-search/order-{i:02d}", [
            create_model(n), create_version(n), create_version(n, source="s3://a/first"),
            Step("GET", "model-versions/search", {"filter": f"name = '{n}'", "order_by": order}),
        ])
    for kind, value in MAX_RESULTS.items():
        n = f"mr-{_token()}"
        add(f"rm-search/max-results-{kind}", [
            create_model(n), Step("GET", "registered-models/search",
                                  {"filter": f"name = '{n}'", "max_results": value})])
        add(f"mv-search/max-results-{kind}", [
            *model_with_version(n + "v"), Step("GET", "model-versions/search",
                                               {"filter": f"name = '{n}v'", "max_results": value})])
    for kind, token in PAGE_TOKENS.items():
        n = f"pt-{_token()}"
        add(f"rm-search/page-token-{kind}", [
            create_model(n), Step("GET", "registered-models/search",
                                  {"filter": f"name = '{n}'", "page_token": token})])
        add(f"mv-search/page-token-{kind}", [
            *model_with_version(n + "v"), Step("GET", "model-versions/search",
                                               {"filter": f"name = '{n}v'", "page_token": token})])
    n = f"pg-{_token()}"
    add("rm-search/paging", [
        *[create_model(f"{n}-{i}") for i in range(5)],
        Step("GET", "registered-models/search", {"filter": f"name LIKE '{n}%'", "max_results": 2},
             save={"tok": "next_page_token"}),
        Step("GET", "registered-models/search",
             {"filter": f"name LIKE '{n}%'", "max_results": 2, "page_token": Var("tok")},
             save={"tok2": "next_page_token"}),
        Step("GET", "registered-models/search",
             {"filter": f"name LIKE '{n}%'", "max_results": 2, "page_token": Var("tok2")}),
    ])
    n = f"pgv-{_token()}"
    add("mv-search/paging", [
        create_model(n), *[create_version(n) for _ in range(5)],
        Step("GET", "model-versions/search",
             {"filter": f"name = '{n}'", "max_results": 2, "order_by": ["version_number"]},
             save={"tok": "next_page_token"}),
        Step("GET", "model-versions/search",
             {"filter": f"name = '{n}'", "max_results": 2, "order_by": ["version_number"],
              "page_token": Var("tok")}),
    ])

    # sources and run ids of new versions
    for kind, source in SOURCES.items():
        n = f"src-{_token()}"
        add(f"source/{kind}", [
            create_model(n), create_version(n, source=source),
            Step("GET", "model-versions/get-download-uri", {"name": n, "version": "1"}),
        ])
    for kind, run_id in {"hex": HEX_RUN, "short": "abc", "word": "run_id", "dash": "my-run-1",
                         "slash": "a/b", "dotdot": "..", "space": "a b", "empty": "", "int": 7}.items():
        n = f"rid-{_token()}"
        add(f"run-id/{kind}", [create_model(n), create_version(n, source=f"runs:/{run_id}/model", run_id=run_id)])
    n = f"rid-{_token()}"
    add("run-id/mismatch", [create_model(n), create_version(n, source=f"runs:/{HEX_RUN}/model", run_id="other")])
    e = f"e-{_token()}"
    add("run-id/real-run", [
        *experiment_with_run(e), create_model(e),
        create_version(e, source=Fmt("runs:/{run_id}/model"), run_id=Var("run_id")),
        Step("GET", "model-versions/get-download-uri", {"name": e, "version": "1"}),
    ])
    e = f"e-{_token()}"
    add("run-id/real-run-artifacts-source", [
        *experiment_with_run(e), Step("GET", "runs/get", {"run_id": Var("run_id")},
                                      save={"art": "run.info.artifact_uri"}),
        create_model(e), create_version(e, source=Fmt("{art}/model"), run_id=Var("run_id")),
        create_version(e, source=Fmt("{art}/../../x"), run_id=Var("run_id")),
    ])
    n = f"src-{_token()}"
    add("source/missing", [create_model(n), Step("POST", "model-versions/create", {"name": n})])
    n = f"src-{_token()}"
    add("source/int", [create_model(n), Step("POST", "model-versions/create", {"name": n, "source": 5})])
    n = f"src-{_token()}"
    add("mv-create/with-everything", [
        create_model(n),
        create_version(n, description="desc", run_link="http://x/run",
                       tags=[{"key": "a", "value": "1"}, {"key": "b", "value": ""}]),
        Step("GET", "model-versions/get", {"name": n, "version": "1"}),
    ])
    n = f"src-{_token()}"
    add("mv-create/unknown-model-id", [create_model(n), create_version(n, model_id="m-nosuch")])
    for kind, key in TAG_KEYS.items():
        n = f"mvt-{_token()}"
        add(f"mv-create/tag-key-{kind}", [create_model(n), create_version(n, tags=[{"key": key, "value": "v"}])])
    for kind, value in TAG_VALUES.items():
        n = f"mvt-{_token()}"
        add(f"mv-create/tag-value-{kind}", [create_model(n), create_version(n, tags=[{"key": "k", "value": value}])])

    # aliases
    for kind, alias in ALIASES.items():
        n = f"al-{_token()}"
        add(f"alias/{kind}", [
            *model_with_version(n),
            Step("POST", "registered-models/alias", {"name": n, "alias": alias, "version": "1"}),
            Step("GET", "registered-models/alias", {"name": n, "alias": alias}),
            Step("GET", "registered-models/get", {"name": n}),
            Step("DELETE", "registered-models/alias", {"name": n, "alias": alias}),
            Step("GET", "registered-models/alias", {"name": n, "alias": alias}),
        ])
    n = f"al-{_token()}"
    add("alias/move", [
        *model_with_version(n), create_version(n),
        Step("POST", "registered-models/alias", {"name": n, "alias": "champion", "version": "1"}),
        Step("POST", "registered-models/alias", {"name": n, "alias": "champion", "version": "2"}),
        Step("GET", "model-versions/get", {"name": n, "version": "1"}),
        Step("GET", "model-versions/get", {"name": n, "version": "2"}),
    ])
    n = f"al-{_token()}"
    add("alias/on-deleted-version", [
        *model_with_version(n),
        Step("POST", "registered-models/alias", {"name": n, "alias": "champion", "version": "1"}),
        Step("DELETE", "model-versions/delete", {"name": n, "version": "1"}),
        Step("GET", "registered-models/alias", {"name": n, "alias": "champion"}),
        Step("GET", "registered-models/get", {"name": n}),
    ])
    n = f"al-{_token()}"
    add("alias/delete-unknown", [
        *model_with_version(n), Step("DELETE", "registered-models/alias", {"name": n, "alias": "nosuch"})])
    n = f"al-{_token()}"
    add("alias/missing-alias", [
        *model_with_version(n), Step("POST", "registered-models/alias", {"name": n, "version": "1"})])

    # tags
    for kind, key in TAG_KEYS.items():
        n = f"tg-{_token()}"
        add(f"rm-tag/key-{kind}", [
            create_model(n),
            Step("POST", "registered-models/set-tag", {"name": n, "key": key, "value": "v"}),
            Step("GET", "registered-models/get", {"name": n}),
            Step("DELETE", "registered-models/delete-tag", {"name": n, "key": key}),
        ])
        n = f"tg-{_token()}"
        add(f"mv-tag/key-{kind}", [
            *model_with_version(n),
            Step("POST", "model-versions/set-tag", {"name": n, "version": "1", "key": key, "value": "v"}),
            Step("GET", "model-versions/get", {"name": n, "version": "1"}),
            Step("DELETE", "model-versions/delete-tag", {"name": n, "version": "1", "key": key}),
        ])
    for kind, value in TAG_VALUES.items():
        n = f"tg-{_token()}"
        add(f"rm-tag/value-{kind}", [
            create_model(n), Step("POST", "registered-models/set-tag", {"name": n, "key": "k", "value": value})])
        n = f"tg-{_token()}"
        add(f"mv-tag/value-{kind}", [
            *model_with_version(n),
            Step("POST", "model-versions/set-tag", {"name": n, "version": "1", "key": "k", "value": value})])
    n = f"tg-{_token()}"
    add("rm-tag/missing-value", [create_model(n), Step("POST", "registered-models/set-tag", {"name": n, "key": "k"})])
    n = f"tg-{_token()}"
    add("rm-tag/delete-unknown-key", [create_model(n),
                                      Step("DELETE", "registered-models/delete-tag", {"name": n, "key": "nosuch"})])
    n = f"tg-{_token()}"
    add("mv-tag/delete-unknown-key", [*model_with_version(n), Step(
        "DELETE", "model-versions/delete-tag", {"name": n, "version": "1", "key": "nosuch"})])

    # rename, update, delete
    n = f"rn-{_token()}"
    add("rename/plain", [*model_with_version(n),
                         Step("POST", "registered-models/alias", {"name": n, "alias": "a", "version": "1"}),
                         Step("POST", "registered-models/rename", {"name": n, "new_name": n + "-new"}),
                         Step("GET", "registered-models/get", {"name": n + "-new"}),
                         Step("GET", "model-versions/get", {"name": n + "-new", "version": "1"}),
                         Step("GET", "registered-models/get", {"name": n})])
    n = f"rn-{_token()}"
    add("rename/to-existing", [create_model(n), create_model(n + "-2"),
                               Step("POST", "registered-models/rename", {"name": n, "new_name": n + "-2"})])
    n = f"rn-{_token()}"
    add("rename/to-itself", [create_model(n), Step("POST", "registered-models/rename", {"name": n, "new_name": n})])
    for kind in ("empty", "missing", "slash", "int"):
        n = f"rn-{_token()}"
        new = {"empty": "", "missing": MISSING, "slash": "a/b", "int": 5}[kind]
        add(f"rename/new-name-{kind}", [create_model(n),
                                         Step("POST", "registered-models/rename", {"name": n, "new_name": new})])
    n = f"up-{_token()}"
    add("update/description", [create_model(n), Step("PATCH", "registered-models/update",
                                                     {"name": n, "description": "new"}),
                               Step("PATCH", "registered-models/update", {"name": n, "description": ""}),
                               Step("PATCH", "registered-models/update", {"name": n})])
    n = f"up-{_token()}"
    add("mv-update/description", [*model_with_version(n),
                                  Step("PATCH", "model-versions/update", {"name": n, "version": "1", "description": "x"}),
                                  Step("PATCH", "model-versions/update", {"name": n, "version": "1"})])
    n = f"dl-{_token()}"
    add("delete/version-numbers-not-reused", [
        *model_with_version(n), create_version(n),
        Step("DELETE", "model-versions/delete", {"name": n, "version": "2"}),
        create_version(n),
        Step("GET", "model-versions/get", {"name": n, "version": "2"}),
        Step("DELETE", "model-versions/delete", {"name": n, "version": "2"}),
        Step("GET", "model-versions/search", {"filter": f"name = '{n}'"}),
    ])
    n = f"dl-{_token()}"
    add("delete/model-then-recreate", [
        *model_with_version(n), Step("DELETE", "registered-models/delete", {"name": n}),
        create_model(n), create_version(n), Step("GET", "registered-models/get", {"name": n}),
    ])
    n = f"dl-{_token()}"
    add("delete/twice", [create_model(n), Step("DELETE", "registered-models/delete", {"name": n}),
                         Step("DELETE", "registered-models/delete", {"name": n})])
    return cases


def tracking_cases() -> list[Case]:
    cases: list[Case] = []

    def add(case_id: str, steps: list[Step]) -> None:
        cases.append(Case(case_id, steps))

    for kind, make in MODEL_NAMES.items():
        e = make(_token())
        add(f"exp-name/{kind}", [create_experiment(e),
                                 Step("GET", "experiments/get-by-name", {"experiment_name": e}),
                                 Step("GET", "experiments/get", {"experiment_id": Var("exp_id")})])
    add("exp-create/missing-name", [Step("POST", "experiments/create", {})])
    add("exp-create/empty-name", [Step("POST", "experiments/create", {"name": ""})])
    for kind, value in WRONG_TYPES.items():
        add(f"exp-create/name-{kind}", [Step("POST", "experiments/create", {"name": value})])
    e = f"e-{_token()}"
    add("exp-create/duplicate", [create_experiment(e), Step("POST", "experiments/create", {"name": e})])
    for kind, loc in {"s3": "s3://bucket/exp", "file": "file:///tmp/x", "absolute": "/tmp/x",
                      "relative": "rel/x", "dotdot": "s3://b/../x", "mlflow-artifacts": "mlflow-artifacts:/x"}.items():
        e = f"e-{_token()}"
        add(f"exp-create/artifact-location-{kind}", [
            Step("POST", "experiments/create", {"name": e, "artifact_location": loc}, save={"exp_id": "experiment_id"}),
            Step("GET", "experiments/get", {"experiment_id": Var("exp_id")})])
    e = f"e-{_token()}"
    add("exp-create/tags", [
        Step("POST", "experiments/create", {"name": e, "tags": [{"key": "a", "value": "1"}]},
             save={"exp_id": "experiment_id"}),
        Step("GET", "experiments/get", {"experiment_id": Var("exp_id")})])
    for kind, exp_id in {"unknown": "987654", "alpha": "abc", "negative": "-1", "empty": "", "missing": MISSING,
                         "huge": "99999999999999999999999"}.items():
        add(f"exp-get/{kind}", [Step("GET", "experiments/get", {"experiment_id": exp_id})])
        add(f"exp-delete/{kind}", [Step("POST", "experiments/delete", {"experiment_id": exp_id})])
        add(f"run-create/exp-{kind}", [Step("POST", "runs/create", {"experiment_id": exp_id})])
    add("exp-get-by-name/unknown", [Step("GET", "experiments/get-by-name", {"experiment_name": f"nosuch-{_token()}"})])
    add("exp-get-by-name/missing", [Step("GET", "experiments/get-by-name", {})])
    e = f"e-{_token()}"
    add("exp-lifecycle", [
        create_experiment(e),
        Step("POST", "experiments/update", {"experiment_id": Var("exp_id"), "new_name": e + "-renamed"}),
        Step("POST", "experiments/set-experiment-tag", {"experiment_id": Var("exp_id"), "key": "k", "value": "v"}),
        Step("POST", "experiments/delete", {"experiment_id": Var("exp_id")}),
        Step("GET", "experiments/get", {"experiment_id": Var("exp_id")}),
        Step("POST", "experiments/delete", {"experiment_id": Var("exp_id")}),
        Step("POST", "experiments/restore", {"experiment_id": Var("exp_id")}),
        Step("POST", "experiments/restore", {"experiment_id": Var("exp_id")}),
        Step("GET", "experiments/get-by-name", {"experiment_name": e + "-renamed"}),
    ])
    e = f"e-{_token()}"
    add("exp-update/to-existing", [create_experiment(e + "-a"), create_experiment(e),
                                   Step("POST", "experiments/update", {"experiment_id": Var("exp_id"),
                                                                       "new_name": e + "-a"})])
    e = f"e-{_token()}"
    add("exp-update/empty-name", [create_experiment(e),
                                  Step("POST", "experiments/update", {"experiment_id": Var("exp_id"), "new_name": ""})])
    for i, flt in enumerate(["name = '{e}'", "name LIKE '{e}%'", "tags.k = 'v' AND name = '{e}'", "name = {e}", "bogus = 'x'",
                             "name ILIKE '{E}'", "creation_time > 0 AND name = '{e}'", "name = '{e}' OR name = 'x'"]):
        e = f"es{i}-{_token()}"
        add(f"exp-search/filter-{i:02d}", [create_experiment(e), Step(
            "POST", "experiments/search", {"filter": flt.format(e=e, E=e.upper()), "max_results": 10})])
    for kind, value in MAX_RESULTS.items():
        e = f"em-{_token()}"
        add(f"exp-search/max-results-{kind}", [create_experiment(e), Step(
            "POST", "experiments/search", {"filter": f"name = '{e}'", "max_results": value})])
    for kind, token in PAGE_TOKENS.items():
        add(f"exp-search/page-token-{kind}", [Step("POST", "experiments/search",
                                                   {"filter": "name = 'x'", "page_token": token})])
    for view in ("ACTIVE_ONLY", "DELETED_ONLY", "ALL", "bogus", 3):
        e = f"ev-{_token()}"
        add(f"exp-search/view-{view}", [create_experiment(e), Step(
            "POST", "experiments/search", {"filter": f"name = '{e}'", "view_type": view})])

    # runs
    e = f"r-{_token()}"
    add("run/lifecycle", [
        *experiment_with_run(e),
        Step("GET", "runs/get", {"run_id": Var("run_id")}),
        Step("POST", "runs/update", {"run_id": Var("run_id"), "status": "FINISHED", "end_time": 1700000001000}),
        Step("POST", "runs/update", {"run_id": Var("run_id"), "run_name": "renamed"}),
        Step("POST", "runs/delete", {"run_id": Var("run_id")}),
        Step("GET", "runs/get", {"run_id": Var("run_id")}),
        Step("POST", "runs/restore", {"run_id": Var("run_id")}),
    ])
    for kind, run_id in {"unknown": HEX_RUN, "short": "abc", "empty": "", "missing": MISSING}.items():
        add(f"run-get/{kind}", [Step("GET", "runs/get", {"run_id": run_id})])
        add(f"run-log-metric/run-{kind}", [Step("POST", "runs/log-metric",
                                                {"run_id": run_id, "key": "m", "value": 1, "timestamp": 1})])
        add(f"run-update/{kind}", [Step("POST", "runs/update", {"run_id": run_id, "status": "FINISHED"})])
    for kind, status in {"bogus": "BOGUS", "lower": "finished", "int": 3, "killed": "KILLED"}.items():
        e = f"r-{_token()}"
        add(f"run-update/status-{kind}", [*experiment_with_run(e), Step(
            "POST", "runs/update", {"run_id": Var("run_id"), "status": status})])
    for kind, tags in {"plain": [{"key": "a", "value": "b"}], "long-value": [{"key": "a", "value": "v" * 8001}],
                       "empty-key": [{"key": "", "value": "b"}], "run-name": [{"key": "mlflow.runName", "value": "n"}]
                       }.items():
        e = f"r-{_token()}"
        add(f"run-create/tags-{kind}", [create_experiment(e), Step(
            "POST", "runs/create", {"experiment_id": Var("exp_id"), "tags": tags, "start_time": 1700000000000,
                                    "run_name": MISSING if kind == "run-name" else "run"},
            save={"run_id": "run.info.run_id"}), Step("GET", "runs/get", {"run_id": Var("run_id")})])
    e = f"r-{_token()}"
    add("run-create/start-time-string", [create_experiment(e), Step(
        "POST", "runs/create", {"experiment_id": Var("exp_id"), "start_time": "abc"})])
    e = f"r-{_token()}"
    add("run-create/run-name", [create_experiment(e), Step(
        "POST", "runs/create", {"experiment_id": Var("exp_id"), "run_name": "my run", "start_time": 1},
        save={"run_id": "run.info.run_id"}), Step("GET", "runs/get", {"run_id": Var("run_id")})])

    metric_values = {"int": 1, "float": 0.25, "negative": -3.5, "big": 1e308, "nan-string": "NaN",
                     "inf-string": "Infinity", "alpha": "abc", "null": None, "bool": True, "missing": MISSING}
    for kind, value in metric_values.items():
        e = f"mt-{_token()}"
        add(f"metric/value-{kind}", [
            *experiment_with_run(e),
            Step("POST", "runs/log-metric",
                 {"run_id": Var("run_id"), "key": "acc", "value": value, "timestamp": 1700000000000, "step": 2}),
            Step("GET", "metrics/get-history", {"run_id": Var("run_id"), "metric_key": "acc"}),
        ])
    for kind, extra in {"step-string": {"step": "x"}, "no-timestamp": {"timestamp": MISSING},
                        "timestamp-string": {"timestamp": "x"}, "empty-key": {"key": ""},
                        "missing-key": {"key": MISSING}, "long-key": {"key": "k" * 251},
                        "slash-key": {"key": "a/b"}, "dotdot-key": {"key": "../a"}}.items():
        e = f"mt-{_token()}"
        body = {"run_id": Var("run_id"), "key": "acc", "value": 1.0, "timestamp": 1700000000000, "step": 0, **extra}
        add(f"metric/{kind}", [*experiment_with_run(e), Step("POST", "runs/log-metric", body),
                               Step("GET", "runs/get", {"run_id": Var("run_id")})])
    e = f"mt-{_token()}"
    add("metric/history-unknown-key", [*experiment_with_run(e), Step(
        "GET", "metrics/get-history", {"run_id": Var("run_id"), "metric_key": "nosuch"})])
    e = f"mt-{_token()}"
    add("metric/history-missing-key", [*experiment_with_run(e), Step(
        "GET", "metrics/get-history", {"run_id": Var("run_id")})])
    for kind, value in {"plain": "1.0", "empty": "", "long-6000": "p" * 6000, "long-8001": "p" * 8001,
                        "int": 5, "null": None}.items():
        e = f"pm-{_token()}"
        add(f"param/value-{kind}", [*experiment_with_run(e), Step(
            "POST", "runs/log-parameter", {"run_id": Var("run_id"), "key": "C", "value": value}),
            Step("GET", "runs/get", {"run_id": Var("run_id")})])
    e = f"pm-{_token()}"
    add("param/change-value", [
        *experiment_with_run(e),
        Step("POST", "runs/log-parameter", {"run_id": Var("run_id"), "key": "C", "value": "1"}),
        Step("POST", "runs/log-parameter", {"run_id": Var("run_id"), "key": "C", "value": "1"}),
        Step("POST", "runs/log-parameter", {"run_id": Var("run_id"), "key": "C", "value": "2"}),
    ])
    for kind, key in {"plain": "k", "empty": "", "long-250": "k" * 250, "long-251": "k" * 251,
                      "slash": "a/b", "space": "a b"}.items():
        e = f"rt-{_token()}"
        add(f"run-tag/key-{kind}", [*experiment_with_run(e),
                                    Step("POST", "runs/set-tag", {"run_id": Var("run_id"), "key": key, "value": "v"}),
                                    Step("POST", "runs/delete-tag", {"run_id": Var("run_id"), "key": key})])
    e = f"rt-{_token()}"
    add("run-tag/delete-unknown", [*experiment_with_run(e), Step(
        "POST", "runs/delete-tag", {"run_id": Var("run_id"), "key": "nosuch"})])
    batches = {
        "plain": {"metrics": [{"key": "a", "value": 1, "timestamp": 1, "step": 0}],
                  "params": [{"key": "p", "value": "1"}], "tags": [{"key": "t", "value": "x"}]},
        "empty": {},
        "too-many-metrics": {"metrics": [{"key": f"m{i}", "value": 1, "timestamp": 1} for i in range(1001)]},
        "too-many-params": {"params": [{"key": f"p{i}", "value": "1"} for i in range(101)]},
        "too-many-tags": {"tags": [{"key": f"t{i}", "value": "1"} for i in range(101)]},
        "duplicate-params": {"params": [{"key": "p", "value": "1"}, {"key": "p", "value": "2"}]},
        "metric-no-timestamp": {"metrics": [{"key": "a", "value": 1}]},
        "metric-no-value": {"metrics": [{"key": "a", "timestamp": 1}]},
        "param-no-value": {"params": [{"key": "p"}]},
        "metrics-not-list": {"metrics": {"key": "a", "value": 1, "timestamp": 1}},
    }
    for kind, batch in batches.items():
        e = f"lb-{_token()}"
        add(f"log-batch/{kind}", [*experiment_with_run(e),
                                  Step("POST", "runs/log-batch", {"run_id": Var("run_id"), **batch}),
                                  Step("GET", "runs/get", {"run_id": Var("run_id")})])
    for i, flt in enumerate(["metrics.acc > 0.5", "params.C = '1'", "tags.t = 'x'", "attributes.status = 'RUNNING'",
                             "metrics.acc > 'x'", "bogus", "metrics.acc >", "attributes.run_name = 'r'",
                             "params.C > 1", "metrics.acc IN (1)", "run_name LIKE 'x%'",
                             "attributes.start_time > 0", "datasets.name = 'x'", "metric.acc = 1 OR metric.acc = 2"]):
        e = f"rs{i}-{_token()}"
        add(f"run-search/filter-{i:02d}", [
            *experiment_with_run(e),
            Step("POST", "runs/log-batch", {"run_id": Var("run_id"),
                                            "metrics": [{"key": "acc", "value": 0.9, "timestamp": 1}],
                                            "params": [{"key": "C", "value": "1"}],
                                            "tags": [{"key": "t", "value": "x"}]}),
            Step("POST", "runs/search", {"experiment_ids": [Var("exp_id")], "filter": flt}),
        ])
    for i, order in enumerate([["metrics.acc DESC"], ["params.C"], ["attributes.start_time"], ["bogus"],
                               ["start_time DESC"], ["tags.t ASC"], ["metrics.acc sideways"]]):
        e = f"ro{i}-{_token()}"
        add(f"run-search/order-{i:02d}", [*experiment_with_run(e), Step(
            "POST", "runs/search", {"experiment_ids": [Var("exp_id")], "order_by": order})])
    for kind, value in MAX_RESULTS.items():
        e = f"rm-{_token()}"
        add(f"run-search/max-results-{kind}", [*experiment_with_run(e), Step(
            "POST", "runs/search", {"experiment_ids": [Var("exp_id")], "max_results": value})])
    for kind, token in PAGE_TOKENS.items():
        e = f"rp-{_token()}"
        add(f"run-search/page-token-{kind}", [*experiment_with_run(e), Step(
            "POST", "runs/search", {"experiment_ids": [Var("exp_id")], "page_token": token})])
    add("run-search/no-experiments", [Step("POST", "runs/search", {"experiment_ids": []})])
    add("run-search/unknown-experiment", [Step("POST", "runs/search", {"experiment_ids": ["987654"]})])
    e = f"li-{_token()}"
    add("log-inputs/dataset", [*experiment_with_run(e), Step("POST", "runs/log-inputs", {
        "run_id": Var("run_id"),
        "datasets": [{"dataset": {"name": "d", "digest": "abc", "source_type": "local", "source": "{}"},
                      "tags": [{"key": "mlflow.data.context", "value": "train"}]}]}),
        Step("GET", "runs/get", {"run_id": Var("run_id")})])
    e = f"li-{_token()}"
    add("log-inputs/missing-digest", [*experiment_with_run(e), Step("POST", "runs/log-inputs", {
        "run_id": Var("run_id"), "datasets": [{"dataset": {"name": "d", "source_type": "local", "source": "{}"}}]})])

    # logged models (MLflow 3)
    e = f"lm-{_token()}"
    add("logged-model/lifecycle", [
        *experiment_with_run(e),
        Step("POST", "logged-models", {"experiment_id": Var("exp_id"), "name": "model", "source_run_id": Var("run_id"),
                                       "model_type": "sklearn", "params": [{"key": "C", "value": "1"}],
                                       "tags": [{"key": "t", "value": "1"}]},
             save={"model_id": "model.info.model_id"}),
        Step("GET", "logged-models/{model_id}"),
        Step("PATCH", "logged-models/{model_id}", {"model_id": Var("model_id"), "status": "LOGGED_MODEL_READY"}),
        Step("PATCH", "logged-models/{model_id}/tags", {"tags": [{"key": "u", "value": "2"}]}),
        Step("DELETE", "logged-models/{model_id}/tags/u"),
        Step("POST", "logged-models/search", {"experiment_ids": [Var("exp_id")]}),
        create_model(e), create_version(e, source=Fmt("models:/{model_id}"), model_id=Var("model_id")),
        Step("GET", "model-versions/get", {"name": e, "version": "1"}),
        Step("DELETE", "logged-models/{model_id}"),
        Step("GET", "logged-models/{model_id}"),
    ])
    add("logged-model/get-unknown", [Step("GET", "/api/2.0/mlflow/logged-models/m-nosuch")])
    add("logged-model/create-no-experiment", [Step("POST", "logged-models", {"name": "x"})])
    add("logged-model/create-unknown-experiment", [Step("POST", "logged-models", {"experiment_id": "987654"})])
    for i, flt in enumerate(["name = 'model'", "bogus = 1", "metrics.acc > 0", "params.C = '1'", "name ="]):
        e = f"lms{i}-{_token()}"
        add(f"logged-model/search-filter-{i:02d}", [create_experiment(e), Step(
            "POST", "logged-models/search", {"experiment_ids": [Var("exp_id")], "filter": flt})])
    add("artifacts-list/unknown-run", [Step("GET", "artifacts/list", {"run_id": HEX_RUN})])
    e = f"al-{_token()}"
    add("artifacts-list/empty-run", [*experiment_with_run(e), Step("GET", "artifacts/list", {"run_id": Var("run_id")}),
                                     Step("GET", "artifacts/list", {"run_id": Var("run_id"), "path": "../x"})])
    return cases


def wire_cases() -> list[Case]:
    """Malformed requests: what arrives when a script builds its own HTTP."""
    cases: list[Case] = []
    json_ct = {"Content-Type": "application/json"}
    for kind, raw in {"malformed": b"{name:", "array": b"[1, 2]", "string": b'"x"', "empty": b"",
                      "null": b"null", "invalid-utf8": b'{"name": "\xff\xfe"}'}.items():
        cases.append(Case(f"wire/registered-models-create-{kind}",
                          [Step("POST", "registered-models/create", raw=raw, headers=json_ct)]))
        cases.append(Case(f"wire/runs-create-{kind}", [Step("POST", "runs/create", raw=raw, headers=json_ct)]))
    n = f"w-{_token()}"
    cases.append(Case("wire/form-content-type", [Step(
        "POST", "registered-models/create", raw=f"name={n}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"})]))
    n = f"w-{_token()}"
    cases.append(Case("wire/no-content-type", [Step(
        "POST", "registered-models/create", raw=('{"name": "%s"}' % n).encode())]))
    n = f"w-{_token()}"
    cases.append(Case("wire/ajax-api", [Step("POST", "/ajax-api/2.0/mlflow/registered-models/create", {"name": n}),
                                        Step("GET", "/ajax-api/2.0/mlflow/registered-models/get", {"name": n})]))
    cases.append(Case("wire/unknown-route", [Step("GET", "registered-models/nosuch")]))
    cases.append(Case("wire/wrong-method", [Step("GET", "registered-models/create", {"name": "x"})]))
    n = f"w-{_token()}"
    cases.append(Case("wire/camel-case-fields", [create_model(n), Step(
        "POST", "model-versions/create", {"name": n, "source": "s3://b/m", "runId": "abc"})]))
    return cases


def all_cases() -> list[Case]:
    cases = registry_cases() + tracking_cases() + wire_cases()
    ids = [c.id for c in cases]
    dupes = {i for i in ids if ids.count(i) > 1}
    assert not dupes, f"duplicate case ids: {sorted(dupes)}"
    return cases

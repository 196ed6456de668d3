"""The differential test's machinery: request sequences, how to run them, and how to compare two
servers' answers.

A `Case` is a named sequence of `Step`s. Each step is one HTTP request; a step can `save` values
of its answer (an experiment id, a run id) into variables that later steps use through `Var` and
`Fmt`. The same case runs against a real `mlflow server` and against Arca, each with its own
variables, and every step's answer is compared: the HTTP status, the `error_code`, the body of a
success once ids, timestamps and server paths are normalized, and, for an error, the phrases
clients match on (see `PHRASES`).

The cases themselves are generated in `differential_cases.py`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import requests

API = "/api/2.0/mlflow/"
TIMEOUT = 30


class _Missing:
    """A field left out of the request."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


@dataclass(frozen=True)
class Var:
    """The value a previous step saved under `name`."""

    name: str


@dataclass(frozen=True)
class Fmt:
    """A string built from saved values: `Fmt("runs:/{run_id}/model")`."""

    template: str


@dataclass
class Step:
    method: str
    path: str  # relative to /api/2.0/mlflow/, or absolute when it starts with "/"
    body: Any = None  # JSON body (POST/PATCH/DELETE); for GET, the query parameters
    save: dict[str, str] = field(default_factory=dict)  # variable -> dotted path in the answer
    raw: bytes | None = None  # a raw body sent as is (malformed JSON and such)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Case:
    id: str
    steps: list[Step]


@dataclass
class Answer:
    status: int
    json: Any  # the decoded body, or None when it was not JSON
    text: str


def _resolve(value: Any, env: dict[str, str]) -> Any:
    if isinstance(value, Var):
        return env.get(value.name, f"<unset {value.name}>")
    if isinstance(value, Fmt):
        return value.template.format(**env)
    if isinstance(value, dict):
        return {k: _resolve(v, env) for k, v in value.items() if v is not MISSING}
    if isinstance(value, list):
        return [_resolve(v, env) for v in value if v is not MISSING]
    return value


def _query(params: dict[str, Any]) -> list[tuple[str, str]]:
    """Query parameters as the mlflow client sends them: repeated keys for lists, booleans as
    true/false."""
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool):
                item = "true" if item else "false"
            out.append((key, str(item)))
    return out


def _dig(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(doc, list):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            doc = doc.get(part)
        else:
            return None
    return doc


def run_case(base_url: str, case: Case) -> tuple[list[Answer], dict[str, str]]:
    """Send the case's steps in order; returns each step's answer and the saved variables."""
    env: dict[str, str] = {}
    answers = []
    for step in case.steps:
        url = step.path if step.path.startswith("/") else API + step.path
        url = base_url + _resolve(Fmt(url) if "{" in url else url, env)
        body = _resolve(step.body, env)
        kwargs: dict[str, Any] = {"timeout": TIMEOUT, "headers": dict(step.headers)}
        if step.raw is not None:
            kwargs["data"] = step.raw
        elif step.method == "GET":
            kwargs["params"] = _query(body or {})
        elif body is not None:
            kwargs["json"] = body
        resp = requests.request(step.method, url, **kwargs)
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        answers.append(Answer(resp.status_code, doc, resp.text[:2000]))
        for var, dotted in step.save.items():
            value = _dig(doc, dotted)
            if value is not None:
                env[var] = str(value)
    return answers, env


# ----------------------------------------------------------------------------- normalization

TIME_KEYS = re.compile(r"(timestamp|_time|timestamp_ms)$")
HEX32 = re.compile(r"[0-9a-f]{32}")
EXPERIMENT_FOLDER = re.compile(r"^(mlflow-artifacts:/)\d+(?=/|$)")


def normalize(doc: Any, env: dict[str, str], roots: list[str]) -> Any:
    """The answer with what legitimately differs between two servers replaced by placeholders:
    saved ids (by variable name), other 32-hex ids, timestamps, and the servers' own folders."""
    # Whole tokens only: an experiment id "35" must not change a name that contains "35".
    subs = [
        (re.compile(rf"(?<![0-9A-Za-z]){re.escape(v)}(?![0-9A-Za-z])"), f"<{k}>")
        for k, v in sorted(env.items(), key=lambda kv: -len(kv[1]))
        if v
    ]

    def text(s: str) -> str:
        for root in roots:
            s = s.replace(root, "<root>")
        for pattern, token in subs:
            s = pattern.sub(token, s)
        return HEX32.sub("<hex>", s)

    def walk(x: Any, key: str = "") -> Any:
        if isinstance(x, dict):
            return {k: walk(v, k) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v, key) for v in x]
        if isinstance(x, int) and not isinstance(x, bool) and TIME_KEYS.search(key):
            return "<time>"
        if key == "experiment_id" and isinstance(x, str) and x.isdigit() and x != "0":
            return "<experiment id>"  # each server numbers its experiments itself
        if key == "next_page_token" and isinstance(x, str):
            return "<page token>"  # opaque to clients: only its presence matters
        if isinstance(x, str):
            # each server numbers its experiments itself, and so names their artifact folders
            return EXPERIMENT_FOLDER.sub(r"\1<experiment id>", text(x))
        return x

    return walk(doc)


# Phrases that clients (and people's scripts) match on in error messages. When MLflow's message
# has one, Arca's must have the same words, with the same names in them.
PHRASES = [
    re.compile(r"Registered Model with name=.* not found"),
    re.compile(r"Registered Model \(name=.*\) already exists"),
    re.compile(r"Model Version \(name=.*, version=[^)]*\) not found"),
    re.compile(r"Registered model alias \S+ not found"),
    re.compile(r"Experiment\(name=.*\) already exists"),
    re.compile(r"Run with id=\S+ not found"),
    re.compile(r"Could not find experiment with name"),
    re.compile(r"Missing value for required parameter '[^']+'"),
    re.compile(r"already exists"),
    re.compile(r"not found"),
]


def _phrases(message: str) -> list[str]:
    out = []
    for pattern in PHRASES:
        m = pattern.search(message)
        if m:
            out.append(m.group(0))
    return out


def differences(
    ref: list[Answer], ref_env: dict[str, str], ref_roots: list[str],
    got: list[Answer], got_env: dict[str, str], got_roots: list[str],
) -> list[str]:
    """What differs between MLflow's answers (`ref`) and Arca's (`got`), one line per finding."""
    out = []
    for i, (a, b) in enumerate(zip(ref, got)):
        where = f"step {i + 1}"
        if a.status != b.status:
            out.append(f"{where}: status {a.status} (mlflow) != {b.status} (arca); "
                       f"mlflow: {_brief(a)}; arca: {_brief(b)}")
            continue
        if a.json is None:
            # MLflow answered with something that is not JSON (an HTML error page): Arca always
            # answers JSON, so only the status is compared.
            continue
        if a.status != 200:
            a_code = a.json.get("error_code") if isinstance(a.json, dict) else None
            b_code = b.json.get("error_code") if isinstance(b.json, dict) else None
            if a_code != b_code:
                out.append(f"{where}: error_code {a_code} (mlflow) != {b_code} (arca); "
                           f"mlflow: {_brief(a)}; arca: {_brief(b)}")
                continue
            a_msg = normalize(a.json.get("message", ""), ref_env, ref_roots)
            b_msg = normalize(b.json.get("message", "") if isinstance(b.json, dict) else "", got_env, got_roots)
            for phrase in _phrases(a_msg):
                if phrase not in b_msg:
                    out.append(f"{where}: message lacks {phrase!r}; mlflow: {a_msg!r}; arca: {b_msg!r}")
            continue
        na = normalize(a.json, ref_env, ref_roots)
        nb = normalize(b.json, got_env, got_roots)
        if na != nb:
            out.append(f"{where}: body differs:\n  mlflow: {_dump(na)}\n  arca:   {_dump(nb)}")
    return out


def _dump(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False)[:1500]


def _brief(answer: Answer) -> str:
    if isinstance(answer.json, dict) and "error_code" in answer.json:
        return f"{answer.json['error_code']}: {str(answer.json.get('message'))[:300]}"
    return answer.text[:300].replace("\n", " ")

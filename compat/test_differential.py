"""The differential test: every generated request sequence (differential_cases.py) goes to a real
`mlflow server` and to Arca, each freshly started, and their answers are compared step by step
(differential.py says how). A case that answers differently fails unless the allow-list
(differential_allowlist.py, shown in the README's "Where Arca differs from MLflow") names it with a
reason; an allow-list entry that no longer matches a difference fails too, so the list stays true.
"""

from __future__ import annotations

import fnmatch
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import BACKEND, REPO_ROOT, TARGET, spawn_server
from differential import differences, run_case
from differential_allowlist import ALLOWED
from differential_cases import all_cases

CASES = all_cases()
# case id -> its differences, for the allow-list checks at the end
OUTCOMES: dict[str, list[str]] = {}

pytestmark = pytest.mark.skipif(
    TARGET != "arca",
    reason="the differential test compares Arca with mlflow server; ARCA_COMPAT_TARGET=mlflow has nothing to compare",
)


@pytest.fixture(scope="module")
def pair():
    """(mlflow server, arca), both fresh, started in parallel."""
    with ThreadPoolExecutor(2) as pool:
        ref_cm, got_cm = spawn_server("mlflow", "sqlite"), spawn_server("arca", BACKEND)
        ref_f, got_f = pool.submit(ref_cm.__enter__), pool.submit(got_cm.__enter__)
        try:
            ref, got = ref_f.result(), got_f.result()
        except BaseException:
            for cm, f in ((ref_cm, ref_f), (got_cm, got_f)):
                if f.exception() is None:
                    cm.__exit__(None, None, None)
            raise
    try:
        yield ref, got
    finally:
        got_cm.__exit__(None, None, None)
        ref_cm.__exit__(None, None, None)


def _roots(server) -> list[str]:
    roots = [str(server.tmp)]
    if server.bucket:
        roots.append(f"s3://{server.bucket}")
    return roots


def allowed_reason(case_id: str) -> str | None:
    for patterns, reason in ALLOWED:
        if any(fnmatch.fnmatchcase(case_id, p) for p in patterns):
            return reason
    return None


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_answers_as_mlflow(pair, case):
    ref, got = pair
    with ThreadPoolExecutor(2) as pool:
        ref_f = pool.submit(run_case, ref.url, case)
        got_f = pool.submit(run_case, got.url, case)
        (ref_answers, ref_env), (got_answers, got_env) = ref_f.result(), got_f.result()
    found = differences(ref_answers, ref_env, _roots(ref), got_answers, got_env, _roots(got))
    OUTCOMES[case.id] = found
    if found and allowed_reason(case.id) is None:
        pytest.fail(
            f"Arca answers {case.id} differently from mlflow server, and the allow-list does not name it:\n"
            + "\n".join(found),
            pytrace=False,
        )


def test_allowlist_names_only_real_differences():
    """Each allow-list entry still matches at least one case that differs (when all cases ran)."""
    if len(OUTCOMES) != len(CASES):
        pytest.skip(f"only {len(OUTCOMES)} of {len(CASES)} cases ran (a -k selection); nothing to judge")
    stale = [
        pattern for patterns, _ in ALLOWED for pattern in patterns
        if not any(fnmatch.fnmatchcase(cid, pattern) and found for cid, found in OUTCOMES.items())
    ]
    assert not stale, f"allow-list entries that no longer match a difference (remove them): {stale}"


def test_readme_lists_the_allowlist():
    """The README's "Where Arca differs from MLflow" shows every entry with its reason."""
    readme = (REPO_ROOT / "README.md").read_text()
    m = re.search(r"^## Where Arca differs from MLflow\n(.*?)(?=^## )", readme, re.S | re.M)
    assert m, "README.md has no '## Where Arca differs from MLflow' section"
    section = " ".join(m.group(1).split())
    missing = [
        pattern for patterns, reason in ALLOWED for pattern in patterns
        if f"`{pattern}`" not in section or " ".join(reason.split()) not in section
    ]
    assert not missing, (
        "README.md does not list these allow-list entries with their reasons "
        f"(print the section with `python compat/differential_allowlist.py`): {missing}"
    )


def test_at_least_300_sequences():
    assert len(CASES) >= 300, len(CASES)

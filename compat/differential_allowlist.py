"""Where Arca deliberately answers differently from `mlflow server`, and why.

Each entry is (globs over differential case ids, reason). A difference is allowed only when it
closes a security hole, turns MLflow's 5xx into a clear 4xx, or refuses what MLflow would
silently lose or could not store on its production databases. The README's "Where Arca differs
from MLflow" section lists every entry; run this file to print it.
"""

ALLOWED: list[tuple[tuple[str, ...], str]] = [
    (
        ("exp-create/artifact-location-*",),
        "An experiment's artifact_location may not be a local path, a file: URI or contain '..': "
        "it would point the server at its own disk (security). MLflow accepts them.",
    ),
    (
        (
            "version/*/huge",
            "stage/None/archive-true",
            "stage/none/archive-true",
            "stage/Archived/archive-true",
            "rm-search/filter-20",
            "rm-search/order-11",
            "mv-search/order-08",
            "logged-model/search-filter-01",
            "exp-get/huge",
            "exp-delete/huge",
            "run-create/exp-huge",
            "wire/registered-models-create-array",
            "wire/registered-models-create-string",
            "wire/runs-create-string",
        ),
        "MLflow answers these with a 500 (an integer overflow, an unhandled filter or order_by, "
        "archive_existing_versions into a stage that is not Staging or Production, a body that "
        "is not an object); Arca answers with a 4xx that says what was wrong.",
    ),
    (
        ("rm-name/long-*", "rm-create/description-long"),
        "Model names over 256 characters and descriptions over 5000 are refused with a 400: "
        "MLflow's schema holds them in VARCHAR(256) and VARCHAR(5000), so MLflow on PostgreSQL "
        "or MySQL fails with a 500 where MLflow on SQLite stores them. Arca answers the same on "
        "every backend.",
    ),
    (
        ("run-create/tags-long-value", "run-create/tags-empty-key"),
        "Tags sent with runs/create get the checks set-tag applies (a key is required, the value "
        "is cut at 8000 characters as MLflow cuts it on set-tag); MLflow skips them on create, so "
        "on PostgreSQL it fails with a 500 where SQLite stores them whole.",
    ),
    (
        ("rm-create/tag-value-int",),
        "A tag value that is not a string is refused with a 400; MLflow stores it as an empty "
        "string and the value is lost without a word.",
    ),
    (
        ("run-update/status-*",),
        "A run status Arca cannot read (BOGUS, or a number) is refused with a 400, and a status "
        "name is read in any case (finished); MLflow answers 200 and leaves the status as it "
        "was for a name it cannot read.",
    ),
    (
        ("mv-update/description",),
        "A model-version update without a description leaves the description as it is; MLflow "
        "erases it. The client always sends the description, so only hand-written requests see "
        "the difference.",
    ),
    (
        ("rm-search/max-results-0", "rm-search/max-results-neg"),
        "max_results below 1 is refused with a 400; MLflow returns an empty page whose "
        "next_page_token points back at the start, so a paging loop never ends.",
    ),
    (
        ("*/page-token-negative-offset",),
        "A page token holding a negative offset (only a forged token does) is refused with a "
        "400; MLflow silently starts from the first row.",
    ),
    (
        ("rm-search/filter-27",),
        "A tag filter with no key (tags. = 'x') is refused with a 400; MLflow reads it as a tag "
        "no model has and returns nothing, hiding the typo.",
    ),
    (
        (
            "wire/*-malformed",
            "wire/*-null",
            "wire/runs-create-array",
            "wire/*-invalid-utf8",
        ),
        "A body that is not a JSON object is refused as such (Invalid JSON in request body); "
        "MLflow reads it as an empty message and reports a missing field or a database error.",
    ),
]


# Deliberate differences outside the differential test's reach (artifact stores, the artifact
# proxy's multipart routes), each tested where it is built.
OTHER_DIFFERENCES: list[str] = [
    "Multipart uploads on S3 (`mpu/complete`, `mpu/abort`): an unknown `upload_id` is a 404, and "
    "parts that are missing, repeated or refused by the bucket a 400; a presigned download of a "
    "directory is a 404. MLflow answers these with a 500.",
    "A missing artifact on GCS is a 404 (MLflow's GCS repository: a 500).",
    "When the store's credentials cannot sign URLs (no private key), `mpu/create` and "
    "`presigned/` answer MLflow's 501 `NOT_IMPLEMENTED`, so the client falls back to the "
    "server instead of failing (not compared with MLflow under such credentials).",
    "A presigned download of a missing file says `No such artifact: '<path>'` where MLflow says "
    "`Not Found` (same status and error_code).",
    "A write (POST, PUT, PATCH, DELETE) to the REST API that a browser marks as coming from "
    "another site (`Sec-Fetch-Site: cross-site` or `same-site`, or an `Origin` that is not the "
    "server's host) is refused with 403 `PERMISSION_DENIED`. MLflow reads any body as JSON "
    "whatever its content type, so a page on another site could change the registry through a "
    "visitor's browser with a plain `<form enctype=\"text/plain\">`; clients that send neither "
    "header (the mlflow client, the CLI, curl) are not affected.",
    "Azure Blob destinations are written `az://container/prefix`; MLflow's "
    "`wasbs://container@account.blob.core.windows.net/...` form is not accepted yet (a gap, not "
    "a choice).",
]


def readme_section() -> str:
    lines = [
        "## Where Arca differs from MLflow",
        "",
        "`compat/test_differential.py` sends the same generated request sequences to a real "
        "`mlflow server` and to Arca and compares the answers (status, `error_code`, the body "
        "with ids and times normalized, the phrases clients match on in messages). These are "
        "the differences it allows, by case; any other difference fails the test suite.",
        "",
    ]
    for patterns, reason in ALLOWED:
        lines.append(f"- {', '.join(f'`{p}`' for p in patterns)}: {reason}")
    lines += ["", "Outside what the differential test sends:", ""]
    lines += [f"- {text}" for text in OTHER_DIFFERENCES]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(readme_section())

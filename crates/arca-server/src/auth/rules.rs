//! The route table of permissions: for every (method, route template) the server registers,
//! what a caller needs. `guard` looks each matched request up here and refuses a route that has
//! no rule (500, logged), so a route added without a rule cannot be served to anyone, with or
//! without `--auth`. The route-table test walks this table: every entry must be a route the
//! server answers, refuse the anonymous (unless it is listed as public) and refuse a caller who
//! lacks the permission.
//!
//! Templates are written relative to the server's root without `--static-prefix`; the UI's
//! `/ajax-api/` twins of the REST routes share the `/api/` rules.

use arca_core::auth::Permission::{self, Edit, Manage, Read};
use axum::http::Method;

/// Where a request names the resource it acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locate {
    /// A field of the MLflow message: the query string of a GET, else the JSON body, read by
    /// the same parser the handlers use (`extract::message_fields`).
    Field(&'static str),
    /// `run_id`, or the legacy `run_uuid` when `run_id` is missing or empty, as the tracking
    /// handlers pick it (`api::tracking::run_id_arg`).
    RunField,
    /// A `{param}` of the route template.
    Path(&'static str),
    /// A field of a UI form, trimmed as the form handler trims it.
    FormTrimmed(&'static str),
    /// A field holding a `models:/` URI: the model it names.
    ModelUri(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Served to anyone: health, static assets, the login page, server-info (as MLflow).
    Public,
    /// Any signed-in user; the handler shows only what the caller may read, or acts on the
    /// caller's own account.
    Signed,
    Admin,
    Experiment(Locate, Permission),
    /// The experiment by its name (`experiment_name`).
    ExperimentNamed(Locate, Permission),
    Run(Locate, Permission),
    LoggedModel(Locate, Permission),
    Model(Locate, Permission),
    /// EDIT on the model, and MANAGE (or membership of the protection's group) when the stage
    /// (`stage` field) or alias (`alias` field) is protected on that model.
    ModelMove(Locate),
    /// A new version: EDIT on the model (`name`) and READ on what the version is made from, as
    /// MLflow's `validate_can_create_model_version` has it: a `models:/<name>/...` source needs
    /// READ on that registered model (and nothing else); otherwise a given `run_id` needs READ
    /// on its run, a given `model_id` and a `models:/<logged model id>` source on that logged
    /// model. A source that does not exist is refused like one the caller may not read, so
    /// the answer does not tell which ids exist.
    NewVersion,
    /// The UI's "register this run's model" form: READ on the run (the `{id}` of the path; the
    /// form may only name the run's own folders and logged models), and EDIT on the model the
    /// form names, unless there is no such model yet: then the caller creates it, as with
    /// `registered-models/create`, and manages it.
    RegisterRun,
    /// The experiment that owns an artifact proxy path (its first segment).
    ArtifactPath(Permission),
    /// The artifact listing's `path` query field, owned like `ArtifactPath`.
    ArtifactListing,
    /// Arca's manifest: the run, logged model, version or path it names.
    Manifest,
    /// The user named by `username`: the caller themself, or an admin.
    SelfOrAdmin,
    /// MANAGE on the resource a grant names (`resource_type`, `resource_id`), or an admin.
    GrantOnResource,
    /// Changing a role, its grants or who has it: an admin, or an admin of the role's
    /// workspace (the role named by `role_id` or `role_permission_id`, or the `workspace` of a
    /// new one), as MLflow.
    RoleManage,
    /// Reading a role: an admin, or a user present in the role's workspace.
    RoleView,
    /// Listing roles: an admin; others only for `workspace`s they are all present in.
    RoleList,
    /// An admin, or an admin of any workspace (who may need to make an account before giving
    /// it a role, as on MLflow).
    AnyWorkspaceAdmin,
    /// The roles of the user named by `username`: that user, an admin, or an admin of a
    /// workspace that user is present in.
    UserRoles,
    /// Searches whose `experiment_ids` must all be readable.
    Experiments(Permission),
}

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub method: &'static str,
    pub path: &'static str,
    pub need: Need,
}

const fn r(method: &'static str, path: &'static str, need: Need) -> Rule {
    Rule { method, path, need }
}

use Locate::{Field, ModelUri, Path, RunField};
use Need::*;

const NAME: Locate = Field("name");
const EXP: Locate = Field("experiment_id");
const LM: Locate = Path("model_id");

/// Every route the server serves, and what it needs.
pub static RULES: &[Rule] = &[
    // Health, version, metrics and the UI's own files.
    r("GET", "/health", Public),
    r("GET", "/ready", Public),
    r("GET", "/version", Public),
    r("GET", "/metrics", Signed),
    r("GET", "/static/{file}", Public),
    r("GET", "/login", Public),
    r("POST", "/login", Public),
    r("POST", "/logout", Signed),
    // Tracking: experiments.
    // The creator's MANAGE is written with the experiment or model (`create_*_by`).
    r("POST", "/api/2.0/mlflow/experiments/create", Signed),
    r(
        "GET",
        "/api/2.0/mlflow/experiments/get",
        Experiment(EXP, Read),
    ),
    r("POST", "/api/2.0/mlflow/experiments/search", Signed),
    r("GET", "/api/2.0/mlflow/experiments/search", Signed),
    r(
        "GET",
        "/api/2.0/mlflow/experiments/get-by-name",
        ExperimentNamed(Field("experiment_name"), Read),
    ),
    r(
        "POST",
        "/api/2.0/mlflow/experiments/update",
        Experiment(EXP, Edit),
    ),
    r(
        "POST",
        "/api/2.0/mlflow/experiments/delete",
        Experiment(EXP, Manage),
    ),
    r(
        "POST",
        "/api/2.0/mlflow/experiments/restore",
        Experiment(EXP, Manage),
    ),
    r(
        "POST",
        "/api/2.0/mlflow/experiments/set-experiment-tag",
        Experiment(EXP, Edit),
    ),
    r(
        "POST",
        "/api/2.0/mlflow/experiments/delete-experiment-tag",
        Experiment(EXP, Edit),
    ),
    // Tracking: runs.
    r("POST", "/api/2.0/mlflow/runs/search", Experiments(Read)),
    r("GET", "/api/2.0/mlflow/runs/search", Experiments(Read)),
    r("POST", "/api/2.0/mlflow/runs/create", Experiment(EXP, Edit)),
    r("GET", "/api/2.0/mlflow/runs/get", Run(RunField, Read)),
    r("POST", "/api/2.0/mlflow/runs/update", Run(RunField, Edit)),
    r("POST", "/api/2.0/mlflow/runs/delete", Run(RunField, Manage)),
    r(
        "POST",
        "/api/2.0/mlflow/runs/restore",
        Run(RunField, Manage),
    ),
    r(
        "POST",
        "/api/2.0/mlflow/runs/log-metric",
        Run(RunField, Edit),
    ),
    r(
        "POST",
        "/api/2.0/mlflow/runs/log-parameter",
        Run(RunField, Edit),
    ),
    r("POST", "/api/2.0/mlflow/runs/set-tag", Run(RunField, Edit)),
    r(
        "POST",
        "/api/2.0/mlflow/runs/delete-tag",
        Run(RunField, Edit),
    ),
    r(
        "POST",
        "/api/2.0/mlflow/runs/log-batch",
        Run(RunField, Edit),
    ),
    r(
        "POST",
        "/api/2.0/mlflow/runs/log-inputs",
        Run(RunField, Edit),
    ),
    r("POST", "/api/2.0/mlflow/runs/outputs", Run(RunField, Edit)),
    r(
        "GET",
        "/api/2.0/mlflow/metrics/get-history",
        Run(RunField, Read),
    ),
    r("GET", "/api/2.0/mlflow/artifacts/list", Run(RunField, Read)),
    // Tracking: MLflow 3 logged models.
    r(
        "POST",
        "/api/2.0/mlflow/logged-models/search",
        Experiments(Read),
    ),
    r(
        "POST",
        "/api/2.0/mlflow/logged-models",
        Experiment(EXP, Edit),
    ),
    r(
        "GET",
        "/api/2.0/mlflow/logged-models/{model_id}",
        LoggedModel(LM, Read),
    ),
    r(
        "PATCH",
        "/api/2.0/mlflow/logged-models/{model_id}",
        LoggedModel(LM, Edit),
    ),
    r(
        "DELETE",
        "/api/2.0/mlflow/logged-models/{model_id}",
        LoggedModel(LM, Manage),
    ),
    r(
        "PATCH",
        "/api/2.0/mlflow/logged-models/{model_id}/tags",
        LoggedModel(LM, Edit),
    ),
    r(
        "DELETE",
        "/api/2.0/mlflow/logged-models/{model_id}/tags/{tag_key}",
        LoggedModel(LM, Manage),
    ),
    r(
        "POST",
        "/api/2.0/mlflow/logged-models/{model_id}/params",
        LoggedModel(LM, Edit),
    ),
    r(
        "GET",
        "/api/2.0/mlflow/logged-models/{model_id}/artifacts/directories",
        LoggedModel(LM, Read),
    ),
    // Model registry.
    r("POST", "/api/2.0/mlflow/registered-models/create", Signed),
    r(
        "POST",
        "/api/2.0/mlflow/registered-models/rename",
        Model(NAME, Edit),
    ),
    r(
        "PATCH",
        "/api/2.0/mlflow/registered-models/update",
        Model(NAME, Edit),
    ),
    r(
        "DELETE",
        "/api/2.0/mlflow/registered-models/delete",
        Model(NAME, Manage),
    ),
    r(
        "GET",
        "/api/2.0/mlflow/registered-models/get",
        Model(NAME, Read),
    ),
    r("GET", "/api/2.0/mlflow/registered-models/search", Signed),
    r(
        "POST",
        "/api/2.0/mlflow/registered-models/get-latest-versions",
        Model(NAME, Read),
    ),
    r(
        "GET",
        "/api/2.0/mlflow/registered-models/get-latest-versions",
        Model(NAME, Read),
    ),
    r(
        "POST",
        "/api/2.0/mlflow/registered-models/set-tag",
        Model(NAME, Edit),
    ),
    r(
        "DELETE",
        "/api/2.0/mlflow/registered-models/delete-tag",
        Model(NAME, Edit),
    ),
    r(
        "POST",
        "/api/2.0/mlflow/registered-models/alias",
        ModelMove(NAME),
    ),
    r(
        "DELETE",
        "/api/2.0/mlflow/registered-models/alias",
        ModelMove(NAME),
    ),
    r(
        "GET",
        "/api/2.0/mlflow/registered-models/alias",
        Model(NAME, Read),
    ),
    r("POST", "/api/2.0/mlflow/model-versions/create", NewVersion),
    r(
        "PATCH",
        "/api/2.0/mlflow/model-versions/update",
        Model(NAME, Edit),
    ),
    r(
        "POST",
        "/api/2.0/mlflow/model-versions/transition-stage",
        ModelMove(NAME),
    ),
    r(
        "DELETE",
        "/api/2.0/mlflow/model-versions/delete",
        Model(NAME, Manage),
    ),
    r(
        "GET",
        "/api/2.0/mlflow/model-versions/get",
        Model(NAME, Read),
    ),
    r("GET", "/api/2.0/mlflow/model-versions/search", Signed),
    r(
        "GET",
        "/api/2.0/mlflow/model-versions/get-download-uri",
        Model(NAME, Read),
    ),
    r(
        "POST",
        "/api/2.0/mlflow/model-versions/set-tag",
        Model(NAME, Edit),
    ),
    r(
        "DELETE",
        "/api/2.0/mlflow/model-versions/delete-tag",
        Model(NAME, Manage),
    ),
    // The artifact proxy and its multipart routes, by the experiment owning the path.
    r(
        "GET",
        "/api/2.0/mlflow-artifacts/artifacts",
        ArtifactListing,
    ),
    r(
        "GET",
        "/api/2.0/mlflow-artifacts/artifacts/{*path}",
        ArtifactPath(Read),
    ),
    r(
        "PUT",
        "/api/2.0/mlflow-artifacts/artifacts/{*path}",
        ArtifactPath(Edit),
    ),
    r(
        "DELETE",
        "/api/2.0/mlflow-artifacts/artifacts/{*path}",
        ArtifactPath(Manage),
    ),
    r(
        "POST",
        "/api/2.0/mlflow-artifacts/mpu/create/{*path}",
        ArtifactPath(Edit),
    ),
    r(
        "POST",
        "/api/2.0/mlflow-artifacts/mpu/complete/{*path}",
        ArtifactPath(Edit),
    ),
    r(
        "POST",
        "/api/2.0/mlflow-artifacts/mpu/abort/{*path}",
        ArtifactPath(Edit),
    ),
    r(
        "GET",
        "/api/2.0/mlflow-artifacts/presigned/{*path}",
        ArtifactPath(Read),
    ),
    r("GET", "/api/3.0/mlflow/server-info", Public),
    r("GET", "/api/2.0/arca/artifacts/manifest", Manifest),
    // MLflow's basic-auth endpoints.
    r("POST", "/api/2.0/mlflow/users/create", AnyWorkspaceAdmin),
    r("GET", "/api/2.0/mlflow/users/get", SelfOrAdmin),
    r("GET", "/api/2.0/mlflow/users/list", Signed),
    r("GET", "/api/2.0/mlflow/users/current", Signed),
    r(
        "PATCH",
        "/api/2.0/mlflow/users/update-password",
        SelfOrAdmin,
    ),
    r("PATCH", "/api/2.0/mlflow/users/update-admin", Admin),
    r("DELETE", "/api/2.0/mlflow/users/delete", Admin),
    r(
        "POST",
        "/api/3.0/mlflow/users/permissions/grant",
        GrantOnResource,
    ),
    r(
        "POST",
        "/api/3.0/mlflow/users/permissions/revoke",
        GrantOnResource,
    ),
    r("GET", "/api/3.0/mlflow/users/permissions/get", SelfOrAdmin),
    // MLflow's roles.
    r("POST", "/api/3.0/mlflow/roles/create", RoleManage),
    r("GET", "/api/3.0/mlflow/roles/get", RoleView),
    r("GET", "/api/3.0/mlflow/roles/list", RoleList),
    r("PATCH", "/api/3.0/mlflow/roles/update", RoleManage),
    r("DELETE", "/api/3.0/mlflow/roles/delete", RoleManage),
    r("POST", "/api/3.0/mlflow/roles/permissions/add", RoleManage),
    r(
        "DELETE",
        "/api/3.0/mlflow/roles/permissions/remove",
        RoleManage,
    ),
    r("GET", "/api/3.0/mlflow/roles/permissions/list", RoleView),
    r(
        "PATCH",
        "/api/3.0/mlflow/roles/permissions/update",
        RoleManage,
    ),
    r("POST", "/api/3.0/mlflow/roles/assign", RoleManage),
    r("DELETE", "/api/3.0/mlflow/roles/unassign", RoleManage),
    r("GET", "/api/3.0/mlflow/roles/users/list", RoleManage),
    r("GET", "/api/3.0/mlflow/users/roles/list", UserRoles),
    // Arca's own: API tokens, protected stages and aliases, a model's grants.
    r("POST", "/api/2.0/arca/tokens/create", Signed),
    r("GET", "/api/2.0/arca/tokens/list", Signed),
    r("POST", "/api/2.0/arca/tokens/revoke", Signed),
    r(
        "GET",
        "/api/2.0/arca/registered-models/protections",
        Model(NAME, Read),
    ),
    r(
        "POST",
        "/api/2.0/arca/registered-models/protections",
        Model(NAME, Manage),
    ),
    r(
        "GET",
        "/api/2.0/arca/registered-models/permissions",
        Model(NAME, Manage),
    ),
    // Arca's history, time travel and diff (issue 11): the model's READ, moving an alias back
    // as moving it.
    r("GET", "/api/2.0/arca/history", Model(NAME, Read)),
    r("GET", "/api/2.0/arca/resolve", Model(ModelUri("uri"), Read)),
    r("POST", "/api/2.0/arca/aliases/rollback", ModelMove(NAME)),
    r("GET", "/api/2.0/arca/diff", Model(NAME, Read)),
    // Webhooks and the event feed carry every model's changes: admins only.
    r("POST", "/api/2.0/mlflow/webhooks", Admin),
    r("GET", "/api/2.0/mlflow/webhooks", Admin),
    r("GET", "/api/2.0/mlflow/webhooks/{webhook_id}", Admin),
    r("PATCH", "/api/2.0/mlflow/webhooks/{webhook_id}", Admin),
    r("DELETE", "/api/2.0/mlflow/webhooks/{webhook_id}", Admin),
    r("POST", "/api/2.0/mlflow/webhooks/{webhook_id}/test", Admin),
    r(
        "GET",
        "/api/2.0/arca/webhooks/{webhook_id}/deliveries",
        Admin,
    ),
    r(
        "POST",
        "/api/2.0/arca/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
        Admin,
    ),
    r("GET", "/api/2.0/arca/events", Admin),
    // The web UI.
    r("GET", "/", Signed),
    r("GET", "/models", Signed),
    r("GET", "/upload", Signed),
    r("GET", "/experiments", Signed),
    r("GET", "/experiments/{id}", Experiment(Path("id"), Read)),
    r("GET", "/runs/{id}", Run(Path("id"), Read)),
    r("GET", "/runs/{id}/artifacts", Run(Path("id"), Read)),
    r("GET", "/runs/{id}/register", Run(Path("id"), Read)),
    r("POST", "/runs/{id}/register", RegisterRun),
    r("GET", "/models/{name}", Model(Path("name"), Read)),
    r("GET", "/models/{name}/compare", Model(Path("name"), Read)),
    r(
        "GET",
        "/models/{name}/permissions",
        Model(Path("name"), Manage),
    ),
    r(
        "POST",
        "/models/{name}/permissions",
        Model(Path("name"), Manage),
    ),
    r("GET", "/models/{name}/chart", Model(Path("name"), Read)),
    r(
        "POST",
        "/models/{name}/description",
        Model(Path("name"), Edit),
    ),
    r("POST", "/models/{name}/tags", Model(Path("name"), Edit)),
    r(
        "POST",
        "/models/{name}/tags/delete",
        Model(Path("name"), Edit),
    ),
    r(
        "POST",
        "/models/{name}/aliases/delete",
        ModelMove(Path("name")),
    ),
    r("POST", "/models/{name}/rename", Model(Path("name"), Edit)),
    r("POST", "/models/{name}/delete", Model(Path("name"), Manage)),
    r(
        "GET",
        "/models/{name}/versions/{version}",
        Model(Path("name"), Read),
    ),
    r(
        "GET",
        "/models/{name}/versions/{version}/image",
        Model(Path("name"), Read),
    ),
    r(
        "POST",
        "/models/{name}/versions/{version}/description",
        Model(Path("name"), Edit),
    ),
    r(
        "POST",
        "/models/{name}/versions/{version}/tags",
        Model(Path("name"), Edit),
    ),
    r(
        "POST",
        "/models/{name}/versions/{version}/tags/delete",
        Model(Path("name"), Manage),
    ),
    r(
        "POST",
        "/models/{name}/versions/{version}/stage",
        ModelMove(Path("name")),
    ),
    r(
        "POST",
        "/models/{name}/versions/{version}/aliases",
        ModelMove(Path("name")),
    ),
    r(
        "POST",
        "/models/{name}/versions/{version}/aliases/delete",
        ModelMove(Path("name")),
    ),
    r(
        "POST",
        "/models/{name}/versions/{version}/delete",
        Model(Path("name"), Manage),
    ),
    r("GET", "/models/{name}/history", Model(Path("name"), Read)),
    // Webhooks see every model's changes: admins only, in the API and in the UI.
    r("GET", "/webhooks", Admin),
    r("GET", "/webhooks/{id}", Admin),
    r("POST", "/webhooks/{id}/redeliver", Admin),
    r("GET", "/admin/users", Admin),
    r("POST", "/admin/users", Admin),
    r("GET", "/account/tokens", Signed),
    r("POST", "/account/tokens", Signed),
];

/// The rule for a request, by its method and matched template (already without the static
/// prefix). HEAD is answered by the GET route. `Err(true)` when the template has rules for other
/// methods only (the router answers 405), `Err(false)` when it has none at all.
pub fn lookup(method: &Method, template: &str) -> Result<&'static Rule, bool> {
    let template = normalize(template);
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    let mut other_methods = false;
    for rule in RULES {
        if rule.path == template {
            if rule.method == method {
                return Ok(rule);
            }
            other_methods = true;
        }
    }
    Err(other_methods)
}

/// `/ajax-api/...` is the same endpoint as `/api/...`.
fn normalize(template: &str) -> std::borrow::Cow<'_, str> {
    match template.strip_prefix("/ajax-api/") {
        Some(rest) => format!("/api/{rest}").into(),
        None => template.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_listed_once() {
        for (i, a) in RULES.iter().enumerate() {
            assert!(
                !RULES[i + 1..]
                    .iter()
                    .any(|b| a.method == b.method && a.path == b.path),
                "{} {} is listed twice",
                a.method,
                a.path
            );
        }
    }

    #[test]
    fn ajax_routes_share_the_api_rules_and_head_the_get_rule() {
        let rule = lookup(&Method::GET, "/ajax-api/2.0/mlflow/registered-models/get").unwrap();
        assert_eq!(rule.path, "/api/2.0/mlflow/registered-models/get");
        assert!(lookup(&Method::HEAD, "/health").is_ok());
        assert!(lookup(&Method::POST, "/api/2.0/mlflow/registered-models/get").unwrap_err());
        assert!(!lookup(&Method::GET, "/not-a-route").unwrap_err());
    }
}

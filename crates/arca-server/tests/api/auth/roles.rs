//! Roles, as MLflow's basic-auth app serves them: an admin makes a role, gives it grants on one
//! resource or on `*`, and assigns users; what those users may do and see follows, together
//! with their own grants (a DENY anywhere wins, else the highest). A role can also be the group
//! of a protected stage or alias. The server runs with default permission NO_PERMISSIONS.

use super::{ADMIN, Who};
use crate::helpers::{Backend, TestApp};
use arca_core::auth::Permission;
use reqwest::Method;
use serde_json::{Value, json};

crate::on_both_backends_with_auth!(
    a_roles_grants_reach_its_members_and_searches_page_over_them,
    a_deny_of_ones_own_beats_a_roles_grant_and_the_highest_grant_wins,
    prompts_and_models_are_granted_apart_and_other_workspaces_grant_nothing,
    a_workspace_admin_manages_every_resource_and_the_roles_not_the_users,
    role_endpoints_answer_as_mlflow_does,
    a_protected_stage_or_alias_admits_its_groups_members,
);

impl TestApp {
    async fn roles(&self, who: &Who, method: Method, path: &str, body: Value) -> (u16, Value) {
        self.call(who, method, &format!("/api/3.0/mlflow/{path}"), body)
            .await
    }

    async fn new_role(&self, name: &str, workspace: &str) -> i64 {
        let (status, body) = self
            .roles(
                &ADMIN,
                Method::POST,
                "roles/create",
                json!({"workspace": workspace, "name": name}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["role"]["id"].as_i64().unwrap()
    }

    async fn role_grant(&self, role: i64, kind: &str, pattern: &str, permission: &str) -> i64 {
        let (status, body) = self
            .roles(
                &ADMIN,
                Method::POST,
                "roles/permissions/add",
                json!({"role_id": role, "resource_type": kind, "resource_pattern": pattern,
                       "permission": permission}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["role_permission"]["id"].as_i64().unwrap()
    }

    async fn assign(&self, username: &str, role: i64) {
        let (status, body) = self
            .roles(
                &ADMIN,
                Method::POST,
                "roles/assign",
                json!({"username": username, "role_id": role}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    async fn model(&self, name: &str) {
        self.ok(
            &ADMIN,
            Method::POST,
            "registered-models/create",
            json!({"name": name}),
        )
        .await;
        self.ok(
            &ADMIN,
            Method::POST,
            "model-versions/create",
            json!({"name": name, "source": "s3://b/m"}),
        )
        .await;
    }

    async fn status_of(&self, who: &Who, method: Method, path: &str, body: Value) -> u16 {
        self.api(who, method, path, body).await.0
    }

    /// The names a user's paged model search returns, with `page` results a page; every page
    /// but the last must be full.
    async fn searched_models(&self, who: &Who, page: u32) -> Vec<String> {
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = json!({"max_results": page.to_string()});
            if let Some(t) = &token {
                query["page_token"] = json!(t);
            }
            let body = self
                .ok(who, Method::GET, "registered-models/search", query)
                .await;
            let names: Vec<String> = body["registered_models"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_owned())
                .collect();
            token = body["next_page_token"].as_str().map(str::to_owned);
            if token.is_some() {
                assert_eq!(names.len() as u32, page, "a page before the last is full");
            }
            seen.extend(names);
            if token.is_none() {
                return seen;
            }
        }
    }

    async fn effective(&self, user: &str, kind: &str, id: &str) -> String {
        let (status, body) = self
            .call(
                &ADMIN,
                Method::GET,
                "/api/3.0/mlflow/users/permissions/get",
                json!({"username": user, "resource_type": kind, "resource_id": id}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["permission"].as_str().unwrap().to_owned()
    }
}

async fn a_roles_grants_reach_its_members_and_searches_page_over_them(app: TestApp) {
    app.add_user("rita", "rita-password-1").await;
    let rita = Who::Basic("rita", "rita-password-1");
    for i in 0..7 {
        app.model(&format!("m{i}")).await;
    }
    let readers = app.new_role("readers", "default").await;
    app.role_grant(readers, "registered_model", "m1", "READ")
        .await;
    app.role_grant(readers, "registered_model", "m4", "READ")
        .await;
    // Not yet assigned: the role's grants are not rita's.
    assert_eq!(
        app.status_of(
            &rita,
            Method::GET,
            "registered-models/get",
            json!({"name": "m1"})
        )
        .await,
        403
    );
    app.assign("rita", readers).await;
    app.grant("rita", "registered_model", "m5", "READ").await;
    assert_eq!(
        app.status_of(
            &rita,
            Method::GET,
            "registered-models/get",
            json!({"name": "m1"})
        )
        .await,
        200
    );
    assert_eq!(
        app.effective("rita", "registered_model", "m4").await,
        "READ"
    );
    assert_eq!(
        app.effective("rita", "registered_model", "m0").await,
        "NO_PERMISSIONS"
    );
    // Her own grant and her role's, in one search, with full pages.
    assert_eq!(app.searched_models(&rita, 2).await, ["m1", "m4", "m5"]);
    let body = app
        .ok(
            &rita,
            Method::GET,
            "model-versions/search",
            json!({"max_results": "100"}),
        )
        .await;
    let mut names: Vec<&str> = body["model_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["m1", "m4", "m5"]);
    // A role on every registered model, and experiments by id.
    let all = app.new_role("everything", "default").await;
    app.role_grant(all, "registered_model", "*", "READ").await;
    app.assign("rita", all).await;
    assert_eq!(
        app.searched_models(&rita, 3).await,
        ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]
    );
    let exp = app.create_experiment(&ADMIN, "role-exp").await;
    app.ok(
        &ADMIN,
        Method::POST,
        "experiments/create",
        json!({"name": "hidden-exp"}),
    )
    .await;
    app.role_grant(readers, "experiment", &exp, "READ").await;
    let body = app
        .ok(
            &rita,
            Method::POST,
            "experiments/search",
            json!({"max_results": 100}),
        )
        .await;
    let found: Vec<&str> = body["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(found, ["role-exp"]);
    // Unassigned, the role's grants go with it; her own stays.
    let (status, _) = app
        .roles(
            &ADMIN,
            Method::DELETE,
            "roles/unassign",
            json!({"username": "rita", "role_id": all}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .roles(
            &ADMIN,
            Method::DELETE,
            "roles/delete",
            json!({"role_id": readers}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.searched_models(&rita, 2).await, ["m5"]);
    assert_eq!(
        app.status_of(
            &rita,
            Method::GET,
            "experiments/get",
            json!({"experiment_id": exp})
        )
        .await,
        403
    );
}

async fn a_deny_of_ones_own_beats_a_roles_grant_and_the_highest_grant_wins(app: TestApp) {
    app.add_user("dan", "dan-password-1").await;
    let dan = Who::Basic("dan", "dan-password-1");
    for name in ["alpha", "beta", "gamma"] {
        app.model(name).await;
    }
    let readers = app.new_role("all-readers", "default").await;
    app.role_grant(readers, "registered_model", "*", "READ")
        .await;
    let editors = app.new_role("alpha-editors", "default").await;
    app.role_grant(editors, "registered_model", "alpha", "EDIT")
        .await;
    app.assign("dan", readers).await;
    app.assign("dan", editors).await;
    app.grant("dan", "registered_model", "gamma", "DENY").await;
    // The highest of READ (everything) and EDIT (alpha) on alpha.
    assert_eq!(
        app.effective("dan", "registered_model", "alpha").await,
        "EDIT"
    );
    assert_eq!(
        app.status_of(
            &dan,
            Method::PATCH,
            "registered-models/update",
            json!({"name": "alpha", "description": "edited by a role"})
        )
        .await,
        200
    );
    assert_eq!(
        app.status_of(
            &dan,
            Method::PATCH,
            "registered-models/update",
            json!({"name": "beta", "description": "no"})
        )
        .await,
        403
    );
    // His own DENY on gamma beats the role's READ, in point reads and in searches.
    assert_eq!(
        app.effective("dan", "registered_model", "gamma").await,
        "DENY"
    );
    assert_eq!(
        app.status_of(
            &dan,
            Method::GET,
            "registered-models/get",
            json!({"name": "gamma"})
        )
        .await,
        403
    );
    assert_eq!(app.searched_models(&dan, 1).await, ["alpha", "beta"]);
    // A DENY in a role beats his own MANAGE too.
    app.grant("dan", "registered_model", "beta", "MANAGE").await;
    let veto = app.new_role("beta-veto", "default").await;
    app.role_grant(veto, "registered_model", "beta", "DENY")
        .await;
    app.assign("dan", veto).await;
    assert_eq!(
        app.effective("dan", "registered_model", "beta").await,
        "DENY"
    );
    assert_eq!(app.searched_models(&dan, 5).await, ["alpha"]);
    // The grant follows the role's change of level.
    let (status, body) = app
        .roles(
            &ADMIN,
            Method::GET,
            "roles/permissions/list",
            json!({"role_id": editors}),
        )
        .await;
    assert_eq!(status, 200);
    let id = body["role_permissions"][0]["id"].as_i64().unwrap();
    let (status, body) = app
        .roles(
            &ADMIN,
            Method::PATCH,
            "roles/permissions/update",
            json!({"role_permission_id": id, "permission": "MANAGE"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role_permission"]["permission"], "MANAGE");
    assert_eq!(
        app.effective("dan", "registered_model", "alpha").await,
        "MANAGE"
    );
}

async fn prompts_and_models_are_granted_apart_and_other_workspaces_grant_nothing(app: TestApp) {
    app.add_user("pia", "pia-password-1").await;
    let pia = Who::Basic("pia", "pia-password-1");
    app.model("plain").await;
    app.ok(
        &ADMIN,
        Method::POST,
        "registered-models/create",
        json!({"name": "greeting", "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]}),
    )
    .await;
    let models = app.new_role("model-readers", "default").await;
    app.role_grant(models, "registered_model", "*", "READ")
        .await;
    app.assign("pia", models).await;
    let get = |name: &'static str| json!({"name": name});
    assert_eq!(
        app.status_of(&pia, Method::GET, "registered-models/get", get("plain"))
            .await,
        200
    );
    assert_eq!(
        app.status_of(&pia, Method::GET, "registered-models/get", get("greeting"))
            .await,
        403,
        "a registered_model grant does not open a prompt"
    );
    let prompts = app.new_role("prompt-readers", "default").await;
    app.role_grant(prompts, "prompt", "*", "READ").await;
    app.assign("pia", prompts).await;
    assert_eq!(
        app.status_of(&pia, Method::GET, "registered-models/get", get("greeting"))
            .await,
        200
    );
    // A role of another workspace grants nothing here: Arca has only the default one.
    let elsewhere = app.new_role("model-managers", "team-a").await;
    app.role_grant(elsewhere, "registered_model", "*", "MANAGE")
        .await;
    app.assign("pia", elsewhere).await;
    assert_eq!(
        app.effective("pia", "registered_model", "plain").await,
        "READ"
    );
    assert_eq!(
        app.status_of(
            &pia,
            Method::DELETE,
            "registered-models/delete",
            get("plain")
        )
        .await,
        403
    );
}

async fn a_workspace_admin_manages_every_resource_and_the_roles_not_the_users(app: TestApp) {
    app.add_user("wade", "wade-password-1").await;
    app.add_user("other", "other-password-1").await;
    let wade = Who::Basic("wade", "wade-password-1");
    app.model("owned-by-admin").await;
    let admins = app.new_role("ws-admins", "default").await;
    app.role_grant(admins, "workspace", "*", "MANAGE").await;
    // Even a DENY of his own does not hold against it, as on MLflow.
    app.grant("wade", "registered_model", "owned-by-admin", "DENY")
        .await;
    app.assign("wade", admins).await;
    assert_eq!(
        app.effective("wade", "registered_model", "owned-by-admin")
            .await,
        "MANAGE"
    );
    assert_eq!(app.searched_models(&wade, 10).await, ["owned-by-admin"]);
    // He manages the default workspace's roles, not another workspace's.
    let (status, body) = app
        .roles(
            &wade,
            Method::POST,
            "roles/create",
            json!({"workspace": "default", "name": "made-by-wade"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let made = body["role"]["id"].as_i64().unwrap();
    let (status, _) = app
        .roles(
            &wade,
            Method::POST,
            "roles/assign",
            json!({"username": "other", "role_id": made}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .roles(
            &wade,
            Method::POST,
            "roles/create",
            json!({"workspace": "team-b", "name": "not-his"}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .roles(
            &wade,
            Method::GET,
            "users/roles/list",
            json!({"username": "other"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["roles"][0]["name"], "made-by-wade");
    // He may make an account to give it a role, as on MLflow; not delete one or make admins.
    let (status, body) = app
        .api(
            &wade,
            Method::POST,
            "users/create",
            json!({"username": "new", "password": "new-password-1"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for (method, path, body) in [
        (Method::DELETE, "users/delete", json!({"username": "new"})),
        (
            Method::PATCH,
            "users/update-admin",
            json!({"username": "new", "is_admin": true}),
        ),
    ] {
        assert_eq!(
            app.status_of(&wade, method, path, body).await,
            403,
            "{path}"
        );
    }
    // The whole-workspace admin listing is an admin's.
    let (status, _) = app.roles(&wade, Method::GET, "roles/list", json!({})).await;
    assert_eq!(status, 403);
    let (status, body) = app
        .roles(
            &wade,
            Method::GET,
            "roles/list",
            json!({"workspace": "default"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ws-admins", "made-by-wade"]);
}

async fn role_endpoints_answer_as_mlflow_does(app: TestApp) {
    app.add_user("nobody", "nobody-password-1").await;
    let nobody = Who::Basic("nobody", "nobody-password-1");
    let (status, body) = app
        .roles(
            &ADMIN,
            Method::POST,
            "roles/create",
            json!({"workspace": "default", "name": "ops", "description": "on call"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["role"]["id"].as_i64().unwrap();
    assert_eq!(
        body["role"],
        json!({"id": id, "name": "ops", "workspace": "default", "description": "on call",
               "permissions": []})
    );
    let cases: Vec<(Method, &str, Value, u16, &str, &str)> = vec![
        (
            Method::POST,
            "roles/create",
            json!({"workspace": "default", "name": "ops"}),
            400,
            "RESOURCE_ALREADY_EXISTS",
            "Role (name=ops, workspace=default) already exists.",
        ),
        (
            Method::POST,
            "roles/create",
            json!({"workspace": "default", "name": "__user_7__"}),
            400,
            "INVALID_PARAMETER_VALUE",
            "reserved '__user_' prefix",
        ),
        (
            Method::POST,
            "roles/create",
            json!({"name": "x"}),
            400,
            "INVALID_PARAMETER_VALUE",
            "Missing value for required parameter 'workspace'",
        ),
        (
            Method::POST,
            "roles/create",
            json!({"workspace": "default", "name": " "}),
            400,
            "INVALID_PARAMETER_VALUE",
            "Role name cannot be empty.",
        ),
        (
            Method::GET,
            "roles/get",
            json!({"role_id": "abc"}),
            400,
            "INVALID_PARAMETER_VALUE",
            "Parameter 'role_id' must be an integer. Got: 'abc'",
        ),
        (
            Method::GET,
            "roles/get",
            json!({"role_id": "999999"}),
            404,
            "RESOURCE_DOES_NOT_EXIST",
            "Role with id=999999 not found",
        ),
        (
            Method::GET,
            "roles/list",
            json!({"workspace": ""}),
            400,
            "INVALID_PARAMETER_VALUE",
            "Parameter 'workspace' must be a non-empty string when provided.",
        ),
        (
            Method::PATCH,
            "roles/update",
            json!({"role_id": id}),
            400,
            "INVALID_PARAMETER_VALUE",
            "At least one of 'name' or 'description' must be provided to update a role.",
        ),
        (
            Method::POST,
            "roles/permissions/add",
            json!({"role_id": id, "resource_type": "workspace", "resource_pattern": "*",
                   "permission": "READ"}),
            400,
            "INVALID_PARAMETER_VALUE",
            "Workspace-wide grants accept only: ('MANAGE', 'USE').",
        ),
        (
            Method::POST,
            "roles/permissions/add",
            json!({"role_id": id, "resource_type": "experiment", "resource_pattern": "*",
                   "permission": "NO_PERMISSIONS"}),
            400,
            "INVALID_PARAMETER_VALUE",
            "Resource-level grants accept only",
        ),
        (
            Method::POST,
            "roles/permissions/add",
            json!({"role_id": id, "resource_type": "nope", "resource_pattern": "*",
                   "permission": "READ"}),
            400,
            "INVALID_PARAMETER_VALUE",
            "Invalid resource type 'nope'.",
        ),
        (
            Method::POST,
            "roles/permissions/add",
            json!({"role_id": id, "resource_type": "run", "resource_pattern": "*",
                   "permission": "DENY"}),
            400,
            "INVALID_PARAMETER_VALUE",
            "Arca does not keep grants on resource_type 'run'",
        ),
        (
            Method::POST,
            "roles/permissions/add",
            json!({"role_id": 999999, "resource_type": "experiment", "resource_pattern": "*",
                   "permission": "READ"}),
            404,
            "RESOURCE_DOES_NOT_EXIST",
            "Role with id=999999 not found",
        ),
        (
            Method::DELETE,
            "roles/permissions/remove",
            json!({"role_permission_id": 999999}),
            404,
            "RESOURCE_DOES_NOT_EXIST",
            "Role permission with id=999999 not found",
        ),
        (
            Method::POST,
            "roles/assign",
            json!({"username": "ghost", "role_id": id}),
            404,
            "RESOURCE_DOES_NOT_EXIST",
            "User with username=ghost not found",
        ),
        (
            Method::DELETE,
            "roles/unassign",
            json!({"username": "nobody", "role_id": id}),
            404,
            "RESOURCE_DOES_NOT_EXIST",
            "not found",
        ),
    ];
    for (method, path, body, status, code, message) in cases {
        let (got, answer) = app.roles(&ADMIN, method, path, body.clone()).await;
        assert_eq!(got, status, "{path} {body}: {answer}");
        assert_eq!(answer["error_code"], code, "{path} {body}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(message),
            "{path} {body}: {answer}"
        );
    }
    let rp = app.role_grant(id, "experiment", "*", "READ").await;
    let (status, body) = app
        .roles(
            &ADMIN,
            Method::POST,
            "roles/permissions/add",
            json!({"role_id": id, "resource_type": "experiment", "resource_pattern": "*",
                   "permission": "EDIT"}),
        )
        .await;
    assert_eq!(
        (status, &body["error_code"]),
        (400, &json!("RESOURCE_ALREADY_EXISTS"))
    );
    app.assign("nobody", id).await;
    let (status, body) = app
        .roles(
            &ADMIN,
            Method::POST,
            "roles/assign",
            json!({"username": "nobody", "role_id": id}),
        )
        .await;
    assert_eq!(
        (status, &body["error_code"]),
        (400, &json!("RESOURCE_ALREADY_EXISTS"))
    );
    let (_, users) = app
        .roles(
            &ADMIN,
            Method::GET,
            "roles/users/list",
            json!({"role_id": id}),
        )
        .await;
    assert_eq!(users["assignments"].as_array().unwrap().len(), 1);
    let (_, listed) = app.api(&ADMIN, Method::GET, "users/list", json!({})).await;
    let entry = listed["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "nobody")
        .unwrap()
        .clone();
    assert_eq!(entry["roles"][0]["name"], "ops");
    assert_eq!(entry["roles"][0]["permissions"][0]["id"], rp);
    // A member may read their role and list its workspace's roles; not change them.
    let (status, body) = app
        .roles(&nobody, Method::GET, "roles/get", json!({"role_id": id}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"]["permissions"][0]["permission"], "READ");
    let (status, body) = app
        .roles(
            &nobody,
            Method::GET,
            "users/roles/list",
            json!({"username": "nobody"}),
        )
        .await;
    assert_eq!((status, &body["roles"][0]["id"]), (200, &json!(id)));
    for (method, path, body) in [
        (
            Method::PATCH,
            "roles/update",
            json!({"role_id": id, "name": "mine"}),
        ),
        (
            Method::DELETE,
            "roles/permissions/remove",
            json!({"role_permission_id": rp}),
        ),
        (Method::GET, "roles/users/list", json!({"role_id": id})),
        (Method::GET, "roles/list", json!({})),
        (
            Method::GET,
            "users/roles/list",
            json!({"username": "admin"}),
        ),
    ] {
        let (status, answer) = app.roles(&nobody, method, path, body).await;
        assert_eq!(status, 403, "{path}: {answer}");
        assert_eq!(answer["error_code"], "PERMISSION_DENIED");
    }
    // A role a non-admin may not see is refused alike, whether it exists or not; a malformed
    // request is still a 400.
    let (status, _) = app
        .roles(
            &nobody,
            Method::GET,
            "roles/get",
            json!({"role_id": 999999}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .roles(&nobody, Method::GET, "roles/get", json!({}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["message"],
        "Request must include one of: role_id, role_permission_id, workspace."
    );
    // Renamed, then deleted with its grants and assignments.
    let (status, body) = app
        .roles(
            &ADMIN,
            Method::PATCH,
            "roles/update",
            json!({"role_id": id, "name": "ops2", "description": "renamed"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["role"]["name"], &body["role"]["description"]),
        (&json!("ops2"), &json!("renamed"))
    );
    let (status, _) = app
        .roles(
            &ADMIN,
            Method::DELETE,
            "roles/delete",
            json!({"role_id": id}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .roles(
            &ADMIN,
            Method::DELETE,
            "roles/delete",
            json!({"role_id": id}),
        )
        .await;
    assert_eq!(status, 404);
    let (_, roles) = app
        .roles(
            &ADMIN,
            Method::GET,
            "users/roles/list",
            json!({"username": "nobody"}),
        )
        .await;
    assert_eq!(roles, json!({"roles": []}));
}

async fn a_protected_stage_or_alias_admits_its_groups_members(app: TestApp) {
    app.add_user("rel", "rel-password-1").await;
    app.add_user("dev", "dev-password-1").await;
    let rel = Who::Basic("rel", "rel-password-1");
    let dev = Who::Basic("dev", "dev-password-1");
    app.model("churn").await;
    let release = app.new_role("release-managers", "default").await;
    app.assign("rel", release).await;
    for user in ["rel", "dev"] {
        app.grant(user, "registered_model", "churn", "EDIT").await;
    }
    for body in [
        json!({"name": "churn", "stage": "Production", "role": "release-managers"}),
        json!({"name": "churn", "alias": "champion", "role": "release-managers"}),
    ] {
        let (status, got) = app
            .call(
                &ADMIN,
                Method::POST,
                "/api/2.0/arca/registered-models/protections",
                body,
            )
            .await;
        assert_eq!(status, 200, "{got}");
    }
    let (status, got) = app
        .call(
            &ADMIN,
            Method::POST,
            "/api/2.0/arca/registered-models/protections",
            json!({"name": "churn", "stage": "Staging", "role": "no-such-role"}),
        )
        .await;
    assert_eq!(status, 404, "{got}");
    let (_, got) = app
        .call(
            &dev,
            Method::GET,
            "/api/2.0/arca/registered-models/protections",
            json!({"name": "churn"}),
        )
        .await;
    assert_eq!(
        got,
        json!({"stages": ["Production"], "aliases": ["champion"], "protections": [
            {"stage": "Production", "role": "release-managers"},
            {"alias": "champion", "role": "release-managers"}]})
    );
    let to_production = json!({"name": "churn", "version": "1", "stage": "Production",
                               "archive_existing_versions": false});
    let champion = json!({"name": "churn", "alias": "champion", "version": "1"});
    let (status, body) = app
        .api(
            &dev,
            Method::POST,
            "model-versions/transition-stage",
            to_production.clone(),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error_code"], "PERMISSION_DENIED");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("stage 'Production'") && message.contains("role 'release-managers'"),
        "{message}"
    );
    let (status, body) = app
        .api(
            &dev,
            Method::POST,
            "registered-models/alias",
            champion.clone(),
        )
        .await;
    assert_eq!(status, 403);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("alias '@champion'") && message.contains("role 'release-managers'"),
        "{message}"
    );
    // A member of the group moves into both; the move is the member's.
    let moved = app
        .ok(
            &rel,
            Method::POST,
            "model-versions/transition-stage",
            to_production.clone(),
        )
        .await;
    assert_eq!(moved["model_version"]["current_stage"], "Production");
    app.ok(
        &rel,
        Method::POST,
        "registered-models/alias",
        champion.clone(),
    )
    .await;
    // Membership does not replace EDIT: a member who may only read the model cannot move it.
    app.grant("rel", "registered_model", "churn", "READ").await;
    assert_eq!(
        app.status_of(
            &rel,
            Method::POST,
            "registered-models/alias",
            champion.clone()
        )
        .await,
        403
    );
    app.grant("rel", "registered_model", "churn", "EDIT").await;
    // With the role gone, the protection stays, for MANAGE only.
    let (status, _) = app
        .roles(
            &ADMIN,
            Method::DELETE,
            "roles/delete",
            json!({"role_id": release}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .api(&rel, Method::POST, "registered-models/alias", champion)
        .await;
    assert_eq!(status, 403);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("only MANAGE holders and admins"),
        "{body}"
    );
    app.grant("dev", "registered_model", "churn", "MANAGE")
        .await;
    app.ok(
        &dev,
        Method::POST,
        "model-versions/transition-stage",
        to_production,
    )
    .await;
}

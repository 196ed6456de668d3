//! Webhooks: MLflow's event names and payloads, delivery from the event log, and the guard that
//! keeps deliveries off the server's own network.
//!
//! Events are named `entity.action` as MLflow names them. Arca sends MLflow's six model-registry
//! events with MLflow's payloads, so a receiver written for MLflow works unchanged, and adds
//! events MLflow does not have, named in the same style:
//!
//! | event | when | `data` |
//! |---|---|---|
//! | `registered_model.created` | a model is created | `name`, `tags`, `description` |
//! | `model_version.created` | a version is created | `name`, `version`, `source`, `run_id`, `tags`, `description` |
//! | `model_version_tag.set` / `.deleted` | a version tag is set / deleted | `name`, `version`, `key` (, `value`) |
//! | `model_version_alias.created` / `.deleted` | an alias is set / deleted | `name`, `alias` (, `version`) |
//! | `model_version_stage.set` (Arca) | a version moves to a stage | `name`, `version`, `stage`, `previous_stage` |
//! | `registered_model.deleted` (Arca) | a model is deleted | `name` |
//! | `model_version.deleted` (Arca) | a version is deleted | `name`, `version` |
//!
//! The prompt and budget events MLflow defines are accepted in a subscription but not sent yet.

pub mod deliver;
pub mod ssrf;

use arca_store::Event;
use serde_json::{Value, json};

/// Every event a webhook may subscribe to: (entity, action), lower case as in the envelope.
pub const EVENTS: &[(&str, &str)] = &[
    ("registered_model", "created"),
    ("model_version", "created"),
    ("model_version_tag", "set"),
    ("model_version_tag", "deleted"),
    ("model_version_alias", "created"),
    ("model_version_alias", "deleted"),
    ("prompt", "created"),
    ("prompt_version", "created"),
    ("prompt_tag", "set"),
    ("prompt_tag", "deleted"),
    ("prompt_version_tag", "set"),
    ("prompt_version_tag", "deleted"),
    ("prompt_alias", "created"),
    ("prompt_alias", "deleted"),
    ("budget_policy", "exceeded"),
    ("model_version_stage", "set"),
    ("registered_model", "deleted"),
    ("model_version", "deleted"),
];

/// MLflow's proto enum numbers, which its JSON reader accepts in place of the names.
const ENTITY_NUMBERS: &[&str] = &[
    "",
    "registered_model",
    "model_version",
    "model_version_tag",
    "model_version_alias",
    "prompt",
    "prompt_version",
    "prompt_tag",
    "prompt_version_tag",
    "prompt_alias",
    "budget_policy",
];
const ACTION_NUMBERS: &[&str] = &["", "created", "updated", "deleted", "set", "exceeded"];

/// Reads one side of an event as the wire sends it: an enum name (`MODEL_VERSION`) or number.
pub fn enum_value(value: &Value, numbers: &[&str], field: &str) -> Result<String, String> {
    let name = match value {
        Value::String(s) => {
            if s.bytes().any(|b| b.is_ascii_lowercase()) {
                return Err(format!(
                    "Invalid value '{s}' for webhook event {field}: enum names are upper case \
                     (for example MODEL_VERSION, CREATED)."
                ));
            }
            s.to_ascii_lowercase()
        }
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| numbers.get(usize::try_from(n).ok()?))
            .filter(|s| !s.is_empty())
            .map(|s| (*s).to_owned())
            .ok_or_else(|| format!("Invalid value {n} for webhook event {field}."))?,
        _ => return Err(format!("Invalid value for webhook event {field}: {value}")),
    };
    Ok(name)
}

/// An `{entity, action}` object from a request, checked against [`EVENTS`]; `entity.action`.
pub fn parse_event(value: &Value) -> Result<String, String> {
    let entity = value
        .get("entity")
        .map(|v| enum_value(v, ENTITY_NUMBERS, "entity"))
        .transpose()?
        .unwrap_or_default();
    let action = value
        .get("action")
        .map(|v| enum_value(v, ACTION_NUMBERS, "action"))
        .transpose()?
        .unwrap_or_default();
    check_event(&entity, &action)
}

/// `entity.action` if Arca knows the pair; else MLflow's message.
pub fn check_event(entity: &str, action: &str) -> Result<String, String> {
    if EVENTS.contains(&(entity, action)) {
        return Ok(format!("{entity}.{action}"));
    }
    if !EVENTS.iter().any(|(e, _)| *e == entity) {
        return Err(format!("Invalid webhook event entity '{entity}'."));
    }
    let valid: Vec<&str> = EVENTS
        .iter()
        .filter(|(e, _)| *e == entity)
        .map(|(_, a)| *a)
        .collect();
    Err(format!(
        "Invalid action '{action}' for entity '{entity}'. Valid actions are: {valid:?}"
    ))
}

/// `entity.action` → `{"entity": "MODEL_VERSION", "action": "CREATED"}`, as MLflow renders it.
pub fn event_json(event: &str) -> Value {
    let (entity, action) = event.split_once('.').unwrap_or((event, ""));
    json!({"entity": entity.to_ascii_uppercase(), "action": action.to_ascii_uppercase()})
}

/// The webhook event an event of the log is, and its `data`; `None` for changes no webhook
/// event stands for (descriptions, model tags, renames).
pub fn payload(event: &Event) -> Option<(&'static str, Value)> {
    let name = event.model_name.as_str();
    let version = event.version.map(|v| v.to_string());
    let after = event.after.as_ref();
    let before = event.before.as_ref();
    let field = |state: Option<&Value>, key: &str| state.and_then(|s| s.get(key)).cloned();
    let tags = |state: Option<&Value>| field(state, "tags").unwrap_or_else(|| json!({}));
    Some(match event.action.as_str() {
        "create_model" => (
            "registered_model.created",
            json!({"name": name, "tags": tags(after), "description": field(after, "description")}),
        ),
        "create_version" => (
            "model_version.created",
            json!({
                "name": name, "version": version, "source": field(after, "source"),
                "run_id": field(after, "run_id"), "tags": tags(after),
                "description": field(after, "description"),
            }),
        ),
        "set_version_tag" => (
            "model_version_tag.set",
            json!({
                "name": name, "version": version, "key": event.detail,
                "value": after.and_then(|s| s.get("tags")?.get(&event.detail)).cloned(),
            }),
        ),
        "delete_version_tag" => (
            "model_version_tag.deleted",
            json!({"name": name, "version": version, "key": event.detail}),
        ),
        "set_alias" => (
            "model_version_alias.created",
            json!({
                "name": name, "alias": event.alias.as_deref().unwrap_or(&event.detail),
                "version": field(after, "version").map(|v| v.to_string()).or(version),
            }),
        ),
        "delete_alias" => (
            "model_version_alias.deleted",
            json!({"name": name, "alias": event.alias.as_deref().unwrap_or(&event.detail)}),
        ),
        "transition_stage" => (
            "model_version_stage.set",
            json!({
                "name": name, "version": version, "stage": field(after, "stage"),
                "previous_stage": field(before, "stage"),
            }),
        ),
        "delete_model" => ("registered_model.deleted", json!({"name": name})),
        "delete_version" => (
            "model_version.deleted",
            json!({"name": name, "version": version}),
        ),
        _ => return None,
    })
}

/// The example `data` MLflow's test endpoint sends for each event.
pub fn example_payload(event: &str) -> Value {
    let (entity, action) = event.split_once('.').unwrap_or((event, ""));
    let prompt = entity.starts_with("prompt");
    let name = if prompt {
        "example_prompt"
    } else {
        "example_model"
    };
    let described = |what: &str| format!("An example {what}");
    match (entity, action) {
        ("registered_model" | "prompt", "created") => json!({
            "name": name, "tags": {"example_key": "example_value"},
            "description": described(if prompt { "prompt" } else { "registered model" }),
        }),
        ("model_version", "created") => json!({
            "name": name, "version": "1", "source": "models:/123", "run_id": "abcd1234abcd5678",
            "tags": {"example_key": "example_value"}, "description": described("model version"),
        }),
        ("prompt_version", "created") => json!({
            "name": name, "version": "1", "template": "Hello {{name}}!",
            "tags": {"example_key": "example_value"}, "description": described("prompt version"),
        }),
        ("model_version_tag" | "prompt_version_tag", "set") => {
            json!({"name": name, "version": "1", "key": "example_key", "value": "example_value"})
        }
        ("model_version_tag" | "prompt_version_tag", "deleted") => {
            json!({"name": name, "version": "1", "key": "example_key"})
        }
        ("prompt_tag", "set") => {
            json!({"name": name, "key": "example_key", "value": "example_value"})
        }
        ("prompt_tag", "deleted") => json!({"name": name, "key": "example_key"}),
        ("model_version_alias" | "prompt_alias", "created") => {
            json!({"name": name, "alias": "example_alias", "version": "1"})
        }
        ("model_version_alias" | "prompt_alias", "deleted") => {
            json!({"name": name, "alias": "example_alias"})
        }
        ("model_version_stage", "set") => json!({
            "name": name, "version": "1", "stage": "Production", "previous_stage": "Staging",
        }),
        ("model_version", "deleted") => json!({"name": name, "version": "1"}),
        ("registered_model", "deleted") => json!({"name": name}),
        _ => json!({"budget_policy_id": "example_policy", "name": "example_budget"}),
    }
}

/// The envelope MLflow posts: `{"entity", "action", "timestamp", "data"}`, the time in ISO 8601
/// UTC as Python's `isoformat()` writes it.
pub fn envelope(event: &str, at_millis: i64, data: Value) -> String {
    let (entity, action) = event.split_once('.').unwrap_or((event, ""));
    json!({
        "entity": entity, "action": action, "timestamp": iso8601(at_millis), "data": data,
    })
    .to_string()
}

/// `2026-11-30T23:40:05.123000+00:00` for a time in epoch milliseconds.
pub fn iso8601(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}000+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_render_as_python_isoformat() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000000+00:00");
        assert_eq!(
            iso8601(1_796_081_103_136),
            "2026-11-30T23:25:03.136000+00:00"
        );
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000000+00:00");
    }

    #[test]
    fn events_are_read_as_mlflow_reads_them() {
        let ev = |e: Value| parse_event(&json!({"entity": e, "action": "CREATED"}));
        assert_eq!(ev(json!("MODEL_VERSION")).unwrap(), "model_version.created");
        assert_eq!(ev(json!(1)).unwrap(), "registered_model.created");
        assert!(ev(json!("model_version")).is_err());
        let bad = parse_event(&json!({"entity": "REGISTERED_MODEL", "action": "SET"}));
        assert!(bad.unwrap_err().contains("Valid actions are"));
    }
}

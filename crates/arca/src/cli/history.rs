//! What only Arca keeps: the event log. `arca history MODEL` (who changed what, newest first),
//! `arca history verify` (the hash chain, read straight from the database), and the helpers the
//! other commands use for `arca pull --as-of`, `arca aliases rollback` and `arca versions diff`.
//!
//! Over HTTP they call `/api/2.0/arca/...`; a plain MLflow server has none of it, and the
//! command says so instead of failing with a bare 404. On a local store they call the
//! `MetadataStore` directly, except the diff, which reads files and `MLmodel` through the
//! server.

use super::output::{self, Format, Table};
use super::time::format_time;
use super::versions::parse_version;
use super::{CliResult, Failure, OutputArgs, RegistryArgs, target};
use arca_core::model::VersionNumber;
use arca_core::registry::{ModelUri, RegistryError, VersionRef};
use arca_store::{AsOfRef, HistoryFilter};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use target::Registry;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct HistoryCommand {
    #[command(flatten)]
    pub(super) registry: RegistryArgs,
    #[command(flatten)]
    pub(super) output: OutputArgs,
    #[command(subcommand)]
    command: Option<HistorySubcommand>,
    /// The registered model whose history to show.
    #[arg(required = true)]
    model: Option<String>,
    /// Only events about this version.
    #[arg(long, value_parser = parse_version)]
    version: Option<VersionNumber>,
    /// Only events about this alias.
    #[arg(long)]
    alias: Option<String>,
    /// Only events of this action (create_version, transition_stage, set_alias, ...).
    #[arg(long)]
    action: Option<String>,
    /// Only events since this time (epoch milliseconds or RFC 3339, e.g. 2026-11-30T14:00Z).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only events until this time.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// The most events to show, newest first.
    #[arg(long, default_value_t = 100)]
    limit: u64,
}

#[derive(Subcommand)]
enum HistorySubcommand {
    /// Check the event log's hash chain; exits 7 at the first edited, removed or reordered
    /// event.
    Verify {
        /// The store to check: a data directory, sqlite:///path.db or postgresql://... (default:
        /// --tracking-uri, which must then be a local store).
        #[arg(long, value_name = "URL")]
        database: Option<String>,
    },
}

fn arca_only(base: &str) -> Failure {
    Failure::new(
        Failure::FAILURE,
        format!(
            "The server at {base} has no event log: history, as-of resolution, rollback and diff \
             are Arca features, and a plain MLflow server does not serve them."
        ),
    )
}

/// The answer of an Arca-only endpoint, or the failure that says the server is not Arca.
async fn http_get(
    registry: &arca_client::HttpRegistry,
    endpoint: &str,
    query: &[(&str, &str)],
) -> CliResult<Value> {
    registry
        .arca_get(endpoint, query)
        .await?
        .ok_or_else(|| arca_only(registry.client().base()))
}

pub async fn run(cmd: HistoryCommand) -> CliResult {
    if let Some(HistorySubcommand::Verify { database }) = cmd.command {
        return verify(&cmd.registry, database, cmd.output.format()).await;
    }
    let model = cmd.model.clone().unwrap_or_default();
    let registry = target::open(&cmd.registry, false).await?;
    let result = list(&registry, &model, &cmd, cmd.output.format()).await;
    registry.close().await;
    result
}

fn time_arg(raw: Option<&str>, flag: &str) -> CliResult<Option<i64>> {
    raw.map(|t| super::time::parse_time(t).map_err(|e| Failure::invalid(format!("--{flag}: {e}"))))
        .transpose()
}

async fn list(registry: &Registry, model: &str, cmd: &HistoryCommand, format: Format) -> CliResult {
    let events: Vec<Value> = match registry {
        Registry::Http(r) => {
            let version = cmd.version.map(|v| v.to_string());
            let mut events = Vec::new();
            let mut token: Option<String> = None;
            while (events.len() as u64) < cmd.limit {
                let page_size = (cmd.limit - events.len() as u64).min(1000).to_string();
                let mut query = vec![("name", model), ("max_results", page_size.as_str())];
                for (key, value) in [
                    ("version", version.as_deref()),
                    ("alias", cmd.alias.as_deref()),
                    ("action", cmd.action.as_deref()),
                    ("since", cmd.since.as_deref()),
                    ("until", cmd.until.as_deref()),
                    ("page_token", token.as_deref()),
                ] {
                    if let Some(value) = value {
                        query.push((key, value));
                    }
                }
                let page = http_get(r, "history", &query).await?;
                events.extend(page["events"].as_array().cloned().unwrap_or_default());
                match page["next_page_token"].as_str() {
                    Some(next) => token = Some(next.to_owned()),
                    None => break,
                }
            }
            events
        }
        Registry::Local(r) => {
            let filter = HistoryFilter {
                name: Some(model.to_owned()),
                version: cmd.version.map(|v| v.get()),
                alias: cmd.alias.clone(),
                action: cmd.action.clone(),
                actor: None,
                since: time_arg(cmd.since.as_deref(), "since")?,
                until: time_arg(cmd.until.as_deref(), "until")?,
            };
            let limit = cmd.limit.clamp(1, arca_store::HISTORY_MAX_RESULTS);
            let page = r.metadata().search_events(&filter, limit, None).await?;
            page.items.iter().map(|e| json!(e)).collect()
        }
    };
    match format {
        Format::Json => output::print_json(&json!(events)),
        Format::Table => {
            let mut table = Table::new(&["TIME", "ACTION", "VERSION", "CHANGE", "ACTOR"]);
            for e in &events {
                table.row(vec![
                    format_time(e["at"].as_i64().unwrap_or(0)),
                    e["action"].as_str().unwrap_or_default().to_owned(),
                    e["version"]
                        .as_i64()
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                    summary(e),
                    e["actor"].as_str().unwrap_or_default().to_owned(),
                ]);
            }
            table.print();
            if events.is_empty() {
                eprintln!("No events of {model} match.");
            }
        }
    }
    Ok(())
}

/// One line saying what an event changed.
fn summary(e: &Value) -> String {
    let (before, after) = (&e["before"], &e["after"]);
    let detail = e["detail"].as_str().unwrap_or_default();
    match e["action"].as_str().unwrap_or_default() {
        "transition_stage" => format!(
            "{} -> {}",
            before["stage"].as_str().unwrap_or("?"),
            after["stage"].as_str().unwrap_or("?")
        ),
        "set_alias" => match before["version"].as_i64() {
            Some(from) => format!(
                "@{} {from} -> {}",
                after["alias"].as_str().unwrap_or(detail),
                after["version"]
            ),
            None => format!(
                "@{} -> {}",
                after["alias"].as_str().unwrap_or(detail),
                after["version"]
            ),
        },
        "delete_alias" => format!("@{} (was {})", detail, before["version"]),
        "rename_model" => format!(
            "{} -> {}",
            before["name"].as_str().unwrap_or("?"),
            after["name"].as_str().unwrap_or("?")
        ),
        "update_model" | "update_version" => {
            format!(
                "description: {}",
                after["description"].as_str().unwrap_or("")
            )
        }
        "set_model_tag" => format!("{detail}={}", after["tags"][detail].as_str().unwrap_or("")),
        "set_version_tag" => format!("{detail}={}", after["tags"][detail].as_str().unwrap_or("")),
        _ => detail.to_owned(),
    }
}

async fn verify(args: &RegistryArgs, database: Option<String>, format: Format) -> CliResult {
    let uri = database.unwrap_or_else(|| target::tracking_uri(args.tracking_uri.as_deref()));
    let registry = target::open_uri(&uri, None, false).await?;
    let Registry::Local(local) = &registry else {
        return Err(Failure::invalid(format!(
            "arca history verify reads the database itself, not a server: pass --database \
             (a data directory, sqlite:///path.db or postgresql://...), not {uri}."
        )));
    };
    let report = local.metadata().verify_event_chain().await;
    registry.close().await;
    let report = report?;
    match format {
        Format::Json => output::print_json(&json!(report)),
        Format::Table => {
            if report.broken.is_none() {
                println!(
                    "The event log is intact: {} events, head {}.",
                    report.checked, report.head
                );
            }
        }
    }
    match report.broken {
        None => Ok(()),
        Some(broken) => Err(Failure::new(
            Failure::INTEGRITY,
            format!(
                "the event log was tampered with: {} (checked {} events)",
                broken.reason, report.checked
            ),
        )),
    }
}

/// The numbered version `uri` named at `as_of` (an `arca pull --as-of` time).
pub async fn resolve_as_of(
    registry: &Registry,
    uri: &ModelUri,
    as_of: &str,
) -> CliResult<ModelUri> {
    let version = match registry {
        Registry::Http(r) => {
            let body =
                http_get(r, "resolve", &[("uri", &uri.to_string()), ("as_of", as_of)]).await?;
            body["version"]
                .as_str()
                .and_then(|v| v.parse::<i64>().ok())
                .ok_or_else(|| {
                    Failure::new(Failure::FAILURE, format!("unexpected answer: {body}"))
                })?
        }
        Registry::Local(r) => {
            let at = time_arg(Some(as_of), "as-of")?.unwrap_or_default();
            let reference = match uri.reference() {
                VersionRef::Number(v) => AsOfRef::Version(v.get()),
                VersionRef::Stage(s) => AsOfRef::Stage(*s),
                VersionRef::Alias(a) => AsOfRef::Alias(a.clone()),
                VersionRef::Latest => AsOfRef::Latest,
            };
            r.metadata()
                .resolve_as_of(uri.name(), &reference, at)
                .await?
        }
    };
    Ok(ModelUri::new(
        uri.name(),
        VersionRef::Number(VersionNumber::from_stored(version)),
    ))
}

/// Moves `alias` back to the version it pointed at before; answers that version.
pub async fn rollback_alias(registry: &Registry, model: &str, alias: &str) -> CliResult<i64> {
    match registry {
        Registry::Http(r) => {
            let body = r
                .arca_post("aliases/rollback", &json!({"name": model, "alias": alias}))
                .await?
                .ok_or_else(|| arca_only(r.client().base()))?;
            body["version"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| Failure::new(Failure::FAILURE, format!("unexpected answer: {body}")))
        }
        Registry::Local(r) => Ok(r.metadata().rollback_alias(model, alias).await?),
    }
}

/// `arca versions diff MODEL A B`.
pub async fn diff(
    registry: &Registry,
    model: &str,
    a: VersionNumber,
    b: VersionNumber,
    format: Format,
) -> CliResult {
    let Registry::Http(r) = registry else {
        return Err(Failure::from(RegistryError::Unsupported(
            "arca versions diff reads files and MLmodel through an Arca server: point \
             --tracking-uri at one (http://...)."
                .into(),
        )));
    };
    let (a, b) = (a.to_string(), b.to_string());
    let d = http_get(r, "diff", &[("name", model), ("a", &a), ("b", &b)]).await?;
    if format == Format::Json {
        output::print_json(&d);
        return Ok(());
    }
    let mut table = Table::new(&[
        "WHAT",
        "NAME",
        &format!("VERSION {a}"),
        &format!("VERSION {b}"),
    ]);
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    for f in d["fields"].as_array().into_iter().flatten() {
        table.row(vec![
            "field".into(),
            text(&f["field"]),
            text(&f["a"]),
            text(&f["b"]),
        ]);
    }
    for section in ["tags", "params", "metrics"] {
        let part = &d[section];
        for (k, v) in part["added"].as_object().into_iter().flatten() {
            table.row(vec![section.into(), k.clone(), String::new(), text(v)]);
        }
        for (k, v) in part["removed"].as_object().into_iter().flatten() {
            table.row(vec![section.into(), k.clone(), text(v), String::new()]);
        }
        for (k, v) in part["changed"].as_object().into_iter().flatten() {
            table.row(vec![
                section.into(),
                k.clone(),
                text(&v["a"]),
                text(&v["b"]),
            ]);
        }
    }
    let aliases = |v: &Value| {
        v.as_array()
            .map(|a| a.iter().map(text).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    if d["aliases"]["a"] != d["aliases"]["b"] {
        table.row(vec![
            "aliases".into(),
            String::new(),
            aliases(&d["aliases"]["a"]),
            aliases(&d["aliases"]["b"]),
        ]);
    }
    let file = |f: &Value| {
        format!(
            "{} B {}",
            f["size"],
            &text(&f["sha256"]).get(..12).unwrap_or("")
        )
    };
    for f in d["files"]["added"].as_array().into_iter().flatten() {
        table.row(vec![
            "file".into(),
            text(&f["path"]),
            String::new(),
            file(f),
        ]);
    }
    for f in d["files"]["removed"].as_array().into_iter().flatten() {
        table.row(vec![
            "file".into(),
            text(&f["path"]),
            file(f),
            String::new(),
        ]);
    }
    for f in d["files"]["changed"].as_array().into_iter().flatten() {
        table.row(vec![
            "file".into(),
            text(&f["path"]),
            file(&f["a"]),
            file(&f["b"]),
        ]);
    }
    for part in ["inputs", "outputs"] {
        let sig = &d["signature"][part];
        let field = |f: &Value| format!("{}: {}", text(&f["name"]), text(&f["type"]));
        for f in sig["added"].as_array().into_iter().flatten() {
            table.row(vec![part.into(), text(&f["name"]), String::new(), field(f)]);
        }
        for f in sig["removed"].as_array().into_iter().flatten() {
            table.row(vec![part.into(), text(&f["name"]), field(f), String::new()]);
        }
        for f in sig["changed"].as_array().into_iter().flatten() {
            table.row(vec![
                part.into(),
                text(&f["name"]),
                field(&f["a"]),
                field(&f["b"]),
            ]);
        }
    }
    table.print();
    let breaking: Vec<String> = d["breaking"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    if breaking.is_empty() {
        eprintln!("No breaking change in the signature.");
    } else {
        eprintln!("BREAKING: {}", breaking.join("; "));
    }
    Ok(())
}

//! `arca webhooks ...`: the webhooks of a registry server and their delivery log.
//!
//! Webhooks are delivered by a running server, so these commands need an `http(s)://`
//! tracking URI; `list`, `create`, `delete` and `test` work against a plain `mlflow server` too.

use super::output::{self, Format, Table};
use super::{CliResult, Failure, OutputArgs, RegistryArgs, require_yes, target};
use arca_client::HttpRegistry;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

#[derive(Args)]
pub struct WebhooksCommand {
    #[command(flatten)]
    pub(super) registry: RegistryArgs,
    #[command(flatten)]
    pub(super) output: OutputArgs,
    #[command(subcommand)]
    command: WebhooksSubcommand,
}

#[derive(Subcommand)]
enum WebhooksSubcommand {
    /// List webhooks, newest first.
    List,
    /// Create a webhook.
    Create {
        /// A name: letters, digits, '.', '_' and '-'.
        name: String,
        /// Where deliveries are POSTed.
        url: String,
        /// An event to deliver, `entity.action` (`model_version.created`); repeat for more.
        #[arg(long = "event", required = true)]
        events: Vec<String>,
        /// Signs each delivery (X-MLflow-Signature); never shown again.
        #[arg(long, env = "ARCA_WEBHOOK_SECRET")]
        secret: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Create it disabled: nothing is delivered until it is enabled.
        #[arg(long)]
        disabled: bool,
    },
    /// Delete a webhook.
    Delete {
        webhook_id: String,
        #[arg(long)]
        yes: bool,
    },
    /// Send an example payload now and show how the receiver answered.
    Test {
        webhook_id: String,
        /// The event whose example is sent (default: the webhook's first).
        #[arg(long)]
        event: Option<String>,
    },
    /// A webhook's deliveries, newest first, with their state.
    Deliveries {
        webhook_id: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

fn event_arg(raw: &str) -> CliResult<Value> {
    match raw.split_once('.') {
        Some((entity, action)) if !entity.is_empty() && !action.is_empty() => Ok(json!({
            "entity": entity.to_ascii_uppercase(),
            "action": action.to_ascii_uppercase(),
        })),
        _ => Err(Failure::invalid(format!(
            "'{raw}' is not an event: write entity.action, as in model_version.created"
        ))),
    }
}

fn events_text(hook: &Value) -> String {
    hook["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{}.{}",
                e["entity"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
                e["action"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_lowercase()
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn print_hook(format: Format, hook: &Value) {
    match format {
        Format::Json => output::print_json(hook),
        Format::Table => output::print_fields(&[
            ("id", hook["webhook_id"].as_str().unwrap_or_default().into()),
            ("name", hook["name"].as_str().unwrap_or_default().into()),
            ("url", hook["url"].as_str().unwrap_or_default().into()),
            ("events", events_text(hook)),
            ("status", hook["status"].as_str().unwrap_or_default().into()),
        ]),
    }
}

pub async fn run(cmd: WebhooksCommand) -> CliResult {
    let format = cmd.output.format();
    let registry = target::open(&cmd.registry, false).await?;
    let target::Registry::Http(http) = &registry else {
        registry.close().await;
        return Err(Failure::invalid(
            "Webhooks are delivered by a running server: set --tracking-uri to its http(s):// \
             address.",
        ));
    };
    run_http(http, cmd.command, format).await
}

async fn run_http(r: &HttpRegistry, command: WebhooksSubcommand, format: Format) -> CliResult {
    const HOOKS: &str = "/api/2.0/mlflow/webhooks";
    match command {
        WebhooksSubcommand::List => {
            let mut hooks = Vec::new();
            let mut token = String::new();
            loop {
                let query = [("max_results", "1000"), ("page_token", token.as_str())];
                let page = r.call("GET", HOOKS, &query, None).await?;
                hooks.extend(page["webhooks"].as_array().cloned().unwrap_or_default());
                match page["next_page_token"].as_str() {
                    Some(next) if !next.is_empty() => token = next.to_owned(),
                    _ => break,
                }
            }
            match format {
                Format::Json => output::print_json(&json!(hooks)),
                Format::Table => {
                    let mut table = Table::new(&["ID", "NAME", "STATUS", "URL", "EVENTS"]);
                    for h in &hooks {
                        table.row(vec![
                            h["webhook_id"].as_str().unwrap_or_default().into(),
                            h["name"].as_str().unwrap_or_default().into(),
                            h["status"].as_str().unwrap_or_default().into(),
                            h["url"].as_str().unwrap_or_default().into(),
                            events_text(h),
                        ]);
                    }
                    table.print();
                }
            }
        }
        WebhooksSubcommand::Create {
            name,
            url,
            events,
            secret,
            description,
            disabled,
        } => {
            let events = events
                .iter()
                .map(|e| event_arg(e))
                .collect::<CliResult<Vec<_>>>()?;
            let mut body = json!({
                "name": name, "url": url, "events": events,
                "status": if disabled { "DISABLED" } else { "ACTIVE" },
            });
            if let Some(secret) = secret {
                body["secret"] = json!(secret);
            }
            if let Some(description) = description {
                body["description"] = json!(description);
            }
            let created = r.call("POST", HOOKS, &[], Some(&body)).await?;
            print_hook(format, &created["webhook"]);
        }
        WebhooksSubcommand::Delete { webhook_id, yes } => {
            require_yes(yes, &format!("Deleting webhook {webhook_id}"))?;
            r.call(
                "DELETE",
                &format!("{HOOKS}/{webhook_id}"),
                &[],
                Some(&json!({})),
            )
            .await?;
            match format {
                Format::Json => output::print_json(&json!({"deleted": webhook_id})),
                Format::Table => println!("deleted webhook {webhook_id}"),
            }
        }
        WebhooksSubcommand::Test { webhook_id, event } => {
            let body = match event {
                Some(e) => json!({"event": event_arg(&e)?}),
                None => json!({}),
            };
            let tested = r
                .call(
                    "POST",
                    &format!("{HOOKS}/{webhook_id}/test"),
                    &[],
                    Some(&body),
                )
                .await?;
            let result = &tested["result"];
            match format {
                Format::Json => output::print_json(result),
                Format::Table => output::print_fields(&[
                    ("success", result["success"].to_string()),
                    ("status", result["response_status"].to_string()),
                    (
                        "body",
                        result["response_body"].as_str().unwrap_or_default().into(),
                    ),
                    (
                        "error",
                        result["error_message"].as_str().unwrap_or_default().into(),
                    ),
                ]),
            }
            if result["success"] != json!(true) {
                return Err(Failure::new(
                    Failure::FAILURE,
                    format!("the receiver of webhook {webhook_id} did not accept the test"),
                ));
            }
        }
        WebhooksSubcommand::Deliveries { webhook_id, limit } => {
            let limit = limit.clamp(1, 1000).to_string();
            let page = r
                .call(
                    "GET",
                    &format!("/api/2.0/arca/webhooks/{webhook_id}/deliveries"),
                    &[("max_results", limit.as_str())],
                    None,
                )
                .await?;
            let deliveries = page["deliveries"].as_array().cloned().unwrap_or_default();
            match format {
                Format::Json => output::print_json(&json!(deliveries)),
                Format::Table => {
                    let mut table =
                        Table::new(&["DELIVERY", "EVENT", "MODEL", "STATE", "TRIES", "LAST"]);
                    for d in &deliveries {
                        let last = match (d["last_status"].as_i64(), d["last_error"].as_str()) {
                            (_, Some(e)) if !e.is_empty() => e.to_owned(),
                            (Some(s), _) => s.to_string(),
                            _ => String::new(),
                        };
                        table.row(vec![
                            d["delivery_id"].as_str().unwrap_or_default().into(),
                            d["event"].as_str().unwrap_or_default().into(),
                            d["model_name"].as_str().unwrap_or_default().into(),
                            d["state"].as_str().unwrap_or_default().into(),
                            d["attempts"].to_string(),
                            last,
                        ]);
                    }
                    table.print();
                }
            }
        }
    }
    Ok(())
}

//! Sending webhooks: the signed request MLflow's receivers expect, and the dispatcher that plans
//! deliveries from the event log and works through the queue kept in the database
//! (`arca_store::webhooks` says how the queue is claimed).

use super::ssrf::Guard;
use arca_store::{AttemptOutcome, ClaimedDelivery, MetadataStore, PlannedDelivery};
use base64::Engine;
use hmac::{KeyInit, Mac};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::task::JoinSet;

/// How webhooks are delivered; one per server.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub guard: Guard,
    /// Per request (connect, send, answer), as MLflow's `MLFLOW_WEBHOOK_REQUEST_TIMEOUT`.
    pub timeout: Duration,
    /// Attempts before a delivery is dead.
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each one, up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How often the event log and the queue are looked at when there is nothing to do.
    pub poll_interval: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            guard: Guard {
                allow_private: false,
                allowed_schemes: vec!["https".to_owned()],
            },
            timeout: Duration::from_secs(30),
            max_attempts: 8,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(3600),
            poll_interval: Duration::from_millis(250),
        }
    }
}

/// What one request to a receiver came to.
#[derive(Debug, Clone)]
pub struct Sent {
    pub status: Option<u16>,
    pub body: Option<String>,
    pub retry_after: Option<Duration>,
    pub error: Option<String>,
}

impl Sent {
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// `v1,<base64 HMAC-SHA256(secret, "<delivery id>.<timestamp>.<body>")>`, as MLflow signs.
pub fn signature(secret: &str, delivery_id: &str, timestamp: &str, body: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(format!("{delivery_id}.{timestamp}.{body}").as_bytes());
    let digest = mac.finalize().into_bytes();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// One POST of `body` to `url`, checked by the guard first. Never follows a redirect.
pub async fn send(
    client: &reqwest::Client,
    guard: &Guard,
    url: &str,
    secret: Option<&str>,
    delivery_id: &str,
    body: &str,
) -> Sent {
    let failed = |error: String| Sent {
        status: None,
        body: None,
        retry_after: None,
        error: Some(error),
    };
    let url = match guard.check_url(url).await {
        Ok(url) => url,
        Err(refused) => return failed(refused.0),
    };
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        .to_string();
    let mut request = client
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-MLflow-Delivery-Id", delivery_id)
        .header("X-MLflow-Timestamp", &timestamp)
        .body(body.to_owned());
    if let Some(secret) = secret.filter(|s| !s.is_empty()) {
        request = request.header(
            "X-MLflow-Signature",
            signature(secret, delivery_id, &timestamp, body),
        );
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("Retry-After")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let text = response.text().await.unwrap_or_default();
            let error = match status {
                200..=299 => None,
                300..=399 => Some(format!(
                    "the receiver answered {status}; redirects are not followed"
                )),
                _ => Some(format!("the receiver answered {status}")),
            };
            Sent {
                status: Some(status),
                body: Some(text.chars().take(2000).collect()),
                retry_after,
                error,
            }
        }
        Err(err) => failed(describe(&err)),
    }
}

/// A reqwest error with its causes: the guard's refusal is a cause of a connect error.
fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `Retry-After` in seconds or as an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// When to try again after the `attempts`-th failed attempt, or `None` when it was the last.
fn retry_delay(config: &WebhookConfig, attempts: u32, sent: &Sent) -> Option<Duration> {
    if attempts >= config.max_attempts {
        return None;
    }
    let doubling = 1u32 << attempts.saturating_sub(1).min(20);
    let backoff = config.backoff_base.saturating_mul(doubling);
    // A receiver that says when to come back is believed, within the same ceiling.
    Some(sent.retry_after.unwrap_or(backoff).min(config.backoff_max))
}

/// Runs the dispatcher until the task is dropped: plans deliveries from new events and sends
/// due ones, a few at a time. Each server runs one; they share the work through the database.
pub async fn run(store: MetadataStore, config: WebhookConfig) {
    let owner = uuid::Uuid::new_v4().to_string();
    let client = config.guard.client(config.timeout);
    // A lease outlives the request it covers, so only a server that stopped holds one past it.
    let lease_ms =
        i64::try_from((config.timeout + Duration::from_secs(5)).as_millis()).unwrap_or(i64::MAX);
    const IN_FLIGHT: usize = 8;
    let mut in_flight = JoinSet::new();
    loop {
        if let Err(err) = plan(&store).await {
            tracing::warn!(error = %err, "planning webhook deliveries failed");
        }
        let room = IN_FLIGHT - in_flight.len();
        if room > 0 {
            match store
                .claim_webhook_deliveries(&owner, lease_ms, room as u32)
                .await
            {
                Ok(claimed) => {
                    for delivery in claimed {
                        let (store, client, config, owner) =
                            (store.clone(), client.clone(), config.clone(), owner.clone());
                        in_flight.spawn(async move {
                            attempt(&store, &client, &config, &owner, delivery).await;
                        });
                    }
                }
                Err(err) => tracing::warn!(error = %err, "claiming webhook deliveries failed"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(config.poll_interval) => {}
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
        }
    }
}

async fn attempt(
    store: &MetadataStore,
    client: &reqwest::Client,
    config: &WebhookConfig,
    owner: &str,
    claimed: ClaimedDelivery,
) {
    let d = &claimed.delivery;
    let sent = send(
        client,
        &config.guard,
        &claimed.url,
        claimed.secret.as_deref(),
        &d.delivery_id,
        &d.body,
    )
    .await;
    let attempts = u32::try_from(d.attempts + 1).unwrap_or(u32::MAX);
    let outcome = if sent.delivered() {
        AttemptOutcome::Delivered {
            status: i64::from(sent.status.unwrap_or(200)),
        }
    } else {
        let retry_at = retry_delay(config, attempts, &sent).map(|delay| {
            arca_core::now_millis() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2)
        });
        tracing::info!(
            webhook = %d.webhook_id, delivery = %d.delivery_id, attempts,
            error = sent.error.as_deref().unwrap_or(""), dead = retry_at.is_none(),
            "webhook delivery failed"
        );
        AttemptOutcome::Failed {
            status: sent.status.map(i64::from),
            error: sent.error.unwrap_or_default(),
            retry_at,
        }
    };
    if let Err(err) = store.finish_webhook_attempt(d.id, owner, outcome).await {
        // The lease runs out and the delivery is attempted again: at least once.
        tracing::warn!(error = %err, "recording a webhook attempt failed");
    }
}

/// Turns the events committed since the last plan into deliveries, one per subscribed webhook.
async fn plan(store: &MetadataStore) -> arca_core::Result<()> {
    loop {
        let state = store.webhook_dispatch_state().await?;
        let events = store.events_after(state.event_cursor, 200).await?;
        let Some(last) = events.last().map(|e| e.id) else {
            return Ok(());
        };
        let mut planned = Vec::new();
        for event in &events {
            let Some((name, data)) = super::payload(event) else {
                continue;
            };
            let subscribed = state
                .webhooks
                .iter()
                .filter(|t| t.after_event < event.id && t.webhook.events.iter().any(|e| e == name));
            let mut body = None;
            for target in subscribed {
                let body = body
                    .get_or_insert_with(|| super::envelope(name, event.at, data.clone()))
                    .clone();
                planned.push(PlannedDelivery {
                    webhook_id: target.webhook.id.clone(),
                    event_id: event.id,
                    model_name: event.model_name.clone(),
                    event: name.to_owned(),
                    body,
                });
            }
        }
        // Lost the race to another server or to a webhook change: read again.
        store
            .commit_webhook_plan((state.event_cursor, state.hooks_rev), last, planned)
            .await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_mlflows() {
        // The value Python's hmac/base64 give for the same inputs.
        assert_eq!(
            signature("s3cret", "abc", "1700000000", "{\"a\":1}"),
            "v1,ClBlOfRgti6COkV2s96fErYBFv0Zrk7SUsm08V5TqaA="
        );
    }

    #[test]
    fn backoff_doubles_and_retry_after_wins() {
        let config = WebhookConfig {
            max_attempts: 4,
            backoff_base: Duration::from_millis(100),
            ..WebhookConfig::default()
        };
        let plain = Sent {
            status: Some(500),
            body: None,
            retry_after: None,
            error: None,
        };
        let delays: Vec<_> = (1..=4).map(|n| retry_delay(&config, n, &plain)).collect();
        assert_eq!(
            delays,
            [Some(100), Some(200), Some(400), None].map(|d| d.map(Duration::from_millis))
        );
        let told = Sent {
            retry_after: Some(Duration::from_secs(7)),
            ..plain
        };
        assert_eq!(retry_delay(&config, 1, &told), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
    }
}

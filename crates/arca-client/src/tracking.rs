//! The run endpoints a registered version's lineage needs: create a run, log its params, metrics
//! and tags in one `log-batch`, read it back, and mark it finished.

use crate::wire::{KeyValue, RunJson, sanitize_non_finite};
use crate::{Client, ClientError};
use arca_core::model::Tag;
use arca_core::registry::{MetricValue, RunRecord};
use arca_core::tracking::Param;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

const API: &str = "/api/2.0/mlflow";

/// MLflow's per-request limits for `runs/log-batch`.
const BATCH_METRICS: usize = 1000;
const BATCH_PARAMS: usize = 100;
const BATCH_TAGS: usize = 100;

#[derive(Deserialize)]
struct RunBody {
    run: RunJson,
}

#[derive(Deserialize)]
struct Empty {}

use arca_core::now_millis;

impl Client {
    pub async fn create_run(
        &self,
        experiment_id: &str,
        run_name: Option<&str>,
        tags: &[Tag],
    ) -> Result<RunRecord, ClientError> {
        // The user, as the mlflow client names it (getpass.getuser()).
        let user = ["USER", "USERNAME", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| "unknown".to_owned());
        let mut body = json!({
            "experiment_id": experiment_id,
            "user_id": user,
            "start_time": now_millis(),
            "tags": tags.iter().map(KeyValue::from).collect::<Vec<_>>(),
        });
        if let Some(name) = run_name {
            body["run_name"] = json!(name);
        }
        let run: RunBody = self
            .call_json(Method::POST, &format!("{API}/runs/create"), &body)
            .await?;
        Ok(run.run.into())
    }

    pub async fn get_run(&self, run_id: &str) -> Result<RunRecord, ClientError> {
        let response = self
            .send(
                self.request(Method::GET, &format!("{API}/runs/get"))
                    .query(&[("run_id", run_id), ("run_uuid", run_id)]),
            )
            .await?;
        let url = response.url().to_string();
        let text = response.text().await.map_err(|e| self.transport(e))?;
        let body: RunBody = serde_json::from_str(&sanitize_non_finite(&text)).map_err(|e| {
            ClientError::Protocol {
                url,
                detail: e.to_string(),
            }
        })?;
        Ok(body.run.into())
    }

    /// Logs params, metrics (at step 0, now) and tags, in as many `log-batch` calls as MLflow's
    /// per-request limits need.
    pub async fn log_batch(
        &self,
        run_id: &str,
        params: &[Param],
        metrics: &[MetricValue],
        tags: &[Tag],
    ) -> Result<(), ClientError> {
        let now = now_millis();
        let mut params = params.chunks(BATCH_PARAMS);
        let mut metrics = metrics.chunks(BATCH_METRICS);
        let mut tags = tags.chunks(BATCH_TAGS);
        loop {
            let (p, m, t) = (params.next(), metrics.next(), tags.next());
            if p.is_none() && m.is_none() && t.is_none() {
                return Ok(());
            }
            let body = json!({
                "run_id": run_id,
                "params": p.unwrap_or_default().iter()
                    .map(|p| json!({"key": p.key, "value": p.value})).collect::<Vec<_>>(),
                "metrics": m.unwrap_or_default().iter()
                    .map(|m| json!({"key": m.key, "value": m.value, "timestamp": now, "step": 0}))
                    .collect::<Vec<_>>(),
                "tags": t.unwrap_or_default().iter().map(KeyValue::from).collect::<Vec<_>>(),
            });
            let _: Empty = self
                .call_json(Method::POST, &format!("{API}/runs/log-batch"), &body)
                .await?;
        }
    }

    pub async fn finish_run(&self, run_id: &str) -> Result<(), ClientError> {
        let _: serde_json::Value = self
            .call_json(
                Method::POST,
                &format!("{API}/runs/update"),
                &json!({
                    "run_id": run_id,
                    "run_uuid": run_id,
                    "status": "FINISHED",
                    "end_time": now_millis(),
                }),
            )
            .await?;
        Ok(())
    }
}

impl Client {
    /// Where an MLflow 3 logged model keeps its files (`GET /logged-models/<id>`).
    pub async fn logged_model_artifact_uri(&self, model_id: &str) -> Result<String, ClientError> {
        #[derive(Deserialize)]
        struct Info {
            #[serde(default)]
            artifact_uri: String,
        }
        #[derive(Deserialize)]
        struct Model {
            info: Info,
        }
        #[derive(Deserialize)]
        struct Body {
            model: Model,
        }
        let path = format!(
            "{API}/logged-models/{}",
            percent_encoding::utf8_percent_encode(model_id, percent_encoding::NON_ALPHANUMERIC)
        );
        let body: Body = self.get_json(&path, &[]).await?;
        Ok(body.model.info.artifact_uri)
    }
}

//! Arca's history endpoints (`/api/2.0/arca/history`, `resolve`, `diff`, `aliases/rollback`),
//! which a plain MLflow server does not have: each call answers `None` there, so that the
//! caller can say the feature is Arca's rather than report a bare 404.

use crate::{Client, ClientError};
use reqwest::Method;
use serde_json::Value;

const ARCA: &str = "/api/2.0/arca";

impl Client {
    /// `GET /api/2.0/arca/<endpoint>`; `None` when the server has no such endpoint.
    pub async fn arca_get(
        &self,
        endpoint: &str,
        query: &[(&str, &str)],
    ) -> Result<Option<Value>, ClientError> {
        match self.get_json(&format!("{ARCA}/{endpoint}"), query).await {
            Ok(body) => Ok(Some(body)),
            Err(e) if e.is_missing_endpoint() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /api/2.0/arca/<endpoint>` with a JSON body; `None` when the server has no such
    /// endpoint.
    pub async fn arca_post(
        &self,
        endpoint: &str,
        body: &Value,
    ) -> Result<Option<Value>, ClientError> {
        match self
            .call_json(Method::POST, &format!("{ARCA}/{endpoint}"), body)
            .await
        {
            Ok(body) => Ok(Some(body)),
            Err(e) if e.is_missing_endpoint() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

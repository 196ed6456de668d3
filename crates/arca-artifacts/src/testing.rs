//! Test support (feature `testing`): an S3 destination of its own for each test, on the
//! S3-compatible server the test command started (s3s-fs or moto).
//!
//! Environment:
//! - `ARCA_TEST_S3_ENDPOINT`: e.g. `http://127.0.0.1:55002`. Unset: S3 tests are skipped with a
//!   message, or fail when `ARCA_REQUIRE_S3=1` (as in CI).
//! - `ARCA_TEST_S3_ACCESS_KEY`, `ARCA_TEST_S3_SECRET_KEY`: the server's credentials
//!   (default `arca` / `arca-secret`).
//! - `ARCA_TEST_S3_REGION`: default `us-east-1`.
//! - `ARCA_TEST_S3_BUCKET`: default `arca-tests`; created when missing. Each test gets a fresh
//!   prefix inside it, so tests never see each other's files.

use crate::{ArtifactStore, Error};
use object_store::aws::AmazonS3Builder;
use object_store::signer::Signer;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// An `s3://` destination and the `object_store` options that reach the test server.
#[derive(Debug, Clone)]
pub struct S3Destination {
    pub uri: String,
    pub options: Vec<(String, String)>,
}

impl S3Destination {
    pub fn open(&self) -> Result<ArtifactStore, Error> {
        ArtifactStore::from_uri_with_options(&self.uri, &self.options)
    }
}

/// A new, empty prefix in the test bucket, or `None` (after saying why) when no S3 server is
/// configured.
pub async fn s3_destination() -> Option<S3Destination> {
    let endpoint = match std::env::var("ARCA_TEST_S3_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => {
            assert!(
                std::env::var("ARCA_REQUIRE_S3").as_deref() != Ok("1"),
                "ARCA_REQUIRE_S3=1 but ARCA_TEST_S3_ENDPOINT is not set"
            );
            eprintln!(
                "skipped: ARCA_TEST_S3_ENDPOINT is not set, so there is no S3 server to test against"
            );
            return None;
        }
    };
    let var = |name: &str, default: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_owned())
    };
    let access_key = var("ARCA_TEST_S3_ACCESS_KEY", "arca");
    let secret_key = var("ARCA_TEST_S3_SECRET_KEY", "arca-secret");
    let region = var("ARCA_TEST_S3_REGION", "us-east-1");
    let bucket = var("ARCA_TEST_S3_BUCKET", "arca-tests");
    create_bucket(&endpoint, &access_key, &secret_key, &region, &bucket).await;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let prefix = format!(
        "t-{}-{}-{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    Some(S3Destination {
        uri: format!("s3://{bucket}/{prefix}"),
        options: vec![
            ("aws_endpoint".into(), endpoint),
            ("aws_access_key_id".into(), access_key),
            ("aws_secret_access_key".into(), secret_key),
            ("aws_region".into(), region),
            ("aws_allow_http".into(), "true".into()),
        ],
    })
}

/// `object_store` has no CreateBucket, but it can presign one: a PUT on the bucket itself.
async fn create_bucket(
    endpoint: &str,
    access_key: &str,
    secret_key: &str,
    region: &str,
    bucket: &str,
) {
    let s3 = AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_access_key_id(access_key)
        .with_secret_access_key(secret_key)
        .with_region(region)
        .with_bucket_name(bucket)
        .build()
        .expect("an S3 client for the test server");
    let url = s3
        .signed_url(
            reqwest::Method::PUT,
            &object_store::path::Path::from(""),
            Duration::from_secs(300),
        )
        .await
        .expect("a presigned CreateBucket URL");
    let response = reqwest::Client::new()
        .put(url.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("reaching the S3 test server at {endpoint}: {e}"));
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let exists = body.contains("BucketAlreadyOwnedByYou") || body.contains("BucketAlreadyExists");
    assert!(
        status.is_success() || exists,
        "creating the test bucket {bucket}: {status} {body}"
    );
}

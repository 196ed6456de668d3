//! Test support (feature `testing`): a remote destination of its own for each test, on the
//! S3-compatible server, the GCS emulator and the Azure Blob emulator that the test command
//! started. Each test gets a fresh prefix in a shared bucket or container, so tests never see
//! each other's files. A destination whose endpoint variable is unset is skipped with a
//! message, or fails when its `ARCA_REQUIRE_*` variable is `1` (as in CI).
//!
//! S3:
//! - `ARCA_TEST_S3_ENDPOINT`: e.g. `http://127.0.0.1:55002`; `ARCA_REQUIRE_S3`.
//! - `ARCA_TEST_S3_ACCESS_KEY`, `ARCA_TEST_S3_SECRET_KEY`: the server's credentials
//!   (default `arca` / `arca-secret`).
//! - `ARCA_TEST_S3_REGION`: default `us-east-1`.
//! - `ARCA_TEST_S3_BUCKET`: default `arca-tests`; created when missing.
//!
//! GCS:
//! - `ARCA_TEST_GCS_ENDPOINT`: the base URL `object_store` sends its XML API requests to;
//!   `ARCA_REQUIRE_GCS`.
//! - `ARCA_TEST_GCS_ADMIN_ENDPOINT`: where the bucket is created through the JSON API (default:
//!   the endpoint).
//! - `ARCA_TEST_GCS_BUCKET`: default `arca-tests`; created when missing. Requests carry no
//!   token ([`GCS_EMULATOR_KEY`]): emulators take no credentials.
//!
//! Azure Blob:
//! - `ARCA_TEST_AZURE_ENDPOINT`: the blob service of an Azurite, e.g. `http://127.0.0.1:10000`
//!   (the account is the first path segment, as on Azurite); `ARCA_REQUIRE_AZURE`.
//! - `ARCA_TEST_AZURE_ACCOUNT`, `ARCA_TEST_AZURE_KEY`: default Azurite's well-known
//!   `devstoreaccount1` and its key.
//! - `ARCA_TEST_AZURE_CONTAINER`: default `arca-tests`; created when missing.

use crate::{ArtifactStore, Error};
use base64::Engine;
use object_store::aws::AmazonS3Builder;
use object_store::signer::Signer;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The account and key every Azurite knows (published by Microsoft for the emulator).
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A service-account key that tells `object_store` to send no OAuth token. It is the one way to
/// reach a GCS emulator: `google_skip_signature` is not honoured by `object_store` 0.14's writes,
/// which still ask the instance metadata server for a token.
pub const GCS_EMULATOR_KEY: &str =
    r#"{"disable_oauth":true,"client_email":"","private_key":"","private_key_id":""}"#;

/// A remote destination (`s3://`, `gs://` or `az://`) and the `object_store` options that
/// reach the test server.
#[derive(Debug, Clone)]
pub struct Destination {
    pub uri: String,
    pub options: Vec<(String, String)>,
}

/// The name the server tests use for an S3 destination.
pub type S3Destination = Destination;

impl Destination {
    pub fn open(&self) -> Result<ArtifactStore, Error> {
        ArtifactStore::from_uri_with_options(&self.uri, &self.options)
    }
}

fn var(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The endpoint in `endpoint_var`, or `None` after saying why the test is skipped.
fn endpoint(endpoint_var: &str, require_var: &str, what: &str) -> Option<String> {
    match std::env::var(endpoint_var) {
        Ok(endpoint) if !endpoint.is_empty() => Some(endpoint.trim_end_matches('/').to_owned()),
        _ => {
            assert!(
                std::env::var(require_var).as_deref() != Ok("1"),
                "{require_var}=1 but {endpoint_var} is not set"
            );
            eprintln!("skipped: {endpoint_var} is not set, so there is no {what} to test against");
            None
        }
    }
}

/// A prefix no other test, in this process or another, uses.
fn fresh_prefix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "t-{}-{}-{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A new, empty prefix in the S3 test bucket, or `None` when no S3 server is configured.
pub async fn s3_destination() -> Option<Destination> {
    let endpoint = endpoint("ARCA_TEST_S3_ENDPOINT", "ARCA_REQUIRE_S3", "S3 server")?;
    let access_key = var("ARCA_TEST_S3_ACCESS_KEY", "arca");
    let secret_key = var("ARCA_TEST_S3_SECRET_KEY", "arca-secret");
    let region = var("ARCA_TEST_S3_REGION", "us-east-1");
    let bucket = var("ARCA_TEST_S3_BUCKET", "arca-tests");
    create_s3_bucket(&endpoint, &access_key, &secret_key, &region, &bucket).await;
    Some(Destination {
        uri: format!("s3://{bucket}/{}", fresh_prefix()),
        options: vec![
            ("aws_endpoint".into(), endpoint),
            ("aws_access_key_id".into(), access_key),
            ("aws_secret_access_key".into(), secret_key),
            ("aws_region".into(), region),
            ("aws_allow_http".into(), "true".into()),
        ],
    })
}

/// A new, empty prefix in the GCS test bucket, or `None` when no GCS emulator is configured.
pub async fn gcs_destination() -> Option<Destination> {
    let endpoint = endpoint("ARCA_TEST_GCS_ENDPOINT", "ARCA_REQUIRE_GCS", "GCS emulator")?;
    let admin = var("ARCA_TEST_GCS_ADMIN_ENDPOINT", &endpoint);
    let bucket = var("ARCA_TEST_GCS_BUCKET", "arca-tests");
    create_gcs_bucket(admin.trim_end_matches('/'), &bucket).await;
    Some(Destination {
        uri: format!("gs://{bucket}/{}", fresh_prefix()),
        options: vec![
            ("google_base_url".into(), endpoint),
            ("google_service_account_key".into(), GCS_EMULATOR_KEY.into()),
        ],
    })
}

/// A new, empty prefix in the Azure test container, or `None` when no Azure Blob emulator is
/// configured.
pub async fn azure_destination() -> Option<Destination> {
    let endpoint = endpoint(
        "ARCA_TEST_AZURE_ENDPOINT",
        "ARCA_REQUIRE_AZURE",
        "Azure Blob emulator",
    )?;
    let account = var("ARCA_TEST_AZURE_ACCOUNT", AZURITE_ACCOUNT);
    let key = var("ARCA_TEST_AZURE_KEY", AZURITE_KEY);
    let container = var("ARCA_TEST_AZURE_CONTAINER", "arca-tests");
    create_azure_container(&endpoint, &account, &key, &container).await;
    // The account's own endpoint, path-style as on Azurite: the same requests
    // `azure_storage_use_emulator` makes, but through the settings a real account takes.
    Some(Destination {
        uri: format!("az://{container}/{}", fresh_prefix()),
        options: vec![
            (
                "azure_storage_endpoint".into(),
                format!("{endpoint}/{account}"),
            ),
            ("azure_storage_account_name".into(), account),
            ("azure_storage_account_key".into(), key),
        ],
    })
}

/// `object_store` has no CreateBucket, but it can presign one: a PUT on the bucket itself.
async fn create_s3_bucket(
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

/// The JSON API's `buckets.insert`; 409 means it is already there.
async fn create_gcs_bucket(admin: &str, bucket: &str) {
    let response = reqwest::Client::new()
        .post(format!("{admin}/storage/v1/b?project=arca-tests"))
        .header("content-type", "application/json")
        .body(format!(r#"{{"name":"{bucket}"}}"#))
        .send()
        .await
        .unwrap_or_else(|e| panic!("reaching the GCS emulator at {admin}: {e}"));
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert!(
        status.is_success() || status == reqwest::StatusCode::CONFLICT,
        "creating the test bucket {bucket}: {status} {body}"
    );
}

/// Create Container, signed with the account key (Shared Key); 409 means it is already there.
async fn create_azure_container(endpoint: &str, account: &str, key: &str, container: &str) {
    let url = format!("{endpoint}/{account}/{container}?restype=container");
    let date = http_date(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_secs(),
    );
    let version = "2021-08-06";
    // Path-style (Azurite): the account is also the path's first segment.
    let string_to_sign = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{account}/{account}/{container}\nrestype:container"
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(key)
        .expect("the Azure account key is base64");
    let signature = base64::engine::general_purpose::STANDARD
        .encode(hmac_sha256(&key, string_to_sign.as_bytes()));
    let response = reqwest::Client::new()
        .put(&url)
        .header("x-ms-date", date)
        .header("x-ms-version", version)
        .header("content-length", "0")
        .header("authorization", format!("SharedKey {account}:{signature}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("reaching the Azure Blob emulator at {endpoint}: {e}"));
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert!(
        status.is_success() || status == reqwest::StatusCode::CONFLICT,
        "creating the test container {container}: {status} {body}"
    );
}

/// RFC 2104 over SHA-256; a dependency for one test-only signature would be more than this.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Seconds since 1970 as an HTTP date (`Tue, 14 Nov 2023 22:13:20 GMT`), as Shared Key wants it.
fn http_date(secs: u64) -> String {
    let days = secs / 86_400;
    let (hour, minute, second) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day:02} {} {year} {hour:02}:{minute:02}:{second:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231, test case 2.
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn http_dates_name_the_right_day() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http_date(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 GMT");
    }
}

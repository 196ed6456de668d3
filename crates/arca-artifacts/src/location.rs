//! `--artifacts-destination`: where the model files live, as a URI.
//!
//! | destination | store |
//! |---|---|
//! | `/var/lib/arca/artifacts`, `./artifacts`, `file:///var/lib/arca/artifacts` | a local folder, created if missing |
//! | `s3://bucket[/prefix]` (also `s3a://`) | Amazon S3 or an S3-compatible server |
//! | `gs://bucket[/prefix]` | Google Cloud Storage |
//! | `az://container[/prefix]` (also `abfs(s)://`, `azure://`, `adl://`) | Azure Blob Storage |
//!
//! Credentials and endpoints come from the environment, read by `object_store`'s builders:
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` /
//! `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`) for an S3-compatible server,
//! `AWS_ALLOW_HTTP`, `AWS_VIRTUAL_HOSTED_STYLE_REQUEST`; `GOOGLE_SERVICE_ACCOUNT(_KEY)`,
//! `GOOGLE_APPLICATION_CREDENTIALS` or the instance's credentials, `GOOGLE_BASE_URL` for another
//! endpoint, `GOOGLE_SKIP_SIGNATURE`; `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`
//! (or a SAS, a service principal, managed identity ...), `AZURE_STORAGE_ENDPOINT`, and
//! `AZURE_STORAGE_USE_EMULATOR` with `AZURITE_BLOB_STORAGE_URL` for Azurite.
//!
//! An `http://` endpoint (`AWS_ENDPOINT_URL`, `GOOGLE_BASE_URL`, `AZURE_STORAGE_ENDPOINT`) is the
//! operator's explicit choice of a plain-HTTP server (MinIO, s3s, an emulator on a private
//! network), so it is allowed without also having to set `AWS_ALLOW_HTTP`, `GOOGLE_ALLOW_HTTP` or
//! `AZURE_ALLOW_HTTP`; an explicit setting still wins.

use crate::Error;
use crate::direct::Direct;
use arca_core::artifact_path::ArtifactPath;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::prefix::PrefixStore;
use object_store::{ClientConfigKey, ObjectStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    Local(PathBuf),
    Remote {
        scheme: Scheme,
        /// `bucket`, `container` or `container@account.dfs.core.windows.net`
        bucket: String,
        prefix: Option<ArtifactPath>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    S3,
    Gcs,
    Azure,
}

impl Location {
    pub(crate) fn parse(uri: &str) -> Result<Location, Error> {
        let invalid = |reason: &str| Error::InvalidDestination {
            uri: uri.to_owned(),
            reason: reason.to_owned(),
        };
        if uri.trim().is_empty() {
            return Err(invalid("it is empty"));
        }
        if let Some(path) = uri.strip_prefix("file://") {
            // file:///abs/path; file://localhost/abs/path is the same folder.
            let path = path.strip_prefix("localhost").unwrap_or(path);
            if !path.starts_with('/') {
                return Err(invalid("a file:// URI needs an absolute path"));
            }
            return Ok(Location::Local(PathBuf::from(path)));
        }
        let Some((scheme, rest)) = uri.split_once("://") else {
            return Ok(Location::Local(PathBuf::from(uri)));
        };
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "s3" | "s3a" => Scheme::S3,
            "gs" => Scheme::Gcs,
            "az" | "azure" | "adl" | "abfs" | "abfss" => Scheme::Azure,
            _ => {
                return Err(invalid(
                    "the scheme is not supported; use a folder, file://, s3://, gs:// or az://",
                ));
            }
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid("it names no bucket or container"));
        }
        let prefix = ArtifactPath::parse_dir(prefix).map_err(|e| invalid(&e.to_string()))?;
        Ok(Location::Remote {
            scheme,
            bucket: bucket.to_owned(),
            prefix,
        })
    }

    /// The URI of the bucket or container alone, as the builders parse it.
    fn bucket_url(scheme: Scheme, bucket: &str) -> String {
        let scheme = match scheme {
            Scheme::S3 => "s3",
            Scheme::Gcs => "gs",
            Scheme::Azure => "az",
        };
        format!("{scheme}://{bucket}")
    }

    /// `options` are `object_store` configuration keys (`aws_endpoint`, `aws_access_key_id`,
    /// `google_service_account_key`, `azure_storage_account_name`, ...) that override the
    /// environment. Returns the store under the prefix, and the raw store's multipart and
    /// signing handles where it can presign part uploads (see [`crate::direct`]).
    pub(crate) fn build_remote(
        scheme: Scheme,
        bucket: &str,
        prefix: Option<&ArtifactPath>,
        options: &[(String, String)],
    ) -> Result<(Arc<dyn ObjectStore>, Option<Direct>), Error> {
        let url = Location::bucket_url(scheme, bucket);
        let unknown = |key: &str| Error::InvalidDestination {
            uri: url.clone(),
            reason: format!("unknown store option '{key}'"),
        };
        let allow_http = ClientConfigKey::AllowHttp;
        let (store, direct): (Arc<dyn ObjectStore>, Option<Direct>) = match scheme {
            Scheme::S3 => {
                let mut builder = AmazonS3Builder::from_env()
                    .with_url(&url)
                    .with_retry(fail_fast());
                let mut allow_http_set = std::env::var_os("AWS_ALLOW_HTTP").is_some();
                for (key, value) in options {
                    let key: AmazonS3ConfigKey = key.parse().map_err(|_| unknown(key))?;
                    allow_http_set |= key == AmazonS3ConfigKey::Client(allow_http);
                    builder = builder.with_config(key, value);
                }
                let endpoint = builder.get_config_value(&AmazonS3ConfigKey::Endpoint);
                if !allow_http_set && is_plain_http(endpoint) {
                    builder = builder.with_config(AmazonS3ConfigKey::Client(allow_http), "true");
                }
                let s3 = Arc::new(builder.build()?);
                let direct = Direct {
                    multipart: s3.clone(),
                    signer: s3.clone(),
                    prefix: prefix.cloned(),
                    downloads: true,
                };
                (s3, Some(direct))
            }
            Scheme::Gcs => {
                let mut builder = GoogleCloudStorageBuilder::from_env()
                    .with_url(&url)
                    .with_retry(fail_fast());
                let mut allow_http_set = std::env::var_os("GOOGLE_ALLOW_HTTP").is_some();
                for (key, value) in options {
                    let key: GoogleConfigKey = key.parse().map_err(|_| unknown(key))?;
                    allow_http_set |= key == GoogleConfigKey::Client(allow_http);
                    builder = builder.with_config(key, value);
                }
                let endpoint = builder.get_config_value(&GoogleConfigKey::BaseUrl);
                if !allow_http_set && is_plain_http(endpoint) {
                    builder = builder.with_config(GoogleConfigKey::Client(allow_http), "true");
                }
                let gcs = Arc::new(builder.build()?);
                let direct = Direct {
                    multipart: gcs.clone(),
                    signer: gcs.clone(),
                    prefix: prefix.cloned(),
                    downloads: false,
                };
                (gcs, Some(direct))
            }
            Scheme::Azure => {
                let mut builder = MicrosoftAzureBuilder::from_env()
                    .with_url(&url)
                    .with_retry(fail_fast());
                let mut allow_http_set = std::env::var_os("AZURE_ALLOW_HTTP").is_some();
                for (key, value) in options {
                    let key: AzureConfigKey = key.parse().map_err(|_| unknown(key))?;
                    allow_http_set |= key == AzureConfigKey::Client(allow_http);
                    builder = builder.with_config(key, value);
                }
                let endpoint = builder.get_config_value(&AzureConfigKey::Endpoint);
                if !allow_http_set && is_plain_http(endpoint) {
                    builder = builder.with_config(AzureConfigKey::Client(allow_http), "true");
                }
                (Arc::new(builder.build()?), None)
            }
        };
        let store = match prefix {
            Some(prefix) => Arc::new(PrefixStore::new(
                store,
                object_store::path::Path::from(prefix.as_str()),
            )) as Arc<dyn ObjectStore>,
            None => store,
        };
        Ok((store, direct))
    }
}

/// How long a request to the object store is retried before the caller is told the store is
/// unavailable. `object_store`'s default keeps retrying for 3 minutes, during which every
/// upload and download through the server hangs; the `mlflow` client retries the 503 it then
/// gets on its own, so the server need not wait long.
pub(crate) const RETRY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn fail_fast() -> object_store::RetryConfig {
    object_store::RetryConfig {
        max_retries: 3,
        retry_timeout: RETRY_TIMEOUT,
        ..Default::default()
    }
}

/// An endpoint given as `http://` is the operator's explicit choice of a plain-HTTP server.
fn is_plain_http(endpoint: Option<String>) -> bool {
    endpoint.is_some_and(|e| e.starts_with("http://"))
}

/// The folder as an absolute path, so the store's root does not move with the working directory.
pub(crate) fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(|e| Error::InvalidDestination {
        uri: path.display().to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_file_uris_are_local() {
        assert_eq!(
            Location::parse("/var/lib/arca").unwrap(),
            Location::Local("/var/lib/arca".into())
        );
        assert_eq!(
            Location::parse("file:///var/lib/arca").unwrap(),
            Location::Local("/var/lib/arca".into())
        );
        assert_eq!(
            Location::parse("file://localhost/srv/a").unwrap(),
            Location::Local("/srv/a".into())
        );
        assert_eq!(
            Location::parse("relative/dir").unwrap(),
            Location::Local("relative/dir".into())
        );
        assert!(Location::parse("file://relative").is_err());
        assert!(Location::parse("").is_err());
    }

    #[test]
    fn object_store_uris_name_a_bucket_and_a_prefix() {
        assert_eq!(
            Location::parse("s3://models/arca/prod").unwrap(),
            Location::Remote {
                scheme: Scheme::S3,
                bucket: "models".into(),
                prefix: Some(ArtifactPath::parse("arca/prod").unwrap()),
            }
        );
        assert_eq!(
            Location::parse("gs://b").unwrap(),
            Location::Remote {
                scheme: Scheme::Gcs,
                bucket: "b".into(),
                prefix: None,
            }
        );
        assert_eq!(
            Location::parse("az://c/p/").unwrap(),
            Location::Remote {
                scheme: Scheme::Azure,
                bucket: "c".into(),
                prefix: Some(ArtifactPath::parse("p").unwrap()),
            }
        );
        for bad in [
            "s3://",
            "s3:///x",
            "s3://b/../x",
            "s3://b//x",
            "ftp://h/x",
            "hdfs://n/x",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn remote_stores_build_without_touching_the_network() {
        let prefix = ArtifactPath::parse("p").unwrap();
        Location::build_remote(Scheme::S3, "bucket", Some(&prefix), &[]).unwrap();
        Location::build_remote(Scheme::Gcs, "bucket", None, &[]).unwrap();
        let options = [("aws_endpoint".to_owned(), "http://127.0.0.1:1".to_owned())];
        Location::build_remote(Scheme::S3, "bucket", None, &options).unwrap();
        let options = [
            (
                "google_base_url".to_owned(),
                "http://127.0.0.1:1".to_owned(),
            ),
            ("google_skip_signature".to_owned(), "true".to_owned()),
        ];
        Location::build_remote(Scheme::Gcs, "bucket", None, &options).unwrap();
        let options = [
            ("azure_storage_account_name".to_owned(), "acct".to_owned()),
            (
                "azure_storage_endpoint".to_owned(),
                "http://127.0.0.1:1/acct".to_owned(),
            ),
        ];
        Location::build_remote(Scheme::Azure, "container", Some(&prefix), &options).unwrap();
        let bad = [("no_such_option".to_owned(), "x".to_owned())];
        assert!(Location::build_remote(Scheme::S3, "bucket", None, &bad).is_err());
    }
}

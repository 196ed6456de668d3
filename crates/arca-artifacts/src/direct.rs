//! Transfers that keep the server out of the data path, as MLflow's artifact proxy offers them
//! for large files: the client uploads a file in parts straight to the bucket through presigned
//! part URLs, and downloads it through a presigned GET URL (in ranged chunks). The server holds
//! the credentials: it only starts, completes or aborts the multipart upload and signs URLs.
//!
//! Which stores can do it follows what `object_store` can presign and what MLflow serves:
//!
//! - S3 signs a request together with its query, so an `UploadPart` (`partNumber`, `uploadId`)
//!   can be presigned: uploads and downloads.
//! - GCS's XML API takes the same multipart calls and signs them the same way: uploads. MLflow's
//!   GCS repository has no presigned downloads, so the client is not offered them there either.
//! - Azure's signer cannot sign a Put Block's `comp` and `blockid`, and a local folder has
//!   nothing to presign: both answer "not supported", and the `mlflow` client falls back to a
//!   plain upload through the server.
//!
//! Bytes that bypass the server are not hashed on the way in: after `complete` the object is
//! read back once, streaming, to record its size and SHA-256 like any other upload. Presigned
//! downloads are not checked against that record (the server never sees them).

use crate::{Error, StoredFile, digest::BackgroundDigest, to_store_path};
use arca_core::artifact_path::ArtifactPath;
use futures::StreamExt;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as StorePath;
use object_store::signer::{Method, SignedUrlOptions, Signer};
use std::sync::Arc;
use std::time::Duration;

/// How long a part URL stays valid: boto3's default, which MLflow's S3 repository uses.
const PART_URL_TTL: Duration = Duration::from_secs(3600);
/// How long a download URL stays valid: MLflow's `MLFLOW_PRESIGNED_DOWNLOAD_URL_TTL_SECONDS`
/// default. The client asks for a fresh one when a chunk fails.
const DOWNLOAD_URL_TTL: Duration = Duration::from_secs(300);
/// S3's (and GCS's) limit on the parts of one upload.
pub const MAX_PARTS: usize = 10_000;

/// The raw store behind the prefix, with the two capabilities `ObjectStore` does not have.
#[derive(Clone)]
pub(crate) struct Direct {
    pub(crate) multipart: Arc<dyn MultipartStore>,
    pub(crate) signer: Arc<dyn Signer>,
    /// The `--artifacts-destination` prefix: the raw store sees full keys.
    pub(crate) prefix: Option<ArtifactPath>,
    pub(crate) downloads: bool,
}

/// A multipart upload the client fills itself: `part_urls[i]` takes part number `i + 1`.
#[derive(Debug, Clone)]
pub struct DirectUpload {
    pub upload_id: String,
    pub part_urls: Vec<String>,
}

/// A GET URL that needs no credentials, and the size of the file behind it.
#[derive(Debug, Clone)]
pub struct PresignedDownload {
    pub url: String,
    pub size: u64,
}

impl Direct {
    fn key(&self, path: &ArtifactPath) -> StorePath {
        match &self.prefix {
            Some(prefix) => StorePath::from_iter(prefix.segments().chain(path.segments())),
            None => to_store_path(path),
        }
    }

    pub(crate) async fn start(
        &self,
        path: &ArtifactPath,
        parts: usize,
    ) -> Result<DirectUpload, Error> {
        let key = self.key(path);
        // Credentials that cannot sign (no private key, as with an emulator's) make direct
        // uploads unavailable rather than failed: found out before an upload is started, and
        // answered so that the client uploads through the server instead.
        if let Err(e) = self
            .signer
            .signed_url(Method::PUT, &key, PART_URL_TTL)
            .await
        {
            tracing::warn!(error = %e, "the artifact store's credentials cannot sign URLs");
            return Err(Error::Unsupported(
                "multipart uploads with these credentials",
            ));
        }
        let upload_id = self.multipart.create_multipart(&key).await?;
        let mut part_urls = Vec::with_capacity(parts);
        for number in 1..=parts {
            let options = SignedUrlOptions::default().with_query([
                ("partNumber", number.to_string()),
                ("uploadId", upload_id.clone()),
            ]);
            let url = self
                .signer
                .signed_url_opts(Method::PUT, &key, PART_URL_TTL, &options)
                .await;
            match url {
                Ok(url) => part_urls.push(url.to_string()),
                Err(e) => {
                    let _ = self.multipart.abort_multipart(&key, &upload_id).await;
                    return Err(e.into());
                }
            }
        }
        Ok(DirectUpload {
            upload_id,
            part_urls,
        })
    }

    /// `etags[i]` is what the bucket answered to the upload of part number `i + 1`.
    pub(crate) async fn complete(
        &self,
        path: &ArtifactPath,
        upload_id: &str,
        etags: Vec<String>,
    ) -> Result<(), Error> {
        let parts = etags
            .into_iter()
            .map(|content_id| PartId { content_id })
            .collect();
        self.multipart
            .complete_multipart(&self.key(path), &upload_id.to_owned(), parts)
            .await
            .map(|_| ())
            .map_err(|e| upload_error(e, upload_id))
    }

    pub(crate) async fn abort(&self, path: &ArtifactPath, upload_id: &str) -> Result<(), Error> {
        self.multipart
            .abort_multipart(&self.key(path), &upload_id.to_owned())
            .await
            .map_err(|e| upload_error(e, upload_id))
    }

    /// `disposition` is signed into the URL as `response-content-disposition`, so the bucket
    /// serves the file as an attachment, as the proxy does.
    pub(crate) async fn download_url(
        &self,
        path: &ArtifactPath,
        disposition: &str,
    ) -> Result<String, Error> {
        let options =
            SignedUrlOptions::default().with_query([("response-content-disposition", disposition)]);
        match self
            .signer
            .signed_url_opts(Method::GET, &self.key(path), DOWNLOAD_URL_TTL, &options)
            .await
        {
            Ok(url) => Ok(url.to_string()),
            Err(e) => {
                tracing::warn!(error = %e, "the artifact store's credentials cannot sign URLs");
                Err(Error::Unsupported(
                    "presigned downloads with these credentials",
                ))
            }
        }
    }
}

/// The bucket refusing a completion or an abort (an unknown upload, parts it does not have, too
/// small or out of order) is the caller's mistake; anything else is the store's.
fn upload_error(e: object_store::Error, upload_id: &str) -> Error {
    if matches!(e, object_store::Error::NotFound { .. }) {
        return Error::NoSuchUpload(upload_id.to_owned());
    }
    // The same credentials just created uploads, so a denial is about this upload: S3-compatible
    // servers (s3s-fs) deny an id that is not one of theirs instead of answering NoSuchUpload.
    // Logged, in case it is a bucket policy that allows creating uploads but not aborting them.
    if matches!(e, object_store::Error::PermissionDenied { .. }) {
        tracing::warn!(error = %e, upload_id, "the store denied access to a multipart upload");
        return Error::NoSuchUpload(upload_id.to_owned());
    }
    // object_store keeps the response's status private; its message carries the status line
    // and the bucket's XML error.
    let message = format!("{e}");
    let code = message
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code.to_owned());
    if code.as_deref() == Some("NoSuchUpload") {
        return Error::NoSuchUpload(upload_id.to_owned());
    }
    if message.contains("non-2xx status code: 400") {
        let code = code.unwrap_or_else(|| "400 Bad Request".to_owned());
        return Error::PartsRejected(format!(
            "The store refused multipart upload '{upload_id}' ({code}): the upload_id must be \
             the one mpu/create answered, every part uploaded to its URL (all but the last at \
             least 5 MiB), and listed once with the ETag the store answered."
        ));
    }
    e.into()
}

/// Reads back what a direct upload stored, to record its size and SHA-256.
pub(crate) async fn hash_stored(
    store: &crate::ArtifactStore,
    path: &ArtifactPath,
) -> Result<StoredFile, Error> {
    let mut download = store.get(path).await?;
    let mut digest = BackgroundDigest::start(4);
    while let Some(chunk) = download.stream.next().await {
        digest.update(vec![chunk?]).await;
    }
    let (sha256, size) = digest.finish().await?;
    Ok(StoredFile { size, sha256 })
}

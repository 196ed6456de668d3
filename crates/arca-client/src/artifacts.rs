//! Files through the server: MLflow's `mlflow-artifacts` proxy (PUT, GET, list, DELETE under
//! `/api/2.0/mlflow-artifacts/artifacts`) and Arca's manifest of recorded sizes and SHA-256
//! digests (`/api/2.0/arca/artifacts/manifest`), which a plain MLflow server does not have.

use crate::{Client, ClientError};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, Response, header};
use serde::Deserialize;

const ARTIFACTS: &str = "/api/2.0/mlflow-artifacts/artifacts";
const MANIFEST: &str = "/api/2.0/arca/artifacts/manifest";

/// Everything but unreserved characters is escaped in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ArtifactEntry {
    /// The name within the listed directory.
    pub path: String,
    #[serde(default)]
    pub is_dir: bool,
    pub file_size: Option<u64>,
}

/// A file Arca recorded when it stored it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ManifestEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

fn encoded(path: &str) -> String {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

impl Client {
    /// The entries of one directory (`""` is the root); a directory that does not exist is empty.
    pub async fn list_artifacts(&self, dir: &str) -> Result<Vec<ArtifactEntry>, ClientError> {
        #[derive(Deserialize)]
        struct Listing {
            #[serde(default)]
            files: Vec<ArtifactEntry>,
        }
        let listing: Listing = self.get_json(ARTIFACTS, &[("path", dir)]).await?;
        Ok(listing
            .files
            .into_iter()
            .map(|mut e| {
                // MLflow answers basenames; take the last segment whatever a server sends.
                if let Some((_, name)) = e.path.trim_end_matches('/').rsplit_once('/') {
                    e.path = name.to_owned();
                }
                e
            })
            .filter(|e| !e.path.is_empty())
            .collect())
    }

    /// Every file below `dir`, at any depth, as `(path below dir, size)`, sorted by path.
    pub async fn list_artifacts_recursive(
        &self,
        dir: &str,
    ) -> Result<Vec<(String, Option<u64>)>, ClientError> {
        let dir = dir.trim_matches('/');
        let mut files = Vec::new();
        let mut pending = vec![String::new()];
        while let Some(rel) = pending.pop() {
            let full = if rel.is_empty() {
                dir.to_owned()
            } else {
                format!("{dir}/{rel}")
            };
            for entry in self.list_artifacts(&full).await? {
                let child = if rel.is_empty() {
                    entry.path
                } else {
                    format!("{rel}/{}", entry.path)
                };
                if entry.is_dir {
                    pending.push(child);
                } else {
                    files.push((child, entry.file_size));
                }
            }
        }
        files.sort();
        Ok(files)
    }

    /// Starts a download; the body streams from the returned response.
    pub async fn download_artifact(&self, path: &str) -> Result<Response, ClientError> {
        self.send(self.request(Method::GET, &format!("{ARTIFACTS}/{}", encoded(path))))
            .await
    }

    /// Stores `body` at `path`, replacing what was there. With `size`, the request carries a
    /// `Content-Length` instead of being chunked, which every server accepts.
    pub async fn upload_artifact(
        &self,
        path: &str,
        body: reqwest::Body,
        size: Option<u64>,
    ) -> Result<(), ClientError> {
        let mut request = self
            .request(Method::PUT, &format!("{ARTIFACTS}/{}", encoded(path)))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(body);
        if let Some(size) = size {
            request = request.header(header::CONTENT_LENGTH, size);
        }
        self.send(request).await?;
        Ok(())
    }

    pub async fn delete_artifact(&self, path: &str) -> Result<(), ClientError> {
        self.send(self.request(Method::DELETE, &format!("{ARTIFACTS}/{}", encoded(path))))
            .await?;
        Ok(())
    }

    /// Arca's record of every file below `prefix`, paths relative to `prefix`, gathered from
    /// every page; `None` when the server has no manifest endpoint (a plain MLflow server).
    pub async fn artifact_manifest(
        &self,
        prefix: &str,
    ) -> Result<Option<Vec<ManifestEntry>>, ClientError> {
        #[derive(Deserialize)]
        struct Manifest {
            #[serde(default)]
            files: Vec<ManifestEntry>,
            next_page_token: Option<String>,
        }
        let prefix = prefix.trim_matches('/');
        let mut files = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("path", prefix)];
            if let Some(token) = &token {
                query.push(("page_token", token));
            }
            let page = match self.get_json::<Manifest>(MANIFEST, &query).await {
                Ok(page) => page,
                Err(e) if e.is_missing_endpoint() => return Ok(None),
                Err(e) if e.is_not_found() => return Ok(Some(Vec::new())),
                Err(e) => return Err(e),
            };
            files.extend(page.files.into_iter().map(|mut f| {
                // Paths may come as full store paths or relative to the prefix.
                if let Some(rel) = f
                    .path
                    .strip_prefix(prefix)
                    .and_then(|r| r.strip_prefix('/'))
                {
                    f.path = rel.to_owned();
                }
                f
            }));
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next),
                None => return Ok(Some(files)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped_but_slashes_kept() {
        assert_eq!(
            encoded("0/r/artifacts/a b/%x#?.txt"),
            "0/r/artifacts/a%20b/%25x%23%3F.txt"
        );
        assert_eq!(encoded("/a//b/"), "a/b");
    }
}

//! A version's files on its page: where they are, their size and recorded SHA-256, a download
//! link through the artifact proxy, and a preview of the start of one file.
//!
//! The files are found as the CLI finds them: the version's download URI (through copies, runs
//! and logged models) must be an `mlflow-artifacts:` location in this server's store; its folder
//! is listed (at most `MAX_FILES` files, breadth first, so a huge folder cannot stall the page)
//! and joined with the digests the store recorded when each file was uploaded.
//!
//! Previews read at most `PREVIEW_BYTES` of a file and show it as escaped text. Images are
//! shown through `image`, which serves only image types, SVG as `image/svg+xml` under the UI's
//! script-free CSP and as an attachment, so an SVG opened on its own is downloaded rather than
//! rendered as a document of this origin; the page only ever shows it in an `<img>`.

use super::page::OnPage;
use super::page::{Ctx, UiError, UiResult, encode};
use crate::AppState;
use crate::api::artifact_roots::store_path_of;
use crate::api::artifacts::{content_disposition, store_error};
use arca_artifacts::StoredFile;
use arca_core::artifact_path::ArtifactPath;
use arca_core::model::VersionNumber;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};

pub(crate) const MAX_FILES: usize = 1000;
pub(crate) const PREVIEW_BYTES: usize = 256 * 1024;

/// One file of the version, `path` relative to the version's folder.
pub(crate) struct VersionFile {
    pub path: String,
    pub store_path: ArtifactPath,
    pub size: Option<u64>,
    pub sha256: Option<String>,
}

pub(crate) struct VersionFiles {
    /// The version's download URI, shown as where the files are.
    pub root_uri: String,
    /// Why there is no listing (the files are outside this store), when there is none.
    pub outside: bool,
    pub files: Vec<VersionFile>,
    /// More than `MAX_FILES` files: the list stops there.
    pub truncated: bool,
}

impl VersionFiles {
    pub fn find(&self, path: &str) -> Option<&VersionFile> {
        self.files.iter().find(|f| f.path == path)
    }
}

pub(crate) async fn list(
    app: &AppState,
    name: &str,
    version: VersionNumber,
) -> arca_core::Result<VersionFiles> {
    let root_uri = app
        .metadata
        .get_model_version_download_uri(name, version)
        .await?;
    let Some(Some(root)) = store_path_of(&root_uri) else {
        return Ok(VersionFiles {
            root_uri,
            outside: true,
            files: Vec::new(),
            truncated: false,
        });
    };
    let mut found = Vec::new();
    let mut truncated = false;
    let mut pending = VecDeque::from([(root.clone(), String::new())]);
    'walk: while let Some((dir, rel)) = pending.pop_front() {
        let entries = app
            .artifacts
            .list(Some(&dir))
            .await
            .map_err(|e| arca_core::Error::Internal(anyhow::Error::new(e)))?;
        for entry in entries {
            let Ok(child) = ArtifactPath::parse(&format!("{dir}/{}", entry.name)) else {
                continue;
            };
            let child_rel = if rel.is_empty() {
                entry.name.clone()
            } else {
                format!("{rel}/{}", entry.name)
            };
            if entry.is_dir {
                pending.push_back((child, child_rel));
            } else if found.len() == MAX_FILES {
                truncated = true;
                break 'walk;
            } else {
                found.push((child_rel, child, entry.size));
            }
        }
    }
    let mut digests: HashMap<String, (i64, String)> = app
        .metadata
        .artifact_manifest(Some(&root))
        .await?
        .into_iter()
        .map(|d| (d.path, (d.size, d.sha256)))
        .collect();
    let mut files: Vec<VersionFile> = found
        .into_iter()
        .map(|(path, store_path, listed_size)| {
            let recorded = digests.remove(store_path.as_str());
            VersionFile {
                path,
                size: recorded
                    .as_ref()
                    .and_then(|(s, _)| u64::try_from(*s).ok())
                    .or(listed_size),
                sha256: recorded.map(|(_, d)| d),
                store_path,
            }
        })
        .collect();
    // Top-level files first (MLmodel, requirements.txt, ...), then folders, each by name.
    files.sort_by(|a, b| {
        (a.path.contains('/'), a.path.as_str()).cmp(&(b.path.contains('/'), b.path.as_str()))
    });
    Ok(VersionFiles {
        root_uri,
        outside: false,
        files,
        truncated,
    })
}

/// The proxy URL that downloads a stored file.
pub(crate) fn download_url(ctx: &Ctx, path: &ArtifactPath) -> String {
    let encoded: Vec<String> = path.segments().map(encode).collect();
    ctx.url(&format!(
        "/api/2.0/mlflow-artifacts/artifacts/{}",
        encoded.join("/")
    ))
}

/// The first `limit` bytes of a stored file, and whether there was more.
pub(crate) async fn read_head(
    app: &AppState,
    path: &ArtifactPath,
    limit: usize,
) -> arca_core::Result<(Vec<u8>, bool)> {
    let download = app
        .artifacts
        .get(path)
        .await
        .map_err(|e| arca_core::Error::Internal(anyhow::Error::new(e)))?;
    let mut stream = download.stream;
    let mut head = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| arca_core::Error::Internal(anyhow::Error::new(e)))?;
        head.extend_from_slice(&chunk);
        if head.len() > limit {
            head.truncate(limit);
            return Ok((head, true));
        }
    }
    Ok((head, false))
}

/// How a file can be previewed, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Image(&'static str),
    /// Anything else: shown as text when its start is UTF-8 without NUL bytes.
    Other,
}

pub(crate) fn kind_of(file_name: &str) -> Kind {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => Kind::Image("image/png"),
        "jpg" | "jpeg" => Kind::Image("image/jpeg"),
        "gif" => Kind::Image("image/gif"),
        "webp" => Kind::Image("image/webp"),
        "svg" => Kind::Image("image/svg+xml"),
        _ => Kind::Other,
    }
}

/// The start of a file as text, when it is text: valid UTF-8 (a character cut at the end of
/// the preview does not count against it) with no NUL byte. JSON that is complete is indented.
pub(crate) fn as_text(head: &[u8], truncated: bool, file_name: &str) -> Option<String> {
    if head.contains(&0) {
        return None;
    }
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) if truncated && e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    };
    if !truncated
        && file_name.to_ascii_lowercase().ends_with(".json")
        && let Ok(value) = serde_json::from_str::<Value>(text)
    {
        let mut out = String::new();
        pretty_json(&value, 0, &mut out);
        return Some(out);
    }
    Some(text.to_owned())
}

/// JSON indented by objects and nested arrays, with arrays of plain values (a row of numbers,
/// column names) kept on one line, so that an input example reads like a table rather than
/// one number a line.
fn pretty_json(value: &Value, depth: usize, out: &mut String) {
    let pad = |depth: usize| "  ".repeat(depth);
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push_str("{\n");
            for (i, (key, item)) in map.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                pretty_json(item, depth + 1, out);
                out.push_str(if i + 1 < map.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        Value::Array(items) if items.iter().any(|v| v.is_object() || v.is_array()) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                pretty_json(item, depth + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(Value::to_string).collect();
            out.push('[');
            out.push_str(&parts.join(", "));
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[derive(Deserialize)]
pub(crate) struct ImageParams {
    path: Option<String>,
}

/// `GET /models/{name}/versions/{version}/image?path=...`: one image file of the version.
pub(crate) async fn image(
    ctx: Ctx,
    State(app): State<AppState>,
    target: super::versions::VersionPath,
    Query(params): Query<ImageParams>,
) -> UiResult {
    let (name, version) = target.parse(&ctx)?;
    let rel = params.path.unwrap_or_default();
    let files = list(&app, &name, version).await.on_page(&ctx)?;
    let Some(file) = files.find(&rel) else {
        return Err(UiError::new(
            &ctx,
            arca_core::Error::not_found(format!("{name} version {version} has no file '{rel}'.")),
        ));
    };
    let Kind::Image(content_type) = kind_of(file.store_path.file_name()) else {
        return Err(UiError::invalid(
            &ctx,
            format!("'{rel}' is not an image (png, jpg, gif, webp or svg)."),
        ));
    };
    let mut download = app
        .artifacts
        .get(&file.store_path)
        .await
        .map_err(|e| UiError::new(&ctx, store_error(e)))?;
    if let (Some(sha256), Some(size)) = (&file.sha256, file.size) {
        download = download.verified(
            &file.store_path,
            StoredFile {
                size,
                sha256: sha256.clone(),
            },
        );
    }
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CONTENT_LENGTH, HeaderValue::from(download.size)),
        (
            header::CONTENT_DISPOSITION,
            content_disposition(file.store_path.file_name()),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        ),
    ];
    Ok((headers, Body::from_stream(download.stream)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_told_by_their_extension() {
        assert_eq!(kind_of("plot.PNG"), Kind::Image("image/png"));
        assert_eq!(kind_of("a.svg"), Kind::Image("image/svg+xml"));
        assert_eq!(kind_of("MLmodel"), Kind::Other);
        assert_eq!(kind_of("model.pkl"), Kind::Other);
    }

    #[test]
    fn text_is_told_from_binary() {
        assert_eq!(
            as_text(b"numpy==2.0\n", false, "requirements.txt").as_deref(),
            Some("numpy==2.0\n")
        );
        assert_eq!(as_text(b"\x80\x04\x95\x00", false, "model.pkl"), None);
        // A character cut by the preview's limit is dropped, not a reason to give up.
        assert_eq!(
            as_text("caf\u{e9}".as_bytes()[..4].as_ref(), true, "a.txt").as_deref(),
            Some("caf")
        );
        assert_eq!(
            as_text(
                br#"{"columns":["x","y"],"data":[[1,2.5],[3,4]]}"#,
                false,
                "input_example.json"
            )
            .as_deref(),
            Some(
                "{\n  \"columns\": [\"x\", \"y\"],\n  \"data\": [\n    [1, 2.5],\n    [3, 4]\n  ]\n}"
            )
        );
    }
}

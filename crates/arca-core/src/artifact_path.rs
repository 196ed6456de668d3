//! The one gate between a user-supplied location and the bytes Arca stores.
//!
//! MLflow's tracking server had a long series of path-traversal CVEs: artifact paths and model
//! version `source` URIs with `..`, absolute paths, percent-encoded and double-encoded dots,
//! `?`/`#` that split a path where one layer did not expect it, and `//proc/...`-style sources
//! that a later step resolved against the local file system. Each fix patched the one layer
//! where the trick had got through. Here every artifact path is parsed once, at the edge, into
//! an [`ArtifactPath`] whose invariants make those tricks unrepresentable; the storage layer
//! only ever accepts that type.
//!
//! The HTTP layer percent-decodes a request path or query value exactly once before calling
//! [`ArtifactPath::parse`]. A path is canonical only if decoding it again would change nothing:
//! a `%XX` (two hex digits) that survives the first decoding is a second layer of encoding
//! (`%252e` → `%2e`) that some later layer might decode into `.` or `/`, so it is refused. A
//! lone `%` that starts no such sequence (`100%.txt`, `%percent`) is an ordinary character.
//!
//! [`validate_source_uri`] guards the URI fields a user sets but Arca never dereferences itself
//! (`source` of a model version, `artifact_location` of an experiment): Arca serves files only
//! from its own store, so local paths and `file:` URIs are refused, and remote URIs are stored
//! as text, never fetched.

use crate::{Error, Result};
use std::fmt;

/// Longest accepted artifact path in bytes: S3's key limit.
pub const MAX_PATH_BYTES: usize = 1024;
/// Longest accepted path segment in bytes: the usual file-name limit of local file systems.
pub const MAX_SEGMENT_BYTES: usize = 255;

/// A relative artifact path: non-empty `/`-separated segments, none of them empty, `.`, `..`
/// or otherwise able to leave the directory it names. Every path that reaches storage is one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArtifactPath(String);

impl ArtifactPath {
    /// Parses an already percent-decoded path such as `0/models/m-1/artifacts/MLmodel`.
    pub fn parse(raw: &str) -> Result<ArtifactPath> {
        check_path(raw).map_err(|reason| invalid_path(raw, reason))?;
        Ok(ArtifactPath(raw.to_owned()))
    }

    /// A directory argument, where the empty string (and `/` alone) means the root of the
    /// store and one trailing `/` is tolerated: `None` is the root.
    pub fn parse_dir(raw: &str) -> Result<Option<ArtifactPath>> {
        if raw.is_empty() || raw == "/" {
            return Ok(None);
        }
        let trimmed = raw.strip_suffix('/').unwrap_or(raw);
        check_path(trimmed).map_err(|reason| invalid_path(raw, reason))?;
        Ok(Some(ArtifactPath(trimmed.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The last segment: the file's or directory's own name.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The enclosing directory, `None` for a top-level name.
    pub fn parent(&self) -> Option<ArtifactPath> {
        self.0
            .rsplit_once('/')
            .map(|(parent, _)| ArtifactPath(parent.to_owned()))
    }

    /// `self/child`; both sides are valid, so the result is too (lengths permitting).
    pub fn join(&self, child: &ArtifactPath) -> Result<ArtifactPath> {
        ArtifactPath::parse(&format!("{}/{}", self.0, child.0))
    }

    /// The part of `self` below `dir`, if `self` lies strictly inside it.
    pub fn strip_dir(&self, dir: &ArtifactPath) -> Option<&str> {
        self.0
            .strip_prefix(dir.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
    }
}

impl fmt::Display for ArtifactPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ArtifactPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A stored file as the manifest reports it: its path, size in bytes and SHA-256 (lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactDigest {
    pub path: String,
    pub size: i64,
    pub sha256: String,
}

fn invalid_path(raw: &str, reason: &str) -> Error {
    Error::invalid(format!(
        "Invalid artifact path '{}': {reason}. An artifact path is relative, with '/' between \
         non-empty names; '.', '..', backslashes, percent-encoded sequences (%XX), '?', '#' and \
         control characters are not allowed.",
        raw.escape_debug()
    ))
}

fn check_path(raw: &str) -> std::result::Result<(), &'static str> {
    if raw.is_empty() {
        return Err("the path is empty");
    }
    if raw.len() > MAX_PATH_BYTES {
        return Err("the path is longer than 1024 bytes");
    }
    if raw.contains('\0') {
        return Err("it contains a NUL byte");
    }
    if raw.chars().any(char::is_control) {
        return Err("it contains a control character");
    }
    if raw.contains('\\') {
        return Err("it contains a backslash");
    }
    if has_percent_escape(raw) {
        return Err("it contains a percent-encoded sequence (%XX), a second layer of encoding");
    }
    if raw.contains('?') || raw.contains('#') {
        return Err("it contains '?' or '#'");
    }
    if raw.starts_with('/') {
        return Err("it is absolute");
    }
    if is_drive_prefix(raw) {
        return Err("it starts with a drive letter");
    }
    for segment in raw.split('/') {
        if segment.is_empty() {
            return Err("it has an empty segment ('//' or a trailing '/')");
        }
        if is_dots(segment) {
            return Err("it has a '.' or '..' segment");
        }
        if segment.len() > MAX_SEGMENT_BYTES {
            return Err("a segment is longer than 255 bytes");
        }
    }
    Ok(())
}

fn has_percent_escape(s: &str) -> bool {
    s.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

/// `C:` or `c:...`: a Windows drive, absolute or drive-relative.
fn is_drive_prefix(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// A segment made of nothing but dots, including look-alikes that Unicode normalization turns
/// into `.` (fullwidth full stop, one-dot leader). `...` is a legal Unix name, but Windows strips
/// trailing dots, and no real artifact is called that.
fn is_dots(segment: &str) -> bool {
    segment
        .chars()
        .all(|c| matches!(c, '.' | '\u{FF0E}' | '\u{2024}' | '\u{FE52}'))
}

/// Schemes accepted in user-set URI fields besides `mlflow-artifacts:`, `runs:`, `models:` and
/// `http(s)://`: remote object stores and file systems MLflow knows. Arca stores such a URI as
/// text and never reads from it; the client that registered it is the one that uses it.
pub const REMOTE_STORE_SCHEMES: &[&str] = &[
    "s3", "s3a", "s3n", "gs", "wasb", "wasbs", "abfs", "abfss", "az", "hdfs", "viewfs", "dbfs",
    "oss",
];

/// Checks a URI a user asked Arca to record (`source`, `artifact_location`). Refused, each with a
/// 400: local paths (`/x`, `./x`, `x`, `C:\x`, `//proc/...`) and `file:` URIs; NUL and other
/// control characters; backslashes; `..` segments, raw or percent-encoded once, twice or more
/// (any case); `?` or `#` anywhere but in an `http(s)` URI; unknown schemes. Accepted:
/// `mlflow-artifacts:/<artifact path>`, `runs:/<32-hex run id>[/<artifact path>]`,
/// `models:/<name>/<version|stage|latest>` and `models:/<name>@<alias>`, `http(s)://host/...`,
/// and the [`REMOTE_STORE_SCHEMES`].
pub fn validate_source_uri(uri: &str) -> Result<()> {
    check_source(uri).map_err(|reason| {
        Error::invalid(format!(
            "Invalid URI '{}': {reason}. Accepted: mlflow-artifacts:/<path>, runs:/<run_id>/<path>, \
             models:/<name>/<version>, http(s)://, s3://, gs://, wasbs://, abfss://, az://, \
             hdfs://, dbfs:/; Arca serves files only from its own artifact store, so local paths \
             and file: URIs are not accepted.",
            uri.escape_debug()
        ))
    })
}

fn check_source(uri: &str) -> std::result::Result<(), &'static str> {
    if uri.is_empty() {
        return Err("it is empty");
    }
    // Each decoding round is checked, so `%2e%2e`, `%252e%252e` and deeper all end up as `..`.
    let mut layer = uri.to_owned();
    for _ in 0..8 {
        if layer.chars().any(char::is_control) {
            return Err("it contains a NUL byte or a control character");
        }
        if layer.contains('\\') {
            return Err("it contains a backslash");
        }
        if layer.split('/').any(|s| s == "..") {
            return Err("it contains a '..' segment");
        }
        match percent_decode_once(&layer) {
            Some(next) if next != layer => layer = next,
            Some(_) => break,
            None => return Err("it is not valid UTF-8 after percent-decoding"),
        }
    }
    let Some((scheme, rest)) = split_scheme(uri) else {
        return Err("it is a local path");
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme == "http" || scheme == "https" {
        let host = rest
            .strip_prefix("//")
            .ok_or("an http(s) URI needs '//host'")?;
        if host.is_empty() || host.starts_with('/') {
            return Err("the http(s) URI has no host");
        }
        return Ok(());
    }
    // A query or fragment would end up inside an artifact path when Arca resolves one of its
    // own URIs; on a remote store's URI it is the store's business, and MLflow keeps it.
    let own_scheme = matches!(
        scheme.as_str(),
        "file" | "mlflow-artifacts" | "runs" | "models"
    );
    if own_scheme && (rest.contains('?') || rest.contains('#')) {
        return Err("it contains '?' or '#'");
    }
    match scheme.as_str() {
        "file" => Err("it is a local file: URI"),
        "mlflow-artifacts" => {
            let path = match rest.strip_prefix("//") {
                // mlflow-artifacts://host:port/path names the server to proxy through.
                Some(authority_and_path) => {
                    let (authority, path) = match authority_and_path.find('/') {
                        Some(i) => authority_and_path.split_at(i),
                        None => (authority_and_path, ""),
                    };
                    if authority.is_empty() {
                        return Err("an mlflow-artifacts URI with '//' needs a host");
                    }
                    path
                }
                None => rest,
            };
            let path = path
                .strip_prefix('/')
                .ok_or("an mlflow-artifacts URI needs a path starting with '/'")?;
            artifact_path_of_uri(path)
        }
        "runs" => {
            let rest = rest
                .strip_prefix('/')
                .ok_or("a runs URI looks like runs:/<run_id>/<path>")?;
            let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
            // Any run id MLflow accepts is accepted; what makes one unsafe (separators,
            // traversal, control characters) is refused above.
            if run_id.is_empty() {
                return Err("a runs URI looks like runs:/<run_id>/<path>");
            }
            artifact_path_of_uri(path)
        }
        // models://<profile>/... names another registry: the store refuses it in MLflow's words.
        "models" if rest.starts_with("//") => Ok(()),
        "models" => {
            let rest = rest
                .strip_prefix('/')
                .ok_or("a models URI looks like models:/<name>/<version>")?;
            if rest.is_empty() || rest.starts_with('/') {
                return Err("the models URI has no model name");
            }
            Ok(())
        }
        s if REMOTE_STORE_SCHEMES.contains(&s) => {
            let location = rest.trim_start_matches('/');
            if location.is_empty() {
                return Err("it names no bucket, container or path");
            }
            if s != "dbfs" && !rest.starts_with("//") {
                return Err("a remote store URI looks like scheme://bucket/path");
            }
            Ok(())
        }
        _ => Err("its scheme is not supported"),
    }
}

/// The path part of an `mlflow-artifacts:` or `runs:` URI, percent-decoded once as a URL path
/// is, must be a valid artifact path (or empty: the root).
fn artifact_path_of_uri(path: &str) -> std::result::Result<(), &'static str> {
    let decoded = percent_decode_once(path).ok_or("its path is not valid UTF-8")?;
    if decoded.is_empty() {
        return Ok(());
    }
    let decoded = decoded.strip_suffix('/').unwrap_or(&decoded);
    check_path(decoded)
}

/// `scheme:` per RFC 3986 (a letter, then letters, digits, `+`, `-`, `.`). A single letter is a
/// Windows drive, not a scheme.
fn split_scheme(uri: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (valid && scheme.len() > 1).then_some((scheme, rest))
}

/// One round of `%XX` decoding; a `%` not followed by two hex digits stays as it is.
fn percent_decode_once(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2]))
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &str) {
        assert!(
            ArtifactPath::parse(raw).is_err(),
            "{raw:?} should be refused"
        );
    }

    #[test]
    fn ordinary_paths_are_accepted() {
        for raw in [
            "MLmodel",
            "0/models/m-1/artifacts/model.skops",
            "plots/Confusion Matrix (test).png",
            "données/modèle.bin",
            "a~b[1]{2}.txt",
            "v1.2/.hidden",
            "...x",
            "100%.txt",
            "name%2",
            "sp ace+plus%percent&amp=eq;semi ü.txt",
            "a..b/..c",
        ] {
            let p = ArtifactPath::parse(raw).unwrap();
            assert_eq!(p.as_str(), raw);
        }
        let p = ArtifactPath::parse("a/b/c.txt").unwrap();
        assert_eq!(p.file_name(), "c.txt");
        assert_eq!(p.parent().unwrap().as_str(), "a/b");
        assert_eq!(ArtifactPath::parse("top").unwrap().parent(), None);
        let dir = ArtifactPath::parse("a").unwrap();
        assert_eq!(p.strip_dir(&dir), Some("b/c.txt"));
        assert_eq!(ArtifactPath::parse("ab/c").unwrap().strip_dir(&dir), None);
        assert_eq!(dir.join(&p).unwrap().as_str(), "a/a/b/c.txt");
    }

    #[test]
    fn dot_segments_are_refused() {
        for raw in [
            "..",
            ".",
            "../etc/passwd",
            "a/../../etc/passwd",
            "a/./b",
            "a/..",
            "a/...",
            "\u{FF0E}\u{FF0E}/etc",
        ] {
            refused(raw);
        }
    }

    #[test]
    fn absolute_paths_and_drives_are_refused() {
        for raw in [
            "/etc/passwd",
            "//etc/passwd",
            "//proc/self/environ",
            "/",
            "C:/Windows/win.ini",
            "c:boot.ini",
        ] {
            refused(raw);
        }
    }

    #[test]
    fn backslashes_are_refused() {
        for raw in ["..\\..\\etc\\passwd", "a\\b", "\\\\server\\share"] {
            refused(raw);
        }
    }

    #[test]
    fn any_remaining_percent_encoding_is_refused() {
        for raw in [
            "%2e%2e/etc/passwd",
            "%2E%2E%2Fetc",
            "a%2f..%2fb",
            "%252e%252e/etc",
            "%25252e",
            "a%00b",
        ] {
            refused(raw);
        }
    }

    #[test]
    fn query_and_fragment_characters_are_refused() {
        for raw in ["a.txt?x=../../etc", "a#/../../etc", "model.pkl#1"] {
            refused(raw);
        }
    }

    #[test]
    fn nul_and_control_characters_are_refused() {
        for raw in [
            "a\0.txt",
            "a.txt\0.png",
            "a\nb",
            "a\rb",
            "a\tb",
            "a\u{7f}",
            "a\u{85}b",
        ] {
            refused(raw);
        }
    }

    #[test]
    fn empty_segments_and_oversized_paths_are_refused() {
        for raw in ["", "a//b", "a/", "a/b//"] {
            refused(raw);
        }
        refused(&"x".repeat(256));
        refused(&vec!["abcdefghi"; 110].join("/"));
        assert!(ArtifactPath::parse(&"x".repeat(255)).is_ok());
    }

    #[test]
    fn directories_may_be_the_root_or_end_in_a_slash() {
        assert_eq!(ArtifactPath::parse_dir("").unwrap(), None);
        assert_eq!(ArtifactPath::parse_dir("/").unwrap(), None);
        assert_eq!(
            ArtifactPath::parse_dir("a/b/").unwrap().unwrap().as_str(),
            "a/b"
        );
        for raw in ["//", "a//", "../", "/etc", "%2e%2e/"] {
            assert!(ArtifactPath::parse_dir(raw).is_err(), "{raw:?}");
        }
    }

    fn source_refused(uri: &str) {
        assert!(
            validate_source_uri(uri).is_err(),
            "{uri:?} should be refused"
        );
    }

    #[test]
    fn sources_in_arca_or_remote_stores_are_accepted() {
        for uri in [
            "mlflow-artifacts:/0/models/m-1/artifacts",
            "mlflow-artifacts:/",
            "mlflow-artifacts://arca.internal:5000/1/abc/artifacts/model",
            "runs:/0123456789abcdef0123456789abcdef/model",
            "runs:/0123456789ABCDEF0123456789ABCDEF",
            "models:/m-0123456789abcdef",
            "models:/churn/1",
            "models:/team/churn@champion",
            "s3://bucket/path/to/model",
            "S3://bucket/100%25.bin",
            "gs://bucket/model",
            "wasbs://container@account.blob.core.windows.net/model",
            "abfss://fs@account.dfs.core.windows.net/model",
            "az://container/model",
            "hdfs://namenode:8020/models/x",
            "dbfs:/databricks/mlflow/1/model",
            "https://example.com/model.tar.gz?sig=abc#frag",
            "http://localhost:9000/x",
        ] {
            validate_source_uri(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        }
    }

    #[test]
    fn local_sources_are_refused() {
        for uri in [
            "/etc/passwd",
            "//proc/self/environ",
            "///proc/self/root/etc/passwd",
            "file:///etc/passwd",
            "FILE:/etc/passwd",
            "file://localhost/etc/passwd",
            "model",
            "./model",
            "C:/Windows",
            "C:\\Windows",
            "",
        ] {
            source_refused(uri);
        }
    }

    #[test]
    fn traversal_in_sources_is_refused_however_encoded() {
        for uri in [
            "mlflow-artifacts:/0/../../etc",
            "mlflow-artifacts:/0/%2e%2e/%2E%2E/etc",
            "mlflow-artifacts:/0/%252e%252e/etc",
            "mlflow-artifacts:/0/%25252E%25252E/etc",
            "mlflow-artifacts:/..%2f..%2fetc",
            "mlflow-artifacts:///etc/passwd",
            "mlflow-artifacts:////proc/self/environ",
            "mlflow-artifacts://host//etc/passwd",
            "runs:/0123456789abcdef0123456789abcdef/../../x",
            "runs:/0123456789abcdef0123456789abcdef/%2e%2e/x",
            "runs:/../0123456789abcdef0123456789abcdef",
            "models:/../../etc",
            "s3://bucket/../other",
            "s3://bucket/%2e%2e/other",
            "https://example.com/a/../../b",
            "https://example.com/%252e%252e/b",
        ] {
            source_refused(uri);
        }
    }

    #[test]
    fn control_characters_backslashes_and_fragments_in_sources_are_refused() {
        for uri in [
            "mlflow-artifacts:/0/a\0b",
            "mlflow-artifacts:/0/a%00b",
            "mlflow-artifacts:/0/a%2500b",
            "s3://bucket/a\nb",
            "s3://bucket\\..\\x",
            "mlflow-artifacts:/0/a%5c..%5cb",
            "mlflow-artifacts:/0/model?x=/../../etc",
            "mlflow-artifacts:/0/model#/../../etc",
            "mlflow-artifacts:/0/a%3Fb",
            "runs:/0123456789abcdef0123456789abcdef/m#x",
        ] {
            source_refused(uri);
        }
        // A remote store's own query (an S3 object version) is the store's business.
        validate_source_uri("s3://bucket/key?versionId=1").unwrap();
    }

    #[test]
    fn any_run_id_mlflow_accepts_is_accepted() {
        for uri in [
            "runs:/not-a-run/model",
            "runs:/run_id/model",
            "runs:/my-run-1/m",
        ] {
            validate_source_uri(uri).unwrap();
        }
    }

    #[test]
    fn unknown_or_malformed_schemes_are_refused() {
        for uri in [
            "ftp://host/x",
            "javascript:alert(1)",
            "runs:model",
            "runs://model",
            "models:",
            "s3:bucket/x",
            "s3://",
            "http:/host",
            "https:///x",
        ] {
            source_refused(uri);
        }
    }
}

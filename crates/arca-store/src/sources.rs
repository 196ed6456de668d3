//! What a new model version's `source` may be, and the run and logged model it then belongs to.
//!
//! These are the rules `mlflow server` 3.17 applies (its handlers' source validation), so that a
//! registration MLflow accepts is accepted here and one it refuses is refused with the same
//! words. In short: a source names where the files are, and when that place belongs to a run or
//! a logged model of this registry (`runs:/<run>/...`, `models:/m-<id>`, `mlflow-artifacts:/...`)
//! the request must name that run or logged model too, so nobody registers another run's files
//! by accident or on purpose. A source that would make the server reach a host (http, hdfs,
//! ftp, ...) or read a local path is refused; `models:/<name>/<version>` (a copy) must name a
//! version that exists and is stored as that exact version.
//!
//! The syntactic gate against traversal and encoded tricks
//! ([`arca_core::artifact_path::validate_source_uri`]) runs here too, after the host check as
//! MLflow orders them, so that every front end (the HTTP API, the CLI's local flavor) gets it.

use crate::error::Result;
use crate::{models, versions};
use arca_core::model::{NewModelVersion, VersionNumber};
use arca_core::registry::{ModelUri, VersionRef};
use arca_core::{Error, prompt};
use sqlx::{AnyConnection, Row};

/// Schemes whose URIs make a server connect to the host they name (MLflow's list).
const HOST_ADDRESSED: [&str; 10] = [
    "ftp",
    "sftp",
    "hdfs",
    "viewfs",
    "http",
    "https",
    "mlflow-artifacts",
    "r2",
    "b2",
    "abfss",
];

/// The source, run id and logged model a new version is stored with.
pub(crate) struct Lineage {
    pub source: String,
    pub run_id: String,
    pub model_id: Option<String>,
}

pub(crate) async fn check_version_source(
    conn: &mut AnyConnection,
    new: &NewModelVersion,
) -> Result<Lineage> {
    let source = new.source.as_str();
    if prompt::is_prompt_version(&new.tags) {
        prompt::validate_prompt_source(source)?;
        return Ok(Lineage {
            source: source.to_owned(),
            run_id: new.run_id.clone(),
            model_id: new.model_id.clone(),
        });
    }
    let uri = Uri::split(source);
    if let Some(scheme) = uri.scheme.as_deref()
        && HOST_ADDRESSED.contains(&scheme)
        && !(scheme == "mlflow-artifacts" && uri.authority.is_none())
    {
        return Err(Error::invalid(format!(
            "'source' cannot use the '{scheme}' scheme: the '{scheme}' scheme addresses a host \
             other than the tracking server's configured artifact storage, so the server would \
             connect to the host named in the URI."
        ))
        .into());
    }
    // After the host check, as MLflow orders its checks.
    arca_core::artifact_path::validate_source_uri(source)?;
    let mut lineage = Lineage {
        source: source.to_owned(),
        run_id: new.run_id.clone(),
        model_id: new.model_id.clone(),
    };
    if uri.scheme.as_deref() == Some("models") && !is_logged_model_uri(&uri) {
        lineage = registry_lineage(conn, source, &uri, new).await?;
    }
    let owner = match &lineage.model_id {
        Some(model_id) => Owner::LoggedModel(model_id),
        None => Owner::Run(&lineage.run_id),
    };
    check_owned_source(conn, &lineage.source, owner).await?;
    Ok(lineage)
}

/// `models:/<name>/<version|stage|latest>` or `models:/<name>@<alias>`: the version must exist;
/// it is stored by number, and the new version takes its run and logged model.
async fn registry_lineage(
    conn: &mut AnyConnection,
    source: &str,
    uri: &Uri,
    new: &NewModelVersion,
) -> Result<Lineage> {
    if uri.authority.is_some() {
        return Err(Error::invalid(format!(
            "Invalid model version source: '{source}'. Registered model sources must use the \
             active model registry."
        ))
        .into());
    }
    let parsed = ModelUri::parse(source).map_err(|_| invalid_source(source, "model_id"))?;
    let name = parsed.name();
    let model = models::model_id(conn, name).await?;
    let is_prompt: Option<String> =
        sqlx::query("SELECT value FROM registered_model_tags WHERE model_id = $1 AND key = $2")
            .bind(model)
            .bind(prompt::IS_PROMPT_TAG)
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
    if is_prompt.is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Err(Error::invalid(format!(
            "Invalid model version source: '{source}'. Prompt versions cannot be used as model \
             version sources."
        ))
        .into());
    }
    let number = match parsed.reference() {
        VersionRef::Number(n) => n.get(),
        VersionRef::Latest => newest(conn, model, None).await?,
        VersionRef::Stage(stage) => newest(conn, model, Some(stage.as_str())).await?,
        VersionRef::Alias(alias) => sqlx::query(
            "SELECT version FROM registered_model_aliases WHERE model_id = $1 AND alias = $2",
        )
        .bind(model)
        .bind(alias.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get::<i64, _>(0))
        .transpose()?
        .ok_or_else(|| Error::invalid(format!("Registered model alias {alias} not found.")))?,
    };
    let target = versions::load_version(conn, name, VersionNumber::from_stored(number)).await?;
    let run_given = !new.run_id.is_empty();
    if (run_given && new.run_id != target.run_id)
        || (new.model_id.is_some() && new.model_id != target.model_id)
    {
        return Err(Error::invalid(format!(
            "Invalid model version source: '{source}'. The run_id and model_id request \
             parameters must match the referenced model version."
        ))
        .into());
    }
    Ok(Lineage {
        source: format!("models:/{name}/{number}"),
        run_id: if run_given {
            new.run_id.clone()
        } else {
            target.run_id
        },
        model_id: new.model_id.clone().or(target.model_id),
    })
}

/// The newest live version of a model, in one stage or in any.
async fn newest(conn: &mut AnyConnection, model: i64, stage: Option<&str>) -> Result<i64> {
    let row = sqlx::query(
        "SELECT MAX(version) FROM model_versions WHERE model_id = $1 AND current_stage <> $2 \
         AND ($3 = '' OR current_stage = $3)",
    )
    .bind(model)
    .bind(versions::DELETED_STAGE)
    .bind(stage.unwrap_or(""))
    .fetch_one(&mut *conn)
    .await?;
    row.try_get::<Option<i64>, _>(0)?
        .ok_or_else(|| Error::not_found("No versions found for the model version source.").into())
}

/// What a new version's files must belong to: the run or the logged model the request names.
#[derive(Clone, Copy)]
enum Owner<'a> {
    Run(&'a str),
    LoggedModel(&'a str),
}

impl Owner<'_> {
    /// The request field that names it.
    fn field(self) -> &'static str {
        match self {
            Owner::Run(_) => "run_id",
            Owner::LoggedModel(_) => "model_id",
        }
    }

    /// Where its artifacts are.
    fn root_query(self) -> &'static str {
        match self {
            Owner::Run(_) => "SELECT artifact_uri FROM runs WHERE run_uuid = $1",
            Owner::LoggedModel(_) => "SELECT artifact_uri FROM logged_models WHERE model_id = $1",
        }
    }
}

/// The source must be a remote absolute path, and when it points into this registry's own
/// artifacts (`runs:/`, `models:/m-`, `mlflow-artifacts:/`) it must lie in the owner's.
async fn check_owned_source(
    conn: &mut AnyConnection,
    source: &str,
    owner: Owner<'_>,
) -> Result<()> {
    let field = owner.field();
    let uri = Uri::split(source);
    if uri.is_local() {
        return Err(Error::invalid(format!(
            "Invalid model version source: '{source}'. To use a local path as a model version \
             source, the {field} request parameter has to be specified and the local path has to \
             be contained within the artifact directory of the run specified by the {field}."
        ))
        .into());
    }
    check_absolute_path(source)?;
    let elsewhere = uri.authority.is_some();
    let refused = match (uri.scheme.as_deref(), owner) {
        (Some("runs"), Owner::Run(id))
            if elsewhere || id.is_empty() || uri.first_segment() != id =>
        {
            Some("run_id")
        }
        (Some("runs"), Owner::LoggedModel(_)) => Some("model_id"),
        (Some("models"), Owner::Run(_)) if elsewhere || is_logged_model_uri(&uri) => {
            Some("model_id")
        }
        (Some("models"), Owner::LoggedModel(id))
            if elsewhere || (is_logged_model_uri(&uri) && uri.first_segment() != id) =>
        {
            Some("model_id")
        }
        _ => None,
    };
    if let Some(field) = refused {
        return Err(invalid_source(source, field).into());
    }
    if uri.is_artifact_proxy() {
        let (Owner::Run(id) | Owner::LoggedModel(id)) = owner;
        let root = artifact_root(conn, owner.root_query(), id).await?;
        if !root.is_some_and(|root| Uri::split(&root).contains(&uri)) {
            return Err(invalid_source(source, field).into());
        }
    }
    Ok(())
}

async fn artifact_root(
    conn: &mut AnyConnection,
    sql: &'static str,
    id: &str,
) -> Result<Option<String>> {
    if id.is_empty() {
        return Ok(None);
    }
    Ok(sqlx::query(sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get::<String, _>(0))
        .transpose()?)
}

fn invalid_source(source: &str, id_field: &str) -> Error {
    Error::invalid(format!(
        "Invalid model version source: '{source}'. The {id_field} request parameter must \
         identify the resource that contains the source."
    ))
}

/// A remote source must name an absolute path with no relative references, however it is
/// percent-encoded: `s3://bucket` (no path), `s3://b/a/./c` and `s3://b/a/../c` are refused.
fn check_absolute_path(source: &str) -> Result<()> {
    let mut decoded = source.to_owned();
    loop {
        let next = unquote_plus(&decoded);
        if next == decoded {
            break;
        }
        decoded = next;
    }
    let path = Uri::split(&decoded).path;
    let mut collapsed = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && collapsed.ends_with('/')) {
            collapsed.push(c);
        }
    }
    let collapsed = collapsed.trim_end_matches('/');
    let bad = collapsed.contains('\0')
        || decoded.split('/').any(|s| s == "..")
        || !collapsed.starts_with('/')
        || collapsed.split('/').any(|s| s == ".");
    if bad {
        return Err(Error::invalid(format!(
            "Invalid model version source: '{source}'. If supplying a source as an http, https, \
             local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be \
             provided without relative path references present. Please provide an absolute path."
        ))
        .into());
    }
    Ok(())
}

/// One round of `%XX` and `+` decoding, as Python's `unquote_plus`; bytes that do not form
/// UTF-8 are kept as they were.
fn unquote_plus(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16)) {
                Some(Ok(b)) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

fn is_logged_model_uri(uri: &Uri) -> bool {
    uri.scheme.as_deref() == Some("models")
        && uri.authority.is_none()
        && uri
            .path
            .strip_prefix('/')
            .is_some_and(|p| p.starts_with("m-") && !p.contains('/'))
}

/// A URI cut the way Python's `urlparse` cuts it: scheme (lower case), authority after `//`,
/// path; query and fragment are dropped.
struct Uri {
    scheme: Option<String>,
    authority: Option<String>,
    path: String,
}

impl Uri {
    fn split(raw: &str) -> Uri {
        let (scheme, rest) = match raw.split_once(':') {
            Some((s, rest))
                if s.len() > 1
                    && s.starts_with(|c: char| c.is_ascii_alphabetic())
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) =>
            {
                (Some(s.to_ascii_lowercase()), rest)
            }
            _ => (None, raw),
        };
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        let (authority, path) = match rest.strip_prefix("//") {
            Some(after) => match after.find('/') {
                Some(i) => (Some(after[..i].to_ascii_lowercase()), after[i..].to_owned()),
                None => (Some(after.to_ascii_lowercase()), String::new()),
            },
            None => (None, rest.to_owned()),
        };
        Uri {
            scheme,
            authority: authority.filter(|a| !a.is_empty()),
            path,
        }
    }

    /// No scheme (a path, or a Windows drive), or `file:`.
    fn is_local(&self) -> bool {
        matches!(self.scheme.as_deref(), None | Some("file"))
    }

    fn first_segment(&self) -> &str {
        self.path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("")
    }

    /// A location served by a tracking server's artifact proxy.
    fn is_artifact_proxy(&self) -> bool {
        match self.scheme.as_deref() {
            Some("mlflow-artifacts") => true,
            Some("http" | "https") => self
                .parts()
                .windows(4)
                .any(|w| w == ["api", "2.0", "mlflow-artifacts", "artifacts"]),
            _ => false,
        }
    }

    fn parts(&self) -> Vec<String> {
        self.path
            .split('/')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let mut part = p.to_owned();
                loop {
                    let next = percent_decode(&part);
                    if next == part {
                        return part;
                    }
                    part = next;
                }
            })
            .collect()
    }

    /// `other` lies at or under this root: same scheme and authority, and the root's path
    /// segments begin the other's.
    fn contains(&self, other: &Uri) -> bool {
        let root = self.parts();
        self.scheme == other.scheme
            && self.authority == other.authority
            && !root.is_empty()
            && other.parts().starts_with(&root)
    }
}

fn percent_decode(s: &str) -> String {
    unquote_plus(&s.replace('+', "%2B"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths_pass_and_relative_ones_do_not() {
        for ok in [
            "s3://bucket/model",
            "gs://b/a//b",
            "dbfs:/models/m",
            "runs:/abc/model",
            "s3://bucket/model?x=1#frag",
            "s3://bucket/my model",
        ] {
            assert!(check_absolute_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "s3://bucket",
            "s3://bucket/",
            "s3://b/a/./c",
            "s3://b/a/../c",
            "s3://b/%2e%2e/c",
            "s3://b/%252e%252e/c",
            "dbfs:models",
        ] {
            assert!(check_absolute_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uris_split_like_urlparse() {
        let u = Uri::split("mlflow-artifacts://Host:5000/0/abc?x#y");
        assert_eq!(u.scheme.as_deref(), Some("mlflow-artifacts"));
        assert_eq!(u.authority.as_deref(), Some("host:5000"));
        assert_eq!(u.path, "/0/abc");
        assert!(Uri::split("C:\\models\\m").is_local());
        assert!(Uri::split("model/dir").is_local());
        assert!(Uri::split("file:///etc").is_local());
        let root = Uri::split("mlflow-artifacts:/1/abc/artifacts");
        assert!(root.contains(&Uri::split("mlflow-artifacts:/1/abc/artifacts/model")));
        assert!(root.contains(&Uri::split("mlflow-artifacts:/1/%61bc/artifacts/model")));
        assert!(!root.contains(&Uri::split("mlflow-artifacts:/1/abd/artifacts/model")));
        assert!(is_logged_model_uri(&Uri::split("models:/m-123")));
        assert!(!is_logged_model_uri(&Uri::split("models:/name/1")));
    }
}

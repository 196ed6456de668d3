//! `--backend-store-uri` in MLflow's spelling: `sqlite:///relative.db`, `sqlite:////absolute.db`
//! (SQLAlchemy's rule: what follows `sqlite:///` is the path), and `postgresql://` or `postgres://`.

use arca_core::{Error, Result};
use std::path::PathBuf;

#[derive(Clone, PartialEq, Eq)]
pub enum StoreUri {
    Sqlite { path: PathBuf },
    Postgres { url: String },
}

impl StoreUri {
    pub fn parse(raw: &str) -> Result<StoreUri> {
        if let Some(rest) = raw.strip_prefix("sqlite://") {
            let path = rest.strip_prefix('/').unwrap_or(rest);
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err(Error::invalid(format!(
                    "Backend store URI '{raw}' names no database file; use sqlite:///relative/path.db \
                     or sqlite:////absolute/path.db."
                )));
            }
            return Ok(StoreUri::Sqlite {
                path: PathBuf::from(path),
            });
        }
        for scheme in ["postgresql://", "postgres://", "postgresql+psycopg2://"] {
            if let Some(rest) = raw.strip_prefix(scheme) {
                if rest.is_empty() {
                    return Err(Error::invalid(format!(
                        "Backend store URI '{raw}' has no host; use postgresql://user[:password]@host:port/db."
                    )));
                }
                return Ok(StoreUri::Postgres {
                    url: format!("postgres://{rest}"),
                });
            }
        }
        Err(Error::invalid(format!(
            "Unsupported backend store URI '{}': use sqlite:///path/to/file.db or \
             postgresql://user[:password]@host:port/db.",
            redact(raw)
        )))
    }

    pub fn sqlite(path: impl Into<PathBuf>) -> StoreUri {
        StoreUri::Sqlite { path: path.into() }
    }

    /// The URI with any password replaced, for logs.
    pub fn redacted(&self) -> String {
        match self {
            StoreUri::Sqlite { path } => format!("sqlite:///{}", path.display()),
            StoreUri::Postgres { url } => redact(url),
        }
    }
}

impl std::fmt::Debug for StoreUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_follow_sqlalchemy() {
        assert_eq!(
            StoreUri::parse("sqlite:///data/arca.db").unwrap(),
            StoreUri::sqlite("data/arca.db")
        );
        assert_eq!(
            StoreUri::parse("sqlite:////var/lib/arca.db").unwrap(),
            StoreUri::sqlite("/var/lib/arca.db")
        );
        assert!(StoreUri::parse("sqlite://").is_err());
    }

    #[test]
    fn postgres_schemes_are_accepted_and_passwords_redacted() {
        let uri = StoreUri::parse("postgresql://u:secret@db:5432/reg").unwrap();
        assert_eq!(
            uri,
            StoreUri::Postgres {
                url: "postgres://u:secret@db:5432/reg".into()
            }
        );
        assert_eq!(uri.redacted(), "postgres://u:***@db:5432/reg");
        assert!(format!("{uri:?}").find("secret").is_none());
        assert!(StoreUri::parse("mysql://x").is_err());
    }
}

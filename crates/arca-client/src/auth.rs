//! Credentials as the `mlflow` client takes them: `MLFLOW_TRACKING_USERNAME` and
//! `MLFLOW_TRACKING_PASSWORD` (HTTP Basic, checked first), else `MLFLOW_TRACKING_TOKEN` (Bearer).
//! The same credentials go with every request, artifact transfers included.

use reqwest::RequestBuilder;

#[derive(Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    #[default]
    None,
    Basic {
        username: String,
        password: String,
    },
    Bearer(String),
}

impl Credentials {
    pub fn from_env() -> Credentials {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        match (
            var("MLFLOW_TRACKING_USERNAME"),
            var("MLFLOW_TRACKING_PASSWORD"),
            var("MLFLOW_TRACKING_TOKEN"),
        ) {
            (Some(username), Some(password), _) => Credentials::Basic { username, password },
            (_, _, Some(token)) => Credentials::Bearer(token),
            _ => Credentials::None,
        }
    }

    pub(crate) fn apply(&self, builder: RequestBuilder) -> RequestBuilder {
        match self {
            Credentials::None => builder,
            Credentials::Basic { username, password } => {
                builder.basic_auth(username, Some(password))
            }
            Credentials::Bearer(token) => builder.bearer_auth(token),
        }
    }
}

/// Never prints a secret.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}:***)"),
            Credentials::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_redacts_secrets() {
        let basic = Credentials::Basic {
            username: "alice".into(),
            password: "pw-secret".into(),
        };
        assert_eq!(format!("{basic:?}"), "Basic(alice:***)");
        assert!(!format!("{:?}", Credentials::Bearer("tok".into())).contains("tok"));
    }
}

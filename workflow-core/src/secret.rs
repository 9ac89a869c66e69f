//! Secrets: values a task needs at run time that must never be written anywhere.
//!
//! A [`Secret`] holds where the value lives (an environment variable or a file), never the
//! value itself, so serializing one (into a plan, a run's state, an exported manifest) writes
//! only that reference. A task reads the value with [`Secret::reveal`] when it runs.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::TaskError;

/// A named secret and where its value is read from at run time.
///
/// Declared on a workflow with `#[secret(name, env = "VAR")]` or
/// `#[secret(name, file = "/path")]` and wired into task inputs of type `Secret` by name.
///
/// ```
/// use workflow_core::Secret;
///
/// let password = Secret::from_env("db_password", "WORKFLOW_DOC_DB_PASSWORD");
/// // SAFETY: the test sets a variable only it reads.
/// unsafe { std::env::set_var("WORKFLOW_DOC_DB_PASSWORD", "hunter2") };
/// assert_eq!(password.reveal().unwrap(), "hunter2");
/// let json = serde_json::to_string(&password).unwrap();
/// assert_eq!(json, r#"{"secret":"db_password","env":"WORKFLOW_DOC_DB_PASSWORD"}"#);
/// assert!(!format!("{password:?}").contains("hunter2"));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret {
    /// The secret's name in the workflow.
    #[serde(rename = "secret")]
    pub name: String,
    /// Where the value is read from.
    #[serde(flatten)]
    pub source: SecretSource,
}

/// Where a secret's value is read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    /// An environment variable of the process that runs the task.
    Env(String),
    /// A file readable by the process that runs the task; one trailing newline is dropped.
    File(PathBuf),
}

impl Secret {
    /// A secret read from an environment variable.
    pub fn from_env(name: impl Into<String>, variable: impl Into<String>) -> Self {
        Secret {
            name: name.into(),
            source: SecretSource::Env(variable.into()),
        }
    }

    /// A secret read from a file.
    pub fn from_file(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Secret {
            name: name.into(),
            source: SecretSource::File(path.into()),
        }
    }

    /// Reads the value now. The error names the secret and its source, never a value.
    pub fn reveal(&self) -> Result<String, TaskError> {
        match &self.source {
            SecretSource::Env(variable) => std::env::var(variable).map_err(|error| {
                TaskError::new(format!(
                    "secret `{}`: environment variable `{variable}`: {error}",
                    self.name
                ))
            }),
            SecretSource::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|error| {
                    TaskError::new(format!(
                        "secret `{}`: file `{}`: {error}",
                        self.name,
                        path.display()
                    ))
                })?;
                let text = text.strip_suffix('\n').unwrap_or(&text);
                Ok(text.strip_suffix('\r').unwrap_or(text).to_owned())
            }
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("name", &self.name)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_secrets_drop_one_trailing_newline_and_never_serialize_the_value() {
        let directory =
            std::env::temp_dir().join(format!("workflow-secret-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join("db_password");
        std::fs::write(&path, "s3cr3t value\n").unwrap();
        let secret = Secret::from_file("db_password", &path);
        assert_eq!(secret.reveal().unwrap(), "s3cr3t value");
        let json = serde_json::to_string(&secret).unwrap();
        assert!(!json.contains("s3cr3t"), "{json}");
        let back: Secret = serde_json::from_str(&json).unwrap();
        assert_eq!(back.reveal().unwrap(), "s3cr3t value");
        std::fs::remove_dir_all(&directory).unwrap();
    }

    #[test]
    fn missing_sources_are_named_in_the_error() {
        let missing = Secret::from_file("token", "/nonexistent/token");
        let message = missing.reveal().unwrap_err().to_string();
        assert!(
            message.starts_with("secret `token`: file `/nonexistent/token`:"),
            "{message}"
        );
        let unset = Secret::from_env("token", "WORKFLOW_TEST_SURELY_UNSET_VARIABLE");
        assert_eq!(
            unset.reveal().unwrap_err().to_string(),
            "secret `token`: environment variable `WORKFLOW_TEST_SURELY_UNSET_VARIABLE`: environment variable not found"
        );
    }
}

//! Passwords from the configuration: given inline or, better, named by an environment variable,
//! resolved once when the configuration is loaded, and never printed (`Debug` shows `***`).

use std::fmt;

/// A password or token.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value, for the one call that hands it to a client library.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Resolves a configured password: `inline` if given, else the variable `env` names, which
    /// must then be set. The error names the variable.
    pub fn resolve(inline: Option<&str>, env: Option<&str>) -> Result<Option<Secret>, String> {
        match (inline, env) {
            (Some(value), _) => Ok(Some(Secret(value.to_owned()))),
            (None, Some(var)) => match std::env::var(var) {
                Ok(value) => Ok(Some(Secret(value))),
                Err(std::env::VarError::NotPresent) => {
                    Err(format!("`password_env` names {var}, which is not set"))
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(format!("`password_env` names {var}, whose value is not valid UTF-8"))
                }
            },
            (None, None) => Ok(None),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_wins_and_debug_hides_the_value() {
        let secret = Secret::resolve(Some("hunter2"), Some("ACTIOND_TEST_UNSET_VARIABLE")).unwrap().unwrap();
        assert_eq!(secret.expose(), "hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn an_unset_variable_is_named() {
        let err = Secret::resolve(None, Some("ACTIOND_TEST_UNSET_VARIABLE")).unwrap_err();
        assert!(err.contains("ACTIOND_TEST_UNSET_VARIABLE"), "{err}");
        assert_eq!(Secret::resolve(None, None), Ok(None));
    }
}

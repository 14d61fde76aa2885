//! Settings that are either `"auto"` (chosen by the plan from the machine and the pipeline) or
//! a number given by the user.

use serde::{Deserialize, Serialize};

/// `"auto"` or a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(try_from = "AutoOrText", into = "AutoOrText")]
pub enum AutoOr {
    /// Chosen by the plan; each setting's documentation says how.
    #[default]
    Auto,
    /// Exactly this.
    Count(u32),
}

impl AutoOr {
    /// The number given, or `auto()` computed.
    pub fn or_else(self, auto: impl FnOnce() -> u32) -> u32 {
        match self {
            AutoOr::Auto => auto(),
            AutoOr::Count(n) => n,
        }
    }
}

/// How it is written: a TOML integer, or a string (`"auto"`, or a number from the environment).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
enum AutoOrText {
    Count(u32),
    Text(String),
}

impl TryFrom<AutoOrText> for AutoOr {
    type Error = String;

    fn try_from(text: AutoOrText) -> Result<Self, String> {
        match text {
            AutoOrText::Count(n) => Ok(Self::Count(n)),
            AutoOrText::Text(word) if word.trim() == "auto" => Ok(Self::Auto),
            AutoOrText::Text(word) => word
                .trim()
                .parse()
                .map(Self::Count)
                .map_err(|_| format!("{word:?} is neither \"auto\" nor a whole number")),
        }
    }
}

impl From<AutoOr> for AutoOrText {
    fn from(value: AutoOr) -> Self {
        match value {
            AutoOr::Auto => Self::Text("auto".into()),
            AutoOr::Count(n) => Self::Count(n),
        }
    }
}

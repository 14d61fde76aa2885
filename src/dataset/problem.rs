//! Problems with labelled data, each tied to the file (and line) that causes it. A dataset run
//! collects them all before it gives up, so that one run names every bad file, not the first.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a label, or a problem, comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A file or folder as a whole.
    File(PathBuf),
    /// A line of a segments CSV (1-based, the header being line 1).
    Line { csv: Arc<Path>, line: u64 },
    /// A class folder of a folder-per-class tree.
    Folder { root: Arc<Path>, class: PathBuf },
    /// The labelled data as a whole (a label across all its videos).
    Data,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::File(path) => write!(f, "{}", path.display()),
            Place::Line { csv, line } => write!(f, "{} line {line}", csv.display()),
            Place::Folder { class, .. } => write!(f, "{}", class.display()),
            Place::Data => write!(f, "labelled data"),
        }
    }
}

/// One problem: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub place: Place,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// Problems found so far, in the order found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// A single problem.
    pub fn one(place: Place, message: impl Into<String>) -> Self {
        let mut problems = Self::default();
        problems.push(place, message);
        problems
    }

    pub fn push(&mut self, place: Place, message: impl Into<String>) {
        self.0.push(Problem { place, message: message.into() });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter()
    }

    pub fn extend(&mut self, other: Problems) {
        self.0.extend(other.0);
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

//! An output folder written in full or not at all: everything goes into a hidden folder beside
//! it, which is moved into place only once complete, so a failed or interrupted run (`actiond
//! dataset`, `actiond evaluate`) never leaves half a result where a finished one is expected, and
//! an existing folder is replaced only when asked and only by a complete new one.

use std::path::{Path, PathBuf};

/// Why an output folder could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct OutputError {
    pub path: PathBuf,
    pub reason: String,
}

/// The hidden folder an output is written into before it is moved to its place.
pub struct Staging {
    dir: PathBuf,
    out: PathBuf,
    committed: bool,
}

/// Refuses an existing `out` unless `force`: called before the work, so a long run does not
/// end in a refusal.
pub fn check_free(out: &Path, force: bool) -> Result<(), OutputError> {
    if out.exists() && !force {
        return Err(OutputError {
            path: out.to_owned(),
            reason: "exists already (give --force to replace it)".into(),
        });
    }
    Ok(())
}

impl Staging {
    /// Refuses an existing `out` unless `force`; creates the hidden folder beside it.
    pub fn create(out: &Path, force: bool) -> Result<Self, OutputError> {
        check_free(out, force)?;
        let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let dir = parent.join(format!(".{name}.partial-{}", std::process::id()));
        let output = |e: std::io::Error| OutputError { path: dir.clone(), reason: e.to_string() };
        std::fs::create_dir_all(parent).map_err(output)?;
        std::fs::create_dir(&dir).map_err(output)?;
        Ok(Self { dir, out: out.to_owned(), committed: false })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn error(&self, e: std::io::Error) -> OutputError {
        OutputError { path: self.dir.clone(), reason: e.to_string() }
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), OutputError> {
        std::fs::write(self.dir.join(name), bytes).map_err(|e| self.error(e))
    }

    /// Moves the output into place; an old one is replaced only with `force`, and only now that
    /// the new one is complete.
    pub fn commit(mut self, force: bool) -> Result<(), OutputError> {
        let output = |e: std::io::Error| OutputError { path: self.out.clone(), reason: e.to_string() };
        if self.out.exists() {
            if !force {
                return Err(OutputError { path: self.out.clone(), reason: "appeared while writing".into() });
            }
            // `.NAME.partial-PID.old`: unique per process, like the staging folder itself.
            let old = self.dir.with_extension(format!("partial-{}.old", std::process::id()));
            std::fs::rename(&self.out, &old).map_err(output)?;
            if let Err(e) = std::fs::rename(&self.dir, &self.out) {
                // Put the old output back: a failed replacement must not lose it.
                let _ = std::fs::rename(&old, &self.out);
                return Err(output(e));
            }
            self.committed = true;
            if let Err(e) = std::fs::remove_dir_all(&old) {
                tracing::warn!(path = %old.display(), error = %e, "The replaced output could not be removed.");
            }
        } else {
            std::fs::rename(&self.dir, &self.out).map_err(output)?;
            self.committed = true;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            // A failed run leaves nothing behind; a folder that cannot be removed is only litter.
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

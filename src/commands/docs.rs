//! `actiond completions SHELL` and `actiond man`: the shell completion scripts and man pages,
//! generated from the same command-line definition as `--help`, so they cannot drift from it.
//! `scripts/install.sh` (and so the Debian package) runs both at install time.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use actiond::error::exit_code;

/// Writes the completion script for `shell` to stdout.
pub fn completions(mut command: clap::Command, shell: clap_complete::Shell) -> anyhow::Result<u8> {
    let name = command.get_name().to_owned();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut command, name, &mut out);
    out.flush().context("writing the completion script")?;
    Ok(exit_code::OK)
}

/// Writes `actiond.1` to stdout, or, with `out`, `actiond.1` and a page per subcommand
/// (`actiond-run.1`, …) into that folder.
pub fn man(command: clap::Command, out: Option<&Path>) -> anyhow::Result<u8> {
    match out {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("writing into {}", dir.display()))?;
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            std::io::stdout().lock().write_all(&page).context("writing the man page")?;
        }
    }
    Ok(exit_code::OK)
}

//! The binary's subcommands: each turns parsed arguments into library calls and an exit code.
//! They are not part of the library; `src/main.rs` only parses and dispatches.

pub mod docs;
#[cfg(test)]
pub mod help_check;
pub mod inspect;
pub mod logging;
pub mod memory;
pub mod run;
pub mod training;
pub mod version;

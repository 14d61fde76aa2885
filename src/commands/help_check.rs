//! The check both binaries' tests run on their command line: every option and subcommand that
//! `--help` shows says what it is for.

/// Every argument of `command` and its subcommands that `--help` shows without a word.
pub fn undocumented(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
    for arg in command.get_arguments() {
        let builtin = matches!(arg.get_id().as_str(), "help" | "version");
        if !builtin && !arg.is_hide_set() && arg.get_help().is_none() && arg.get_long_help().is_none() {
            missing.push(format!("{path} {}", arg.get_id()));
        }
    }
    for sub in command.get_subcommands() {
        if sub.get_about().is_none() && sub.get_name() != "help" {
            missing.push(format!("{path} {} (no about)", sub.get_name()));
        }
        undocumented(sub, &format!("{path} {}", sub.get_name()), missing);
    }
}

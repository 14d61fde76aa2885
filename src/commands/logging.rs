//! Where the log goes and how it looks. On a terminal or a pipe: tracing's usual lines. Under
//! systemd, when stderr is the journal's stream (`JOURNAL_STREAM` names its device and inode),
//! every event goes to journald natively (`tracing-journald`, the journal's socket): its fields
//! become journal fields (`journalctl STREAM=gate`), its level the entry's `PRIORITY`, so
//! `journalctl -p warning` filters actiond's warnings. Where that socket cannot be reached (a
//! journal stream passed on without the socket, as in a container), each stderr line starts
//! with the sd-daemon priority prefix (`<3>` error … `<7>` debug) and carries no timestamp or
//! colour of its own. `--log-format json` writes one JSON object per line (time, level, target,
//! message and the fields flattened) for log shippers. GStreamer's own messages (`GST_DEBUG`)
//! arrive here too, under the target `gstreamer` (see `source::init`).

use std::os::unix::fs::MetadataExt;

use tracing::{Level, Subscriber};
use tracing_journald::{Priority, PriorityMappings};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Writer};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// The `--log-format` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Text; under the journal, with sd-daemon priorities and no timestamps.
    Auto,
    /// Text with timestamps, wherever stderr goes.
    Text,
    /// One JSON object per line.
    Json,
}

/// The default filter for `-v`/`-q` counts: `info`, one step per flag.
pub fn level(verbose: u8, quiet: u8) -> &'static str {
    match (verbose, quiet) {
        (0, 0) => "info",
        (1, _) => "debug",
        (v, _) if v > 1 => "trace",
        (_, 1) => "warn",
        _ => "error",
    }
}

/// Where `init` sent the log, for the last words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Destination {
    /// Text lines on stderr.
    Text,
    /// JSON objects on stderr.
    Json,
    /// Text lines on stderr with sd-daemon priority prefixes: the journal's stream.
    PrefixedForTheJournal,
    /// Native journal entries on the journal's socket.
    Journal,
}

static CHOSEN: std::sync::OnceLock<Destination> = std::sync::OnceLock::new();

/// The program that says it (`actiond`, `actiond-dev`): this file is a module of both.
const PROGRAM: &str = env!("CARGO_BIN_NAME");

/// The final error line of a failed command: `actiond: error: …` on stderr, `<3>`-prefixed
/// under the journal's stream, and an `ERROR` event like every other line with
/// `--log-format json` or a native journal.
pub fn final_error(message: &str) {
    match CHOSEN.get() {
        Some(Destination::Json) => tracing::error!(target: "actiond", "{message}"),
        // Through the journal's socket, unless RUST_LOG filters errors out: then on the stream,
        // which the journal reads too, so the last words are never lost.
        Some(Destination::Journal) if tracing::enabled!(target: "actiond", Level::ERROR) => {
            tracing::error!(target: "actiond", "{message}")
        }
        Some(Destination::Journal) => eprintln!("<3>{PROGRAM}: error: {message}"),
        Some(Destination::PrefixedForTheJournal) => eprintln!("<3>{PROGRAM}: error: {message}"),
        None if stderr_is_the_journal() => eprintln!("<3>{PROGRAM}: error: {message}"),
        _ => eprintln!("{PROGRAM}: error: {message}"),
    }
}

/// Sets up logging, filtered by `RUST_LOG`, else by `default_level`.
pub fn init(format: LogFormat, default_level: &str) {
    let filter =
        || tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_level.into());
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter());
    let chosen = match format {
        LogFormat::Json => {
            builder.json().flatten_event(true).init();
            Destination::Json
        }
        LogFormat::Auto if stderr_is_the_journal() => match journal_layer() {
            Ok(journal) => {
                tracing_subscriber::registry().with(filter()).with(journal).init();
                Destination::Journal
            }
            Err(_) => {
                builder.with_ansi(false).event_format(JournalPrefix(format::format().without_time())).init();
                Destination::PrefixedForTheJournal
            }
        },
        LogFormat::Auto | LogFormat::Text => {
            builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init();
            Destination::Text
        }
    };
    let _ = CHOSEN.set(chosen); // once per process: main calls this once
}

/// The native journal: fields without a prefix (`stream` is `STREAM`), the same priorities as
/// the stderr prefixes, the program's name as `SYSLOG_IDENTIFIER`. Fails when the journal's
/// socket is not there.
fn journal_layer() -> std::io::Result<tracing_journald::Layer> {
    let priorities = PriorityMappings {
        error: Priority::Error,
        warn: Priority::Warning,
        info: Priority::Informational,
        debug: Priority::Debug,
        trace: Priority::Debug,
    };
    Ok(tracing_journald::layer()?
        .with_field_prefix(None)
        .with_priority_mappings(priorities)
        .with_syslog_identifier(PROGRAM.to_owned()))
}

/// Whether stderr is the stream systemd connected to the journal (`JOURNAL_STREAM=dev:ino`).
pub fn stderr_is_the_journal() -> bool {
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else { return false };
    let Ok(stderr) = std::fs::metadata("/proc/self/fd/2") else { return false };
    is_the_stream(&stream.to_string_lossy(), stderr.dev(), stderr.ino())
}

fn is_the_stream(journal_stream: &str, dev: u64, ino: u64) -> bool {
    journal_stream.split_once(':').is_some_and(|(d, i)| d.parse() == Ok(dev) && i.parse() == Ok(ino))
}

/// The syslog priority of a tracing level, as sd-daemon(3) prefixes it.
pub fn priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// Writes `<N>` before what the inner format writes.
struct JournalPrefix<F>(F);

impl<S, N, F> FormatEvent<S, N> for JournalPrefix<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "<{}>", priority(*event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flag_moves_the_level_one_step() {
        assert_eq!(level(0, 0), "info");
        assert_eq!([level(1, 0), level(2, 0), level(3, 0)], ["debug", "trace", "trace"]);
        assert_eq!([level(0, 1), level(0, 2)], ["warn", "error"]);
    }

    #[test]
    fn the_journal_stream_is_recognised_by_device_and_inode() {
        assert!(is_the_stream("2049:12345", 2049, 12345));
        assert!(!is_the_stream("2049:12345", 2049, 12346));
        assert!(!is_the_stream("garbage", 2049, 12345));
    }
}

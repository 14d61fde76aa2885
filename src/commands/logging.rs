//! Where the log goes and how it looks. On a terminal or a pipe: tracing's usual lines. Under
//! systemd, when stderr is the journal's stream (`JOURNAL_STREAM` names its device and inode),
//! each line starts with the sd-daemon priority prefix (`<3>` error … `<7>` debug) and carries
//! no timestamp or colour of its own, so `journalctl -p warning` filters actiond's warnings and
//! the journal's own time is the only one.

use std::os::unix::fs::MetadataExt;

use tracing::{Level, Subscriber};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Writer};
use tracing_subscriber::registry::LookupSpan;

/// Sets up logging to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter);
    if stderr_is_the_journal() {
        builder.with_ansi(false).event_format(JournalPrefix(format::format().without_time())).init();
    } else {
        builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init();
    }
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
    fn the_journal_stream_is_recognised_by_device_and_inode() {
        assert!(is_the_stream("2049:12345", 2049, 12345));
        assert!(!is_the_stream("2049:12345", 2049, 12346));
        assert!(!is_the_stream("garbage", 2049, 12345));
    }
}

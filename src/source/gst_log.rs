//! GStreamer's own log (`GST_DEBUG`) through `tracing`, so that its warnings reach the same
//! place, format and filter as actiond's (the journal with priorities, `--log-format json`,
//! `RUST_LOG=gstreamer=warn`), instead of GStreamer writing its own lines to stderr beside them.

use gstreamer as gst;
use tracing::Level;

/// Replaces GStreamer's default log function by one that emits `tracing` events with the target
/// `gstreamer` and the category, element and source location as fields. Which messages come is
/// still decided by `GST_DEBUG` (GStreamer's default: none).
pub fn route_into_tracing() {
    gst::log::remove_default_log_function();
    gst::log::add_log_function(|category, level, file, function, line, object, message| {
        let Some(text) = message.get() else { return };
        let object = object.map(|o| o.to_string()).unwrap_or_default();
        let (category, file, function) = (category.name(), file.as_str(), function.as_str());
        macro_rules! emit {
            ($level:expr) => {
                tracing::event!(target: "gstreamer", $level, category, object, file, line, function, "{}", text.as_str())
            };
        }
        match level {
            gst::DebugLevel::Error => emit!(Level::ERROR),
            gst::DebugLevel::Warning | gst::DebugLevel::Fixme => emit!(Level::WARN),
            gst::DebugLevel::Info => emit!(Level::INFO),
            gst::DebugLevel::Debug => emit!(Level::DEBUG),
            _ => emit!(Level::TRACE),
        }
    });
}

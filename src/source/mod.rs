//! Decoding an input into small RGB frames with GStreamer.
//!
//! One pipeline per input: `uridecodebin ! videoscale ! videoconvert ! capsfilter ! appsink`,
//! the caps asking for RGB at the model's size. Scaling before colour conversion converts 64×64 pixels instead of the
//! full picture (measured 2–3× faster). Frames are read row by row through the plane stride, as
//! RGB rows are padded to 4 bytes.
//!
//! A file is read losslessly: the appsink does not drop, so a slow consumer holds the decoder
//! back. A live input never holds its decoder back: the appsink keeps only the newest frames.
//! An error does not throw away what was decoded before it: the frames already on their way to
//! the appsink are delivered first (all of them for a file, the queued few for a live input).
//! RTSP options are applied to `rtspsrc` when `uridecodebin` creates it. The [`supervisor`]
//! reconnects live inputs.

mod decoder;
mod frame;
mod gst_log;
mod pipeline;
pub mod supervisor;
mod timeline;
mod uri;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

pub use decoder::{PluggedDecoders, check_available as check_decoder};
pub use pipeline::decode_only;
pub use uri::{SourceLocation, location_of, redact_credentials};

use crate::config::{DecoderChoice, ResizeMode, RtspTransport};
use crate::flow::{FailureReason, Frame};
use crate::secret::Secret;
use pipeline::{build_pipeline, count_buffers};

/// Why an input could not be decoded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    #[error("GStreamer cannot be initialised: {0}")]
    Init(String),
    #[error("input {input}: file not found")]
    NotFound { input: String },
    #[error("input {input}: {reason}")]
    Pipeline { input: String, reason: String },
    #[error("input {input}: decoding failed: {reason}")]
    Decode { input: String, reason: String },
    #[error("input {input}: no frame for {seconds:.1} s")]
    Stalled { input: String, seconds: f64 },
    #[error("input {input}: end of stream")]
    Ended { input: String },
}

impl SourceError {
    /// Why the stream stopped, for status events.
    pub fn failure(&self) -> FailureReason {
        match self {
            SourceError::NotFound { .. } => FailureReason::NotFound,
            SourceError::Init(reason)
            | SourceError::Pipeline { reason, .. }
            | SourceError::Decode { reason, .. } => FailureReason::Error(reason.clone()),
            SourceError::Stalled { seconds, .. } => FailureReason::Stalled { seconds: *seconds },
            SourceError::Ended { .. } => FailureReason::Eos,
        }
    }

    /// A GStreamer error message about `input`, credentials redacted.
    fn from_bus(input: &str, err: &gst::message::Error) -> Self {
        let mut reason = redact_credentials(&err.error().to_string());
        if reason.is_empty() {
            reason = "unknown GStreamer error".into();
        }
        if let Some(details) = err.debug() {
            tracing::debug!(input, details = %redact_credentials(&details), "GStreamer error details.");
            // The debug text is "file(line): function (): element path:\nwhat went wrong"; the
            // last part often names the culprit where the error itself is generic ("Could not
            // get/set settings from/on resource." for an RTSP server's unparsable SDP).
            if let Some(cause) =
                details.split_once('\n').map(|(_, cause)| cause.trim()).filter(|c| !c.is_empty())
            {
                let cause = redact_credentials(cause);
                if cause.contains(&reason) {
                    reason = cause; // "Unauthorized" -> "Unauthorized (401)"
                } else if !reason.contains(&cause) {
                    reason = format!("{reason} ({cause})");
                }
            }
        }
        SourceError::Decode { input: input.to_owned(), reason }
    }
}

/// What the decoded frames look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameFormat {
    pub width: u32,
    pub height: u32,
    pub resize: ResizeMode,
}

/// RTSP settings applied to `rtspsrc`, credentials already resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct RtspSettings {
    pub transport: RtspTransport,
    pub latency_ms: u32,
    pub connect_timeout: Duration,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

/// How an input is read.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceOptions {
    pub format: FrameFormat,
    /// Live inputs never block the decoder and fail after `stall_timeout` without a frame.
    pub live: bool,
    pub stall_timeout: Duration,
    pub rtsp: Option<RtspSettings>,
    /// `max-threads` of libav decoders; 0 = libav's choice.
    pub decoder_threads: u32,
    /// Which video decoder is plugged (`source.decoder`).
    pub decoder: DecoderChoice,
}

impl SourceOptions {
    /// Options for a local file: lossless, no stall detection.
    pub fn file(format: FrameFormat) -> Self {
        Self {
            format,
            live: false,
            stall_timeout: Duration::MAX,
            rtsp: None,
            decoder_threads: 0,
            decoder: DecoderChoice::Auto,
        }
    }
}

/// How a finished input ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceSummary {
    /// Frames handed to the consumer.
    pub frames: u64,
    /// Whether the input was stopped before its end.
    pub stopped: bool,
}

/// Decoded frames a live input's appsink holds for the stream thread; when full it drops the
/// oldest. At a stop up to this many are still queued, which is not a drop.
pub const LIVE_QUEUED_FRAMES: u64 = 4;

/// After an error in a file, how long to wait for the next frame still on its way before the
/// error is final.
const DRAIN_PAUSE: gst::ClockTime = gst::ClockTime::from_seconds(1);

/// Initialises GStreamer once per process, its log routed into `tracing`.
pub fn init() -> Result<(), SourceError> {
    static ROUTED: std::sync::Once = std::sync::Once::new();
    gst::init().map_err(|e| SourceError::Init(e.to_string()))?;
    ROUTED.call_once(gst_log::route_into_tracing);
    Ok(())
}

/// A decoding pipeline for one input, built but not yet playing.
pub struct VideoSource {
    location: SourceLocation,
    options: SourceOptions,
    pipeline: gst::Pipeline,
    appsink: gst_app::AppSink,
    /// Frames that reached the appsink; those not pulled were dropped by it (live inputs).
    arrived: Arc<AtomicU64>,
    decoders: PluggedDecoders,
}

impl VideoSource {
    /// Builds the pipeline for `location`.
    pub fn new(location: SourceLocation, options: SourceOptions) -> Result<Self, SourceError> {
        // Files: hold the decoder back (lossless). Live: keep the newest frames only.
        let appsink = gst_app::AppSink::builder()
            .sync(false)
            .max_buffers(if options.live { LIVE_QUEUED_FRAMES as u32 } else { 8 })
            .drop(options.live)
            .build();
        let (pipeline, decoders) = build_pipeline(&location, &options, appsink.upcast_ref())?;
        let arrived = count_buffers(appsink.upcast_ref());
        Ok(Self { location, options, pipeline, appsink, arrived, decoders })
    }

    /// The video decoders plugged so far, in order (`source.decoder`; filled while it runs).
    pub fn decoders(&self) -> PluggedDecoders {
        self.decoders.clone()
    }

    /// Frames that reached the end of the pipeline so far, pulled or not.
    pub fn arrived(&self) -> Arc<AtomicU64> {
        self.arrived.clone()
    }

    /// Plays the input to its end (or until `stop` is set), calling `on_frame` for every frame
    /// in decode order (the frame is reused for the next one). For files, blocking in `on_frame` holds the decoder back; nothing is
    /// dropped. A live input fails with [`SourceError::Stalled`] after the stall timeout without
    /// a frame, and with [`SourceError::Ended`] at end of stream.
    pub fn run(
        self,
        stop: &AtomicBool,
        mut on_frame: impl FnMut(&mut Frame),
    ) -> Result<SourceSummary, SourceError> {
        let result = self.play(stop, &mut on_frame);
        // Errors here cannot change the outcome: the pipeline is being thrown away.
        let _ = self.pipeline.set_state(gst::State::Null);
        result
    }

    fn play(
        &self,
        stop: &AtomicBool,
        on_frame: &mut impl FnMut(&mut Frame),
    ) -> Result<SourceSummary, SourceError> {
        let input = self.location.display().to_owned();
        let bus = self.pipeline.bus().expect("a pipeline has a bus");
        if self.pipeline.set_state(gst::State::Playing).is_err() {
            return Err(self.bus_error(&bus).unwrap_or_else(|| SourceError::Decode {
                input,
                reason: "the pipeline refused to start".into(),
            }));
        }
        let mut frames = frame::FrameReader::default();
        let mut last_frame = Instant::now();
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(SourceSummary { frames: frames.count(), stopped: true });
            }
            if let Some(error) = self.bus_error(&bus) {
                self.deliver_what_is_left(&mut frames, stop, on_frame, &input);
                return Err(error);
            }
            match self.appsink.try_pull_sample(gst::ClockTime::from_mseconds(100)) {
                Some(sample) => {
                    let frame = frames
                        .read(&sample)
                        .map_err(|reason| SourceError::Decode { input: input.clone(), reason })?;
                    last_frame = Instant::now();
                    on_frame(frame);
                }
                None if self.appsink.is_eos() => {
                    return match self.bus_error(&bus) {
                        Some(error) => Err(error),
                        None if self.options.live => Err(SourceError::Ended { input }),
                        None if frames.count() == 0 => Err(SourceError::Decode {
                            input,
                            reason: "the input holds no video frames".into(),
                        }),
                        None => Ok(SourceSummary { frames: frames.count(), stopped: false }),
                    };
                }
                None if last_frame.elapsed() >= self.options.stall_timeout => {
                    return Err(SourceError::Stalled { input, seconds: last_frame.elapsed().as_secs_f64() });
                }
                None => {}
            }
        }
    }

    /// After an error: delivers the frames decoded before it. A file's pipeline goes on pushing
    /// what its queues hold (a source that fails sends EOS after its error), so frames are
    /// taken until the end of stream or a pause of [`DRAIN_PAUSE`]; a live input gives only
    /// what the appsink already holds, without waiting.
    fn deliver_what_is_left(
        &self,
        frames: &mut frame::FrameReader,
        stop: &AtomicBool,
        on_frame: &mut impl FnMut(&mut Frame),
        input: &str,
    ) {
        let (wait, most) = if self.options.live {
            (gst::ClockTime::ZERO, LIVE_QUEUED_FRAMES)
        } else {
            (DRAIN_PAUSE, u64::MAX)
        };
        let mut delivered = 0;
        while delivered < most && !stop.load(Ordering::Relaxed) {
            let Some(sample) = self.appsink.try_pull_sample(wait) else { break };
            // The first error is the one reported; a frame that cannot be read ends the drain.
            match frames.read(&sample) {
                Ok(frame) => on_frame(frame),
                Err(reason) => {
                    tracing::debug!(input, reason, "A frame after the error could not be read.");
                    break;
                }
            }
            delivered += 1;
        }
    }

    /// The first error on the bus, if any, as a readable message naming the input (and the
    /// decoder, when one was named: it may be what cannot decode the input).
    fn bus_error(&self, bus: &gst::Bus) -> Option<SourceError> {
        let message = bus.pop_filtered(&[gst::MessageType::Error])?;
        let gst::MessageView::Error(err) = message.view() else { return None };
        let error = SourceError::from_bus(self.location.display(), err);
        Some(match (&self.options.decoder, error) {
            (DecoderChoice::Element(name), SourceError::Decode { input, reason }) => SourceError::Decode {
                input,
                reason: format!(
                    "{reason} (source.decoder = \"{name}\" is the only video decoder allowed, and may not take this input)"
                ),
            },
            (_, error) => error,
        })
    }
}

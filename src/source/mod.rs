//! Decoding an input into small RGB frames with GStreamer.
//!
//! One pipeline per input: `uridecodebin ! videoscale ! videoconvert ! capsfilter ! appsink`,
//! the caps asking for RGB at the model's size. Scaling before colour conversion converts 64×64 pixels instead of the
//! full picture (measured 2–3× faster). Frames are read row by row through the plane stride, as
//! RGB rows are padded to 4 bytes.
//!
//! A file is read losslessly: the appsink does not drop, so a slow consumer holds the decoder
//! back. A live input never holds its decoder back: the appsink keeps only the newest frames.
//! RTSP options are applied to `rtspsrc` when `uridecodebin` creates it. The [`supervisor`]
//! reconnects live inputs.

mod frame;
pub mod supervisor;
mod uri;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

pub use frame::Frame;
pub use uri::{SourceLocation, location_of, redact_credentials};

use crate::config::{ResizeMode, RtspTransport};

/// Why an input could not be decoded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
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
    /// A short reason for status events.
    pub fn reason(&self) -> String {
        match self {
            SourceError::NotFound { .. } => "file not found".into(),
            SourceError::Pipeline { reason, .. } | SourceError::Decode { reason, .. } => reason.clone(),
            SourceError::Stalled { seconds, .. } => format!("no frame for {seconds:.1} s"),
            SourceError::Ended { .. } => "end of stream".into(),
        }
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
    pub password: Option<String>,
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
}

impl SourceOptions {
    /// Options for a local file: lossless, no stall detection.
    pub fn file(format: FrameFormat) -> Self {
        Self { format, live: false, stall_timeout: Duration::MAX, rtsp: None, decoder_threads: 0 }
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

/// Initialises GStreamer once per process.
pub fn init() -> Result<(), SourceError> {
    gst::init().map_err(|e| SourceError::Pipeline { input: String::new(), reason: e.to_string() })
}

/// A decoding pipeline for one input, built but not yet playing.
pub struct VideoSource {
    location: SourceLocation,
    options: SourceOptions,
    pipeline: gst::Pipeline,
    appsink: gst_app::AppSink,
    /// Frames that reached the appsink; those not pulled were dropped by it (live inputs).
    arrived: Arc<AtomicU64>,
}

impl VideoSource {
    /// Builds the pipeline for `location`.
    pub fn new(location: SourceLocation, options: SourceOptions) -> Result<Self, SourceError> {
        // Files: hold the decoder back (lossless). Live: keep the newest frames only.
        let appsink = gst_app::AppSink::builder()
            .sync(false)
            .max_buffers(if options.live { 4 } else { 8 })
            .drop(options.live)
            .build();
        let pipeline = build_pipeline(&location, &options, appsink.upcast_ref())?;
        let arrived = count_buffers(appsink.upcast_ref());
        Ok(Self { location, options, pipeline, appsink, arrived })
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

    /// The first error on the bus, if any, as a readable message naming the input.
    fn bus_error(&self, bus: &gst::Bus) -> Option<SourceError> {
        let message = bus.pop_filtered(&[gst::MessageType::Error])?;
        let gst::MessageView::Error(err) = message.view() else { return None };
        let mut reason = redact_credentials(&err.error().to_string());
        if let Some(details) = err.debug() {
            tracing::debug!(input = %self.location.display(), details = %redact_credentials(&details),
                "GStreamer error details.");
        }
        if reason.is_empty() {
            reason = "unknown GStreamer error".into();
        }
        Some(SourceError::Decode { input: self.location.display().to_owned(), reason })
    }
}

/// `uridecodebin ! videoscale ! videoconvert ! capsfilter(RGB, W×H) ! sink`, not yet playing.
fn build_pipeline(
    location: &SourceLocation,
    options: &SourceOptions,
    sink: &gst::Element,
) -> Result<gst::Pipeline, SourceError> {
    location.ensure_exists()?;
    let fail = |reason: String| SourceError::Pipeline { input: location.display().to_owned(), reason };
    let make = |factory: &str| {
        gst::ElementFactory::make(factory)
            .build()
            .map_err(|e| fail(format!("GStreamer element `{factory}` missing ({e}); run scripts/setup.sh")))
    };
    let format = options.format;
    let decode = make("uridecodebin")?;
    decode.set_property("uri", location.uri());
    if let Some(rtsp) = options.rtsp.clone() {
        decode.connect("source-setup", false, move |args| {
            if let Some(source) = args[1].get::<gst::Element>().ok().filter(is_rtspsrc) {
                configure_rtspsrc(&source, &rtsp);
            }
            None
        });
    }
    let scale = make("videoscale")?;
    scale.set_property("add-borders", format.resize == ResizeMode::Letterbox);
    let convert = make("videoconvert")?;
    let caps = gst_video::VideoCapsBuilder::new()
        .format(gst_video::VideoFormat::Rgb)
        .width(format.width as i32)
        .height(format.height as i32)
        .pixel_aspect_ratio(gst::Fraction::new(1, 1))
        .build();
    let filter = make("capsfilter")?;
    filter.set_property("caps", &caps);
    let pipeline = gst::Pipeline::new();
    pipeline.add_many([&decode, &scale, &convert, &filter, sink]).map_err(|e| fail(e.to_string()))?;
    gst::Element::link_many([&scale, &convert, &filter, sink]).map_err(|e| fail(e.to_string()))?;
    let threads = options.decoder_threads;
    if threads > 0 {
        pipeline.connect_deep_element_added(move |_, _, element| {
            let is_libav = element.factory().is_some_and(|f| f.name().starts_with("avdec_"));
            if is_libav && element.has_property("max-threads") {
                element.set_property("max-threads", threads as i32);
            }
        });
    }
    let scale_sink = scale.static_pad("sink").expect("videoscale has a sink pad");
    decode.connect_pad_added(move |_, pad| {
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let is_video = caps.structure(0).is_some_and(|s| s.name().starts_with("video/"));
        if is_video
            && !scale_sink.is_linked()
            && let Err(e) = pad.link(&scale_sink)
        {
            tracing::warn!(error = %e, "Could not link the decoded video.");
        }
    });
    Ok(pipeline)
}

/// Counts the buffers reaching `sink`.
fn count_buffers(sink: &gst::Element) -> Arc<AtomicU64> {
    let arrived = Arc::new(AtomicU64::new(0));
    let counter = arrived.clone();
    sink.static_pad("sink").expect("a sink has a sink pad").add_probe(
        gst::PadProbeType::BUFFER,
        move |_, _| {
            counter.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        },
    );
    arrived
}

/// Decodes a whole file through the same pipeline as [`VideoSource`] into a `fakesink`, and
/// returns the number of frames: the decoding ceiling, for benchmarks.
pub fn decode_only(location: SourceLocation, options: &SourceOptions) -> Result<u64, SourceError> {
    let input = location.display().to_owned();
    let sink = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .build()
        .map_err(|e| SourceError::Pipeline { input: input.clone(), reason: e.to_string() })?;
    let pipeline = build_pipeline(&location, options, &sink)?;
    let frames = count_buffers(&sink);
    let result = (|| {
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| SourceError::Decode { input: input.clone(), reason: e.to_string() })?;
        let bus = pipeline.bus().expect("a pipeline has a bus");
        let message = bus
            .timed_pop_filtered(gst::ClockTime::NONE, &[gst::MessageType::Eos, gst::MessageType::Error])
            .expect("waiting without a timeout returns a message");
        match message.view() {
            gst::MessageView::Error(err) => Err(SourceError::Decode {
                input: input.clone(),
                reason: redact_credentials(&err.error().to_string()),
            }),
            _ => match frames.load(Ordering::Relaxed) {
                0 => Err(SourceError::Decode {
                    input: input.clone(),
                    reason: "the input holds no video frames".into(),
                }),
                n => Ok(n),
            },
        }
    })();
    // The pipeline is thrown away either way.
    let _ = pipeline.set_state(gst::State::Null);
    result
}

fn is_rtspsrc(element: &gst::Element) -> bool {
    element.factory().is_some_and(|f| f.name() == "rtspsrc")
}

fn configure_rtspsrc(source: &gst::Element, rtsp: &RtspSettings) {
    let protocols = match rtsp.transport {
        RtspTransport::Auto => None,
        RtspTransport::Tcp => Some("tcp"),
        RtspTransport::Udp => Some("udp"),
    };
    if let Some(protocols) = protocols {
        source.set_property_from_str("protocols", protocols);
    }
    source.set_property("latency", rtsp.latency_ms);
    let timeout_us = rtsp.connect_timeout.as_micros().min(u64::MAX as u128) as u64;
    source.set_property("tcp-timeout", timeout_us);
    source.set_property("timeout", timeout_us);
    if let Some(user) = &rtsp.user {
        source.set_property("user-id", user);
    }
    if let Some(password) = &rtsp.password {
        source.set_property("user-pw", password);
    }
}

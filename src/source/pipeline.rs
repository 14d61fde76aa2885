//! The GStreamer pipeline of an input, and the same pipeline into a `fakesink` for the decode
//! ceiling.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;

use super::decoder::PluggedDecoders;
use super::{RtspSettings, SourceError, SourceLocation, SourceOptions};
use crate::config::{ResizeMode, RtspTransport};

/// `uridecodebin ! videoscale ! videoconvert ! capsfilter(RGB, W×H) ! sink`, not yet playing,
/// and the record of the video decoders it plugs.
pub(super) fn build_pipeline(
    location: &SourceLocation,
    options: &SourceOptions,
    sink: &gst::Element,
) -> Result<(gst::Pipeline, PluggedDecoders), SourceError> {
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
    let plugged = super::decoder::attach(&decode, &pipeline, &options.decoder, location.display());
    let threads = options.decoder_threads;
    if threads > 0 {
        pipeline.connect_deep_element_added(move |_, _, element| {
            let is_libav = element.factory().is_some_and(|f| f.name().starts_with("avdec_"));
            if is_libav && element.has_property("max-threads") {
                element.set_property("max-threads", threads as i32);
            }
        });
    }
    link_the_first_video_stream(&decode, &scale, location.display());
    log_size_changes(&scale, location.display());
    Ok((pipeline, plugged))
}

/// Logs a change of the decoded picture's size in the middle of an input (a camera switching
/// resolution, a file spliced from two encodes). Every frame is still scaled to the model's
/// size by the caps after `videoscale`, so windows never mix sizes.
fn log_size_changes(scale: &gst::Element, input: &str) {
    let input = input.to_owned();
    let size = std::sync::Mutex::new(None::<(i32, i32)>);
    let pad = scale.static_pad("sink").expect("videoscale has a sink pad");
    pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        if let Some(gst::PadProbeData::Event(event)) = &info.data
            && let gst::EventView::Caps(caps) = event.view()
            && let Ok(video) = gst_video::VideoInfo::from_caps(caps.caps())
        {
            let now = (video.width() as i32, video.height() as i32);
            let mut size = size.lock().expect("no panic while held");
            if let Some(before) = size.filter(|before| *before != now) {
                tracing::info!(input = %input, from = %format!("{}x{}", before.0, before.1),
                    to = %format!("{}x{}", now.0, now.1), "The input's picture size changed.");
            }
            *size = Some(now);
        }
        gst::PadProbeReturn::Ok
    });
}

/// Links the first decoded video stream of `decode` to `scale`. Other streams (audio, a second
/// video track) stay unlinked, which demuxers accept while one stream is linked. An input with
/// no video stream at all fails at once, naming what it has, instead of with GStreamer's
/// "Internal data stream error" once data reaches the unlinked pads.
fn link_the_first_video_stream(decode: &gst::Element, scale: &gst::Element, input: &str) {
    let others = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let scale_sink = scale.static_pad("sink").expect("videoscale has a sink pad");
    let seen = others.clone();
    let video_sink = scale_sink.clone();
    let input_name = input.to_owned();
    decode.connect_pad_added(move |_, pad| {
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let kind = caps.structure(0).map_or_else(|| "unknown".to_owned(), |s| s.name().to_string());
        if !kind.starts_with("video/") || video_sink.is_linked() {
            if kind.starts_with("video/") {
                tracing::info!(input = %input_name, "The input has more than one video stream; the first is used.");
            }
            seen.lock().expect("no panic while held").push(kind);
        } else if let Err(e) = pad.link(&video_sink) {
            tracing::warn!(error = %e, "Could not link the decoded video.");
        }
    });
    decode.connect_no_more_pads(move |decode| {
        if scale_sink.is_linked() {
            return;
        }
        let others = others.lock().expect("no panic while held");
        let found = if others.is_empty() { "no streams".to_owned() } else { others.join(", ") };
        gst::element_error!(
            decode,
            gst::StreamError::WrongType,
            ("the input has no video stream (it has: {found})")
        );
    });
}

/// Counts the buffers reaching `sink`.
pub(super) fn count_buffers(sink: &gst::Element) -> Arc<AtomicU64> {
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
    let (pipeline, _) = build_pipeline(&location, options, &sink)?;
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
            gst::MessageView::Error(err) => Err(SourceError::from_bus(&input, err)),
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
        source.set_property("user-pw", password.expose());
    }
}

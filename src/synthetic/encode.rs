//! Encoding a rendered timeline into an ordinary video file with GStreamer.

use std::path::Path;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use rand::Rng;

use super::render::render_frame;
use super::scene::Scene;
use super::timeline::Timeline;

/// Container and codec of the written file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Codec {
    /// H.264 (4:2:0, as cameras send it) in MP4.
    H264,
    /// VP8 in WebM.
    Vp8,
}

impl Codec {
    fn encoder(self) -> &'static str {
        match self {
            // 4:2:0 caps first, or x264enc picks High 4:4:4 which most decoders refuse.
            Codec::H264 => {
                "videoconvert ! video/x-raw,format=I420 ! x264enc speed-preset=veryfast key-int-max=50 \
                 ! h264parse ! mp4mux"
            }
            Codec::Vp8 => {
                "videoconvert ! video/x-raw,format=I420 ! vp8enc deadline=1 cpu-used=8 \
                 target-bitrate=4000000 keyframe-max-dist=50 ! webmmux"
            }
        }
    }
}

/// Why a video could not be written.
#[derive(Debug, thiserror::Error)]
#[error("writing {path}: {reason}")]
pub struct EncodeError {
    pub path: String,
    pub reason: String,
}

/// Renders `timeline` (a new scene per segment) and encodes it to `path`.
pub fn write_video(
    path: &Path,
    timeline: &Timeline,
    codec: Codec,
    rng: &mut impl Rng,
) -> Result<(), EncodeError> {
    let fail = |reason: String| EncodeError { path: path.display().to_string(), reason };
    gst::init().map_err(|e| fail(e.to_string()))?;
    let description = format!("appsrc name=src ! {} ! filesink name=sink", codec.encoder());
    let pipeline = gst::parse::launch(&description)
        .map_err(|e| fail(format!("{e}; run scripts/setup.sh to install the GStreamer plugins")))?
        .downcast::<gst::Pipeline>()
        .expect("a launch line with several elements is a pipeline");
    let sink = pipeline.by_name("sink").expect("named in the launch line");
    sink.set_property("location", path.to_string_lossy().as_ref());
    let src = pipeline
        .by_name("src")
        .expect("named in the launch line")
        .downcast::<gst_app::AppSrc>()
        .expect("appsrc is an AppSrc");
    let (width, height) = (timeline.width as usize, timeline.height as usize);
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, timeline.width, timeline.height)
        .fps(gst::Fraction::new(timeline.fps as i32, 1))
        .build()
        .map_err(|e| fail(e.to_string()))?;
    src.set_caps(Some(&info.to_caps().map_err(|e| fail(e.to_string()))?));
    src.set_format(gst::Format::Time);
    src.set_block(true);
    src.set_max_bytes(info.size() as u64 * 8);
    pipeline.set_state(gst::State::Playing).map_err(|e| fail(e.to_string()))?;

    let frame_ns = 1_000_000_000 / timeline.fps as u64;
    let mut rgb = vec![0u8; width * height * 3];
    let mut push_result = Ok(());
    'segments: for segment in &timeline.segments {
        let mut scene = Scene::random(segment.action, rng);
        for frame in segment.start_frame..segment.end_frame {
            render_frame(&scene, width, height, rng, &mut rgb);
            scene.advance(rng);
            let mut buffer = gst::Buffer::with_size(info.size()).map_err(|e| fail(e.to_string()))?;
            {
                let buffer = buffer.get_mut().expect("a new buffer is writable");
                buffer.set_pts(gst::ClockTime::from_nseconds(frame * frame_ns));
                buffer.set_duration(gst::ClockTime::from_nseconds(frame_ns));
                let mut map = buffer.map_writable().map_err(|e| fail(e.to_string()))?;
                let stride = info.stride()[0] as usize;
                for (y, row) in rgb.chunks_exact(width * 3).enumerate() {
                    map[y * stride..y * stride + width * 3].copy_from_slice(row);
                }
            }
            if let Err(e) = src.push_buffer(buffer) {
                push_result = Err(fail(format!("the encoder stopped taking frames ({e:?})")));
                break 'segments;
            }
        }
    }
    let _ = src.end_of_stream();
    let bus = pipeline.bus().expect("a pipeline has a bus");
    let outcome = match bus
        .timed_pop_filtered(gst::ClockTime::NONE, &[gst::MessageType::Eos, gst::MessageType::Error])
    {
        Some(msg) => match msg.view() {
            gst::MessageView::Error(err) => Err(fail(err.error().to_string())),
            _ => push_result,
        },
        None => Err(fail("the pipeline ended without EOS".into())),
    };
    let _ = pipeline.set_state(gst::State::Null);
    outcome
}

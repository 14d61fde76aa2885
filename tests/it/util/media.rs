//! Real encoded test videos: synthetic timelines with ground truth, and gst-launch descriptions.

use std::path::Path;

use serde_json::Value;

use super::run::{actiond_dev, stderr};

/// Writes a synthetic timeline video with `actiond-dev synth-video`; returns the truth JSON.
pub fn synth_video(path: &Path, width: u32, height: u32, segments: usize, seed: u64) -> Value {
    synth(path, width, height, seed, &["--segments", &segments.to_string()])
}

/// Writes a synthetic video of the given actions, in order (2–4 s each); returns the truth.
pub fn synth_actions(path: &Path, width: u32, height: u32, actions: &[&str], seed: u64) -> Value {
    synth(path, width, height, seed, &["--actions", &actions.join(",")])
}

fn synth(path: &Path, width: u32, height: u32, seed: u64, extra: &[&str]) -> Value {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let (width, height, seed) = (width.to_string(), height.to_string(), seed.to_string());
    let mut args =
        vec!["synth-video", "--out", path.to_str().unwrap(), "--width", &width, "--height", &height];
    args.extend(["--seed", &seed]);
    args.extend(extra);
    let out = actiond_dev(&args);
    assert!(out.status.success(), "synth-video failed: {}", stderr(&out));
    let truth = path.with_extension("truth.json");
    serde_json::from_str(&std::fs::read_to_string(truth).unwrap()).unwrap()
}

/// Encodes a video with a gst-launch style description ending in `filesink name=sink`.
pub fn gst_video(path: &Path, description: &str) {
    use gstreamer::prelude::*;
    gstreamer::init().unwrap();
    let pipeline = gstreamer::parse::launch(description).unwrap().downcast::<gstreamer::Pipeline>().unwrap();
    pipeline.by_name("sink").unwrap().set_property("location", path.to_str().unwrap());
    pipeline.set_state(gstreamer::State::Playing).unwrap();
    wait_until_written(&pipeline);
}

/// Waits for a writing pipeline's end of stream (failing on an error), then stops it.
fn wait_until_written(pipeline: &gstreamer::Pipeline) {
    use gstreamer::prelude::*;
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gstreamer::ClockTime::from_seconds(60),
            &[gstreamer::MessageType::Eos, gstreamer::MessageType::Error],
        )
        .expect("encoding finishes");
    assert!(matches!(msg.view(), gstreamer::MessageView::Eos(_)), "encoding failed: {msg:?}");
    pipeline.set_state(gstreamer::State::Null).unwrap();
}

/// `frames` frames of one solid colour at 10 fps (98×54, H.264 in Matroska).
pub fn solid(path: &Path, frames: u32, argb: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    gst_video(
        path,
        &format!(
            "videotestsrc num-buffers={frames} pattern=solid-color foreground-color={argb} ! \
             video/x-raw,width=98,height=54,framerate=10/1 ! videoconvert ! video/x-raw,format=I420 ! \
             x264enc bframes=0 ! matroskamux ! filesink name=sink"
        ),
    );
}

/// 8 red frames, then 8 blue, at 10 fps, 98×54 (not a model's size or shape), H.264 in Matroska.
pub fn red_then_blue(path: &Path) {
    gst_video(
        path,
        "concat name=c ! videoconvert ! video/x-raw,format=I420 ! x264enc bframes=0 ! matroskamux ! filesink name=sink \
         videotestsrc num-buffers=8 pattern=solid-color foreground-color=0xffff0000 ! video/x-raw,width=98,height=54,framerate=10/1 ! c. \
         videotestsrc num-buffers=8 pattern=solid-color foreground-color=0xff0000ff ! video/x-raw,width=98,height=54,framerate=10/1 ! c.",
    );
}

/// Solid-colour RGB frames (160×120) at the given times (nanoseconds), encoded as H.264 and
/// muxed by `muxer`: timestamps a test chooses, jumps and variable frame rate included. Each
/// frame lasts until the next unless that is over a second away (a gap, not a long frame);
/// the last lasts 40 ms. MP4 keeps each frame's duration, Matroska does not. `color(i)` is
/// frame `i`'s colour.
pub fn frames_at_times(path: &Path, muxer: &str, times_ns: &[u64], color: impl Fn(usize) -> [u8; 3]) {
    use gstreamer as gst;
    use gstreamer::prelude::*;
    gst::init().unwrap();
    let (width, height) = (160usize, 120usize);
    let pipeline = gst::parse::launch(&format!(
        "appsrc name=src format=time caps=video/x-raw,format=RGB,width={width},height={height},framerate=25/1 ! \
         videoconvert ! video/x-raw,format=I420 ! x264enc bframes=0 ! {muxer} ! filesink name=sink"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    pipeline.by_name("sink").unwrap().set_property("location", path.to_str().unwrap());
    let src = pipeline.by_name("src").unwrap().downcast::<gstreamer_app::AppSrc>().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    for (i, &pts) in times_ns.iter().enumerate() {
        let duration = times_ns
            .get(i + 1)
            .map(|next| next.saturating_sub(pts))
            .filter(|&d| d <= 1_000_000_000)
            .unwrap_or(40_000_000);
        let pixels: Vec<u8> = color(i).iter().copied().cycle().take(width * height * 3).collect();
        let mut buffer = gst::Buffer::from_mut_slice(pixels);
        let b = buffer.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_nseconds(pts));
        b.set_duration(gst::ClockTime::from_nseconds(duration));
        src.push_buffer(buffer).unwrap();
    }
    src.end_of_stream().unwrap();
    wait_until_written(&pipeline);
}

//! Reading decoded RGB frames from appsink samples.

use std::time::{Instant, SystemTime};

use gstreamer as gst;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;

use super::timeline::Timeline;
use crate::flow::Frame;

/// Turns samples into numbered frames, filling in missing timestamps from the frame rate.
/// The same `Frame` is refilled for every sample, so reading allocates nothing after the first.
#[derive(Debug)]
pub(super) struct FrameReader {
    next_index: u64,
    timeline: Timeline,
    frame: Frame,
    /// The last caps seen and their parsed form (caps change rarely, frames often).
    info: Option<(gst::Caps, gst_video::VideoInfo)>,
}

impl Default for FrameReader {
    fn default() -> Self {
        let now = (Instant::now(), SystemTime::now());
        let frame = Frame {
            index: 0,
            pts_ns: 0,
            duration_ns: 0,
            pixels: Vec::new(),
            arrival: now.0,
            wall: now.1,
            time_jump: None,
        };
        Self { next_index: 0, timeline: Timeline::default(), frame, info: None }
    }
}

impl FrameReader {
    pub fn count(&self) -> u64 {
        self.next_index
    }

    /// Reads one sample into the reader's frame, valid until the next call.
    pub fn read(&mut self, sample: &gst::Sample) -> Result<&mut Frame, String> {
        let buffer = sample.buffer().ok_or("a sample without a buffer")?;
        let caps = sample.caps().ok_or("a sample without caps")?;
        if self.info.as_ref().is_none_or(|(known, _)| known != caps) {
            let info = gst_video::VideoInfo::from_caps(caps).map_err(|e| e.to_string())?;
            self.info = Some((caps.to_owned(), info));
        }
        let (_, info) = self.info.as_ref().expect("set above");
        let video = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, info)
            .map_err(|e| format!("cannot map a frame: {e}"))?;
        let (width, height) = (video.width() as usize, video.height() as usize);
        let stride = video.plane_stride()[0] as usize;
        let data = video.plane_data(0).map_err(|e| e.to_string())?;
        let row = width * 3;
        let pixels = &mut self.frame.pixels;
        pixels.clear();
        for y in 0..height {
            pixels.extend_from_slice(&data[y * stride..y * stride + row]);
        }
        let fps = info.fps();
        let nominal_ns =
            if fps.numer() > 0 { 1_000_000_000u64 * fps.denom() as u64 / fps.numer() as u64 } else { 0 };
        const PLAUSIBLE_NS: u64 = 1_000_000;
        const LONGEST_NS: u64 = 60_000_000_000; // a minute: time-lapse at its slowest
        // Stream time (what a player shows as the position) rather than raw PTS: containers
        // shift PTS for B-frame reordering and say so in the segment (e.g. MP4 edit lists).
        let segment = sample.segment().and_then(|s| s.downcast_ref::<gst::ClockTime>());
        let stream_time = |pts: gst::ClockTime| segment.and_then(|s| s.to_stream_time(pts)).unwrap_or(pts);
        // A duration under a millisecond or over a minute is no video frame's (encoders and
        // demuxers write 1 ns, and a frame rate of 1e9/1, when they know none; a hostile file
        // anything): the nominal rate's, else the timeline's estimate.
        let duration_ns = buffer
            .duration()
            .map(|d| d.nseconds())
            .filter(|d| (PLAUSIBLE_NS..=LONGEST_NS).contains(d))
            .or((PLAUSIBLE_NS..=LONGEST_NS).contains(&nominal_ns).then_some(nominal_ns));
        let pts = buffer.pts().map(|t| stream_time(t).nseconds());
        let (pts_ns, duration_ns, time_jump) = self.timeline.place(pts, duration_ns);
        let frame = &mut self.frame;
        frame.index = self.next_index;
        frame.pts_ns = pts_ns;
        frame.duration_ns = duration_ns;
        frame.arrival = Instant::now();
        frame.wall = SystemTime::now();
        frame.time_jump = time_jump;
        self.next_index += 1;
        Ok(frame)
    }
}

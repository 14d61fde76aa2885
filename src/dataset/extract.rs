//! One labelled video through the daemon's own source and window stage, so that the windows a
//! head is trained on are, byte for byte, those `actiond run` would hand it.
//!
//! The ring is the daemon's [`Windower`] with an identity preprocessor (scale 1, mean 0, std 1,
//! RGB, `[T,H,W,C]`): its f32 values are the decoded bytes exactly, and the model's own
//! scale/mean/std are left to training, as recorded in the manifest. A frame's label is the
//! segment holding the middle of its display time; a window is labelled only when all its frames
//! carry the same label, so windows across a boundary (or in unlabelled time) are left out.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::labelled::{LabelledVideo, Labelling};
use super::problem::{Place, Problems};
use super::segments::Segment;
use super::store::{IndexRow, WindowStore};
use crate::config::ChannelOrder;
use crate::flow::Window;
use crate::model::{PreprocessSettings, Preprocessor, TensorLayout};
use crate::source::{SourceOptions, VideoSource, location_of};
use crate::window::{FrameFeatures, WindowGeometry, Windower};

/// How videos are decoded and cut: the pipeline's settings.
#[derive(Debug, Clone)]
pub struct Extraction {
    pub geometry: WindowGeometry,
    pub options: SourceOptions,
}

/// What one video gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VideoWindows {
    pub frames: u64,
    /// Stream time at which the last frame ends, seconds.
    pub end_s: f64,
    /// Windows written, per label id.
    pub per_label: Vec<u64>,
    /// Windows left out: frames of different labels, or unlabelled time.
    pub unlabelled: u64,
}

/// Labels each frame by the time in the middle of it.
struct FrameLabels {
    /// Non-overlapping `(start_s, end_s, label id)`, sorted; same-label overlaps merged.
    spans: Vec<(f64, f64, u16)>,
    gap: Option<u16>,
}

impl FrameLabels {
    fn new(labelling: &Labelling, id_of: &dyn Fn(&str) -> u16) -> Self {
        match labelling {
            Labelling::Whole { label } => Self { spans: Vec::new(), gap: Some(id_of(label)) },
            Labelling::Segments { segments, gap } => {
                let mut spans: Vec<(f64, f64, u16)> = Vec::new();
                for Segment { start_s, end_s, label, .. } in segments {
                    let id = id_of(label);
                    match spans.last_mut() {
                        Some(last) if last.2 == id && *start_s <= last.1 => last.1 = last.1.max(*end_s),
                        _ => spans.push((*start_s, *end_s, id)),
                    }
                }
                Self { spans, gap: gap.as_deref().map(id_of) }
            }
        }
    }

    fn at(&self, t_s: f64) -> Option<u16> {
        let after = self.spans.partition_point(|s| s.0 <= t_s);
        match after.checked_sub(1).map(|i| self.spans[i]) {
            Some((_, end, id)) if t_s < end => Some(id),
            _ => self.gap,
        }
    }
}

/// One video's frames and windows as they come: each frame's label, each labelled window into
/// the store.
struct Cut {
    video_id: usize,
    labels_at: FrameLabels,
    /// By decoded-frame index (a file's frames are numbered from 0).
    frame_labels: Vec<Option<u16>>,
    got: VideoWindows,
    last_duration_s: f64,
    write_error: Option<std::io::Error>,
}

impl Cut {
    fn frame(&mut self, frame: &crate::flow::Frame) {
        let middle_s = (frame.pts_ns as f64 + frame.duration_ns as f64 / 2.0) / 1e9;
        self.frame_labels.push(self.labels_at.at(middle_s));
        self.got.frames += 1;
        self.got.end_s = self.got.end_s.max((frame.pts_ns + frame.duration_ns) as f64 / 1e9);
        self.last_duration_s = frame.duration_ns as f64 / 1e9;
    }

    fn window(&mut self, window: &Window, store: &mut WindowStore) {
        let m = &window.meta;
        let span = &self.frame_labels[m.first_frame as usize..=m.last_frame as usize];
        let Some(label) = span[0].filter(|first| span.iter().all(|l| l == &Some(*first))) else {
            self.got.unlabelled += 1;
            return;
        };
        let row = IndexRow {
            video: self.video_id,
            first_frame: m.first_frame,
            last_frame: m.last_frame,
            start_s: m.start_ns as f64 / 1e9,
            end_s: m.end_ns as f64 / 1e9,
            label,
        };
        match store.append(&window.data, row) {
            Ok(()) => self.got.per_label[label as usize] += 1,
            Err(e) => {
                self.write_error.get_or_insert(e);
            }
        }
    }
}

/// Decodes `video` and appends its labelled windows to `store`. On failure nothing of the video
/// stays in the store, and the problems name the video and where it was labelled.
pub fn extract_video(
    video: &LabelledVideo,
    video_id: usize,
    extraction: &Extraction,
    id_of: &dyn Fn(&str) -> u16,
    label_count: usize,
    store: &mut WindowStore,
    stop: &AtomicBool,
) -> Result<VideoWindows, Problems> {
    let mark = store.mark();
    let result = decode(video, video_id, extraction, id_of, label_count, store, stop);
    if result.is_err() {
        store.rewind(mark).map_err(|e| {
            let mut p = Problems::default();
            p.push(Place::File(store.path().to_owned()), e.to_string());
            p
        })?;
    }
    result
}

fn decode(
    video: &LabelledVideo,
    video_id: usize,
    extraction: &Extraction,
    id_of: &dyn Fn(&str) -> u16,
    label_count: usize,
    store: &mut WindowStore,
    stop: &AtomicBool,
) -> Result<VideoWindows, Problems> {
    let fail = |message: String| {
        let mut p = Problems::default();
        p.push(video.place.clone(), message);
        p
    };
    let location = location_of(&video.path.to_string_lossy());
    let source = VideoSource::new(location, extraction.options.clone()).map_err(|e| fail(e.to_string()))?;
    let format = extraction.options.format;
    let identity = Preprocessor::new(
        &PreprocessSettings { scale: 1.0, mean: [0.0; 3], std: [1.0; 3], channel_order: ChannelOrder::Rgb },
        format.width as usize,
        format.height as usize,
    );
    let features = FrameFeatures::Pixels { preprocessor: Arc::new(identity), layout: TensorLayout::Thwc };
    let stream: Arc<str> = video.path.to_string_lossy().into();
    let mut windower = Windower::new(stream, extraction.geometry, features, false);
    let mut cut = Cut {
        video_id,
        labels_at: FrameLabels::new(&video.labelling, id_of),
        frame_labels: Vec::new(),
        got: VideoWindows { per_label: vec![0; label_count], ..Default::default() },
        last_duration_s: 0.0,
        write_error: None,
    };
    let summary = source
        .run(stop, |frame| {
            cut.frame(frame);
            // Pixels convert without fail: only an encoder can refuse a frame.
            if let Ok(Some(window)) = windower.push(frame) {
                cut.window(&window, store);
            }
        })
        .map_err(|e| fail(e.to_string()))?;
    if summary.stopped {
        return Err(fail("stopped before its end".into()));
    }
    if let Some(window) = windower.finish() {
        cut.window(&window, store);
    }
    if let Some(e) = cut.write_error {
        return Err(fail(format!("writing its windows: {e}")));
    }
    let got = cut.got;
    check_segments_inside(video, got.end_s, cut.last_duration_s)?;
    Ok(got)
}

/// A segment that ends after its video (by more than a frame) points at the wrong video or a
/// wrong time: refuse it rather than train on a shortened truth.
fn check_segments_inside(video: &LabelledVideo, end_s: f64, frame_s: f64) -> Result<(), Problems> {
    let Labelling::Segments { segments, .. } = &video.labelling else { return Ok(()) };
    let mut problems = Problems::default();
    for s in segments.iter().filter(|s| s.end_s > end_s + frame_s.max(1e-3)) {
        problems.push(
            s.place.clone(),
            format!(
                "segment {}–{} s `{}` ends after its video {} ({end_s:.3} s long)",
                s.start_s,
                s.end_s,
                s.label,
                video.path.display()
            ),
        );
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(start_s: f64, end_s: f64, label: &str) -> Segment {
        Segment { start_s, end_s, label: label.into(), place: Place::File("s.csv".into()) }
    }

    #[test]
    fn frames_take_the_segment_around_their_middle_else_the_gap_label() {
        let labelling = Labelling::Segments {
            segments: vec![segment(1.0, 2.0, "a"), segment(1.5, 3.0, "a"), segment(4.0, 5.0, "b")],
            gap: Some("bg".into()),
        };
        let ids = |l: &str| match l {
            "a" => 0,
            "b" => 1,
            _ => 2,
        };
        let labels = FrameLabels::new(&labelling, &ids);
        assert_eq!(labels.spans, vec![(1.0, 3.0, 0), (4.0, 5.0, 1)], "same-label overlaps merge");
        let at: Vec<Option<u16>> = [0.5, 1.0, 2.9, 3.0, 4.5, 5.0].iter().map(|&t| labels.at(t)).collect();
        assert_eq!(at, vec![Some(2), Some(0), Some(0), Some(2), Some(1), Some(2)]);
        let without_gap = FrameLabels::new(
            &Labelling::Segments { segments: vec![segment(1.0, 2.0, "a")], gap: None },
            &ids,
        );
        assert_eq!((without_gap.at(0.0), without_gap.at(1.5)), (None, Some(0)));
    }
}

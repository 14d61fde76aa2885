//! What the labels say a stretch of video shows: the one place that turns a video's labelling
//! into a label per instant, used by `actiond dataset` (which windows to keep, with which label)
//! and by `actiond evaluate` (which label a head should have given a window).
//!
//! A frame carries the label of the segment holding the middle of its display time (or the gap
//! label, or none). A window is labelled only when all its frames carry one label: windows across
//! a boundary, or in unlabelled time, are neither trained on nor scored.

use super::labelled::{LabelledVideo, Labelling};
use super::problem::Problems;
use super::segments::Segment;

/// Labels instants of one video by its merged segments.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameLabels {
    /// Non-overlapping `(start_s, end_s, label id)`, sorted; same-label overlaps merged.
    spans: Vec<(f64, f64, u16)>,
    gap: Option<u16>,
}

/// A stretch of time with one label (or none): a merged span, or the gap before span `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Region {
    Span(usize),
    GapBefore(usize),
}

impl FrameLabels {
    pub fn new(labelling: &Labelling, id_of: &dyn Fn(&str) -> u16) -> Self {
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

    fn region(&self, t_s: f64) -> Region {
        let after = self.spans.partition_point(|s| s.0 <= t_s);
        match after.checked_sub(1) {
            Some(i) if t_s < self.spans[i].1 => Region::Span(i),
            _ => Region::GapBefore(after),
        }
    }

    fn label_of(&self, region: Region) -> Option<u16> {
        match region {
            Region::Span(i) => Some(self.spans[i].2),
            Region::GapBefore(_) => self.gap,
        }
    }

    /// The label at stream time `t_s`.
    pub fn at(&self, t_s: f64) -> Option<u16> {
        self.label_of(self.region(t_s))
    }

    /// The stretches of one label (or none) that cover `0..end_s`, in order: what a timeline
    /// of the truth draws.
    pub fn stretches(&self, end_s: f64) -> Vec<(f64, f64, Option<u16>)> {
        let mut out = Vec::new();
        let mut t = 0.0;
        for &(start, end, id) in &self.spans {
            if start >= end_s {
                break;
            }
            if start > t {
                out.push((t, start, self.gap));
            }
            out.push((start.max(t), end.min(end_s), Some(id)));
            t = end;
        }
        if t < end_s {
            out.push((t, end_s, self.gap));
        }
        out
    }

    /// The label of a stretch whose first and last frames have their middles at `first_s` and
    /// `last_s`: the label everything between carries, if it is one label. This is the one rule
    /// for which windows `actiond dataset` keeps and `actiond evaluate` scores.
    pub fn over(&self, first_s: f64, last_s: f64) -> Option<u16> {
        // Regions in time order: the gap before span 0, span 0, the gap before span 1, ...
        let order = |r: Region| match r {
            Region::GapBefore(i) => 2 * i,
            Region::Span(i) => 2 * i + 1,
        };
        let region_at = |k: usize| if k % 2 == 1 { Region::Span(k / 2) } else { Region::GapBefore(k / 2) };
        let label = self.label_of(self.region(first_s))?;
        let (from, to) = (order(self.region(first_s)), order(self.region(last_s)));
        (from..=to).all(|k| self.label_of(region_at(k)) == Some(label)).then_some(label)
    }
}

/// A segment that ends after its video (by more than a frame) points at the wrong video or a
/// wrong time: refuse it rather than train on, or score against, a shortened truth.
pub fn check_segments_inside(video: &LabelledVideo, end_s: f64, frame_s: f64) -> Result<(), Problems> {
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
    use crate::dataset::Place;

    fn segment(start_s: f64, end_s: f64, label: &str) -> Segment {
        Segment { start_s, end_s, label: label.into(), place: Place::File("s.csv".into()) }
    }

    fn ids(l: &str) -> u16 {
        match l {
            "a" => 0,
            "b" => 1,
            _ => 2,
        }
    }

    #[test]
    fn frames_take_the_segment_around_their_middle_else_the_gap_label() {
        let labelling = Labelling::Segments {
            segments: vec![segment(1.0, 2.0, "a"), segment(1.5, 3.0, "a"), segment(4.0, 5.0, "b")],
            gap: Some("bg".into()),
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

    #[test]
    fn a_stretch_is_labelled_only_inside_one_span_or_one_gap() {
        let labelling = Labelling::Segments {
            segments: vec![segment(1.0, 2.0, "a"), segment(3.0, 4.0, "a")],
            gap: Some("bg".into()),
        };
        let labels = FrameLabels::new(&labelling, &ids);
        assert_eq!(labels.over(1.1, 1.9), Some(0));
        assert_eq!(labels.over(2.1, 2.9), Some(2), "inside one gap");
        assert_eq!(labels.over(1.5, 3.5), None, "two spans of one label with a gap between");
        assert_eq!(labels.over(0.5, 2.5), None, "gap, span, gap: same label at both ends, another between");
        let gap_is_a = FrameLabels::new(
            &Labelling::Segments {
                segments: vec![segment(1.0, 2.0, "a"), segment(3.0, 4.0, "b")],
                gap: Some("a".into()),
            },
            &ids,
        );
        assert_eq!(
            gap_is_a.over(0.5, 2.5),
            Some(0),
            "a gap labelled like the segment around it is one stretch"
        );
        assert_eq!(gap_is_a.over(0.5, 3.5), None);
        let whole = FrameLabels::new(&Labelling::Whole { label: "b".into() }, &ids);
        assert_eq!(whole.over(0.0, 1e6), Some(1));
        assert_eq!(whole.stretches(2.0), vec![(0.0, 2.0, Some(1))]);
        assert_eq!(
            labels.stretches(3.5),
            vec![(0.0, 1.0, Some(2)), (1.0, 2.0, Some(0)), (2.0, 3.0, Some(2)), (3.0, 3.5, Some(0))]
        );
    }
}

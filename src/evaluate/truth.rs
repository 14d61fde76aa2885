//! The held-out videos and what they show, and the scoring of a head's windows against them.
//!
//! Read with the readers of `actiond dataset`, so the same folder or CSV means the same thing to
//! both, and with the same problems named by file and line. Problems that only decoding shows —
//! a video that cannot be decoded, one shorter than a window, a segment past the end of its video
//! — are found in the first head's runs, and stop the evaluation before anything is written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::child::{RunResult, WindowLine};
use super::report::{HeadReport, ScoredWindow, Stretch, VideoHead, VideoReport};
use super::score::{Confusion, Scores};
use super::{EvaluateError, Head};
use crate::dataset::{FrameLabels, LabelledVideo, Place, Problems, check_segments_inside, read_labelled};

/// One held-out video.
pub struct TruthVideo {
    pub video: LabelledVideo,
    /// Its stream id in the child pipelines.
    pub stream: String,
    labels: FrameLabels,
}

/// Every held-out video, sorted by path, and the truth's labels, sorted.
pub struct Truth {
    pub labels: Vec<String>,
    pub videos: Vec<TruthVideo>,
}

/// One video as one head's runs saw it.
pub struct VideoRun {
    frames: u64,
    duration_s: f64,
    windows: Vec<ScoredWindow>,
}

/// A head's figures and its windows per video.
pub struct Scored {
    pub scores: Scores,
    pub unscored: u64,
    pub videos: Vec<VideoRun>,
}

impl Truth {
    pub fn read(paths: &[PathBuf], gap_label: Option<&str>) -> Result<Self, EvaluateError> {
        let mut problems = Problems::default();
        let mut videos = read_labelled(paths, gap_label, &mut problems);
        if videos.is_empty() && problems.is_empty() {
            problems.push(Place::Data, "no labelled videos were given (--truth)");
        }
        if !problems.is_empty() {
            return Err(EvaluateError::Data { problems });
        }
        videos.sort_by(|a, b| a.path.cmp(&b.path));
        let labels: Vec<String> = videos
            .iter()
            .flat_map(|v| v.declared_labels())
            .collect::<BTreeSet<&str>>()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let id_of =
            |label: &str| labels.iter().position(|l| l == label).expect("labels were collected") as u16;
        let videos = videos
            .into_iter()
            .enumerate()
            .map(|(i, video)| TruthVideo {
                stream: format!("video-{}", i + 1),
                labels: FrameLabels::new(&video.labelling, &id_of),
                video,
            })
            .collect();
        Ok(Self { labels, videos })
    }

    /// Scores a head's runs; fails naming every video its runs show to be bad.
    pub fn score(&self, head: &Head, runs: &[RunResult]) -> Result<Scored, EvaluateError> {
        let mut windows: BTreeMap<&str, Vec<&WindowLine>> = BTreeMap::new();
        let mut frames: BTreeMap<&str, u64> = BTreeMap::new();
        let mut failed: BTreeMap<&str, &str> = BTreeMap::new();
        for run in runs {
            for w in &run.windows {
                windows.entry(w.stream.as_str()).or_default().push(w);
            }
            frames.extend(run.ended.iter().map(|(s, f)| (s.as_str(), *f)));
            failed.extend(run.failed.iter().map(|(s, r)| (s.as_str(), r.as_str())));
        }
        let mut problems = Problems::default();
        let mut confusion = Confusion::new(self.rows_for(&head.plan.labels), head.plan.labels.clone());
        let mut unscored = 0;
        let mut videos = Vec::new();
        let pipeline = head.config.file.display();
        for v in &self.videos {
            let video = v.video.path.display();
            if let Some(reason) = failed.get(v.stream.as_str()) {
                problems
                    .push(v.video.place.clone(), format!("{video} cannot be decoded ({pipeline}): {reason}"));
                continue;
            }
            let seen = windows.get(v.stream.as_str()).map(Vec::as_slice).unwrap_or_default();
            let video_frames = frames.get(v.stream.as_str()).copied().unwrap_or(0);
            let Some(first) = seen.first() else {
                problems.push(
                    v.video.place.clone(),
                    format!(
                        "{video} gives no window ({pipeline}): its {video_frames} frame(s) are fewer than one window of {}",
                        head.plan.geometry.length
                    ),
                );
                continue;
            };
            let frame_s = frame_duration(first);
            let last_end = seen.iter().map(|w| w.end_s).fold(0.0, f64::max);
            let duration_s = last_end.max(video_frames as f64 * frame_s);
            if let Err(found) = check_segments_inside(&v.video, duration_s, frame_s) {
                problems.extend(found);
                continue;
            }
            let mut scored = Vec::with_capacity(seen.len());
            for w in seen {
                let d = frame_duration(w);
                let truth = v
                    .labels
                    .over(w.start_s + d / 2.0, w.end_s - d / 2.0)
                    .map(|id| self.labels[id as usize].clone());
                match &truth {
                    Some(t) => {
                        confusion.add(t, &w.label);
                    }
                    None => unscored += 1,
                }
                scored.push(ScoredWindow { window: (*w).clone(), truth });
            }
            videos.push(VideoRun { frames: video_frames, duration_s, windows: scored });
        }
        if !problems.is_empty() {
            return Err(EvaluateError::Data { problems });
        }
        Ok(Scored { scores: confusion.scores(), unscored, videos })
    }

    /// The truth's labels in the order of a head's own (so its matrix has the diagonal where
    /// the eye looks for it), then the labels the head does not know, sorted.
    fn rows_for(&self, head_labels: &[String]) -> Vec<String> {
        let known = head_labels.iter().filter(|l| self.labels.contains(l));
        let unknown = self.labels.iter().filter(|l| !head_labels.contains(l));
        known.chain(unknown).cloned().collect()
    }

    /// Each video's truth and every head's windows, for timelines.
    pub fn video_reports(&self, heads: &[HeadReport], runs: Vec<Vec<VideoRun>>) -> Vec<VideoReport> {
        let mut per_head: Vec<std::vec::IntoIter<VideoRun>> = runs.into_iter().map(Vec::into_iter).collect();
        self.videos
            .iter()
            .map(|v| {
                let seen: Vec<VideoRun> =
                    per_head.iter_mut().map(|h| h.next().expect("a run per video")).collect();
                let (frames, duration_s) = (seen[0].frames, seen[0].duration_s);
                let truth = v
                    .labels
                    .stretches(duration_s)
                    .into_iter()
                    .map(|(start_s, end_s, id)| Stretch {
                        start_s,
                        end_s,
                        label: id.map(|i| self.labels[i as usize].clone()),
                    })
                    .collect();
                let heads = heads
                    .iter()
                    .zip(seen)
                    .map(|(h, run)| VideoHead { head: h.name.clone(), windows: run.windows })
                    .collect();
                VideoReport { video: v.video.path.display().to_string(), frames, duration_s, truth, heads }
            })
            .collect()
    }
}

/// Duration of one source frame: a window spans its first to its last frame, all of one length.
fn frame_duration(w: &WindowLine) -> f64 {
    (w.end_s - w.start_s) / (w.last_frame - w.first_frame + 1) as f64
}

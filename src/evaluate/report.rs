//! The figures of an evaluation, as one value: what `--json` prints, what `evaluation.json`
//! holds (schema: `schema/evaluate.schema.json`), and what the Markdown and HTML reports draw.

use serde::Serialize;

use super::child::WindowLine;
use super::score::Scores;

/// Version of the JSON document; bumped when a field changes meaning.
pub const FORMAT: &str = "actiond-evaluation/1";
/// How the recommended head is chosen.
pub const RULE: &str = "the highest macro-F1; among heads within 0.01 of it, the lowest CPU-ms per frame";
/// Macro-F1 differences up to this are taken as a tie, decided by cost.
const TIE: f64 = 0.01;

/// Every head against one truth.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub format: &'static str,
    pub truth: TruthSummary,
    pub rule: &'static str,
    /// Name of the recommended head.
    pub recommended: String,
    pub heads: Vec<HeadReport>,
    pub videos: Vec<VideoReport>,
}

/// The held-out videos and their labels.
#[derive(Debug, Clone, Serialize)]
pub struct TruthSummary {
    /// The `--truth` folders and CSVs.
    pub sources: Vec<String>,
    pub gap_label: Option<String>,
    /// The truth's labels, sorted: the rows of every confusion matrix (in the head's order).
    pub labels: Vec<String>,
    pub videos: usize,
}

/// One head's model, window, figures and costs.
#[derive(Debug, Clone, Serialize)]
pub struct HeadReport {
    /// The pipeline file's name without `.toml`.
    pub name: String,
    pub pipeline: String,
    pub model: ModelFacts,
    /// The head's labels, in its labels file's order: the columns of its confusion matrix.
    pub labels: Vec<String>,
    pub window: WindowFacts,
    #[serde(flatten)]
    pub scores: Scores,
    /// Windows not scored: across a boundary of the truth, or in unlabelled time.
    pub unscored_windows: u64,
    pub speed: Speed,
}

/// The ONNX files a head runs.
#[derive(Debug, Clone, Serialize)]
pub struct ModelFacts {
    /// One file, or the encoder and the head of a two-stage model.
    pub files: Vec<String>,
    /// Floating-point weights in all of them.
    pub parameters: u64,
    pub bytes: u64,
}

/// How the head's pipeline cuts windows.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct WindowFacts {
    pub length: usize,
    pub stride: usize,
    pub frame_step: usize,
}

/// End-to-end cost of the head's runs over every held-out video, measured by the kernel.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Speed {
    /// Decoded frames, over every video.
    pub frames: u64,
    pub wall_s: f64,
    /// User + system CPU time of the daemon.
    pub cpu_s: f64,
    pub frames_per_s: f64,
    pub cpu_ms_per_frame: f64,
    /// The largest resident set of any of the head's runs.
    pub peak_rss_bytes: u64,
    /// Videos decoded at once, as streams of one daemon.
    pub videos_per_run: usize,
}

/// One held-out video: its truth and every head's windows.
#[derive(Debug, Clone, Serialize)]
pub struct VideoReport {
    pub video: String,
    pub frames: u64,
    pub duration_s: f64,
    pub truth: Vec<Stretch>,
    pub heads: Vec<VideoHead>,
}

/// A stretch of one truth label (or of none: unlabelled time).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stretch {
    pub start_s: f64,
    pub end_s: f64,
    pub label: Option<String>,
}

/// One head's windows of one video.
#[derive(Debug, Clone, Serialize)]
pub struct VideoHead {
    pub head: String,
    pub windows: Vec<ScoredWindow>,
}

/// A window (its frames, times, the head's label and score) and the truth's label (none: not
/// scored).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredWindow {
    #[serde(flatten)]
    pub window: WindowLine,
    pub truth: Option<String>,
}

impl HeadReport {
    /// The figures of one truth label.
    pub fn class(&self, label: &str) -> Option<&super::score::ClassScore> {
        self.scores.per_class.iter().find(|c| c.label == label)
    }
}

/// The index of the head [`RULE`] picks.
pub fn recommend(heads: &[HeadReport]) -> usize {
    let best = heads.iter().map(|h| h.scores.macro_f1).fold(f64::NEG_INFINITY, f64::max);
    (0..heads.len())
        .filter(|&i| heads[i].scores.macro_f1 >= best - TIE)
        .min_by(|&a, &b| heads[a].speed.cpu_ms_per_frame.total_cmp(&heads[b].speed.cpu_ms_per_frame))
        .expect("at least one head")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::score::Confusion;

    fn head(name: &str, macro_f1: f64, cpu_ms_per_frame: f64) -> HeadReport {
        let mut scores = Confusion::new(vec![], vec![]).scores();
        scores.macro_f1 = macro_f1;
        HeadReport {
            name: name.into(),
            pipeline: format!("{name}.toml"),
            model: ModelFacts { files: vec![], parameters: 0, bytes: 0 },
            labels: vec![],
            window: WindowFacts { length: 10, stride: 5, frame_step: 1 },
            scores,
            unscored_windows: 0,
            speed: Speed {
                frames: 1,
                wall_s: 1.0,
                cpu_s: 1.0,
                frames_per_s: 1.0,
                cpu_ms_per_frame,
                peak_rss_bytes: 0,
                videos_per_run: 1,
            },
        }
    }

    #[test]
    fn the_best_macro_f1_wins_and_a_near_tie_goes_to_the_cheaper_head() {
        let heads = [head("a", 0.90, 1.0), head("b", 0.95, 5.0), head("c", 0.945, 2.0)];
        assert_eq!(heads[recommend(&heads)].name, "c", "c is within 0.01 of b and cheaper");
        let heads = [head("a", 0.90, 1.0), head("b", 0.95, 5.0)];
        assert_eq!(heads[recommend(&heads)].name, "b", "a is cheaper but 0.05 worse");
    }
}

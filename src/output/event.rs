//! The window event: what actiond says about one window, as written to the sinks.

use serde::Serialize;

use crate::window::WindowMeta;

/// One label and its probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelScore {
    pub label: String,
    pub score: f32,
}

/// The classification of one window; one JSON object per line on stdout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowEvent {
    /// Always `"window"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub stream: String,
    /// 0-based window index within the stream.
    pub window: u64,
    pub first_frame: u64,
    pub last_frame: u64,
    /// Frames at the end that repeat the last frame (tail policy `pad`).
    pub padded: usize,
    /// Stream time of the first frame, seconds.
    pub start_s: f64,
    /// Stream time at which the last frame ends, seconds.
    pub end_s: f64,
    /// Best label and its probability.
    pub label: String,
    pub score: f32,
    /// The best `top_k` labels, best first.
    pub top_k: Vec<LabelScore>,
}

impl WindowEvent {
    pub fn new(meta: &WindowMeta, probabilities: &[f32], labels: &[String], top_k: usize) -> Self {
        let mut order: Vec<usize> = (0..probabilities.len()).collect();
        order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]).then(a.cmp(&b)));
        let top: Vec<LabelScore> = order
            .iter()
            .take(top_k.max(1))
            .map(|&i| LabelScore { label: labels[i].clone(), score: probabilities[i] })
            .collect();
        Self {
            kind: "window",
            stream: meta.stream.to_string(),
            window: meta.index,
            first_frame: meta.first_frame,
            last_frame: meta.last_frame,
            padded: meta.padded,
            start_s: meta.start_ns as f64 / 1e9,
            end_s: meta.end_ns as f64 / 1e9,
            label: top[0].label.clone(),
            score: top[0].score,
            top_k: top.into_iter().take(top_k).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_is_sorted_best_first() {
        let meta = WindowMeta {
            stream: "cam".into(),
            index: 4,
            first_frame: 20,
            last_frame: 29,
            padded: 0,
            start_ns: 800_000_000,
            end_ns: 1_200_000_000,
        };
        let labels: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let e = WindowEvent::new(&meta, &[0.2, 0.5, 0.3], &labels, 2);
        assert_eq!(e.label, "b");
        assert_eq!(e.top_k.iter().map(|l| l.label.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!((e.start_s, e.end_s), (0.8, 1.2));
    }
}

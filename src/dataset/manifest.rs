//! `dataset.json`: what a dataset holds and how it was made, so that training reads the label
//! set, the split and the model's preprocessing from the data instead of being told again.

use std::collections::BTreeMap;

use serde::Serialize;

use super::split::Split;
use crate::config::{ChannelOrder, ResizeMode, TailPolicy};

/// The manifest's format name; a reader refuses other formats.
pub const FORMAT: &str = "actiond-dataset/1";

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub format: &'static str,
    /// The pipeline file whose source and window settings cut the windows.
    pub pipeline: String,
    pub windows: WindowsFile,
    /// The frame encoder's embeddings of every window, when the dataset was cut with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embeddings: Option<EmbeddingsFile>,
    pub window: WindowSettings,
    pub frames: FrameSettings,
    /// The pipeline's model preprocessing, which training must apply to the stored bytes.
    pub preprocess: PreprocessSettings,
    /// Label ids are positions in this list (also `labels.txt`).
    pub labels: Vec<String>,
    pub seed: u64,
    pub val_fraction: f64,
    pub videos: Vec<VideoEntry>,
    /// Videos left out with `--skip-bad`, and why.
    pub skipped: Vec<SkippedVideo>,
    /// Videos and windows per label per side.
    pub split: Vec<SplitRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowsFile {
    pub file: &'static str,
    pub dtype: &'static str,
    /// `[N, T, H, W, 3]`.
    pub shape: [u64; 5],
    pub layout: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmbeddingsFile {
    pub file: &'static str,
    pub dtype: &'static str,
    /// `[N, T, D]`, window by window in `windows.npy`'s order.
    pub shape: [u64; 3],
    pub layout: &'static str,
    /// The encoder's ONNX file, made absolute so training finds it from any folder (fed the
    /// pipeline's preprocessing of each frame).
    pub encoder: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowSettings {
    pub length: usize,
    pub stride: usize,
    pub frame_step: usize,
    pub tail: TailPolicy,
}

#[derive(Debug, Clone, Serialize)]
pub struct FrameSettings {
    pub width: u32,
    pub height: u32,
    pub resize: ResizeMode,
}

#[derive(Debug, Clone, Serialize)]
pub struct PreprocessSettings {
    pub scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub channel_order: ChannelOrder,
}

#[derive(Debug, Clone, Serialize)]
pub struct VideoEntry {
    pub video: String,
    pub split: Split,
    pub frames: u64,
    pub duration_s: f64,
    /// Windows kept, per label.
    pub windows: BTreeMap<String, u64>,
    /// Windows left out: across a label boundary, or in unlabelled time.
    pub unlabelled_windows: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkippedVideo {
    pub video: String,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub videos: u64,
    pub windows: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SplitRow {
    pub label: String,
    pub train: Counts,
    pub val: Counts,
    pub test: Counts,
}

impl SplitRow {
    fn side(&mut self, split: Split) -> &mut Counts {
        match split {
            Split::Train => &mut self.train,
            Split::Val => &mut self.val,
            Split::Test => &mut self.test,
        }
    }
}

/// Videos and windows per label per side, from the videos' entries.
pub fn split_rows(labels: &[String], videos: &[VideoEntry]) -> Vec<SplitRow> {
    let mut rows: Vec<SplitRow> = labels
        .iter()
        .map(|label| SplitRow {
            label: label.clone(),
            train: Counts::default(),
            val: Counts::default(),
            test: Counts::default(),
        })
        .collect();
    for video in videos {
        for row in rows.iter_mut() {
            if let Some(&windows) = video.windows.get(&row.label).filter(|&&w| w > 0) {
                let side = row.side(video.split);
                side.videos += 1;
                side.windows += windows;
            }
        }
    }
    rows
}

impl Manifest {
    /// The split as a Markdown table, for the terminal and reports.
    pub fn split_table(&self) -> String {
        let mut text = String::from(
            "| label | train videos | train windows | val videos | val windows | test videos | test windows |\n\
             |---|---:|---:|---:|---:|---:|---:|\n",
        );
        let mut total = [0u64; 6];
        for row in &self.split {
            let cells = [
                row.train.videos,
                row.train.windows,
                row.val.videos,
                row.val.windows,
                row.test.videos,
                row.test.windows,
            ];
            for (t, c) in total.iter_mut().zip(cells) {
                *t += c;
            }
            let cells: Vec<String> = cells.iter().map(u64::to_string).collect();
            text.push_str(&format!("| {} | {} |\n", row.label, cells.join(" | ")));
        }
        // A video with several labels counts once per label above, once here.
        for split in Split::ALL {
            let videos = self.videos.iter().filter(|v| v.split == split).count() as u64;
            total[split as usize * 2] = videos;
        }
        let cells: Vec<String> = total.iter().map(u64::to_string).collect();
        text.push_str(&format!("| **all** | {} |\n", cells.join(" | ")));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(split: Split, windows: &[(&str, u64)]) -> VideoEntry {
        VideoEntry {
            video: "v".into(),
            split,
            frames: 0,
            duration_s: 0.0,
            windows: windows.iter().map(|(l, n)| (l.to_string(), *n)).collect(),
            unlabelled_windows: 0,
        }
    }

    #[test]
    fn rows_count_a_video_for_each_label_it_has_windows_of() {
        let labels = vec!["a".to_owned(), "b".into()];
        let videos = vec![
            video(Split::Train, &[("a", 3), ("b", 2)]),
            video(Split::Val, &[("a", 4), ("b", 0)]),
            video(Split::Test, &[("b", 5)]),
        ];
        let rows = split_rows(&labels, &videos);
        assert_eq!(
            (rows[0].train.clone(), rows[0].val.clone()),
            (Counts { videos: 1, windows: 3 }, Counts { videos: 1, windows: 4 })
        );
        assert_eq!(
            (rows[1].train.clone(), rows[1].val.clone(), rows[1].test.clone()),
            (Counts { videos: 1, windows: 2 }, Counts::default(), Counts { videos: 1, windows: 5 })
        );
    }
}

//! `actiond dataset`: labelled videos into training windows, cut by the daemon's own source and
//! window stage, split by video.
//!
//! Training must see exactly what serving will feed the model, so the windows are not decoded
//! by a Python loop with its own resize and sampling: every video goes through the GStreamer
//! source and the ring of [`crate::window`] with the settings of a pipeline file (size, resize
//! mode, frame step, window length and stride, tail policy). The output folder holds
//! `windows.npy` (uint8 `[N,T,H,W,3]`, RGB as decoded, before the model's scale/mean/std),
//! `index.csv` (one row per window: video, frames, times, label, split), `labels.txt` and
//! `dataset.json` (the settings, the label set, the split per label and side). Given a frame
//! encoder (the pipeline's own, or any ONNX `[N,H,W,3]→[N,D]` backbone), it also holds
//! `embeddings.npy` (float32 `[N,T,D]`): what that encoder gives for every frame of every
//! window, computed by the same ring and session code a two-stage pipeline serves with, so a
//! temporal head trained on them sees at serving time exactly what it was trained on.
//!
//! Bad data never leaves half a dataset: everything is written into a hidden folder beside the
//! output and moved into place at the end ([`crate::staging`]), and every problem found is
//! reported with its file and line, all at once.

mod extract;
mod labelled;
mod manifest;
mod problem;
mod segments;
mod split;
mod store;
mod truth;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

pub use extract::{Extraction, Extractor, VideoWindows};
pub use labelled::{LabelledVideo, Labelling, VIDEO_EXTENSIONS, read_labelled};
pub use manifest::{FORMAT, Manifest};
pub use problem::{Place, Problem, Problems};
pub use segments::{SEGMENT_HEADER, Segment};
pub use split::{Split, split_by_video};
pub use truth::{FrameLabels, check_segments_inside};

use manifest::{
    EmbeddingsFile, FrameSettings, PreprocessSettings, SkippedVideo, VideoEntry, WindowSettings, WindowsFile,
};
use store::WindowStore;

use crate::staging::{OutputError, Staging};

/// Why no dataset was written.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("the labelled data has {} problem(s); no dataset was written:\n{problems}", problems.len())]
    Data { problems: Problems },
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("{0}")]
    Settings(String),
    #[error("stopped before the end; no dataset was written")]
    Stopped,
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    /// The frame encoder failed on a video's frame: a model or runtime fault, not bad footage.
    #[error("the frame encoder failed on {} at {reason}; no dataset was written", video.display())]
    Encoder { video: PathBuf, reason: String },
    /// The window store could not be written, or a failed video's windows taken back out of it.
    #[error("{}: {source}; no dataset was written", path.display())]
    Store { path: PathBuf, source: std::io::Error },
}

impl crate::error::ExitStatus for DatasetError {
    fn exit_code(&self) -> u8 {
        use crate::error::exit_code;
        match self {
            DatasetError::Data { .. } | DatasetError::Settings(_) => exit_code::DATA,
            DatasetError::Encoder { .. } => exit_code::MODEL,
            DatasetError::Output(_)
            | DatasetError::Stopped
            | DatasetError::Source(_)
            | DatasetError::Store { .. } => exit_code::RUNTIME,
        }
    }
}

/// What to extract and where to.
#[derive(Debug, Clone)]
pub struct DatasetSettings {
    /// Folders per class and segments CSVs for training and validation.
    pub data: Vec<PathBuf>,
    /// Held-out videos: never in training or validation.
    pub test: Vec<PathBuf>,
    /// The label of time outside every segment (otherwise that time is not used).
    pub gap_label: Option<String>,
    /// Share of each label's videos kept for validation, in (0, 1).
    pub val_fraction: f64,
    pub seed: u64,
    /// Leave out videos that cannot be decoded or whose segments run past their end, instead of
    /// failing; they are listed in the manifest.
    pub skip_bad: bool,
    pub out: PathBuf,
    /// Replace an existing output folder.
    pub force: bool,
}

/// How videos are turned into windows: from the pipeline file.
#[derive(Debug, Clone)]
pub struct DatasetSource {
    pub pipeline: PathBuf,
    pub extraction: Extraction,
    pub preprocess: crate::model::PreprocessSettings,
}

impl DatasetSource {
    /// The source and window settings of a checked pipeline.
    pub fn from_plan(plan: &crate::plan::Plan) -> Self {
        Self {
            pipeline: plan.file().to_owned(),
            extraction: Extraction { geometry: plan.geometry, options: plan.file_options() },
            preprocess: plan.preprocess_settings(),
        }
    }
}

/// The frame encoder whose embeddings a dataset keeps beside its windows.
pub struct DatasetEncoder {
    /// Its ONNX file, recorded in the manifest so that training deploys the very same encoder.
    pub path: PathBuf,
    pub encoder: Box<dyn crate::window::FrameEncoder>,
}

/// A written dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

/// Reads the labelled data, extracts every video, splits by video and writes the dataset.
pub fn build(
    source: &DatasetSource,
    settings: &DatasetSettings,
    encoder: Option<DatasetEncoder>,
    stop: &AtomicBool,
) -> Result<Dataset, DatasetError> {
    if !(settings.val_fraction > 0.0 && settings.val_fraction < 1.0) {
        return Err(DatasetError::Settings(format!(
            "the validation fraction must lie between 0 and 1, not {}",
            settings.val_fraction
        )));
    }
    let out = &settings.out;
    crate::staging::check_free(out, settings.force)?;
    let (videos, labels) = read_all(settings)?;
    crate::source::init()?;
    let staging = Staging::create(out, settings.force)?;
    let g = source.extraction.geometry;
    let f = source.extraction.options.format;
    let shape = [g.length as u64, u64::from(f.height), u64::from(f.width), 3];
    let (encoder_path, encoder) = encoder.map(|e| (e.path, e.encoder)).unzip();
    let embedding_shape = encoder.as_ref().map(|e| [shape[0], e.dim() as u64]);
    let mut store =
        WindowStore::create(staging.path(), shape, embedding_shape).map_err(|e| staging.error(e))?;
    let id_of = |label: &str| labels.iter().position(|l| l == label).expect("labels were collected") as u16;
    let mut extractor =
        Extractor { extraction: &source.extraction, id_of: &id_of, label_count: labels.len(), encoder };
    let mut problems = Problems::default();
    let mut extracted: Vec<(usize, VideoWindows)> = Vec::new();
    let mut skipped = Vec::new();
    for (n, ToExtract { video, .. }) in videos.iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            return Err(DatasetError::Stopped);
        }
        let id = extracted.len();
        match extractor.extract(video, id, &mut store, stop)? {
            Ok(got) => {
                tracing::info!(video = %video.path.display(), frames = got.frames,
                    windows = got.per_label.iter().sum::<u64>(), unlabelled = got.unlabelled,
                    "Extracted {} of {}.", n + 1, videos.len());
                extracted.push((n, got));
            }
            Err(found) if settings.skip_bad => {
                tracing::warn!(video = %video.path.display(), problems = %found, "Skipped.");
                skipped.push(SkippedVideo {
                    video: video.path.display().to_string(),
                    problems: found.iter().map(ToString::to_string).collect(),
                });
            }
            Err(found) => problems.extend(found),
        }
    }
    if stop.load(Ordering::Relaxed) {
        return Err(DatasetError::Stopped);
    }
    let entries = split_extracted(&videos, &extracted, &labels, settings, &mut problems);
    if !problems.is_empty() {
        return Err(DatasetError::Data { problems });
    }
    let names: Vec<String> = entries.iter().map(|e| e.video.clone()).collect();
    let splits: Vec<Split> = entries.iter().map(|e| e.split).collect();
    let windows = store.rows().len() as u64;
    store.finish(staging.path(), &names, &splits, &labels).map_err(|e| staging.error(e))?;
    let p = &source.preprocess;
    let manifest = Manifest {
        format: FORMAT,
        pipeline: source.pipeline.display().to_string(),
        windows: WindowsFile {
            file: "windows.npy",
            dtype: "uint8",
            shape: [windows, shape[0], shape[1], shape[2], shape[3]],
            layout: "NTHWC, RGB bytes as decoded; the model's scale/mean/std/channel order are not applied",
        },
        embeddings: embedding_shape.zip(encoder_path).map(|([t, d], path)| EmbeddingsFile {
            file: "embeddings.npy",
            dtype: "float32",
            shape: [windows, t, d],
            layout: "NTD: the encoder's output for each frame of each window, oldest first, as a two-stage pipeline feeds its head",
            encoder: path.display().to_string(),
        }),
        window: WindowSettings { length: g.length, stride: g.stride, frame_step: g.frame_step, tail: g.tail },
        frames: FrameSettings { width: f.width, height: f.height, resize: f.resize },
        preprocess: PreprocessSettings {
            scale: p.scale,
            mean: p.mean,
            std: p.std,
            channel_order: p.channel_order,
        },
        split: manifest::split_rows(&labels, &entries),
        labels,
        seed: settings.seed,
        val_fraction: settings.val_fraction,
        videos: entries,
        skipped,
    };
    staging.write("dataset.json", &serde_json::to_vec_pretty(&manifest).expect("a manifest serialises"))?;
    staging.write("labels.txt", (manifest.labels.join("\n") + "\n").as_bytes())?;
    staging.commit(settings.force)?;
    Ok(Dataset { dir: out.clone(), manifest })
}

/// A labelled video, and whether it is held out for testing.
struct ToExtract {
    video: LabelledVideo,
    held_out: bool,
}

/// Every labelled video (training pool sorted by path, then the test set), and the label set:
/// the training pool's labels, sorted. Fails with every problem found without decoding.
fn read_all(settings: &DatasetSettings) -> Result<(Vec<ToExtract>, Vec<String>), DatasetError> {
    let gap = settings.gap_label.as_deref();
    let mut problems = Problems::default();
    let mut pool = read_labelled(&settings.data, gap, &mut problems);
    let mut test = read_labelled(&settings.test, gap, &mut problems);
    pool.sort_by(|a, b| a.path.cmp(&b.path));
    test.sort_by(|a, b| a.path.cmp(&b.path));
    let mut declared: BTreeMap<&str, Vec<&LabelledVideo>> = BTreeMap::new();
    for video in &pool {
        for label in video.declared_labels() {
            declared.entry(label).or_default().push(video);
        }
    }
    for (label, videos) in &declared {
        if let [only] = videos.as_slice() {
            problems.push(
                only.place.clone(),
                format!(
                    "label `{label}` has only one video ({}); a split by video needs two or more",
                    only.path.display()
                ),
            );
        }
    }
    if pool.is_empty() && problems.is_empty() {
        problems.push(Place::Data, "no labelled videos were given");
    }
    let in_pool: BTreeMap<&Path, &Place> = pool.iter().map(|v| (v.path.as_path(), &v.place)).collect();
    for video in &test {
        if let Some(place) = in_pool.get(video.path.as_path()) {
            problems.push(
                video.place.clone(),
                format!("test video {} is also in the training data ({place})", video.path.display()),
            );
        }
        for label in video.declared_labels().into_iter().filter(|l| !declared.contains_key(l)) {
            problems.push(video.place.clone(), format!("label `{label}` is not in the training data"));
        }
    }
    if !problems.is_empty() {
        return Err(DatasetError::Data { problems });
    }
    let labels: Vec<String> = declared.keys().map(|l| l.to_string()).collect();
    let videos = pool
        .into_iter()
        .map(|video| ToExtract { video, held_out: false })
        .chain(test.into_iter().map(|video| ToExtract { video, held_out: true }))
        .collect();
    Ok((videos, labels))
}

/// Splits the extracted training pool by video and describes every extracted video.
fn split_extracted(
    videos: &[ToExtract],
    extracted: &[(usize, VideoWindows)],
    labels: &[String],
    settings: &DatasetSettings,
    problems: &mut Problems,
) -> Vec<VideoEntry> {
    let present =
        |got: &VideoWindows| -> Vec<usize> { (0..labels.len()).filter(|&l| got.per_label[l] > 0).collect() };
    let pool: Vec<&(usize, VideoWindows)> = extracted.iter().filter(|(n, _)| !videos[*n].held_out).collect();
    let pool_labels: Vec<Vec<usize>> = pool.iter().map(|(_, got)| present(got)).collect();
    let with_windows: BTreeSet<usize> = pool_labels.iter().flatten().copied().collect();
    for (_, label) in labels.iter().enumerate().filter(|(l, _)| !with_windows.contains(l)) {
        problems.push(
            Place::Data,
            format!("label `{label}` gives no window: its examples are all shorter than a window"),
        );
    }
    let pool_sides = match split_by_video(&pool_labels, labels.len(), settings.val_fraction, settings.seed) {
        Ok(sides) => sides,
        Err(unsplittable) => {
            for u in unsplittable {
                let named: Vec<String> = pool
                    .iter()
                    .zip(&pool_labels)
                    .filter(|(_, present)| present.contains(&u.label))
                    .map(|((n, _), _)| videos[*n].video.path.display().to_string())
                    .collect();
                problems.push(
                    Place::Data,
                    format!(
                        "label `{}` has windows in {} video(s) ({}): too few to keep one for training and one for validation",
                        labels[u.label],
                        u.videos,
                        named.join(", ")
                    ),
                );
            }
            vec![Split::Train; pool.len()]
        }
    };
    let mut pool_sides = pool_sides.into_iter();
    extracted
        .iter()
        .map(|(n, got)| {
            let ToExtract { video, held_out } = &videos[*n];
            let split =
                if *held_out { Split::Test } else { pool_sides.next().expect("a side per pool video") };
            VideoEntry {
                video: video.path.display().to_string(),
                split,
                frames: got.frames,
                duration_s: got.end_s,
                windows: labels.iter().cloned().zip(got.per_label.iter().copied()).collect(),
                unlabelled_windows: got.unlabelled,
            }
        })
        .collect()
}

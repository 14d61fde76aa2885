//! One labelled video through the daemon's own source and window stage, so that the windows a
//! head is trained on are, byte for byte, those `actiond run` would hand it.
//!
//! The ring is the daemon's [`Windower`] with an identity preprocessor (scale 1, mean 0, std 1,
//! RGB, `[T,H,W,C]`): its f32 values are the decoded bytes exactly, and the model's own
//! scale/mean/std are left to training, as recorded in the manifest. A frame's label is the
//! segment holding the middle of its display time; a window is labelled only when all its frames
//! carry the same label, so windows across a boundary (or in unlabelled time) are left out.
//!
//! With a frame encoder (transfer learning on embeddings), a second ring of the same geometry
//! holds the encoder's embeddings, exactly as a two-stage pipeline's stream does, and every
//! stored window gets its `[T,D]` embeddings beside its pixels.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::DatasetError;
use super::labelled::LabelledVideo;
use super::problem::Problems;
use super::store::{IndexRow, WindowStore};
use super::truth::{FrameLabels, check_segments_inside};
use crate::config::ChannelOrder;
use crate::flow::Window;
use crate::model::{PreprocessSettings, Preprocessor, TensorLayout};
use crate::source::{SourceOptions, VideoSource, location_of};
use crate::window::{FrameEncoder, FrameFeatures, WindowGeometry, Windower};

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

/// One video's frames and windows as they come: each frame's time, each labelled window into
/// the store.
struct Cut {
    video_id: usize,
    labels_at: FrameLabels,
    /// The middle of each frame's display time, seconds, by decoded-frame index (a file's
    /// frames are numbered from 0).
    frame_middles: Vec<f64>,
    got: VideoWindows,
    last_duration_s: f64,
    write_error: Option<std::io::Error>,
}

impl Cut {
    fn frame(&mut self, frame: &crate::flow::Frame) {
        self.frame_middles.push((frame.pts_ns as f64 + frame.duration_ns as f64 / 2.0) / 1e9);
        self.got.frames += 1;
        self.got.end_s = self.got.end_s.max((frame.pts_ns + frame.duration_ns) as f64 / 1e9);
        self.last_duration_s = frame.duration_ns as f64 / 1e9;
    }

    fn window(&mut self, window: &Window, embedded: Option<&Window>, store: &mut WindowStore) {
        if self.write_error.is_some() {
            return; // the video fails and is rewound: nothing more to write
        }
        let m = &window.meta;
        let (first, last) =
            (self.frame_middles[m.first_frame as usize], self.frame_middles[m.last_frame as usize]);
        let Some(label) = self.labels_at.over(first, last) else {
            self.got.unlabelled += 1;
            return;
        };
        if let Some(e) = embedded {
            debug_assert_eq!((e.meta.first_frame, e.meta.last_frame), (m.first_frame, m.last_frame));
        }
        let row = IndexRow {
            video: self.video_id,
            first_frame: m.first_frame,
            last_frame: m.last_frame,
            start_s: m.start_ns as f64 / 1e9,
            end_s: m.end_ns as f64 / 1e9,
            label,
        };
        match store.append(&window.data, embedded.map(|e| &e.data[..]), row) {
            Ok(()) => self.got.per_label[label as usize] += 1,
            Err(e) => {
                self.write_error.get_or_insert(e);
            }
        }
    }
}

/// Cuts labelled videos one after another into one store, with the pipeline's settings and,
/// given one, the frame encoder whose embeddings are stored beside the pixels.
pub struct Extractor<'a> {
    pub extraction: &'a Extraction,
    /// The id of a label name.
    pub id_of: &'a dyn Fn(&str) -> u16,
    pub label_count: usize,
    pub encoder: Option<Box<dyn FrameEncoder>>,
}

/// Why a video gave no windows: its own problems, or a failure that ends the whole dataset.
enum Failed {
    Video(Problems),
    Dataset(DatasetError),
}

impl From<Problems> for Failed {
    fn from(problems: Problems) -> Self {
        Failed::Video(problems)
    }
}

impl Extractor<'_> {
    /// Decodes `video` and appends its labelled windows to `store`. When the video fails
    /// nothing of it stays in the store, and the inner problems name the video and where it was
    /// labelled. The outer error ends the whole dataset, whatever `--skip-bad` says: the frame
    /// encoder failed (not the footage), or the store could not be written or taken back.
    pub fn extract(
        &mut self,
        video: &LabelledVideo,
        video_id: usize,
        store: &mut WindowStore,
        stop: &AtomicBool,
    ) -> Result<Result<VideoWindows, Problems>, DatasetError> {
        let mark = store.mark();
        let stream: Arc<str> = video.path.to_string_lossy().into();
        let geometry = self.extraction.geometry;
        let mut embedder = self.encoder.take().map(|encoder| {
            Windower::new(stream.clone(), geometry, FrameFeatures::Embeddings(encoder), false)
        });
        let result = self.decode(video, video_id, stream, embedder.as_mut(), store, stop);
        if let Some(FrameFeatures::Embeddings(encoder)) = embedder.map(Windower::into_features) {
            self.encoder = Some(encoder);
        }
        match result {
            Ok(got) => Ok(Ok(got)),
            Err(failed) => {
                store
                    .rewind(mark)
                    .map_err(|source| DatasetError::Store { path: store.path().to_owned(), source })?;
                match failed {
                    Failed::Video(problems) => Ok(Err(problems)),
                    Failed::Dataset(error) => Err(error),
                }
            }
        }
    }

    fn decode(
        &self,
        video: &LabelledVideo,
        video_id: usize,
        stream: Arc<str>,
        mut embedder: Option<&mut Windower>,
        store: &mut WindowStore,
        stop: &AtomicBool,
    ) -> Result<VideoWindows, Failed> {
        let fail = |message: String| Problems::one(video.place.clone(), message);
        let location = location_of(&video.path.to_string_lossy());
        let options = self.extraction.options.clone();
        let format = options.format;
        let source = VideoSource::new(location, options).map_err(|e| fail(e.to_string()))?;
        let identity = Preprocessor::new(
            &PreprocessSettings {
                scale: 1.0,
                mean: [0.0; 3],
                std: [1.0; 3],
                channel_order: ChannelOrder::Rgb,
            },
            format.width as usize,
            format.height as usize,
        );
        let features = FrameFeatures::Pixels { preprocessor: Arc::new(identity), layout: TensorLayout::Thwc };
        let mut windower = Windower::new(stream, self.extraction.geometry, features, false);
        let mut cut = Cut {
            video_id,
            labels_at: FrameLabels::new(&video.labelling, self.id_of),
            frame_middles: Vec::new(),
            got: VideoWindows { per_label: vec![0; self.label_count], ..Default::default() },
            last_duration_s: 0.0,
            write_error: None,
        };
        let mut encode_error = None;
        let summary = source
            .run(stop, |frame| {
                cut.frame(frame);
                if encode_error.is_some() {
                    return; // the video fails: the rings are no longer in step
                }
                let embedded = match embedder.as_deref_mut().map(|e| e.push(frame)) {
                    Some(Err(failure)) => {
                        encode_error.get_or_insert(format!(
                            "frame {}: {}",
                            cut.got.frames - 1,
                            failure.error
                        ));
                        return;
                    }
                    Some(Ok(window)) => window,
                    None => None,
                };
                // Pixels convert without fail: only an encoder can refuse a frame.
                if let Ok(Some(window)) = windower.push(frame) {
                    cut.window(&window, embedded.as_ref(), store);
                }
            })
            .map_err(|e| fail(e.to_string()))?;
        if summary.stopped {
            return Err(fail("stopped before its end".into()).into());
        }
        if let Some(reason) = encode_error {
            return Err(Failed::Dataset(DatasetError::Encoder { video: video.path.clone(), reason }));
        }
        if let Some(window) = windower.finish() {
            let embedded = embedder.and_then(Windower::finish);
            cut.window(&window, embedded.as_ref(), store);
        }
        if let Some(source) = cut.write_error {
            return Err(Failed::Dataset(DatasetError::Store { path: store.path().to_owned(), source }));
        }
        let got = cut.got;
        check_segments_inside(video, got.end_s, cut.last_duration_s)?;
        Ok(got)
    }
}

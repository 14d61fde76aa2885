//! Labelled videos in the two forms people already keep them: a folder per class (UCF101,
//! Kinetics) and a CSV of segments of long videos (ActivityNet, AVA).
//!
//! Everything that can be checked without decoding is checked here, and every problem is
//! collected with the file (and line) it comes from, so one run names them all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::problem::{Place, Problems};
use super::segments::{Segment, read_segments};

/// File name endings taken as videos in a class folder (compared without case).
pub const VIDEO_EXTENSIONS: &[&str] =
    &["mp4", "m4v", "mkv", "webm", "avi", "mov", "mpg", "mpeg", "ts", "mts", "flv", "wmv", "ogv", "3gp"];

/// How a video is labelled.
#[derive(Debug, Clone, PartialEq)]
pub enum Labelling {
    /// Every frame is one example of `label` (folder per class).
    Whole { label: String },
    /// Only the time inside a segment is labelled; the rest carries `gap` (or nothing).
    Segments { segments: Vec<Segment>, gap: Option<String> },
}

/// One video and what its frames show.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledVideo {
    /// The file, as an absolute path (the key that keeps a video on one side of the split).
    pub path: PathBuf,
    /// Where its labels were given: the class folder, or the CSV.
    pub place: Place,
    pub labelling: Labelling,
}

impl LabelledVideo {
    /// The labels its labelling names, sorted, without repeats.
    pub fn declared_labels(&self) -> Vec<&str> {
        let mut labels: Vec<&str> = match &self.labelling {
            Labelling::Whole { label } => vec![label],
            Labelling::Segments { segments, gap } => {
                segments.iter().map(|s| s.label.as_str()).chain(gap.as_deref()).collect()
            }
        };
        labels.sort_unstable();
        labels.dedup();
        labels
    }
}

/// Reads every `--data` (or `--test`) path: a folder per class, or a segments CSV. A video named
/// by two of them is a problem (its labels would disagree or count twice).
pub fn read_labelled(
    paths: &[PathBuf],
    gap_label: Option<&str>,
    problems: &mut Problems,
) -> Vec<LabelledVideo> {
    let mut videos = Vec::new();
    for path in paths {
        if path.is_dir() {
            videos.extend(read_class_folders(path, problems));
        } else if is_video(path) {
            problems.push(
                Place::File(path.clone()),
                "is a video: give the folder of its class folders, or a segments CSV that names it",
            );
        } else if path.is_file() {
            videos.extend(read_segments(path, gap_label, problems));
        } else {
            problems.push(Place::File(path.clone()), "not found (give a folder per class or a segments CSV)");
        }
    }
    let mut first_place: BTreeMap<PathBuf, Place> = BTreeMap::new();
    videos.retain(|video| match first_place.get(&video.path) {
        Some(place) => {
            problems.push(
                video.place.clone(),
                format!("video {} is labelled here and in {place} too", video.path.display()),
            );
            false
        }
        None => {
            first_place.insert(video.path.clone(), video.place.clone());
            true
        }
    });
    videos
}

/// `DIR/<label>/**/*.{mp4,…}`: every video file below a class folder is one example of it.
fn read_class_folders(dir: &Path, problems: &mut Problems) -> Vec<LabelledVideo> {
    let folder = Arc::<Path>::from(dir);
    let mut classes: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => {
            entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir() && !is_hidden(p)).collect()
        }
        Err(e) => {
            problems.push(Place::File(dir.to_owned()), format!("cannot be read: {e}"));
            return Vec::new();
        }
    };
    classes.sort();
    if classes.is_empty() {
        problems.push(Place::File(dir.to_owned()), "holds no class folders (expected DIR/<label>/<video>)");
        return Vec::new();
    }
    let mut videos = Vec::new();
    for class in classes {
        let label = class.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&class)
            .follow_links(true)
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !is_hidden(e.path()))
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file() && is_video(e.path()))
            .map(|e| e.into_path())
            .collect();
        files.sort();
        if files.is_empty() {
            problems.push(
                Place::File(class.clone()),
                format!("class folder `{label}` holds no videos (.{})", VIDEO_EXTENSIONS.join(", .")),
            );
        }
        for file in files {
            videos.push(LabelledVideo {
                path: std::path::absolute(&file).unwrap_or(file),
                place: Place::Folder { root: folder.clone(), class: class.clone() },
                labelling: Labelling::Whole { label: label.clone() },
            });
        }
    }
    videos
}

fn is_hidden(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

fn is_video(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.iter().any(|v| v.eq_ignore_ascii_case(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"").unwrap();
    }

    #[test]
    fn class_folders_give_one_example_per_video_and_skip_other_files() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("wave/a.mp4"));
        touch(&dir.path().join("wave/sub/b.MKV"));
        touch(&dir.path().join("wave/notes.txt"));
        touch(&dir.path().join("wave/.hidden.mp4"));
        touch(&dir.path().join("clap/c.webm"));
        let mut problems = Problems::default();
        let videos = read_labelled(&[dir.path().to_owned()], None, &mut problems);
        assert!(problems.is_empty(), "{problems}");
        let got: Vec<(String, Vec<&str>)> = videos
            .iter()
            .map(|v| (v.path.strip_prefix(dir.path()).unwrap().display().to_string(), v.declared_labels()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("clap/c.webm".into(), vec!["clap"]),
                ("wave/a.mp4".into(), vec!["wave"]),
                ("wave/sub/b.MKV".into(), vec!["wave"]),
            ]
        );
    }

    #[test]
    fn an_empty_class_folder_and_a_folder_without_classes_are_named() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("wave/a.mp4"));
        std::fs::create_dir_all(dir.path().join("clap")).unwrap();
        let empty = tempfile::tempdir().unwrap();
        let mut problems = Problems::default();
        read_labelled(&[dir.path().to_owned(), empty.path().to_owned()], None, &mut problems);
        let text = problems.to_string();
        assert!(
            text.contains(&format!(
                "{}: class folder `clap` holds no videos",
                dir.path().join("clap").display()
            )),
            "{text}"
        );
        assert!(text.contains(&format!("{}: holds no class folders", empty.path().display())), "{text}");
    }

    #[test]
    fn a_video_labelled_twice_is_named_with_both_places() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("wave/a.mp4"));
        let mut problems = Problems::default();
        let videos = read_labelled(&[dir.path().to_owned(), dir.path().to_owned()], None, &mut problems);
        assert_eq!(videos.len(), 1);
        assert!(problems.to_string().contains("is labelled here and in"), "{problems}");
    }
}

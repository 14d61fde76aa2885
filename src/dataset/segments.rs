//! Segments of long videos: a CSV with the header `video,start_s,end_s,label`, video paths
//! relative to the CSV. Time outside every segment is unlabelled unless a gap label is given.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use super::labelled::{LabelledVideo, Labelling};
use super::problem::{Place, Problems};

/// The header a segments CSV must have, in this order.
pub const SEGMENT_HEADER: [&str; 4] = ["video", "start_s", "end_s", "label"];

/// A labelled stretch of a video, in stream time (what a player shows).
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub start_s: f64,
    pub end_s: f64,
    pub label: String,
    /// The CSV line it was given on.
    pub place: Place,
}

impl Segment {
    /// Whether stream time `t_s` lies inside (start inclusive, end exclusive).
    pub fn contains(&self, t_s: f64) -> bool {
        self.start_s <= t_s && t_s < self.end_s
    }
}

#[derive(Deserialize)]
struct Row {
    video: String,
    start_s: f64,
    end_s: f64,
    label: String,
}

/// Reads one segments CSV; bad lines become problems and are left out.
pub fn read_segments(csv_path: &Path, gap: Option<&str>, problems: &mut Problems) -> Vec<LabelledVideo> {
    let csv: Arc<Path> = std::path::absolute(csv_path).unwrap_or_else(|_| csv_path.to_owned()).into();
    let file_problem = |problems: &mut Problems, message: String| {
        problems.push(Place::File(csv_path.to_owned()), message);
    };
    let mut reader = match csv::ReaderBuilder::new().trim(csv::Trim::All).from_path(&csv) {
        Ok(reader) => reader,
        Err(e) => {
            file_problem(problems, format!("cannot be read: {e}"));
            return Vec::new();
        }
    };
    let header_ok = match reader.headers() {
        Ok(h) => h.iter().eq(SEGMENT_HEADER),
        Err(_) => false,
    };
    if !header_ok {
        let found = reader.headers().map(|h| h.iter().collect::<Vec<_>>().join(",")).unwrap_or_default();
        problems.push(
            Place::Line { csv: csv.clone(), line: 1 },
            format!("the header must be `{}`, not `{found}`", SEGMENT_HEADER.join(",")),
        );
        return Vec::new();
    }
    let base = csv.parent().map(Path::to_owned).unwrap_or_default();
    let mut by_video: BTreeMap<PathBuf, Vec<Segment>> = BTreeMap::new();
    let mut rows = 0;
    for record in reader.records() {
        rows += 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(Place::Line { csv: csv.clone(), line }, format!("unreadable: {e}"));
                continue;
            }
        };
        let place = Place::Line { csv: csv.clone(), line: record.position().map_or(0, |p| p.line()) };
        let row: Row = match record.deserialize(None) {
            Ok(row) => row,
            Err(e) => {
                problems.push(place, format!("{}", DeserializeMessage(&e)));
                continue;
            }
        };
        match check_row(&row, &base) {
            Ok(video) => by_video.entry(video).or_default().push(Segment {
                start_s: row.start_s,
                end_s: row.end_s,
                label: row.label,
                place,
            }),
            Err(message) => problems.push(place, message),
        }
    }
    if rows == 0 {
        file_problem(problems, "holds no segments".into());
    }
    by_video
        .into_iter()
        .map(|(path, mut segments)| {
            segments.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
            check_overlaps(&segments, problems);
            LabelledVideo {
                path,
                place: Place::File(csv.to_path_buf()),
                labelling: Labelling::Segments { segments, gap: gap.map(str::to_owned) },
            }
        })
        .collect()
}

/// The row's video as an absolute path, or what is wrong with the row.
fn check_row(row: &Row, base: &Path) -> Result<PathBuf, String> {
    if row.video.is_empty() {
        return Err("`video` is empty".into());
    }
    if row.label.is_empty() {
        return Err("`label` is empty".into());
    }
    if !(row.start_s.is_finite() && row.start_s >= 0.0) {
        return Err(format!("`start_s` must be a time ≥ 0 in seconds, not {}", row.start_s));
    }
    if !(row.end_s.is_finite() && row.end_s > row.start_s) {
        return Err(format!("`end_s` ({}) must be after `start_s` ({})", row.end_s, row.start_s));
    }
    let video = base.join(&row.video);
    if !video.is_file() {
        return Err(format!("video {} not found", video.display()));
    }
    Ok(std::path::absolute(&video).unwrap_or(video))
}

/// Overlapping segments of one video must agree on the label (a frame has one truth).
fn check_overlaps(sorted: &[Segment], problems: &mut Problems) {
    let mut reach: Option<&Segment> = None;
    for segment in sorted {
        if let Some(previous) = reach {
            if segment.start_s < previous.end_s && segment.label != previous.label {
                problems.push(
                    segment.place.clone(),
                    format!(
                        "segment {}–{} s `{}` overlaps {} ({}–{} s `{}`) with a different label",
                        segment.start_s,
                        segment.end_s,
                        segment.label,
                        previous.place,
                        previous.start_s,
                        previous.end_s,
                        previous.label
                    ),
                );
            }
            if segment.end_s <= previous.end_s {
                continue;
            }
        }
        reach = Some(segment);
    }
}

/// csv's deserialisation errors, without the position it repeats (the place says it).
struct DeserializeMessage<'a>(&'a csv::Error);

impl std::fmt::Display for DeserializeMessage<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.kind() {
            csv::ErrorKind::Deserialize { err, .. } => {
                let field = err.field().and_then(|i| SEGMENT_HEADER.get(i as usize));
                match field {
                    Some(name) => write!(f, "`{name}`: {}", err.kind()),
                    None => write!(f, "{}", err.kind()),
                }
            }
            _ => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_with(text: &str, videos: &[&str]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        for v in videos {
            std::fs::write(dir.path().join(v), b"").unwrap();
        }
        let path = dir.path().join("segments.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn problems_of(text: &str, videos: &[&str]) -> (Vec<LabelledVideo>, String) {
        let (_dir, path) = csv_with(text, videos);
        let mut problems = Problems::default();
        let videos = read_segments(&path, None, &mut problems);
        (videos, problems.to_string().replace(&path.display().to_string(), "S"))
    }

    #[test]
    fn segments_are_grouped_by_video_and_sorted() {
        let text = "video,start_s,end_s,label\nb.mp4,5,7,wave\na.mp4, 3 ,4,clap\na.mp4,0,2.5,wave\n";
        let (videos, problems) = problems_of(text, &["a.mp4", "b.mp4"]);
        assert_eq!(problems, "");
        assert_eq!(videos.len(), 2);
        let Labelling::Segments { segments, gap } = &videos[0].labelling else { panic!() };
        assert!(videos[0].path.ends_with("a.mp4") && gap.is_none());
        let got: Vec<(f64, f64, &str)> =
            segments.iter().map(|s| (s.start_s, s.end_s, s.label.as_str())).collect();
        assert_eq!(got, vec![(0.0, 2.5, "wave"), (3.0, 4.0, "clap")]);
        assert_eq!(segments[0].place.to_string().rsplit(' ').next(), Some("4"));
    }

    #[test]
    fn every_bad_line_is_named_and_the_good_ones_kept() {
        let text = "video,start_s,end_s,label\n\
                    a.mp4,0,2,wave\n\
                    missing.mp4,0,2,wave\n\
                    a.mp4,3,2,wave\n\
                    a.mp4,x,4,wave\n\
                    a.mp4,5,6,\n\
                    a.mp4,1,3,clap\n\
                    a.mp4,0.5,1.0,wave\n";
        let (videos, problems) = problems_of(text, &["a.mp4"]);
        let lines: Vec<&str> = problems.lines().collect();
        assert_eq!(lines.len(), 5, "{problems}");
        assert!(
            lines[0].starts_with("S line 3: video ") && lines[0].ends_with("missing.mp4 not found"),
            "{problems}"
        );
        assert_eq!(lines[1], "S line 4: `end_s` (2) must be after `start_s` (3)");
        assert!(lines[2].starts_with("S line 5: `start_s`:"), "{problems}");
        assert_eq!(lines[3], "S line 6: `label` is empty");
        assert_eq!(
            lines[4],
            "S line 7: segment 1–3 s `clap` overlaps S line 2 (0–2 s `wave`) with a different label"
        );
        let Labelling::Segments { segments, .. } = &videos[0].labelling else { panic!() };
        assert_eq!(segments.len(), 3, "the good lines are kept");
    }

    #[test]
    fn a_wrong_header_and_an_empty_file_are_named() {
        let (_, problems) = problems_of("file,start,end,label\na.mp4,0,1,x\n", &["a.mp4"]);
        assert_eq!(
            problems,
            "S line 1: the header must be `video,start_s,end_s,label`, not `file,start,end,label`"
        );
        let (_, problems) = problems_of("video,start_s,end_s,label\n", &[]);
        assert_eq!(problems, "S: holds no segments");
    }
}

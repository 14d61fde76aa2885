//! Where extracted windows go: raw bytes appended as they are cut (so memory stays flat however
//! long the videos), turned at the end into `windows.npy` (uint8 `[N,T,H,W,3]`, which numpy
//! memory-maps) and `index.csv`, one row per window.
//!
//! A video that fails halfway is rewound: its windows are cut off the raw file and the index, so
//! a skipped video leaves nothing behind.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use npyz::WriterBuilder;
use serde::Serialize;

use super::split::Split;

/// One window's place in its video and its label id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexRow {
    pub video: usize,
    pub first_frame: u64,
    pub last_frame: u64,
    pub start_s: f64,
    pub end_s: f64,
    pub label: u16,
}

/// A point to rewind to.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    rows: usize,
    bytes: u64,
}

/// The windows written so far.
pub struct WindowStore {
    raw_path: PathBuf,
    raw: BufWriter<File>,
    /// `[T,H,W,3]` of every window.
    window_shape: [u64; 4],
    bytes: Vec<u8>,
    rows: Vec<IndexRow>,
}

#[derive(Serialize)]
struct CsvRow<'a> {
    window: usize,
    video: &'a str,
    first_frame: u64,
    last_frame: u64,
    start_s: f64,
    end_s: f64,
    label: &'a str,
    split: &'static str,
}

impl WindowStore {
    /// Starts an empty store in `dir` for windows of `[T,H,W,3]` bytes.
    pub fn create(dir: &Path, window_shape: [u64; 4]) -> std::io::Result<Self> {
        let raw_path = dir.join("windows.raw");
        let raw = BufWriter::with_capacity(1 << 20, File::create(&raw_path)?);
        Ok(Self { raw_path, raw, window_shape, bytes: Vec::new(), rows: Vec::new() })
    }

    /// The raw file being written.
    pub fn path(&self) -> &Path {
        &self.raw_path
    }

    pub fn rows(&self) -> &[IndexRow] {
        &self.rows
    }

    pub fn mark(&self) -> Mark {
        Mark { rows: self.rows.len(), bytes: self.rows.len() as u64 * self.window_bytes() }
    }

    fn window_bytes(&self) -> u64 {
        self.window_shape.iter().product()
    }

    /// Appends a window whose values are bytes held as f32 (the identity preprocessor's).
    pub fn append(&mut self, values: &[f32], row: IndexRow) -> std::io::Result<()> {
        debug_assert_eq!(values.len() as u64, self.window_bytes());
        self.bytes.clear();
        self.bytes.extend(values.iter().map(|&v| v as u8));
        self.raw.write_all(&self.bytes)?;
        self.rows.push(row);
        Ok(())
    }

    /// Forgets everything written after `mark`.
    pub fn rewind(&mut self, mark: Mark) -> std::io::Result<()> {
        self.raw.flush()?;
        let file = self.raw.get_mut();
        file.set_len(mark.bytes)?;
        file.seek(SeekFrom::Start(mark.bytes))?;
        self.rows.truncate(mark.rows);
        Ok(())
    }

    /// Writes `windows.npy` and `index.csv` into `dir` and removes the raw file. `videos[v]`
    /// names video `v`, `splits[v]` is its side, `labels[l]` names label id `l`.
    pub fn finish(
        mut self,
        dir: &Path,
        videos: &[String],
        splits: &[Split],
        labels: &[String],
    ) -> std::io::Result<()> {
        self.raw.flush()?;
        let mut shape = vec![self.rows.len() as u64];
        shape.extend(self.window_shape);
        let mut npy = File::create(dir.join("windows.npy"))?;
        npyz::WriteOptions::<u8>::new().default_dtype().shape(&shape).writer(&mut npy).write_header_only()?;
        let mut raw = File::open(&self.raw_path)?;
        std::io::copy(&mut raw, &mut npy)?;
        npy.sync_all()?;
        drop(raw);
        std::fs::remove_file(&self.raw_path)?;
        let mut index = csv::Writer::from_path(dir.join("index.csv"))?;
        for (window, row) in self.rows.iter().enumerate() {
            index.serialize(CsvRow {
                window,
                video: &videos[row.video],
                first_frame: row.first_frame,
                last_frame: row.last_frame,
                start_s: row.start_s,
                end_s: row.end_s,
                label: &labels[row.label as usize],
                split: splits[row.video].name(),
            })?;
        }
        index.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(video: usize, label: u16) -> IndexRow {
        IndexRow { video, first_frame: 0, last_frame: 1, start_s: 0.0, end_s: 0.08, label }
    }

    #[test]
    fn a_rewound_video_leaves_nothing_and_the_npy_has_the_window_shape() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = WindowStore::create(dir.path(), [2, 1, 1, 3]).unwrap();
        store.append(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], row(0, 0)).unwrap();
        let mark = store.mark();
        store.append(&[9.0; 6], row(1, 1)).unwrap();
        store.rewind(mark).unwrap();
        store.append(&[255.0, 0.0, 7.0, 8.0, 9.0, 10.0], row(2, 1)).unwrap();
        let videos = ["a.mp4".to_owned(), "b.mp4".into(), "c.mp4".into()];
        store
            .finish(dir.path(), &videos, &[Split::Train, Split::Val, Split::Val], &["x".into(), "y".into()])
            .unwrap();
        assert!(!dir.path().join("windows.raw").exists());
        let bytes = std::fs::read(dir.path().join("windows.npy")).unwrap();
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(npy.shape(), &[2, 2, 1, 1, 3]);
        let values: Vec<u8> = npy.into_vec().unwrap();
        assert_eq!(values, vec![1, 2, 3, 4, 5, 6, 255, 0, 7, 8, 9, 10]);
        let index = std::fs::read_to_string(dir.path().join("index.csv")).unwrap();
        assert_eq!(
            index,
            "window,video,first_frame,last_frame,start_s,end_s,label,split\n\
             0,a.mp4,0,1,0.0,0.08,x,train\n1,c.mp4,0,1,0.0,0.08,y,val\n"
        );
    }
}

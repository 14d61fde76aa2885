//! Where extracted windows go: raw bytes appended as they are cut (so memory stays flat however
//! long the videos), turned at the end into `windows.npy` (uint8 `[N,T,H,W,3]`, which numpy
//! memory-maps) and `index.csv`, one row per window; with an encoder, also `embeddings.npy`
//! (float32 `[N,T,D]`, the encoder's output for every frame of every window).
//!
//! A video that fails halfway is rewound: its windows are cut off the raw files and the index,
//! so a skipped video leaves nothing behind.

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
}

/// One array of fixed-size items, appended to a raw file and finished as a `.npy`.
struct RawColumn {
    path: PathBuf,
    file: BufWriter<File>,
    /// Shape of one item (a window).
    item_shape: Vec<u64>,
    /// Bytes of one item.
    item_bytes: u64,
    bytes: Vec<u8>,
}

impl RawColumn {
    fn create(path: PathBuf, item_shape: Vec<u64>, value_bytes: u64) -> std::io::Result<Self> {
        let file = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        let item_bytes = item_shape.iter().product::<u64>() * value_bytes;
        Ok(Self { path, file, item_shape, item_bytes, bytes: Vec::new() })
    }

    fn write(&mut self, bytes: impl Iterator<Item = u8>) -> std::io::Result<()> {
        self.bytes.clear();
        self.bytes.extend(bytes);
        debug_assert_eq!(self.bytes.len() as u64, self.item_bytes);
        self.file.write_all(&self.bytes)
    }

    fn rewind(&mut self, items: usize) -> std::io::Result<()> {
        self.file.flush()?;
        let len = items as u64 * self.item_bytes;
        let file = self.file.get_mut();
        file.set_len(len)?;
        file.seek(SeekFrom::Start(len))?;
        Ok(())
    }

    /// Writes `items` items as `dir/name` (dtype of `T`, little-endian) and removes the raw file.
    fn finish<T: npyz::AutoSerialize>(mut self, dir: &Path, name: &str, items: u64) -> std::io::Result<()> {
        self.file.flush()?;
        let mut shape = vec![items];
        shape.extend(&self.item_shape);
        let mut npy = File::create(dir.join(name))?;
        npyz::WriteOptions::<T>::new().default_dtype().shape(&shape).writer(&mut npy).write_header_only()?;
        let mut raw = File::open(&self.path)?;
        std::io::copy(&mut raw, &mut npy)?;
        npy.sync_all()?;
        drop(raw);
        std::fs::remove_file(&self.path)
    }
}

/// The windows written so far.
pub struct WindowStore {
    /// Every window's bytes, `[T,H,W,3]`.
    pixels: RawColumn,
    /// Every window's embeddings, `[T,D]` float32, when an encoder runs.
    embeddings: Option<RawColumn>,
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
    /// Starts an empty store in `dir` for windows of `[T,H,W,3]` bytes and, with
    /// `embedding_shape` `[T,D]`, their embeddings.
    pub fn create(
        dir: &Path,
        window_shape: [u64; 4],
        embedding_shape: Option<[u64; 2]>,
    ) -> std::io::Result<Self> {
        let pixels = RawColumn::create(dir.join("windows.raw"), window_shape.to_vec(), 1)?;
        let embeddings = embedding_shape
            .map(|shape| RawColumn::create(dir.join("embeddings.raw"), shape.to_vec(), 4))
            .transpose()?;
        Ok(Self { pixels, embeddings, rows: Vec::new() })
    }

    /// The raw file of the windows being written.
    pub fn path(&self) -> &Path {
        &self.pixels.path
    }

    pub fn rows(&self) -> &[IndexRow] {
        &self.rows
    }

    pub fn mark(&self) -> Mark {
        Mark { rows: self.rows.len() }
    }

    /// Appends a window whose values are bytes held as f32 (the identity preprocessor's), with
    /// its embeddings when the store keeps them.
    pub fn append(
        &mut self,
        values: &[f32],
        embeddings: Option<&[f32]>,
        row: IndexRow,
    ) -> std::io::Result<()> {
        self.pixels.write(values.iter().map(|&v| v as u8))?;
        if let Some(column) = &mut self.embeddings {
            // A failed write fails the video, which is rewound as a whole (`rewind`).
            let values = embeddings.expect("a store with embeddings is given them with every window");
            column.write(values.iter().flat_map(|v| v.to_le_bytes()))?;
        }
        self.rows.push(row);
        Ok(())
    }

    /// Forgets everything written after `mark`.
    pub fn rewind(&mut self, mark: Mark) -> std::io::Result<()> {
        self.pixels.rewind(mark.rows)?;
        if let Some(column) = &mut self.embeddings {
            column.rewind(mark.rows)?;
        }
        self.rows.truncate(mark.rows);
        Ok(())
    }

    /// Writes `windows.npy` (and `embeddings.npy`) and `index.csv` into `dir` and removes the
    /// raw files. `videos[v]` names video `v`, `splits[v]` is its side, `labels[l]` names label
    /// id `l`.
    pub fn finish(
        self,
        dir: &Path,
        videos: &[String],
        splits: &[Split],
        labels: &[String],
    ) -> std::io::Result<()> {
        let n = self.rows.len() as u64;
        self.pixels.finish::<u8>(dir, "windows.npy", n)?;
        if let Some(column) = self.embeddings {
            column.finish::<f32>(dir, "embeddings.npy", n)?;
        }
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

    /// Finishes a store of rows from videos 0..3 (a train, b and c val) with labels x and y.
    fn finish(store: WindowStore, dir: &Path) {
        let videos = ["a.mp4".to_owned(), "b.mp4".into(), "c.mp4".into()];
        store
            .finish(dir, &videos, &[Split::Train, Split::Val, Split::Val], &["x".into(), "y".into()])
            .unwrap();
    }

    #[test]
    fn a_rewound_video_leaves_nothing_and_the_npy_has_the_window_shape() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = WindowStore::create(dir.path(), [2, 1, 1, 3], None).unwrap();
        store.append(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], None, row(0, 0)).unwrap();
        let mark = store.mark();
        store.append(&[9.0; 6], None, row(1, 1)).unwrap();
        store.rewind(mark).unwrap();
        store.append(&[255.0, 0.0, 7.0, 8.0, 9.0, 10.0], None, row(2, 1)).unwrap();
        finish(store, dir.path());
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

    #[test]
    fn embeddings_rewind_with_their_windows_and_finish_as_little_endian_float32() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = WindowStore::create(dir.path(), [1, 1, 1, 3], Some([1, 2])).unwrap();
        store.append(&[1.0, 2.0, 3.0], Some(&[0.5, -1.25]), row(0, 0)).unwrap();
        let mark = store.mark();
        store.append(&[4.0, 5.0, 6.0], Some(&[9.0, 9.0]), row(1, 0)).unwrap();
        store.rewind(mark).unwrap();
        store.append(&[7.0, 8.0, 9.0], Some(&[f32::MIN_POSITIVE, 3.0e7]), row(2, 1)).unwrap();
        finish(store, dir.path());
        assert!(!dir.path().join("embeddings.raw").exists());
        let bytes = std::fs::read(dir.path().join("embeddings.npy")).unwrap();
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(npy.shape(), &[2, 1, 2]);
        assert_eq!(npy.dtype().descr(), "'<f4'");
        let values: Vec<f32> = npy.into_vec().unwrap();
        assert_eq!(values, vec![0.5, -1.25, f32::MIN_POSITIVE, 3.0e7]);
        let pixels = std::fs::read(dir.path().join("windows.npy")).unwrap();
        let values: Vec<u8> = npyz::NpyFile::new(&pixels[..]).unwrap().into_vec().unwrap();
        assert_eq!(values, vec![1, 2, 3, 7, 8, 9]);
    }
}

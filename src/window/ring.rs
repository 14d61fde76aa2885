//! The per-stream ring buffer: the last T converted frames (or embeddings), copied out into a
//! window tensor every `stride` sampled frames.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::{EncodeFailure, FrameFeatures, WindowGeometry};
use crate::config::TailPolicy;
use crate::flow::{Frame, TensorPool, WallClock, Window, WindowMeta};

#[derive(Debug, Clone, Copy)]
struct SlotMeta {
    index: u64,
    start_ns: u64,
    end_ns: u64,
    arrival: Instant,
    wall: SystemTime,
}

/// Ring buffer of the last T converted frames (or embeddings) of one stream.
pub struct Windower {
    stream: Arc<str>,
    geometry: WindowGeometry,
    features: FrameFeatures,
    frame_len: usize,
    tensors: TensorPool,
    /// T slots of `frame_len` values each; slot `n % T` holds sampled frame n.
    slots: Vec<f32>,
    meta: Vec<Option<SlotMeta>>,
    /// Whether windows carry arrival times (live streams).
    wall_clock: bool,
    /// Sampled frames and windows since the last reset.
    sampled: u64,
    emitted: u64,
    covered_to: u64,
    /// Windows emitted before the last reset, so indices keep growing across resets.
    index_base: u64,
}

impl Windower {
    /// `wall_clock`: record arrival times in the windows (for live streams).
    pub fn new(
        stream: Arc<str>,
        geometry: WindowGeometry,
        features: FrameFeatures,
        wall_clock: bool,
    ) -> Self {
        let frame_len = features.len();
        let window_len = frame_len * geometry.length;
        // `emit` overwrites every value of a reused tensor: no clearing needed.
        let tensors = TensorPool::new(window_len);
        Self {
            stream,
            geometry,
            features,
            frame_len,
            tensors,
            slots: vec![0.0; frame_len * geometry.length],
            meta: vec![None; geometry.length],
            wall_clock,
            sampled: 0,
            emitted: 0,
            covered_to: 0,
            index_base: 0,
        }
    }

    /// Starts window indices at `first_index` (a stream restarted by a reload keeps counting).
    pub fn with_first_index(mut self, first_index: u64) -> Self {
        self.index_base = first_index;
        self
    }

    /// Gives back what the ring converted frames with (an encoder session outlives the ring
    /// of one video when `actiond dataset` cuts many).
    pub fn into_features(self) -> FrameFeatures {
        self.features
    }

    /// Whether the stream is live (its windows carry arrival times).
    pub fn is_live(&self) -> bool {
        self.wall_clock
    }

    /// The stream whose frames this ring holds.
    pub fn stream(&self) -> &Arc<str> {
        &self.stream
    }

    /// Windows emitted so far; also the index of the next window.
    pub fn emitted(&self) -> u64 {
        self.index_base + self.emitted
    }

    /// Forgets the frames in the ring after a discontinuity (a reconnection): the next window
    /// starts with the next frame. Window indices keep counting.
    pub fn reset(&mut self) {
        self.index_base += self.emitted;
        self.sampled = 0;
        self.emitted = 0;
        self.covered_to = 0;
    }

    /// Takes one decoded frame; returns a window when this frame completes one. A frame the
    /// encoder fails on is an error and a discontinuity: no window will span it.
    pub fn push(&mut self, frame: &Frame) -> Result<Option<Window>, EncodeFailure> {
        if !frame.index.is_multiple_of(self.geometry.frame_step as u64) {
            return Ok(None);
        }
        let t = self.geometry.length;
        let slot = (self.sampled % t as u64) as usize;
        let dst = &mut self.slots[slot * self.frame_len..(slot + 1) * self.frame_len];
        if let Err(error) = self.features.convert(&frame.pixels, dst) {
            let tail = self.finish().map(Box::new);
            self.reset();
            return Err(EncodeFailure { error, tail });
        }
        self.meta[slot] = Some(SlotMeta {
            index: frame.index,
            start_ns: frame.pts_ns,
            end_ns: frame.pts_ns + frame.duration_ns,
            arrival: frame.arrival,
            wall: frame.wall,
        });
        self.sampled += 1;
        let n = self.sampled;
        let (t64, s64) = (t as u64, self.geometry.stride as u64);
        Ok((n >= t64 && (n - t64).is_multiple_of(s64)).then(|| self.emit(n - t64, t)))
    }

    /// Ends the stream: returns the padded tail window if the policy asks for one.
    pub fn finish(&mut self) -> Option<Window> {
        if self.geometry.tail != TailPolicy::Pad {
            return None;
        }
        let next_start = self.emitted * self.geometry.stride as u64;
        if self.sampled <= self.covered_to || next_start >= self.sampled {
            return None;
        }
        let real = (self.sampled - next_start) as usize;
        Some(self.emit(next_start, real))
    }

    /// Copies sampled frames `first .. first + real` (all still in the ring) into a window,
    /// repeating the last of them up to T frames.
    fn emit(&mut self, first: u64, real: usize) -> Window {
        let t = self.geometry.length;
        let slot_of = |k: usize| ((first + k.min(real - 1) as u64) % t as u64) as usize;
        let mut data = self.tensors.take();
        match self.features.planes() {
            None => {
                for (k, dst) in data.chunks_exact_mut(self.frame_len).enumerate() {
                    let s = slot_of(k);
                    dst.copy_from_slice(&self.slots[s * self.frame_len..(s + 1) * self.frame_len]);
                }
            }
            Some(planes) => {
                let plane = self.frame_len / planes;
                for (ck, dst) in data.chunks_exact_mut(plane).enumerate() {
                    let (c, k) = (ck / t, ck % t);
                    let src = slot_of(k) * self.frame_len + c * plane;
                    dst.copy_from_slice(&self.slots[src..src + plane]);
                }
            }
        }
        let first_meta = self.meta[slot_of(0)].expect("every slot of a window was filled");
        let last_meta = self.meta[slot_of(real - 1)].expect("every slot of a window was filled");
        let clock = self.wall_clock.then(|| WallClock {
            start: first_meta.wall,
            end: last_meta.wall + Duration::from_nanos(last_meta.end_ns - last_meta.start_ns),
            last_arrival: last_meta.arrival,
        });
        let window = Window {
            meta: WindowMeta {
                stream: self.stream.clone(),
                index: self.index_base + self.emitted,
                first_frame: first_meta.index,
                last_frame: last_meta.index,
                padded: t - real,
                start_ns: first_meta.start_ns,
                end_ns: last_meta.end_ns,
                clock,
            },
            data,
        };
        self.emitted += 1;
        self.covered_to = first + real as u64;
        window
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ChannelOrder;
    use crate::model::{PreprocessSettings, Preprocessor, TensorLayout};

    const W: usize = 2;
    const H: usize = 1;

    fn preprocessor() -> Arc<Preprocessor> {
        Arc::new(Preprocessor::new(
            &PreprocessSettings {
                scale: 1.0,
                mean: [0.0; 3],
                std: [1.0; 3],
                channel_order: ChannelOrder::Rgb,
            },
            W,
            H,
        ))
    }

    fn pixels(layout: TensorLayout) -> FrameFeatures {
        FrameFeatures::Pixels { preprocessor: preprocessor(), layout }
    }

    /// Frame i has every byte equal to i (mod 256) but channel c adds 100·c, so copies can be traced.
    fn frame(i: u64) -> Frame {
        let pixels =
            (0..W * H).flat_map(|_| (0..3u8).map(move |c| (i as u8).wrapping_add(100 * c))).collect();
        Frame {
            time_jump: None,
            index: i,
            pts_ns: i * 40_000_000,
            duration_ns: 40_000_000,
            pixels,
            arrival: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    fn run(geometry: WindowGeometry, frames: u64, layout: TensorLayout) -> Vec<Window> {
        let mut w = Windower::new("s".into(), geometry, pixels(layout), false);
        let mut out: Vec<Window> = (0..frames).filter_map(|i| w.push(&frame(i)).unwrap()).collect();
        out.extend(w.finish());
        assert_eq!(out.len() as u64, geometry.window_count(frames), "{geometry:?} frames={frames}");
        out
    }

    fn geometry(length: usize, stride: usize, frame_step: usize, tail: TailPolicy) -> WindowGeometry {
        WindowGeometry { length, stride, frame_step, tail }
    }

    fn ranges(ws: &[Window]) -> Vec<(u64, u64, usize)> {
        ws.iter().map(|w| (w.meta.first_frame, w.meta.last_frame, w.meta.padded)).collect()
    }

    #[test]
    fn overlapping_windows_every_stride() {
        let ws = run(geometry(4, 2, 1, TailPolicy::Drop), 9, TensorLayout::Thwc);
        assert_eq!(ranges(&ws), vec![(0, 3, 0), (2, 5, 0), (4, 7, 0)]);
        assert_eq!(ws.iter().map(|w| w.meta.index).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!((ws[1].meta.start_ns, ws[1].meta.end_ns), (80_000_000, 240_000_000));
    }

    #[test]
    fn stride_one_gives_a_window_per_frame_after_the_first_t() {
        let ws = run(geometry(3, 1, 1, TailPolicy::Drop), 6, TensorLayout::Thwc);
        assert_eq!(ranges(&ws), vec![(0, 2, 0), (1, 3, 0), (2, 4, 0), (3, 5, 0)]);
    }

    #[test]
    fn stride_longer_than_t_skips_frames_between_windows() {
        let ws = run(geometry(2, 5, 1, TailPolicy::Drop), 12, TensorLayout::Thwc);
        assert_eq!(ranges(&ws), vec![(0, 1, 0), (5, 6, 0), (10, 11, 0)]);
    }

    #[test]
    fn frame_step_samples_before_the_ring() {
        let ws = run(geometry(3, 3, 2, TailPolicy::Drop), 13, TensorLayout::Thwc);
        assert_eq!(ranges(&ws), vec![(0, 4, 0), (6, 10, 0)]);
        // The window holds frames 6, 8, 10: red channel values.
        let reds: Vec<f32> = ws[1].data.chunks(3 * W * H).map(|f| f[0]).collect();
        assert_eq!(reds, vec![6.0, 8.0, 10.0]);
    }

    #[test]
    fn short_stream_gives_no_window_when_dropping() {
        assert!(run(geometry(10, 5, 1, TailPolicy::Drop), 7, TensorLayout::Thwc).is_empty());
    }

    #[test]
    fn short_stream_gives_one_padded_window_when_padding() {
        let ws = run(geometry(10, 5, 1, TailPolicy::Pad), 7, TensorLayout::Thwc);
        assert_eq!(ranges(&ws), vec![(0, 6, 3)]);
        let reds: Vec<f32> = ws[0].data.chunks(3 * W * H).map(|f| f[0]).collect();
        assert_eq!(reds, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 6.0, 6.0, 6.0]);
    }

    #[test]
    fn tail_after_full_windows_is_padded_from_the_next_stride_position() {
        let ws = run(geometry(4, 2, 1, TailPolicy::Pad), 9, TensorLayout::Thwc);
        assert_eq!(ranges(&ws), vec![(0, 3, 0), (2, 5, 0), (4, 7, 0), (6, 8, 1)]);
        assert_eq!(ws[3].meta.index, 3);
    }

    #[test]
    fn no_tail_window_when_the_last_frame_is_covered() {
        let ws = run(geometry(4, 2, 1, TailPolicy::Pad), 8, TensorLayout::Thwc);
        assert_eq!(ranges(&ws), vec![(0, 3, 0), (2, 5, 0), (4, 7, 0)]);
    }

    #[test]
    fn no_tail_window_inside_a_stride_gap() {
        // Windows at 0..2 and 5..7; frames 7, 8 lie before the next start (10): nothing to pad.
        let ws = run(geometry(2, 5, 1, TailPolicy::Pad), 9, TensorLayout::Thwc);
        assert_eq!(ranges(&ws), vec![(0, 1, 0), (5, 6, 0)]);
    }

    #[test]
    fn planar_layout_groups_each_channel_over_time() {
        let ws = run(geometry(2, 2, 1, TailPolicy::Drop), 4, TensorLayout::Cthw);
        // [C][T][H*W] for frames 2 and 3.
        let expected: Vec<f32> =
            [2.0, 2.0, 3.0, 3.0, 102.0, 102.0, 103.0, 103.0, 202.0, 202.0, 203.0, 203.0].to_vec();
        assert_eq!(&ws[1].data[..], expected);
    }

    #[test]
    fn reset_starts_a_new_ring_and_keeps_counting_windows() {
        let mut w =
            Windower::new("s".into(), geometry(3, 3, 1, TailPolicy::Drop), pixels(TensorLayout::Thwc), true);
        let before: Vec<Window> = (0..4).filter_map(|i| w.push(&frame(i)).unwrap()).collect();
        w.reset();
        // Frames 4 and 5 alone do not make a window: the ring was emptied.
        assert!(w.push(&frame(4)).unwrap().is_none() && w.push(&frame(5)).unwrap().is_none());
        let after = w.push(&frame(6)).unwrap().expect("three frames after the reset");
        assert_eq!(before.len(), 1);
        assert_eq!((after.meta.index, after.meta.first_frame, after.meta.last_frame), (1, 4, 6));
        let clock = after.meta.clock.expect("wall clock requested");
        assert!(clock.end > clock.start);
        assert_eq!(w.emitted(), 2);
    }

    #[test]
    fn reused_tensors_are_wholly_overwritten() {
        // Reference: every window held, so each has a fresh tensor.
        let g = geometry(3, 2, 1, TailPolicy::Pad);
        for layout in [TensorLayout::Thwc, TensorLayout::Cthw] {
            let fresh: Vec<Vec<f32>> = run(g, 10, layout).iter().map(|w| w.data.to_vec()).collect();
            // Each window dropped before the next: one tensor goes round and round.
            let mut w = Windower::new("s".into(), g, pixels(layout), false);
            let (mut reused, mut addresses) = (Vec::new(), std::collections::HashSet::new());
            for i in 0..10 {
                if let Some(window) = w.push(&frame(i)).unwrap() {
                    addresses.insert(window.data.as_ptr() as usize);
                    reused.push(window.data.to_vec());
                }
            }
            let tail = w.finish().expect("a padded tail window");
            addresses.insert(tail.data.as_ptr() as usize);
            reused.push(tail.data.to_vec());
            assert_eq!(addresses.len(), 1, "{layout:?}: dropped tensors are reused");
            assert_eq!(reused, fresh, "{layout:?}");
        }
    }

    #[test]
    fn interleaved_layout_keeps_pixels_together() {
        let ws = run(geometry(1, 1, 1, TailPolicy::Drop), 1, TensorLayout::Thwc);
        assert_eq!(&ws[0].data[..], [0.0, 100.0, 200.0, 0.0, 100.0, 200.0]);
    }
}

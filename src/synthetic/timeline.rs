//! A sequence of action segments with its per-frame ground truth.

use rand::Rng;
use rand::seq::SliceRandom;
use serde::Serialize;

use super::scene::Action;

/// One action over a range of frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub label: &'static str,
    #[serde(skip)]
    pub action: Action,
    /// First frame of the segment.
    pub start_frame: u64,
    /// One past the last frame of the segment.
    pub end_frame: u64,
}

/// The ground truth of a synthetic video.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub frames: u64,
    pub segments: Vec<Segment>,
}

impl Timeline {
    /// `count` segments of 2–4 s; every action appears before any repeats.
    pub fn random(count: usize, fps: u32, width: u32, height: u32, rng: &mut impl Rng) -> Self {
        let mut order = Vec::with_capacity(count);
        while order.len() < count {
            let mut round = Action::ALL;
            round.shuffle(rng);
            order.extend(round);
        }
        order.truncate(count);
        Self::of(&order, fps, width, height, rng)
    }

    /// One segment of 2–4 s per action, in the given order.
    pub fn of(actions: &[Action], fps: u32, width: u32, height: u32, rng: &mut impl Rng) -> Self {
        let mut start = 0;
        let segments = actions
            .iter()
            .copied()
            .map(|action| {
                let frames = rng.random_range(2 * fps..=4 * fps) as u64;
                let segment =
                    Segment { label: action.label(), action, start_frame: start, end_frame: start + frames };
                start += frames;
                segment
            })
            .collect();
        Self { width, height, fps, frames: start, segments }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn segments_are_contiguous_and_cover_every_action() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let t = Timeline::random(10, 25, 320, 240, &mut rng);
        assert_eq!(t.segments[0].start_frame, 0);
        for pair in t.segments.windows(2) {
            assert_eq!(pair[0].end_frame, pair[1].start_frame);
        }
        for s in &t.segments {
            assert!((50..=100).contains(&(s.end_frame - s.start_frame)));
        }
        let mut first8: Vec<_> = t.segments[..8].iter().map(|s| s.label).collect();
        first8.sort();
        first8.dedup();
        assert_eq!(first8.len(), 8);
        assert_eq!(t.frames, t.segments.last().unwrap().end_frame);
    }
}

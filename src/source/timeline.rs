//! Keeps a stream's times monotonic when the input's own timestamps jump: a camera whose
//! clock resets, a file spliced from two recordings, a muxer that wrapped. Frames are never
//! dropped or reordered for it; only their times are placed.
//!
//! A step backwards (a frame earlier than the one before) re-bases the input from there on so
//! that the stream goes on where it was going; a step forwards is a gap in the recording and is
//! kept. Either is reported (a [`TimeJump`] on the frame) when it is at least
//! [`REPORTED_JUMP_NS`]: smaller steps backwards are corrected silently, smaller gaps are
//! ordinary variable frame rate or lost frames.
//!
//! A frame whose duration is unknown (no duration, no nominal frame rate: variable-frame-rate
//! Matroska, some RTP payloads) is given the interval since the frame before, so a window's end
//! is an estimate of when its last frame is replaced, not its start plus nothing.

use crate::flow::TimeJump;

/// Jumps at least this large (either way) are reported; 5 s is far beyond any frame interval
/// a camera or a variable-frame-rate file uses, and far below the minutes of a clock reset.
pub(super) const REPORTED_JUMP_NS: u64 = 5_000_000_000;

/// Where the next frame goes, and what is added to the input's times.
#[derive(Debug, Default)]
pub(super) struct Timeline {
    offset_ns: i64,
    last_ns: Option<u64>,
    next_ns: u64,
    /// The interval between the last two frames (not across a jump).
    last_interval_ns: u64,
}

impl Timeline {
    /// The stream time of a frame whose input time is `input_ns` (None: the input gave none, so
    /// it follows the frame before), and how long it is shown (`duration_ns`, or None when
    /// unknown: the interval since the frame before); and the jump it made, if reported.
    pub fn place(&mut self, input_ns: Option<u64>, duration_ns: Option<u64>) -> (u64, u64, Option<TimeJump>) {
        let expected = self.next_ns;
        let (pts, jump) = match (input_ns, self.last_ns) {
            (None, _) => (expected, None),
            (Some(input), last) => {
                let shifted = shifted(input, self.offset_ns);
                match last {
                    Some(last) if shifted < last => {
                        self.offset_ns = (i128::from(expected) - i128::from(input))
                            .clamp(i64::MIN.into(), i64::MAX.into())
                            as i64;
                        let jump = (expected - shifted >= REPORTED_JUMP_NS).then_some(TimeJump {
                            from_ns: expected,
                            to_ns: input,
                            offset_ns: self.offset_ns,
                        });
                        (expected, jump)
                    }
                    Some(_) if shifted >= expected.saturating_add(REPORTED_JUMP_NS) => (
                        shifted,
                        Some(TimeJump { from_ns: expected, to_ns: input, offset_ns: self.offset_ns }),
                    ),
                    _ => (shifted, None),
                }
            }
        };
        let duration_ns = duration_ns.unwrap_or_else(|| match (jump, self.last_ns) {
            (None, Some(last)) => pts.saturating_sub(last),
            _ => self.last_interval_ns,
        });
        self.last_interval_ns =
            self.last_ns.filter(|_| jump.is_none()).map_or(self.last_interval_ns, |l| pts - l);
        self.last_ns = Some(pts);
        self.next_ns = pts.saturating_add(duration_ns);
        (pts, duration_ns, jump)
    }
}

fn shifted(input_ns: u64, offset_ns: i64) -> u64 {
    (i128::from(input_ns) + i128::from(offset_ns)).clamp(0, u64::MAX.into()) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: u64 = 40_000_000;

    fn place_all(timeline: &mut Timeline, inputs: &[u64]) -> Vec<(u64, Option<TimeJump>)> {
        inputs
            .iter()
            .map(|&t| {
                let (pts, _, jump) = timeline.place(Some(t), Some(FRAME));
                (pts, jump)
            })
            .collect()
    }

    #[test]
    fn steady_times_pass_through() {
        let mut t = Timeline::default();
        let placed = place_all(&mut t, &[0, FRAME, 2 * FRAME]);
        assert_eq!(placed, vec![(0, None), (FRAME, None), (2 * FRAME, None)]);
    }

    #[test]
    fn a_jump_backwards_goes_on_from_where_the_stream_was_and_is_reported() {
        let minutes = 180 * 1_000_000_000;
        let mut t = Timeline::default();
        let placed = place_all(&mut t, &[minutes, minutes + FRAME, 0, FRAME]);
        let expected_jump =
            TimeJump { from_ns: minutes + 2 * FRAME, to_ns: 0, offset_ns: (minutes + 2 * FRAME) as i64 };
        assert_eq!(placed[2], (minutes + 2 * FRAME, Some(expected_jump)));
        assert_eq!(placed[3], (minutes + 3 * FRAME, None), "the offset stays");
    }

    #[test]
    fn a_jump_forwards_is_kept_as_a_gap_and_reported() {
        let mut t = Timeline::default();
        let gap = 180 * 1_000_000_000;
        let placed = place_all(&mut t, &[0, FRAME, gap, gap + FRAME]);
        assert_eq!(placed[2], (gap, Some(TimeJump { from_ns: 2 * FRAME, to_ns: gap, offset_ns: 0 })));
        assert_eq!(placed[3], (gap + FRAME, None));
    }

    #[test]
    fn small_irregularities_are_not_reported() {
        let mut t = Timeline::default();
        // Variable frame rate (a 2 s gap), then a small step backwards, corrected silently.
        let placed = place_all(&mut t, &[0, 2_000_000_000, 1_990_000_000]);
        assert_eq!(placed[1], (2_000_000_000, None));
        assert_eq!(placed[2], (2_000_000_000 + FRAME, None), "monotonic even for a small step back");
        assert!(placed.iter().all(|(_, jump)| jump.is_none()));
    }

    #[test]
    fn frames_without_a_time_follow_the_one_before() {
        let mut t = Timeline::default();
        assert_eq!(t.place(Some(FRAME), Some(FRAME)), (FRAME, FRAME, None));
        assert_eq!(t.place(None, Some(FRAME)), (2 * FRAME, FRAME, None));
    }

    #[test]
    fn an_unknown_duration_is_the_interval_since_the_frame_before() {
        // Regression: variable-frame-rate Matroska gave frames no duration, and a window's end
        // was its last frame's start plus a nanosecond.
        let mut t = Timeline::default();
        assert_eq!(t.place(Some(0), None), (0, 0, None));
        assert_eq!(t.place(Some(60_000_000), None), (60_000_000, 60_000_000, None));
        assert_eq!(t.place(Some(80_000_000), None), (80_000_000, 20_000_000, None));
        // Across a reported jump the interval before it is kept, not the jump.
        let (pts, duration, jump) = t.place(Some(100 * 1_000_000_000), None);
        assert!(jump.is_some());
        assert_eq!((pts, duration), (100 * 1_000_000_000, 20_000_000));
    }

    #[test]
    fn hostile_times_and_durations_do_not_overflow() {
        // Defect pinned (review): a duration of 2^63 ns, or a time past i64::MAX, overflowed
        // the arithmetic (a panic in a debug build, garbage offsets in a release one).
        let mut t = Timeline::default();
        t.place(Some(u64::MAX - 5), Some(u64::MAX));
        let (pts, _, jump) = t.place(Some(0), Some(FRAME));
        assert_eq!(pts, u64::MAX, "the timeline stays where it was, saturated");
        assert!(jump.is_some());
        let (pts, _, _) = t.place(Some(u64::MAX), None);
        assert_eq!(pts, u64::MAX);
    }
}

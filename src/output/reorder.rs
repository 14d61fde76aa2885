//! Per-stream reordering: workers finish out of order, events must not. Status events wait
//! until every window cut before them has been released, so a `stream_down` never overtakes
//! the labels of the frames that came before the drop.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use crate::flow::{Slot, StageMessage};

/// Holds items until all earlier windows of the same stream have been released.
#[derive(Debug, Default)]
pub struct Reorderer {
    streams: HashMap<Arc<str>, StreamQueue>,
}

#[derive(Debug, Default)]
struct StreamQueue {
    next: u64,
    waiting: BTreeMap<u64, StageMessage>,
    /// Status messages and the window index they follow.
    statuses: VecDeque<(u64, StageMessage)>,
}

impl StreamQueue {
    fn release(&mut self, ready: &mut Vec<StageMessage>) {
        loop {
            if let Some((after, _)) = self.statuses.front()
                && *after <= self.next
            {
                let (_, status) = self.statuses.pop_front().expect("front exists");
                ready.push(status);
                continue;
            }
            match self.waiting.remove(&self.next) {
                Some(item) => {
                    self.next += 1;
                    ready.push(item);
                }
                None => break,
            }
        }
    }
}

impl Reorderer {
    /// Accepts any message; returns what is now ready, in order. A prediction or a dropped
    /// window waits for the stream's earlier windows; a status waits for the windows it follows.
    pub fn push(&mut self, message: StageMessage) -> Vec<StageMessage> {
        let Some((stream, slot)) = message.slot() else {
            return vec![message];
        };
        let queue = self.streams.entry(stream.clone()).or_default();
        match slot {
            Slot::Window(index) => {
                queue.waiting.insert(index, message);
            }
            Slot::AfterWindows(after) => queue.statuses.push_back((after, message)),
        }
        let mut ready = Vec::new();
        queue.release(&mut ready);
        ready
    }

    /// Releases whatever is still held (only after a gap that will never be filled), in order.
    pub fn drain(&mut self) -> Vec<StageMessage> {
        let mut out = Vec::new();
        for (_, queue) in self.streams.drain() {
            let mut items: Vec<(u64, bool, StageMessage)> =
                queue.waiting.into_iter().map(|(index, item)| (index, true, item)).collect();
            items.extend(queue.statuses.into_iter().map(|(after, s)| (after, false, s)));
            // Stable: a status placed after window n comes before the item with index n.
            items.sort_by_key(|(k, is_window, _)| (*k, *is_window));
            out.extend(items.into_iter().map(|(_, _, item)| item));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    use crate::flow::{FailureReason, Prediction, StatusEvent, StreamStatus, WindowMeta};

    fn meta(stream: &str, index: u64) -> WindowMeta {
        WindowMeta::placeholder(stream, index)
    }

    fn prediction(stream: &str, index: u64) -> StageMessage {
        StageMessage::Prediction(Prediction { meta: meta(stream, index), outcome: Ok(vec![1.0]) })
    }

    fn describe(items: &[StageMessage]) -> Vec<String> {
        items
            .iter()
            .map(|r| match r {
                StageMessage::Prediction(p) => format!("p{}", p.meta.index),
                StageMessage::Dropped(m) => format!("d{}", m.index),
                StageMessage::Status { event, .. } => event.kind.as_str().to_owned(),
                StageMessage::Roster(ids) => format!("roster {ids:?}"),
            })
            .collect()
    }

    fn down(stream: &str, after_windows: u64) -> StageMessage {
        let status = StreamStatus::Down { reason: FailureReason::Eos };
        let event = StatusEvent::new(stream, &status, SystemTime::now(), true);
        StageMessage::Status { stream: stream.into(), after_windows, event }
    }

    #[test]
    fn releases_in_order_per_stream() {
        let mut r = Reorderer::default();
        assert!(r.push(prediction("a", 1)).is_empty());
        assert_eq!(describe(&r.push(prediction("b", 0))), ["p0"]);
        assert!(r.push(prediction("a", 2)).is_empty());
        assert_eq!(describe(&r.push(prediction("a", 0))), ["p0", "p1", "p2"]);
        assert_eq!(describe(&r.push(prediction("a", 3))), ["p3"]);
    }

    #[test]
    fn dropped_windows_fill_the_gap() {
        let mut r = Reorderer::default();
        assert!(r.push(prediction("a", 1)).is_empty());
        assert_eq!(describe(&r.push(StageMessage::Dropped(meta("a", 0)))), ["d0", "p1"]);
    }

    #[test]
    fn status_waits_for_the_windows_before_it() {
        let mut r = Reorderer::default();
        assert!(r.push(down("a", 2)).is_empty());
        assert_eq!(describe(&r.push(prediction("a", 0))), ["p0"]);
        assert_eq!(describe(&r.push(prediction("a", 1))), ["p1", "stream_down"]);
        assert_eq!(describe(&r.push(down("a", 2))), ["stream_down"]);
    }

    #[test]
    fn a_roster_waits_for_nothing() {
        let mut r = Reorderer::default();
        assert!(r.push(prediction("a", 1)).is_empty());
        assert_eq!(describe(&r.push(StageMessage::Roster(vec!["a".into()]))), ["roster [\"a\"]"]);
    }

    #[test]
    fn drain_returns_held_items_in_order() {
        let mut r = Reorderer::default();
        r.push(prediction("a", 3));
        r.push(down("a", 3));
        r.push(prediction("a", 2));
        assert_eq!(describe(&r.drain()), ["p2", "stream_down", "p3"]);
    }
}

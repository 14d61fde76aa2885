//! Per-stream reordering: workers finish out of order, events must not. Status events wait
//! until every window cut before them has been released, so a `stream_down` never overtakes
//! the labels of the frames that came before the drop.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use crate::infer::Prediction;
use crate::output::StatusEvent;
use crate::window::WindowMeta;

/// What comes out of the reorderer, in order per stream.
#[derive(Debug, Clone)]
pub enum Released {
    Prediction(Prediction),
    /// A window that was dropped before inference (live backpressure).
    Dropped(WindowMeta),
    Status(StatusEvent),
}

/// Holds items until all earlier windows of the same stream have been released.
#[derive(Debug, Default)]
pub struct Reorderer {
    streams: HashMap<Arc<str>, StreamQueue>,
}

#[derive(Debug, Default)]
struct StreamQueue {
    next: u64,
    waiting: BTreeMap<u64, Released>,
    /// Status events and the window index they follow.
    statuses: VecDeque<(u64, StatusEvent)>,
}

impl StreamQueue {
    fn release(&mut self, ready: &mut Vec<Released>) {
        loop {
            if let Some((after, _)) = self.statuses.front()
                && *after <= self.next
            {
                let (_, status) = self.statuses.pop_front().expect("front exists");
                ready.push(Released::Status(status));
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
    /// Accepts a prediction or a dropped window; returns what is now ready, in order.
    pub fn push(&mut self, item: Released) -> Vec<Released> {
        let (stream, index) = match &item {
            Released::Prediction(p) => (p.meta.stream.clone(), p.meta.index),
            Released::Dropped(meta) => (meta.stream.clone(), meta.index),
            Released::Status(_) => unreachable!("status events go through push_status"),
        };
        let queue = self.streams.entry(stream).or_default();
        queue.waiting.insert(index, item);
        let mut ready = Vec::new();
        queue.release(&mut ready);
        ready
    }

    /// Accepts a status event that follows the stream's first `after_windows` windows.
    pub fn push_status(
        &mut self,
        stream: &Arc<str>,
        after_windows: u64,
        status: StatusEvent,
    ) -> Vec<Released> {
        let queue = self.streams.entry(stream.clone()).or_default();
        queue.statuses.push_back((after_windows, status));
        let mut ready = Vec::new();
        queue.release(&mut ready);
        ready
    }

    /// Releases whatever is still held (only after a gap that will never be filled), in order.
    pub fn drain(&mut self) -> Vec<Released> {
        let mut out = Vec::new();
        for (_, mut queue) in self.streams.drain() {
            let mut items: Vec<(u64, Released)> = queue.waiting.into_iter().collect();
            items.extend(queue.statuses.drain(..).map(|(after, s)| (after, Released::Status(s))));
            // Stable: a status placed after window n comes after the item with index n - 1.
            items.sort_by_key(|(k, item)| (*k, !matches!(item, Released::Status(_))));
            out.extend(items.into_iter().map(|(_, item)| item));
            queue.waiting = BTreeMap::new();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    use crate::source::supervisor::StreamStatus;

    fn meta(stream: &str, index: u64) -> WindowMeta {
        WindowMeta::placeholder(stream, index)
    }

    fn prediction(stream: &str, index: u64) -> Released {
        Released::Prediction(Prediction { meta: meta(stream, index), outcome: Ok(vec![1.0]) })
    }

    fn describe(items: &[Released]) -> Vec<String> {
        items
            .iter()
            .map(|r| match r {
                Released::Prediction(p) => format!("p{}", p.meta.index),
                Released::Dropped(m) => format!("d{}", m.index),
                Released::Status(s) => s.kind.to_owned(),
            })
            .collect()
    }

    fn down(stream: &str) -> StatusEvent {
        StatusEvent::new(stream, &StreamStatus::Down { reason: "x".into() }, SystemTime::now())
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
        assert_eq!(describe(&r.push(Released::Dropped(meta("a", 0)))), ["d0", "p1"]);
    }

    #[test]
    fn status_waits_for_the_windows_before_it() {
        let mut r = Reorderer::default();
        let a: Arc<str> = "a".into();
        assert!(r.push_status(&a, 2, down("a")).is_empty());
        assert_eq!(describe(&r.push(prediction("a", 0))), ["p0"]);
        assert_eq!(describe(&r.push(prediction("a", 1))), ["p1", "stream_down"]);
        assert_eq!(describe(&r.push_status(&a, 2, down("a"))), ["stream_down"]);
    }

    #[test]
    fn drain_returns_held_items_in_order() {
        let mut r = Reorderer::default();
        r.push(prediction("a", 3));
        r.push_status(&"a".into(), 3, down("a"));
        r.push(prediction("a", 2));
        assert_eq!(describe(&r.drain()), ["p2", "stream_down", "p3"]);
    }
}

//! Per-stream reordering: workers finish out of order, events must not.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::infer::Prediction;

/// Holds predictions until all earlier windows of the same stream have been released.
#[derive(Debug, Default)]
pub struct Reorderer {
    streams: HashMap<Arc<str>, StreamQueue>,
}

#[derive(Debug, Default)]
struct StreamQueue {
    next: u64,
    waiting: BTreeMap<u64, Prediction>,
}

impl Reorderer {
    /// Accepts one prediction; returns those now ready, in window order.
    pub fn push(&mut self, prediction: Prediction) -> Vec<Prediction> {
        let queue = self.streams.entry(prediction.meta.stream.clone()).or_default();
        queue.waiting.insert(prediction.meta.index, prediction);
        let mut ready = Vec::new();
        while let Some(p) = queue.waiting.remove(&queue.next) {
            queue.next += 1;
            ready.push(p);
        }
        ready
    }

    /// Releases whatever is still held (only after a gap that will never be filled), in order.
    pub fn drain(&mut self) -> Vec<Prediction> {
        self.streams.drain().flat_map(|(_, q)| q.waiting.into_values()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::WindowMeta;

    fn prediction(stream: &str, index: u64) -> Prediction {
        Prediction {
            meta: WindowMeta {
                stream: stream.into(),
                index,
                first_frame: 0,
                last_frame: 0,
                padded: 0,
                start_ns: 0,
                end_ns: 0,
            },
            outcome: Ok(vec![1.0]),
        }
    }

    fn indices(ps: &[Prediction]) -> Vec<u64> {
        ps.iter().map(|p| p.meta.index).collect()
    }

    #[test]
    fn releases_in_order_per_stream() {
        let mut r = Reorderer::default();
        assert!(r.push(prediction("a", 1)).is_empty());
        assert_eq!(indices(&r.push(prediction("b", 0))), [0]);
        assert!(r.push(prediction("a", 2)).is_empty());
        assert_eq!(indices(&r.push(prediction("a", 0))), [0, 1, 2]);
        assert_eq!(indices(&r.push(prediction("a", 3))), [3]);
    }

    #[test]
    fn drain_returns_held_predictions_in_order() {
        let mut r = Reorderer::default();
        r.push(prediction("a", 3));
        r.push(prediction("a", 2));
        assert_eq!(indices(&r.drain()), [2, 3]);
    }
}

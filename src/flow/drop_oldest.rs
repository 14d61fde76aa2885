//! The lossy edge between two stages: a bounded channel whose sender never blocks, making room
//! by taking out the oldest item. Live streams use it so that a slow stage behind them costs the
//! oldest data, never the decoder's pace; the newest item is always kept.

use crossbeam_channel::{Receiver, Sender, TrySendError};

/// The sending end of a bounded channel that drops its oldest item when full.
#[derive(Debug)]
pub struct DropOldest<T> {
    queue: Sender<T>,
    /// The channel's own receiving end, to take the oldest item out.
    oldest: Receiver<T>,
}

impl<T> Clone for DropOldest<T> {
    fn clone(&self) -> Self {
        Self { queue: self.queue.clone(), oldest: self.oldest.clone() }
    }
}

impl<T> DropOldest<T> {
    /// Both ends of one bounded channel.
    pub fn new(queue: Sender<T>, oldest: Receiver<T>) -> Self {
        Self { queue, oldest }
    }

    /// Queues `item` without blocking; every item taken out to make room is handed to
    /// `dropped`. Gives the item back when the channel is disconnected.
    pub fn send(&self, item: T, mut dropped: impl FnMut(T)) -> Result<(), T> {
        let mut item = item;
        loop {
            match self.queue.try_send(item) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(back)) => return Err(back),
                Err(TrySendError::Full(back)) => {
                    item = back;
                    // Another receiver may have emptied a slot meanwhile: then just retry.
                    if let Ok(old) = self.oldest.try_recv() {
                        dropped(old);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_and_hands_out_the_oldest() {
        let (tx, rx) = crossbeam_channel::bounded(2);
        let edge = DropOldest::new(tx, rx.clone());
        let mut dropped = Vec::new();
        for i in 0..5 {
            edge.send(i, |old| dropped.push(old)).unwrap();
        }
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), [3, 4]);
        assert_eq!(dropped, [0, 1, 2]);
    }
}

//! The two window queues in front of the workers.
//!
//! Files go through a blocking queue: when inference is behind, the file's decoder waits and
//! nothing is lost. Live streams go through a short queue that never blocks: when it is full,
//! the oldest window is taken out and reported as dropped, so the newest is always kept and
//! latency stays bounded by the queue length.

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::flow::{DropOldest, StageMessage, Window};
use crate::window::WindowOut;

/// Both queues; workers take from either.
pub struct WindowQueues {
    lossless: (Sender<Window>, Receiver<Window>),
    lossy: (Sender<Window>, Receiver<Window>),
}

impl WindowQueues {
    pub fn new(lossless_capacity: usize, lossy_capacity: usize) -> Self {
        Self { lossless: bounded(lossless_capacity), lossy: bounded(lossy_capacity) }
    }

    /// The receiving ends, for the workers.
    pub fn receivers(&self) -> (Receiver<Window>, Receiver<Window>) {
        (self.lossless.1.clone(), self.lossy.1.clone())
    }

    /// A sender for one stream; `drops` is told about every dropped window.
    pub fn sender(&self, live: bool, drops: Sender<StageMessage>) -> WindowSender {
        if live {
            WindowSender::Lossy { queue: DropOldest::new(self.lossy.0.clone(), self.lossy.1.clone()), drops }
        } else {
            WindowSender::Lossless(self.lossless.0.clone())
        }
    }
}

/// How a stream hands windows to inference.
pub enum WindowSender {
    /// Blocks while the queue is full.
    Lossless(Sender<Window>),
    /// Never blocks: drops the oldest queued window to make room.
    Lossy { queue: DropOldest<Window>, drops: Sender<StageMessage> },
}

impl WindowOut for WindowSender {
    fn send(&self, window: Window) -> bool {
        match self {
            WindowSender::Lossless(queue) => queue.send(window).is_ok(),
            WindowSender::Lossy { queue, drops } => {
                // The output stage must learn of each gap, or it would wait for it.
                let mut open = true;
                let sent =
                    queue.send(window, |old| open &= drops.send(StageMessage::Dropped(old.meta)).is_ok());
                sent.is_ok() && open
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{TensorPool, WindowMeta};

    fn window(index: u64) -> Window {
        Window { meta: WindowMeta::placeholder("cam", index), data: TensorPool::new(0).take() }
    }

    #[test]
    fn live_queue_drops_the_oldest_and_reports_it() {
        let queues = WindowQueues::new(4, 2);
        let (drops_tx, drops_rx) = crossbeam_channel::unbounded();
        let sender = queues.sender(true, drops_tx);
        for i in 0..5 {
            assert!(sender.send(window(i)));
        }
        let (_, lossy) = queues.receivers();
        let kept: Vec<u64> = lossy.try_iter().map(|w| w.meta.index).collect();
        assert_eq!(kept, [3, 4], "the newest windows are kept");
        let dropped: Vec<u64> = drops_rx
            .try_iter()
            .map(|m| match m {
                StageMessage::Dropped(meta) => meta.index,
                _ => panic!("only drops"),
            })
            .collect();
        assert_eq!(dropped, [0, 1, 2]);
    }
}

//! The window queues in front of the workers, and the order in which workers serve them.
//!
//! Files share one blocking queue: when inference is behind, a file's decoder waits and nothing
//! is lost. Every live stream has a short queue of its own that never blocks: when it is full,
//! that stream's oldest window is taken out and reported as dropped, so a camera that sends more
//! than inference can take loses only its own windows, never another camera's. Workers serve the
//! live queues in turn (round robin over the streams that have a window waiting), and choose
//! between files and live streams at random when both have work, so neither starves the other.
//!
//! A worker learns that some live window is waiting from a token channel: each queued live
//! window adds a token and each dropped one takes one back, so tokens never outnumber the
//! windows waiting, and a worker holding a token always finds the window it stands for (or a
//! newer one) when it takes the next stream in turn.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender, TryRecvError, bounded, select, unbounded};

use crate::flow::{DropOldest, StageMessage, Window};
use crate::window::WindowOut;

/// The queues of one run; workers take from them through [`WindowReceiver`]s.
pub struct WindowQueues {
    files: (Sender<Window>, Receiver<Window>),
    live: Arc<LiveStreams>,
    ready: (Sender<()>, Receiver<()>),
    live_capacity: usize,
}

/// Every live stream's own queue, front first in serving order.
#[derive(Default)]
struct LiveStreams {
    queues: Mutex<VecDeque<Receiver<Window>>>,
}

impl LiveStreams {
    /// The oldest window of the next stream in turn that has one; streams that have ended and
    /// been drained are forgotten on the way.
    fn take(&self) -> Option<Window> {
        let mut queues = self.queues.lock().expect("not poisoned");
        for _ in 0..queues.len() {
            let queue = queues.pop_front().expect("counted");
            match queue.try_recv() {
                Ok(window) => {
                    queues.push_back(queue);
                    return Some(window);
                }
                Err(TryRecvError::Empty) => queues.push_back(queue),
                Err(TryRecvError::Disconnected) => {}
            }
        }
        None
    }
}

impl WindowQueues {
    /// `files_capacity` windows shared by all files; `live_capacity` windows per live stream.
    pub fn new(files_capacity: usize, live_capacity: usize) -> Self {
        Self {
            files: bounded(files_capacity),
            live: Arc::default(),
            ready: unbounded(),
            live_capacity: live_capacity.max(1),
        }
    }

    /// A worker's end of the queues.
    pub fn receiver(&self) -> WindowReceiver {
        WindowReceiver {
            files: Some(self.files.1.clone()),
            ready: Some(self.ready.1.clone()),
            live: self.live.clone(),
        }
    }

    /// A sender for one stream; `drops` is told about every dropped window.
    pub fn sender(&self, live: bool, drops: Sender<StageMessage>) -> WindowSender {
        if !live {
            return WindowSender::Lossless(self.files.0.clone());
        }
        let (tx, rx) = bounded(self.live_capacity);
        self.live.queues.lock().expect("not poisoned").push_back(rx.clone());
        WindowSender::Lossy {
            queue: DropOldest::new(tx, rx),
            ready: self.ready.0.clone(),
            tokens: self.ready.1.clone(),
            drops,
        }
    }

    /// A handle that reads how many windows are waiting, for the workers' gauges.
    pub fn depths(&self) -> QueueDepths {
        QueueDepths { files: self.files.1.clone(), live: self.ready.1.clone() }
    }
}

/// Reads the queue depths without taking anything.
pub struct QueueDepths {
    files: Receiver<Window>,
    live: Receiver<()>,
}

impl QueueDepths {
    /// Windows waiting: of files, and of all live streams together.
    pub fn get(&self) -> (usize, usize) {
        (self.files.len(), self.live.len())
    }
}

/// How a stream hands windows to inference.
pub enum WindowSender {
    /// Blocks while the files' queue is full.
    Lossless(Sender<Window>),
    /// Never blocks: drops the stream's own oldest queued window to make room.
    Lossy { queue: DropOldest<Window>, ready: Sender<()>, tokens: Receiver<()>, drops: Sender<StageMessage> },
}

impl WindowOut for WindowSender {
    fn send(&self, window: Window) -> bool {
        match self {
            WindowSender::Lossless(queue) => queue.send(window).is_ok(),
            WindowSender::Lossy { queue, ready, tokens, drops } => {
                let mut open = true;
                let queued = queue.send(window, |old| {
                    // The dropped window's token goes with it (if a worker holds it already,
                    // that worker finds this stream's newer window instead).
                    let _ = tokens.try_recv();
                    // The output stage must learn of each gap, or it would wait for it.
                    open &= drops.send(StageMessage::Dropped(old.meta)).is_ok();
                });
                queued.is_ok() && open && ready.send(()).is_ok()
            }
        }
    }
}

/// A worker's end: the next window to classify, fairly chosen.
pub struct WindowReceiver {
    /// `None` once every file sender is gone and the queue is drained.
    files: Option<Receiver<Window>>,
    /// `None` once every live sender is gone and the tokens are used up.
    ready: Option<Receiver<()>>,
    live: Arc<LiveStreams>,
}

/// Each item blocks until a window is waiting; the iterator ends once every stream has ended
/// and everything queued has been handed out.
impl Iterator for WindowReceiver {
    type Item = Window;

    fn next(&mut self) -> Option<Window> {
        loop {
            let live = match (&self.files, &self.ready) {
                (Some(files), Some(ready)) => select! {
                    recv(files) -> window => match window {
                        Ok(window) => return Some(window),
                        Err(_) => {
                            self.files = None;
                            continue;
                        }
                    },
                    recv(ready) -> token => token.is_ok(),
                },
                (Some(files), None) => match files.recv() {
                    Ok(window) => return Some(window),
                    Err(_) => {
                        self.files = None;
                        continue;
                    }
                },
                (None, Some(ready)) => ready.recv().is_ok(),
                // Both closed: whatever the live queues still hold.
                (None, None) => return self.live.take(),
            };
            if !live {
                self.ready = None;
                continue;
            }
            if let Some(window) = self.live.take() {
                return Some(window);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{TensorPool, WindowMeta};

    fn window(stream: &str, index: u64) -> Window {
        Window { meta: WindowMeta::placeholder(stream, index), data: TensorPool::new(0).take() }
    }

    fn drain(receiver: &mut WindowReceiver) -> Vec<(String, u64)> {
        receiver.by_ref().map(|w| (w.meta.stream.to_string(), w.meta.index)).collect()
    }

    fn dropped(drops: &Receiver<StageMessage>) -> Vec<(String, u64)> {
        drops
            .try_iter()
            .map(|m| match m {
                StageMessage::Dropped(meta) => (meta.stream.to_string(), meta.index),
                _ => panic!("only drops"),
            })
            .collect()
    }

    #[test]
    fn a_flooding_stream_loses_only_its_own_oldest_windows() {
        let queues = WindowQueues::new(4, 2);
        let (drops_tx, drops) = unbounded();
        let (flood, calm) = (queues.sender(true, drops_tx.clone()), queues.sender(true, drops_tx));
        assert!(calm.send(window("calm", 0)));
        for i in 0..10 {
            assert!(flood.send(window("flood", i)));
        }
        assert!(calm.send(window("calm", 1)));
        assert_eq!(dropped(&drops), (0..8).map(|i| ("flood".to_owned(), i)).collect::<Vec<_>>());
        let mut receiver = queues.receiver();
        drop((flood, calm, queues));
        let served = drain(&mut receiver);
        assert_eq!(served.len(), 4, "{served:?}");
        for kept in [("calm", 0), ("calm", 1), ("flood", 8), ("flood", 9)] {
            assert!(served.contains(&(kept.0.to_owned(), kept.1)), "{kept:?} in {served:?}");
        }
    }

    #[test]
    fn live_streams_are_served_in_turn() {
        let queues = WindowQueues::new(4, 3);
        let (drops_tx, _drops) = unbounded();
        let senders: Vec<WindowSender> = (0..3).map(|_| queues.sender(true, drops_tx.clone())).collect();
        for (s, name) in senders.iter().zip(["a", "b", "c"]) {
            for i in 0..3 {
                assert!(s.send(window(name, i)));
            }
        }
        let mut receiver = queues.receiver();
        let order: Vec<String> = (0..9).map(|_| receiver.next().unwrap().meta.stream.to_string()).collect();
        assert_eq!(order, ["a", "b", "c", "a", "b", "c", "a", "b", "c"]);
    }

    #[test]
    fn files_and_live_streams_are_both_served_and_everything_is_drained_at_the_end() {
        let queues = WindowQueues::new(8, 2);
        let (drops_tx, drops) = unbounded();
        let (file, cam) = (queues.sender(false, drops_tx.clone()), queues.sender(true, drops_tx));
        for i in 0..6 {
            assert!(file.send(window("file", i)));
        }
        assert!(cam.send(window("cam", 0)));
        let mut receiver = queues.receiver();
        // With both kinds waiting, the live window is not left behind all the file's windows
        // every time (a random choice between the two; 20 tries fail by chance 1 in 2^20 or so).
        let mut early = false;
        for _ in 0..20 {
            let q = WindowQueues::new(8, 2);
            let (tx, _rx) = unbounded();
            let (f, c) = (q.sender(false, tx.clone()), q.sender(true, tx));
            (0..6).for_each(|i| assert!(f.send(window("file", i))));
            assert!(c.send(window("cam", 0)));
            early |= q.receiver().next().unwrap().meta.stream.as_ref() == "cam";
        }
        assert!(early, "live windows compete with queued file windows");
        drop((file, cam, queues));
        let served = drain(&mut receiver);
        assert_eq!(served.len(), 7, "{served:?}");
        assert!(dropped(&drops).is_empty());
    }
}

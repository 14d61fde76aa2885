//! The in-process sink: events go to a crossbeam channel for library users.

use crossbeam_channel::Sender;

use super::Sink;
use crate::flow::Event;
use crate::output::OutputError;

/// Sends a copy of every event; blocks while the channel is full.
pub struct ChannelSink {
    tx: Sender<Event>,
}

impl ChannelSink {
    pub fn new(tx: Sender<Event>) -> Self {
        Self { tx }
    }
}

impl Sink for ChannelSink {
    fn write(&mut self, event: &Event) -> Result<(), OutputError> {
        self.tx.send(event.clone()).map_err(|_| OutputError::ChannelClosed)
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

//! One `[[sinks]]` entry: a sink, and the event types it is given (`types`). Operators route
//! with it: the journal or an MQTT broker at QoS 1 need not carry every window event when what
//! they act on is `action_start`, `action_end` and `stream_down`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Deserialize;

use super::{Roster, Sink, SinkConfig, SinkSpec};
use crate::flow::{EVENT_TYPES, Event};
use crate::output::OutputError;

/// A `[[sinks]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SinkEntry {
    /// The event types this sink gets (e.g. `["action_start", "action_end", "stream_down"]`);
    /// every event when unset.
    #[serde(default)]
    pub types: Option<Vec<String>>,
    /// The sink itself (`type = "stdout" | "file" | "mqtt"` and its settings).
    #[serde(flatten)]
    pub sink: SinkConfig,
}

impl From<SinkConfig> for SinkEntry {
    fn from(sink: SinkConfig) -> Self {
        Self { types: None, sink }
    }
}

impl SinkSpec for SinkEntry {
    fn name(&self) -> &'static str {
        self.sink.name()
    }

    fn check(&self) -> Result<(), String> {
        if let Some(types) = &self.types {
            if types.is_empty() {
                return Err(
                    "`types` is empty: this sink would get no event (leave `types` out for all)".into()
                );
            }
            if let Some(unknown) = types.iter().find(|t| !EVENT_TYPES.contains(&t.as_str())) {
                return Err(format!(
                    "`types`: no event type {unknown:?}; the types are {}",
                    EVENT_TYPES.join(", ")
                ));
            }
        }
        self.sink.check()
    }

    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        self.sink.paths_mut()
    }

    fn resolve_secrets(&mut self) -> Result<(), String> {
        self.sink.resolve_secrets()
    }

    fn name_instance(&mut self, instance: &str) {
        self.sink.name_instance(instance);
    }

    fn build(&self) -> Result<Box<dyn Sink>, OutputError> {
        let sink = self.sink.build()?;
        Ok(match &self.types {
            None => sink,
            Some(types) => Box::new(Filtered {
                sink,
                types: EVENT_TYPES.iter().copied().filter(|t| types.iter().any(|w| w == t)).collect(),
            }),
        })
    }
}

/// A sink that is given only some event types.
struct Filtered {
    sink: Box<dyn Sink>,
    types: BTreeSet<&'static str>,
}

impl Sink for Filtered {
    fn write(&mut self, event: &Event) -> Result<(), OutputError> {
        self.sink.write(event)
    }

    fn accepts(&self, event: &Event) -> bool {
        self.types.contains(event.kind())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.sink.flush()
    }

    fn roster(&mut self, roster: &Roster) -> Result<(), OutputError> {
        self.sink.roster(roster)
    }

    fn observe(&mut self, event: &Event) {
        self.sink.observe(event);
    }
}

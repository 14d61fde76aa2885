//! Home Assistant MQTT discovery (`discovery = true`): for every stream, retained configs under
//! `<discovery_prefix>/<component>/<node>/<object>/config` make Home Assistant create, with no
//! YAML, a device per stream holding
//! - a connectivity `binary_sensor` (ON from `stream_up` until the stream goes down or ends),
//! - a `sensor` with the current smoothed label (its score as an attribute),
//! - a `binary_sensor` per action label, ON between `action_start` and `action_end`.
//!
//! Their states are retained too, under `<topic_prefix>/<stream>/state/…`, so a Home Assistant
//! that restarts sees the truth at once. Every entity is unavailable while the daemon's retained
//! `<topic_prefix>/availability` says `offline`. A stream removed by a reload gets empty retained
//! configs (Home Assistant deletes its entities) and its states are cleared. Unique ids are made
//! of the node (the MQTT client id: host and pipeline), the stream and the entity, so they stay
//! the same across restarts.
//!
//! The `hass-mqtt-discovery` crate models these documents but has not followed Home Assistant
//! since 2022 (`error-stack` 0.2, no `origin`); the few fields used here are written as JSON.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Message, topic_part};
use crate::flow::{ActionKind, Event, StatusKind};
use crate::output::Roster;

/// A label update is published at once when the label changes, and otherwise at most this often.
const LABEL_INTERVAL: Duration = Duration::from_secs(1);

/// Where discovery configs and states go.
#[derive(Debug, Clone)]
pub(super) struct Discovery {
    /// `homeassistant` unless configured.
    discovery_prefix: String,
    /// The sink's own topic prefix, under which states live.
    topic_prefix: String,
    /// Names this daemon among others: the MQTT client id, reduced to `[A-Za-z0-9_-]`.
    node: String,
    /// The streams announced so far, and the action labels.
    roster: Roster,
    /// Per stream: the last label published and when.
    last_label: HashMap<String, (String, Instant)>,
}

/// `[A-Za-z0-9_-]` only: what Home Assistant accepts in node and object ids.
fn id_part(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

fn retained(topic: String, payload: impl Into<Vec<u8>>) -> Message {
    Message { topic, payload: payload.into(), retain: true }
}

fn on_off(on: bool) -> &'static str {
    if on { "ON" } else { "OFF" }
}

/// One entity of a stream's device.
struct Entity {
    component: &'static str,
    /// Unique within the stream (`connectivity`, `label`, `action_<label>`).
    object: String,
    state_topic: String,
    /// The fields particular to this entity.
    fields: Value,
}

impl Discovery {
    pub fn new(discovery_prefix: &str, topic_prefix: &str, client_id: &str) -> Self {
        Self {
            discovery_prefix: discovery_prefix.trim_end_matches('/').to_owned(),
            topic_prefix: topic_prefix.to_owned(),
            node: id_part(client_id),
            roster: Roster::default(),
            last_label: HashMap::new(),
        }
    }

    fn state_topic(&self, stream: &str, what: &str) -> String {
        format!("{}/{}/state/{what}", self.topic_prefix, topic_part(stream))
    }

    fn entities(&self, stream: &str) -> Vec<Entity> {
        let mut entities = vec![
            Entity {
                component: "binary_sensor",
                object: "connectivity".into(),
                state_topic: self.state_topic(stream, "connectivity"),
                fields: json!({
                    "name": "Connectivity",
                    "device_class": "connectivity",
                    "entity_category": "diagnostic",
                    "payload_on": "ON",
                    "payload_off": "OFF",
                }),
            },
            Entity {
                component: "sensor",
                object: "label".into(),
                state_topic: self.state_topic(stream, "label"),
                fields: json!({
                    "name": "Label",
                    "icon": "mdi:motion-sensor",
                    "value_template": "{{ value_json.label }}",
                    "json_attributes_topic": self.state_topic(stream, "label"),
                }),
            },
        ];
        for label in &self.roster.actions {
            entities.push(Entity {
                component: "binary_sensor",
                object: format!("action_{}", id_part(label)),
                state_topic: self.state_topic(stream, &format!("action/{}", topic_part(label))),
                fields: json!({
                    "name": label,
                    "icon": "mdi:run",
                    "payload_on": "ON",
                    "payload_off": "OFF",
                }),
            });
        }
        entities
    }

    fn config_topic(&self, stream: &str, entity: &Entity) -> String {
        let object = format!("{}_{}", id_part(stream), entity.object);
        format!("{}/{}/{}/{object}/config", self.discovery_prefix, entity.component, self.node)
    }

    fn config(&self, stream: &str, entity: &Entity) -> Vec<u8> {
        let mut config = json!({
            "unique_id": format!("{}_{}_{}", self.node, id_part(stream), entity.object),
            "state_topic": entity.state_topic,
            "qos": 1,
            "availability": [{
                "topic": format!("{}/availability", self.topic_prefix),
                "payload_available": "online",
                "payload_not_available": "offline",
            }],
            "device": {
                "identifiers": [format!("{}_{}", self.node, id_part(stream))],
                "name": stream,
                "manufacturer": "actiond",
                "model": "action recognition",
                "sw_version": env!("CARGO_PKG_VERSION"),
            },
            "origin": {
                "name": "actiond",
                "sw_version": env!("CARGO_PKG_VERSION"),
            },
        });
        if let (Value::Object(config), Value::Object(fields)) = (&mut config, &entity.fields) {
            config.extend(fields.clone());
        }
        serde_json::to_vec(&config).expect("JSON values always serialise")
    }

    /// What to publish for a new roster: configs and initial states of added streams, empty
    /// retained configs and states of removed ones.
    pub fn on_roster(&mut self, roster: &Roster) -> Vec<Message> {
        let removed: Vec<String> =
            self.roster.streams.iter().filter(|s| !roster.streams.contains(s)).cloned().collect();
        let mut messages = Vec::new();
        for stream in &removed {
            for entity in self.entities(stream) {
                messages.push(retained(self.config_topic(stream, &entity), Vec::new()));
                messages.push(retained(entity.state_topic, Vec::new()));
            }
            self.last_label.remove(stream);
        }
        let added: Vec<String> =
            roster.streams.iter().filter(|s| !self.roster.streams.contains(s)).cloned().collect();
        self.roster = roster.clone();
        for stream in &added {
            for entity in self.entities(stream) {
                messages.push(retained(self.config_topic(stream, &entity), self.config(stream, &entity)));
                if entity.component == "binary_sensor" {
                    messages.push(retained(entity.state_topic, on_off(false)));
                }
            }
        }
        messages
    }

    /// The states an event changes (nothing for streams not in the roster: a removed stream's
    /// last events must not bring back what was cleared).
    pub fn on_event(&mut self, event: &Event) -> Vec<Message> {
        let stream = event.stream();
        if !self.roster.streams.iter().any(|s| s == stream) {
            return Vec::new();
        }
        match event {
            // A jump in the input's clock changes nothing about the stream's connectivity.
            Event::Status(status) if status.kind == StatusKind::TimeJump => Vec::new(),
            Event::Status(status) => {
                let up = status.kind == StatusKind::Up;
                vec![retained(self.state_topic(stream, "connectivity"), on_off(up))]
            }
            Event::Action(action) => {
                if !self.roster.actions.contains(&action.label) {
                    return Vec::new();
                }
                let topic = self.state_topic(stream, &format!("action/{}", topic_part(&action.label)));
                vec![retained(topic, on_off(action.kind == ActionKind::ActionStart))]
            }
            Event::Window(window) => {
                let now = Instant::now();
                let due = match self.last_label.get(stream) {
                    Some((label, at)) => {
                        *label != window.smoothed_label || now.duration_since(*at) >= LABEL_INTERVAL
                    }
                    None => true,
                };
                if !due {
                    return Vec::new();
                }
                self.last_label.insert(stream.to_owned(), (window.smoothed_label.clone(), now));
                let state = json!({ "label": window.smoothed_label, "score": window.smoothed_score });
                let payload = serde_json::to_vec(&state).expect("JSON values always serialise");
                vec![retained(self.state_topic(stream, "label"), payload)]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster(streams: &[&str]) -> Roster {
        Roster {
            streams: streams.iter().map(|s| s.to_string()).collect(),
            labels: vec!["still".into(), "wave".into()],
            actions: vec!["wave".into()],
        }
    }

    fn topics(messages: &[Message]) -> Vec<&str> {
        messages.iter().map(|m| m.topic.as_str()).collect()
    }

    #[test]
    fn added_streams_get_configs_and_removed_ones_are_withdrawn() {
        let mut d = Discovery::new("homeassistant", "actiond", "actiond-host-p");
        let first = d.on_roster(&roster(&["gate/1"]));
        assert!(
            topics(&first).contains(&"homeassistant/binary_sensor/actiond-host-p/gate_1_action_wave/config")
        );
        assert!(topics(&first).contains(&"homeassistant/sensor/actiond-host-p/gate_1_label/config"));
        assert!(topics(&first).contains(&"actiond/gate_1/state/action/wave"));
        assert!(first.iter().all(|m| m.retain));
        let config: Value = serde_json::from_slice(&first[0].payload).unwrap();
        assert_eq!(config["unique_id"], "actiond-host-p_gate_1_connectivity");
        assert_eq!(config["device"]["name"], "gate/1");

        // Unchanged streams are not published again; removed ones get empty payloads.
        let second = d.on_roster(&roster(&["yard"]));
        let removed: Vec<&Message> = second.iter().filter(|m| m.topic.contains("gate_1")).collect();
        assert!(!removed.is_empty() && removed.iter().all(|m| m.payload.is_empty() && m.retain));
        assert!(d.on_roster(&roster(&["yard"])).is_empty());
    }

    #[test]
    fn events_of_streams_not_in_the_roster_publish_nothing() {
        let mut d = Discovery::new("homeassistant", "actiond", "n");
        d.on_roster(&roster(&["a"]));
        let status = |stream: &str| {
            Event::Status(crate::flow::StatusEvent::new(
                stream,
                &crate::flow::StreamStatus::Up,
                std::time::SystemTime::now(),
                true,
            ))
        };
        let up = d.on_event(&status("a"));
        assert_eq!(topics(&up), ["actiond/a/state/connectivity"]);
        assert_eq!(up[0].payload, b"ON");
        assert!(d.on_event(&status("gone")).is_empty());
    }

    #[test]
    fn a_time_jump_leaves_connectivity_alone() {
        // Regression: every status event but stream_up turned the connectivity sensor OFF.
        let mut d = Discovery::new("homeassistant", "actiond", "n");
        d.on_roster(&roster(&["a"]));
        let jump = crate::flow::TimeJump { from_ns: 1, to_ns: 9_000_000_000, offset_ns: 0 };
        let event = Event::Status(crate::flow::StatusEvent::new(
            "a",
            &crate::flow::StreamStatus::TimeJump(jump),
            std::time::SystemTime::now(),
            true,
        ));
        assert!(d.on_event(&event).is_empty());
    }
}

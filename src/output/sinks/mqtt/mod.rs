//! Events to an MQTT broker: `<prefix>/<stream>/window|action|status`, and a retained
//! `<prefix>/availability` topic (`online`, and `offline` as last will and at a clean exit).
//!
//! The broker being down or slow never blocks decoding of a live stream: events wait in a
//! bounded buffer in front of the client; for live streams the oldest are dropped (and counted)
//! when it is full, while events of files wait for room (lossless) up to `lossless_wait_s`.
//! The client reconnects with the backoff of `[sinks.reconnect]`. rumqttc resends unacknowledged publishes only when the
//! broker kept the session, and otherwise forgets them together with everything still queued in
//! the client (measured: ~65 events lost per broker restart with mosquitto); so the sink keeps
//! its own copy of every unacknowledged event and sends them again when a reconnection finds no
//! session. Delivery is at least once.

mod config;
mod connection;
mod discovery;
mod publisher;
mod tls;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, bounded};
use rumqttc::{Client, LastWill, MqttOptions, QoS};

use config::Endpoint;
pub use config::MqttConfig;
use discovery::Discovery;

use super::{Roster, Sink};
use crate::flow::{DropOldest, Event};
use crate::output::OutputError;

#[derive(Clone)]
struct Message {
    topic: String,
    payload: Vec<u8>,
    retain: bool,
}

/// State shared by the sink and its two client threads.
#[derive(Debug, Default)]
struct Shared {
    /// Acknowledgements received (QoS 1/2), in publish order.
    acknowledged: AtomicU64,
    /// Messages handed to the client and not yet acknowledged.
    outstanding: AtomicU64,
    dropped: AtomicU64,
    connected: AtomicBool,
    /// Set on each (re)connection; the publisher then announces `online`.
    announce: AtomicBool,
    /// Set when a reconnection found no session at the broker: the client then forgets what it
    /// had not yet had acknowledged, so the publisher sends it again.
    session_lost: AtomicBool,
    /// Set when the sink is dropped: a failing connection then gives up instead of retrying.
    closing: AtomicBool,
}

/// Publishes events to an MQTT broker.
pub struct MqttSink {
    url: String,
    prefix: String,
    qos: QoS,
    client: Client,
    /// Events of files wait here for room (lossless)...
    buffer: Sender<Message>,
    /// ...and events of live streams never wait: the oldest make room.
    lossy: DropOldest<Message>,
    lossless_wait: Duration,
    /// Home Assistant discovery, when asked for.
    discovery: Option<Discovery>,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

fn qos_of(level: u8) -> QoS {
    match level {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// Topic-safe form of a stream id (`/`, `+`, `#` would change the topic's meaning).
fn topic_part(id: &str) -> String {
    id.chars().map(|c| if matches!(c, '/' | '+' | '#') { '_' } else { c }).collect()
}

impl MqttSink {
    /// Connects (in the background) to the broker of a checked configuration.
    pub fn start(config: &MqttConfig) -> Result<Self, OutputError> {
        let fail = |reason: String| OutputError::Mqtt { url: config.url.clone(), reason };
        let endpoint = Endpoint::parse(&config.url).map_err(fail)?;
        let prefix = config.topic_prefix.trim_end_matches('/').to_owned();
        let qos = qos_of(config.qos);
        let availability = format!("{prefix}/availability");
        let client_id = config.client_id.clone().unwrap_or_else(|| super::instance_name(Path::new("")));
        let discovery =
            config.discovery.then(|| Discovery::new(&config.discovery_prefix, &prefix, &client_id));
        let mut options = MqttOptions::new(client_id, endpoint.host, endpoint.port);
        options.set_keep_alive(Duration::from_secs(10));
        options.set_clean_session(false);
        options.set_last_will(LastWill::new(&availability, "offline", QoS::AtLeastOnce, true));
        if let Some(user) = &config.user {
            let password = config.resolved_password.as_ref().map_or("", |p| p.expose());
            options.set_credentials(user.clone(), password);
        }
        if endpoint.tls {
            options.set_transport(tls::transport(config.ca_file.as_deref()).map_err(fail)?);
        }
        let (client, connection) = Client::new(options, 64);
        let (buffer, queue) = bounded::<Message>(config.buffer.max(1));
        let shared = Arc::new(Shared::default());
        let url = config.url.clone();

        let (conn_shared, conn_url) = (shared.clone(), url.clone());
        let policy = config.reconnect.policy(None);
        let connection_thread = std::thread::Builder::new()
            .name("mqtt-connection".into())
            .spawn(move || connection::drive(connection, &conn_shared, &conn_url, &policy))
            .map_err(|e| fail(e.to_string()))?;
        let (pub_client, pub_shared, pub_queue) = (client.clone(), shared.clone(), queue.clone());
        let online = Message { topic: availability, payload: b"online".to_vec(), retain: true };
        let publisher_thread = std::thread::Builder::new()
            .name("mqtt-publish".into())
            .spawn(move || publisher::publish_all(&pub_client, &pub_queue, &pub_shared, qos, &online))
            .map_err(|e| fail(e.to_string()))?;

        Ok(Self {
            url,
            prefix,
            qos,
            client,
            lossy: DropOldest::new(buffer.clone(), queue),
            buffer,
            lossless_wait: Duration::from_secs_f64(config.lossless_wait_s),
            discovery,
            shared,
            threads: vec![connection_thread, publisher_thread],
        })
    }

    /// Events dropped so far (live streams, buffer full).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    fn topic(&self, event: &Event) -> String {
        let kind = match event {
            Event::Window(_) => "window",
            Event::Action(_) => "action",
            Event::Status(_) => "status",
        };
        format!("{}/{}/{kind}", self.prefix, topic_part(event.stream()))
    }

    fn error(&self, reason: String) -> OutputError {
        OutputError::Mqtt { url: self.url.clone(), reason }
    }
}

impl MqttSink {
    /// Queues one message: messages of files wait for room (lossless) up to `lossless_wait_s`,
    /// those of live streams make room by dropping the oldest.
    fn send(&self, message: Message, live: bool) -> Result<(), OutputError> {
        if !live {
            return self.buffer.send_timeout(message, self.lossless_wait).map_err(|_| {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                self.error(format!("broker unavailable for {:?}; event dropped", self.lossless_wait))
            });
        }
        let (shared, url) = (&self.shared, &self.url);
        self.lossy
            .send(message, |_| {
                let n = shared.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(broker = %url, dropped = n, "MQTT buffer full: dropping the oldest events.");
                }
            })
            .map_err(|_| self.error("publisher stopped".into()))
    }

    /// Publishes the Home Assistant states an event changes.
    fn publish_states(&mut self, event: &Event) -> Result<(), OutputError> {
        let Some(discovery) = self.discovery.as_mut() else { return Ok(()) };
        let messages = discovery.on_event(event);
        messages.into_iter().try_for_each(|m| self.send(m, event.is_live()))
    }
}

impl Sink for MqttSink {
    fn write(&mut self, event: &Event) -> Result<(), OutputError> {
        let message = Message { topic: self.topic(event), payload: event.to_json(), retain: false };
        self.send(message, event.is_live())?;
        self.publish_states(event)
    }

    fn observe(&mut self, event: &Event) {
        if let Err(e) = self.publish_states(event) {
            tracing::warn!(error = %e, "Home Assistant state not published.");
        }
    }

    /// Announces added streams to Home Assistant and withdraws removed ones. Never waits for
    /// the broker (a reload must not hold every stream back while it is away) and never makes
    /// room by dropping queued events (a file's are lossless): a config that finds the buffer
    /// full is counted as dropped and reported.
    fn roster(&mut self, roster: &Roster) -> Result<(), OutputError> {
        let Some(discovery) = self.discovery.as_mut() else { return Ok(()) };
        let messages = discovery.on_roster(roster);
        let total = messages.len();
        let refused = messages.into_iter().filter(|m| self.buffer.try_send(m.clone()).is_err()).count();
        if refused == 0 {
            return Ok(());
        }
        self.shared.dropped.fetch_add(refused as u64, Ordering::Relaxed);
        Err(self
            .error(format!("buffer full: {refused} of {total} Home Assistant discovery messages dropped")))
    }

    /// Waits (up to `lossless_wait_s`) until every queued event has been acknowledged.
    fn flush(&mut self) -> Result<(), OutputError> {
        let deadline = Instant::now() + self.lossless_wait;
        loop {
            let pending = self.buffer.len() as u64 + self.shared.outstanding.load(Ordering::Relaxed);
            if pending == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.error(format!("{pending} events not acknowledged at the flush deadline")));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for MqttSink {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::warn!(error = %e, "MQTT events left unpublished at exit.");
        }
        self.shared.closing.store(true, Ordering::Relaxed);
        let availability = format!("{}/availability", self.prefix);
        let _ = self.client.try_publish(availability, QoS::AtLeastOnce, true, "offline");
        let _ = self.client.try_disconnect();
        // Closing the buffer ends the publisher thread.
        let (tx, rx) = bounded(1);
        drop(std::mem::replace(&mut self.buffer, tx.clone()));
        drop(std::mem::replace(&mut self.lossy, DropOldest::new(tx, rx)));
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        let dropped = self.dropped();
        if dropped > 0 {
            tracing::warn!(broker = %self.url, dropped, qos = ?self.qos, "MQTT events dropped in this run.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_cannot_change_the_topic_structure() {
        assert_eq!(topic_part("gate/north#1+"), "gate_north_1_");
    }
}

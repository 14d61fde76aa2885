//! Events to an MQTT broker: `<prefix>/<stream>/window|action|status`, and a retained
//! `<prefix>/availability` topic (`online`, and `offline` as last will and at a clean exit).
//!
//! The broker being down or slow never blocks decoding of a live stream: events wait in a
//! bounded buffer in front of the client; for live streams the oldest are dropped (and counted)
//! when it is full, while events of files wait for room (lossless) up to `lossless_wait_s`.
//! The client reconnects with backoff. rumqttc resends unacknowledged publishes only when the
//! broker kept the session, and otherwise forgets them together with everything still queued in
//! the client (measured: ~65 events lost per broker restart with mosquitto); so the sink keeps
//! its own copy of every unacknowledged event and sends them again when a reconnection finds no
//! session. Delivery is at least once.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use rumqttc::{
    Client, Event as MqttEvent, LastWill, MqttOptions, Outgoing as MqttOutgoing, Packet, QoS, Transport,
};

use super::{Event, OutputError, Sink};
use crate::config::MqttConfig;

#[derive(Clone)]
struct Message {
    topic: String,
    payload: Vec<u8>,
    retain: bool,
}

/// Counters shared with the client threads.
#[derive(Debug, Default)]
struct Delivery {
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
}

/// Publishes events to an MQTT broker.
pub struct MqttSink {
    url: String,
    prefix: String,
    qos: QoS,
    client: Client,
    buffer: Sender<Message>,
    oldest: Receiver<Message>,
    live: HashSet<String>,
    lossless_wait: Duration,
    progress: Arc<Delivery>,
    closing: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

fn qos_of(level: u8) -> QoS {
    match level {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// `mqtt://host[:port]` or `mqtts://host[:port]` → (tls, host, port).
fn parse_url(url: &str) -> Result<(bool, String, u16), String> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("mqtts://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("mqtt://") {
        (false, r)
    } else {
        return Err("expected mqtt://host:port or mqtts://host:port".into());
    };
    let authority = rest.trim_end_matches('/');
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("bad port `{p}`"))?),
        None => (authority, if tls { 8883 } else { 1883 }),
    };
    if host.is_empty() || host.contains('@') {
        return Err("expected a host (give credentials as `user` and `password_env`)".into());
    }
    Ok((tls, host.to_owned(), port))
}

/// Topic-safe form of a stream id (`/`, `+`, `#` would change the topic's meaning).
fn topic_part(id: &str) -> String {
    id.chars().map(|c| if matches!(c, '/' | '+' | '#') { '_' } else { c }).collect()
}

impl MqttSink {
    /// Connects (in the background) to the broker; `live` names the live streams.
    pub fn start(config: &MqttConfig, live: &[String]) -> Result<Self, OutputError> {
        let fail = |reason: String| OutputError::Mqtt { url: config.url.clone(), reason };
        let (tls, host, port) = parse_url(&config.url).map_err(fail)?;
        let prefix = config.topic_prefix.trim_end_matches('/').to_owned();
        let qos = qos_of(config.qos);
        let availability = format!("{prefix}/availability");
        let mut options = MqttOptions::new(config.client_id.clone(), host, port);
        options.set_keep_alive(Duration::from_secs(10));
        options.set_clean_session(false);
        options.set_last_will(LastWill::new(&availability, "offline", QoS::AtLeastOnce, true));
        let password = config
            .password
            .clone()
            .or_else(|| config.password_env.as_ref().and_then(|v| std::env::var(v).ok()));
        if let Some(user) = &config.user {
            options.set_credentials(user.clone(), password.unwrap_or_default());
        }
        if tls {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let ca = match &config.ca_file {
                Some(path) => {
                    std::fs::read(path).map_err(|e| fail(format!("CA file {}: {e}", path.display())))?
                }
                None => return Err(fail("mqtts:// needs `ca_file`".into())),
            };
            options.set_transport(Transport::tls(ca, None, None));
        }
        let (client, mut connection) = Client::new(options, 64);
        let (buffer, queue) = bounded::<Message>(config.buffer.max(1));
        let progress = Arc::new(Delivery::default());
        let closing = Arc::new(AtomicBool::new(false));
        let url = config.url.clone();

        let (conn_progress, conn_closing, conn_url) = (progress.clone(), closing.clone(), url.clone());
        let connection_thread = std::thread::Builder::new()
            .name("mqtt-connection".into())
            .spawn(move || {
                let mut backoff = Duration::from_millis(100);
                let mut connected_before = false;
                for notification in connection.iter() {
                    match notification {
                        Ok(MqttEvent::Incoming(Packet::ConnAck(ack))) => {
                            backoff = Duration::from_millis(100);
                            if !ack.session_present && connected_before {
                                conn_progress.session_lost.store(true, Ordering::Relaxed);
                            }
                            connected_before = true;
                            conn_progress.connected.store(true, Ordering::Relaxed);
                            tracing::info!(broker = %conn_url, session_present = ack.session_present, "MQTT connected.");
                            // Not from here: this thread drives the client and must never block on it.
                            conn_progress.announce.store(true, Ordering::Relaxed);
                        }
                        Ok(MqttEvent::Incoming(Packet::PubAck(_) | Packet::PubComp(_))) => {
                            conn_progress.acknowledged.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(MqttEvent::Outgoing(MqttOutgoing::Disconnect)) => break,
                        Ok(_) => {}
                        Err(e) => {
                            if conn_closing.load(Ordering::Relaxed) && !conn_progress.connected.load(Ordering::Relaxed) {
                                break;
                            }
                            if conn_progress.connected.swap(false, Ordering::Relaxed) {
                                tracing::warn!(broker = %conn_url, error = %e, "MQTT connection lost; reconnecting.");
                            } else {
                                tracing::debug!(broker = %conn_url, error = %e, "MQTT connect failed.");
                            }
                            std::thread::sleep(backoff);
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                        }
                    }
                }
            })
            .map_err(|e| fail(e.to_string()))?;

        let (pub_client, pub_progress) = (client.clone(), progress.clone());
        let oldest = queue.clone();
        let online =
            Message { topic: format!("{prefix}/availability"), payload: b"online".to_vec(), retain: true };
        let publisher_thread = std::thread::Builder::new()
            .name("mqtt-publish".into())
            .spawn(move || {
                // What the client holds unacknowledged, oldest first (acks come in publish order).
                let mut unacked: std::collections::VecDeque<Message> = std::collections::VecDeque::new();
                let mut acks_applied = 0u64;
                let tracked = qos != QoS::AtMostOnce;
                let publish = |m: &Message, unacked: &mut std::collections::VecDeque<Message>| {
                    // Blocks while the client's own queue is full (broker away).
                    let q = if m.retain { QoS::AtLeastOnce } else { qos };
                    let sent = pub_client.publish(m.topic.as_str(), q, m.retain, m.payload.clone()).is_ok();
                    if sent && (tracked || m.retain) {
                        unacked.push_back(m.clone());
                    }
                    sent
                };
                loop {
                    let acks = pub_progress.acknowledged.load(Ordering::Relaxed);
                    while acks_applied < acks && unacked.pop_front().is_some() {
                        acks_applied += 1;
                    }
                    acks_applied = acks_applied.max(acks);
                    if pub_progress.session_lost.swap(false, Ordering::Relaxed) {
                        let resend: Vec<Message> = unacked.drain(..).collect();
                        tracing::warn!(
                            count = resend.len(),
                            "MQTT broker lost the session; sending unacknowledged events again."
                        );
                        if !resend.iter().all(|m| publish(m, &mut unacked)) {
                            break;
                        }
                    }
                    if pub_progress.announce.swap(false, Ordering::Relaxed) && !publish(&online, &mut unacked)
                    {
                        break;
                    }
                    pub_progress.outstanding.store(unacked.len() as u64, Ordering::Relaxed);
                    let message = match queue.recv_timeout(Duration::from_millis(50)) {
                        Ok(message) => message,
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
                    };
                    // Out of the buffer but not yet with the client: still outstanding for flush.
                    pub_progress.outstanding.store(unacked.len() as u64 + 1, Ordering::Relaxed);
                    if !publish(&message, &mut unacked) {
                        break;
                    }
                    pub_progress.outstanding.store(unacked.len() as u64, Ordering::Relaxed);
                }
            })
            .map_err(|e| fail(e.to_string()))?;

        Ok(Self {
            url,
            prefix,
            qos,
            client,
            buffer,
            oldest,
            live: live.iter().cloned().collect(),
            lossless_wait: Duration::from_secs_f64(config.lossless_wait_s),
            progress,
            closing,
            threads: vec![connection_thread, publisher_thread],
        })
    }

    /// Events dropped so far (live streams, buffer full).
    pub fn dropped(&self) -> u64 {
        self.progress.dropped.load(Ordering::Relaxed)
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

impl Sink for MqttSink {
    fn write(&mut self, event: &Event) -> Result<(), OutputError> {
        let message = Message {
            topic: self.topic(event),
            payload: serde_json::to_vec(event).expect("serialises"),
            retain: false,
        };
        if !self.live.contains(event.stream()) {
            return self.buffer.send_timeout(message, self.lossless_wait).map_err(|_| {
                self.progress.dropped.fetch_add(1, Ordering::Relaxed);
                self.error(format!("broker unavailable for {:?}; event dropped", self.lossless_wait))
            });
        }
        let mut message = message;
        loop {
            match self.buffer.try_send(message) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => return Err(self.error("publisher stopped".into())),
                Err(TrySendError::Full(back)) => {
                    message = back;
                    if self.oldest.try_recv().is_ok() {
                        let n = self.progress.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                        if n.is_power_of_two() {
                            tracing::warn!(broker = %self.url, dropped = n, "MQTT buffer full: dropping the oldest events.");
                        }
                    }
                }
            }
        }
    }

    /// Waits (up to `lossless_wait_s`) until every queued event has been acknowledged.
    fn flush(&mut self) -> Result<(), OutputError> {
        let deadline = Instant::now() + self.lossless_wait;
        loop {
            let pending = self.buffer.len() as u64 + self.progress.outstanding.load(Ordering::Relaxed);
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
        self.closing.store(true, Ordering::Relaxed);
        let availability = format!("{}/availability", self.prefix);
        let _ = self.client.try_publish(availability, QoS::AtLeastOnce, true, "offline");
        let _ = self.client.try_disconnect();
        let (tx, _) = bounded(1);
        // Closing the buffer ends the publisher thread.
        drop(std::mem::replace(&mut self.buffer, tx));
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
    fn urls_and_default_ports() {
        assert_eq!(parse_url("mqtt://127.0.0.1:1884"), Ok((false, "127.0.0.1".into(), 1884)));
        assert_eq!(parse_url("mqtts://broker.local"), Ok((true, "broker.local".into(), 8883)));
        assert!(parse_url("tcp://x").is_err());
        assert!(parse_url("mqtt://u:p@host:1883").is_err());
    }

    #[test]
    fn stream_ids_cannot_change_the_topic_structure() {
        assert_eq!(topic_part("gate/north#1+"), "gate_north_1_");
    }
}

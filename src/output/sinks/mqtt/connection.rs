//! The thread that drives the MQTT client's connection: reconnects with the configured backoff
//! (the cameras' rule, jitter included), counts
//! acknowledgements, and tells the publisher when to announce `online` or resend.

use std::sync::atomic::Ordering;

use rumqttc::{Connection, Event as MqttEvent, Outgoing, Packet};

use super::Shared;
use crate::flow::ReconnectPolicy;

/// Runs until the client disconnects, or fails to connect while the sink is closing.
pub(super) fn drive(mut connection: Connection, shared: &Shared, url: &str, policy: &ReconnectPolicy) {
    let mut attempt = 0;
    let mut connected_before = false;
    for notification in connection.iter() {
        match notification {
            Ok(MqttEvent::Incoming(Packet::ConnAck(ack))) => {
                attempt = 0;
                if !ack.session_present && connected_before {
                    shared.session_lost.store(true, Ordering::Relaxed);
                }
                connected_before = true;
                shared.connected.store(true, Ordering::Relaxed);
                tracing::info!(broker = %url, session_present = ack.session_present, "MQTT connected.");
                // Not from here: this thread drives the client and must never block on it.
                shared.announce.store(true, Ordering::Relaxed);
            }
            Ok(MqttEvent::Incoming(Packet::PubAck(_) | Packet::PubComp(_))) => {
                shared.acknowledged.fetch_add(1, Ordering::Relaxed);
            }
            Ok(MqttEvent::Outgoing(Outgoing::Disconnect)) => break,
            Ok(_) => {}
            Err(e) => {
                if shared.closing.load(Ordering::Relaxed) && !shared.connected.load(Ordering::Relaxed) {
                    break;
                }
                attempt += 1;
                let delay = policy.draw(attempt);
                if shared.connected.swap(false, Ordering::Relaxed) {
                    tracing::warn!(broker = %url, error = %e, delay_s = delay.as_secs_f64(),
                        "MQTT connection lost; reconnecting.");
                } else {
                    tracing::debug!(broker = %url, error = %e, attempt, delay_s = delay.as_secs_f64(),
                        "MQTT connect failed.");
                }
                sleep_unless_closing(delay, shared);
            }
        }
    }
}

/// Waits out a backoff delay, or less when the sink closes (a stop must not wait for it).
fn sleep_unless_closing(delay: std::time::Duration, shared: &Shared) {
    let end = std::time::Instant::now() + delay;
    while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
        if shared.closing.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(left.min(std::time::Duration::from_millis(50)));
    }
}

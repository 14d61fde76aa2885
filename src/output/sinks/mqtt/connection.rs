//! The thread that drives the MQTT client's connection: reconnects with backoff, counts
//! acknowledgements, and tells the publisher when to announce `online` or resend.

use std::sync::atomic::Ordering;
use std::time::Duration;

use rumqttc::{Connection, Event as MqttEvent, Outgoing, Packet};

use super::Shared;

/// Runs until the client disconnects, or fails to connect while the sink is closing.
pub(super) fn drive(mut connection: Connection, shared: &Shared, url: &str) {
    let mut backoff = Duration::from_millis(100);
    let mut connected_before = false;
    for notification in connection.iter() {
        match notification {
            Ok(MqttEvent::Incoming(Packet::ConnAck(ack))) => {
                backoff = Duration::from_millis(100);
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
                if shared.connected.swap(false, Ordering::Relaxed) {
                    tracing::warn!(broker = %url, error = %e, "MQTT connection lost; reconnecting.");
                } else {
                    tracing::debug!(broker = %url, error = %e, "MQTT connect failed.");
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

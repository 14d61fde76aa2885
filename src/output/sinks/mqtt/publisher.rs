//! The thread that hands buffered events to the MQTT client, keeping a copy of each one until
//! the broker acknowledges it, so that a reconnection that finds no session sends them again.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};
use rumqttc::{Client, QoS};

use super::{Message, Shared};

/// Publishes from `queue` until it is closed or the client is gone.
pub(super) fn publish_all(
    client: &Client,
    queue: &Receiver<Message>,
    shared: &Shared,
    qos: QoS,
    online: &Message,
) {
    // What the client holds unacknowledged, oldest first (acks come in publish order).
    let mut unacked: VecDeque<Message> = VecDeque::new();
    let mut acks_applied = 0u64;
    let tracked = qos != QoS::AtMostOnce;
    let publish = |m: &Message, unacked: &mut VecDeque<Message>| {
        // Blocks while the client's own queue is full (broker away).
        let q = if m.retain { QoS::AtLeastOnce } else { qos };
        let sent = client.publish(m.topic.as_str(), q, m.retain, m.payload.clone()).is_ok();
        if sent && (tracked || m.retain) {
            unacked.push_back(m.clone());
        }
        sent
    };
    loop {
        let acks = shared.acknowledged.load(Ordering::Relaxed);
        while acks_applied < acks && unacked.pop_front().is_some() {
            acks_applied += 1;
        }
        acks_applied = acks_applied.max(acks);
        if shared.session_lost.swap(false, Ordering::Relaxed) {
            let resend: Vec<Message> = unacked.drain(..).collect();
            tracing::warn!(
                count = resend.len(),
                "MQTT broker lost the session; sending unacknowledged events again."
            );
            if !resend.iter().all(|m| publish(m, &mut unacked)) {
                break;
            }
        }
        if shared.announce.swap(false, Ordering::Relaxed) && !publish(online, &mut unacked) {
            break;
        }
        shared.outstanding.store(unacked.len() as u64, Ordering::Relaxed);
        let message = match queue.recv_timeout(Duration::from_millis(50)) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // Out of the buffer but not yet with the client: still outstanding for flush.
        shared.outstanding.store(unacked.len() as u64 + 1, Ordering::Relaxed);
        if !publish(&message, &mut unacked) {
            break;
        }
        shared.outstanding.store(unacked.len() as u64, Ordering::Relaxed);
    }
}

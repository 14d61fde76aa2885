//! A real mosquitto broker on loopback, and a real MQTT subscriber.

use std::process::Command;

use super::http::free_port;
use super::run::tempdir;

/// A real mosquitto broker on 127.0.0.1 at a free port, with persistence so that a restart
/// keeps sessions and queued QoS 1 messages.
pub struct Broker {
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
    pub port: u16,
}

impl Broker {
    pub fn start() -> Self {
        let dir = tempdir();
        let port = free_port();
        let mut broker = Self { dir, child: None, port };
        broker.spawn();
        broker
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let conf = self.dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
                 max_queued_messages 100000\n",
                self.port,
                self.dir.path().display()
            ),
        )
        .unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto is installed (scripts/setup.sh)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("mosquitto did not start on port {}", self.port);
    }

    /// Stops the broker with SIGTERM (it saves its state) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
            child.wait().unwrap();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop it first");
        self.spawn();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A real MQTT subscriber (persistent session, QoS 1) collecting `(topic, payload)` pairs.
pub struct Subscriber {
    pub messages: crossbeam_channel::Receiver<(String, String)>,
    client: rumqttc::Client,
}

impl Subscriber {
    pub fn start(port: u16, filter: &str) -> Self {
        Self::connect(port, filter, &format!("test-sub-{port}"), false)
    }

    /// A second subscriber with a clean session of its own: it gets the retained messages, as
    /// a client that connects later (a restarted Home Assistant) would.
    pub fn late(port: u16, filter: &str, name: &str) -> Self {
        Self::connect(port, filter, &format!("test-{name}-{port}"), true)
    }

    fn connect(port: u16, filter: &str, client_id: &str, clean_session: bool) -> Self {
        use rumqttc::{Event, Packet, QoS};
        let mut options = rumqttc::MqttOptions::new(client_id, "127.0.0.1", port);
        options.set_clean_session(clean_session);
        options.set_keep_alive(std::time::Duration::from_secs(5));
        let (client, mut connection) = rumqttc::Client::new(options, 100);
        let (tx, messages) = crossbeam_channel::unbounded();
        let (subscribed_tx, subscribed) = crossbeam_channel::bounded(1);
        let sub_client = client.clone();
        let filter = filter.to_owned();
        std::thread::spawn(move || {
            for notification in connection.iter() {
                match notification {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        sub_client.try_subscribe(filter.clone(), QoS::AtLeastOnce).unwrap();
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = subscribed_tx.try_send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let payload = String::from_utf8(p.payload.to_vec()).unwrap();
                        if tx.send((p.topic.clone(), payload)).is_err() {
                            break;
                        }
                    }
                    Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
                }
            }
        });
        subscribed.recv_timeout(std::time::Duration::from_secs(10)).expect("subscribed");
        Self { messages, client }
    }

    /// Collects messages until `done` says so (inclusive) or `timeout` passes.
    pub fn collect_until(
        &self,
        timeout: std::time::Duration,
        seen: &mut Vec<(String, String)>,
        mut done: impl FnMut(&str, &str) -> bool,
    ) -> bool {
        let end = std::time::Instant::now() + timeout;
        while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
            match self.messages.recv_timeout(left) {
                Ok((topic, payload)) => {
                    let stop = done(&topic, &payload);
                    seen.push((topic, payload));
                    if stop {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.client.try_disconnect();
    }
}

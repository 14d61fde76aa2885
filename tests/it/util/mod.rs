//! Helpers shared by the integration tests, by concern: running the binary, reading its
//! events, making media, the HTTP listener, and the RTSP and MQTT peers.

mod events;
mod http;
mod media;
mod mqtt;
mod rtsp;
mod run;

pub use events::*;
pub use http::*;
pub use media::*;
pub use mqtt::*;
pub use rtsp::*;
pub use run::*;

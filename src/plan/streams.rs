//! One stream's settings: where it is, how it is decoded, and how it is reconnected.

use std::time::Duration;

use crate::config::{PipelineConfig, ReconnectConfig, SourceConfig, StreamConfig};
use crate::source::supervisor::ReconnectPolicy;
use crate::source::{FrameFormat, RtspSettings, SourceLocation, SourceOptions, location_of};

/// Everything one stream's thread needs, made from its `[[streams]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamPlan {
    pub id: String,
    pub live: bool,
    pub location: SourceLocation,
    pub options: SourceOptions,
    pub policy: ReconnectPolicy,
    /// The entry it was made from, to tell on reload whether the stream changed.
    pub config: StreamConfig,
}

impl StreamPlan {
    /// Every stream of `config`, decoded to `format`.
    pub fn all(config: &PipelineConfig, format: FrameFormat) -> Vec<Self> {
        config.streams.iter().map(|s| Self::new(s, format, &config.source)).collect()
    }

    pub fn new(config: &StreamConfig, format: FrameFormat, source: &SourceConfig) -> Self {
        let live = config.is_live();
        let mut options = SourceOptions::file(format);
        options.decoder_threads = source.decoder_threads;
        options.decoder = source.decoder.clone();
        if live {
            options.live = true;
            options.stall_timeout = Duration::from_secs_f64(config.reconnect.stall_timeout_s);
            let rtsp = &config.rtsp;
            options.rtsp = Some(RtspSettings {
                transport: rtsp.transport,
                latency_ms: rtsp.latency_ms,
                connect_timeout: Duration::from_secs_f64(rtsp.connect_timeout_s),
                user: rtsp.user.clone(),
                password: rtsp.resolved_password.clone(),
            });
        }
        Self {
            id: config.id.clone(),
            live,
            location: location_of(&config.uri),
            options,
            policy: reconnect_policy(&config.reconnect),
            config: config.clone(),
        }
    }
}

fn reconnect_policy(c: &ReconnectConfig) -> ReconnectPolicy {
    ReconnectPolicy {
        initial: Duration::from_secs_f64(c.initial_delay_s),
        factor: c.factor,
        max: Duration::from_secs_f64(c.max_delay_s),
        max_attempts: c.max_attempts,
    }
}

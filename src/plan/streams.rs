//! One stream's settings: where it is, how it is decoded, and how it is reconnected.

use std::time::Duration;

use crate::config::{AutoOr, PipelineConfig, ReconnectConfig, SourceConfig, StreamConfig};
use crate::flow::ReconnectPolicy;
use crate::source::{FrameFormat, RtspSettings, SourceLocation, SourceOptions, location_of};

/// Most libav threads `"auto"` gives one file's decoder: frame threading adds a frame of delay
/// and a frame's memory per thread, and gains little past eight.
const MAX_AUTO_DECODER_THREADS: usize = 8;

/// What `source.decoder_threads = "auto"` shares out: the cores this process may use, less the
/// threads inference keeps busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeCores {
    /// Cores this process may run on (affinity and cgroup quota included).
    pub cores: usize,
    /// The inference workers' intra-op threads.
    pub inference_threads: usize,
    /// Threads of each stream's frame encoder (two-stage models; 0 otherwise).
    pub encoder_threads: usize,
}

impl DecodeCores {
    /// The cores of this machine, for inference settings as planned.
    pub fn of_this_machine(inference_threads: usize, encoder_threads: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self { cores, inference_threads, encoder_threads }
    }

    /// libav's `max-threads` for one stream's decoder among `streams`.
    ///
    /// A live stream gets one thread: gst-libav threads a live stream by slices only (frame
    /// threading would add a frame of latency per thread), and a camera sends one slice a
    /// frame, so more threads would sleep. A file gets the cores inference leaves, shared
    /// among the streams (each stream's encoder counting as busy), at least 1, at most 8.
    pub fn threads(&self, choice: AutoOr, live: bool, streams: usize) -> u32 {
        match choice {
            AutoOr::Count(n) => n,
            AutoOr::Auto if live => 1,
            AutoOr::Auto => {
                let streams = streams.max(1);
                let busy = self.inference_threads + streams * self.encoder_threads;
                let spare = self.cores.saturating_sub(busy) / streams;
                spare.clamp(1, MAX_AUTO_DECODER_THREADS) as u32
            }
        }
    }
}

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
    /// Every stream of `config`, decoded to `format`, sharing `cores`.
    pub fn all(config: &PipelineConfig, format: FrameFormat, cores: DecodeCores) -> Vec<Self> {
        let count = config.streams.len();
        let threads = |s: &StreamConfig| cores.threads(config.source.decoder_threads, s.is_live(), count);
        config.streams.iter().map(|s| Self::new(s, format, &config.source, threads(s))).collect()
    }

    /// `decoder_threads`: libav's `max-threads` for this stream, resolved.
    pub fn new(
        config: &StreamConfig,
        format: FrameFormat,
        source: &SourceConfig,
        decoder_threads: u32,
    ) -> Self {
        let live = config.is_live();
        let mut options = SourceOptions::file(format);
        options.decoder_threads = decoder_threads;
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
    c.backoff().policy(c.max_attempts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_CORES_TWO_WORKERS: DecodeCores =
        DecodeCores { cores: 2, inference_threads: 2, encoder_threads: 0 };

    #[test]
    fn a_number_is_taken_as_given() {
        assert_eq!(TWO_CORES_TWO_WORKERS.threads(AutoOr::Count(3), true, 40), 3);
        assert_eq!(TWO_CORES_TWO_WORKERS.threads(AutoOr::Count(0), false, 1), 0);
    }

    #[test]
    fn auto_gives_a_live_stream_one_thread_however_many_cores() {
        let big = DecodeCores { cores: 64, inference_threads: 2, encoder_threads: 0 };
        assert_eq!(big.threads(AutoOr::Auto, true, 1), 1);
    }

    #[test]
    fn auto_gives_files_the_cores_inference_leaves_shared_among_streams() {
        // These machines: nothing is left over, and one thread was the measured best.
        assert_eq!(TWO_CORES_TWO_WORKERS.threads(AutoOr::Auto, false, 1), 1);
        let sixteen = DecodeCores { cores: 16, inference_threads: 2, encoder_threads: 0 };
        assert_eq!(sixteen.threads(AutoOr::Auto, false, 1), 8, "capped at eight");
        assert_eq!(sixteen.threads(AutoOr::Auto, false, 2), 7);
        assert_eq!(sixteen.threads(AutoOr::Auto, false, 4), 3);
        assert_eq!(sixteen.threads(AutoOr::Auto, false, 20), 1, "never oversubscribed, never 0");
        let pairs = DecodeCores { encoder_threads: 1, ..sixteen };
        assert_eq!(pairs.threads(AutoOr::Auto, false, 2), 6, "each stream's encoder is busy too");
    }
}

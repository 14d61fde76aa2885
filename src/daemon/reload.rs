//! SIGHUP reload: a new configuration's `[[streams]]` applied to the running set, leaving the
//! unchanged streams alone.

use std::collections::BTreeMap;

use super::streams::StreamSet;
use crate::config::PipelineConfig;
use crate::plan::StreamPlan;

impl StreamSet<'_> {
    /// Starts added streams, stops removed ones, restarts changed ones; rejects (and logs) a
    /// configuration that differs in anything but `[[streams]]`.
    pub fn reload(&mut self, config: &PipelineConfig) {
        let streams = match self.plan.reloaded_streams(config) {
            Ok(streams) => streams,
            Err(reason) => {
                tracing::error!(file = %config.file.display(), %reason,
                    "Reload rejected; the running configuration stays.");
                return;
            }
        };
        let wanted: BTreeMap<String, StreamPlan> = streams.into_iter().map(|s| (s.id.clone(), s)).collect();
        self.announce(wanted.keys().cloned().collect());
        let removed: Vec<String> =
            self.running.keys().filter(|id| !wanted.contains_key(*id)).cloned().collect();
        for id in &removed {
            self.stop_stream(id);
            self.progress.remove_state(id);
        }
        let (mut added, mut changed) = (0, 0);
        for (id, stream) in wanted {
            match self.running.get(&id) {
                Some(current) if current.plan == stream => continue,
                Some(_) => {
                    self.stop_stream(&id);
                    changed += 1;
                }
                None => added += 1,
            }
            if let Err(e) = self.spawn(stream) {
                tracing::error!(stream = %id, error = %e, "Could not start the stream.");
            }
        }
        tracing::info!(added, removed = removed.len(), changed, "Configuration reloaded.");
    }
}

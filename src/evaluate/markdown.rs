//! `report.md`: the comparison as tables a person reads in a terminal or a merge request.

use std::fmt::Write;

use bytesize::ByteSize;
use num_format::{Locale, ToFormattedString};

use super::report::{Evaluation, HeadReport};

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    n.to_formatted_string(&Locale::en)
}

/// Bytes in SI units (`13.0 MB`), as file managers show them.
pub fn size(bytes: u64) -> String {
    ByteSize::b(bytes).display().si().to_string()
}

/// A share as a percentage with one decimal, or `–` when undefined.
pub fn percent(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{:.1} %", x * 100.0))
}

/// The row of the summary table for one head.
pub fn summary_cells(h: &HeadReport) -> [String; 10] {
    let s = &h.speed;
    [
        h.name.clone(),
        thousands(h.model.parameters),
        size(h.model.bytes),
        format!("{}×{}/{}", h.window.length, h.window.frame_step, h.window.stride),
        thousands(h.scores.windows),
        percent(Some(h.scores.accuracy)),
        format!("{:.3}", h.scores.macro_f1),
        format!("{:.0}", s.frames_per_s),
        format!("{:.3}", s.cpu_ms_per_frame),
        format!("{:.0} MiB", s.peak_rss_bytes as f64 / (1024.0 * 1024.0)),
    ]
}

/// Headers of [`summary_cells`].
pub const SUMMARY_HEADERS: [&str; 10] = [
    "head",
    "parameters",
    "ONNX size",
    "window (T×step/stride)",
    "scored windows",
    "accuracy",
    "macro-F1",
    "frames/s",
    "CPU-ms/frame",
    "peak RSS",
];

fn row(out: &mut String, cells: &[String]) {
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

fn header(out: &mut String, cells: &[String], numeric_from: usize) {
    row(out, cells);
    let rule: Vec<&str> = (0..cells.len()).map(|i| if i < numeric_from { "---" } else { "---:" }).collect();
    let _ = writeln!(out, "|{}|", rule.join("|"));
}

/// The whole report.
pub fn report(e: &Evaluation) -> String {
    let mut out = String::new();
    let truth = &e.truth;
    let _ =
        writeln!(out, "# Head comparison: {} head(s) on {} held-out video(s)\n", e.heads.len(), truth.videos);
    let _ = writeln!(
        out,
        "Truth: {} — labels {}{}.\n",
        truth.sources.join(", "),
        truth.labels.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", "),
        truth.gap_label.as_ref().map_or(String::new(), |g| format!(" (time outside the segments: `{g}`)"))
    );
    let best = e.heads.iter().find(|h| h.name == e.recommended).expect("the recommended head is one of them");
    let _ = writeln!(
        out,
        "**Recommended: `{}`** (macro-F1 {:.3}, {:.3} CPU-ms per frame, {}) — rule: {}.\n",
        best.name, best.scores.macro_f1, best.speed.cpu_ms_per_frame, best.pipeline, e.rule
    );
    let headers: Vec<String> = SUMMARY_HEADERS.iter().map(|s| s.to_string()).collect();
    header(&mut out, &headers, 1);
    for h in &e.heads {
        row(&mut out, &summary_cells(h));
    }
    let _ = writeln!(
        out,
        "\nA window is scored when all its frames lie in one labelled stretch; its label is the head's best label \
         (unsmoothed). Speed: the real daemon end to end (decode, window, infer, output), {} video(s) per run, \
         CPU = user + system time of the daemon, per decoded frame.\n",
        e.heads.first().map_or(0, |h| h.speed.videos_per_run)
    );
    let _ = writeln!(out, "## Accuracy per class\n");
    let mut headers = vec!["head".to_owned()];
    headers.extend(truth.labels.iter().map(|l| format!("`{l}`")));
    header(&mut out, &headers, 1);
    for h in &e.heads {
        let mut cells = vec![h.name.clone()];
        cells.extend(truth.labels.iter().map(|l| match h.class(l) {
            Some(c) => format!("{} ({}/{})", percent(c.accuracy), c.correct, c.windows),
            None => "–".into(),
        }));
        row(&mut out, &cells);
    }
    let _ = writeln!(out, "\n## Confusion matrices\n\nRows: the truth; columns: the head's label.\n");
    for h in &e.heads {
        let m = &h.scores.confusion;
        let _ = writeln!(out, "### `{}`\n", h.name);
        let mut headers = vec!["truth \\ head".to_owned()];
        headers.extend(m.columns.iter().map(|c| format!("`{c}`")));
        header(&mut out, &headers, 1);
        for (label, counts) in m.rows.iter().zip(&m.counts) {
            let mut cells = vec![format!("`{label}`")];
            cells.extend(counts.iter().map(|c| c.to_string()));
            row(&mut out, &cells);
        }
        let _ = writeln!(out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(thousands(3_247_816), "3,247,816");
        assert_eq!(thousands(999), "999");
        assert_eq!(size(12_997_664), "13.0 MB");
        assert_eq!(size(415_072), "415.1 kB");
        assert_eq!(percent(Some(0.5)), "50.0 %");
        assert_eq!(percent(None), "–");
    }
}

//! `report.html`: the comparison with pictures, one self-contained file (no script, no CDN):
//! the summary table, every head's confusion matrix side by side as a heat map, and a timeline of
//! each held-out video — the truth above each head's labels, with a strip marking each window
//! right, wrong or not scored. Written with `maud`, which escapes every label and path.

use maud::{DOCTYPE, Markup, html};

use super::markdown::{SUMMARY_HEADERS, percent, summary_cells};
use super::report::{Evaluation, HeadReport, VideoReport};

/// Tableau 10: distinct at a glance, and safe for the commonest colour blindness.
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
    "#bab0ac",
];
const UNLABELLED: &str = "#eeeeee";
/// The strip under a head's labels: grey where right, black where wrong, so it never reads as
/// one of the label colours.
const RIGHT: &str = "#c8c8c8";
const WRONG: &str = "#111111";
const CELL: f64 = 34.0;
const TIMELINE_WIDTH: f64 = 900.0;
const ROW_NAME_WIDTH: f64 = 150.0;
const ROW_HEIGHT: f64 = 18.0;

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
td:first-child,th:first-child{text-align:left}.best{background:#eef6e8}\
.matrices{display:flex;flex-wrap:wrap;gap:2em}.legend span{display:inline-block;margin-right:1em}\
.swatch{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}\
svg text{font:11px system-ui,sans-serif}";

/// Every label that appears (the truth's first, then the heads' others), each with its colour.
struct Colours(Vec<String>);

impl Colours {
    fn new(e: &Evaluation) -> Self {
        let mut labels = e.truth.labels.clone();
        for label in e.heads.iter().flat_map(|h| &h.labels) {
            if !labels.contains(label) {
                labels.push(label.clone());
            }
        }
        Self(labels)
    }

    fn of(&self, label: Option<&str>) -> &'static str {
        label
            .and_then(|l| self.0.iter().position(|x| x == l))
            .map_or(UNLABELLED, |i| PALETTE[i % PALETTE.len()])
    }
}

/// The whole report.
pub fn report(e: &Evaluation) -> String {
    let colours = Colours::new(e);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "actiond: head comparison" }
                style { (STYLE) }
            }
            body {
                h1 { "Head comparison: " (e.heads.len()) " head(s) on " (e.truth.videos) " held-out video(s)" }
                p {
                    "Truth: " (e.truth.sources.join(", ")) ". Recommended: " strong { (e.recommended) }
                    " — rule: " (e.rule) "."
                }
                (summary(e))
                h2 { "Confusion matrices" }
                p { "Rows: the truth; columns: the head's label; shade: the share of the row." }
                div.matrices { @for h in &e.heads { (matrix(h)) } }
                h2 { "Timelines" }
                (legend(&colours))
                @for v in &e.videos { (timeline(v, &colours)) }
            }
        }
    };
    page.into_string()
}

fn summary(e: &Evaluation) -> Markup {
    html! {
        table {
            tr { @for h in SUMMARY_HEADERS { th { (h) } } }
            @for h in &e.heads {
                tr class=[(h.name == e.recommended).then_some("best")] {
                    @for cell in summary_cells(h) { td { (cell) } }
                }
            }
        }
        h2 { "Accuracy per class" }
        table {
            tr { th { "head" } @for l in &e.truth.labels { th { (l) } } }
            @for h in &e.heads {
                tr {
                    td { (h.name) }
                    @for l in &e.truth.labels {
                        @if let Some(c) = h.class(l) {
                            td title=(format!("{} of {} windows", c.correct, c.windows)) { (percent(c.accuracy)) }
                        } @else { td { "–" } }
                    }
                }
            }
        }
    }
}

fn matrix(h: &HeadReport) -> Markup {
    let m = &h.scores.confusion;
    let left = 110.0;
    let top = 100.0;
    let width = left + CELL * m.columns.len() as f64 + 10.0;
    let height = top + CELL * m.rows.len() as f64 + 10.0;
    html! {
        figure {
            figcaption { strong { (h.name) } " — accuracy " (percent(Some(h.scores.accuracy)))
                ", macro-F1 " (format!("{:.3}", h.scores.macro_f1)) }
            svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height) {
                @for (c, label) in m.columns.iter().enumerate() {
                    text x=(left + CELL * (c as f64 + 0.5)) y=(top - 6.0) text-anchor="start"
                        transform=(format!("rotate(-45 {} {})", left + CELL * (c as f64 + 0.5), top - 6.0)) { (label) }
                }
                @for (r, (label, counts)) in m.rows.iter().zip(&m.counts).enumerate() {
                    @let total = counts.iter().sum::<u64>().max(1) as f64;
                    @let y = top + CELL * r as f64;
                    text x=(left - 6.0) y=(y + CELL / 2.0 + 4.0) text-anchor="end" { (label) }
                    @for (c, &n) in counts.iter().enumerate() {
                        @let x = left + CELL * c as f64;
                        @let share = n as f64 / total;
                        rect x=(x) y=(y) width=(CELL) height=(CELL) stroke="#ccc"
                            fill=(format!("rgba(78,121,167,{share:.3})")) {
                            title { (label) " → " (m.columns[c]) ": " (n) }
                        }
                        text x=(x + CELL / 2.0) y=(y + CELL / 2.0 + 4.0) text-anchor="middle"
                            fill=(if share > 0.6 { "#fff" } else { "#222" }) { (n) }
                    }
                }
            }
        }
    }
}

fn legend(colours: &Colours) -> Markup {
    html! {
        p.legend {
            @for l in &colours.0 { span { span.swatch style=(format!("background:{}", colours.of(Some(l)))) {} (l) } }
            span { span.swatch style=(format!("background:{UNLABELLED}")) {} "unlabelled" }
            span { span.swatch style=(format!("background:{RIGHT}")) {} "window right" }
            span { span.swatch style=(format!("background:{WRONG}")) {} "window wrong" }
        }
    }
}

fn timeline(v: &VideoReport, colours: &Colours) -> Markup {
    let span = TIMELINE_WIDTH - ROW_NAME_WIDTH;
    let scale = if v.duration_s > 0.0 { span / v.duration_s } else { 0.0 };
    let x = |t: f64| ROW_NAME_WIDTH + t.clamp(0.0, v.duration_s) * scale;
    let rows = 1 + v.heads.len();
    let height = ROW_HEIGHT * 1.5 * rows as f64 + 16.0;
    html! {
        h3 { (v.video) }
        p { (v.frames) " frames, " (format!("{:.2}", v.duration_s)) " s" }
        svg xmlns="http://www.w3.org/2000/svg" width=(TIMELINE_WIDTH) height=(height) {
            text x="0" y=(ROW_HEIGHT - 5.0) { "truth" }
            @for s in &v.truth {
                rect x=(x(s.start_s)) y="0" width=((x(s.end_s) - x(s.start_s)).max(0.0)) height=(ROW_HEIGHT)
                    fill=(colours.of(s.label.as_deref())) {
                    title { (s.label.as_deref().unwrap_or("unlabelled")) ": " (format!("{:.2}–{:.2} s", s.start_s, s.end_s)) }
                }
            }
            @for (i, h) in v.heads.iter().enumerate() {
                @let y = ROW_HEIGHT * 1.5 * (i + 1) as f64;
                text x="0" y=(y + ROW_HEIGHT - 5.0) { (h.head) }
                @for (n, w) in h.windows.iter().enumerate() {
                    // Each window is drawn up to the start of the next, so overlapping windows
                    // show, at each time, the label of the latest window that began.
                    @let end = h.windows.get(n + 1).map_or(w.window.end_s, |next| next.window.start_s.max(w.window.start_s));
                    @let verdict = match &w.truth { Some(t) if *t == w.window.label => RIGHT, Some(_) => WRONG, None => UNLABELLED };
                    rect x=(x(w.window.start_s)) y=(y) width=((x(end) - x(w.window.start_s)).max(0.5)) height=(ROW_HEIGHT - 5.0)
                        fill=(colours.of(Some(&w.window.label))) {
                        title { (w.window.label) " " (format!("{:.2}", w.window.score)) ", frames " (w.window.first_frame) "–" (w.window.last_frame)
                            ", truth " (w.truth.as_deref().unwrap_or("not scored")) }
                    }
                    rect x=(x(w.window.start_s)) y=(y + ROW_HEIGHT - 4.0) width=((x(end) - x(w.window.start_s)).max(0.5)) height="3"
                        fill=(verdict) {}
                }
            }
            text x=(ROW_NAME_WIDTH) y=(height - 2.0) { "0 s" }
            text x=(TIMELINE_WIDTH) y=(height - 2.0) text-anchor="end" { (format!("{:.1} s", v.duration_s)) }
        }
    }
}

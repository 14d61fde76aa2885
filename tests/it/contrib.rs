//! `contrib/`: the Prometheus alert rules and the Grafana dashboard name only metrics a running
//! actiond exports (scraped from its `/metrics`), the rules pass `promtool check rules` and their own `promtool test rules` cases, and
//! the dashboard is valid JSON with a query on every panel.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use crate::util::*;

/// The metric families a running actiond exports (a live camera, windows flowing), from the
/// `# TYPE` lines of its `/metrics`.
fn exported_families() -> BTreeSet<String> {
    let dir = tempdir();
    let camera = RtspServer::start(&["--live", "--width", "160", "--height", "120"]);
    let port = free_port();
    let p = write_pipeline(
        dir.path(),
        "p.toml",
        &format!(
            "[model]\npath = \"{}\"\nlabels = \"{}\"\nheight = 32\nwidth = 32\n\n[window]\nstride = 2\n\n\
             [service]\nhttp_listen = \"127.0.0.1:{port}\"\n\n[[streams]]\nid = \"cam\"\nuri = \"{}\"\n",
            fixture("mean_color_ncthw.onnx").display(),
            fixture("rgb_labels.txt").display(),
            camera.url
        ),
    );
    let daemon = Daemon::start(&p, &[]);
    let mut seen = Vec::new();
    let windows = |e: &serde_json::Value| e["type"] == "window";
    assert!(daemon.wait_for(Duration::from_secs(20), &mut seen, windows), "{}", daemon.stderr());
    let (code, text) = http_get(port, "/metrics");
    assert_eq!(code, 200);
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Every `actiond_…` name in `text`, as the family it belongs to (`_total`, `_bucket`, `_sum`,
/// `_count` are sample suffixes of one family).
fn referenced_families(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("actiond_") {
        let name: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        let family = ["_total", "_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(&name);
        found.insert(family.to_owned());
    }
    found
}

#[test]
fn alert_rules_and_dashboard_name_only_exported_metrics() {
    let exported = exported_families();
    assert!(exported.contains("actiond_stalled_seconds"), "{exported:?}");
    for file in ["contrib/prometheus/actiond-alerts.yml", "contrib/grafana/actiond-dashboard.json"] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let referenced = referenced_families(&text);
        assert!(referenced.len() >= 5, "{file} names few metrics: {referenced:?}");
        let unknown: Vec<_> = referenced.difference(&exported).collect();
        assert!(unknown.is_empty(), "{file} names metrics actiond does not export: {unknown:?}");
    }
}

#[test]
fn the_dashboard_is_json_with_a_query_on_every_panel() {
    let text = std::fs::read_to_string(root().join("contrib/grafana/actiond-dashboard.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 8);
    for panel in panels {
        let targets = panel["targets"].as_array().unwrap_or_else(|| panic!("no targets: {panel}"));
        assert!(
            targets.iter().all(|t| t["expr"].as_str().is_some_and(|e| e.contains("actiond_"))),
            "{panel}"
        );
    }
}

#[test]
fn alert_rules_pass_promtool_and_fire_on_their_test_series() {
    let dir = root().join("contrib/prometheus");
    for args in
        [&["check", "rules", "actiond-alerts.yml"][..], &["test", "rules", "actiond-alerts.test.yml"][..]]
    {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("promtool (Debian's prometheus package) is installed by scripts/setup.sh");
        assert!(out.status.success(), "promtool {args:?}: {}{}", stdout(&out), stderr(&out));
    }
}

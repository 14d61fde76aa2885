//! Home Assistant MQTT discovery through a real mosquitto: every config published under
//! `homeassistant/#` is checked against Home Assistant's documented discovery schema, the
//! action binary sensors follow the actions of a timeline video, the states are retained for a
//! Home Assistant that connects later, and a stream removed by SIGHUP loses its entities.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use crate::util::*;
use serde_json::Value;

/// The options Home Assistant documents for MQTT discovery configs of the two components used
/// (home-assistant.io/integrations/binary_sensor.mqtt and sensor.mqtt, full names only).
const COMMON_KEYS: &[&str] = &[
    "availability",
    "availability_mode",
    "availability_template",
    "availability_topic",
    "default_entity_id",
    "device",
    "device_class",
    "enabled_by_default",
    "encoding",
    "entity_category",
    "entity_picture",
    "expire_after",
    "force_update",
    "icon",
    "json_attributes_template",
    "json_attributes_topic",
    "name",
    "object_id",
    "origin",
    "payload_available",
    "payload_not_available",
    "platform",
    "qos",
    "state_topic",
    "unique_id",
    "value_template",
];
const BINARY_SENSOR_KEYS: &[&str] = &["off_delay", "payload_off", "payload_on"];
const SENSOR_KEYS: &[&str] = &[
    "last_reset_value_template",
    "options",
    "state_class",
    "suggested_display_precision",
    "unit_of_measurement",
];
const DEVICE_KEYS: &[&str] = &[
    "configuration_url",
    "connections",
    "hw_version",
    "identifiers",
    "manufacturer",
    "model",
    "model_id",
    "name",
    "serial_number",
    "suggested_area",
    "sw_version",
    "via_device",
];
const ORIGIN_KEYS: &[&str] = &["name", "sw_version", "support_url"];
const AVAILABILITY_KEYS: &[&str] = &["payload_available", "payload_not_available", "topic", "value_template"];
/// Home Assistant's binary sensor device classes (a subset is enough: the one used must be one).
const BINARY_SENSOR_CLASSES: &[&str] =
    &["connectivity", "motion", "moving", "occupancy", "presence", "problem", "running", "safety"];

fn keys_within(object: &Value, allowed: &[&str], what: &str) {
    let map = object.as_object().unwrap_or_else(|| panic!("{what} is not an object: {object}"));
    for key in map.keys() {
        assert!(allowed.contains(&key.as_str()), "{what}: `{key}` is not a documented option");
    }
}

fn is_id(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Checks one discovery message against the documented schema; returns (component, config).
fn check_config(topic: &str, payload: &str) -> (String, Value) {
    // <discovery_prefix>/<component>/[<node_id>/]<object_id>/config
    let parts: Vec<&str> = topic.split('/').collect();
    assert_eq!(parts.len(), 5, "{topic}");
    assert_eq!((parts[0], parts[4]), ("homeassistant", "config"), "{topic}");
    assert!(is_id(parts[2]) && is_id(parts[3]), "node and object ids must be [A-Za-z0-9_-]: {topic}");
    let component = parts[1].to_owned();
    let config: Value = serde_json::from_str(payload).unwrap_or_else(|e| panic!("{topic}: {e}: {payload}"));
    let extra = match component.as_str() {
        "binary_sensor" => BINARY_SENSOR_KEYS,
        "sensor" => SENSOR_KEYS,
        other => panic!("unexpected component {other}"),
    };
    let allowed: Vec<&str> = COMMON_KEYS.iter().chain(extra).copied().collect();
    keys_within(&config, &allowed, topic);
    for required in ["unique_id", "state_topic", "name", "device", "availability", "origin"] {
        assert!(config.get(required).is_some(), "{topic}: no `{required}`");
    }
    let state = config["state_topic"].as_str().unwrap();
    assert!(!state.is_empty() && !state.contains(['+', '#']), "{topic}: state_topic {state}");
    keys_within(&config["device"], DEVICE_KEYS, "device");
    let identifiers = config["device"]["identifiers"].as_array().expect("device.identifiers is a list");
    assert!(!identifiers.is_empty() && identifiers.iter().all(Value::is_string));
    keys_within(&config["origin"], ORIGIN_KEYS, "origin");
    assert!(config["origin"]["name"].is_string());
    let availability = config["availability"].as_array().expect("availability is a list");
    for entry in availability {
        keys_within(entry, AVAILABILITY_KEYS, "availability");
        assert_eq!(entry["topic"], "actiond/availability", "the daemon's retained availability topic");
        assert_eq!(
            (&entry["payload_available"], &entry["payload_not_available"]),
            (&"online".into(), &"offline".into())
        );
    }
    if let Some(class) = config.get("device_class") {
        assert_eq!(component, "binary_sensor");
        assert!(BINARY_SENSOR_CLASSES.contains(&class.as_str().unwrap()), "{class}");
    }
    if let Some(category) = config.get("entity_category") {
        assert!(["config", "diagnostic"].contains(&category.as_str().unwrap()), "{category}");
    }
    if let Some(qos) = config.get("qos") {
        assert!(qos.as_u64().is_some_and(|q| q <= 2));
    }
    (component, config)
}

/// Discovery configs by topic (the last payload each topic got; empty when withdrawn).
fn configs(seen: &[(String, String)]) -> BTreeMap<String, String> {
    seen.iter().filter(|(t, _)| t.starts_with("homeassistant/")).cloned().collect()
}

fn states(seen: &[(String, String)], topic: &str) -> Vec<String> {
    seen.iter().filter(|(t, _)| t == topic).map(|(_, p)| p.clone()).collect()
}

fn pipeline(dir: &Path, broker: &Broker, streams: &str) -> std::path::PathBuf {
    write_pipeline(
        dir,
        "ha.toml",
        &format!(
            "{}\n[window]\nstride = 5\n\n[events]\nmodes = [\"windows\", \"actions\"]\naverage = 2\n\
             on_threshold = 0.5\noff_threshold = 0.3\nmin_windows = 2\nignore = [\"still\"]\n\n\
             [[sinks]]\ntype = \"stdout\"\n\n[[sinks]]\ntype = \"mqtt\"\nurl = \"{}\"\ndiscovery = true\n\
             types = [\"action_start\", \"action_end\"]\n\n{streams}",
            demo_model_table(),
            broker.url(),
        ),
    )
}

#[test]
fn discovery_configs_follow_the_schema_and_action_sensors_follow_the_video() {
    let dir = tempdir();
    let broker = Broker::start();
    let subscriber = Subscriber::start(broker.port, "#");
    let video = dir.path().join("t.mp4");
    let truth = synth_video(&video, 320, 240, 8, 31);
    let streams = format!("[[streams]]\nid = \"t\"\nuri = \"{}\"\n", video.display());
    let out = actiond(&["run", pipeline(dir.path(), &broker, &streams).to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut seen = Vec::new();
    let offline = |t: &str, p: &str| t == "actiond/availability" && p == "offline";
    assert!(subscriber.collect_until(Duration::from_secs(20), &mut seen, offline), "no offline: {seen:?}");

    // Every config follows the schema; one device for the stream, unique ids, the entities.
    let labels: Vec<String> = std::fs::read_to_string(root().join("models/labels.txt"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let published = configs(&seen);
    let mut unique_ids = BTreeSet::new();
    let mut names = BTreeSet::new();
    let mut devices = BTreeSet::new();
    for (topic, payload) in &published {
        let (component, config) = check_config(topic, payload);
        assert!(unique_ids.insert(config["unique_id"].as_str().unwrap().to_owned()), "duplicate unique_id");
        names.insert((component, config["name"].as_str().unwrap().to_owned()));
        devices.insert(config["device"]["identifiers"].to_string());
    }
    assert_eq!(devices.len(), 1, "one device per stream");
    let mut expected: BTreeSet<(String, String)> =
        labels.iter().filter(|l| *l != "still").map(|l| ("binary_sensor".to_owned(), l.clone())).collect();
    expected.insert(("binary_sensor".into(), "Connectivity".into()));
    expected.insert(("sensor".into(), "Label".into()));
    assert_eq!(names, expected, "a connectivity sensor, the label, one binary sensor per action label");

    // The action sensors go ON and OFF with the video's segments, in order (still is ignored).
    let mut transitions = Vec::new();
    for (topic, payload) in &seen {
        if let Some(label) = topic.strip_prefix("actiond/t/state/action/") {
            transitions.push((label.to_owned(), payload.clone()));
        }
    }
    let initial: Vec<&(String, String)> = transitions.iter().take(labels.len() - 1).collect();
    assert!(initial.iter().all(|(_, p)| p == "OFF"), "every action sensor starts OFF: {initial:?}");
    let after: Vec<(String, String)> = transitions[labels.len() - 1..].to_vec();
    let ons: Vec<&str> = after.iter().filter(|(_, p)| p == "ON").map(|(l, _)| l.as_str()).collect();
    let moving: Vec<&str> = truth["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .filter(|l| *l != "still")
        .collect();
    assert_eq!(ons, moving, "ON follows the video's actions: {after:?}");
    for label in &moving {
        let own: Vec<&str> = after.iter().filter(|(l, _)| l == label).map(|(_, p)| p.as_str()).collect();
        assert!(own.chunks(2).all(|pair| pair == ["ON", "OFF"]), "{label}: {own:?}");
    }
    // The label sensor sees every segment's label, the ignored `still` too, though the sink is
    // given action events only.
    let seen_labels: BTreeSet<String> = states(&seen, "actiond/t/state/label")
        .iter()
        .map(|p| serde_json::from_str::<Value>(p).unwrap()["label"].as_str().unwrap().to_owned())
        .collect();
    for segment in truth["segments"].as_array().unwrap() {
        assert!(seen_labels.contains(segment["label"].as_str().unwrap()), "{seen_labels:?}");
    }
    assert_eq!(states(&seen, "actiond/t/state/connectivity"), ["OFF", "ON", "OFF"]);
    assert!(states(&seen, "actiond/t/window").is_empty(), "the sink's `types` leave windows out");

    // A Home Assistant connecting now gets the configs and the last states, retained.
    let late = Subscriber::late(broker.port, "#", "late");
    let mut retained = Vec::new();
    late.collect_until(Duration::from_secs(3), &mut retained, |_, _| false);
    assert_eq!(configs(&retained), published);
    for label in &moving {
        assert_eq!(states(&retained, &format!("actiond/t/state/action/{label}")), ["OFF"]);
    }
    assert_eq!(states(&retained, "actiond/t/state/connectivity"), ["OFF"]);
    assert_eq!(states(&retained, "actiond/availability"), ["offline"]);
}

#[test]
fn a_stream_removed_by_reload_loses_its_entities_and_ids_survive_a_restart() {
    let dir = tempdir();
    let broker = Broker::start();
    let cameras: Vec<RtspServer> =
        (0..2).map(|_| RtspServer::start(&["--live", "--width", "160", "--height", "120"])).collect();
    let stream = |id: &str, camera: &RtspServer| {
        format!(
            "[[streams]]\nid = \"{id}\"\nuri = \"{}\"\n[streams.rtsp]\ntransport = \"tcp\"\n\n",
            camera.url
        )
    };
    let both = format!("{}{}", stream("door", &cameras[0]), stream("yard", &cameras[1]));
    let path = pipeline(dir.path(), &broker, &both);
    let subscriber = Subscriber::start(broker.port, "#");
    let daemon = Daemon::start(&path, &[]);
    let mut seen = Vec::new();
    let up = |id: &str| format!("actiond/{id}/state/connectivity");
    let both_up = |seen: &[(String, String)]| {
        ["door", "yard"].iter().all(|id| states(seen, &up(id)).last().is_some_and(|s| s == "ON"))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !both_up(&seen) && std::time::Instant::now() < deadline {
        subscriber.collect_until(Duration::from_millis(200), &mut seen, |_, _| false);
    }
    assert!(both_up(&seen), "{}", daemon.stderr());
    let first = configs(&seen);
    let yard: Vec<&String> = first.keys().filter(|t| t.contains("/yard_")).collect();
    assert_eq!(yard.len(), first.len() / 2, "{first:?}");
    // The default node id names the host and the pipeline, so two daemons do not collide.
    assert!(yard[0].contains("/actiond-") && yard[0].contains("-ha/"), "{}", yard[0]);

    std::fs::write(&path, std::fs::read_to_string(&path).unwrap().replace(&stream("yard", &cameras[1]), ""))
        .unwrap();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &daemon.pid().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let withdrawn = |seen: &[(String, String)]| yard.iter().all(|t| configs(seen)[*t].is_empty());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !withdrawn(&seen) && std::time::Instant::now() < deadline {
        subscriber.collect_until(Duration::from_millis(200), &mut seen, |_, _| false);
    }
    assert!(withdrawn(&seen), "yard's configs are emptied after the reload\n{}", daemon.stderr());
    let (code, _) = daemon.terminate(&mut Vec::new());
    assert_eq!(code, Some(0));

    // What a Home Assistant connecting now sees: door's entities only, yard's states cleared.
    let late = Subscriber::late(broker.port, "#", "late");
    let mut retained = Vec::new();
    late.collect_until(Duration::from_secs(3), &mut retained, |_, _| false);
    let left = configs(&retained);
    assert!(!left.is_empty() && left.keys().all(|t| t.contains("/door_")), "{left:?}");
    assert!(retained.iter().all(|(t, _)| !t.starts_with("actiond/yard/")), "{retained:?}");

    // Restarted, the daemon publishes the same configs again: the same unique ids.
    let again = Subscriber::late(broker.port, "#", "again");
    let daemon = Daemon::start(&path, &[]);
    let mut republished = Vec::new();
    let door_up = |t: &str, p: &str| t == "actiond/door/state/connectivity" && p == "ON";
    assert!(again.collect_until(Duration::from_secs(30), &mut republished, door_up), "{}", daemon.stderr());
    let (code, _) = daemon.terminate(&mut Vec::new());
    assert_eq!(code, Some(0));
    for (topic, retained_config) in &left {
        let payloads = states(&republished, topic);
        assert_eq!(payloads.len(), 2, "{topic}: retained, then published again at start");
        let unique_id = |p: &str| serde_json::from_str::<Value>(p).unwrap()["unique_id"].clone();
        assert_eq!(unique_id(&payloads[1]), unique_id(retained_config), "{topic}");
    }
}

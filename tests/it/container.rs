//! The container files (`Dockerfile`, `.dockerignore`, `contrib/docker/`): no image can be built
//! on these machines (no registry to pull `debian:12-slim` or `rust:1.95-bookworm` from), so what
//! can be checked here is: hadolint passes the Dockerfile; everything it copies exists in the
//! build context and is not excluded; `docker-compose config` accepts the compose file and every
//! host file it mounts exists; and the compose file's pipeline, with the image's paths mapped to
//! this checkout, runs for real with the image's environment while the image's `HEALTHCHECK`
//! command succeeds against it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util::*;

/// Where the image puts the models (`install.sh` with `PREFIX=/usr`).
const IMAGE_DATA_DIR: &str = "/usr/share/actiond";

/// The Dockerfile's instructions, continuation lines joined, comments left out.
fn instructions() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current).split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
    }
    out
}

/// The arguments of every instruction named `name` (e.g. `COPY`).
fn arguments_of(name: &str) -> Vec<String> {
    instructions()
        .into_iter()
        .filter_map(|i| i.strip_prefix(&format!("{name} ")).map(str::to_owned))
        .collect()
}

/// The value the Dockerfile's `ENV` gives `key`.
fn env_value(key: &str) -> String {
    arguments_of("ENV")
        .iter()
        .find_map(|args| args.strip_prefix(&format!("{key}=")).map(str::to_owned))
        .unwrap_or_else(|| panic!("the Dockerfile sets no {key}"))
}

/// Files of the checkout a `COPY` source names: a path, or a `*` in the last component.
fn matching_files(source: &str) -> Vec<PathBuf> {
    let path = root().join(source);
    let Some((prefix, suffix)) = source.rsplit('/').next().unwrap().split_once('*') else {
        return if path.exists() { vec![path] } else { vec![] };
    };
    let dir = path.parent().unwrap();
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(suffix) && name.len() >= prefix.len() + suffix.len()
        })
        .collect()
}

/// The `.dockerignore` patterns; each is a path or a path with one trailing `*`, the only forms
/// this check understands (asserted).
fn ignore_patterns() -> Vec<String> {
    let text = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    let patterns: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    for p in &patterns {
        let simple = !p.starts_with('!') && !p.contains(['?', '[']) && !p.trim_end_matches('*').contains('*');
        assert!(simple, ".dockerignore pattern {p:?} is beyond what this test can check");
    }
    patterns
}

fn ignored(relative: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => relative.starts_with(prefix),
        None => relative == p || relative.starts_with(&format!("{p}/")),
    })
}

#[test]
fn hadolint_passes_the_dockerfile() {
    let hadolint = std::fs::read_dir(root().join(".tools"))
        .expect(".tools/ exists (scripts/setup.sh installs hadolint there)")
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("hadolint-"))
        .expect("hadolint is installed in .tools/ (scripts/setup.sh)");
    let out = Command::new(&hadolint).arg(root().join("Dockerfile")).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "hadolint:\n{said}");
}

#[test]
fn everything_the_image_copies_is_in_the_build_context() {
    let patterns = ignore_patterns();
    let copies: Vec<String> =
        arguments_of("COPY").into_iter().filter(|a| !a.starts_with("--from=")).collect();
    assert!(copies.len() >= 4, "the build stage copies the sources: {copies:?}");
    for copy in &copies {
        let words: Vec<&str> = copy.split_whitespace().collect();
        for source in &words[..words.len() - 1] {
            let files = matching_files(source);
            assert!(!files.is_empty(), "COPY {source}: nothing in the checkout matches");
            for file in files {
                let relative = file.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
                assert!(!ignored(&relative, &patterns), "COPY {source}: {relative} is in .dockerignore");
                assert!(
                    tracked(&relative),
                    "COPY {source}: {relative} is not in git (a clean clone lacks it)"
                );
            }
        }
    }
    // The library and the tools the image must not carry from a developer's checkout.
    for local in [".onnxruntime/x", ".tools/x", "target/release/actiond", ".git/HEAD", "models/.venv-train/x"]
    {
        assert!(ignored(local, &patterns), "{local} would be sent to the image build");
    }
}

/// Whether git tracks `relative` (a file, or any file below a folder).
fn tracked(relative: &str) -> bool {
    let out = Command::new("git").current_dir(root()).args(["ls-files", "--", relative]).output().unwrap();
    out.status.success() && !out.stdout.is_empty()
}

#[test]
fn compose_file_is_valid_and_mounts_files_that_exist() {
    let compose = root().join("contrib/docker/compose.yaml");
    let out = Command::new("docker-compose")
        .arg("-f")
        .arg(&compose)
        .args(["config", "-q"])
        .output()
        .expect("docker-compose is installed (scripts/setup.sh)");
    assert!(out.status.success(), "docker-compose config: {}", stderr(&out));
    let text = std::fs::read_to_string(&compose).unwrap();
    let mounted: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- ./"))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert!(mounted.contains(&"pipeline.toml") && mounted.contains(&"mosquitto.conf"), "{mounted:?}");
    for file in mounted {
        assert!(compose.parent().unwrap().join(file).is_file(), "compose mounts ./{file}, which is missing");
    }
    assert!(text.contains("context: ../..") && text.contains("dockerfile: Dockerfile"), "{text}");
}

/// The compose file's pipeline with the image's paths mapped to this checkout, its camera and
/// broker to ones on loopback.
fn compose_pipeline_here(dir: &Path, camera: &str, broker: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("contrib/docker/pipeline.toml")).unwrap();
    for expected in
        [IMAGE_DATA_DIR, "mqtt://mosquitto:1883", "rtsp://192.0.2.10:554/stream1", "/var/lib/actiond/"]
    {
        assert!(text.contains(expected), "contrib/docker/pipeline.toml no longer names {expected}");
    }
    let text = text
        .replace(IMAGE_DATA_DIR, root().to_str().unwrap())
        .replace("mqtt://mosquitto:1883", broker)
        .replace("rtsp://192.0.2.10:554/stream1", camera)
        .replace("/var/lib/actiond/", &format!("{}/", dir.display()));
    write_pipeline(dir, "pipeline.toml", &text)
}

#[test]
fn the_compose_pipeline_runs_with_the_image_environment_and_passes_its_healthcheck() {
    let listen = env_value("ACTIOND__SERVICE__HTTP_LISTEN");
    let image_port = listen.rsplit(':').next().unwrap();
    assert!(arguments_of("EXPOSE").iter().any(|p| p == image_port), "EXPOSE {image_port} missing");
    let healthcheck = arguments_of("HEALTHCHECK").pop().expect("a HEALTHCHECK");
    let command = healthcheck.split_once("CMD ").expect("HEALTHCHECK ... CMD [...]").1;
    let command: Vec<String> = serde_json::from_str(command).expect("HEALTHCHECK CMD in exec form");
    let image_url = format!("http://127.0.0.1:{image_port}/healthz");
    assert!(command.contains(&image_url), "the HEALTHCHECK asks {command:?}, the daemon listens on {listen}");

    let dir = tempdir();
    let camera = RtspServer::start(&["--live", "--width", "160", "--height", "120"]);
    let broker = Broker::start();
    let discovery = Subscriber::start(broker.port, "homeassistant/#");
    let pipeline = compose_pipeline_here(dir.path(), &camera.url, &broker.url());
    let port = free_port();
    let here = format!("127.0.0.1:{port}");
    let daemon = Daemon::start(&pipeline, &[("ACTIOND__SERVICE__HTTP_LISTEN", &here)]);
    let mut seen = Vec::new();
    let window = |e: &serde_json::Value| e["type"] == "window";
    assert!(daemon.wait_for(Duration::from_secs(30), &mut seen, window), "{}", daemon.stderr());

    let here_url = format!("http://{here}/healthz");
    let (program, args) = command.split_first().unwrap();
    let args: Vec<String> =
        args.iter().map(|a| if *a == image_url { here_url.clone() } else { a.clone() }).collect();
    let out = Command::new(program).args(&args).output().expect("the HEALTHCHECK's program runs");
    assert!(out.status.success(), "HEALTHCHECK failed: {}", stderr(&out));
    let health: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["streams"]["camera1"], "up", "{health}");

    let mut configs = Vec::new();
    let got = discovery.collect_until(Duration::from_secs(10), &mut configs, |topic, _| {
        topic.starts_with("homeassistant/binary_sensor/") && topic.ends_with("/config")
    });
    assert!(got, "no Home Assistant discovery config from the compose pipeline: {configs:?}");

    let (code, _) = daemon.terminate(&mut seen);
    assert_eq!(code, Some(0));
    let written = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    assert!(written.lines().any(|l| parse_event(l)["type"] == "window"), "the file sink wrote no window");

    // With the daemon gone, the same check fails: it is not a check that cannot fail.
    let out = Command::new(program).args(&args).output().unwrap();
    assert!(!out.status.success(), "HEALTHCHECK passed with no daemon");
}

//! What ships: the daemon without the developer tools, its generated man pages and completion
//! scripts, and the Debian package built from the same install layout.

use std::path::Path;
use std::process::Command;

use crate::util::*;

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn normal_dependencies(features: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root()).args(["tree", "--offline", "--locked", "-e", "normal", "-p", "actiond"]);
    cmd.args(["--prefix", "none"]).args(features);
    run_ok(&mut cmd).lines().filter_map(|l| l.split(' ').next()).map(str::to_owned).collect()
}

const DEV_ONLY: [&str; 3] = ["gstreamer-rtsp-server", "rand", "rand_distr"];

/// Defect pinned: the daemon linked the test RTSP server and the synthetic-video generator.
#[test]
fn the_daemon_links_none_of_the_developer_tools() {
    let plain = normal_dependencies(&[]);
    let dev = normal_dependencies(&["--features", "dev-tools"]);
    for krate in DEV_ONLY {
        assert!(!plain.iter().any(|d| d == krate), "{krate} is a dependency of the daemon");
        assert!(dev.iter().any(|d| d == krate), "{krate} missing from the dev-tools build");
    }
    let needed = run_ok(Command::new("readelf").args(["-d", BIN]));
    assert!(needed.contains("libgstreamer-1.0") && !needed.contains("rtspserver"), "{needed}");
    let symbols = run_ok(Command::new("nm").args(["-C", BIN]));
    for krate in ["rand::", "rand_distr::", "gstreamer_rtsp_server::", "actiond::synthetic", "actiond::bench"]
    {
        let linked = symbols.lines().any(|l| {
            l.split_once(' ').is_some_and(|(_, rest)| rest.split([' ', '<']).any(|w| w.starts_with(krate)))
        });
        assert!(!linked, "the daemon contains {krate} code");
    }
    for tool in ["synth-video", "bench"] {
        let out = actiond(&[tool]);
        assert_eq!(out.status.code(), Some(2), "{tool}: {}", stderr(&out));
        assert!(stderr(&out).contains("unrecognized subcommand"), "{}", stderr(&out));
    }
}

fn install_into(dest: &Path, prefix: &str) {
    run_ok(
        Command::new("bash")
            .arg(root().join("scripts/install.sh"))
            .env("DESTDIR", dest)
            .env("PREFIX", prefix),
    );
}

/// Checks the man pages and completion scripts an install put under `usr`.
fn assert_generated_docs(usr: &Path) {
    let page = usr.join("share/man/man1/actiond-run.1.gz");
    let text = run_ok(Command::new("man").args(["-l", "-P", "cat"]).arg(&page).env("MANWIDTH", "100"));
    assert!(text.contains("actiond-run") && text.contains("--log-format"), "{text}");
    assert!(usr.join("share/man/man1/actiond.1.gz").exists());
    let bash = usr.join("share/bash-completion/completions/actiond");
    let complete =
        run_ok(Command::new("bash").args(["-c", "source \"$0\" && complete -p actiond"]).arg(&bash));
    assert!(complete.contains("actiond"), "{complete}");
    let zsh = std::fs::read_to_string(usr.join("share/zsh/vendor-completions/_actiond")).unwrap();
    assert!(zsh.starts_with("#compdef actiond"), "{zsh}");
    let fish = std::fs::read_to_string(usr.join("share/fish/vendor_completions.d/actiond.fish")).unwrap();
    assert!(fish.contains("complete -c actiond") && fish.contains("inspect-model"), "{fish}");
    let sysusers = std::fs::read_to_string(usr.join("lib/sysusers.d/actiond.conf")).unwrap();
    assert!(sysusers.lines().any(|l| l.starts_with("u actiond ")), "{sysusers}");
}

#[test]
fn make_install_ships_man_pages_completions_and_no_test_server() {
    let dir = tempdir();
    install_into(dir.path(), "/usr/local");
    let usr = dir.path().join("usr/local");
    assert_generated_docs(&usr);
    let bins: Vec<_> = std::fs::read_dir(usr.join("bin")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(bins, ["actiond"], "only the daemon is installed");
    run_ok(
        Command::new("bash")
            .arg(root().join("scripts/install.sh"))
            .arg("uninstall")
            .env("DESTDIR", dir.path()),
    );
    assert!(!usr.join("share/man/man1/actiond.1.gz").exists());
    assert!(!usr.join("share/bash-completion/completions/actiond").exists());
    assert!(!usr.join("lib/sysusers.d/actiond.conf").exists());
}

/// A scratch dpkg database, so `dpkg --root` unpacks without touching this machine's.
fn scratch_root(root: &Path) {
    for d in ["var/lib/dpkg/updates", "var/lib/dpkg/info", "var/lib/dpkg/triggers"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    std::fs::write(root.join("var/lib/dpkg/available"), "").unwrap();
}

#[test]
fn debian_package_installs_the_layout_and_registers_the_service() {
    let dir = tempdir();
    let deb = run_ok(Command::new("bash").arg(root().join("scripts/package.sh")).arg(dir.path().join("out")));
    let deb = Path::new(deb.trim());
    let info = run_ok(Command::new("dpkg-deb").arg("--info").arg(deb));
    for field in ["Package: actiond", "libgstreamer1.0-0", "gstreamer1.0-libav", "libc6"] {
        assert!(info.contains(field), "control lacks {field}:\n{info}");
    }
    let contents = run_ok(Command::new("dpkg-deb").arg("--contents").arg(deb));
    for path in [
        "./usr/bin/actiond",
        "./usr/lib/actiond/libonnxruntime.so.1.31.1",
        "./usr/share/actiond/models/gap_grid_lstm.head.onnx",
        "./lib/systemd/system/actiond.service",
        "./lib/systemd/system/actiond@.service",
        "./etc/actiond/pipeline.toml",
        "./usr/lib/sysusers.d/actiond.conf",
        "./usr/share/doc/actiond/copyright",
    ] {
        assert!(contents.lines().any(|l| l.ends_with(path)), "package lacks {path}:\n{contents}");
    }
    assert!(!contents.contains("rtsp-server") && !contents.contains("actiond-dev"), "{contents}");
    assert!(contents.lines().all(|l| l.contains(" root/root ")), "owned by root:\n{contents}");

    let control = dir.path().join("control");
    run_ok(Command::new("dpkg-deb").arg("--control").arg(deb).arg(&control));
    assert_eq!(std::fs::read_to_string(control.join("conffiles")).unwrap(), "/etc/actiond/pipeline.toml\n");
    for script in ["postinst", "prerm", "postrm"] {
        let text = std::fs::read_to_string(control.join(script)).unwrap();
        assert!(text.contains("deb-systemd-"), "{script} does not use deb-systemd-helper/invoke");
        run_ok(Command::new("sh").arg("-n").arg(control.join(script)));
    }

    let scratch = dir.path().join("root");
    scratch_root(&scratch);
    run_ok(
        Command::new("dpkg")
            .arg("--root")
            .arg(&scratch)
            .args(["--force-not-root", "--force-depends", "--unpack"])
            .arg(deb),
    );
    let usr = scratch.join("usr");
    assert_generated_docs(&usr);
    let unit = std::fs::read_to_string(scratch.join("lib/systemd/system/actiond.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/actiond run /etc/actiond/pipeline.toml"), "{unit}");
    assert!(unit.contains("User=actiond"), "{unit}");
    // Unpacked, not yet configured: dpkg holds a conffile as .dpkg-new until postinst time.
    let config = std::fs::read_to_string(scratch.join("etc/actiond/pipeline.toml.dpkg-new")).unwrap();
    assert!(config.contains("/usr/share/actiond/models/"), "{config}");
    // The unpacked binary finds the bundled library next to it, with no environment.
    let out = Command::new(usr.join("bin/actiond"))
        .arg("inspect-model")
        .arg(usr.join("share/actiond/models/gap_grid_lstm.head.onnx"))
        .env_remove("ORT_DYLIB_PATH")
        .env("RUST_LOG", "actiond=debug")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("{}/usr/bin/../lib/actiond/libonnxruntime.so.1.31.1", scratch.display())),
        "{err}"
    );

    // postinst configure, with recording stand-ins for the tools it calls.
    let stubs = dir.path().join("stubs");
    std::fs::create_dir_all(&stubs).unwrap();
    let calls = dir.path().join("calls");
    for tool in ["deb-systemd-helper", "deb-systemd-invoke", "systemd-sysusers", "systemctl", "adduser"] {
        let stub = stubs.join(tool);
        // Not enabled before: `was-enabled` answers no; everything else succeeds.
        let script = format!(
            "#!/bin/sh\necho \"{tool} $*\" >> '{}'\ncase \"$*\" in *was-enabled*) exit 1;; esac\n",
            calls.display()
        );
        std::fs::write(&stub, script).unwrap();
        run_ok(Command::new("chmod").arg("+x").arg(&stub));
    }
    let path = format!("{}:{}", stubs.display(), std::env::var("PATH").unwrap());
    run_ok(Command::new("sh").arg(control.join("postinst")).args(["configure", ""]).env("PATH", path));
    let calls = std::fs::read_to_string(&calls).unwrap();
    for call in [
        "systemd-sysusers actiond.conf",
        "deb-systemd-helper unmask actiond.service",
        "deb-systemd-helper update-state actiond.service",
    ] {
        assert!(calls.contains(call), "postinst did not run {call}:\n{calls}");
    }
    assert!(!calls.contains("helper enable "), "a new install is not enabled:\n{calls}");
    assert!(!calls.contains("invoke "), "a new install is not started:\n{calls}");
}

//! A real RTSP server on loopback (the `actiond-rtsp-server` binary).

use std::process::Command;

pub const RTSP_SERVER_BIN: &str = env!("CARGO_BIN_EXE_actiond-rtsp-server");

/// A real RTSP server on 127.0.0.1 (the `actiond-rtsp-server` binary), which a test can kill
/// and start again on the same port.
pub struct RtspServer {
    args: Vec<String>,
    child: Option<std::process::Child>,
    pub port: u16,
    pub url: String,
}

impl RtspServer {
    /// Starts a server with `args` (e.g. `["--live"]` or `["--file", path]`) on a free port.
    pub fn start(args: &[&str]) -> Self {
        let mut server = Self {
            args: args.iter().map(|s| s.to_string()).collect(),
            child: None,
            port: 0,
            url: String::new(),
        };
        server.spawn(0);
        server
    }

    fn spawn(&mut self, port: u16) {
        use std::io::BufRead;
        let mut child = Command::new(RTSP_SERVER_BIN)
            .args(&self.args)
            .args(["--port", &port.to_string()])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("rtsp server starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.starts_with("rtsp://"), "server did not start: {line:?}");
        self.url = line.trim().to_owned();
        self.port = self.url.rsplit(':').next().unwrap().split('/').next().unwrap().parse().unwrap();
        self.child = Some(child);
    }

    /// Freezes (`SIGSTOP`) or thaws (`SIGCONT`) the server: a camera that stalls with its
    /// connections open.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = std::process::Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success());
    }

    /// Kills the server process (SIGKILL), as a crashed camera would vanish.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "kill it first");
        let port = self.port;
        // The port was ours a moment ago; retry briefly in case the kernel still holds it.
        for _ in 0..50 {
            let probe = std::net::TcpListener::bind(("127.0.0.1", port));
            if probe.is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.spawn(port);
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.kill();
    }
}

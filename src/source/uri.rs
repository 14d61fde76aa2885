//! Where an input is: a local file (given as a path or `file://`) or a network URI, and how it
//! is named in logs and events: always without credentials.

use std::path::{Path, PathBuf};

use super::SourceError;
use crate::config::uri_scheme;

/// A parsed stream location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    uri: String,
    display: String,
    path: Option<PathBuf>,
}

impl SourceLocation {
    /// The URI given to GStreamer (may hold credentials: never log it).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// How the input is named in logs, events and errors: credentials replaced by `***`.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The file behind the location, if it is local.
    pub fn local_path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Fails with [`SourceError::NotFound`] when the input is a local file that does not exist,
    /// and says so plainly when it is empty (GStreamer would say "Stream contains no data.").
    pub fn ensure_exists(&self) -> Result<(), SourceError> {
        match self.local_path() {
            Some(path) if !path.is_file() => Err(SourceError::NotFound { input: self.display.clone() }),
            Some(path) if path.metadata().is_ok_and(|m| m.len() == 0) => Err(SourceError::Decode {
                input: self.display.clone(),
                reason: "the file is empty (0 bytes)".into(),
            }),
            _ => Ok(()),
        }
    }
}

/// Parses a configured `uri` (a path, relative to the working directory, or a URI).
pub fn location_of(uri: &str) -> SourceLocation {
    if let Some(scheme) = uri_scheme(uri) {
        let path = (scheme == "file")
            .then(|| gstreamer::glib::filename_from_uri(uri).ok().map(|(p, _)| p))
            .flatten();
        return SourceLocation { uri: uri.to_owned(), display: redact_credentials(uri), path };
    }
    let path = std::path::absolute(uri).unwrap_or_else(|_| PathBuf::from(uri));
    let file_uri = gstreamer::glib::filename_to_uri(&path, None)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("file://{}", path.display()));
    SourceLocation { uri: file_uri, display: uri.to_owned(), path: Some(path) }
}

/// Replaces the `user:password@` part of every URI in `text` by `***@`, so that messages from
/// GStreamer or the configuration can be logged and emitted safely.
pub fn redact_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail.find(|c: char| c == '/' || c.is_whitespace()).unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(userinfo_end) => {
                out.push_str("***");
                rest = &tail[userinfo_end..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_path_becomes_an_escaped_file_uri() {
        let loc = location_of("/tmp/a b.mp4");
        assert_eq!(loc.uri(), "file:///tmp/a%20b.mp4");
        assert_eq!(loc.local_path(), Some(Path::new("/tmp/a b.mp4")));
        assert_eq!(loc.display(), "/tmp/a b.mp4");
    }

    #[test]
    fn file_uri_keeps_its_path() {
        let loc = location_of("file:///tmp/x.webm");
        assert_eq!(loc.local_path(), Some(Path::new("/tmp/x.webm")));
    }

    #[test]
    fn network_uri_has_no_local_path() {
        let loc = location_of("rtsp://127.0.0.1:8554/cam");
        assert_eq!(loc.local_path(), None);
    }

    #[test]
    fn credentials_never_reach_the_display_name() {
        let loc = location_of("rtsp://admin:s3cr%40t@10.0.0.5:554/h264");
        assert_eq!(loc.display(), "rtsp://***@10.0.0.5:554/h264");
        assert_eq!(loc.uri(), "rtsp://admin:s3cr%40t@10.0.0.5:554/h264");
    }

    #[test]
    fn redaction_covers_every_uri_in_a_message() {
        let text = "Could not open rtsp://u:p@a/x, tried http://v:q@b:80/y and rtsp://c/z";
        assert_eq!(
            redact_credentials(text),
            "Could not open rtsp://***@a/x, tried http://***@b:80/y and rtsp://c/z"
        );
    }
}

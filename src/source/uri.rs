//! Where an input is: a local file (given as a path or `file://`) or a network URI.

use std::path::{Path, PathBuf};

/// A parsed stream location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    uri: String,
    display: String,
    path: Option<PathBuf>,
}

impl SourceLocation {
    /// The URI given to GStreamer.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// How the input is named in logs, events and errors.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The file behind the location, if it is local.
    pub fn local_path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

/// Parses a configured `uri` (a path, relative to the working directory, or a URI).
pub fn location_of(uri: &str) -> SourceLocation {
    if let Some((scheme, _)) = uri.split_once("://") {
        let path = (scheme == "file")
            .then(|| gstreamer::glib::filename_from_uri(uri).ok().map(|(p, _)| p))
            .flatten();
        return SourceLocation { uri: uri.to_owned(), display: uri.to_owned(), path };
    }
    let path = std::path::absolute(uri).unwrap_or_else(|_| PathBuf::from(uri));
    let file_uri = gstreamer::glib::filename_to_uri(&path, None)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("file://{}", path.display()));
    SourceLocation { uri: file_uri, display: uri.to_owned(), path: Some(path) }
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
        assert_eq!(location_of("rtsp://127.0.0.1:8554/cam").local_path(), None);
    }
}

//! The scheme of a configured input (`rtsp` in `rtsp://…`), the one place that tells a URI
//! from a path.

/// The lower-case scheme of `uri`, or `None` for a plain path.
pub fn uri_scheme(uri: &str) -> Option<String> {
    let (scheme, _) = uri.split_once("://")?;
    let valid = !scheme.is_empty()
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_paths() {
        assert_eq!(uri_scheme("RTSP://cam/1").as_deref(), Some("rtsp"));
        assert_eq!(uri_scheme("file:///tmp/a.mp4").as_deref(), Some("file"));
        assert_eq!(uri_scheme("videos/a.mp4"), None);
        assert_eq!(uri_scheme("/tmp/odd name://x.mp4"), None);
    }
}

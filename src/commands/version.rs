//! `actiond --version`: this build, and the GStreamer and ONNX Runtime it finds at run time.
//! Both come from the system, not from the build, so a bug report needs the ones actually found.

use actiond::infer::runtime;

/// `0.1.0`, then one line each for GStreamer and ONNX Runtime (or why they were not found).
pub fn describe() -> String {
    let gstreamer = match actiond::source::init() {
        Ok(()) => gstreamer::version_string().to_string(),
        Err(e) => format!("GStreamer: not usable ({e})"),
    };
    let onnxruntime = match runtime::environment(None) {
        Ok(_) => {
            let library = runtime::loaded_library().expect("loaded by environment()");
            format!("ONNX Runtime {} ({})", onnxruntime_version(library, ort::info()), library.display())
        }
        Err(e) => format!("ONNX Runtime: not found ({e})"),
    };
    format!("{}\n{gstreamer}\n{onnxruntime}", env!("CARGO_PKG_VERSION"))
}

/// The release: from the library's versioned file name (`libonnxruntime.so.1.31.1`), else from
/// its build information (`git-branch=rel-1.31.1, …`), else the build information itself.
fn onnxruntime_version(library: &std::path::Path, info: &str) -> String {
    let from_name =
        library.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_prefix("libonnxruntime.so."));
    let from_info = || info.split([',', ' ']).find_map(|field| field.strip_prefix("git-branch=rel-"));
    from_name.or_else(from_info).map_or_else(|| info.trim().to_owned(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn the_release_is_read_from_the_file_name_or_the_build_information() {
        let info = "ORT Build Info: git-branch=rel-1.31.1, git-commit-id=abc, build type=Release";
        let unversioned = Path::new("/opt/libonnxruntime.so");
        assert_eq!(super::onnxruntime_version(Path::new("/x/libonnxruntime.so.1.31.1"), "?"), "1.31.1");
        assert_eq!(super::onnxruntime_version(unversioned, info), "1.31.1");
        assert_eq!(super::onnxruntime_version(unversioned, "git-branch=HEAD"), "git-branch=HEAD");
    }
}

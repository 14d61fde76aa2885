//! Class labels: a text file with one label per line, in the order of the model's outputs.

use std::path::Path;

use super::ModelError;

/// Reads a labels file; blank lines at the end are ignored, blank lines inside are an error
/// (they would shift every following label by one).
pub fn load_labels(path: &Path) -> Result<Vec<String>, ModelError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ModelError::Labels { path: path.to_owned(), reason: e.to_string() })?;
    parse_labels(&text).map_err(|reason| ModelError::Labels { path: path.to_owned(), reason })
}

fn parse_labels(text: &str) -> Result<Vec<String>, String> {
    let labels: Vec<String> = text.trim_end().lines().map(|l| l.trim().to_owned()).collect();
    if labels.is_empty() || labels == [""] {
        return Err("no labels in the file".into());
    }
    if let Some(line) = labels.iter().position(String::is_empty) {
        return Err(format!("line {} is empty", line + 1));
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_label_per_line_trailing_newlines_ignored() {
        assert_eq!(parse_labels("a\nb \r\nc\n\n").unwrap(), ["a", "b", "c"]);
    }

    #[test]
    fn empty_file_and_inner_blank_lines_are_errors() {
        assert!(parse_labels("\n\n").is_err());
        assert_eq!(parse_labels("a\n\nb\n").unwrap_err(), "line 2 is empty");
    }
}

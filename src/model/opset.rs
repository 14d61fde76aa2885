//! Reads the opset imports of an ONNX file, which ONNX Runtime does not expose.
//!
//! Only the two fields needed are declared; prost skips the graph and everything else.

use std::path::Path;

use prost::Message;

use super::ModelError;

#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(message, repeated, tag = "8")]
    opset_import: Vec<OperatorSetId>,
}

#[derive(Clone, PartialEq, Message)]
struct OperatorSetId {
    #[prost(string, tag = "1")]
    domain: String,
    #[prost(int64, tag = "2")]
    version: i64,
}

/// `(domain, version)` pairs; the default ONNX domain is reported as `ai.onnx`.
pub fn read_opsets(path: &Path) -> Result<Vec<(String, i64)>, ModelError> {
    let bytes =
        std::fs::read(path).map_err(|e| ModelError::Load { path: path.to_owned(), reason: e.to_string() })?;
    let model = ModelProto::decode(bytes.as_slice())
        .map_err(|e| ModelError::Load { path: path.to_owned(), reason: format!("not an ONNX model: {e}") })?;
    Ok(model
        .opset_import
        .into_iter()
        .map(|o| (if o.domain.is_empty() { "ai.onnx".to_owned() } else { o.domain }, o.version))
        .collect())
}

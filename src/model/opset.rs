//! Reads what ONNX Runtime does not expose from an ONNX file: its opset imports, and how many
//! parameters (floating-point weights) it holds.
//!
//! Only the fields needed are declared; prost skips everything else, including the weights'
//! bytes (only their shapes are read). Weights in subgraphs (the body of a `Loop`, as a
//! ConvLSTM exports) and in `Constant` nodes count too; scalars (constants such as an epsilon)
//! do not. The count is of the file as stored, which can exceed the training framework's: an
//! ONNX `LSTM` keeps a recurrent bias beside the input bias (4 × units more floats than Keras'
//! single bias, all zero after a Keras export).

use std::path::Path;

use prost::Message;

use super::ModelError;

#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
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

#[derive(Clone, PartialEq, Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    node: Vec<NodeProto>,
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<TensorProto>,
}

#[derive(Clone, PartialEq, Message)]
struct NodeProto {
    #[prost(message, repeated, tag = "5")]
    attribute: Vec<AttributeProto>,
}

#[derive(Clone, PartialEq, Message)]
struct AttributeProto {
    #[prost(message, optional, tag = "5")]
    t: Option<TensorProto>,
    #[prost(message, optional, boxed, tag = "6")]
    g: Option<Box<GraphProto>>,
    #[prost(message, repeated, tag = "10")]
    tensors: Vec<TensorProto>,
    #[prost(message, repeated, tag = "11")]
    graphs: Vec<GraphProto>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    data_type: i32,
}

/// ONNX element types that hold weights: FLOAT, FLOAT16, DOUBLE, BFLOAT16.
const FLOATING: [i32; 4] = [1, 10, 11, 16];

impl TensorProto {
    fn parameters(&self) -> u64 {
        if FLOATING.contains(&self.data_type) && !self.dims.is_empty() {
            self.dims.iter().map(|&d| d.max(0) as u64).product()
        } else {
            0
        }
    }
}

impl GraphProto {
    fn parameters(&self) -> u64 {
        let own: u64 = self.initializer.iter().map(TensorProto::parameters).sum();
        let in_nodes: u64 = self
            .node
            .iter()
            .flat_map(|n| &n.attribute)
            .map(|a| {
                a.t.iter().chain(&a.tensors).map(TensorProto::parameters).sum::<u64>()
                    + a.g.iter().map(|g| g.parameters()).sum::<u64>()
                    + a.graphs.iter().map(GraphProto::parameters).sum::<u64>()
            })
            .sum();
        own + in_nodes
    }
}

fn decode(path: &Path) -> Result<ModelProto, ModelError> {
    let bytes =
        std::fs::read(path).map_err(|e| ModelError::Load { path: path.to_owned(), reason: e.to_string() })?;
    ModelProto::decode(bytes.as_slice())
        .map_err(|e| ModelError::Load { path: path.to_owned(), reason: format!("not an ONNX model: {e}") })
}

/// `(domain, version)` pairs; the default ONNX domain is reported as `ai.onnx`.
pub fn read_opsets(path: &Path) -> Result<Vec<(String, i64)>, ModelError> {
    Ok(decode(path)?
        .opset_import
        .into_iter()
        .map(|o| (if o.domain.is_empty() { "ai.onnx".to_owned() } else { o.domain }, o.version))
        .collect())
}

/// The number of floating-point weights in the model, subgraphs and constants included.
pub fn count_parameters(path: &Path) -> Result<u64, ModelError> {
    Ok(decode(path)?.graph.map_or(0, |g| g.parameters()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
    }

    #[test]
    fn parameters_are_the_floating_weights_only() {
        // mean_color: a 3×3 matrix and 3 biases (float), and the int64 axes (not a weight).
        assert_eq!(count_parameters(&fixture("mean_color_ncthw.onnx")).unwrap(), 12);
    }

    #[test]
    fn the_shipped_heads_count_as_keras_did_plus_the_onnx_recurrent_bias() {
        let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        let count = |name: &str| count_parameters(&models.join(name)).unwrap();
        // models/results/gap_grid_lstm.json: 102,088 parameters in Keras; its LSTM has 64 units.
        assert_eq!(count("gap_grid_lstm.onnx"), 102_088 + 4 * 64);
        assert_eq!(count("gap_grid_lstm.encoder.onnx") + count("gap_grid_lstm.head.onnx"), 102_088 + 4 * 64);
        assert_eq!(count("gap_grid_lstm.encoder.onnx"), 19_392, "the CNN has no recurrent bias");
    }

    #[test]
    fn weights_inside_a_loop_body_count() {
        // The shipped ConvLSTM exports its recurrence as an ONNX Loop whose kernels live in the
        // body: without subgraphs the count would miss most of its 96,392 Keras parameters.
        let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        assert!(count_parameters(&models.join("convlstm.onnx")).unwrap() >= 96_392);
    }
}

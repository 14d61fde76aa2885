//! Reads a session's input and output descriptions and decides how to feed it.

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::ValueType;

use super::ModelError;
use crate::window::TensorLayout;

/// Name, element type and shape (`-1` = dynamic) of one model input or output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorDescription {
    pub name: String,
    pub element_type: String,
    pub shape: Vec<i64>,
}

/// What actiond needs to know about a video classification model.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    pub path: PathBuf,
    pub inputs: Vec<TensorDescription>,
    pub outputs: Vec<TensorDescription>,
    /// Layout of the (single) video input.
    pub layout: TensorLayout,
    /// Frames per window, if fixed by the model.
    pub time: Option<usize>,
    pub height: Option<usize>,
    pub width: Option<usize>,
    /// Width of the output vector, if fixed by the model.
    pub classes: Option<usize>,
}

/// The accepted input shapes, for error messages.
const ACCEPTED: &str = "[N,T,H,W,3] (Keras) or [N,C=3,T,H,W] (PyTorch), N dynamic or 1, float32";

fn fixed(dim: i64) -> Option<usize> {
    (dim > 0).then_some(dim as usize)
}

/// Decides the layout of a 5-D input shape, or explains why it is not a video input.
/// `forced` is the configured layout, if not `auto`.
pub fn detect_layout(shape: &[i64], forced: Option<TensorLayout>) -> Result<TensorLayout, String> {
    let describe = || format!("input shape {} is not supported; accepted: {ACCEPTED}", show(shape));
    if shape.len() != 5 {
        return Err(describe());
    }
    if shape[0] > 1 {
        return Err(format!("{}; the batch dimension must be dynamic or 1", describe()));
    }
    let channels_last = matches!(shape[4], 3 | -1);
    let channels_first = matches!(shape[1], 3 | -1);
    let layout = match forced {
        Some(TensorLayout::Thwc) if channels_last => TensorLayout::Thwc,
        Some(TensorLayout::Cthw) if channels_first => TensorLayout::Cthw,
        Some(_) => return Err(format!("{} for the configured layout", describe())),
        // A 3 in last position is the stronger hint: T = 3 is rarer than C = 3.
        None if shape[4] == 3 => TensorLayout::Thwc,
        None if shape[1] == 3 => TensorLayout::Cthw,
        None => return Err(describe()),
    };
    Ok(layout)
}

fn show(shape: &[i64]) -> String {
    let dims: Vec<String> =
        shape.iter().map(|d| if *d < 0 { "?".to_owned() } else { d.to_string() }).collect();
    format!("[{}]", dims.join(","))
}

fn describe(name: &str, ty: &ValueType) -> TensorDescription {
    let (element_type, shape) = match ty {
        ValueType::Tensor { ty, shape, .. } => (format!("{ty:?}").to_lowercase(), shape.to_vec()),
        other => (format!("{other:?}"), Vec::new()),
    };
    TensorDescription { name: name.to_owned(), element_type, shape }
}

/// All inputs and outputs of a session, whatever their shapes.
pub fn describe_session(session: &Session) -> (Vec<TensorDescription>, Vec<TensorDescription>) {
    (
        session.inputs().iter().map(|o| describe(o.name(), o.dtype())).collect(),
        session.outputs().iter().map(|o| describe(o.name(), o.dtype())).collect(),
    )
}

impl ModelInfo {
    /// Introspects a loaded session. `forced` is the configured layout, if not `auto`.
    pub fn from_session(
        path: &Path,
        session: &Session,
        forced: Option<TensorLayout>,
    ) -> Result<Self, ModelError> {
        let unsupported = |reason: String| ModelError::Unsupported { path: path.to_owned(), reason };
        let inputs: Vec<_> = session.inputs().iter().map(|o| describe(o.name(), o.dtype())).collect();
        let outputs: Vec<_> = session.outputs().iter().map(|o| describe(o.name(), o.dtype())).collect();
        let [input] = inputs.as_slice() else {
            return Err(unsupported(format!(
                "expected exactly one input (the video window), found {}",
                inputs.len()
            )));
        };
        if input.element_type != "float32" {
            return Err(unsupported(format!(
                "input `{}` is {}, expected float32",
                input.name, input.element_type
            )));
        }
        let layout = detect_layout(&input.shape, forced).map_err(&unsupported)?;
        let s = &input.shape;
        let (time, height, width) = match layout {
            TensorLayout::Thwc => (fixed(s[1]), fixed(s[2]), fixed(s[3])),
            TensorLayout::Cthw => (fixed(s[2]), fixed(s[3]), fixed(s[4])),
        };
        let output = outputs.first().ok_or_else(|| unsupported("the model has no output".into()))?;
        if output.shape.len() != 2 || output.element_type != "float32" {
            return Err(unsupported(format!(
                "output `{}` has shape {} of {}; expected [N,classes] of float32",
                output.name,
                show(&output.shape),
                output.element_type
            )));
        }
        Ok(Self {
            path: path.to_owned(),
            classes: fixed(output.shape[1]),
            inputs,
            outputs,
            layout,
            time,
            height,
            width,
        })
    }

    pub fn input(&self) -> &TensorDescription {
        &self.inputs[0]
    }

    pub fn output(&self) -> &TensorDescription {
        &self.outputs[0]
    }

    /// The input shape as text, `?` for dynamic dimensions.
    pub fn input_shape_text(&self) -> String {
        show(&self.input().shape)
    }

    /// The output shape as text, `?` for dynamic dimensions.
    pub fn output_shape_text(&self) -> String {
        show(&self.output().shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_layout_with_dynamic_batch() {
        assert_eq!(detect_layout(&[-1, 10, 64, 64, 3], None), Ok(TensorLayout::Thwc));
    }

    #[test]
    fn pytorch_layout_with_fixed_batch() {
        assert_eq!(detect_layout(&[1, 3, 16, 112, 112], None), Ok(TensorLayout::Cthw));
    }

    #[test]
    fn forced_layout_must_fit_the_shape() {
        assert_eq!(detect_layout(&[-1, 3, 8, 64, 64], Some(TensorLayout::Cthw)), Ok(TensorLayout::Cthw));
        let err = detect_layout(&[-1, 10, 64, 64, 3], Some(TensorLayout::Cthw)).unwrap_err();
        assert!(err.contains("[?,10,64,64,3]"), "{err}");
    }

    #[test]
    fn image_model_is_refused_with_shape_and_accepted_shapes() {
        let err = detect_layout(&[-1, 224, 224, 3], None).unwrap_err();
        assert!(err.contains("[?,224,224,3]") && err.contains("[N,T,H,W,3]"), "{err}");
    }

    #[test]
    fn no_channel_dimension_is_refused() {
        assert!(detect_layout(&[-1, 10, 64, 64, 5], None).is_err());
    }

    #[test]
    fn batch_larger_than_one_is_refused() {
        let err = detect_layout(&[8, 10, 64, 64, 3], None).unwrap_err();
        assert!(err.contains("batch"), "{err}");
    }
}

//! Reads a session's input and output descriptions and decides how to feed it.

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::ValueType;

use super::{ModelError, TensorLayout};

/// Name, element type and shape (`-1` = dynamic) of one model input or output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorDescription {
    pub name: String,
    pub element_type: String,
    pub shape: Vec<i64>,
}

impl TensorDescription {
    /// The shape as text, `?` for dynamic dimensions: `[?,10,64,64,3]`.
    pub fn shape_text(&self) -> String {
        show(&self.shape)
    }
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
    /// The per-frame encoder, when the model is given as an encoder and a temporal head; the
    /// fields above then describe the head (with the frame size taken from the encoder).
    pub encoder: Option<EncoderInfo>,
}

/// What actiond needs to know about the per-frame encoder of a two-stage model.
#[derive(Debug, Clone)]
pub struct EncoderInfo {
    pub path: PathBuf,
    pub input: TensorDescription,
    /// How one frame is laid out: `Thwc` means `[H,W,C]`, `Cthw` means `[C,H,W]`.
    pub layout: TensorLayout,
    pub height: Option<usize>,
    pub width: Option<usize>,
    /// Length of one embedding (D).
    pub dim: usize,
}

/// The accepted input shapes, for error messages.
const ACCEPTED: &str = "[N,T,H,W,3] (Keras) or [N,C=3,T,H,W] (PyTorch), N dynamic or 1, float32";
/// The accepted encoder input shapes, for error messages.
const ACCEPTED_ENCODER: &str = "[N,H,W,3] or [N,C=3,H,W], N dynamic, float32";

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
    channel_layout(shape, forced).ok_or_else(|| match forced {
        Some(_) => format!("{} for the configured layout", describe()),
        None => describe(),
    })
}

/// Where the 3 colour channels are in a shape `[N, ..., C]` (`Thwc`) or `[N, C, ...]`
/// (`Cthw`): video windows and single frames alike. `None` if they fit neither, or not the
/// `forced` layout.
fn channel_layout(shape: &[i64], forced: Option<TensorLayout>) -> Option<TensorLayout> {
    let (first, last) = (shape[1], shape[shape.len() - 1]);
    match forced {
        Some(TensorLayout::Thwc) => matches!(last, 3 | -1).then_some(TensorLayout::Thwc),
        Some(TensorLayout::Cthw) => matches!(first, 3 | -1).then_some(TensorLayout::Cthw),
        // A 3 in last position is the stronger hint: T (or H) = 3 is rarer than C = 3.
        None if last == 3 => Some(TensorLayout::Thwc),
        None if first == 3 => Some(TensorLayout::Cthw),
        None => None,
    }
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

/// The one float32 input of a session, or why there is not exactly one.
fn single_float_input(path: &Path, session: &Session, what: &str) -> Result<TensorDescription, ModelError> {
    let unsupported = |reason: String| ModelError::Unsupported { path: path.to_owned(), reason };
    let (inputs, _) = describe_session(session);
    let [input] = inputs.as_slice() else {
        return Err(unsupported(format!("expected exactly one input ({what}), found {}", inputs.len())));
    };
    if input.element_type != "float32" {
        return Err(unsupported(format!(
            "input `{}` is {}, expected float32",
            input.name, input.element_type
        )));
    }
    Ok(input.clone())
}

/// Checks that the first output is `[N,width]` of float32 and returns the width if fixed.
fn vector_output(path: &Path, session: &Session, what: &str) -> Result<Option<usize>, ModelError> {
    let (_, outputs) = describe_session(session);
    let unsupported = |reason: String| ModelError::Unsupported { path: path.to_owned(), reason };
    let output = outputs.first().ok_or_else(|| unsupported("the model has no output".into()))?;
    if output.shape.len() != 2 || output.element_type != "float32" {
        return Err(unsupported(format!(
            "output `{}` has shape {} of {}; expected [N,{what}] of float32",
            output.name,
            show(&output.shape),
            output.element_type
        )));
    }
    Ok(fixed(output.shape[1]))
}

/// What actiond needs to know about the temporal head of a two-stage model
/// (`[N,T,D]` → `[N,classes]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadInfo {
    pub time: Option<usize>,
    /// Length of the embeddings it takes (D).
    pub dim: Option<usize>,
    pub classes: Option<usize>,
}

impl HeadInfo {
    pub fn from_session(path: &Path, session: &Session) -> Result<Self, ModelError> {
        let input = single_float_input(path, session, "the embedding sequence")?;
        let s = &input.shape;
        if s.len() != 3 || s[0] > 1 {
            return Err(ModelError::Unsupported {
                path: path.to_owned(),
                reason: format!(
                    "head input shape {} is not supported; accepted: [N,T,D], N dynamic, float32",
                    show(s)
                ),
            });
        }
        let classes = vector_output(path, session, "classes")?;
        Ok(Self { time: fixed(s[1]), dim: fixed(s[2]), classes })
    }
}

impl EncoderInfo {
    /// Introspects a per-frame encoder. `forced` is the configured layout, if not `auto`
    /// (`nthwc` stands for `[N,H,W,C]` here, `ncthw` for `[N,C,H,W]`).
    pub fn from_session(
        path: &Path,
        session: &Session,
        forced: Option<TensorLayout>,
    ) -> Result<Self, ModelError> {
        let unsupported = |reason: String| ModelError::Unsupported { path: path.to_owned(), reason };
        let input = single_float_input(path, session, "one frame")?;
        let s = &input.shape;
        let describe =
            || format!("encoder input shape {} is not supported; accepted: {ACCEPTED_ENCODER}", show(s));
        if s.len() != 4 || s[0] > 1 {
            return Err(unsupported(describe()));
        }
        let layout = channel_layout(s, forced).ok_or_else(|| match forced {
            Some(_) => unsupported(format!("{} for the configured layout", describe())),
            None => unsupported(describe()),
        })?;
        let (height, width) = match layout {
            TensorLayout::Thwc => (fixed(s[1]), fixed(s[2])),
            TensorLayout::Cthw => (fixed(s[2]), fixed(s[3])),
        };
        let dim = vector_output(path, session, "D")?
            .ok_or_else(|| unsupported("the embedding length (output dimension 1) must be fixed".into()))?;
        Ok(Self { path: path.to_owned(), input, layout, height, width, dim })
    }
}

impl ModelInfo {
    /// Introspects a loaded session. `forced` is the configured layout, if not `auto`.
    pub fn from_session(
        path: &Path,
        session: &Session,
        forced: Option<TensorLayout>,
    ) -> Result<Self, ModelError> {
        let unsupported = |reason: String| ModelError::Unsupported { path: path.to_owned(), reason };
        let input = single_float_input(path, session, "the video window")?;
        let layout = detect_layout(&input.shape, forced).map_err(&unsupported)?;
        let s = &input.shape;
        let (time, height, width) = match layout {
            TensorLayout::Thwc => (fixed(s[1]), fixed(s[2]), fixed(s[3])),
            TensorLayout::Cthw => (fixed(s[2]), fixed(s[3]), fixed(s[4])),
        };
        let classes = vector_output(path, session, "classes")?;
        let (inputs, outputs) = describe_session(session);
        Ok(Self {
            path: path.to_owned(),
            classes,
            inputs,
            outputs,
            layout,
            time,
            height,
            width,
            encoder: None,
        })
    }

    /// Introspects the temporal head of a two-stage model (`[N,T,D]` → `[N,classes]`) and joins
    /// it to its encoder.
    pub fn from_head(path: &Path, session: &Session, encoder: EncoderInfo) -> Result<Self, ModelError> {
        let head = HeadInfo::from_session(path, session)?;
        if let Some(dim) = head.dim.filter(|d| *d != encoder.dim) {
            return Err(ModelError::Unsupported {
                path: path.to_owned(),
                reason: format!(
                    "the head takes embeddings of {dim} values but encoder {} makes {}",
                    encoder.path.display(),
                    encoder.dim
                ),
            });
        }
        let (inputs, outputs) = describe_session(session);
        Ok(Self {
            path: path.to_owned(),
            classes: head.classes,
            inputs,
            outputs,
            layout: TensorLayout::Thwc,
            time: head.time,
            height: encoder.height,
            width: encoder.width,
            encoder: Some(encoder),
        })
    }

    pub fn input(&self) -> &TensorDescription {
        &self.inputs[0]
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
    fn frame_inputs_get_the_same_channel_rule() {
        assert_eq!(channel_layout(&[-1, 64, 64, 3], None), Some(TensorLayout::Thwc));
        assert_eq!(channel_layout(&[-1, 3, 64, 64], None), Some(TensorLayout::Cthw));
        assert_eq!(channel_layout(&[-1, 64, 64, 3], Some(TensorLayout::Cthw)), None);
        assert_eq!(channel_layout(&[-1, 64, 64, 5], None), None);
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

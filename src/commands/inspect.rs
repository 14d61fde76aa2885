//! `actiond inspect-model`: what a model file takes and gives, in the daemon's terms (layout,
//! window size, classes, or the part of a two-stage model it is).

use std::path::Path;

use actiond::error::{Error, exit_code};
use actiond::infer::runtime;
use actiond::model::{EncoderInfo, HeadInfo, ModelInfo, TensorDescription, describe_session, read_opsets};

pub fn inspect_model(model: &Path, onnxruntime: Option<&Path>) -> anyhow::Result<u8> {
    let env = runtime::environment(onnxruntime).map_err(Error::from)?;
    let session = runtime::open_session(&env, model, 1, false).map_err(Error::from)?;
    let opsets = read_opsets(model).map_err(Error::from)?;
    let describe = |kind: &str, list: &[TensorDescription]| {
        for t in list {
            println!("{kind:<8} {} {} {}", t.name, t.element_type, t.shape_text());
        }
    };
    let opset_text: Vec<String> = opsets.iter().map(|(d, v)| format!("{d} {v}")).collect();
    println!("model    {}", model.display());
    println!("opset    {}", opset_text.join(", "));
    let (inputs, outputs) = describe_session(&session);
    describe("input", &inputs);
    describe("output", &outputs);
    let dim = |d: Option<usize>| d.map_or("dynamic".to_owned(), |v| v.to_string());
    // Two-stage parts: a per-frame encoder (4-D input) or a temporal head (3-D input).
    match inputs.first().map(|t| t.shape.as_slice()) {
        Some(shape) if shape.len() == 4 => {
            let encoder = EncoderInfo::from_session(model, &session, None).map_err(Error::from)?;
            println!("form     encoder of a two-stage model (give it as `model.encoder`)");
            println!("frames   H={} W={}", dim(encoder.height), dim(encoder.width));
            println!("embedding D={}", encoder.dim);
            return Ok(exit_code::OK);
        }
        Some(shape) if shape.len() == 3 => {
            let head = HeadInfo::from_session(model, &session).map_err(Error::from)?;
            println!("form     temporal head of a two-stage model (give it as `model.head`)");
            println!("sequence T={} D={}", dim(head.time), dim(head.dim));
            println!("classes  {}", dim(head.classes));
            return Ok(exit_code::OK);
        }
        _ => {}
    }
    match ModelInfo::from_session(model, &session, None) {
        Ok(info) => {
            println!("layout   {}", info.layout.describe());
            println!("frames   T={} H={} W={}", dim(info.time), dim(info.height), dim(info.width));
            println!("classes  {}", dim(info.classes));
            Ok(exit_code::OK)
        }
        Err(e) => Err(Error::from(e).into()),
    }
}

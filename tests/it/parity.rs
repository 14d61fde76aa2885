//! The daemon's preprocessing, window assembly and inference give the same probabilities as
//! Python onnxruntime on the same clip (reference written by `models/make_reference.py`).

use std::sync::Arc;

use crate::util::*;
use actiond::config::{ChannelOrder, OutputKind, TailPolicy};
use actiond::flow::Frame;
use actiond::infer::{ModelIo, classify, runtime};
use actiond::model::{ModelInfo, PreprocessSettings, Preprocessor};
use actiond::window::{FrameFeatures, WindowGeometry, Windower};

#[test]
fn every_shipped_model_matches_python_onnxruntime() {
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("reference_probs.json")).unwrap()).unwrap();
    let clip = std::fs::read(fixture(reference["clip"].as_str().unwrap())).unwrap();
    let shape: Vec<usize> =
        reference["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
    let [1, t, h, w, 3] = shape[..] else { panic!("unexpected shape {shape:?}") };
    assert_eq!(clip.len(), t * h * w * 3);
    let scale = reference["scale"].as_f64().unwrap() as f32;

    let env = runtime::environment(None).unwrap();
    let models = reference["models"].as_object().unwrap();
    assert!(models.len() >= 4, "reference covers every shipped head: {:?}", models.keys());
    for (name, expected) in models {
        let path = model(name);
        let mut session = runtime::open_session(&env, &path, 1, false).unwrap();
        let info = ModelInfo::from_session(&path, &session, None).unwrap();
        let preprocessor = Arc::new(Preprocessor::new(
            &PreprocessSettings { scale, mean: [0.0; 3], std: [1.0; 3], channel_order: ChannelOrder::Rgb },
            w,
            h,
        ));
        let geometry = WindowGeometry { length: t, stride: t, frame_step: 1, tail: TailPolicy::Drop };
        let features = FrameFeatures::Pixels { preprocessor, layout: info.layout };
        let mut windower = Windower::new("ref".into(), geometry, features, false);
        let frame_bytes = h * w * 3;
        let window = (0..t)
            .filter_map(|i| {
                windower
                    .push(&Frame {
                        index: i as u64,
                        pts_ns: 0,
                        duration_ns: 0,
                        pixels: clip[i * frame_bytes..(i + 1) * frame_bytes].to_vec(),
                        arrival: std::time::Instant::now(),
                        wall: std::time::SystemTime::now(),
                        time_jump: None,
                    })
                    .unwrap()
            })
            .next()
            .expect("T frames make one window");
        let io = ModelIo {
            input_name: info.input().name.clone(),
            input_shape: vec![1, t as i64, h as i64, w as i64, 3],
            classes: 8,
            output_kind: OutputKind::Auto,
        };
        let got = classify(&mut session, &io, &window.data).unwrap();
        let expected: Vec<f32> =
            expected.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        let max_diff = got.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(max_diff <= 1e-4, "{name}: max |diff| {max_diff:e}\n got {got:?}\n expected {expected:?}");
    }
}

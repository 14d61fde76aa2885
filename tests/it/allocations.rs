//! Windowing allocates nothing in steady state: frames are converted into the ring in place and
//! every window's tensor comes back to its stream's pool once the window is dropped (after its
//! inference run). Counted with a global allocator that counts every allocation.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use actiond::config::{ChannelOrder, TailPolicy};
use actiond::flow::Frame;
use actiond::model::TensorLayout;
use actiond::model::{PreprocessSettings, Preprocessor};
use actiond::window::{FrameFeatures, WindowGeometry, Windower};

fn windower(layout: TensorLayout, stride: usize) -> Windower {
    let settings = PreprocessSettings {
        scale: 1.0 / 255.0,
        mean: [0.0; 3],
        std: [1.0; 3],
        channel_order: ChannelOrder::Rgb,
    };
    let features =
        FrameFeatures::Pixels { preprocessor: Arc::new(Preprocessor::new(&settings, 64, 64)), layout };
    let geometry = WindowGeometry { length: 10, stride, frame_step: 1, tail: TailPolicy::Pad };
    Windower::new("cam".into(), geometry, features, true)
}

#[test]
fn steady_state_windowing_allocates_nothing() {
    for (layout, stride) in [(TensorLayout::Thwc, 1), (TensorLayout::Cthw, 1), (TensorLayout::Thwc, 5)] {
        let mut w = windower(layout, stride);
        // One frame, refilled in place as the GStreamer reader does.
        let mut frame = Frame {
            index: 0,
            pts_ns: 0,
            duration_ns: 40_000_000,
            pixels: vec![7; 64 * 64 * 3],
            arrival: Instant::now(),
            wall: SystemTime::now(),
            time_jump: None,
        };
        let mut push = |frame: &mut Frame, n: u64| {
            let mut windows = 0;
            for _ in 0..n {
                if let Some(window) = w.push(frame).unwrap() {
                    assert_eq!(window.data.len(), 10 * 64 * 64 * 3);
                    windows += 1;
                }
                frame.index += 1;
                frame.pts_ns += frame.duration_ns;
            }
            windows
        };
        // Warm-up: the first window makes the pool's tensor (which also shows the counter counts).
        let warm_up = allocation_counter::measure(|| assert!(push(&mut frame, 20) > 0));
        assert!(warm_up.count_total > 0, "{layout:?}: the first window's tensor is an allocation");
        let mut windows = 0;
        let info = allocation_counter::measure(|| windows = push(&mut frame, 200));
        assert_eq!(windows, 200 / stride, "{layout:?} stride {stride}");
        assert_eq!(info.count_total, 0, "{layout:?} stride {stride}: {info:?}");
    }
}

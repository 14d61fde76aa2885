//! Drawing a scene into an RGB frame of any size.

use rand::Rng;
use rand_distr::{Distribution, Normal};

use super::scene::{MODEL_SIZE, Scene};

/// Noise standard deviation per output pixel and channel.
const NOISE_SIGMA: f32 = 8.0;

/// Renders the scene's current frame into `rgb` (`height × width × 3`, packed rows).
pub fn render_frame(scene: &Scene, width: usize, height: usize, rng: &mut impl Rng, rgb: &mut [u8]) {
    let noise = Normal::new(0.0f32, NOISE_SIGMA).expect("valid sigma");
    let (sx, sy) = (MODEL_SIZE / width as f32, MODEL_SIZE / height as f32);
    let visible = scene.visible();
    for y in 0..height {
        let my = (y as f32 + 0.5) * sy;
        for x in 0..width {
            let mx = (x as f32 + 0.5) * sx;
            let px = &mut rgb[(y * width + x) * 3..][..3];
            let object = visible && scene.covers(mx, my);
            for (c, out) in px.iter_mut().enumerate() {
                let base = if object { scene.color[c] } else { scene.background } as f32;
                *out = (base + noise.sample(rng)).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}

//! u8 RGB pixels to the model's f32 input values: scale, per-channel mean/std, channel order.
//!
//! All of that is folded into one 256-entry lookup table per channel, so converting a frame is
//! one table read per byte whatever the settings.

use super::TensorLayout;
use crate::config::ChannelOrder;

/// The preprocessing part of the model configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreprocessSettings {
    pub scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub channel_order: ChannelOrder,
}

/// Converts packed RGB frames of a fixed size into model values.
#[derive(Debug, Clone)]
pub struct Preprocessor {
    /// `table[c][v]`: value of byte `v` in model channel `c`.
    table: [[f32; 256]; 3],
    /// `source[c]`: which RGB byte feeds model channel `c`.
    source: [usize; 3],
    pixels: usize,
}

impl Preprocessor {
    pub fn new(settings: &PreprocessSettings, width: usize, height: usize) -> Self {
        let mut table = [[0.0f32; 256]; 3];
        for (c, row) in table.iter_mut().enumerate() {
            for (v, out) in row.iter_mut().enumerate() {
                *out = (v as f32 * settings.scale - settings.mean[c]) / settings.std[c];
            }
        }
        let source = match settings.channel_order {
            ChannelOrder::Rgb => [0, 1, 2],
            ChannelOrder::Bgr => [2, 1, 0],
        };
        Self { table, source, pixels: width * height }
    }

    /// Channels per pixel of the model input.
    pub fn channels(&self) -> usize {
        3
    }

    /// Values per converted frame.
    pub fn frame_len(&self) -> usize {
        self.pixels * 3
    }

    /// Converts into `layout`'s per-frame order: `[H, W, C]` for `Thwc`, `[C, H, W]` for `Cthw`.
    pub fn convert(&self, layout: TensorLayout, rgb: &[u8], out: &mut [f32]) {
        match layout {
            TensorLayout::Thwc => self.to_interleaved(rgb, out),
            TensorLayout::Cthw => self.to_planar(rgb, out),
        }
    }

    /// `[H, W, C]` output.
    pub fn to_interleaved(&self, rgb: &[u8], out: &mut [f32]) {
        debug_assert_eq!(rgb.len(), self.frame_len());
        for (px, dst) in rgb.chunks_exact(3).zip(out.chunks_exact_mut(3)) {
            for c in 0..3 {
                dst[c] = self.table[c][px[self.source[c]] as usize];
            }
        }
    }

    /// `[C, H, W]` output.
    pub fn to_planar(&self, rgb: &[u8], out: &mut [f32]) {
        debug_assert_eq!(rgb.len(), self.frame_len());
        let (p0, rest) = out.split_at_mut(self.pixels);
        let (p1, p2) = rest.split_at_mut(self.pixels);
        for (i, px) in rgb.chunks_exact(3).enumerate() {
            p0[i] = self.table[0][px[self.source[0]] as usize];
            p1[i] = self.table[1][px[self.source[1]] as usize];
            p2[i] = self.table[2][px[self.source[2]] as usize];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_mean_std_and_bgr_order() {
        let settings = PreprocessSettings {
            scale: 1.0 / 255.0,
            mean: [0.5, 0.0, 0.25],
            std: [0.5, 1.0, 0.25],
            channel_order: ChannelOrder::Bgr,
        };
        let p = Preprocessor::new(&settings, 1, 1);
        let mut out = [0.0; 3];
        p.to_interleaved(&[255, 0, 51], &mut out);
        // Model channel 0 is blue (51/255 = 0.2), channel 2 is red (1.0).
        assert!((out[0] - (0.2 - 0.5) / 0.5).abs() < 1e-6, "{out:?}");
        assert!((out[1] - 0.0).abs() < 1e-6, "{out:?}");
        assert!((out[2] - (1.0 - 0.25) / 0.25).abs() < 1e-6, "{out:?}");
    }

    #[test]
    fn planar_and_interleaved_hold_the_same_values() {
        let settings = PreprocessSettings {
            scale: 1.0 / 255.0,
            mean: [0.0; 3],
            std: [1.0; 3],
            channel_order: ChannelOrder::Rgb,
        };
        let p = Preprocessor::new(&settings, 2, 1);
        let rgb = [10u8, 20, 30, 40, 50, 60];
        let (mut hwc, mut chw) = ([0.0; 6], [0.0; 6]);
        p.to_interleaved(&rgb, &mut hwc);
        p.to_planar(&rgb, &mut chw);
        assert_eq!(chw, [hwc[0], hwc[3], hwc[1], hwc[4], hwc[2], hwc[5]]);
    }
}

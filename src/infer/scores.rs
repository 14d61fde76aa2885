//! Turning a model's raw output vector into class probabilities.

use crate::config::OutputKind;

/// True when `v` already is a probability distribution (non-negative, sums to 1).
fn is_distribution(v: &[f32]) -> bool {
    let sum: f32 = v.iter().sum();
    v.iter().all(|x| (0.0..=1.0).contains(x)) && (sum - 1.0).abs() < 1e-3
}

fn softmax(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in v.iter_mut() {
        *x /= sum;
    }
}

/// Converts raw outputs in place according to the configured output kind.
pub fn to_probabilities(raw: &mut [f32], kind: OutputKind) {
    match kind {
        OutputKind::Probabilities => {}
        OutputKind::Logits => softmax(raw),
        OutputKind::Auto if is_distribution(raw) => {}
        OutputKind::Auto => softmax(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_keeps_probabilities_and_normalises_logits() {
        let mut p = [0.7, 0.2, 0.1];
        to_probabilities(&mut p, OutputKind::Auto);
        assert_eq!(p, [0.7, 0.2, 0.1]);
        let mut l = [2.0, 0.0, -1.0];
        to_probabilities(&mut l, OutputKind::Auto);
        assert!((l.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(l[0] > l[1] && l[1] > l[2]);
    }

    #[test]
    fn forced_logits_are_softmaxed_even_if_they_look_like_probabilities() {
        let mut p = [0.5, 0.5];
        to_probabilities(&mut p, OutputKind::Logits);
        assert_eq!(p, [0.5, 0.5]);
        let mut q = [1.0, 0.0];
        to_probabilities(&mut q, OutputKind::Logits);
        assert!((q[0] - 0.7310586).abs() < 1e-6);
    }
}

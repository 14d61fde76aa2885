//! Turning a model's raw output vector into class probabilities.

use crate::config::OutputKind;
use crate::flow::InferError;

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

/// Converts raw outputs in place according to the configured output kind. A NaN or infinite
/// output (a numerically broken model or input), or with `output = "probabilities"` a value
/// outside 0..1 (logits declared as probabilities), is refused: no label is better than a
/// score of NaN, which JSON cannot even carry.
pub fn to_probabilities(raw: &mut [f32], kind: OutputKind) -> Result<(), InferError> {
    if let Some(&value) = raw.iter().find(|x| !x.is_finite()) {
        return Err(InferError::NotFinite { value });
    }
    match kind {
        OutputKind::Probabilities => {
            if let Some(&value) = raw.iter().find(|x| !(-1e-6..=1.0 + 1e-3).contains(*x)) {
                return Err(InferError::NotProbability { value });
            }
            // Rounding in the model's own softmax: -1e-13 is 0 (found by fuzz/event_json).
            raw.iter_mut().for_each(|x| *x = x.clamp(0.0, 1.0));
        }
        OutputKind::Logits => softmax(raw),
        OutputKind::Auto if is_distribution(raw) => {}
        OutputKind::Auto => softmax(raw),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_keeps_probabilities_and_normalises_logits() {
        let mut p = [0.7, 0.2, 0.1];
        to_probabilities(&mut p, OutputKind::Auto).unwrap();
        assert_eq!(p, [0.7, 0.2, 0.1]);
        let mut l = [2.0, 0.0, -1.0];
        to_probabilities(&mut l, OutputKind::Auto).unwrap();
        assert!((l.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(l[0] > l[1] && l[1] > l[2]);
    }

    #[test]
    fn forced_logits_are_softmaxed_even_if_they_look_like_probabilities() {
        let mut p = [0.5, 0.5];
        to_probabilities(&mut p, OutputKind::Logits).unwrap();
        assert_eq!(p, [0.5, 0.5]);
        let mut q = [1.0, 0.0];
        to_probabilities(&mut q, OutputKind::Logits).unwrap();
        assert!((q[0] - 0.7310586).abs() < 1e-6);
    }

    #[test]
    fn a_score_json_cannot_carry_is_refused() {
        // Defect pinned (found by fuzz/event_json): a NaN from the model became a window event
        // with "score": null, which the event schema and its consumers reject.
        for kind in [OutputKind::Auto, OutputKind::Logits, OutputKind::Probabilities] {
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let mut v = [0.5, bad];
                assert!(
                    matches!(to_probabilities(&mut v, kind), Err(InferError::NotFinite { .. })),
                    "{kind:?} {bad}"
                );
            }
        }
    }

    #[test]
    fn logits_declared_as_probabilities_are_refused_by_name() {
        let mut v = [2.5, -1.0];
        let err = to_probabilities(&mut v, OutputKind::Probabilities).unwrap_err();
        assert!(err.to_string().contains("output = \"logits\""), "{err}");
        let mut ok = [0.25, 0.75];
        to_probabilities(&mut ok, OutputKind::Probabilities).unwrap();
        let mut rounded = [-1e-13, 1.0000001];
        to_probabilities(&mut rounded, OutputKind::Probabilities).unwrap();
        assert_eq!(rounded, [0.0, 1.0], "a softmax's rounding is clamped");
    }
}

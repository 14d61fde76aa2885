//! Moving average of the last N probability vectors of one stream.

use std::collections::VecDeque;

/// Averages the last `size` probability vectors.
#[derive(Debug, Clone)]
pub struct Smoother {
    size: usize,
    recent: VecDeque<Vec<f32>>,
    sum: Vec<f64>,
}

impl Smoother {
    pub fn new(size: usize) -> Self {
        Self { size: size.max(1), recent: VecDeque::new(), sum: Vec::new() }
    }

    /// Adds one window's probabilities; returns the average over the last `size` windows.
    pub fn push(&mut self, probabilities: &[f32]) -> Vec<f32> {
        if self.sum.len() != probabilities.len() {
            self.reset();
            self.sum = vec![0.0; probabilities.len()];
        }
        self.recent.push_back(probabilities.to_vec());
        for (s, p) in self.sum.iter_mut().zip(probabilities) {
            *s += f64::from(*p);
        }
        if self.recent.len() > self.size {
            let old = self.recent.pop_front().expect("longer than size");
            for (s, p) in self.sum.iter_mut().zip(&old) {
                *s -= f64::from(*p);
            }
        }
        let n = self.recent.len() as f64;
        self.sum.iter().map(|s| (s / n) as f32).collect()
    }

    /// Forgets the history (after a discontinuity).
    pub fn reset(&mut self) {
        self.recent.clear();
        self.sum.iter_mut().for_each(|s| *s = 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_over_the_last_n_windows() {
        let mut s = Smoother::new(2);
        assert_eq!(s.push(&[1.0, 0.0]), [1.0, 0.0]);
        assert_eq!(s.push(&[0.0, 1.0]), [0.5, 0.5]);
        assert_eq!(s.push(&[0.0, 1.0]), [0.0, 1.0]);
    }

    #[test]
    fn reset_forgets_the_history() {
        let mut s = Smoother::new(3);
        s.push(&[1.0, 0.0]);
        s.reset();
        assert_eq!(s.push(&[0.0, 1.0]), [0.0, 1.0]);
    }

    #[test]
    fn size_one_is_the_identity() {
        let mut s = Smoother::new(1);
        s.push(&[0.3, 0.7]);
        assert_eq!(s.push(&[0.9, 0.1]), [0.9, 0.1]);
    }
}

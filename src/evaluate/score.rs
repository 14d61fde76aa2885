//! Figures of one head against the truth: a confusion matrix of scored windows, and what it says
//! — accuracy overall and per class, precision, F1 per class and macro-F1.
//!
//! Rows are the truth's labels, columns the head's own labels (in its labels file's order), so a
//! head that lacks a truth label, or knows labels the truth never uses, is shown as it is rather
//! than forced onto one label set. Macro-F1 averages F1 over the truth's labels, each weighing the
//! same however many windows it has: the figure that does not let a frequent class hide a rare one.

use serde::Serialize;

/// Counts of (truth label, head label) over the scored windows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confusion {
    /// The truth's labels (rows).
    pub rows: Vec<String>,
    /// The head's labels (columns).
    pub columns: Vec<String>,
    /// `counts[row][column]`.
    pub counts: Vec<Vec<u64>>,
}

/// One truth label's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScore {
    pub label: String,
    /// Scored windows whose truth is this label.
    pub windows: u64,
    /// Of those, how many the head labelled so.
    pub correct: u64,
    /// `correct / windows` (recall); null without windows.
    pub accuracy: Option<f64>,
    /// Of the windows the head gave this label, the share that were; null if it never did.
    pub precision: Option<f64>,
    /// Harmonic mean of precision and accuracy; 0 when either is 0 or undefined.
    pub f1: f64,
}

/// A head's figures over the scored windows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    pub windows: u64,
    pub correct: u64,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_class: Vec<ClassScore>,
    pub confusion: Confusion,
}

impl Confusion {
    pub fn new(rows: Vec<String>, columns: Vec<String>) -> Self {
        let counts = vec![vec![0; columns.len()]; rows.len()];
        Self { rows, columns, counts }
    }

    /// Counts one window; `false` if either label is not in the matrix.
    pub fn add(&mut self, truth: &str, predicted: &str) -> bool {
        let row = self.rows.iter().position(|l| l == truth);
        let column = self.columns.iter().position(|l| l == predicted);
        match (row, column) {
            (Some(r), Some(c)) => {
                self.counts[r][c] += 1;
                true
            }
            _ => false,
        }
    }

    /// The figures the matrix gives.
    pub fn scores(self) -> Scores {
        let column_of = |label: &str| self.columns.iter().position(|l| l == label);
        let per_class: Vec<ClassScore> = self
            .rows
            .iter()
            .enumerate()
            .map(|(r, label)| {
                let windows: u64 = self.counts[r].iter().sum();
                let column = column_of(label);
                let correct = column.map_or(0, |c| self.counts[r][c]);
                let predicted: u64 = column.map_or(0, |c| self.counts.iter().map(|row| row[c]).sum());
                let ratio = |n: u64, d: u64| (d > 0).then(|| n as f64 / d as f64);
                let accuracy = ratio(correct, windows);
                let precision = ratio(correct, predicted);
                let f1 = match (precision, accuracy) {
                    (Some(p), Some(a)) if p + a > 0.0 => 2.0 * p * a / (p + a),
                    _ => 0.0,
                };
                ClassScore { label: label.clone(), windows, correct, accuracy, precision, f1 }
            })
            .collect();
        let windows: u64 = per_class.iter().map(|c| c.windows).sum();
        let correct: u64 = per_class.iter().map(|c| c.correct).sum();
        let with_windows: Vec<&ClassScore> = per_class.iter().filter(|c| c.windows > 0).collect();
        let macro_f1 = if with_windows.is_empty() {
            0.0
        } else {
            with_windows.iter().map(|c| c.f1).sum::<f64>() / with_windows.len() as f64
        };
        Scores {
            windows,
            correct,
            accuracy: if windows > 0 { correct as f64 / windows as f64 } else { 0.0 },
            macro_f1,
            per_class,
            confusion: self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn figures_follow_from_the_matrix() {
        // Truth a×4 (3 right, 1 as b), b×2 (both as c, a label the truth lacks).
        let mut m = Confusion::new(labels(&["a", "b"]), labels(&["a", "b", "c"]));
        for (t, p) in [("a", "a"), ("a", "a"), ("a", "a"), ("a", "b"), ("b", "c"), ("b", "c")] {
            assert!(m.add(t, p));
        }
        assert!(!m.add("z", "a"), "a label outside the matrix is refused");
        let s = m.scores();
        assert_eq!((s.windows, s.correct), (6, 3));
        assert_eq!(s.accuracy, 0.5);
        let a = &s.per_class[0];
        assert_eq!((a.windows, a.correct, a.accuracy, a.precision), (4, 3, Some(0.75), Some(1.0)));
        assert!((a.f1 - 2.0 * 0.75 / 1.75).abs() < 1e-12);
        let b = &s.per_class[1];
        assert_eq!((b.accuracy, b.precision, b.f1), (Some(0.0), Some(0.0), 0.0));
        assert!((s.macro_f1 - a.f1 / 2.0).abs() < 1e-12);
        assert_eq!(s.confusion.counts, vec![vec![3, 1, 0], vec![0, 0, 2]]);
    }

    #[test]
    fn a_truth_label_the_head_does_not_know_is_never_right() {
        let mut m = Confusion::new(labels(&["a", "x"]), labels(&["a"]));
        m.add("x", "a");
        m.add("a", "a");
        let s = m.scores();
        assert_eq!(s.per_class[1].accuracy, Some(0.0));
        assert_eq!(s.per_class[1].precision, None);
        assert_eq!(s.per_class[0].precision, Some(0.5));
    }
}

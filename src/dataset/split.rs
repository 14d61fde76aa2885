//! Training and validation split by video, stratified by label, with a fixed seed.
//!
//! Never by window: overlapping windows of one video on both sides would make validation a
//! memory test. A video may carry several labels (segments); the split takes the rarest labels
//! first, so that each label gets its share of validation videos even when its videos also
//! carry commoner ones (iterative stratification).

use serde::Serialize;

/// Which side of the split a video (and so each of its windows) is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Val,
    /// Given with `--test`: never seen by training or model selection.
    Test,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];

    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

/// Why a split is impossible: a label whose videos cannot be shared between the sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsplittable {
    pub label: usize,
    pub videos: usize,
}

/// Assigns each video to training or validation. `labels[v]` lists the label ids that video `v`
/// has windows of; videos are taken in the given order (callers sort them by path), and the
/// seeded shuffle makes the result the same on every run. Each label needs two videos.
pub fn split_by_video(
    labels: &[Vec<usize>],
    label_count: usize,
    val_fraction: f64,
    seed: u64,
) -> Result<Vec<Split>, Vec<Unsplittable>> {
    let members: Vec<Vec<usize>> =
        (0..label_count).map(|l| (0..labels.len()).filter(|&v| labels[v].contains(&l)).collect()).collect();
    let too_few: Vec<Unsplittable> = members
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.is_empty() && m.len() < 2)
        .map(|(label, m)| Unsplittable { label, videos: m.len() })
        .collect();
    if !too_few.is_empty() {
        return Err(too_few);
    }
    let mut order: Vec<usize> = (0..label_count).filter(|&l| !members[l].is_empty()).collect();
    order.sort_by_key(|&l| (members[l].len(), l));
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut side: Vec<Option<Split>> = vec![None; labels.len()];
    for label in order {
        let videos = &members[label];
        let target = ((videos.len() as f64 * val_fraction).round() as usize).clamp(1, videos.len() - 1);
        let mut in_val = videos.iter().filter(|&&v| side[v] == Some(Split::Val)).count();
        let mut free: Vec<usize> = videos.iter().copied().filter(|&v| side[v].is_none()).collect();
        rng.shuffle(&mut free);
        for v in free {
            side[v] = Some(if in_val < target { Split::Val } else { Split::Train });
            in_val += usize::from(side[v] == Some(Split::Val));
        }
    }
    let side: Vec<Split> = side.into_iter().map(|s| s.unwrap_or(Split::Train)).collect();
    // Rarer labels decided every video of this one: nothing left to train on.
    let untrained: Vec<Unsplittable> = (0..label_count)
        .filter(|&l| !members[l].is_empty() && members[l].iter().all(|&v| side[v] != Split::Train))
        .map(|label| Unsplittable { label, videos: members[label].len() })
        .collect();
    if untrained.is_empty() { Ok(side) } else { Err(untrained) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(side: &[Split], labels: &[Vec<usize>], label: usize, split: Split) -> usize {
        side.iter().zip(labels).filter(|(s, l)| **s == split && l.contains(&label)).count()
    }

    #[test]
    fn each_label_gets_its_share_of_validation_videos_and_the_seed_fixes_which() {
        // 10 videos of label 0, 5 of label 1, one label per video.
        let labels: Vec<Vec<usize>> = (0..15).map(|v| vec![usize::from(v >= 10)]).collect();
        let side = split_by_video(&labels, 2, 0.2, 7).unwrap();
        assert_eq!(count(&side, &labels, 0, Split::Val), 2);
        assert_eq!(count(&side, &labels, 1, Split::Val), 1);
        assert_eq!(side, split_by_video(&labels, 2, 0.2, 7).unwrap(), "same seed, same split");
        let others: Vec<Vec<Split>> = (0..8).map(|s| split_by_video(&labels, 2, 0.2, s).unwrap()).collect();
        assert!(others.iter().any(|o| *o != side), "the seed chooses the videos");
    }

    #[test]
    fn a_label_needs_two_videos_and_always_keeps_one_for_training() {
        let labels = vec![vec![0], vec![0], vec![1]];
        assert_eq!(split_by_video(&labels, 2, 0.2, 1), Err(vec![Unsplittable { label: 1, videos: 1 }]));
        // Two videos and a large fraction: one on each side.
        let side = split_by_video(&[vec![0], vec![0]], 1, 0.9, 1).unwrap();
        assert_eq!((count(&side, &[vec![0], vec![0]], 0, Split::Train)), 1);
    }

    #[test]
    fn rare_labels_inside_multi_label_videos_are_stratified_first() {
        // Label 1 appears only in videos 0 and 1, which also carry the common label 0.
        let mut labels = vec![vec![0, 1], vec![0, 1]];
        labels.extend((0..8).map(|_| vec![0]));
        let side = split_by_video(&labels, 2, 0.2, 3).unwrap();
        assert_eq!(count(&side, &labels, 1, Split::Val), 1);
        assert_eq!(count(&side, &labels, 1, Split::Train), 1);
        assert_eq!(count(&side, &labels, 0, Split::Val), 2);
    }

    #[test]
    fn videos_without_windows_count_for_no_label() {
        let labels = vec![vec![0], vec![], vec![0]];
        let side = split_by_video(&labels, 1, 0.5, 1).unwrap();
        assert_eq!(side[1], Split::Train);
    }
}

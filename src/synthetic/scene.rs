//! One segment's scene: a dark noisy background and one bright object doing one action.

use rand::Rng;
use serde::Serialize;

/// Model frames are this many pixels wide and high; scene lengths are in these pixels.
pub const MODEL_SIZE: f32 = 64.0;

/// The eight actions, in the order of `models/labels.txt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Still,
    MoveLeft,
    MoveRight,
    MoveUp,
    MoveDown,
    Grow,
    Shrink,
    Blink,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Action::Still,
        Action::MoveLeft,
        Action::MoveRight,
        Action::MoveUp,
        Action::MoveDown,
        Action::Grow,
        Action::Shrink,
        Action::Blink,
    ];

    /// The label, as in `models/labels.txt`.
    pub fn label(self) -> &'static str {
        match self {
            Action::Still => "still",
            Action::MoveLeft => "move_left",
            Action::MoveRight => "move_right",
            Action::MoveUp => "move_up",
            Action::MoveDown => "move_down",
            Action::Grow => "grow",
            Action::Shrink => "shrink",
            Action::Blink => "blink",
        }
    }
}

const MIN_SIZE: f32 = 4.0;
const MAX_SIZE: f32 = 28.0;

/// The object of a segment and how it moves; `advance` steps it one frame.
#[derive(Debug, Clone)]
pub struct Scene {
    pub action: Action,
    /// Gray level of the background, 0–60.
    pub background: u8,
    /// Object colour, every channel ≥ 150.
    pub color: [u8; 3],
    pub disc: bool,
    /// Centre in model pixels.
    pub cx: f32,
    pub cy: f32,
    /// Side or diameter in model pixels.
    pub size: f32,
    /// Model pixels per frame: speed for moves, size change for grow/shrink.
    rate: f32,
    /// Blink half-period in frames, and phase.
    period: u32,
    phase: u32,
    frame: u32,
    /// Position actually drawn this frame (differs from the centre only for `still`'s jitter).
    pub drawn: (f32, f32),
}

impl Scene {
    pub fn random(action: Action, rng: &mut impl Rng) -> Self {
        let (cx, cy) = (rng.random_range(0.0..MODEL_SIZE), rng.random_range(0.0..MODEL_SIZE));
        let period = rng.random_range(2..=4);
        let mut scene = Self {
            action,
            background: rng.random_range(0..=60),
            color: [rng.random_range(150..=255), rng.random_range(150..=255), rng.random_range(150..=255)],
            disc: rng.random_bool(0.5),
            cx,
            cy,
            size: rng.random_range(8.0..=16.0),
            rate: 0.0,
            period,
            phase: rng.random_range(0..2 * period),
            frame: 0,
            drawn: (cx, cy),
        };
        match action {
            Action::MoveLeft | Action::MoveRight | Action::MoveUp | Action::MoveDown => {
                scene.rate = rng.random_range(2.0..=5.0);
            }
            Action::Grow | Action::Shrink => {
                scene.rate = rng.random_range(1.0..=2.0);
                scene.size = rng.random_range(MIN_SIZE..=MAX_SIZE);
            }
            Action::Still | Action::Blink => {}
        }
        scene.jitter(rng);
        scene
    }

    /// Whether the object is drawn in the current frame.
    pub fn visible(&self) -> bool {
        self.action != Action::Blink || ((self.frame + self.phase) / self.period).is_multiple_of(2)
    }

    /// Moves the scene on by one frame.
    pub fn advance(&mut self, rng: &mut impl Rng) {
        let wrap = |v: f32| v.rem_euclid(MODEL_SIZE);
        match self.action {
            Action::MoveLeft => self.cx = wrap(self.cx - self.rate),
            Action::MoveRight => self.cx = wrap(self.cx + self.rate),
            Action::MoveUp => self.cy = wrap(self.cy - self.rate),
            Action::MoveDown => self.cy = wrap(self.cy + self.rate),
            Action::Grow => {
                self.size += self.rate;
                if self.size > MAX_SIZE {
                    self.size = MIN_SIZE;
                }
            }
            Action::Shrink => {
                self.size -= self.rate;
                if self.size < MIN_SIZE {
                    self.size = MAX_SIZE;
                }
            }
            Action::Still | Action::Blink => {}
        }
        self.frame += 1;
        self.jitter(rng);
    }

    fn jitter(&mut self, rng: &mut impl Rng) {
        self.drawn = (self.cx, self.cy);
        if self.action == Action::Still {
            self.drawn.0 += rng.random_range(-1..=1) as f32;
            self.drawn.1 += rng.random_range(-1..=1) as f32;
        }
    }

    /// Whether model-space point (x, y) lies inside the object, with wrap-around at the edges.
    pub fn covers(&self, x: f32, y: f32) -> bool {
        let toroidal = |d: f32| {
            let d = d.rem_euclid(MODEL_SIZE);
            d.min(MODEL_SIZE - d)
        };
        let (dx, dy) = (toroidal(x - self.drawn.0), toroidal(y - self.drawn.1));
        let half = self.size / 2.0;
        if self.disc { dx * dx + dy * dy <= half * half } else { dx <= half && dy <= half }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    #[test]
    fn moving_object_wraps_around_the_edge() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut scene = Scene::random(Action::MoveRight, &mut rng);
        scene.cx = 63.0;
        scene.advance(&mut rng);
        assert!(scene.cx < 5.0, "{}", scene.cx);
        // The object now straddles the edge: visible on both sides.
        scene.size = 12.0;
        assert!(scene.covers(scene.cx, scene.cy));
        assert!(scene.covers(63.5, scene.cy));
    }

    #[test]
    fn growing_object_restarts_small() {
        let mut rng = SmallRng::seed_from_u64(2);
        let mut scene = Scene::random(Action::Grow, &mut rng);
        scene.size = 27.5;
        scene.advance(&mut rng);
        assert_eq!(scene.size, MIN_SIZE);
    }

    #[test]
    fn blink_alternates_with_its_period() {
        let mut rng = SmallRng::seed_from_u64(3);
        let mut scene = Scene::random(Action::Blink, &mut rng);
        let pattern: Vec<bool> = (0..16)
            .map(|_| {
                let v = scene.visible();
                scene.advance(&mut rng);
                v
            })
            .collect();
        let changes = pattern.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(changes >= 3, "{pattern:?}");
        assert!(pattern.iter().any(|v| *v) && pattern.iter().any(|v| !*v));
    }
}

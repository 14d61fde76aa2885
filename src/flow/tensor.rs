//! Window tensors, recycled: a window's tensor goes back to its stream's free list when the
//! window is dropped (after its inference run), and the next window reuses it. In steady state
//! windowing allocates nothing; tensors are made only while more windows are in flight than
//! ever before (at most the queue depths plus one per worker).

use std::ops::{Deref, DerefMut};

use crossbeam_channel::{Receiver, Sender, bounded};

/// Free tensors beyond this many are released instead of kept.
const KEEP: usize = 64;

/// One stream's free list of tensors of one length.
pub struct TensorPool {
    len: usize,
    give_back: Sender<Vec<f32>>,
    free: Receiver<Vec<f32>>,
}

impl TensorPool {
    pub fn new(len: usize) -> Self {
        let (give_back, free) = bounded(KEEP);
        Self { len, give_back, free }
    }

    /// A tensor of `len` values with unspecified contents: the caller overwrites all of them.
    pub fn take(&self) -> PooledTensor {
        let data = self.free.try_recv().unwrap_or_else(|_| vec![0.0; self.len]);
        PooledTensor { data, home: self.give_back.clone() }
    }
}

/// A tensor that returns to its pool when dropped.
pub struct PooledTensor {
    data: Vec<f32>,
    home: Sender<Vec<f32>>,
}

impl Deref for PooledTensor {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.data
    }
}

impl DerefMut for PooledTensor {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }
}

impl Drop for PooledTensor {
    fn drop(&mut self) {
        // A full free list or a pool already gone (the stream ended) just frees the memory.
        let _ = self.home.try_send(std::mem::take(&mut self.data));
    }
}

impl std::fmt::Debug for PooledTensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PooledTensor({} values)", self.data.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_tensor_is_handed_out_again() {
        let pool = TensorPool::new(4);
        let first = pool.take();
        let address = first.as_ptr();
        let held = pool.take();
        assert_ne!(held.as_ptr(), address, "a tensor in use is never handed out twice");
        drop(first);
        assert_eq!(pool.take().as_ptr(), address);
    }

    #[test]
    fn tensors_outliving_their_pool_are_simply_freed() {
        let pool = TensorPool::new(2);
        let tensor = pool.take();
        drop(pool);
        assert_eq!(tensor.len(), 2);
        drop(tensor);
    }
}

//! Whole event lines not yet in the file: the write buffer in good times, and a bounded backlog
//! while the file cannot be written (a full disk, a removed folder). Only whole lines are ever
//! dropped, the oldest first, so what reaches the file later is still valid JSON Lines.

/// Complete lines waiting to be written, at most `max_bytes` of them.
#[derive(Debug)]
pub(super) struct Backlog {
    bytes: Vec<u8>,
    max_bytes: usize,
    /// Lines dropped to stay within `max_bytes` since the last [`Backlog::take_dropped`].
    dropped: u64,
}

impl Backlog {
    pub fn new(max_bytes: usize) -> Self {
        Self { bytes: Vec::new(), max_bytes, dropped: 0 }
    }

    /// Appends one line (ending in `\n`), dropping the oldest lines beyond the bound.
    pub fn push(&mut self, line: &[u8]) {
        debug_assert!(line.ends_with(b"\n"));
        self.bytes.extend_from_slice(line);
        while self.bytes.len() > self.max_bytes {
            let first_line = self.bytes.iter().position(|&b| b == b'\n').map_or(self.bytes.len(), |i| i + 1);
            self.bytes.drain(..first_line);
            // A lone newline (see `start_on_a_new_line`) is no event.
            self.dropped += u64::from(first_line > 1);
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn lines(&self) -> usize {
        self.bytes.iter().filter(|&&b| b == b'\n').count()
    }

    /// Everything was written.
    pub fn clear(&mut self) {
        self.bytes.clear();
    }

    /// After a failed write left part of a line in the file that could not be cut back: the
    /// next write starts with a newline, so that part is a line of its own, not glued to an
    /// event.
    pub fn start_on_a_new_line(&mut self) {
        if self.bytes.first() != Some(&b'\n') {
            self.bytes.insert(0, b'\n');
        }
    }

    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_whole_lines_go_first_when_the_bound_is_reached() {
        let mut b = Backlog::new(10);
        b.push(b"aaa\n");
        b.push(b"bbb\n");
        assert_eq!(b.as_slice(), b"aaa\nbbb\n");
        assert_eq!(b.take_dropped(), 0);
        b.push(b"cc\n");
        assert_eq!(b.as_slice(), b"bbb\ncc\n");
        assert_eq!(b.take_dropped(), 1);
        assert_eq!(b.lines(), 2);
        // A line larger than the whole bound cannot be kept.
        b.push(b"0123456789abc\n");
        assert!(b.is_empty());
        assert_eq!(b.take_dropped(), 3);
    }
}

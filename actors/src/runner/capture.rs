//! Output capture: keep the head and the tail of a stream within a byte limit and say how much was cut in
//! between; and a live log that HTTP clients can follow while the run goes on. Both see the output only
//! after its secrets are masked (`mask.rs`): nothing unmasked is kept, stored or sent to a follower.

use super::mask::Masker;
use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::sync::broadcast;

/// The first and last bytes of a stream, at most `limit` in all.
#[derive(Debug)]
pub struct HeadTail {
    head_cap: usize,
    tail_cap: usize,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    cut: u64,
}

impl HeadTail {
    pub fn new(limit: usize) -> Self {
        let head_cap = limit / 2;
        Self { head_cap, tail_cap: limit - head_cap, head: Vec::new(), tail: VecDeque::new(), cut: 0 }
    }

    pub fn push(&mut self, mut bytes: &[u8]) {
        let room = self.head_cap - self.head.len();
        if room > 0 {
            let take = room.min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        self.tail.extend(bytes);
        let overflow = self.tail.len().saturating_sub(self.tail_cap);
        if overflow > 0 {
            self.tail.drain(..overflow);
            self.cut += overflow as u64;
        }
    }

    /// Bytes dropped from the middle.
    pub fn cut(&self) -> u64 {
        self.cut
    }

    /// The kept text, with a marker where bytes were cut.
    pub fn render(&self) -> String {
        let mut bytes = self.head.clone();
        if self.cut > 0 {
            bytes.extend_from_slice(format!("\n[… {} bytes cut …]\n", self.cut).as_bytes());
        }
        bytes.extend(self.tail.iter());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

struct LiveState {
    stdout: HeadTail,
    stderr: HeadTail,
    masks: [Masker; 2],
    chunks: Option<broadcast::Sender<Vec<u8>>>,
}

impl LiveState {
    fn keep_stdout(&mut self, masked: Vec<u8>) {
        if masked.is_empty() {
            return;
        }
        self.stdout.push(&masked);
        if let Some(chunks) = &self.chunks {
            let _ = chunks.send(masked);
        }
    }
}

/// A running process's output: captured for the database and broadcast to followers.
pub struct LiveLog {
    state: Mutex<LiveState>,
}

impl LiveLog {
    pub fn new(limit: usize) -> Self {
        let (chunks, _) = broadcast::channel(256);
        Self {
            state: Mutex::new(LiveState {
                stdout: HeadTail::new(limit),
                stderr: HeadTail::new(limit),
                masks: Default::default(),
                chunks: Some(chunks),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LiveState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Masks every exact occurrence of these values from here on (before the process starts).
    pub fn mask(&self, values: &[Vec<u8>]) {
        self.lock().masks = [Masker::new(values), Masker::new(values)];
    }

    pub fn stdout(&self, bytes: &[u8]) {
        let mut state = self.lock();
        let masked = state.masks[0].push(bytes);
        state.keep_stdout(masked);
    }

    pub fn stderr(&self, bytes: &[u8]) {
        let mut state = self.lock();
        let masked = state.masks[1].push(bytes);
        state.stderr.push(&masked);
    }

    /// Lets through what the masks held back at the end of each stream (masked); before `rendered`.
    pub fn finish(&self) {
        let mut state = self.lock();
        let (out, err) = (state.masks[0].finish(), state.masks[1].finish());
        state.keep_stdout(out);
        state.stderr.push(&err);
    }

    /// (stdout, stderr) as kept so far.
    pub fn rendered(&self) -> (String, String) {
        let state = self.lock();
        (state.stdout.render(), state.stderr.render())
    }

    /// What was printed so far and a receiver for what comes next; `None` once the run ended.
    pub fn follow(&self) -> (String, Option<broadcast::Receiver<Vec<u8>>>) {
        let state = self.lock();
        (state.stdout.render(), state.chunks.as_ref().map(broadcast::Sender::subscribe))
    }

    /// Ends every follower's stream.
    pub fn close(&self) {
        self.lock().chunks = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_is_kept_whole() {
        let mut capture = HeadTail::new(16);
        capture.push(b"hello ");
        capture.push(b"world");
        assert_eq!(capture.render(), "hello world");
        assert_eq!(capture.cut(), 0);
    }

    #[test]
    fn long_output_keeps_head_and_tail_and_says_what_was_cut() {
        let mut capture = HeadTail::new(10);
        for chunk in [b"0123".as_slice(), b"456789", b"abcdefghij"] {
            capture.push(chunk);
        }
        assert_eq!(capture.render(), "01234\n[… 10 bytes cut …]\nfghij");
        assert_eq!(capture.cut(), 10);
    }

    #[test]
    fn followers_and_the_capture_see_only_masked_output() {
        let log = LiveLog::new(100);
        log.mask(&[b"hunter22".to_vec()]);
        let (_, receiver) = log.follow();
        let mut receiver = receiver.unwrap();
        for chunk in [b"pw=hun".as_slice(), b"ter22 and hunter2", b"2\n"] {
            log.stdout(chunk);
        }
        log.stderr(b"err hunter22");
        log.finish();
        let mut followed = Vec::new();
        while let Ok(chunk) = receiver.try_recv() {
            followed.extend(chunk);
        }
        assert_eq!(String::from_utf8(followed).unwrap(), "pw=*** and ***\n");
        assert_eq!(log.rendered(), ("pw=*** and ***\n".to_owned(), "err ***".to_owned()));
    }

    #[test]
    fn followers_get_new_chunks_until_close() {
        let log = LiveLog::new(100);
        log.stdout(b"before ");
        let (so_far, receiver) = log.follow();
        let mut receiver = receiver.unwrap();
        log.stdout(b"after");
        log.close();
        assert_eq!(so_far, "before ");
        assert_eq!(receiver.try_recv().unwrap(), b"after");
        assert!(log.follow().1.is_none());
    }
}

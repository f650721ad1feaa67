//! Output capture: keep the head and the tail of a stream within a byte limit and say how much was cut in
//! between; and a live log that HTTP clients can follow while the run goes on.

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
    chunks: Option<broadcast::Sender<Vec<u8>>>,
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
                chunks: Some(chunks),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LiveState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn stdout(&self, bytes: &[u8]) {
        let mut state = self.lock();
        state.stdout.push(bytes);
        if let Some(chunks) = &state.chunks {
            let _ = chunks.send(bytes.to_vec());
        }
    }

    pub fn stderr(&self, bytes: &[u8]) {
        self.lock().stderr.push(bytes);
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

//! Masking secrets in a stream as it comes, as GitHub Actions does: every exact occurrence of a value
//! (and of each line of a multi-line value) becomes `***`, also when it arrives split across reads. The
//! last `longest - 1` bytes wait for the next read, so no part of a value that is still arriving is let
//! through; `finish` releases them at the end.

pub const MASK: &[u8] = b"***";
/// Shorter values (and lines) are not masked: they would hide ordinary text (`secrets::MIN_VALUE_CHARS`).
const MIN_MASKED: usize = 4;

/// `text` with every value masked (a whole text at once, e.g. what an output parser made of the output).
pub fn mask_text<V: AsRef<[u8]>>(values: &[V], text: &str) -> String {
    let mut masker = Masker::new(values);
    let mut out = masker.push(text.as_bytes());
    out.extend(masker.finish());
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, Default)]
pub struct Masker {
    /// Longest first, so a value containing another is masked whole.
    values: Vec<Vec<u8>>,
    held: Vec<u8>,
}

impl Masker {
    pub fn new<V: AsRef<[u8]>>(values: &[V]) -> Self {
        let mut all: Vec<Vec<u8>> = Vec::new();
        for value in values.iter().map(AsRef::as_ref) {
            all.push(value.to_vec());
            // A multi-line value is masked line by line too (a program may print one line of it).
            let lines = value.split(|b| *b == b'\n').map(|line| line.trim_ascii());
            all.extend(lines.filter(|l| l.len() >= MIN_MASKED).map(<[u8]>::to_vec));
        }
        all.retain(|v| v.len() >= MIN_MASKED);
        all.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        all.dedup();
        Self { values: all, held: Vec::new() }
    }

    fn longest(&self) -> usize {
        self.values.first().map_or(0, Vec::len)
    }

    /// What of `bytes` (after what was held) can be let through now, masked.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<u8> {
        if self.values.is_empty() {
            return bytes.to_vec();
        }
        self.held.extend_from_slice(bytes);
        let keep = self.longest() - 1;
        self.release(self.held.len().saturating_sub(keep))
    }

    /// The rest, at the end of the stream.
    pub fn finish(&mut self) -> Vec<u8> {
        self.release(self.held.len())
    }

    /// Masks and lets through the held bytes up to `upto` (a value starting before it is taken whole when
    /// it is complete in what is held).
    fn release(&mut self, upto: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(upto);
        let mut at = 0;
        while at < upto {
            match self.values.iter().find(|v| self.held[at..].starts_with(v)) {
                Some(value) => {
                    out.extend_from_slice(MASK);
                    at += value.len();
                }
                None => {
                    out.push(self.held[at]);
                    at += 1;
                }
            }
        }
        self.held.drain(..at.min(self.held.len()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(masker: &mut Masker, chunks: &[&[u8]]) -> String {
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend(masker.push(chunk));
        }
        out.extend(masker.finish());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn values_are_masked_whole_and_split_across_reads() {
        let values = ["hunter22".to_owned()];
        assert_eq!(through(&mut Masker::new(&values), &[b"pw=hunter22 ok"]), "pw=*** ok");
        assert_eq!(through(&mut Masker::new(&values), &[b"pw=hun", b"ter", b"22 ok"]), "pw=*** ok");
        assert_eq!(through(&mut Masker::new(&values), &[b"hunter2", b"2hunter22"]), "******");
        assert_eq!(through(&mut Masker::new(&values), &[b"hunter2"]), "hunter2", "a prefix alone is not the secret");
        // One byte at a time, the worst split there is.
        let text = b"a hunter22 b hunter22";
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(through(&mut Masker::new(&values), &bytes), "a *** b ***");
    }

    #[test]
    fn a_multi_line_value_is_masked_line_by_line_and_nothing_without_values() {
        let key = "-----BEGIN KEY-----\nAAAAsecretline\n-----END KEY-----".to_owned();
        let out =
            through(&mut Masker::new(std::slice::from_ref(&key)), &[b"one line: AAAAsecretline\n", key.as_bytes()]);
        assert!(!out.contains("AAAAsecretline"), "{out}");
        assert_eq!(through(&mut Masker::new::<Vec<u8>>(&[]), &[b"plain", b" text"]), "plain text");
    }
}

//! A segment: a run of outbox rows shipped as one object, `pitr/<timeline>/<first>-<last>.seg`.
//!
//! The format is small and self-checking: the magic `ATLASPITR1`, then per row its sequence number,
//! schema version, commit time and changeset (little-endian lengths), then a BLAKE3 digest of all that.
//! A segment whose digest does not match is refused whole, never replayed in part. Segments may overlap
//! (a crash between an upload and the outbox trim ships the same rows again); a row is identified by its
//! timeline and sequence number, so a restore takes each row once.

const MAGIC: &[u8] = b"ATLASPITR1";
const DIGEST: usize = 32;

/// One committed batch's changes, as the outbox holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub seq: i64,
    pub schema_version: u32,
    /// The writer's RFC 3339 commit time.
    pub committed_at: String,
    pub changeset: Vec<u8>,
}

/// The segment's bytes.
pub fn encode(records: &[Record]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(MAGIC.len() + DIGEST + records.iter().map(|r| r.changeset.len() + 32).sum::<usize>());
    out.extend_from_slice(MAGIC);
    for record in records {
        out.extend_from_slice(&record.seq.to_le_bytes());
        out.extend_from_slice(&record.schema_version.to_le_bytes());
        out.extend_from_slice(&(record.committed_at.len() as u32).to_le_bytes());
        out.extend_from_slice(record.committed_at.as_bytes());
        out.extend_from_slice(&(record.changeset.len() as u32).to_le_bytes());
        out.extend_from_slice(&record.changeset);
    }
    let digest = blake3::hash(&out);
    out.extend_from_slice(digest.as_bytes());
    out
}

/// The rows of a segment, or why it cannot be trusted.
pub fn decode(bytes: &[u8]) -> Result<Vec<Record>, String> {
    if bytes.len() < MAGIC.len() + DIGEST || !bytes.starts_with(MAGIC) {
        return Err("not an Atlas change segment".into());
    }
    let (body, digest) = bytes.split_at(bytes.len() - DIGEST);
    if blake3::hash(body).as_bytes() != digest {
        return Err("its checksum does not match its contents (damaged or altered)".into());
    }
    let mut rest = &body[MAGIC.len()..];
    let mut records = Vec::new();
    while !rest.is_empty() {
        let seq = i64::from_le_bytes(take(&mut rest, 8)?.try_into().unwrap_or_default());
        let schema_version = u32::from_le_bytes(take(&mut rest, 4)?.try_into().unwrap_or_default());
        let time_len = u32::from_le_bytes(take(&mut rest, 4)?.try_into().unwrap_or_default()) as usize;
        let committed_at = String::from_utf8(take(&mut rest, time_len)?.to_vec())
            .map_err(|_| format!("row {seq} has a commit time that is not UTF-8"))?;
        let change_len = u32::from_le_bytes(take(&mut rest, 4)?.try_into().unwrap_or_default()) as usize;
        let changeset = take(&mut rest, change_len)?.to_vec();
        records.push(Record { seq, schema_version, committed_at, changeset });
    }
    Ok(records)
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if rest.len() < n {
        return Err("it ends in the middle of a row".into());
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

/// The folder of a timeline's segments, under the off-site prefix.
pub fn folder(timeline: &str) -> String {
    format!("pitr/{timeline}/")
}

/// The object name of a segment holding rows `first..=last`: zero-padded, so names sort by position.
pub fn name(timeline: &str, first: i64, last: i64) -> String {
    format!("{}{first:020}-{last:020}.seg", folder(timeline))
}

/// The rows a segment's object name says it holds; `None` for any other object.
pub fn span(object_name: &str) -> Option<(i64, i64)> {
    let file = object_name.rsplit('/').next()?.strip_suffix(".seg")?;
    let (first, last) = file.split_once('-')?;
    let (first, last) = (first.parse().ok()?, last.parse().ok()?);
    (first <= last).then_some((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: i64) -> Record {
        Record {
            seq,
            schema_version: 8,
            committed_at: format!("2026-12-01T10:00:0{seq}.000Z"),
            changeset: vec![seq as u8; 40],
        }
    }

    #[test]
    fn a_segment_reads_back_as_written() {
        let records = vec![record(1), record(2), record(3)];
        assert_eq!(decode(&encode(&records)).unwrap(), records);
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
    }

    #[test]
    fn a_changed_byte_or_a_cut_refuses_the_whole_segment() {
        let bytes = encode(&[record(1), record(2)]);
        for at in [0, MAGIC.len() + 3, bytes.len() / 2, bytes.len() - 1] {
            let mut altered = bytes.clone();
            altered[at] ^= 0x01;
            assert!(decode(&altered).is_err(), "a flipped bit at {at} is noticed");
        }
        assert!(decode(&bytes[..bytes.len() - 5]).is_err());
        assert!(decode(b"ATLASPITR1").is_err());
    }

    #[test]
    fn names_sort_by_position_and_say_their_span() {
        let a = name("t1", 9, 10);
        let b = name("t1", 11, 120);
        assert!(a < b, "{a} sorts before {b}");
        assert_eq!(span(&format!("atlas/{b}")), Some((11, 120)));
        assert_eq!(span("atlas/pitr/t1/notes.txt"), None);
        assert_eq!(span("atlas/pitr/t1/00000000000000000009-00000000000000000002.seg"), None);
    }
}

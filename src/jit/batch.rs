//! Cache entries for batches: functions compiled ahead together share one object,
//! stored once under a key of its own with the key of each member; each member's key
//! holds an alias to it. A later run finds a member by its key, links the batch once
//! and installs every member whose definition is still the one compiled.

use super::cache::Key;

/// Functions compiled ahead per module.
pub const BATCH: usize = 32;

const ALIAS: &[u8] = b"toy-alias\0";
const BATCH_MAGIC: &[u8] = b"toy-batch\0";

/// What a cache entry holds.
pub enum Entry {
    /// One function's object.
    Object(Vec<u8>),
    /// The key of the batch holding the function.
    Alias(Key),
    /// A batch: its members (name, key) and their object.
    Batch {
        /// Each member's name and key.
        members: Vec<(String, Key)>,
        /// The object defining them all.
        object: Vec<u8>,
    },
}

/// An alias entry pointing at `target`.
pub fn encode_alias(target: &Key) -> Vec<u8> {
    [ALIAS, &target[..]].concat()
}

/// A batch entry.
pub fn encode_batch(members: &[(String, Key)], object: &[u8]) -> Vec<u8> {
    let mut bytes = BATCH_MAGIC.to_vec();
    bytes.extend_from_slice(&(members.len() as u32).to_le_bytes());
    for (name, key) in members {
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(&(name.len() as u32).to_le_bytes());
        bytes.extend_from_slice(name.as_bytes());
    }
    bytes.extend_from_slice(object);
    bytes
}

/// Reads an entry (already checksummed by the cache); `None` if malformed.
pub fn decode(bytes: Vec<u8>) -> Option<Entry> {
    if let Some(target) = bytes.strip_prefix(ALIAS) {
        return Some(Entry::Alias(target.try_into().ok()?));
    }
    let Some(mut rest) = bytes.strip_prefix(BATCH_MAGIC) else {
        return Some(Entry::Object(bytes));
    };
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, tail) = rest.split_at_checked(n)?;
        rest = tail;
        Some(head)
    };
    let u32_at =
        |b: &[u8]| -> Option<usize> { Some(u32::from_le_bytes(b.try_into().ok()?) as usize) };
    let count = u32_at(take(4)?)?;
    let mut members = Vec::new();
    for _ in 0..count.min(1 << 16) {
        let key: Key = take(32)?.try_into().ok()?;
        let len = u32_at(take(4)?)?;
        let name = String::from_utf8(take(len)?.to_vec()).ok()?;
        members.push((name, key));
    }
    Some(Entry::Batch {
        members,
        object: rest.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_truncation_is_rejected() {
        let members = vec![("f".to_string(), [1u8; 32]), ("g".to_string(), [2u8; 32])];
        let bytes = encode_batch(&members, b"\x7fELF...");
        let Some(Entry::Batch { members: m, object }) = decode(bytes.clone()) else {
            panic!("a batch");
        };
        assert_eq!(m, members);
        assert_eq!(object, b"\x7fELF...");
        assert!(decode(bytes[..BATCH_MAGIC.len() + 4 + 20].to_vec()).is_none());
        assert!(matches!(decode(encode_alias(&[7; 32])), Some(Entry::Alias(k)) if k == [7; 32]));
        assert!(matches!(
            decode(b"\x7fELF".to_vec()),
            Some(Entry::Object(_))
        ));
    }
}

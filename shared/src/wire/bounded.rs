//! Lists decoded within a memory budget: whatever length a frame claims, a list takes
//! at most [`MAX_LIST_BYTES`] of memory (twice that for a moment while it grows), so
//! decoding a frame costs its payload's length (the bytes of its strings) plus that:
//! a message holds at most one list.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, Error, SeqAccess, Visitor};

/// The most memory one decoded list may take (its elements, not what they point to):
/// far more than toy sends (it cuts a batch at 1 MiB of ops and bytes).
pub const MAX_LIST_BYTES: usize = 4 << 20;

/// The most elements of type `T` a list may hold.
pub fn max_len<T>() -> usize {
    MAX_LIST_BYTES / size_of::<T>().max(1)
}

/// Deserializes a `Vec<T>` of at most [`max_len::<T>`] elements (`#[serde(deserialize_with)]`).
pub fn deserialize<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_seq(Bounded(PhantomData))
}

struct Bounded<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for Bounded<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a list of at most {} elements", max_len::<T>())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let most = max_len::<T>();
        // postcard hints a length only when the frame has that many bytes left.
        let hint = seq.size_hint().unwrap_or(0);
        if hint > most {
            return Err(A::Error::invalid_length(hint, &self));
        }
        let mut out = Vec::with_capacity(hint);
        while let Some(item) = seq.next_element()? {
            if out.len() == most {
                return Err(A::Error::invalid_length(most + 1, &self));
            }
            if out.len() == out.capacity() {
                // Grow as a Vec would, but never past the budget.
                out.reserve_exact(out.len().max(4).min(most - out.len()));
            }
            out.push(item);
        }
        Ok(out)
    }
}

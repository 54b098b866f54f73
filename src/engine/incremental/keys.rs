//! The persisted key set of a `unique` check over one integer key.
//!
//! Every key seen (a roaring bitmap: about two bytes a key for dense keys) and, for each key seen
//! more than once, how often. A new file's keys are added one by one, so they are checked against
//! every older file's and among themselves; the failing rows (rows whose key is repeated), the
//! duplicated keys and the most repeated ones (the sample) follow exactly as from a full scan.
//! A key set only ever grows: when a file it covers changes or goes away, it is rebuilt from every
//! file, never subtracted from.

use std::collections::BTreeMap;

use roaring::RoaringTreemap;
use sha2::{Digest, Sha256};

/// Magic and version of a key-set file.
const MAGIC: &[u8; 8] = b"LGKEYS01";

/// Keys seen and the multiplicity of the repeated ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct KeySet {
    seen: RoaringTreemap,
    repeated: BTreeMap<i64, u64>,
}

/// The bitmap's order-preserving form of a signed key.
fn slot(k: i64) -> u64 {
    (k as u64) ^ (1 << 63)
}

impl KeySet {
    pub(crate) fn add(&mut self, k: i64) {
        if !self.seen.insert(slot(k)) {
            *self.repeated.entry(k).or_insert(1) += 1;
        }
    }

    /// Stores runs of consecutive keys as runs: an auto-increment key's set shrinks from about a bit
    /// a key to a few bytes per run, so reading and writing it costs little whatever its size.
    pub(crate) fn optimize(&mut self) {
        self.seen.optimize();
    }

    /// The repeated keys and how often each occurs.
    pub(crate) fn repeated(&self) -> Vec<(i64, u64)> {
        self.repeated.iter().map(|(k, n)| (*k, *n)).collect()
    }

    /// The bytes of a key-set file: magic, the bitmap, the repeated keys, and a SHA-256 of all of
    /// it last (a torn or altered file does not read).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        let mut bitmap = Vec::with_capacity(self.seen.serialized_size());
        // Writing to a Vec cannot fail.
        let _ = self.seen.serialize_into(&mut bitmap);
        out.extend((bitmap.len() as u64).to_le_bytes());
        out.extend(bitmap);
        out.extend((self.repeated.len() as u64).to_le_bytes());
        for (k, n) in &self.repeated {
            out.extend(k.to_le_bytes());
            out.extend(n.to_le_bytes());
        }
        let digest = Sha256::digest(&out);
        out.extend(digest);
        out
    }

    /// A key set from its file's bytes; `None` when they are not one whole key-set file.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (body, digest) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
        if Sha256::digest(body).as_slice() != digest || !body.starts_with(MAGIC) {
            return None;
        }
        let mut rest = &body[MAGIC.len()..];
        let u64_at = |rest: &mut &[u8]| -> Option<u64> {
            let (n, r) = rest.split_at_checked(8)?;
            *rest = r;
            Some(u64::from_le_bytes(n.try_into().ok()?))
        };
        let len = usize::try_from(u64_at(&mut rest)?).ok()?;
        let (bitmap, r) = rest.split_at_checked(len)?;
        rest = r;
        let seen = RoaringTreemap::deserialize_from(bitmap).ok()?;
        let n = u64_at(&mut rest)?;
        let mut repeated = BTreeMap::new();
        for _ in 0..n {
            let k = u64_at(&mut rest)? as i64;
            let c = u64_at(&mut rest)?;
            repeated.insert(k, c);
        }
        rest.is_empty().then_some(Self { seen, repeated })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_added_in_any_order_give_the_same_repeats_and_read_back() {
        let mut a = KeySet::default();
        for k in [5, -3, 5, i64::MIN, 7, 5, -3, i64::MAX] {
            a.add(k);
        }
        assert_eq!(a.repeated(), vec![(-3, 2), (5, 3)]);
        let bytes = a.to_bytes();
        assert_eq!(KeySet::from_bytes(&bytes), Some(a.clone()));
        let mut torn = bytes.clone();
        torn.truncate(bytes.len() - 1);
        assert_eq!(KeySet::from_bytes(&torn), None);
        let mut flipped = bytes;
        flipped[12] ^= 1;
        assert_eq!(KeySet::from_bytes(&flipped), None);
        assert_eq!(KeySet::from_bytes(b"garbage"), None);
    }

    #[test]
    fn consecutive_keys_are_kept_as_runs_and_still_count_repeats() {
        let mut a = KeySet::default();
        for k in 0..1_000_000 {
            a.add(k);
        }
        let dense = a.to_bytes().len();
        a.optimize();
        let runs = a.to_bytes();
        assert!(
            runs.len() < 1000,
            "{} bytes for one run (a bitmap was {dense})",
            runs.len()
        );
        let mut b = KeySet::from_bytes(&runs).unwrap();
        for k in [999_999, 1_000_000, 5, 5] {
            b.add(k);
        }
        assert_eq!(b.repeated(), vec![(5, 3), (999_999, 2)]);
    }
}

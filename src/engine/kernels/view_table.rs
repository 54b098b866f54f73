//! A collision-free hash table from short strings, as Utf8View inline views, to 64-bit masks.
//!
//! An `IN` list test compares each value with every listed value; past a handful of listed values a
//! table lookup is cheaper: one multiply, one load and one comparison per row, without branches.
//! The multiplier is searched (deterministically, so equal lists give equal tables) until no two
//! listed values share a slot, so a lookup never probes a second slot. An empty slot holds the
//! mask 0, which is also the answer for a value that is not listed.

/// The largest table tried, in slots (as a power of two); past it the caller keeps comparing.
const MAX_BITS: u32 = 16;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ViewTable {
    mult: u64,
    shift: u32,
    slots: Vec<(u128, u64)>,
}

fn slot(view: u128, mult: u64, shift: u32) -> usize {
    let folded = (view as u64) ^ ((view >> 64) as u64);
    (folded.wrapping_mul(mult) >> shift) as usize
}

/// The next number of a fixed pseudo-random sequence (SplitMix64).
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl ViewTable {
    /// A table of distinct views and their masks, or `None` when no collision-free table of at
    /// most 2^16 slots was found.
    pub(crate) fn new(entries: &[(u128, u64)]) -> Option<Self> {
        let mut bits = (entries.len().max(2) * 4).next_power_of_two().trailing_zeros();
        let mut state = 0;
        while bits <= MAX_BITS {
            let shift = 64 - bits;
            for _ in 0..64 {
                let mult = next(&mut state) | 1;
                let mut slots = vec![(0u128, 0u64); 1 << bits];
                let mut used = vec![false; 1 << bits];
                let free = entries.iter().all(|&(view, mask)| {
                    let s = slot(view, mult, shift);
                    slots[s] = (view, mask);
                    !std::mem::replace(&mut used[s], true)
                });
                if free {
                    return Some(Self { mult, shift, slots });
                }
            }
            bits += 1;
        }
        None
    }

    /// The mask of `view`, 0 when it is not in the table. Branch-free.
    pub(crate) fn get(&self, view: u128) -> u64 {
        let (v, mask) = self.slots[slot(view, self.mult, self.shift)];
        mask & 0u64.wrapping_sub(u64::from(v == view))
    }
}

#[cfg(test)]
mod tests {
    use super::super::string_set::inline_view;
    use super::*;

    #[test]
    fn every_listed_value_finds_its_mask_and_nothing_else_matches() {
        let listed: Vec<String> = (0..300)
            .map(|i| format!("v{i}"))
            .chain([String::new(), "x".into()])
            .collect();
        let entries: Vec<(u128, u64)> = listed
            .iter()
            .enumerate()
            .map(|(i, v)| (inline_view(v.as_bytes()), (i as u64 % 63) + 1))
            .collect();
        let table = ViewTable::new(&entries).expect("a table for 302 values");
        for (view, mask) in &entries {
            assert_eq!(table.get(*view), *mask);
        }
        for absent in ["v300", "v-1", "y", "V1", "v1 ", "placed"] {
            assert_eq!(table.get(inline_view(absent.as_bytes())), 0, "{absent}");
        }
        // A long value's view (length above 12) is never an inline one.
        let mut long = [0u8; 16];
        long[..4].copy_from_slice(&20u32.to_le_bytes());
        assert_eq!(table.get(u128::from_le_bytes(long)), 0);
        // The empty string is found only when listed.
        let without_empty: Vec<(u128, u64)> = entries.iter().copied().filter(|(v, _)| *v != 0).collect();
        assert_eq!(ViewTable::new(&without_empty).unwrap().get(0), 0);
        assert_eq!(table.get(0), entries[300].1);
    }
}

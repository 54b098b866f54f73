//! A set of strings tested against Arrow string arrays: the values of an `IN` list kept as Utf8View
//! inline views (length and bytes in one `u128`) where they fit, so that testing a Utf8View value
//! is one integer comparison — or a [`ViewTable`] lookup when the list is long. Used by
//! [`super::string_match`] (one list) and [`super::shared_lists`] (several lists over one column).

use super::view_table::ViewTable;

/// The strings of an `IN` list, as Utf8View inline views where they fit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct StringSet {
    /// Views of the values of at most 12 bytes.
    pub inline: Vec<u128>,
    /// The values longer than that.
    pub long: Vec<String>,
    /// The inline views as a hash table, when there are more than a few.
    table: Option<ViewTable>,
}

/// Up to this many listed values, comparing with each is cheaper than a table lookup.
pub(crate) const COMPARE_UP_TO: usize = 4;

/// The Utf8View view of a value of at most 12 bytes: its length, then its bytes, zero-padded.
pub(crate) fn inline_view(b: &[u8]) -> u128 {
    let mut buf = [0u8; 16];
    buf[..4].copy_from_slice(&u32::try_from(b.len()).unwrap_or(u32::MAX).to_le_bytes());
    buf[4..4 + b.len()].copy_from_slice(b);
    u128::from_le_bytes(buf)
}

impl StringSet {
    pub(crate) fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let (mut inline, mut long) = (Vec::new(), Vec::new());
        for v in values {
            if v.len() <= 12 {
                inline.push(inline_view(v.as_bytes()));
            } else {
                long.push(v.to_string());
            }
        }
        inline.sort_unstable();
        inline.dedup();
        long.sort_unstable();
        long.dedup();
        let table = if inline.len() > COMPARE_UP_TO {
            ViewTable::new(&inline.iter().map(|v| (*v, 1)).collect::<Vec<_>>())
        } else {
            None
        };
        Self { inline, long, table }
    }

    /// The listed values, from which [`StringSet::new`] builds an equal set.
    #[cfg(feature = "ballista")]
    pub(crate) fn values(&self) -> Vec<String> {
        let inline = self.inline.iter().map(|view| {
            let b = view.to_le_bytes();
            let len = usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .unwrap_or(0)
                .min(12);
            String::from_utf8_lossy(&b[4..4 + len]).into_owned()
        });
        inline.chain(self.long.iter().cloned()).collect()
    }

    pub(crate) fn contains(&self, v: &str) -> bool {
        if v.len() <= 12 {
            self.inline.contains(&inline_view(v.as_bytes()))
        } else {
            self.long.iter().any(|l| l == v)
        }
    }

    /// Whether a Utf8View view (and, for long values, its string) is in the set. The listed views
    /// are compared without an early exit: which one matches changes from row to row, and a
    /// mispredicted branch costs more than the comparisons it saves. A long value's view (length
    /// above 12) never equals an inline one.
    pub(crate) fn contains_view(&self, view: u128, value: impl FnOnce() -> bool) -> bool {
        let inline = match &self.table {
            Some(t) => t.get(view) != 0,
            None => self.inline.iter().fold(false, |hit, v| hit | (*v == view)),
        };
        inline || (!self.long.is_empty() && (view as u32) > 12 && value())
    }
}

//! Schema records: a dataset's columns as the history stores them, a numbered accepted version of
//! them, and the differences between two of them (drift).
//!
//! Used by the `schema` check (drift from the accepted version) and by the history's schema
//! catalog (which stores versions); neither owns the other. Columns compare by type family
//! (`types.rs`): a change of representation (Utf8 ↔ Utf8View, timestamp units) is no change; a
//! wider integer or float of the same kind (int32 → int64) is `widened`, reported but not drift;
//! anything else — a column added, removed, of another family, or becoming nullable — is drift.

use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::Schema;
use serde::{Deserialize, Serialize};

use crate::types::{TypeName, family_name};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnRecord {
    pub name: String,
    /// Arrow's name of the type, for reference.
    #[serde(rename = "type")]
    pub data_type: String,
    /// The type family drift compares (`string`, `int64`, `timestamp`, `decimal(10,2)`, …).
    pub family: String,
    pub nullable: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SchemaVersion {
    pub dataset: String,
    pub version: u32,
    pub accepted_at: DateTime<Utc>,
    /// "first run", "schema accept", …
    pub accepted_by: String,
    pub run_id: Option<String>,
    pub columns: Vec<ColumnRecord>,
}

pub(crate) fn columns_of(schema: &Schema) -> Vec<ColumnRecord> {
    schema
        .fields()
        .iter()
        .map(|f| ColumnRecord {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
            family: family_name(f.data_type()),
            nullable: f.is_nullable(),
        })
        .collect()
}

/// One difference between an accepted schema and the current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Change {
    pub column: String,
    /// added | removed | type_changed | widened | became_nullable | became_required
    pub change: &'static str,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Change {
    /// Whether the change is drift (as opposed to a widening or a tightening).
    pub(crate) fn is_drift(&self) -> bool {
        !matches!(self.change, "widened" | "became_required")
    }

    pub(crate) fn describe(&self) -> String {
        match self.change {
            "added" => format!("`{}` was added ({})", self.column, self.to.as_deref().unwrap_or("?")),
            "removed" => format!(
                "`{}` was removed (was {})",
                self.column,
                self.from.as_deref().unwrap_or("?")
            ),
            "type_changed" => format!(
                "`{}` changed from {} to {}",
                self.column,
                self.from.as_deref().unwrap_or("?"),
                self.to.as_deref().unwrap_or("?")
            ),
            "widened" => format!(
                "`{}` widened from {} to {}",
                self.column,
                self.from.as_deref().unwrap_or("?"),
                self.to.as_deref().unwrap_or("?")
            ),
            "became_nullable" => format!("`{}` became nullable", self.column),
            _ => format!("`{}` became non-nullable", self.column),
        }
    }
}

fn width(f: &str) -> Option<(&'static str, u32)> {
    match TypeName::parse(f)? {
        TypeName::Int(w) => Some(("int", u32::from(w))),
        TypeName::UInt(w) => Some(("uint", u32::from(w))),
        TypeName::Float(w) => Some(("float", u32::from(w))),
        _ => None,
    }
}

/// Differences from `old` to `new`, in column order.
pub(crate) fn diff(old: &[ColumnRecord], new: &[ColumnRecord]) -> Vec<Change> {
    let mut out = Vec::new();
    for o in old {
        match new.iter().find(|n| n.name == o.name) {
            None => out.push(Change {
                column: o.name.clone(),
                change: "removed",
                from: Some(o.family.clone()),
                to: None,
            }),
            Some(n) => {
                if n.family != o.family {
                    let widened = matches!((width(&o.family), width(&n.family)), (Some((ka, wa)), Some((kb, wb))) if ka == kb && wb > wa);
                    out.push(Change {
                        column: o.name.clone(),
                        change: if widened { "widened" } else { "type_changed" },
                        from: Some(o.family.clone()),
                        to: Some(n.family.clone()),
                    });
                }
                if n.nullable != o.nullable {
                    out.push(Change {
                        column: o.name.clone(),
                        change: if n.nullable {
                            "became_nullable"
                        } else {
                            "became_required"
                        },
                        from: None,
                        to: None,
                    });
                }
            }
        }
    }
    for n in new {
        if !old.iter().any(|o| o.name == n.name) {
            out.push(Change {
                column: n.name.clone(),
                change: "added",
                from: None,
                to: Some(n.family.clone()),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, family: &str, nullable: bool) -> ColumnRecord {
        ColumnRecord {
            name: name.into(),
            data_type: family.into(),
            family: family.into(),
            nullable,
        }
    }

    #[test]
    fn diff_classifies_changes() {
        let old = vec![
            col("a", "int32", true),
            col("b", "int64", true),
            col("c", "string", true),
            col("d", "string", false),
        ];
        let new = vec![
            col("a", "int64", true),
            col("b", "string", true),
            col("d", "string", true),
            col("e", "date", true),
        ];
        let d = diff(&old, &new);
        let kinds: Vec<_> = d.iter().map(|c| (c.column.as_str(), c.change)).collect();
        assert_eq!(
            kinds,
            [
                ("a", "widened"),
                ("b", "type_changed"),
                ("c", "removed"),
                ("d", "became_nullable"),
                ("e", "added")
            ]
        );
        assert!(!d[0].is_drift());
        assert!(d[1].is_drift() && d[2].is_drift() && d[3].is_drift() && d[4].is_drift());
    }
}

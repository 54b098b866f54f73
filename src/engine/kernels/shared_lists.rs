//! Several `accepted_values` lists over one string column share one pass over it.
//!
//! After [`super::string_match`] each list is its own `lakegate_in_set(column)`, which compares
//! every value with every listed value. When two or more lists test the same column,
//! [`share`] replaces them by `lakegate_list_bit(lakegate_list_mask(column), bit)`: the mask says,
//! per row, which of the lists (up to 64) contain the value, computed once per batch (DataFusion
//! eliminates the repeated `lakegate_list_mask(column)` as a common subexpression), and each
//! check only tests its bit. Unit tests compare both forms.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, UInt64Array};
use datafusion::arrow::buffer::ScalarBuffer;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::string_match::list_test;
use super::string_set::{COMPARE_UP_TO, StringSet, inline_view};
use super::view_table::ViewTable;

/// The most lists one mask holds.
const MAX_LISTS: usize = 64;

/// `lakegate_list_mask(value)`: per row, the bitmask of the lists that contain the value.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ListMask {
    /// Every listed value of at most 12 bytes, as its Utf8View view, with the lists it is in.
    inline: Vec<(u128, u64)>,
    /// The longer listed values, with the lists they are in.
    long: Vec<(String, u64)>,
    /// `inline` as a hash table, when there are more than a few.
    table: Option<ViewTable>,
    signature: Signature,
}

impl ListMask {
    fn new(sets: &[&StringSet]) -> Self {
        let mut inline: Vec<(u128, u64)> = Vec::new();
        let mut long: Vec<(String, u64)> = Vec::new();
        for (bit, set) in sets.iter().enumerate() {
            for v in &set.inline {
                match inline.iter_mut().find(|(x, _)| x == v) {
                    Some((_, m)) => *m |= 1 << bit,
                    None => inline.push((*v, 1 << bit)),
                }
            }
            for v in &set.long {
                match long.iter_mut().find(|(x, _)| x == v) {
                    Some((_, m)) => *m |= 1 << bit,
                    None => long.push((v.clone(), 1 << bit)),
                }
            }
        }
        Self::from_parts(inline, long)
    }

    /// The mask function of these values and the lists they are in.
    fn from_parts(inline: Vec<(u128, u64)>, long: Vec<(String, u64)>) -> Self {
        let table = if inline.len() > COMPARE_UP_TO {
            ViewTable::new(&inline)
        } else {
            None
        };
        Self {
            inline,
            long,
            table,
            signature: super::udf::string_signature(),
        }
    }

    fn of_str(&self, v: &str) -> u64 {
        if v.len() <= 12 {
            self.of_view(inline_view(v.as_bytes()))
        } else {
            self.long.iter().find(|(x, _)| x == v).map_or(0, |(_, m)| *m)
        }
    }

    /// Branch-free over the inline values: which one matches changes from row to row.
    fn of_view(&self, view: u128) -> u64 {
        match &self.table {
            Some(t) => t.get(view),
            None => self
                .inline
                .iter()
                .fold(0, |acc, (v, m)| acc | (m & 0u64.wrapping_sub(u64::from(*v == view)))),
        }
    }

    fn evaluate(&self, a: &dyn Array) -> Result<UInt64Array> {
        let masks: Vec<u64> = match a.data_type() {
            DataType::Utf8View => {
                let s = a.as_string_view();
                s.views()
                    .iter()
                    .enumerate()
                    .map(|(i, view)| {
                        if (*view as u32) <= 12 || self.long.is_empty() {
                            self.of_view(*view)
                        } else {
                            self.of_str(s.value(i))
                        }
                    })
                    .collect()
            }
            DataType::Utf8 => {
                let s = a.as_string::<i32>();
                (0..s.len()).map(|i| self.of_str(s.value(i))).collect()
            }
            DataType::LargeUtf8 => {
                let s = a.as_string::<i64>();
                (0..s.len()).map(|i| self.of_str(s.value(i))).collect()
            }
            other => return exec_err!("lakegate_list_mask: unexpected {other}"),
        };
        Ok(UInt64Array::new(ScalarBuffer::from(masks), a.nulls().cloned()))
    }
}

impl ScalarUDFImpl for ListMask {
    fn name(&self) -> &'static str {
        "lakegate_list_mask"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::UInt64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        super::udf::on_array(&args.args[0], |a| Ok(Arc::new(self.evaluate(a)?) as ArrayRef))
    }
}

/// `lakegate_list_bit(mask)`: whether the value is in list `bit` (negated for `NOT IN`).
#[derive(Debug, PartialEq, Eq, Hash)]
struct ListBit {
    bit: u32,
    negated: bool,
    signature: Signature,
}

impl ListBit {
    fn evaluate(&self, masks: &UInt64Array) -> BooleanArray {
        let (bit, flip) = (self.bit, u64::from(self.negated));
        let values = super::udf::pack(masks.values(), |m| ((m >> bit) & 1) ^ flip == 1);
        BooleanArray::new(values, masks.nulls().cloned())
    }
}

impl ScalarUDFImpl for ListBit {
    fn name(&self) -> &'static str {
        if self.negated {
            "lakegate_not_list_bit"
        } else {
            "lakegate_list_bit"
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        super::udf::on_array(&args.args[0], |a| {
            let Some(masks) = a.as_any().downcast_ref::<UInt64Array>() else {
                return exec_err!("lakegate_list_bit: unexpected {}", a.data_type());
            };
            Ok(Arc::new(self.evaluate(masks)) as ArrayRef)
        })
    }
}

/// Rewrites the predicates so that lists over one column share its mask (see the module docs).
pub(crate) fn share(preds: Vec<Expr>) -> Vec<Expr> {
    // Distinct lists per tested value, in order of appearance.
    let mut groups: Vec<(Expr, Vec<StringSet>)> = Vec::new();
    for p in &preds {
        let _ = p.apply(|node| {
            if let Some((value, set, _)) = list_test(node) {
                match groups.iter_mut().find(|(v, _)| v == value) {
                    Some((_, sets)) if !sets.contains(set) => sets.push(set.clone()),
                    Some(_) => {}
                    None => groups.push((value.clone(), vec![set.clone()])),
                }
            }
            Ok(TreeNodeRecursion::Continue)
        });
    }
    groups.retain(|(_, sets)| (2..=MAX_LISTS).contains(&sets.len()));
    if groups.is_empty() {
        return preds;
    }
    let masks: Vec<Expr> = groups
        .iter()
        .map(|(value, sets)| {
            let refs: Vec<&StringSet> = sets.iter().collect();
            ScalarUDF::new_from_impl(ListMask::new(&refs)).call(vec![value.clone()])
        })
        .collect();
    preds
        .into_iter()
        .map(|p| {
            let original = p.clone();
            p.transform_up(|node| {
                let Some((value, set, negated)) = list_test(&node) else {
                    return Ok(Transformed::no(node));
                };
                let Some(g) = groups.iter().position(|(v, _)| v == value) else {
                    return Ok(Transformed::no(node));
                };
                let bit = groups[g].1.iter().position(|s| s == set).unwrap_or(0);
                let udf = ScalarUDF::new_from_impl(ListBit {
                    bit: u32::try_from(bit).unwrap_or(0),
                    negated,
                    signature: Signature::exact(vec![DataType::UInt64], Volatility::Immutable),
                });
                Ok(Transformed::yes(udf.call(vec![masks[g].clone()])))
            })
            .map_or(original, |t| t.data)
        })
        .collect()
}

/// The state of a `lakegate_list_mask` or `lakegate_list_bit` function, for another process (see
/// [`super::portable`]).
#[cfg(feature = "ballista")]
pub(super) fn portable(f: &ScalarUDF) -> Option<serde_json::Value> {
    use super::portable::hex128;
    if let Some(b) = f.inner().downcast_ref::<ListBit>() {
        return Some(serde_json::json!({ "bit": b.bit, "negated": b.negated }));
    }
    let m = f.inner().downcast_ref::<ListMask>()?;
    Some(serde_json::json!({
        "inline": m.inline.iter().map(|(v, mask)| serde_json::json!([hex128(*v), mask])).collect::<Vec<_>>(),
        "long": m.long.iter().map(|(v, mask)| serde_json::json!([v, mask])).collect::<Vec<_>>(),
    }))
}

/// The `lakegate_list_mask` or `lakegate_list_bit` function from its state.
#[cfg(feature = "ballista")]
pub(super) fn from_portable(name: &str, v: &serde_json::Value) -> Option<Result<ScalarUDF>> {
    use super::portable::{bool_of, field, u64_of, u128_of};
    let bad = || datafusion::common::exec_datafusion_err!("function {name}: a listed value is not [value, mask]");
    let built = || -> Result<ScalarUDF> {
        if name != "lakegate_list_mask" {
            return Ok(ScalarUDF::new_from_impl(ListBit {
                bit: u32::try_from(u64_of(name, v, "bit")?).map_err(|_| bad())?,
                negated: bool_of(name, v, "negated")?,
                signature: Signature::exact(vec![DataType::UInt64], Volatility::Immutable),
            }));
        }
        let pairs = |key: &str| field(name, v, key).map(|p| p.as_array().cloned().unwrap_or_default());
        let mut inline = Vec::new();
        for p in pairs("inline")? {
            let mask = p.get(1).and_then(serde_json::Value::as_u64).ok_or_else(bad)?;
            inline.push((u128_of(name, p.get(0).ok_or_else(bad)?)?, mask));
        }
        let mut long = Vec::new();
        for p in pairs("long")? {
            let value = p.get(0).and_then(serde_json::Value::as_str).ok_or_else(bad)?;
            let mask = p.get(1).and_then(serde_json::Value::as_u64).ok_or_else(bad)?;
            long.push((value.to_string(), mask));
        }
        Ok(ScalarUDF::new_from_impl(ListMask::from_parts(inline, long)))
    };
    matches!(
        name,
        "lakegate_list_mask" | "lakegate_list_bit" | "lakegate_not_list_bit"
    )
    .then(built)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::StringViewArray;

    use super::*;

    fn name_of(e: &Expr) -> &str {
        match e {
            Expr::ScalarFunction(f) => f.name(),
            _ => "",
        }
    }

    #[test]
    fn lists_over_one_column_share_its_mask() {
        use datafusion::arrow::datatypes::{Field, Schema};
        use datafusion::common::DFSchema;
        use datafusion::logical_expr::lit;
        let schema = DFSchema::try_from(Schema::new(vec![
            Field::new("status", DataType::Utf8View, true),
            Field::new("country", DataType::Utf8View, true),
        ]))
        .unwrap();
        let c = crate::checks::column;
        let list = |col: &str, vals: &[&str]| {
            super::super::string_match::rewrite(c(col).in_list(vals.iter().map(|v| lit(*v)).collect(), true), &schema)
        };
        let preds = vec![
            list("status", &["a", "b"]),
            list("status", &["a", "c"]),
            list("country", &["x"]),
            list("status", &["a", "b"]),
        ];
        let shared = share(preds.clone());
        assert_eq!(name_of(&shared[0]), "lakegate_not_list_bit");
        assert_eq!(name_of(&shared[1]), "lakegate_not_list_bit");
        assert_eq!(shared[2], preds[2], "one list on a column stays as it is");
        assert_eq!(shared[3], shared[0], "the same list is the same bit");
        let Expr::ScalarFunction(f) = &shared[1] else { panic!() };
        assert_eq!(name_of(&f.args[0]), "lakegate_list_mask");
    }

    #[test]
    fn shared_masks_answer_like_separate_lists() {
        let lists: Vec<Vec<&str>> = vec![
            vec!["placed", "shipped", "delivered", "cancelled"],
            vec!["placed", "shipped", "delivered", "cancelled", "x1"],
            vec!["a much longer accepted value", "placed"],
            vec![],
        ];
        let sets: Vec<StringSet> = lists.iter().map(|l| StringSet::new(l.iter().copied())).collect();
        let values = [
            Some("placed"),
            Some("x1"),
            Some("a much longer accepted value"),
            Some("a much longer accepted valuf"),
            Some("exactly12byt"),
            Some(""),
            None,
            Some("cancelled"),
        ];
        let mask = ListMask::new(&sets.iter().collect::<Vec<_>>());
        for array in [
            Arc::new(StringViewArray::from_iter(values)) as ArrayRef,
            Arc::new(datafusion::arrow::array::StringArray::from_iter(values)) as ArrayRef,
        ] {
            let masks = mask.evaluate(array.as_ref()).unwrap();
            for (bit, list) in lists.iter().enumerate() {
                for negated in [false, true] {
                    let b = ListBit {
                        bit: u32::try_from(bit).unwrap(),
                        negated,
                        signature: Signature::exact(vec![DataType::UInt64], Volatility::Immutable),
                    };
                    let got: Vec<Option<bool>> = b.evaluate(&masks).iter().collect();
                    let expected: Vec<Option<bool>> =
                        values.iter().map(|v| v.map(|v| list.contains(&v) != negated)).collect();
                    assert_eq!(got, expected, "list {bit} negated={negated} on {}", array.data_type());
                }
            }
        }
    }
}

//! The kernels' state as bytes, so that the processes of a distributed engine can build the same
//! function again.
//!
//! A kernel carries its literals inside the function value (a pattern's byte classes, a list's
//! set, a range's bounds, a checked operation's type), so a process that only knows a function by
//! its name would run a different function — silently, with wrong answers (measured in
//! `spikes/ballista/FINDINGS.md` §3). Ballista serializes a plan's functions through an extension
//! codec (`engine::ballista::codec`); it asks here. Each kernel module says what its state is
//! (`portable`) and builds its function from it (`from_portable`), dispatched by the function's
//! name; the bytes are a JSON object behind a versioned prefix, so a lakegate of another version
//! refuses them instead of misreading them.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_datafusion_err};
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use serde_json::Value;

/// The prefix of every encoded kernel: the format's version.
const PREFIX: &[u8] = b"lakegate-kernel-1:";

fn encode(v: Value) -> Vec<u8> {
    let mut buf = PREFIX.to_vec();
    buf.extend_from_slice(v.to_string().as_bytes());
    buf
}

fn decode(name: &str, buf: &[u8]) -> Result<Value> {
    let body = buf.strip_prefix(PREFIX).ok_or_else(|| {
        exec_datafusion_err!("function {name} arrived without lakegate's state: is every Ballista process running lakegate-executor of the same version as the client?")
    })?;
    serde_json::from_slice(body).map_err(|e| exec_datafusion_err!("function {name}: unreadable state: {e}"))
}

/// The state of a lakegate scalar function, `None` for any other function.
pub(crate) fn encode_udf(f: &ScalarUDF) -> Option<Vec<u8>> {
    super::string_match::portable(f)
        .or_else(|| super::bounds::portable(f))
        .or_else(|| super::shared_lists::portable(f))
        .or_else(|| super::overflow::portable(f))
        .map(encode)
}

/// The lakegate scalar function `name` built from `buf`, `None` when `name` is not lakegate's.
pub(crate) fn decode_udf(name: &str, buf: &[u8]) -> Option<Result<Arc<ScalarUDF>>> {
    if !name.starts_with("lakegate_") {
        return None;
    }
    let built = decode(name, buf).and_then(|v| {
        super::string_match::from_portable(name, &v)
            .or_else(|| super::bounds::from_portable(name, &v))
            .or_else(|| super::shared_lists::from_portable(name, &v))
            .or_else(|| super::overflow::from_portable(name, &v))
            .unwrap_or_else(|| Err(exec_datafusion_err!("function {name} is not one this lakegate knows")))
    });
    Some(built.map(Arc::new))
}

/// The state of a lakegate aggregate function, `None` for any other function.
pub(crate) fn encode_udaf(f: &AggregateUDF) -> Option<Vec<u8>> {
    super::count_true::portable(f)
        .or_else(|| super::key_list::portable(f))
        .or_else(|| super::overflow::portable_udaf(f))
        .or_else(|| super::value_counts::portable(f))
        .map(encode)
}

/// The lakegate aggregate function `name` built from `buf`, `None` when `name` is not lakegate's.
pub(crate) fn decode_udaf(name: &str, buf: &[u8]) -> Option<Result<Arc<AggregateUDF>>> {
    if !name.starts_with("lakegate_") {
        return None;
    }
    let built = decode(name, buf).and_then(|v| {
        super::count_true::from_portable(name, &v)
            .or_else(|| super::key_list::from_portable(name, &v))
            .or_else(|| super::overflow::udaf_from_portable(name))
            .or_else(|| super::value_counts::from_portable(name, &v))
            .unwrap_or_else(|| Err(exec_datafusion_err!("function {name} is not one this lakegate knows")))
    });
    Some(built.map(Arc::new))
}

/// A field of a kernel's state, or an error naming the function and the field.
pub(super) fn field<'v>(name: &str, v: &'v Value, key: &str) -> Result<&'v Value> {
    v.get(key)
        .ok_or_else(|| exec_datafusion_err!("function {name}: its state has no `{key}`"))
}

pub(super) fn u64_of(name: &str, v: &Value, key: &str) -> Result<u64> {
    field(name, v, key)?
        .as_u64()
        .ok_or_else(|| exec_datafusion_err!("function {name}: `{key}` is not an unsigned integer"))
}

pub(super) fn bool_of(name: &str, v: &Value, key: &str) -> Result<bool> {
    field(name, v, key)?
        .as_bool()
        .ok_or_else(|| exec_datafusion_err!("function {name}: `{key}` is not a boolean"))
}

pub(super) fn strings_of(name: &str, v: &Value, key: &str) -> Result<Vec<String>> {
    field(name, v, key)?
        .as_array()
        .and_then(|a| a.iter().map(|s| s.as_str().map(str::to_string)).collect())
        .ok_or_else(|| exec_datafusion_err!("function {name}: `{key}` is not a list of strings"))
}

/// A 128-bit value (an Arrow string view) as JSON: 32 hex digits (JSON numbers stop at 64 bits).
pub(super) fn hex128(x: u128) -> Value {
    Value::String(format!("{x:032x}"))
}

pub(super) fn u128_of(name: &str, v: &Value) -> Result<u128> {
    v.as_str()
        .and_then(|s| u128::from_str_radix(s, 16).ok())
        .ok_or_else(|| exec_datafusion_err!("function {name}: {v} is not a 128-bit hex value"))
}

/// An Arrow type as JSON: its display form, which Arrow parses back.
pub(super) fn data_type(t: &DataType) -> Value {
    Value::String(t.to_string())
}

pub(super) fn data_type_of(name: &str, v: &Value, key: &str) -> Result<DataType> {
    let s = field(name, v, key)?.as_str().unwrap_or_default();
    s.parse::<DataType>()
        .map_err(|e| exec_datafusion_err!("function {name}: `{key}` {s:?} is not an Arrow type: {e}"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::common::DFSchema;
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::{Expr, lit};

    use super::*;
    use crate::checks::column;

    /// Every lakegate function in `exprs`, each encoded, decoded, and compared with the original.
    fn round_trip(exprs: &[Expr]) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for e in exprs {
            e.apply(|node| {
                match node {
                    Expr::ScalarFunction(f) => {
                        let bytes = encode_udf(&f.func).expect("a lakegate scalar function encodes");
                        let back = decode_udf(f.func.name(), &bytes)
                            .expect("its name is lakegate's")
                            .unwrap();
                        assert_eq!(*back, *f.func, "{} differs after the round trip", f.func.name());
                        names.insert(f.func.name().to_string());
                    }
                    Expr::AggregateFunction(a) => {
                        let bytes = encode_udaf(&a.func).expect("a lakegate aggregate encodes");
                        let back = decode_udaf(a.func.name(), &bytes)
                            .expect("its name is lakegate's")
                            .unwrap();
                        assert_eq!(*back, *a.func, "{} differs after the round trip", a.func.name());
                        names.insert(a.func.name().to_string());
                    }
                    _ => {}
                }
                Ok(TreeNodeRecursion::Continue)
            })
            .unwrap();
        }
        names
    }

    #[test]
    fn every_kernel_travels_with_its_state() {
        let preds = predicates_of_every_kernel();
        let aggs = vec![
            super::super::count_true::count_true(preds),
            super::super::key_list::keys(column("i"), 1000),
            super::super::overflow::wide_sum(column("i")),
            super::super::value_counts::top_values(column("s"), 20),
            super::super::value_counts::distinct(column("s"), 20),
        ];
        let names = round_trip(&aggs);
        let outside = aggs[0].to_string().matches("lakegate_outside").count();
        assert_eq!(outside, 5, "each range became one kernel: {}", aggs[0]);
        let expected = [
            "lakegate_checked_add",
            "lakegate_checked_mul",
            "lakegate_checked_sub",
            "lakegate_count_true",
            "lakegate_distinct",
            "lakegate_in_set",
            "lakegate_keys",
            "lakegate_list_bit",
            "lakegate_list_mask",
            "lakegate_matches_classes",
            "lakegate_not_in_set",
            "lakegate_not_list_bit",
            "lakegate_not_matches_classes",
            "lakegate_outside",
            "lakegate_sum_int",
            "lakegate_top_values",
        ];
        assert_eq!(names, expected.iter().map(|s| s.to_string()).collect());
    }

    /// Row predicates that the rewrites turn into every scalar kernel, over string, integer,
    /// float, date and timestamp columns.
    fn predicates_of_every_kernel() -> Vec<Expr> {
        let schema = DFSchema::try_from(Schema::new(vec![
            Field::new("s", DataType::Utf8View, true),
            Field::new("t", DataType::Utf8, true),
            Field::new("i", DataType::Int64, true),
            Field::new("f", DataType::Float64, true),
            Field::new("g", DataType::Float32, true),
            Field::new("d", DataType::Date32, true),
            Field::new(
                "ts",
                DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Nanosecond, Some("UTC".into())),
                true,
            ),
        ]))
        .unwrap();
        let long = "a value longer than twelve bytes";
        let list = |vals: &[&str], negated| {
            super::super::string_match::rewrite(
                column("s").in_list(vals.iter().map(|v| lit(*v)).collect(), negated),
                &schema,
            )
        };
        let mut preds = super::super::shared_lists::share(vec![
            list(&["a", "b", "c", "d", "e", "f", long], false),
            list(&["a", "z"], true),
        ]);
        preds.push(super::super::string_match::rewrite(
            Expr::BinaryExpr(datafusion::logical_expr::BinaryExpr::new(
                Box::new(column("t")),
                datafusion::logical_expr::Operator::RegexNotMatch,
                Box::new(lit("^[A-Z]{2}-[0-9]{3}$")),
            )),
            &schema,
        ));
        preds.push(super::super::string_match::rewrite(
            column("t").in_list(vec![lit("x"), lit(long)], false),
            &schema,
        ));
        preds.push(super::super::bounds::rewrite(
            column("f").lt(lit(-0.0)).or(column("f").gt(lit(1e300))),
            &schema,
        ));
        preds.push(super::super::bounds::rewrite(
            column("i").lt(lit(-5i64)).or(column("i").gt_eq(lit(i64::MAX))),
            &schema,
        ));
        preds.push(super::super::overflow::rewrite(column("i") * column("i") - lit(1i64), &schema).unwrap());
        preds.push(super::super::overflow::rewrite(column("i") + lit(7i64), &schema).unwrap());
        preds.push(super::super::string_match::rewrite(
            Expr::BinaryExpr(datafusion::logical_expr::BinaryExpr::new(
                Box::new(column("s")),
                datafusion::logical_expr::Operator::RegexMatch,
                Box::new(lit("^[0-9]{5}$")),
            )),
            &schema,
        ));
        preds.push(super::super::string_match::rewrite(
            column("t").in_list(vec![lit("only")], true),
            &schema,
        ));
        let typed = |name: &str, v: datafusion::common::ScalarValue, w: datafusion::common::ScalarValue| {
            super::super::bounds::rewrite(column(name).lt(lit(v)).or(column(name).gt(lit(w))), &schema)
        };
        use datafusion::common::ScalarValue as V;
        preds.push(typed("g", V::Float32(Some(-1.5)), V::Float32(Some(2.5))));
        preds.push(typed("d", V::Date32(Some(0)), V::Date32(Some(20_000))));
        let utc = Some(std::sync::Arc::<str>::from("UTC"));
        preds.push(typed(
            "ts",
            V::TimestampNanosecond(Some(-1), utc.clone()),
            V::TimestampNanosecond(Some(i64::MAX), utc),
        ));
        preds
    }

    #[test]
    fn state_from_another_version_or_none_at_all_is_refused_by_name() {
        let e = decode_udf("lakegate_outside", b"").unwrap().unwrap_err().to_string();
        assert!(e.contains("lakegate_outside") && e.contains("lakegate-executor"), "{e}");
        let e = decode_udaf("lakegate_count_true", b"lakegate-kernel-1:{}")
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(e.contains("no `negated`"), "{e}");
        assert!(
            decode_udf("upper", b"").is_none(),
            "DataFusion's own functions are not lakegate's business"
        );
    }
}

//! Fast paths for the two most common string checks, used by the fused scan.
//!
//! - `pattern` regexes that are a fixed-length sequence of ASCII character classes anchored at both
//!   ends (`^[A-Z]{2}$`, `^[0-9]{5}$`, `^[A-Z]{3}-[0-9]{4}$`): a value matches exactly when it has
//!   one byte per class and each byte is in its class, which a loop over the bytes decides in a
//!   fraction of a regex engine's time.
//! - `accepted_values` lists of strings (`x [NOT] IN ('a', 'b', …)`): a value of 12 bytes or fewer
//!   is stored inline in a Utf8View array, so it is in the list exactly when its 16-byte view
//!   equals one of the list's views — one integer comparison per listed value, no hashing.
//!
//! [`rewrite`] replaces those predicates over string columns by `lakegate_match`; anything else
//! (alternation, optional parts, Unicode classes like `\d`, multi-line anchors, non-string
//! columns, lists with nulls) keeps DataFusion's own kernels. Unit tests compare both ways on a
//! corpus; every `pattern` and `accepted_values` test runs through the fast path.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, BooleanArray};
use datafusion::arrow::buffer::BooleanBuffer;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue, exec_err};
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, ExprSchemable, Operator, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};
use regex_syntax::hir::{Class, Hir, HirKind, Look};

use super::string_set::StringSet;

/// The longest sequence compiled (longer patterns are rare and keep the regex).
const MAX_LEN: usize = 64;

/// One set of ASCII bytes per position.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClassSeq(Vec<u128>);

impl ClassSeq {
    /// The sequence a regex stands for, when it is one.
    pub(crate) fn compile(regex: &str) -> Option<Self> {
        let hir = regex_syntax::ParserBuilder::new().build().parse(regex).ok()?;
        let HirKind::Concat(items) = hir.kind() else {
            return None;
        };
        let (first, rest) = items.split_first()?;
        let (last, middle) = rest.split_last()?;
        if !matches!(first.kind(), HirKind::Look(Look::Start)) || !matches!(last.kind(), HirKind::Look(Look::End)) {
            return None;
        }
        let mut sets = Vec::new();
        for h in middle {
            push(h, &mut sets)?;
        }
        Some(Self(sets))
    }

    pub(crate) fn matches(&self, value: &[u8]) -> bool {
        value.len() == self.0.len()
            && value
                .iter()
                .zip(&self.0)
                .all(|(b, set)| *b < 128 && set & (1u128 << b) != 0)
    }
}

/// Appends the positions `h` stands for, or `None` when it is not a fixed sequence of ASCII sets.
fn push(h: &Hir, sets: &mut Vec<u128>) -> Option<()> {
    match h.kind() {
        HirKind::Literal(lit) => {
            for b in lit.0.iter() {
                if *b >= 128 {
                    return None;
                }
                sets.push(1u128 << b);
            }
        }
        HirKind::Class(class) => sets.push(ascii_set(class)?),
        HirKind::Repetition(r) if Some(r.min) == r.max => {
            for _ in 0..r.min {
                push(&r.sub, sets)?;
                if sets.len() > MAX_LEN {
                    return None;
                }
            }
        }
        HirKind::Capture(c) => push(&c.sub, sets)?,
        HirKind::Concat(items) => {
            for i in items {
                push(i, sets)?;
            }
        }
        _ => return None,
    }
    (sets.len() <= MAX_LEN).then_some(())
}

fn ascii_set(class: &Class) -> Option<u128> {
    let ranges: Vec<(u32, u32)> = match class {
        Class::Unicode(c) => c.ranges().iter().map(|r| (r.start() as u32, r.end() as u32)).collect(),
        Class::Bytes(c) => c
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect(),
    };
    let mut set = 0u128;
    for (a, b) in ranges {
        if b >= 128 {
            return None;
        }
        for x in a..=b {
            set |= 1u128 << x;
        }
    }
    Some(set)
}

/// What `lakegate_match` tests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Matcher {
    Classes(ClassSeq),
    Set(StringSet),
}

impl Matcher {
    fn test(&self, v: &str) -> bool {
        match self {
            Matcher::Classes(c) => c.matches(v.as_bytes()),
            Matcher::Set(s) => s.contains(v),
        }
    }
}

/// `lakegate_match(value)`: whether a string matches (negated for `!~` and `NOT IN`); null for null.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Match {
    pub(super) matcher: Matcher,
    pub(super) negated: bool,
    signature: Signature,
}

impl ScalarUDFImpl for Match {
    fn name(&self) -> &'static str {
        match (&self.matcher, self.negated) {
            (Matcher::Classes(_), false) => "lakegate_matches_classes",
            (Matcher::Classes(_), true) => "lakegate_not_matches_classes",
            (Matcher::Set(_), false) => "lakegate_in_set",
            (Matcher::Set(_), true) => "lakegate_not_in_set",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        super::udf::on_array(&args.args[0], |a| Ok(Arc::new(self.evaluate(a)?) as _))
    }
}

impl Match {
    fn evaluate(&self, a: &dyn Array) -> Result<BooleanArray> {
        let test = |v: &str| self.matcher.test(v) != self.negated;
        // `collect_bool` packs 64 results per word; collecting an iterator of bools appends bit by bit.
        let values = match a.data_type() {
            DataType::Utf8View => {
                let s = a.as_string_view();
                match &self.matcher {
                    Matcher::Set(set) => {
                        let views = s.views();
                        BooleanBuffer::collect_bool(s.len(), |i| {
                            set.contains_view(views[i], || set.contains(s.value(i))) != self.negated
                        })
                    }
                    Matcher::Classes(_) => BooleanBuffer::collect_bool(s.len(), |i| test(s.value(i))),
                }
            }
            DataType::Utf8 => {
                let s = a.as_string::<i32>();
                BooleanBuffer::collect_bool(s.len(), |i| test(s.value(i)))
            }
            DataType::LargeUtf8 => {
                let s = a.as_string::<i64>();
                BooleanBuffer::collect_bool(s.len(), |i| test(s.value(i)))
            }
            other => return exec_err!("{}: unexpected {other}", self.name()),
        };
        Ok(BooleanArray::new(values, a.nulls().cloned()))
    }
}

fn is_string(dt: &DataType) -> bool {
    matches!(dt, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
}

/// The fast matcher for a predicate, when it has one: `(value, matcher, negated)`.
fn fast_form<'a>(e: &'a Expr, schema: &DFSchema) -> Option<(&'a Expr, Matcher, bool)> {
    let (value, matcher, negated) = match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let negated = match op {
                Operator::RegexMatch => false,
                Operator::RegexNotMatch => true,
                _ => return None,
            };
            let Expr::Literal(ScalarValue::Utf8(Some(re)), _) = right.as_ref() else {
                return None;
            };
            (left.as_ref(), Matcher::Classes(ClassSeq::compile(re)?), negated)
        }
        Expr::InList(InList { expr, list, negated }) => {
            let values = list
                .iter()
                .map(|item| match item {
                    Expr::Literal(ScalarValue::Utf8(Some(v)) | ScalarValue::Utf8View(Some(v)), _) => Some(v.as_str()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            (expr.as_ref(), Matcher::Set(StringSet::new(values)), *negated)
        }
        _ => return None,
    };
    is_string(&value.get_type(schema).ok()?).then_some((value, matcher, negated))
}

/// Replaces string predicates that have a fast form (see the module documentation).
pub(crate) fn rewrite(e: Expr, schema: &DFSchema) -> Expr {
    let original = e.clone();
    e.transform_up(|node| {
        let Some((value, matcher, negated)) = fast_form(&node, schema) else {
            return Ok(Transformed::no(node));
        };
        let udf = ScalarUDF::new_from_impl(Match {
            matcher,
            negated,
            signature: super::udf::string_signature(),
        });
        Ok(Transformed::yes(udf.call(vec![value.clone()])))
    })
    .map_or(original, |t| t.data)
}

/// The state of a `lakegate_match` function, for another process (see [`super::portable`]).
#[cfg(feature = "ballista")]
pub(super) fn portable(f: &ScalarUDF) -> Option<serde_json::Value> {
    let m = f.inner().downcast_ref::<Match>()?;
    Some(match &m.matcher {
        Matcher::Classes(c) => serde_json::json!({
            "classes": c.0.iter().map(|x| super::portable::hex128(*x)).collect::<Vec<_>>(),
        }),
        Matcher::Set(s) => serde_json::json!({ "set": s.values() }),
    })
}

/// The `lakegate_match` function `name` from its state.
#[cfg(feature = "ballista")]
pub(super) fn from_portable(name: &str, v: &serde_json::Value) -> Option<Result<ScalarUDF>> {
    use super::portable::{field, strings_of, u128_of};
    let negated = match name {
        "lakegate_matches_classes" | "lakegate_in_set" => false,
        "lakegate_not_matches_classes" | "lakegate_not_in_set" => true,
        _ => return None,
    };
    let matcher = || -> Result<Matcher> {
        if name.ends_with("_set") {
            let values = strings_of(name, v, "set")?;
            return Ok(Matcher::Set(StringSet::new(values.iter().map(String::as_str))));
        }
        let classes = field(name, v, "classes")?.as_array().cloned().unwrap_or_default();
        let classes = classes.iter().map(|c| u128_of(name, c)).collect::<Result<Vec<_>>>()?;
        Ok(Matcher::Classes(ClassSeq(classes)))
    };
    Some(matcher().map(|matcher| {
        ScalarUDF::new_from_impl(Match {
            matcher,
            negated,
            signature: super::udf::string_signature(),
        })
    }))
}

/// The list test in `e`, when it is a `lakegate_match` over a list (`IN`, `NOT IN`):
/// `(value, set, negated)`. For [`super::shared_lists`], which merges such tests.
pub(crate) fn list_test(e: &Expr) -> Option<(&Expr, &StringSet, bool)> {
    let Expr::ScalarFunction(f) = e else { return None };
    let m = f.func.inner().downcast_ref::<Match>()?;
    match &m.matcher {
        Matcher::Set(set) if f.args.len() == 1 => Some((&f.args[0], set, m.negated)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGEXES: &[&str] = &[
        "^[A-Z]{2}$",
        "^[0-9]{5}$",
        "^[A-Z]{3}-[0-9]{4}$",
        "^ab[cd]$",
        "^[[:alpha:]][[:digit:]]$",
        "^(?:[a-c][0-9]){2}$",
        r"^\.$",
        "^(a|b)[0-9]$",
        "^$",
    ];

    const NOT_SEQUENCES: &[&str] = &[
        "[A-Z]{2}",
        "^[A-Z]{2}",
        r"^\d{5}$",
        "^[A-Z]{2,3}$",
        "^(ab|c)$",
        "^a?$",
        "^é$",
        "(?m)^[A-Z]{2}$",
        r"^\w+$",
        "^.$",
        "^[^a]{2}$",
    ];

    fn corpus() -> Vec<String> {
        let mut v: Vec<String> = [
            "", "U", "US", "us", "Us", "USA", "U1", "1U", "12345", "1234", "123456", "ABC-1234", "ABC1234", "abc-1234",
            "ab", "ac", "abc", "abd", "abe", "a", "b", "a1b2", "c9c9", "d1a1", "..", ".", "x", "é", "éé", "Ü", "US\n",
            "\nUS", "U S", "٣٣", "1٣", "A٣",
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
        for a in 0u8..128 {
            v.push(char::from(a).to_string());
            v.push(format!("{}{}", char::from(a), char::from(b'A' + a % 26)));
        }
        v
    }

    #[test]
    fn sequences_match_exactly_what_the_regex_matches() {
        for re in REGEXES {
            let seq = ClassSeq::compile(re).unwrap_or_else(|| panic!("{re} should compile"));
            let regex = regex::Regex::new(re).unwrap();
            for s in corpus() {
                assert_eq!(seq.matches(s.as_bytes()), regex.is_match(&s), "{re} on {s:?}");
            }
        }
    }

    fn schema() -> DFSchema {
        use datafusion::arrow::datatypes::{Field, Schema};
        DFSchema::try_from(Schema::new(vec![
            Field::new("country", DataType::Utf8View, true),
            Field::new("n", DataType::Int64, true),
        ]))
        .unwrap()
    }

    fn name_of(e: &Expr) -> Option<&str> {
        match e {
            Expr::ScalarFunction(f) => Some(f.name()),
            _ => None,
        }
    }

    #[test]
    fn the_fused_scan_gets_the_matcher_only_for_string_sequences_and_lists() {
        use datafusion::logical_expr::lit;
        let col = crate::checks::column;
        let regex = |c: &str, re: &str| {
            Expr::BinaryExpr(BinaryExpr::new(
                Box::new(col(c)),
                Operator::RegexNotMatch,
                Box::new(lit(re)),
            ))
        };
        let s = schema();
        assert_eq!(
            name_of(&rewrite(regex("country", "^[A-Z]{2}$"), &s)),
            Some("lakegate_not_matches_classes")
        );
        assert_eq!(rewrite(regex("country", "^a?$"), &s), regex("country", "^a?$"));
        let list = col("country").in_list(vec![lit("a"), lit("b")], true);
        assert_eq!(name_of(&rewrite(list, &s)), Some("lakegate_not_in_set"));
        let ints = col("n").in_list(vec![lit(1i64), lit(2i64)], false);
        assert_eq!(rewrite(ints.clone(), &s), ints);
        let with_null = col("country").in_list(vec![lit("a"), lit(ScalarValue::Utf8(None))], false);
        assert_eq!(rewrite(with_null.clone(), &s), with_null);
        // Inside a larger predicate (a `where` and a check), both sides are rewritten.
        let both = col("n").gt(lit(1i64)).and(regex("country", "^[A-Z]{2}$"));
        let Expr::BinaryExpr(b) = rewrite(both, &s) else {
            panic!()
        };
        assert_eq!(name_of(&b.right), Some("lakegate_not_matches_classes"));
    }

    #[test]
    fn sets_agree_with_plain_membership_on_every_array_type() {
        use datafusion::arrow::array::{LargeStringArray, StringArray, StringViewArray};
        let listed = [
            "placed",
            "shipped",
            "",
            "exactly12byt",
            "thirteen-byte",
            "a much longer accepted value",
            "é",
        ];
        let mut values: Vec<Option<String>> = corpus().into_iter().map(Some).collect();
        values.extend(listed.iter().map(|v| Some((*v).to_string())));
        values.extend(
            [
                "exactly12byx",
                "thirteen-bytx",
                "placed ",
                "Placed",
                "a much longer accepted valuex",
            ]
            .map(|v| Some(v.to_string())),
        );
        values.push(None);
        // Five short values use the hash table, the first three the comparisons.
        for listed in [&listed[..], &listed[..3]] {
            for negated in [false, true] {
                let m = Match {
                    matcher: Matcher::Set(StringSet::new(listed.iter().copied())),
                    negated,
                    signature: super::super::udf::string_signature(),
                };
                let expected: Vec<Option<bool>> = values
                    .iter()
                    .map(|v| v.as_ref().map(|v| listed.contains(&v.as_str()) != negated))
                    .collect();
                let arrays: Vec<Box<dyn Array>> = vec![
                    Box::new(StringViewArray::from_iter(values.iter().map(Option::as_deref))),
                    Box::new(StringArray::from_iter(values.iter().map(Option::as_deref))),
                    Box::new(LargeStringArray::from_iter(values.iter().map(Option::as_deref))),
                ];
                for a in arrays {
                    let got: Vec<Option<bool>> = m.evaluate(a.as_ref()).unwrap().iter().collect();
                    assert_eq!(got, expected, "{} negated={negated}", a.data_type());
                }
            }
        }
    }

    #[test]
    fn class_sequences_agree_with_the_regex_on_views() {
        use datafusion::arrow::array::StringViewArray;
        let values = corpus();
        let a = StringViewArray::from_iter_values(values.iter());
        for re in REGEXES {
            let m = Match {
                matcher: Matcher::Classes(ClassSeq::compile(re).unwrap()),
                negated: true,
                signature: super::super::udf::string_signature(),
            };
            let regex = regex::Regex::new(re).unwrap();
            let got: Vec<Option<bool>> = m.evaluate(&a).unwrap().iter().collect();
            let expected: Vec<Option<bool>> = values.iter().map(|v| Some(!regex.is_match(v))).collect();
            assert_eq!(got, expected, "{re}");
        }
    }

    #[test]
    fn other_regexes_keep_the_regex_engine() {
        for re in NOT_SEQUENCES {
            assert!(ClassSeq::compile(re).is_none(), "{re} is not a fixed ASCII sequence");
        }
    }
}

//! A fast path for the most common `pattern` regexes: a fixed-length sequence of ASCII character
//! classes, anchored at both ends (`^[A-Z]{2}$`, `^[0-9]{5}$`, `^[A-Z]{3}-[0-9]{4}$`).
//!
//! Such a regex matches a value exactly when the value has one byte per class and each byte is in
//! its class, which a loop over the bytes decides far faster than a regex engine (about a quarter
//! of the cost on 10M country codes, docs/performance.md). [`rewrite`] replaces `value ~ 'regex'`
//! and `value !~ 'regex'` in the fused scan by [`lakegate_matches_classes`] when the regex has
//! that form; anything else (alternation, optional parts, Unicode classes like `\d`, flags that
//! change anchors) keeps the regex. Unit tests compare both on every value of a corpus.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, BooleanArray};
use datafusion::arrow::buffer::BooleanBuffer;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, Operator, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// The longest sequence compiled (longer patterns are rare and keep the regex).
const MAX_LEN: usize = 64;

/// One set of ASCII bytes per position.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClassSeq(Vec<u128>);

impl ClassSeq {
    /// The sequence a regex stands for, when it is one.
    pub fn compile(regex: &str) -> Option<Self> {
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

    pub fn matches(&self, value: &[u8]) -> bool {
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

/// `lakegate_matches_classes(value)`: whether a string matches the sequence (negated for `!~`);
/// null for null.
#[derive(Debug, PartialEq, Eq, Hash)]
struct MatchesClasses {
    seq: ClassSeq,
    negated: bool,
    signature: Signature,
}

impl ScalarUDFImpl for MatchesClasses {
    fn name(&self) -> &'static str {
        if self.negated {
            "lakegate_not_matches_classes"
        } else {
            "lakegate_matches_classes"
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let test = |v: &str| self.seq.matches(v.as_bytes()) != self.negated;
        match &args.args[0] {
            ColumnarValue::Scalar(s) => {
                let v = match s {
                    ScalarValue::Utf8(v) | ScalarValue::Utf8View(v) | ScalarValue::LargeUtf8(v) => {
                        v.as_deref().map(test)
                    }
                    other => return exec_err!("lakegate_matches_classes: unexpected {}", other.data_type()),
                };
                Ok(ColumnarValue::Scalar(ScalarValue::Boolean(v)))
            }
            ColumnarValue::Array(a) => {
                let values: BooleanBuffer = match a.data_type() {
                    DataType::Utf8View => {
                        let s = a.as_string_view();
                        (0..s.len()).map(|i| test(s.value(i))).collect()
                    }
                    DataType::Utf8 => {
                        let s = a.as_string::<i32>();
                        (0..s.len()).map(|i| test(s.value(i))).collect()
                    }
                    DataType::LargeUtf8 => {
                        let s = a.as_string::<i64>();
                        (0..s.len()).map(|i| test(s.value(i))).collect()
                    }
                    other => return exec_err!("lakegate_matches_classes: unexpected {other}"),
                };
                Ok(ColumnarValue::Array(Arc::new(BooleanArray::new(
                    values,
                    a.nulls().cloned(),
                ))))
            }
        }
    }
}

/// Replaces `x ~ 'regex'` / `x !~ 'regex'` by the fast matcher wherever the regex is a sequence.
pub fn rewrite(e: Expr) -> Expr {
    let original = e.clone();
    e.transform_up(|node| {
        let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &node else {
            return Ok(Transformed::no(node));
        };
        let negated = match op {
            Operator::RegexMatch => false,
            Operator::RegexNotMatch => true,
            _ => return Ok(Transformed::no(node)),
        };
        let Expr::Literal(ScalarValue::Utf8(Some(re)), _) = right.as_ref() else {
            return Ok(Transformed::no(node));
        };
        let Some(seq) = ClassSeq::compile(re) else {
            return Ok(Transformed::no(node));
        };
        let udf = ScalarUDF::new_from_impl(MatchesClasses {
            seq,
            negated,
            signature: Signature::one_of(
                vec![
                    TypeSignature::Exact(vec![DataType::Utf8View]),
                    TypeSignature::Exact(vec![DataType::Utf8]),
                    TypeSignature::Exact(vec![DataType::LargeUtf8]),
                ],
                Volatility::Immutable,
            ),
        });
        Ok(Transformed::yes(udf.call(vec![left.as_ref().clone()])))
    })
    .map_or(original, |t| t.data)
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

    #[test]
    fn the_fused_scan_gets_the_matcher_only_for_sequences() {
        let pred = |re: &str| {
            Expr::BinaryExpr(BinaryExpr::new(
                Box::new(crate::checks::column("country")),
                Operator::RegexNotMatch,
                Box::new(datafusion::logical_expr::lit(re)),
            ))
        };
        let fast = rewrite(pred("^[A-Z]{2}$"));
        assert!(
            matches!(&fast, Expr::ScalarFunction(f) if f.name() == "lakegate_not_matches_classes"),
            "{fast}"
        );
        assert_eq!(rewrite(pred("^a?$")), pred("^a?$"));
    }

    #[test]
    fn other_regexes_keep_the_regex_engine() {
        for re in NOT_SEQUENCES {
            assert!(ClassSeq::compile(re).is_none(), "{re} is not a fixed ASCII sequence");
        }
    }
}

//! How deep a `where`/`sql` fragment nests, told before DataFusion walks it.
//!
//! DataFusion walks expressions recursively, and lakegate's trimmed feature set leaves out its
//! `recursive_protection` (which grows the stack on the heap): a chain of ~4,000 `OR` terms
//! overflowed the stack and aborted the process without a message. A chain of `a OR b OR c` is a
//! tree as deep as it has operators, so fragments deeper than [`MAX_DEPTH`] are refused with a
//! configuration diagnostic that suggests `IN (…)`, which is one flat list. The estimate comes from
//! the tokens alone (no tree is built): per parenthesised group and per comma-separated item, the
//! `AND`/`OR`/`NOT` operators plus the longest run of other operators between them, plus the
//! deepest group inside. It is never below the real depth, and close to it.

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// The deepest fragment accepted. The stacks lakegate runs on (`main.rs`) hold several times this.
pub(crate) const MAX_DEPTH: usize = 1000;

#[derive(Default)]
struct Group {
    /// `AND`/`OR`/`NOT` in the current item.
    logic: usize,
    /// Other operators since the last logical one, and the longest such run in the item.
    run: usize,
    longest_run: usize,
    /// The deepest group inside the current item.
    child: usize,
    /// The deepest of the finished items.
    best: usize,
}

impl Group {
    fn item(&self) -> usize {
        self.logic + self.longest_run.max(self.run) + self.child
    }
    fn depth(&self) -> usize {
        self.best.max(self.item())
    }
}

/// The estimated nesting depth of a SQL expression, `None` when it does not tokenize (the parser
/// reports that).
pub(crate) fn estimate(text: &str) -> Option<usize> {
    let tokens = Tokenizer::new(&GenericDialect {}, text).tokenize().ok()?;
    let mut stack = vec![Group::default()];
    for t in tokens {
        match t {
            Token::Whitespace(_) | Token::EOF | Token::Period => {}
            Token::LParen | Token::LBracket => stack.push(Group::default()),
            Token::RParen | Token::RBracket => {
                close(&mut stack);
            }
            Token::Comma => {
                if let Some(top) = stack.last_mut() {
                    top.best = top.depth();
                    *top = Group {
                        best: top.best,
                        ..Group::default()
                    };
                }
            }
            Token::Word(w) => {
                if let Some(top) = stack.last_mut()
                    && matches!(w.keyword, Keyword::AND | Keyword::OR | Keyword::NOT)
                {
                    top.logic += 1;
                    top.longest_run = top.longest_run.max(top.run);
                    top.run = 0;
                }
            }
            Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::Placeholder(_)
            | Token::Char(_) => {}
            _ => {
                if let Some(top) = stack.last_mut() {
                    top.run += 1;
                }
            }
        }
    }
    // Unclosed groups (a parse error the parser reports) still count.
    while stack.len() > 1 {
        close(&mut stack);
    }
    Some(stack.pop().map_or(0, |g| g.depth()))
}

/// Ends the innermost group: parentheses are no node of their own, its depth is its content's.
fn close(stack: &mut Vec<Group>) {
    if stack.len() > 1 {
        let inner = stack.pop().map_or(0, |g| g.depth());
        if let Some(top) = stack.last_mut() {
            top.child = top.child.max(inner);
        }
    }
}

/// A sentence saying why a fragment is refused, when it is too deep.
pub(crate) fn too_deep(text: &str) -> Option<String> {
    let depth = estimate(text)?;
    (depth > MAX_DEPTH).then(|| {
        format!(
            "the SQL expression nests about {} operators deep; lakegate accepts at most {}",
            crate::results::numbers::fmt_count(depth as u64),
            crate::results::numbers::fmt_count(MAX_DEPTH as u64)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ors(n: usize) -> String {
        (0..n).map(|i| format!("a = {i}")).collect::<Vec<_>>().join(" OR ")
    }

    #[test]
    fn chains_count_their_operators() {
        assert_eq!(estimate("a"), Some(0));
        assert_eq!(estimate("a = 1"), Some(1));
        assert_eq!(estimate(&ors(3)), Some(3));
        assert_eq!(estimate("a + b + c > 0 AND d"), Some(4));
        assert_eq!(estimate(&ors(4000)), Some(4000));
    }

    #[test]
    fn lists_and_arguments_are_flat() {
        let list = (0..5000).map(|i| format!("-{i}")).collect::<Vec<_>>().join(", ");
        assert_eq!(estimate(&format!("a IN ({list})")), Some(1));
        assert_eq!(estimate("coalesce(a + 1, b + 2, c + 3) > 0"), Some(2));
    }

    #[test]
    fn parentheses_nest() {
        let deep = format!("{}a{}", "(".repeat(50), ")".repeat(50));
        assert_eq!(estimate(&deep), Some(0));
        assert_eq!(estimate("(a OR b) AND (c OR (d AND e))"), Some(3));
    }

    #[test]
    fn too_deep_suggests_nothing_for_normal_fragments() {
        assert!(too_deep("status <> 'x' AND amount > 0").is_none());
        assert!(too_deep(&ors(MAX_DEPTH + 1)).is_some());
    }
}

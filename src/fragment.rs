//! SQL fragments from suites (`where`, `expression.sql`, `metric.sql`).
//!
//! A fragment is parsed as one *expression* by DataFusion's SQL parser, never spliced into a
//! statement, so `1=1; DROP TABLE t` is a parse error, not a second statement. Parse errors carry a
//! line and column inside the fragment; they are mapped back onto the suite file so the diagnostic
//! underlines the exact character. Aggregates are rejected in row predicates and required in metrics;
//! subqueries are rejected everywhere because they would break the one-scan plan.

use std::ops::Range;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::DFSchema;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::functions::core::expr_fn::nullif;
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::{ExprSchemable, Operator, lit};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use toml::Spanned;

use crate::diag::{Code, Diagnostic, SourceFile, suggest};

/// What a SQL fragment from a suite must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FragmentRole {
    /// A boolean row predicate (`where`, `expression.sql`): no aggregates, no subqueries.
    RowPredicate,
    /// An aggregate expression (`metric.sql`): at least one aggregate, no subqueries.
    Aggregate,
}

/// What parsing a fragment needs from the query engine (implemented by `engine::Engine`, so that
/// this module holds no session).
pub(crate) trait Lowering {
    /// SQL text to an expression over `schema`, with the engine's functions.
    fn parse_sql(&self, sql: &str, schema: &DFSchema) -> datafusion::error::Result<Expr>;
    /// The rewrites every expression of a check goes through before it runs (integer arithmetic
    /// that never wraps); an error is a literal that cannot be evaluated.
    fn lower(&self, e: Expr, schema: &DFSchema) -> Result<Expr, String>;
}

/// Checks that a fragment is one syntactically valid SQL expression (no schema needed).
pub(crate) fn check_syntax(file: &SourceFile, frag: &Spanned<String>) -> Result<(), Diagnostic> {
    let text = frag.get_ref();
    if text.trim().is_empty() {
        return Err(Diagnostic::at(Code::EmptyValue, file, frag.span(), "the SQL expression is empty").label("empty"));
    }
    too_deep(file, frag)?;
    let dialect = GenericDialect {};
    let result = Parser::new(&dialect).try_with_sql(text).and_then(|mut p| {
        let e = p.parse_expr()?;
        p.expect_token(&datafusion::sql::sqlparser::tokenizer::Token::EOF)?;
        Ok(e)
    });
    match result {
        Ok(_) => Ok(()),
        Err(e) => Err(parse_error(file, frag, &e.to_string())),
    }
}

/// Parses a fragment against a dataset's schema and checks its role.
pub(crate) fn parse(
    engine: &dyn Lowering,
    schema: &DFSchema,
    file: &SourceFile,
    frag: &Spanned<String>,
    role: FragmentRole,
) -> Result<Expr, Diagnostic> {
    too_deep(file, frag)?;
    let expr = engine
        .parse_sql(frag.get_ref(), schema)
        .map_err(|e| sql_error(schema, file, frag, &e.to_string()))?;
    let expr = engine.lower(safe_division(expr, schema), schema).map_err(|e| {
        Diagnostic::at(
            Code::BadFragment,
            file,
            frag.span(),
            format!("the SQL expression cannot be evaluated: {e}"),
        )
        .label("overflows")
        .help("integer arithmetic is checked; write a smaller constant, or CAST to DOUBLE for approximate values")
    })?;
    if let Some(d) = invalid_regex(file, frag, &expr) {
        return Err(d);
    }
    no_subquery(file, frag, &expr)?;
    check_role(schema, file, frag, expr, role)
}

/// The diagnostic for a fragment the engine cannot parse: an unknown column (with the closest one)
/// or a syntax error at its position.
fn sql_error(schema: &DFSchema, file: &SourceFile, frag: &Spanned<String>, msg: &str) -> Diagnostic {
    let Some(i) = msg.find("No field named ") else {
        return parse_error(file, frag, msg);
    };
    let rest = &msg[i + "No field named ".len()..];
    let name: String = rest
        .trim_start_matches('"')
        .chars()
        .take_while(|c| *c != '"' && *c != '.' && *c != ' ')
        .collect();
    let cols: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let span = inner_start(file, frag)
        .and_then(|start| frag.get_ref().find(&name).map(|at| start + at..start + at + name.len()))
        .unwrap_or_else(|| frag.span());
    let near = cols
        .iter()
        .find(|c| c.eq_ignore_ascii_case(&name))
        .copied()
        .or_else(|| crate::diag::closest(&name, cols.iter().copied()));
    let help = match near {
        Some(c) if c.chars().any(|ch| ch.is_ascii_uppercase()) || c.contains(' ') => {
            format!("did you mean `{c}`? write it in double quotes: \"{c}\" (names are case-sensitive)")
        }
        near => suggest(near, &cols, "the dataset has"),
    };
    Diagnostic::at(
        Code::UnknownColumn,
        file,
        span,
        format!("the SQL expression names a column the dataset does not have: `{name}`"),
    )
    .label("unknown column")
    .help(help)
    .lacking(name)
}

/// Refuses a subquery: it would read another table and break the one-scan plan.
fn no_subquery(file: &SourceFile, frag: &Spanned<String>, expr: &Expr) -> Result<(), Diagnostic> {
    let has_subquery = expr
        .exists(|e| {
            Ok(matches!(
                e,
                Expr::ScalarSubquery(_) | Expr::InSubquery(_) | Expr::Exists(_)
            ))
        })
        .unwrap_or(false);
    if has_subquery {
        return Err(Diagnostic::at(
            Code::BadFragment,
            file,
            frag.span(),
            "subqueries are not allowed in check expressions",
        )
        .label("contains a subquery")
        .help("a check reads its own dataset in one scan; use a `reference` check to compare with another dataset"));
    }
    Ok(())
}

/// Checks that the expression fits its role: a per-row condition, or an aggregate over the dataset.
fn check_role(
    schema: &DFSchema,
    file: &SourceFile,
    frag: &Spanned<String>,
    expr: Expr,
    role: FragmentRole,
) -> Result<Expr, Diagnostic> {
    let has_agg = expr
        .exists(|e| Ok(matches!(e, Expr::AggregateFunction(_))))
        .unwrap_or(false);
    let has_window = expr
        .exists(|e| Ok(matches!(e, Expr::WindowFunction(_))))
        .unwrap_or(false);
    match role {
        FragmentRole::RowPredicate if has_agg || has_window => Err(Diagnostic::at(
            Code::BadFragment,
            file,
            frag.span(),
            "this expression is evaluated per row, so it cannot contain an aggregate function",
        )
        .label("contains an aggregate")
        .help("use a `metric` check for aggregates such as avg(amount), or `row_count` for counts")),
        FragmentRole::Aggregate if !has_agg => Err(Diagnostic::at(
            Code::BadFragment,
            file,
            frag.span(),
            "a metric must be an aggregate expression over the whole dataset",
        )
        .label("no aggregate function")
        .help("for example avg(amount), sum(quantity) / count(*), or max(length(note))")),
        FragmentRole::Aggregate if has_window => {
            Err(
                Diagnostic::at(Code::BadFragment, file, frag.span(), "window functions are not allowed in a metric")
                    .label("window function"),
            )
        }
        FragmentRole::Aggregate if bare_column(&expr) => Err(Diagnostic::at(
            Code::BadFragment,
            file,
            frag.span(),
            "a metric must not use a column outside an aggregate function",
        )
        .label("column outside an aggregate")
        .help("a metric is one value for the whole dataset: wrap every column in an aggregate, e.g. max(amount) - min(amount)")),
        FragmentRole::RowPredicate => match expr.get_type(schema) {
            Ok(DataType::Boolean | DataType::Null) => Ok(expr),
            Ok(other) => Err(Diagnostic::at(Code::TypeMismatch, file, frag.span(), format!("the expression is {other}, not a true/false condition"))
                .label("not a condition")
                .help("write a condition such as \"amount >= 0\" or \"status <> 'cancelled'\"")),
            Err(e) => Err(Diagnostic::at(Code::TypeMismatch, file, frag.span(), format!("the expression cannot be evaluated: {}", clean(&e.to_string())))
                .label("type error")),
        },
        _ => Ok(expr),
    }
}

/// Refuses a fragment nested too deep for the stack (`expr_depth`), suggesting a flat `IN` list.
fn too_deep(file: &SourceFile, frag: &Spanned<String>) -> Result<(), Diagnostic> {
    match crate::expr_depth::too_deep(frag.get_ref()) {
        None => Ok(()),
        Some(why) => Err(Diagnostic::at(Code::TooDeep, file, frag.span(), why)
            .label("too deep")
            .help("write a chain of `x = 1 OR x = 2 OR …` as `x IN (1, 2, …)`, one flat list of any length; split other long chains over several checks")),
    }
}

/// Whether a column is referenced outside every aggregate function.
fn bare_column(e: &Expr) -> bool {
    let mut found = false;
    let _ = e.apply(|node| {
        Ok(match node {
            Expr::AggregateFunction(_) => TreeNodeRecursion::Jump,
            Expr::Column(_) => {
                found = true;
                TreeNodeRecursion::Stop
            }
            _ => TreeNodeRecursion::Continue,
        })
    });
    found
}

/// SQL's `/` as data engineers expect it (and as DuckDB and Postgres-with-numerics do): integer
/// operands divide as floats, and a division by zero is null rather than an error that would stop
/// the whole scan.
fn safe_division(e: Expr, schema: &DFSchema) -> Expr {
    let float = |x: Expr| Expr::Cast(datafusion::logical_expr::Cast::new(Box::new(x), DataType::Float64));
    e.transform_up(|node| {
        Ok(match node {
            Expr::BinaryExpr(b) if b.op == Operator::Divide => {
                let ints = |x: &Expr| x.get_type(schema).is_ok_and(|t| t.is_integer());
                let (l, r) = if ints(&b.left) && ints(&b.right) {
                    (float(*b.left), float(*b.right))
                } else {
                    (*b.left, *b.right)
                };
                Transformed::yes(l / nullif(r, lit(0)))
            }
            other => Transformed::no(other),
        })
    })
    .map_or_else(
        |_| Expr::Literal(datafusion::scalar::ScalarValue::Null, None),
        |t| t.data,
    )
}

/// The first regular expression literal DataFusion would refuse (`name ~ '('`), as a diagnostic
/// at the literal: found here, the mistake is a configuration error (exit 2) from `validate` and
/// `check` alike, not a failure of the whole dataset at run time.
fn invalid_regex(file: &SourceFile, frag: &Spanned<String>, expr: &Expr) -> Option<Diagnostic> {
    use datafusion::scalar::ScalarValue;
    let mut found: Option<(String, String)> = None;
    let text_of = |e: &Expr| match e {
        Expr::Literal(
            ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)),
            _,
        ) => Some(s.clone()),
        _ => None,
    };
    let _ = expr.apply(|node| {
        // (pattern, inline flags as DataFusion adds them, where the flags are written)
        let (pattern, flags, flags_literal) = match node {
            Expr::BinaryExpr(b) => match b.op {
                Operator::RegexMatch | Operator::RegexNotMatch => (text_of(&b.right), String::new(), None),
                Operator::RegexIMatch | Operator::RegexNotIMatch => (text_of(&b.right), "i".to_string(), None),
                _ => (None, String::new(), None),
            },
            Expr::SimilarTo(l) => (
                text_of(&l.pattern),
                if l.case_insensitive { "i".into() } else { String::new() },
                None,
            ),
            Expr::ScalarFunction(f) if f.name().starts_with("regexp_") => {
                // The flags argument of each function; `g` (every match) is regexp_replace's own.
                let at = match f.name() {
                    "regexp_like" | "regexp_match" => Some(2),
                    "regexp_replace" | "regexp_count" => Some(3),
                    "regexp_instr" => Some(4),
                    _ => None,
                };
                let written = at.and_then(|i| f.args.get(i)).and_then(text_of);
                let flags = written.clone().unwrap_or_default();
                let flags = if f.name() == "regexp_replace" {
                    flags.replace('g', "")
                } else {
                    flags
                };
                (f.args.get(1).and_then(text_of), flags, written)
            }
            _ => (None, String::new(), None),
        };
        let Some(p) = pattern else {
            return Ok(TreeNodeRecursion::Continue);
        };
        let full = if flags.is_empty() {
            p.clone()
        } else {
            format!("(?{flags}){p}")
        };
        if let Err(e) = regex::Regex::new(&full) {
            let reason = e.to_string();
            let reason = reason
                .lines()
                .last()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_string();
            // A pattern valid on its own fails through its flags: point at the flags.
            found = Some(match flags_literal {
                Some(f) if regex::Regex::new(&p).is_ok() => {
                    (f, format!("bad flags for a regular expression ({reason})"))
                }
                _ => (p, reason),
            });
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    let (pattern, reason) = found?;
    let quoted = format!("'{}'", pattern.replace('\'', "''"));
    let span = inner_start(file, frag)
        .and_then(|start| {
            frag.get_ref()
                .find(&quoted)
                .map(|at| start + at..start + at + quoted.len())
        })
        .unwrap_or_else(|| frag.span());
    Some(if reason.starts_with("bad flags") {
        Diagnostic::at(Code::InvalidRegex, file, span, format!("{quoted} are {reason}"))
            .label("invalid flags")
            .help("flags are letters among i, m, s, U and x (and g for regexp_replace), e.g. 'i'")
    } else {
        Diagnostic::at(
            Code::InvalidRegex,
            file,
            span,
            format!("{quoted} is not a valid regular expression: {reason}"),
        )
        .label("invalid regular expression")
        .help("escape special characters with a backslash, e.g. '\\(' for a literal parenthesis")
    })
}

fn clean(msg: &str) -> String {
    let mut m = msg;
    for prefix in ["Schema error: ", "SQL error: ", "sql parser error: ", "ParserError(\""] {
        m = m.trim_start_matches(prefix);
    }
    m.to_string()
}

/// A parse error pointing at the character the parser stopped on when it can be located.
fn parse_error(file: &SourceFile, frag: &Spanned<String>, msg: &str) -> Diagnostic {
    let msg = clean(msg);
    let msg = msg
        .trim_start_matches("ParserError(\"")
        .trim_end_matches("\")")
        .to_string();
    let span = locate(file, frag, &msg).unwrap_or_else(|| frag.span());
    let short = msg.find(" at Line: ").map_or(msg.as_str(), |i| &msg[..i]).to_string();
    Diagnostic::at(
        Code::BadFragment,
        file,
        span,
        format!("the SQL expression does not parse: {short}"),
    )
    .label("here")
    .help("write a single SQL expression, e.g. \"status <> 'cancelled' AND amount > 0\"")
}

/// Where the fragment's text starts in the file, when the TOML string has no escapes (its source
/// text equals its value).
fn inner_start(file: &SourceFile, frag: &Spanned<String>) -> Option<usize> {
    let span = frag.span();
    let raw = file.text.get(span.clone())?;
    let quote = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
        3
    } else {
        1
    };
    let inner = raw.get(quote..raw.len().checked_sub(quote)?)?;
    let inner = if quote == 3 {
        inner.strip_prefix('\n').unwrap_or(inner)
    } else {
        inner
    };
    (inner == frag.get_ref()).then(|| span.start + (raw.len() - quote - inner.len()))
}

/// Maps "at Line: L, Column: C" inside the fragment onto the suite file when the TOML string has
/// no escapes (its source text equals its value).
fn locate(file: &SourceFile, frag: &Spanned<String>, msg: &str) -> Option<Range<usize>> {
    let i = msg.find("at Line: ")?;
    let rest = &msg[i + "at Line: ".len()..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let line: usize = line.trim().parse().ok()?;
    let col: usize = rest
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()?;
    let inner_start = inner_start(file, frag)?;
    let inner = frag.get_ref().as_str();
    let line_start: usize = inner.split('\n').take(line - 1).map(|l| l.len() + 1).sum();
    let line_text = inner[line_start..].split('\n').next()?;
    let byte_col: usize = line_text.chars().take(col.saturating_sub(1)).map(char::len_utf8).sum();
    let start = inner_start + line_start + byte_col;
    let len = line_text[byte_col..].chars().next().map_or(1, char::len_utf8);
    Some(start..start + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(text: &str, value: &str) -> (SourceFile, Spanned<String>) {
        let f = SourceFile::new("s.toml", text);
        let start = text.find(value).unwrap() - 1;
        let end = start + value.len() + 2;
        (f, Spanned::new(start..end, value.to_string()))
    }

    #[test]
    fn second_statement_is_a_parse_error_at_its_column() {
        let (f, w) = frag("where = \"1=1; DROP TABLE t\"\n", "1=1; DROP TABLE t");
        let d = check_syntax(&f, &w).unwrap_err();
        let (_, line, col) = d.location().unwrap();
        assert_eq!((line, col), (1, 13), "{}", d.render());
    }

    #[test]
    fn valid_fragment_passes() {
        let (f, w) = frag(
            "where = \"status <> 'x' AND amount > 0\"\n",
            "status <> 'x' AND amount > 0",
        );
        assert!(check_syntax(&f, &w).is_ok());
    }
}

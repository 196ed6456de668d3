//! The reading shared by MLflow's search grammars (registered models and model versions, runs,
//! experiments, logged models):
//!
//! ```text
//! filter     := ε | comparison (AND comparison)*
//! comparison := identifier comparator value | identifier IS [NOT] NULL
//! value      := 'string' | "string" | number | ( 'string' [, 'string']* )
//! order_by   := identifier [ASC | DESC]
//! ```
//!
//! The grammars agree on this shape and differ only in which identifiers exist and what
//! each accepts. So a grammar is a [`Grammar`]: it resolves an identifier into its own subject
//! type, gives the subject's [`Rule`] (comparators, value type, whether `IS NULL` applies) and
//! builds its clause. The reader here enforces the rule at the token that breaks it, so every
//! message can quote what was written and list what would have been accepted.

use super::lexer::{Ident, Token, TokenKind, tokenize};
use super::{Comparator as Op, FilterValue};
use crate::Error;

pub(super) const STRING_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::Like, Op::ILike];
pub(super) const STRING_OR_LIST_OPS: &[Op] =
    &[Op::Eq, Op::Ne, Op::Like, Op::ILike, Op::In, Op::NotIn];
/// For values from a closed set, where a pattern makes no sense.
pub(super) const EQUALITY_OR_LIST_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::In, Op::NotIn];
pub(super) const NUMERIC_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge];
/// Reserved words that can never be a key, so `AND AND` reads as a misplaced keyword.
const KEYWORDS: &[&str] = &["AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL"];

/// How the value on the right of a subject's comparator is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ValueKind {
    /// A quoted string, or after `IN` / `NOT IN` a parenthesized list of them.
    Text,
    /// A whole number such as milliseconds since the epoch: `1700000000000`, or `1.7e12` because
    /// it is whole. Quoted numbers are refused, as MLflow refuses them.
    Integer,
    /// Any numeric literal (`0.5`, `-1`, `1e-3`), read as `f64`.
    Number,
    /// An integer written as digits, bare or quoted (`3`, `'3'`), as MLflow's registry reads a
    /// version number; a float spelling such as `3.0` is refused.
    QuotableInteger,
}

/// What one subject accepts.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rule {
    pub ops: &'static [Op],
    pub value: ValueKind,
    /// Whether `IS NULL` / `IS NOT NULL` (the key is absent / present) may be asked.
    pub presence: bool,
}

/// A comparison's right-hand side, typed by the subject's [`Rule`].
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Condition {
    /// `ValueKind::Text` (a `Str`, or a `List` for `IN`) or `ValueKind::Integer` (an `Int`).
    Compare(Op, FilterValue),
    /// `ValueKind::Number`.
    CompareNumber(Op, f64),
    /// `IS NOT NULL` is `Presence(true)`, `IS NULL` is `Presence(false)`.
    Presence(bool),
}

/// One search grammar: which identifiers exist and what each accepts.
pub(super) trait Grammar {
    type Subject: std::fmt::Debug;
    type Clause;
    /// The identifiers the grammar accepts, for messages: "name, or tags.<key>".
    const EXPECTED: &'static str;
    /// MLflow's registry search drops a trailing `AND` (`name = 'a' AND` is `name = 'a'`), where
    /// its tracking searches refuse it.
    const DROPS_TRAILING_AND: bool = false;
    /// Turns an identifier (`written` as in the input) into a subject, or says why it is none.
    fn resolve(ident: &Ident, written: &str) -> Result<Self::Subject, String>;
    fn rule(subject: &Self::Subject) -> Rule;
    /// Builds the clause. The condition already obeys `rule(&subject)`; `written` is the whole
    /// comparison as written, for the messages of checks beyond the rule (a status name, say).
    fn clause(
        subject: Self::Subject,
        condition: Condition,
        written: &str,
    ) -> Result<Self::Clause, String>;
}

/// The longest filter accepted, in bytes. Reading is linear in the input, so this bounds the
/// time and memory one request can spend parsing; it leaves room for `IN` lists of thousands of
/// run ids. MLflow sets no bound.
pub const MAX_FILTER_LEN: usize = 100_000;
/// The most `order_by` items accepted, and the longest item (a key is at most 250 characters).
pub const MAX_ORDER_BY_ITEMS: usize = 100;
pub const MAX_ORDER_ITEM_LEN: usize = 1_000;

/// Parses a `filter` of grammar `G`; empty or whitespace-only input has no clauses.
pub(super) fn parse_conjunction<G: Grammar>(input: &str) -> Result<Vec<G::Clause>, Error> {
    if input.len() > MAX_FILTER_LEN {
        return Err(Error::invalid(format!(
            "Invalid filter: it is {} bytes long; at most {MAX_FILTER_LEN} are accepted",
            input.len()
        )));
    }
    let fail = |detail: String| Error::invalid(format!("Invalid filter '{input}': {detail}"));
    let tokens = tokenize(input).map_err(fail)?;
    let mut reader = Reader {
        input,
        tokens,
        pos: 0,
    };
    reader.conjunction::<G>().map_err(fail)
}

/// Refuses an `order_by` list longer than [`MAX_ORDER_BY_ITEMS`] before any item is read.
pub(super) fn check_order_by_items(items: &[String]) -> Result<(), Error> {
    if items.len() > MAX_ORDER_BY_ITEMS {
        return Err(Error::invalid(format!(
            "Invalid order_by: it has {} items; at most {MAX_ORDER_BY_ITEMS} are accepted",
            items.len()
        )));
    }
    Ok(())
}

/// Reads one order_by item, `<identifier> [ASC|DESC]`, into the identifier, its text and the
/// direction (ascending unless `DESC`). `expected` completes "expected ..." in messages.
pub(super) fn parse_order_item<'a>(
    item: &'a str,
    expected: &str,
) -> Result<(Ident, &'a str, bool), String> {
    if item.len() > MAX_ORDER_ITEM_LEN {
        return Err(format!(
            "it is {} bytes long; at most {MAX_ORDER_ITEM_LEN} are accepted",
            item.len()
        ));
    }
    let tokens = tokenize(item).map_err(|detail| format!("{detail}; {expected}"))?;
    let text = |token: &Token| &item[token.span.clone()];
    let (first, direction, rest) = match tokens.as_slice() {
        [] => return Err(format!("it is empty; {expected}")),
        [first] => (first, None, None),
        [first, direction] => (first, Some(direction), None),
        [first, direction, rest, ..] => (first, Some(direction), Some(rest)),
    };
    let ident = match &first.kind {
        TokenKind::Ident(ident) => ident.clone(),
        _ => return Err(format!("unsupported key '{}'; {expected}", text(first))),
    };
    let ascending = match direction {
        None => true,
        Some(d) if d.is_keyword("ASC") => true,
        Some(d) if d.is_keyword("DESC") => false,
        Some(d) => {
            return Err(format!(
                "unsupported direction '{}'; expected ASC or DESC",
                text(d)
            ));
        }
    };
    if let Some(rest) = rest {
        return Err(format!(
            "unexpected '{}' after the direction; {expected}",
            &item[rest.span.start..]
        ));
    }
    Ok((ident, text(first), ascending))
}

fn op_list(rule: &Rule) -> String {
    let mut ops: Vec<&str> = rule.ops.iter().map(|op| op.as_str()).collect();
    if rule.presence {
        ops.extend(["IS NULL", "IS NOT NULL"]);
    }
    ops.join(", ")
}

struct Reader<'a> {
    input: &'a str,
    tokens: Vec<Token>,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += usize::from(token.is_some());
        token
    }

    fn text(&self, token: &Token) -> &'a str {
        &self.input[token.span.clone()]
    }

    /// The input from token `first` to the last token read so far, e.g. `tags.k IS`.
    fn text_since(&self, first: usize) -> &'a str {
        let start = self.tokens[first].span.start;
        let end = self.tokens[self.pos - 1].span.end;
        &self.input[start..end]
    }

    /// The key of the identifier at token `first`, without its prefix or quotes.
    fn key(&self, first: usize) -> &str {
        match &self.tokens[first].kind {
            TokenKind::Ident(ident) => &ident.key,
            _ => self.text(&self.tokens[first]),
        }
    }

    fn conjunction<G: Grammar>(&mut self) -> Result<Vec<G::Clause>, String> {
        let mut clauses = Vec::new();
        if self.tokens.is_empty() {
            return Ok(clauses);
        }
        loop {
            clauses.push(self.comparison::<G>()?);
            let Some(token) = self.next() else {
                return Ok(clauses);
            };
            if token.is_keyword("AND") {
                if self.peek().is_none() {
                    if G::DROPS_TRAILING_AND {
                        return Ok(clauses);
                    }
                    return Err(
                        "the filter ends with AND; expected a comparison after it".to_owned()
                    );
                }
            } else if token.is_keyword("OR") {
                return Err(
                    "OR is not supported; comparisons can only be joined with AND".to_owned(),
                );
            } else {
                return Err(format!(
                    "unexpected '{}' after a comparison; expected AND or the end of the filter",
                    self.text(&token)
                ));
            }
        }
    }

    fn comparison<G: Grammar>(&mut self) -> Result<G::Clause, String> {
        let first = self.pos;
        let subject = self.subject::<G>()?;
        let rule = G::rule(&subject);
        let condition = self.condition(&rule, first)?;
        G::clause(subject, condition, self.text_since(first))
    }

    fn subject<G: Grammar>(&mut self) -> Result<G::Subject, String> {
        let expected = G::EXPECTED;
        let token = self.next().ok_or_else(|| {
            format!("expected a comparison, found the end; start with {expected}")
        })?;
        match &token.kind {
            TokenKind::Ident(ident) if KEYWORDS.iter().any(|kw| ident.is_keyword(kw)) => {
                Err(format!(
                    "expected an identifier ({expected}), found the keyword '{}'",
                    self.text(&token)
                ))
            }
            TokenKind::Ident(ident) => G::resolve(ident, self.text(&token)),
            TokenKind::LParen => Err(
                "parentheses are only allowed around IN lists, not around comparisons".to_owned(),
            ),
            _ => Err(format!(
                "expected an identifier ({expected}), found '{}'",
                self.text(&token)
            )),
        }
    }

    fn condition(&mut self, rule: &Rule, first: usize) -> Result<Condition, String> {
        let expected = op_list(rule);
        let Some(token) = self.next() else {
            return Err(format!(
                "missing comparator after '{}'; expected one of {expected}",
                self.text_since(first)
            ));
        };
        let op = match &token.kind {
            TokenKind::Operator(op) => match op.as_str() {
                "=" => Some(Op::Eq),
                "!=" => Some(Op::Ne),
                "<" => Some(Op::Lt),
                "<=" => Some(Op::Le),
                ">" => Some(Op::Gt),
                ">=" => Some(Op::Ge),
                _ => None,
            },
            TokenKind::Ident(_) if token.is_keyword("LIKE") => Some(Op::Like),
            TokenKind::Ident(_) if token.is_keyword("ILIKE") => Some(Op::ILike),
            TokenKind::Ident(_) if token.is_keyword("IN") => Some(Op::In),
            TokenKind::Ident(_) if token.is_keyword("IS") => return self.presence(rule, first),
            TokenKind::Ident(_) if token.is_keyword("NOT") => {
                let not_in = self.peek().is_some_and(|t| t.is_keyword("IN"));
                // Take the next word either way, so the error can quote `NOT LIKE`.
                if self.peek().is_some() {
                    self.pos += 1;
                }
                not_in.then_some(Op::NotIn)
            }
            TokenKind::Ident(_) => None,
            _ => {
                return Err(format!(
                    "missing comparator between '{}' and '{}'; expected one of {expected}",
                    self.text(&self.tokens[first]),
                    self.text(&token)
                ));
            }
        };
        let op = match op {
            Some(op) if rule.ops.contains(&op) => op,
            Some(op) => {
                return Err(format!(
                    "comparator '{op}' is not supported for '{}'; expected one of {expected}",
                    self.text(&self.tokens[first])
                ));
            }
            None => {
                return Err(format!(
                    "unsupported comparator '{}'; expected one of {expected}",
                    self.text_since(first + 1)
                ));
            }
        };
        self.value(rule, op, first)
    }

    /// `IS NULL` / `IS NOT NULL`, the `IS` already read.
    fn presence(&mut self, rule: &Rule, first: usize) -> Result<Condition, String> {
        let subject = self.text(&self.tokens[first]);
        if !rule.presence {
            return Err(format!(
                "IS NULL and IS NOT NULL are not supported for '{subject}'; expected one of {}",
                op_list(rule)
            ));
        }
        let negated = self.peek().is_some_and(|t| t.is_keyword("NOT"));
        if negated {
            self.pos += 1;
        }
        let read = self.text_since(first);
        let example = format!("e.g. {subject} IS NULL or {subject} IS NOT NULL");
        match self.peek() {
            Some(token) if token.is_keyword("NULL") => {
                self.pos += 1;
                Ok(Condition::Presence(negated))
            }
            Some(token) => Err(format!(
                "expected NULL after '{read}', got '{}'; {example}",
                self.text(token)
            )),
            None => Err(format!("missing NULL after '{read}'; {example}")),
        }
    }

    fn value(&mut self, rule: &Rule, op: Op, first: usize) -> Result<Condition, String> {
        let Some(token) = self.next() else {
            return Err(format!("missing value after '{}'", self.text_since(first)));
        };
        if matches!(op, Op::In | Op::NotIn) {
            return self
                .list(token, op, first)
                .map(|list| Condition::Compare(op, list));
        }
        let subject = self.text(&self.tokens[first]);
        let written = self.text(&token);
        match (rule.value, &token.kind) {
            (ValueKind::Text, TokenKind::Str(s)) => {
                Ok(Condition::Compare(op, FilterValue::Str(s.clone())))
            }
            (ValueKind::Integer, TokenKind::Number(n)) => integer(n)
                .map(|i| Condition::Compare(op, FilterValue::Int(i)))
                .ok_or_else(|| format!("'{subject}' is compared with an integer, got '{written}'")),
            (ValueKind::Number, TokenKind::Number(n)) => number(n)
                .map(|x| Condition::CompareNumber(op, x))
                .ok_or_else(|| format!("the number '{written}' is out of range")),
            (ValueKind::QuotableInteger, TokenKind::Number(digits) | TokenKind::Str(digits)) => {
                digits
                    .trim()
                    .parse::<i64>()
                    .map(|i| Condition::Compare(op, FilterValue::Int(i)))
                    .map_err(|_| {
                        format!(
                            "{} must be compared with an integer, got {written}",
                            self.key(first)
                        )
                    })
            }
            (_, TokenKind::LParen) => Err(format!(
                "a parenthesized list can only follow IN or NOT IN, not '{op}'"
            )),
            (ValueKind::Text, _) => Err(format!(
                "the value for '{subject}' must be a quoted string, got '{written}'; \
                 e.g. {subject} {op} 'value'"
            )),
            (ValueKind::Integer | ValueKind::Number, TokenKind::Str(_)) => Err(format!(
                "'{subject}' is compared with an unquoted number, got the string {written}; \
                 e.g. {subject} {op} {}",
                if rule.value == ValueKind::Integer {
                    "1700000000000"
                } else {
                    "0.5"
                }
            )),
            (ValueKind::Integer | ValueKind::Number, _) => Err(format!(
                "'{subject}' is compared with a number, got '{written}'"
            )),
            (ValueKind::QuotableInteger, _) => Err(format!(
                "{} must be compared with an integer, got '{written}'",
                self.key(first)
            )),
        }
    }

    /// `( 'a' [, 'b']* )`, its opening parenthesis already read as `open`.
    fn list(&mut self, open: Token, op: Op, first: usize) -> Result<FilterValue, String> {
        let example = format!("e.g. {} {op} ('a', 'b')", self.text(&self.tokens[first]));
        if open.kind != TokenKind::LParen {
            return Err(format!(
                "{op} must be followed by a parenthesized list of quoted strings, got '{}'; {example}",
                self.text(&open)
            ));
        }
        let unclosed = || format!("unclosed IN list; close it with ')', {example}");
        let mut items = Vec::new();
        loop {
            let item = self.next().ok_or_else(unclosed)?;
            match item.kind {
                TokenKind::Str(s) => items.push(s),
                TokenKind::RParen if items.is_empty() => {
                    return Err(format!(
                        "empty IN list; it needs at least one quoted string, {example}"
                    ));
                }
                _ => {
                    return Err(format!(
                        "IN lists hold quoted strings only, got '{}'; {example}",
                        self.text(&item)
                    ));
                }
            }
            let separator = self.next().ok_or_else(unclosed)?;
            match separator.kind {
                TokenKind::Comma => {}
                TokenKind::RParen => return Ok(FilterValue::List(items)),
                _ => {
                    return Err(format!(
                        "expected ',' or ')' in the IN list, got '{}'; {example}",
                        self.text(&separator)
                    ));
                }
            }
        }
    }
}

/// A whole number written as an integer or as a float with no fraction (`1.7e12`, `5.0`).
fn integer(written: &str) -> Option<i64> {
    if let Ok(i) = written.parse::<i64>() {
        return Some(i);
    }
    let x = written.parse::<f64>().ok()?;
    // `i64::MAX as f64` rounds up to 2^63, which is already out of range.
    let whole = x.is_finite() && x.fract() == 0.0 && x >= i64::MIN as f64 && x < i64::MAX as f64;
    whole.then_some(x as i64)
}

fn number(written: &str) -> Option<f64> {
    written.parse::<f64>().ok().filter(|x| x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_may_be_written_as_whole_floats() {
        assert_eq!(integer("1700000000000"), Some(1_700_000_000_000));
        assert_eq!(integer("1.7e12"), Some(1_700_000_000_000));
        assert_eq!(integer("-3"), Some(-3));
        assert_eq!(integer("+3"), Some(3));
        assert_eq!(integer("5.0"), Some(5));
        assert_eq!(integer("5."), Some(5));
        assert_eq!(integer("1.5"), None);
        assert_eq!(integer("1e-3"), None);
        assert_eq!(integer("9223372036854775807"), Some(i64::MAX));
        assert_eq!(integer("9.3e18"), None);
        assert_eq!(integer("1e400"), None);
    }

    #[test]
    fn numbers_are_finite_f64() {
        assert_eq!(number("0.5"), Some(0.5));
        assert_eq!(number(".5"), Some(0.5));
        assert_eq!(number("-.5"), Some(-0.5));
        assert_eq!(number("1E-3"), Some(0.001));
        assert_eq!(number("+2"), Some(2.0));
        assert_eq!(number("1e400"), None);
    }

    #[test]
    fn order_items_split_key_and_direction() {
        let expected = "expected '<key> [ASC|DESC]'";
        let (ident, written, ascending) = parse_order_item("metrics.`a b` desc", expected).unwrap();
        assert_eq!(ident.prefix.as_deref(), Some("metrics"));
        assert_eq!(ident.key, "a b");
        assert_eq!(written, "metrics.`a b`");
        assert!(!ascending);
        assert!(parse_order_item(" name ", expected).unwrap().2);
        assert_eq!(
            parse_order_item("", expected).unwrap_err(),
            "it is empty; expected '<key> [ASC|DESC]'"
        );
        assert_eq!(
            parse_order_item("name UP", expected).unwrap_err(),
            "unsupported direction 'UP'; expected ASC or DESC"
        );
        assert_eq!(
            parse_order_item("'name'", expected).unwrap_err(),
            "unsupported key ''name''; expected '<key> [ASC|DESC]'"
        );
        assert!(
            parse_order_item("name ASC, x", expected)
                .unwrap_err()
                .starts_with("unexpected ', x' after the direction")
        );
        assert!(
            parse_order_item("`name", expected)
                .unwrap_err()
                .starts_with("unterminated quoted text")
        );
    }
}

#[cfg(test)]
mod limits {
    use super::*;
    use crate::search::{SearchEntity, parse_filter, parse_order_by, parse_run_order_by};

    #[test]
    fn an_oversized_filter_or_order_by_is_refused_without_echoing_it() {
        let long = format!("name = '{}'", "x".repeat(MAX_FILTER_LEN));
        let err = parse_filter(SearchEntity::RegisteredModels, &long)
            .unwrap_err()
            .to_string();
        assert!(err.contains("at most 100000"), "{err}");
        assert!(
            err.len() < 200,
            "the message quotes the filter: {} bytes",
            err.len()
        );
        let near = format!("name = '{}'", "x".repeat(MAX_FILTER_LEN - 20));
        assert!(parse_filter(SearchEntity::RegisteredModels, &near).is_ok());

        let many = vec!["name ASC".to_owned(); MAX_ORDER_BY_ITEMS + 1];
        let err = parse_run_order_by(&many).unwrap_err().to_string();
        assert!(err.contains("at most 100 are accepted"), "{err}");
        let item = format!("{} ASC", "a".repeat(MAX_ORDER_ITEM_LEN));
        let err = parse_order_by(SearchEntity::ModelVersions, &[item])
            .unwrap_err()
            .to_string();
        assert!(err.contains("at most 1000 are accepted"), "{err}");
    }
}

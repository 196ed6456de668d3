//! Tokens of MLflow's search grammars, with no opinion on which keys or comparators are allowed.
//!
//! Registry filters, run filters and order_by clauses share one lexical shape: identifiers that
//! may carry an entity prefix (`tag.`, `metrics.`, `attribute.`) and a backtick- or double-quoted
//! key, quoted string literals, numbers, comparison operators and parenthesized lists. The lexer
//! keeps anything a grammar might want to reject (`==`, `~`, `1.5`) as a token instead of failing,
//! so the grammar can say "unsupported comparator '~'" rather than "unexpected character".

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// Also carries keywords (`AND`, `LIKE`, `IN`, ...): see [`Ident::is_keyword`].
    Ident(Ident),
    /// A `'single'` or `"double"` quoted literal, with doubled quotes (`'it''s'`) unescaped.
    Str(String),
    /// A numeric literal as written (`3`, `-1`, `0.5`, `1e-3`); the grammar decides its type.
    Number(String),
    /// A run of comparison characters, such as `=`, `!=`, `>=`, but also `==` or `~`.
    Operator(String),
    LParen,
    RParen,
    Comma,
}

/// An identifier split at its first dot: `tag.mlflow.runName` is prefix `tag`, key
/// `mlflow.runName`; ``tags.`a b` `` is prefix `tags`, key `a b`; `name` has no prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ident {
    pub prefix: Option<String>,
    pub key: String,
    /// The key was backtick- or double-quoted, so it is never a keyword.
    pub quoted: bool,
}

impl Ident {
    pub fn is_keyword(&self, keyword: &str) -> bool {
        self.prefix.is_none() && !self.quoted && self.key.eq_ignore_ascii_case(keyword)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    /// Byte range in the input, so errors can quote the token exactly as written.
    pub span: Range<usize>,
}

impl Token {
    pub fn is_keyword(&self, keyword: &str) -> bool {
        matches!(&self.kind, TokenKind::Ident(ident) if ident.is_keyword(keyword))
    }
}

const OPERATOR_CHARS: &str = "=!<>~^|&*%@?";

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Splits `input` into tokens. The error is a sentence fragment for the grammar to wrap.
pub(crate) fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let mut lexer = Lexer { input, pos: 0 };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next_token()? {
        tokens.push(token);
    }
    Ok(tokens)
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        self.input[self.pos..].chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat_while(&mut self, pred: impl Fn(char) -> bool) {
        while self.peek().is_some_and(&pred) {
            self.bump();
        }
    }

    fn next_token(&mut self) -> Result<Option<Token>, String> {
        self.eat_while(char::is_whitespace);
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        let kind = match c {
            '(' | ')' | ',' => {
                self.bump();
                match c {
                    '(' => TokenKind::LParen,
                    ')' => TokenKind::RParen,
                    _ => TokenKind::Comma,
                }
            }
            '\'' | '"' => TokenKind::Str(self.quoted(c)?),
            '`' => TokenKind::Ident(Ident {
                prefix: None,
                key: self.quoted_key()?,
                quoted: true,
            }),
            c if c.is_ascii_digit() || self.starts_signed_number(c) => self.number()?,
            c if is_word_char(c) => TokenKind::Ident(self.identifier()?),
            c if OPERATOR_CHARS.contains(c) => {
                self.eat_while(|c| OPERATOR_CHARS.contains(c));
                TokenKind::Operator(self.input[start..self.pos].to_owned())
            }
            c => {
                return Err(format!(
                    "unexpected character '{c}' at position {}",
                    self.input[..start].chars().count()
                ));
            }
        };
        Ok(Some(Token {
            kind,
            span: start..self.pos,
        }))
    }

    fn starts_signed_number(&self, c: char) -> bool {
        let digit_follows = self.peek_second().is_some_and(|d| d.is_ascii_digit());
        match c {
            '-' | '+' => {
                digit_follows || {
                    let mut rest = self.input[self.pos..].chars().skip(1);
                    rest.next() == Some('.') && rest.next().is_some_and(|d| d.is_ascii_digit())
                }
            }
            '.' => digit_follows,
            _ => false,
        }
    }

    /// `[+-]digits[.digits][e[+-]digits]`; letters glued to it make it malformed, not two tokens.
    fn number(&mut self) -> Result<TokenKind, String> {
        let start = self.pos;
        if matches!(self.peek(), Some('-' | '+')) {
            self.bump();
        }
        self.eat_while(|c| c.is_ascii_digit());
        if self.peek() == Some('.') {
            self.bump();
            self.eat_while(|c| c.is_ascii_digit());
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let mut after = self.input[self.pos..].chars().skip(1);
            let exponent = match after.next() {
                Some('-' | '+') => after.next().is_some_and(|d| d.is_ascii_digit()),
                Some(d) => d.is_ascii_digit(),
                None => false,
            };
            if exponent {
                self.bump();
                if matches!(self.peek(), Some('-' | '+')) {
                    self.bump();
                }
                self.eat_while(|c| c.is_ascii_digit());
            }
        }
        if self.peek().is_some_and(|c| is_word_char(c) || c == '.') {
            self.eat_while(|c| is_word_char(c) || c == '.');
            return Err(format!(
                "malformed number '{}'",
                &self.input[start..self.pos]
            ));
        }
        Ok(TokenKind::Number(self.input[start..self.pos].to_owned()))
    }

    /// A bare word, optionally dotted, optionally ending in a quoted key: `name`,
    /// `tag.mlflow.runName`, ``tag.`a.b` ``, `tag."a b"`.
    fn identifier(&mut self) -> Result<Ident, String> {
        let start = self.pos;
        self.eat_while(|c| is_word_char(c) || c == '.');
        let word = &self.input[start..self.pos];
        if let Some(prefix) = word.strip_suffix('.') {
            return match self.peek() {
                Some('`') | Some('"') if !prefix.contains('.') => Ok(Ident {
                    prefix: Some(prefix.to_owned()),
                    key: self.quoted_key()?,
                    quoted: true,
                }),
                _ => Err(format!(
                    "expected a key after '{word}', e.g. {word}key or {word}`key with dots`"
                )),
            };
        }
        Ok(match word.split_once('.') {
            Some((prefix, key)) => Ident {
                prefix: Some(prefix.to_owned()),
                key: key.to_owned(),
                quoted: false,
            },
            None => Ident {
                prefix: None,
                key: word.to_owned(),
                quoted: false,
            },
        })
    }

    fn quoted_key(&mut self) -> Result<String, String> {
        let start = self.pos;
        let quote = self.peek().expect("called on a quote");
        let key = self.quoted(quote)?;
        if key.is_empty() {
            return Err(format!(
                "empty quoted key {}; a key needs at least one character",
                &self.input[start..self.pos]
            ));
        }
        Ok(key)
    }

    /// The body of a literal opened by `quote`; a doubled quote stands for one quote character.
    fn quoted(&mut self, quote: char) -> Result<String, String> {
        let start = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(format!(
                        "unterminated quoted text starting at position {}: {}; close it with {quote}",
                        self.input[..start].chars().count(),
                        &self.input[start..]
                    ));
                }
                Some(c) if c == quote => {
                    if self.peek() == Some(quote) {
                        self.bump();
                        out.push(quote);
                    } else {
                        return Ok(out);
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<TokenKind> {
        tokenize(input)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    fn ident(prefix: Option<&str>, key: &str, quoted: bool) -> TokenKind {
        TokenKind::Ident(Ident {
            prefix: prefix.map(str::to_owned),
            key: key.to_owned(),
            quoted,
        })
    }

    fn op(s: &str) -> TokenKind {
        TokenKind::Operator(s.to_owned())
    }

    fn string(s: &str) -> TokenKind {
        TokenKind::Str(s.to_owned())
    }

    #[test]
    fn tokenizes_the_prompt_guard_filter() {
        assert_eq!(
            kinds("name LIKE 'ch%' AND tag.`mlflow.prompt.is_prompt` != 'true'"),
            vec![
                ident(None, "name", false),
                ident(None, "LIKE", false),
                string("ch%"),
                ident(None, "AND", false),
                ident(Some("tag"), "mlflow.prompt.is_prompt", true),
                op("!="),
                string("true"),
            ]
        );
    }

    #[test]
    fn identifiers_split_at_the_first_dot() {
        assert_eq!(
            kinds("tag.mlflow.runName"),
            [ident(Some("tag"), "mlflow.runName", false)]
        );
        assert_eq!(kinds(r#"tags."a b""#), [ident(Some("tags"), "a b", true)]);
        assert_eq!(kinds("`version`"), [ident(None, "version", true)]);
        assert_eq!(
            kinds("metrics.`a``b`"),
            [ident(Some("metrics"), "a`b", true)]
        );
        assert_eq!(kinds("modèle_1"), [ident(None, "modèle_1", false)]);
    }

    #[test]
    fn keywords_are_unquoted_unprefixed_identifiers() {
        let tokens = tokenize("and `and` tag.and").unwrap();
        assert!(tokens[0].is_keyword("AND"));
        assert!(!tokens[1].is_keyword("AND"));
        assert!(!tokens[2].is_keyword("AND"));
    }

    #[test]
    fn strings_take_either_quote_and_unescape_doubled_quotes() {
        assert_eq!(kinds("'it''s'"), [string("it's")]);
        assert_eq!(kinds(r#""say ""hi""""#), [string(r#"say "hi""#)]);
        assert_eq!(kinds(r#"'a "b"'"#), [string(r#"a "b""#)]);
        assert_eq!(kinds("''"), [string("")]);
        assert_eq!(kinds(r"'a\b'"), [string(r"a\b")]);
    }

    #[test]
    fn numbers_keep_their_text() {
        assert_eq!(
            kinds("3 -1 +2 0.5 .5 -.5 1e-3 2E5"),
            ["3", "-1", "+2", "0.5", ".5", "-.5", "1e-3", "2E5"]
                .map(|n| TokenKind::Number(n.into()))
        );
        assert_eq!(
            kinds("a>=-1"),
            [
                ident(None, "a", false),
                op(">="),
                TokenKind::Number("-1".into())
            ]
        );
    }

    #[test]
    fn operators_are_maximal_runs() {
        assert_eq!(
            kinds("= != <> <= >= == ~"),
            ["=", "!=", "<>", "<=", ">=", "==", "~"].map(op)
        );
        assert_eq!(
            kinds("name='a'"),
            [ident(None, "name", false), op("="), string("a")]
        );
    }

    #[test]
    fn lists_and_spans() {
        let tokens = tokenize("IN ('a','b')").unwrap();
        let kinds: Vec<_> = tokens.iter().map(|t| t.kind.clone()).collect();
        assert_eq!(
            kinds,
            [
                ident(None, "IN", false),
                TokenKind::LParen,
                string("a"),
                TokenKind::Comma,
                string("b"),
                TokenKind::RParen,
            ]
        );
        assert_eq!(tokens[2].span, 4..7);
    }

    #[test]
    fn lexical_errors_say_what_and_where() {
        let err = |input: &str| tokenize(input).unwrap_err();
        assert!(err("name = 'abc").starts_with("unterminated quoted text starting at position 7"));
        assert!(err("tag.`abc").contains("unterminated"));
        assert!(err("name = 3abc").contains("malformed number '3abc'"));
        assert!(err("name = 1.2.3").contains("malformed number '1.2.3'"));
        assert!(err("tag. = 'x'").contains("expected a key after 'tag.'"));
        assert!(err("tag.`` = 'x'").contains("empty quoted key"));
        assert_eq!(
            err("name = 'a';"),
            "unexpected character ';' at position 10"
        );
    }
}

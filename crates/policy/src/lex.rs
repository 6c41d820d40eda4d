//! The lexer: source text → tokens with byte spans. Single-quoted strings only (no escapes: a
//! string runs to the next `'`); a `-` is only the sign of an integer literal.

use crate::error::PolicyError;
use crate::int::{Int, IntError};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Int(Int),
    Str(String),
    AndAnd,
    OrOr,
    EqEq,
    NotEq,
    Lt,
    Gt,
    Le,
    Ge,
    Bang,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    DotDot,
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Int(i) => format!("`{i}`"),
            Tok::Str(s) => format!("'{s}'"),
            Tok::AndAnd => "`&&`".into(),
            Tok::OrOr => "`||`".into(),
            Tok::EqEq => "`==`".into(),
            Tok::NotEq => "`!=`".into(),
            Tok::Lt => "`<`".into(),
            Tok::Gt => "`>`".into(),
            Tok::Le => "`<=`".into(),
            Tok::Ge => "`>=`".into(),
            Tok::Bang => "`!`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Dot => "`.`".into(),
            Tok::DotDot => "`..`".into(),
            Tok::Eof => "the end of the expression".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: u32,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Tokenize `src` (whose length the caller has already bounded). The last token is `Eof`.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, PolicyError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0usize;
    let err = |at: usize, msg: String| PolicyError::at(src, at, msg);
    while i < b.len() {
        let c = b[i];
        let start = i;
        let two = |next: u8| b.get(i + 1) == Some(&next);
        let tok = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'\'' => {
                let rest = &src[i + 1..];
                let Some(len) = rest.find('\'') else {
                    return Err(err(i, "unterminated string: missing closing `'`".into()));
                };
                i += len + 2;
                Tok::Str(rest[..len].to_string())
            }
            b'"' => {
                return Err(err(
                    i,
                    "double-quoted strings are not supported: write strings in single quotes, \
                     e.g. 'abc'"
                        .into(),
                ))
            }
            b'0'..=b'9' | b'-' => {
                let negative = c == b'-';
                let digits_start = if negative { i + 1 } else { i };
                let mut j = digits_start;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j == digits_start {
                    return Err(err(
                        i,
                        "unexpected `-`: the language has no arithmetic (a `-` may only start \
                         a negative integer literal)"
                            .into(),
                    ));
                }
                if j < b.len() && is_ident_start(b[j]) {
                    return Err(err(j, "a number must not run into a name".into()));
                }
                let v =
                    Int::from_decimal_digits(&src[digits_start..j], negative).map_err(
                        |e| match e {
                            IntError::OutOfRange => err(
                                i,
                                "integer literal out of range (from -2^127 to 2^256 - 1)".into(),
                            ),
                            IntError::Invalid => err(i, "invalid integer literal".into()),
                        },
                    )?;
                i = j;
                Tok::Int(v)
            }
            c if is_ident_start(c) => {
                let mut j = i + 1;
                while j < b.len() && is_ident_char(b[j]) {
                    j += 1;
                }
                let name = src[i..j].to_string();
                i = j;
                Tok::Ident(name)
            }
            b'&' if two(b'&') => {
                i += 2;
                Tok::AndAnd
            }
            b'&' => return Err(err(i, "unexpected `&`: the logical and is `&&`".into())),
            b'|' if two(b'|') => {
                i += 2;
                Tok::OrOr
            }
            b'|' => return Err(err(i, "unexpected `|`: the logical or is `||`".into())),
            b'=' if two(b'=') => {
                i += 2;
                Tok::EqEq
            }
            b'=' => return Err(err(i, "unexpected `=`: equality is `==`".into())),
            b'!' if two(b'=') => {
                i += 2;
                Tok::NotEq
            }
            b'!' => {
                i += 1;
                Tok::Bang
            }
            b'<' if two(b'=') => {
                i += 2;
                Tok::Le
            }
            b'<' => {
                i += 1;
                Tok::Lt
            }
            b'>' if two(b'=') => {
                i += 2;
                Tok::Ge
            }
            b'>' => {
                i += 1;
                Tok::Gt
            }
            b'.' if two(b'.') => {
                i += 2;
                Tok::DotDot
            }
            b'.' => {
                i += 1;
                Tok::Dot
            }
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b'[' => {
                i += 1;
                Tok::LBracket
            }
            b']' => {
                i += 1;
                Tok::RBracket
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(err(i, format!("unexpected character `{ch}`")));
            }
        };
        out.push(Token {
            tok,
            start: start as u32,
        });
    }
    out.push(Token {
        tok: Tok::Eof,
        start: b.len() as u32,
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn tokens() {
        assert_eq!(
            toks("a.b[0..2] != 'x y' && -5 <= 7"),
            vec![
                Tok::Ident("a".into()),
                Tok::Dot,
                Tok::Ident("b".into()),
                Tok::LBracket,
                Tok::Int(Int::ZERO),
                Tok::DotDot,
                Tok::Int(Int::from(2u64)),
                Tok::RBracket,
                Tok::NotEq,
                Tok::Str("x y".into()),
                Tok::AndAnd,
                Tok::Int(Int::from(-5i64)),
                Tok::Le,
                Tok::Int(Int::from(7u64)),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn errors_carry_positions() {
        let e = lex("a == \"x\"").unwrap_err();
        assert!(e.message.contains("single quotes"), "{e}");
        assert_eq!((e.offset, e.line, e.col), (5, 1, 6));
        assert!(lex("'abc").unwrap_err().message.contains("unterminated"));
        assert!(lex("a = b").unwrap_err().message.contains("=="));
        assert!(lex("a - b").unwrap_err().message.contains("arithmetic"));
        assert!(lex("a # b").unwrap_err().message.contains('#'));
        assert!(lex("12ab").is_err());
    }
}

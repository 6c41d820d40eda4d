//! Errors: [`PolicyError`] when a policy is written (syntax, unknown keyword or field, type,
//! limits), [`EvalError`] when one is evaluated against a request.

use std::fmt;
use std::sync::Arc;

/// Where in the source an error is: byte offset, and 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub offset: usize,
    pub line: usize,
    pub col: usize,
}

impl Position {
    /// The position of byte `offset` in `src` (clamped to the source, floored to a character).
    pub fn locate(src: &str, offset: usize) -> Position {
        let mut offset = offset.min(src.len());
        while !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &src[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = src[line_start..offset].chars().count() + 1;
        Position { offset, line, col }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.col)
    }
}

/// A policy expression that cannot be accepted: a syntax error, an unknown keyword or field, a
/// type error, or a limit exceeded. Always carries the position it refers to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at {line}:{col})")]
pub struct PolicyError {
    pub message: String,
    /// Byte offset into the source.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub col: usize,
}

impl PolicyError {
    pub(crate) fn at(src: &str, offset: usize, message: impl Into<String>) -> PolicyError {
        let p = Position::locate(src, offset);
        PolicyError {
            message: message.into(),
            offset: p.offset,
            line: p.line,
            col: p.col,
        }
    }
}

/// What went wrong while evaluating; see [`EvalError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalErrorKind {
    /// A field the request does not have (Turnkey's `MissingField`): e.g. `wallet.id` on a
    /// private-key request, `eth.tx` on a Solana one, or an `activity.params` field the activity
    /// does not expose.
    MissingField,
    /// An index or slice outside the list or string.
    OutOfRange,
    /// A value of the wrong kind where the checker could not know it (free-form maps).
    Type,
    /// The evaluation took more steps than [`crate::Limits::max_steps`].
    StepLimit,
}

/// An expression that could not be evaluated against this request. A policy whose condition or
/// consensus errors has the outcome *error*: it neither allows nor denies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {offset})")]
pub struct EvalError {
    pub kind: EvalErrorKind,
    /// Shared: the same missing keyword errs identically in every policy that reads it.
    pub message: Arc<str>,
    /// Byte offset into the expression's source of the sub-expression that failed.
    pub offset: usize,
}

impl EvalError {
    pub(crate) fn new(kind: EvalErrorKind, offset: u32, message: impl Into<Arc<str>>) -> EvalError {
        EvalError {
            kind,
            message: message.into(),
            offset: offset as usize,
        }
    }

    /// Line and column of the error in `src`, the expression's source.
    pub fn position(&self, src: &str) -> Position {
        Position::locate(src, self.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let src = "a &&\n  é == b";
        assert_eq!(
            Position::locate(src, 0),
            Position {
                offset: 0,
                line: 1,
                col: 1
            }
        );
        let p = Position::locate(src, src.find('=').unwrap());
        assert_eq!((p.line, p.col), (2, 5));
        // Inside a multi-byte character: floored to its start.
        let e = src.find('é').unwrap();
        assert_eq!(Position::locate(src, e + 1).offset, e);
        assert_eq!(Position::locate(src, 999).offset, src.len());
    }
}

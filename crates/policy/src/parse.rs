//! The parser: tokens → syntax tree, by recursive descent, bounded by [`Limits`] (nesting depth
//! and node count are checked as the tree is built, so neither the parser nor anything that
//! walks the tree later can recurse without bound).
//!
//! ```text
//! expr    := and ('||' and)*                     n-ary: a chain is one node
//! and     := cmp ('&&' cmp)*
//! cmp     := unary [('==' | '!=' | '<' | '>' | '<=' | '>=' | 'in') unary]   not chainable
//! unary   := '!' unary | postfix
//! postfix := primary ('.' name ['(' args ')'] | '[' expr ['..' expr] ']')*
//! primary := int | 'string' | true | false | '[' [expr (',' expr)*] ']' | '(' expr ')'
//!          | name | Timestamp '(' args ')' | CronSpan '(' args ')'
//! ```

use crate::error::PolicyError;
use crate::int::Int;
use crate::lex::{Tok, Token};
use crate::Limits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    In,
}

impl CmpOp {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Gt => ">",
            CmpOp::Le => "<=",
            CmpOp::Ge => ">=",
            CmpOp::In => "in",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Ast {
    pub kind: AstKind,
    /// Byte offset the node's errors point at: its operator, or for a field or method its name.
    pub at: u32,
    /// Byte offset of the node's first character.
    pub start: u32,
    depth: u32,
}

#[derive(Debug)]
pub(crate) enum AstKind {
    Int(Int),
    Str(String),
    Bool(bool),
    List(Vec<Ast>),
    Ident(String),
    Field(Box<Ast>, String),
    Method(Box<Ast>, String, Vec<Ast>),
    Index(Box<Ast>, Box<Ast>),
    Slice(Box<Ast>, Box<Ast>, Box<Ast>),
    Call(String, Vec<Ast>),
    Not(Box<Ast>),
    And(Vec<Ast>),
    Or(Vec<Ast>),
    Cmp(CmpOp, Box<Ast>, Box<Ast>),
}

/// Words that cannot name a variable.
pub(crate) const RESERVED: &[&str] = &["true", "false", "in", "Timestamp", "CronSpan"];

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    pos: usize,
    limits: &'s Limits,
    nodes: usize,
    level: usize,
}

/// Parse `src` into a tree. Never panics; every failure is a positioned [`PolicyError`].
pub(crate) fn parse(src: &str, limits: &Limits) -> Result<Ast, PolicyError> {
    if src.len() > limits.max_src_len {
        return Err(PolicyError::at(
            src,
            limits.max_src_len,
            format!(
                "policy expression too long: {} bytes (limit {})",
                src.len(),
                limits.max_src_len
            ),
        ));
    }
    let toks = crate::lex::lex(src)?;
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        limits,
        nodes: 0,
        level: 0,
    };
    if p.peek() == &Tok::Eof {
        return Err(p.err_here("empty expression"));
    }
    let ast = p.expr()?;
    if p.peek() != &Tok::Eof {
        let t = p.peek().describe();
        return Err(p.err_here(format!(
            "unexpected {t}: expected `&&`, `||` or the end of the expression"
        )));
    }
    Ok(ast)
}

impl<'s> Parser<'s> {
    fn peek(&self) -> &Tok {
        self.toks.get(self.pos).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn here(&self) -> u32 {
        self.toks
            .get(self.pos)
            .map_or(self.src.len() as u32, |t| t.start)
    }

    fn bump(&mut self) -> Token {
        let t = self.toks.get(self.pos).cloned().unwrap_or(Token {
            tok: Tok::Eof,
            start: self.src.len() as u32,
        });
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn err_at(&self, at: u32, msg: impl Into<String>) -> PolicyError {
        PolicyError::at(self.src, at as usize, msg)
    }

    fn err_here(&self, msg: impl Into<String>) -> PolicyError {
        self.err_at(self.here(), msg)
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<Token, PolicyError> {
        if self.peek() == &tok {
            Ok(self.bump())
        } else {
            let found = self.peek().describe();
            Err(self.err_here(format!("expected {what}, found {found}")))
        }
    }

    /// Make a node, enforcing the node-count and depth limits.
    fn node(&mut self, kind: AstKind, at: u32) -> Result<Ast, PolicyError> {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(self.err_at(
                at,
                format!(
                    "policy expression too large (more than {} nodes)",
                    self.limits.max_nodes
                ),
            ));
        }
        let child = |a: &Ast| a.depth;
        let max_child = match &kind {
            AstKind::Int(_) | AstKind::Str(_) | AstKind::Bool(_) | AstKind::Ident(_) => 0,
            AstKind::List(items)
            | AstKind::Call(_, items)
            | AstKind::And(items)
            | AstKind::Or(items) => items.iter().map(child).max().unwrap_or(0),
            AstKind::Field(a, _) | AstKind::Not(a) => a.depth,
            AstKind::Method(a, _, args) => args.iter().map(child).max().unwrap_or(0).max(a.depth),
            AstKind::Index(a, b) | AstKind::Cmp(_, a, b) => a.depth.max(b.depth),
            AstKind::Slice(a, b, c) => a.depth.max(b.depth).max(c.depth),
        };
        let start = match &kind {
            AstKind::Field(a, _)
            | AstKind::Method(a, _, _)
            | AstKind::Index(a, _)
            | AstKind::Slice(a, _, _)
            | AstKind::Cmp(_, a, _) => a.start,
            AstKind::And(items) | AstKind::Or(items) => items.first().map_or(at, |a| a.start),
            _ => at,
        };
        let depth = max_child + 1;
        if depth as usize > self.limits.max_depth {
            return Err(self.err_at(
                at,
                format!(
                    "policy expression nested too deeply (limit {})",
                    self.limits.max_depth
                ),
            ));
        }
        Ok(Ast {
            kind,
            at,
            start,
            depth,
        })
    }

    /// Guard recursion of the parser itself.
    fn enter(&mut self) -> Result<(), PolicyError> {
        self.level += 1;
        if self.level > self.limits.max_depth {
            return Err(self.err_here(format!(
                "policy expression nested too deeply (limit {})",
                self.limits.max_depth
            )));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Ast, PolicyError> {
        self.enter()?;
        let r = self.or();
        self.level -= 1;
        r
    }

    fn or(&mut self) -> Result<Ast, PolicyError> {
        let first = self.and()?;
        if self.peek() != &Tok::OrOr {
            return Ok(first);
        }
        let at = first.at;
        let mut items = vec![first];
        while self.peek() == &Tok::OrOr {
            self.bump();
            items.push(self.and()?);
        }
        self.node(AstKind::Or(items), at)
    }

    fn and(&mut self) -> Result<Ast, PolicyError> {
        let first = self.cmp()?;
        if self.peek() != &Tok::AndAnd {
            return Ok(first);
        }
        let at = first.at;
        let mut items = vec![first];
        while self.peek() == &Tok::AndAnd {
            self.bump();
            items.push(self.cmp()?);
        }
        self.node(AstKind::And(items), at)
    }

    fn cmp_op(&self) -> Option<CmpOp> {
        Some(match self.peek() {
            Tok::EqEq => CmpOp::Eq,
            Tok::NotEq => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Gt => CmpOp::Gt,
            Tok::Le => CmpOp::Le,
            Tok::Ge => CmpOp::Ge,
            Tok::Ident(s) if s == "in" => CmpOp::In,
            _ => return None,
        })
    }

    fn cmp(&mut self) -> Result<Ast, PolicyError> {
        let lhs = self.unary()?;
        let Some(op) = self.cmp_op() else {
            return Ok(lhs);
        };
        let op_at = self.here();
        self.bump();
        let rhs = self.unary()?;
        if let Some(next) = self.cmp_op() {
            return Err(self.err_here(format!(
                "comparisons do not chain: add parentheses around `{}` or `{}`",
                op.symbol(),
                next.symbol()
            )));
        }
        self.node(AstKind::Cmp(op, Box::new(lhs), Box::new(rhs)), op_at)
    }

    fn unary(&mut self) -> Result<Ast, PolicyError> {
        if self.peek() == &Tok::Bang {
            let at = self.bump().start;
            self.enter()?;
            let inner = self.unary();
            self.level -= 1;
            let inner = inner?;
            return self.node(AstKind::Not(Box::new(inner)), at);
        }
        self.postfix()
    }

    fn name(&mut self, after: &str) -> Result<(String, u32), PolicyError> {
        match self.peek().clone() {
            Tok::Ident(s) => {
                let at = self.bump().start;
                Ok((s, at))
            }
            other => Err(self.err_here(format!(
                "expected a name after {after}, found {}",
                other.describe()
            ))),
        }
    }

    fn args(&mut self) -> Result<Vec<Ast>, PolicyError> {
        self.expect(Tok::LParen, "`(`")?;
        let mut args = Vec::new();
        if self.peek() == &Tok::RParen {
            self.bump();
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            match self.peek() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RParen => {
                    self.bump();
                    return Ok(args);
                }
                other => {
                    let found = other.describe();
                    return Err(self.err_here(format!("expected `,` or `)`, found {found}")));
                }
            }
        }
    }

    fn postfix(&mut self) -> Result<Ast, PolicyError> {
        let mut e = self.primary()?;
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.bump();
                    let (name, at) = self.name("`.`")?;
                    if self.peek() == &Tok::LParen {
                        let args = self.args()?;
                        e = self.node(AstKind::Method(Box::new(e), name, args), at)?;
                    } else {
                        e = self.node(AstKind::Field(Box::new(e), name), at)?;
                    }
                }
                Tok::LBracket => {
                    let at = self.bump().start;
                    let first = self.expr()?;
                    if self.peek() == &Tok::DotDot {
                        self.bump();
                        let end = self.expr()?;
                        self.expect(Tok::RBracket, "`]`")?;
                        e = self.node(
                            AstKind::Slice(Box::new(e), Box::new(first), Box::new(end)),
                            at,
                        )?;
                    } else {
                        self.expect(Tok::RBracket, "`]` or `..`")?;
                        e = self.node(AstKind::Index(Box::new(e), Box::new(first)), at)?;
                    }
                }
                _ => return Ok(e),
            }
        }
    }

    fn primary(&mut self) -> Result<Ast, PolicyError> {
        let at = self.here();
        match self.peek().clone() {
            Tok::Int(v) => {
                self.bump();
                self.node(AstKind::Int(v), at)
            }
            Tok::Str(s) => {
                self.bump();
                self.node(AstKind::Str(s), at)
            }
            Tok::Ident(s) if s == "true" || s == "false" => {
                self.bump();
                self.node(AstKind::Bool(s == "true"), at)
            }
            Tok::Ident(s) if s == "in" => Err(self.err_here("expected a value, found `in`")),
            Tok::Ident(s) => {
                self.bump();
                if self.peek() == &Tok::LParen {
                    if s != "Timestamp" && s != "CronSpan" {
                        return Err(self.err_at(
                            at,
                            format!(
                                "unknown function `{s}`: the functions are `Timestamp` and \
                                 `CronSpan`; list functions are called as methods, e.g. \
                                 `x.count()`"
                            ),
                        ));
                    }
                    let args = self.args()?;
                    return self.node(AstKind::Call(s, args), at);
                }
                self.node(AstKind::Ident(s), at)
            }
            Tok::LParen => {
                self.bump();
                let inner = self.expr()?;
                self.expect(Tok::RParen, "`)`")?;
                Ok(inner)
            }
            Tok::LBracket => {
                self.bump();
                let mut items = Vec::new();
                if self.peek() == &Tok::RBracket {
                    self.bump();
                } else {
                    loop {
                        items.push(self.expr()?);
                        match self.peek() {
                            Tok::Comma => {
                                self.bump();
                            }
                            Tok::RBracket => {
                                self.bump();
                                break;
                            }
                            other => {
                                let found = other.describe();
                                return Err(
                                    self.err_here(format!("expected `,` or `]`, found {found}"))
                                );
                            }
                        }
                    }
                }
                self.node(AstKind::List(items), at)
            }
            Tok::Eof => Err(self.err_here("unexpected end of the expression: expected a value")),
            other => {
                let found = other.describe();
                Err(self.err_here(format!("expected a value, found {found}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(src: &str) -> Result<Ast, PolicyError> {
        parse(src, &Limits::default())
    }

    #[test]
    fn chains_are_flat() {
        let src = (0..500).map(|i| format!("x == {i}")).collect::<Vec<_>>();
        let ast = p(&src.join(" || ")).unwrap();
        assert!(matches!(&ast.kind, AstKind::Or(items) if items.len() == 500));
        assert_eq!(ast.depth, 3);
    }

    #[test]
    fn depth_is_bounded_without_recursing_unboundedly() {
        let deep = format!("{}true{}", "(".repeat(100_000), ")".repeat(100_000));
        let e = parse(
            &deep,
            &Limits {
                max_src_len: 1 << 20,
                ..Limits::default()
            },
        )
        .unwrap_err();
        assert!(e.message.contains("nested too deeply"), "{e}");
        let bangs = format!("{}true", "!".repeat(100_000));
        assert!(parse(
            &bangs,
            &Limits {
                max_src_len: 1 << 20,
                ..Limits::default()
            }
        )
        .is_err());
        let postfix = format!("x{}", "[0]".repeat(1000));
        assert!(p(&postfix)
            .unwrap_err()
            .message
            .contains("nested too deeply"));
    }

    #[test]
    fn syntax_errors() {
        for (src, needle) in [
            ("", "empty"),
            ("a ==", "end of the expression"),
            ("a == b c", "unexpected `c`"),
            ("1 < 2 < 3", "do not chain"),
            ("(a", "`)`"),
            ("[1, 2", "`,` or `]`"),
            ("a.", "expected a name"),
            ("foo(1)", "unknown function"),
            ("x[1", "`]`"),
            ("in", "found `in`"),
        ] {
            let e = p(src).unwrap_err();
            assert!(e.message.contains(needle), "{src:?}: {e}");
        }
    }
}

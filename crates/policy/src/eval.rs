//! The evaluator: walks a compiled [`Expr`] over the input documents, bounded by
//! [`Limits::max_steps`]. Keyword paths are resolved through a per-request [`Resolver`] cache;
//! values read from the input are borrowed, never copied, unless an operation builds a new one
//! (`filter`, slices, list literals with computed items).
//!
//! No short-circuit: both sides of `&&` / `||` and a quantifier's predicate on every element are
//! evaluated, and an error anywhere makes the whole expression an error (Turnkey's documented
//! semantics: tkhq/docs `features/policies/language.mdx`, "Policy evaluation").

use std::cmp::Ordering;
use std::sync::Arc;

use crate::error::{EvalError, EvalErrorKind};
use crate::expr::{Doc, Expr, Node, NodeId, Operand, PathSpec, Quant};
use crate::int::Int;
use crate::parse::CmpOp;
use crate::value::{Map, Value};
use crate::Limits;

/// Deepest nesting of input values that `==` will walk.
const MAX_VALUE_DEPTH: usize = 128;

/// A value during evaluation: borrowed from the input or the expression, or built.
#[derive(Debug)]
pub(crate) enum Val<'a> {
    Ref(&'a Value),
    Own(Value),
}

impl Val<'_> {
    fn get(&self) -> &Value {
        match self {
            Val::Ref(v) => v,
            Val::Own(v) => v,
        }
    }

    pub(crate) fn into_owned(self) -> Value {
        match self {
            Val::Ref(v) => v.clone(),
            Val::Own(v) => v,
        }
    }
}

/// Why a path did not resolve: the error's kind and message, made once per request.
#[derive(Debug, Clone)]
struct PathFail {
    kind: EvalErrorKind,
    message: Arc<str>,
}

/// Resolves keyword paths against the request's documents, each at most once.
pub(crate) struct Resolver<'a> {
    specs: &'a [PathSpec],
    condition: &'a Value,
    consensus: &'a Value,
    cache: Vec<Option<Result<&'a Value, PathFail>>>,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(specs: &'a [PathSpec], condition: &'a Value, consensus: &'a Value) -> Self {
        Resolver {
            specs,
            condition,
            consensus,
            cache: vec![None; specs.len()],
        }
    }

    fn resolve(&self, spec: &PathSpec) -> Result<&'a Value, PathFail> {
        let mut cur = match spec.doc {
            Doc::Condition => self.condition,
            Doc::Consensus => self.consensus,
        };
        if spec.segs.is_empty() {
            return Ok(cur);
        }
        let prefix = |n: usize| spec.segs[..n.min(spec.segs.len())].join(".");
        for (i, seg) in spec.segs.iter().enumerate() {
            cur = match cur {
                Value::Map(m) => match lookup(m, seg) {
                    Some(Value::Null) | None => {
                        let message = if i == 0 {
                            format!("missing field `{seg}`: this request has none")
                        } else {
                            format!("missing field `{seg}` in `{}`", prefix(i))
                        };
                        return Err(PathFail {
                            kind: EvalErrorKind::MissingField,
                            message: message.into(),
                        });
                    }
                    Some(v) => v,
                },
                other => {
                    return Err(PathFail {
                        kind: EvalErrorKind::Type,
                        message: format!(
                            "`{}` is a {}, which has no fields",
                            prefix(i),
                            other.kind()
                        )
                        .into(),
                    })
                }
            };
        }
        Ok(cur)
    }

    fn get(&mut self, id: usize, at: u32) -> Result<&'a Value, EvalError> {
        if let Some(None) = self.cache.get(id) {
            let Some(spec) = self.specs.get(id) else {
                return Err(internal(at));
            };
            let r = self.resolve(spec);
            if let Some(slot) = self.cache.get_mut(id) {
                *slot = Some(r);
            }
        }
        match self.cache.get(id) {
            Some(Some(Ok(v))) => Ok(v),
            Some(Some(Err(fail))) => Err(EvalError {
                kind: fail.kind,
                message: fail.message.clone(),
                offset: at as usize,
            }),
            _ => Err(internal(at)),
        }
    }
}

/// Equality of two scalars of the same kind; `None` otherwise (the generic path decides).
#[inline]
fn scalar_eq(a: &Value, b: &Value) -> Option<bool> {
    Some(match (a, b) {
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Timestamp(x), Value::Timestamp(y)) => x == y,
        _ => return None,
    })
}

/// A map's field.
#[inline]
fn lookup<'v>(m: &'v Map, name: &str) -> Option<&'v Value> {
    m.get(name)
}

fn internal(at: u32) -> EvalError {
    EvalError::new(
        EvalErrorKind::Type,
        at,
        "internal error: malformed compiled expression",
    )
}

fn type_err(at: u32, msg: impl Into<Arc<str>>) -> EvalError {
    EvalError::new(EvalErrorKind::Type, at, msg)
}

/// One evaluation of one expression.
pub(crate) struct Machine<'a, 'r> {
    expr: &'a Expr,
    /// Local path index → resolver index (`None`: the same).
    map: Option<&'a [u32]>,
    res: &'r mut Resolver<'a>,
    vars: &'r mut Vec<Val<'a>>,
    steps: usize,
    max_steps: usize,
}

impl<'a, 'r> Machine<'a, 'r> {
    pub(crate) fn new(
        expr: &'a Expr,
        map: Option<&'a [u32]>,
        res: &'r mut Resolver<'a>,
        vars: &'r mut Vec<Val<'a>>,
        limits: &Limits,
    ) -> Self {
        vars.clear();
        Machine {
            expr,
            map,
            res,
            vars,
            steps: 0,
            max_steps: limits.max_steps,
        }
    }

    /// Evaluate the whole expression.
    pub(crate) fn run(&mut self) -> Result<Val<'a>, EvalError> {
        self.eval(self.expr.root)
    }

    /// Evaluate the whole expression, which must be a bool.
    pub(crate) fn run_bool(&mut self) -> Result<bool, EvalError> {
        self.bool(self.expr.root)
    }

    #[inline(always)]
    fn charge(&mut self, n: usize, at: u32) -> Result<(), EvalError> {
        self.steps = self.steps.saturating_add(n);
        if self.steps > self.max_steps {
            return Err(self.step_limit(at));
        }
        Ok(())
    }

    #[cold]
    fn step_limit(&self, at: u32) -> EvalError {
        EvalError::new(
            EvalErrorKind::StepLimit,
            at,
            format!(
                "evaluation exceeded the step limit ({}): the request's lists are too large \
                 for this policy",
                self.max_steps
            ),
        )
    }

    /// The fast path of [`Node::CmpLit`]: `None` when it does not apply (the operand does not
    /// resolve, or a value is not a scalar), and the generic path decides, errors included.
    #[inline]
    fn cmp_lit(
        &mut self,
        op: CmpOp,
        operand: &'a Operand,
        lit: NodeId,
        lit_right: bool,
        at: u32,
    ) -> Option<bool> {
        let Some(Node::Lit(lit)) = self.expr.nodes.get(lit as usize) else {
            return None;
        };
        let value: &Value = match operand {
            Operand::Path(p) => self.path(*p, at).ok()?,
            Operand::Var(slot) => self.vars.get(*slot as usize)?.get(),
            Operand::VarField(slot, name) => match self.vars.get(*slot as usize)?.get() {
                Value::Map(m) => match lookup(m, name)? {
                    Value::Null => return None,
                    v => v,
                },
                _ => return None,
            },
        };
        let (a, b) = if lit_right {
            (value, lit)
        } else {
            (lit, value)
        };
        match op {
            CmpOp::Eq => scalar_eq(a, b),
            CmpOp::Ne => scalar_eq(a, b).map(|e| !e),
            CmpOp::Lt | CmpOp::Gt | CmpOp::Le | CmpOp::Ge => {
                let ord = match (a, b) {
                    (Value::Int(x), Value::Int(y)) => x.cmp(y),
                    (Value::Timestamp(x), Value::Timestamp(y)) => x.cmp(y),
                    _ => return None,
                };
                Some(match op {
                    CmpOp::Lt => ord == Ordering::Less,
                    CmpOp::Gt => ord == Ordering::Greater,
                    CmpOp::Le => ord != Ordering::Greater,
                    _ => ord != Ordering::Less,
                })
            }
            CmpOp::In => {
                let Value::List(items) = b else { return None };
                let mut found = false;
                for item in items {
                    found |= scalar_eq(a, item)?;
                }
                Some(found)
            }
        }
    }

    /// Count a step and fetch a node.
    #[inline(always)]
    fn fetch(&mut self, id: NodeId) -> Result<(&'a Node, u32), EvalError> {
        let expr: &'a Expr = self.expr;
        let at = self.at(id);
        self.charge(1, at)?;
        match expr.nodes.get(id as usize) {
            Some(node) => Ok((node, at)),
            None => Err(internal(at)),
        }
    }

    /// Evaluate a node that must be a bool. Bool-valued nodes are evaluated here directly,
    /// without building a value.
    fn bool(&mut self, id: NodeId) -> Result<bool, EvalError> {
        let (node, at) = self.fetch(id)?;
        self.bool_of(node, at)
    }

    fn bool_of(&mut self, node: &'a Node, at: u32) -> Result<bool, EvalError> {
        match node {
            Node::Lit(Value::Bool(b)) => Ok(*b),
            Node::Not(inner) => Ok(!self.bool(*inner)?),
            Node::And(items) => {
                let mut all = true;
                for i in items.iter() {
                    all &= self.bool(*i)?;
                }
                Ok(all)
            }
            Node::Or(items) => {
                let mut any = false;
                for i in items.iter() {
                    any |= self.bool(*i)?;
                }
                Ok(any)
            }
            Node::Cmp { op, lhs, rhs } => self.cmp(*op, *lhs, *rhs, at),
            Node::Contains { list, item } => {
                let l = self.eval(*list)?;
                let i = self.eval(*item)?;
                self.contains(l.get(), i.get(), at, "contains")
            }
            Node::CmpLit {
                op,
                lhs,
                rhs,
                operand,
                lit_right,
            } => {
                let lit = if *lit_right { *rhs } else { *lhs };
                match self.cmp_lit(*op, operand, lit, *lit_right, at) {
                    Some(b) => Ok(b),
                    None => self.cmp(*op, *lhs, *rhs, at),
                }
            }
            other => {
                let v = self.eval_of(other, at)?;
                match v.get() {
                    Value::Bool(b) => Ok(*b),
                    other => Err(type_err(
                        at,
                        format!("expected a bool, found a {}", other.kind()),
                    )),
                }
            }
        }
    }

    fn at(&self, id: NodeId) -> u32 {
        self.expr.at.get(id as usize).copied().unwrap_or(0)
    }

    /// Evaluate a node. Leaves (literals, keyword paths, variables) are handled inline; the
    /// rest in [`Self::eval_of`].
    #[inline]
    fn eval(&mut self, id: NodeId) -> Result<Val<'a>, EvalError> {
        let (node, at) = self.fetch(id)?;
        match node {
            Node::Lit(v) => Ok(Val::Ref(v)),
            Node::Path(local) => self.path(*local, at).map(Val::Ref),
            Node::Var(slot) => self.var(*slot, at),
            _ => self.eval_of(node, at),
        }
    }

    #[inline]
    fn path(&mut self, local: u32, at: u32) -> Result<&'a Value, EvalError> {
        let global = match self.map {
            Some(m) => match m.get(local as usize) {
                Some(g) => *g,
                None => return Err(internal(at)),
            },
            None => local,
        };
        self.res.get(global as usize, at)
    }

    #[inline]
    fn var(&mut self, slot: u32, at: u32) -> Result<Val<'a>, EvalError> {
        match self.vars.get(slot as usize) {
            Some(Val::Ref(v)) => Ok(Val::Ref(v)),
            Some(Val::Own(v)) => Ok(Val::Own(v.clone())),
            None => Err(internal(at)),
        }
    }

    fn eval_of(&mut self, node: &'a Node, at: u32) -> Result<Val<'a>, EvalError> {
        match node {
            Node::Lit(v) => Ok(Val::Ref(v)),
            Node::Not(_)
            | Node::And(_)
            | Node::Or(_)
            | Node::Cmp { .. }
            | Node::CmpLit { .. }
            | Node::Contains { .. } => Ok(Val::Own(Value::Bool(self.bool_of(node, at)?))),
            Node::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items.iter() {
                    out.push(self.eval(*i)?.into_owned());
                }
                Ok(Val::Own(Value::List(out)))
            }
            Node::Path(local) => self.path(*local, at).map(Val::Ref),
            Node::Var(slot) => self.var(*slot, at),
            Node::Field {
                obj,
                name,
                count_alias,
            } => {
                let o = self.eval(*obj)?;
                field(o, name, *count_alias, at)
            }
            Node::Index { obj, idx } => {
                let o = self.eval(*obj)?;
                let i = self.eval(*idx)?;
                index(o, i.get(), at)
            }
            Node::Slice { obj, start, end } => {
                let o = self.eval(*obj)?;
                let s = self.eval(*start)?;
                let e = self.eval(*end)?;
                let (s, e) = match (s.get(), e.get()) {
                    (Value::Int(s), Value::Int(e)) => (*s, *e),
                    (a, b) => {
                        return Err(type_err(
                            at,
                            format!(
                                "slice bounds must be ints, not {} and {}",
                                a.kind(),
                                b.kind()
                            ),
                        ))
                    }
                };
                self.slice(o, s, e, at)
            }
            Node::Quant {
                kind,
                list,
                slot,
                body,
            } => {
                let l = self.eval(*list)?;
                self.quant(*kind, l, *slot, *body, at)
            }
            Node::Count(list) => {
                let l = self.eval(*list)?;
                match l.get() {
                    Value::List(items) => Ok(Val::Own(Value::Int(Int::from(items.len())))),
                    other => Err(type_err(
                        at,
                        format!("`.count()` needs a list, found a {}", other.kind()),
                    )),
                }
            }
        }
    }

    /// A comparison, generically: both sides evaluated, then compared.
    fn cmp(&mut self, op: CmpOp, lhs: NodeId, rhs: NodeId, at: u32) -> Result<bool, EvalError> {
        let l = self.eval(lhs)?;
        let r = self.eval(rhs)?;
        match op {
            CmpOp::Eq | CmpOp::Ne => {
                let same = self.eq(l.get(), r.get(), at, 0)?;
                Ok(same == (op == CmpOp::Eq))
            }
            CmpOp::In => self.contains(r.get(), l.get(), at, "in"),
            CmpOp::Lt | CmpOp::Gt | CmpOp::Le | CmpOp::Ge => {
                let ord = order(l.get(), r.get(), op, at)?;
                Ok(match op {
                    CmpOp::Lt => ord == Ordering::Less,
                    CmpOp::Gt => ord == Ordering::Greater,
                    CmpOp::Le => ord != Ordering::Greater,
                    _ => ord != Ordering::Less,
                })
            }
        }
    }

    fn quant(
        &mut self,
        kind: Quant,
        list: Val<'a>,
        slot: u32,
        body: NodeId,
        at: u32,
    ) -> Result<Val<'a>, EvalError> {
        if self.vars.len() != slot as usize {
            return Err(internal(at));
        }
        let mut all = true;
        let mut any = false;
        let mut kept = Vec::new();
        let mut step = |m: &mut Self, item: Val<'a>| -> Result<(), EvalError> {
            m.vars.push(item);
            let r = m.bool(body);
            let item = m.vars.pop();
            let b = r?;
            all &= b;
            any |= b;
            if b && kind == Quant::Filter {
                if let Some(item) = item {
                    kept.push(item.into_owned());
                }
            }
            Ok(())
        };
        match list {
            Val::Ref(Value::List(items)) => {
                for item in items {
                    step(self, Val::Ref(item))?;
                }
            }
            Val::Own(Value::List(items)) => {
                for item in items {
                    step(self, Val::Own(item))?;
                }
            }
            other => {
                return Err(type_err(
                    at,
                    format!(
                        "`.{}()` needs a list, found a {}",
                        kind.name(),
                        other.get().kind()
                    ),
                ))
            }
        }
        Ok(Val::Own(match kind {
            Quant::All => Value::Bool(all),
            Quant::Any => Value::Bool(any),
            Quant::Filter => Value::List(kept),
        }))
    }

    /// Whether `list` holds an element equal to `item` (every element is compared).
    fn contains(
        &mut self,
        list: &Value,
        item: &Value,
        at: u32,
        what: &str,
    ) -> Result<bool, EvalError> {
        let Value::List(items) = list else {
            return Err(type_err(
                at,
                format!("`{what}` needs a list, found a {}", list.kind()),
            ));
        };
        let mut found = false;
        for e in items {
            found |= self.eq(e, item, at, 0)?;
        }
        Ok(found)
    }

    /// Equality: values of the same kind compare structurally; lists of different lengths are
    /// unequal; values of different kinds cannot be compared (an error).
    fn eq(&mut self, a: &Value, b: &Value, at: u32, depth: usize) -> Result<bool, EvalError> {
        self.charge(1, at)?;
        if depth > MAX_VALUE_DEPTH {
            return Err(type_err(at, "values nested too deeply to compare"));
        }
        Ok(match (a, b) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Str(x), Value::Str(y)) => x == y,
            (Value::Timestamp(x), Value::Timestamp(y)) => x == y,
            (Value::List(x), Value::List(y)) => {
                if x.len() != y.len() {
                    return Ok(false);
                }
                let mut same = true;
                for (p, q) in x.iter().zip(y) {
                    same &= self.eq(p, q, at, depth + 1)?;
                }
                same
            }
            (Value::Map(x), Value::Map(y)) => {
                if x.len() != y.len() || x.iter().zip(y.iter()).any(|(p, q)| p.0 != q.0) {
                    return Ok(false);
                }
                let mut same = true;
                for ((_, p), (_, q)) in x.iter().zip(y.iter()) {
                    same &= self.eq(p, q, at, depth + 1)?;
                }
                same
            }
            (a, b) => {
                return Err(type_err(
                    at,
                    format!("cannot compare a {} with a {}", a.kind(), b.kind()),
                ))
            }
        })
    }

    fn slice(&mut self, o: Val<'a>, s: Int, e: Int, at: u32) -> Result<Val<'a>, EvalError> {
        let out_of_range = |len: usize| {
            EvalError::new(
                EvalErrorKind::OutOfRange,
                at,
                format!("slice [{s}..{e}] out of range for a length of {len}"),
            )
        };
        let bounds = s.to_usize().zip(e.to_usize()).filter(|(s, e)| s <= e);
        if let Value::Str(text) = o.get() {
            // Byte offsets of characters `s` and `e`, walking only up to `e`.
            let mut offsets = text
                .char_indices()
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()));
            let found = bounds.and_then(|(s, e)| {
                let start = offsets.nth(s)?;
                let end = if e == s {
                    start
                } else {
                    offsets.nth(e - s - 1)?
                };
                Some((start, end, e - s))
            });
            let Some((start, end, n)) = found else {
                return Err(out_of_range(text.chars().count()));
            };
            self.charge(n, at)?;
            return Ok(Val::Own(Value::Str(text[start..end].to_string())));
        }
        let (s, e) = match (o.get(), bounds) {
            (Value::List(items), Some((s, e))) if e <= items.len() => (s, e),
            (Value::List(items), _) => return Err(out_of_range(items.len())),
            (other, _) => {
                return Err(type_err(
                    at,
                    format!(
                        "only a list or a string can be sliced, not a {}",
                        other.kind()
                    ),
                ))
            }
        };
        self.charge(e - s, at)?;
        Ok(Val::Own(match o {
            Val::Ref(Value::List(items)) => Value::List(items[s..e].to_vec()),
            Val::Own(Value::List(mut items)) => {
                items.truncate(e);
                items.drain(..s);
                Value::List(items)
            }
            _ => return Err(internal(at)),
        }))
    }
}

fn field<'a>(o: Val<'a>, name: &str, count_alias: bool, at: u32) -> Result<Val<'a>, EvalError> {
    let missing = || {
        EvalError::new(
            EvalErrorKind::MissingField,
            at,
            format!("missing field `{name}`"),
        )
    };
    match o {
        Val::Ref(Value::Map(m)) => match lookup(m, name) {
            Some(Value::Null) | None => Err(missing()),
            Some(v) => Ok(Val::Ref(v)),
        },
        Val::Own(Value::Map(mut m)) => match m.remove(name) {
            Some(Value::Null) | None => Err(missing()),
            Some(v) => Ok(Val::Own(v)),
        },
        o => match o.get() {
            Value::List(items) if count_alias => Ok(Val::Own(Value::Int(Int::from(items.len())))),
            other => Err(type_err(
                at,
                format!("a {} has no field `{name}`", other.kind()),
            )),
        },
    }
}

fn index<'a>(o: Val<'a>, i: &Value, at: u32) -> Result<Val<'a>, EvalError> {
    let out_of_range = |n: &Int, len: usize| {
        EvalError::new(
            EvalErrorKind::OutOfRange,
            at,
            format!("index {n} out of range for a length of {len}"),
        )
    };
    match (o, i) {
        (Val::Ref(Value::List(items)), Value::Int(n)) => match n.to_usize() {
            Some(k) if k < items.len() => Ok(Val::Ref(&items[k])),
            _ => Err(out_of_range(n, items.len())),
        },
        (Val::Own(Value::List(items)), Value::Int(n)) => {
            let len = items.len();
            match n.to_usize().and_then(|k| items.into_iter().nth(k)) {
                Some(v) => Ok(Val::Own(v)),
                None => Err(out_of_range(n, len)),
            }
        }
        (o, Value::Str(k)) if matches!(o.get(), Value::Map(_)) => field(o, k, false, at),
        (o, i) => match (o.get(), i) {
            (Value::Str(s), Value::Int(n)) => match n.to_usize().and_then(|k| s.chars().nth(k)) {
                Some(c) => Ok(Val::Own(Value::Str(c.to_string()))),
                None => Err(out_of_range(n, s.chars().count())),
            },
            (a, b) => Err(type_err(
                at,
                format!("cannot index a {} with a {}", a.kind(), b.kind()),
            )),
        },
    }
}

fn order(a: &Value, b: &Value, op: CmpOp, at: u32) -> Result<Ordering, EvalError> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(x.cmp(y)),
        (Value::Timestamp(x), Value::Timestamp(y)) => Ok(x.cmp(y)),
        (a, b) => Err(type_err(
            at,
            format!(
                "`{}` compares ints or timestamps, not a {} with a {}",
                op.symbol(),
                a.kind(),
                b.kind()
            ),
        )),
    }
}

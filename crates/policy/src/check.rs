//! The checker: syntax tree → [`Expr`]. Resolves every keyword and field against the schema
//! (unknown ones are rejected with their position), types every sub-expression, interns keyword
//! paths and folds constant lists.
//!
//! Typing rules (Turnkey's grammar table): `&&`, `||`, `!` take bools; `==`/`!=` compare two
//! values of the same type; `<`, `>`, `<=`, `>=` compare ints or timestamps; `x in l` and
//! `l.contains(x)` need `l: list<T>` and `x: T`; `l.all/any/filter(v, p)` bind `v: T` and need
//! `p: bool`; `l.count()` is an int; `l[i]`, `s[i]` take an int, `s[i]` is a string;
//! `l[a..b]`, `s[a..b]` take ints. Free-form values (`activity.params` …) are typed `dyn` and
//! accepted wherever a value is, their kinds checked at evaluation.

use crate::error::PolicyError;
use crate::expr::{Doc, Expr, Node, NodeId, Operand, PathSpec, Quant};
use crate::parse::{Ast, AstKind, CmpOp, RESERVED};
use crate::schema::{self, Elem, FieldTy, Struct};
use crate::value::{Timestamp, Value};
use crate::{Limits, Scope};

#[derive(Debug, Clone)]
enum Ty {
    Bool,
    Int,
    Str,
    Time,
    Dyn,
    Struct(&'static Struct),
    List(Box<Ty>),
}

impl Ty {
    fn from_field(t: FieldTy) -> Ty {
        match t {
            FieldTy::Bool => Ty::Bool,
            FieldTy::Int => Ty::Int,
            FieldTy::Str => Ty::Str,
            FieldTy::Time => Ty::Time,
            FieldTy::Dyn => Ty::Dyn,
            FieldTy::Struct(s) => Ty::Struct(s),
            FieldTy::List(e) => Ty::List(Box::new(match e {
                Elem::Int => Ty::Int,
                Elem::Str => Ty::Str,
                Elem::Struct(s) => Ty::Struct(s),
            })),
        }
    }

    fn name(&self) -> String {
        match self {
            Ty::Bool => "bool".into(),
            Ty::Int => "int".into(),
            Ty::Str => "string".into(),
            Ty::Time => "timestamp".into(),
            Ty::Dyn => "any".into(),
            Ty::Struct(s) => s.name.into(),
            Ty::List(t) => format!("list<{}>", t.name()),
        }
    }

    fn is_boolish(&self) -> bool {
        matches!(self, Ty::Bool | Ty::Dyn)
    }

    fn is_intish(&self) -> bool {
        matches!(self, Ty::Int | Ty::Dyn)
    }
}

/// Whether values of `a` and `b` may be compared with `==` (`any` matches everything).
fn compat(a: &Ty, b: &Ty) -> bool {
    match (a, b) {
        (Ty::Dyn, _) | (_, Ty::Dyn) => true,
        (Ty::List(x), Ty::List(y)) => compat(x, y),
        (Ty::Struct(x), Ty::Struct(y)) => std::ptr::eq(*x, *y),
        (Ty::Bool, Ty::Bool) | (Ty::Int, Ty::Int) | (Ty::Str, Ty::Str) | (Ty::Time, Ty::Time) => {
            true
        }
        _ => false,
    }
}

/// The common type of two list elements, if they have one.
fn unify(a: &Ty, b: &Ty) -> Option<Ty> {
    match (a, b) {
        (Ty::Dyn, t) | (t, Ty::Dyn) => Some(t.clone()),
        (Ty::List(x), Ty::List(y)) => Some(Ty::List(Box::new(unify(x, y)?))),
        _ if compat(a, b) => Some(a.clone()),
        _ => None,
    }
}

enum Checked {
    Node(NodeId, Ty),
    /// A keyword path not yet materialized, so that following `.field`s extend it.
    Path {
        segs: Vec<String>,
        ty: Ty,
        at: u32,
    },
}

struct Checker<'s> {
    src: &'s str,
    scope: Scope,
    nodes: Vec<Node>,
    at: Vec<u32>,
    paths: Vec<PathSpec>,
    vars: Vec<(String, Ty)>,
}

/// Check `ast` (parsed from `src`) for `scope` and compile it.
pub(crate) fn check(
    src: &str,
    ast: &Ast,
    scope: Scope,
    limits: &Limits,
) -> Result<Expr, PolicyError> {
    let mut c = Checker {
        src,
        scope,
        nodes: Vec::new(),
        at: Vec::new(),
        paths: Vec::new(),
        vars: Vec::new(),
    };
    let (root, ty) = c.value(ast)?;
    if !ty.is_boolish() {
        return Err(c.err(
            ast.start,
            format!(
                "`{}` must be a bool expression, but this is a {}",
                scope.name(),
                ty.name()
            ),
        ));
    }
    if c.nodes.len() > limits.max_nodes {
        return Err(c.err(
            ast.at,
            format!(
                "policy expression too large (more than {} nodes)",
                limits.max_nodes
            ),
        ));
    }
    Ok(Expr {
        nodes: c.nodes,
        at: c.at,
        root,
        paths: c.paths,
        scope,
        source: src.into(),
    })
}

impl Checker<'_> {
    fn err(&self, at: u32, msg: impl Into<String>) -> PolicyError {
        PolicyError::at(self.src, at as usize, msg)
    }

    fn push(&mut self, node: Node, at: u32) -> NodeId {
        self.nodes.push(node);
        self.at.push(at);
        (self.nodes.len() - 1) as NodeId
    }

    /// Check and materialize: the node id and type of a value.
    fn value(&mut self, ast: &Ast) -> Result<(NodeId, Ty), PolicyError> {
        let c = self.check(ast)?;
        self.materialize(c)
    }

    fn materialize(&mut self, c: Checked) -> Result<(NodeId, Ty), PolicyError> {
        match c {
            Checked::Node(id, ty) => Ok((id, ty)),
            Checked::Path { segs, ty, at } => {
                if let Ty::Struct(s) = &ty {
                    if s.namespace {
                        return Err(self.err(
                            at,
                            format!(
                                "`{}` is a namespace, not a value: use one of its fields ({})",
                                segs.join("."),
                                s.field_list()
                            ),
                        ));
                    }
                }
                let text = segs.join(".");
                let doc = Doc::of(self.scope);
                let idx = match self.paths.iter().position(|p| *p.text == *text) {
                    Some(i) => i,
                    None => {
                        self.paths.push(PathSpec {
                            doc,
                            segs: segs.into_iter().map(String::into_boxed_str).collect(),
                            text: text.into_boxed_str(),
                        });
                        self.paths.len() - 1
                    }
                };
                Ok((self.push(Node::Path(idx as u32), at), ty))
            }
        }
    }

    fn unknown_keyword(&self, name: &str, at: u32) -> PolicyError {
        for other in [Scope::Condition, Scope::Consensus] {
            if other != self.scope && schema::roots(other).field(name).is_some() {
                return self.err(
                    at,
                    format!(
                        "`{name}` is not available in `{}`: it is a `{}` keyword",
                        self.scope.name(),
                        other.name()
                    ),
                );
            }
        }
        self.err(
            at,
            format!(
                "unknown keyword `{name}`: `{}` may use {}",
                self.scope.name(),
                schema::roots(self.scope).field_list()
            ),
        )
    }

    fn check(&mut self, ast: &Ast) -> Result<Checked, PolicyError> {
        let at = ast.at;
        let node = |c: &mut Self, n: Node, ty: Ty| Ok(Checked::Node(c.push(n, at), ty));
        match &ast.kind {
            AstKind::Int(v) => node(self, Node::Lit(Value::Int(*v)), Ty::Int),
            AstKind::Str(s) => node(self, Node::Lit(Value::Str(s.clone())), Ty::Str),
            AstKind::Bool(b) => node(self, Node::Lit(Value::Bool(*b)), Ty::Bool),
            AstKind::List(items) => self.list(items, at),
            AstKind::Ident(name) => {
                if let Some(slot) = self.vars.iter().rposition(|(n, _)| n == name) {
                    let ty = self.vars[slot].1.clone();
                    return node(self, Node::Var(slot as u32), ty);
                }
                match schema::roots(self.scope).field(name) {
                    Some(t) => Ok(Checked::Path {
                        segs: vec![name.clone()],
                        ty: Ty::from_field(t),
                        at,
                    }),
                    None => Err(self.unknown_keyword(name, at)),
                }
            }
            AstKind::Field(obj, name) => self.field(obj, name, at),
            AstKind::Method(obj, name, args) => self.method(obj, name, args, at),
            AstKind::Index(obj, idx) => self.index(obj, idx, at),
            AstKind::Slice(obj, start, end) => {
                let (o, oty) = self.value(obj)?;
                let (s, sty) = self.value(start)?;
                let (e, ety) = self.value(end)?;
                if !matches!(oty, Ty::List(_) | Ty::Str | Ty::Dyn) {
                    return Err(self.err(
                        at,
                        format!(
                            "only a list or a string can be sliced, not a {}",
                            oty.name()
                        ),
                    ));
                }
                for (t, a) in [(&sty, start.start), (&ety, end.start)] {
                    if !t.is_intish() {
                        return Err(self.err(
                            a,
                            format!("a slice bound must be an int, not a {}", t.name()),
                        ));
                    }
                }
                node(
                    self,
                    Node::Slice {
                        obj: o,
                        start: s,
                        end: e,
                    },
                    oty,
                )
            }
            AstKind::Call(name, args) => {
                if name == "CronSpan" {
                    return Err(self.err(
                        at,
                        "`CronSpan` is not supported by this server (it needs a time-zone \
                         database); use `time.now` with `Timestamp('…')` bounds",
                    ));
                }
                match args.as_slice() {
                    [Ast {
                        kind: AstKind::Str(s),
                        at: arg_at,
                        ..
                    }] => match Timestamp::parse_rfc3339(s) {
                        Ok(t) => node(self, Node::Lit(Value::Timestamp(t)), Ty::Time),
                        Err(e) => Err(self.err(*arg_at, format!("invalid timestamp: {e}"))),
                    },
                    _ => Err(self.err(
                        at,
                        "`Timestamp` takes one string literal, e.g. \
                         Timestamp('2026-01-01T00:00:00Z')",
                    )),
                }
            }
            AstKind::Not(inner) => {
                let (i, t) = self.value(inner)?;
                if !t.is_boolish() {
                    return Err(
                        self.err(inner.start, format!("`!` needs a bool, not a {}", t.name()))
                    );
                }
                node(self, Node::Not(i), Ty::Bool)
            }
            AstKind::And(items) | AstKind::Or(items) => {
                let is_and = matches!(ast.kind, AstKind::And(_));
                let mut ids = Vec::with_capacity(items.len());
                for item in items {
                    let (i, t) = self.value(item)?;
                    if !t.is_boolish() {
                        return Err(self.err(
                            item.start,
                            format!(
                                "`{}` needs bools on both sides, not a {}",
                                if is_and { "&&" } else { "||" },
                                t.name()
                            ),
                        ));
                    }
                    ids.push(i);
                }
                let n = if is_and {
                    Node::And(ids.into())
                } else {
                    Node::Or(ids.into())
                };
                node(self, n, Ty::Bool)
            }
            AstKind::Cmp(op, lhs, rhs) => {
                let (l, lt) = self.value(lhs)?;
                let (r, rt) = self.value(rhs)?;
                let sym = op.symbol();
                match op {
                    CmpOp::Eq | CmpOp::Ne => {
                        if !compat(&lt, &rt) {
                            return Err(self.err(
                                at,
                                format!("cannot compare a {} with a {}", lt.name(), rt.name()),
                            ));
                        }
                    }
                    CmpOp::Lt | CmpOp::Gt | CmpOp::Le | CmpOp::Ge => {
                        let ordered = |t: &Ty| matches!(t, Ty::Int | Ty::Time | Ty::Dyn);
                        if !ordered(&lt) || !ordered(&rt) || !compat(&lt, &rt) {
                            return Err(self.err(
                                at,
                                format!(
                                    "`{sym}` compares ints or timestamps, not a {} with a {}",
                                    lt.name(),
                                    rt.name()
                                ),
                            ));
                        }
                    }
                    CmpOp::In => {
                        let ok = match &rt {
                            Ty::List(t) => compat(&lt, t),
                            Ty::Dyn => true,
                            _ => {
                                return Err(self.err(
                                    rhs.start,
                                    format!("`in` needs a list on its right, not a {}", rt.name()),
                                ))
                            }
                        };
                        if !ok {
                            return Err(self
                                .err(at, format!("a {} cannot be in a {}", lt.name(), rt.name())));
                        }
                    }
                }
                let n = self.compare(*op, l, r);
                node(self, n, Ty::Bool)
            }
        }
    }

    /// A comparison node: [`Node::CmpLit`] when one side is a literal and the other a path,
    /// a variable or a variable's field; else the generic [`Node::Cmp`].
    fn compare(&self, op: CmpOp, lhs: NodeId, rhs: NodeId) -> Node {
        let operand = |id: NodeId| match self.nodes.get(id as usize) {
            Some(Node::Path(p)) => Some(Operand::Path(*p)),
            Some(Node::Var(s)) => Some(Operand::Var(*s)),
            Some(Node::Field {
                obj,
                name,
                count_alias: false,
            }) => match self.nodes.get(*obj as usize) {
                Some(Node::Var(s)) => Some(Operand::VarField(*s, name.clone())),
                _ => None,
            },
            _ => None,
        };
        let is_lit = |id: NodeId| matches!(self.nodes.get(id as usize), Some(Node::Lit(_)));
        let fast = if is_lit(rhs) {
            operand(lhs).map(|o| (o, true))
        } else if is_lit(lhs) && op != CmpOp::In {
            operand(rhs).map(|o| (o, false))
        } else {
            None
        };
        match fast {
            Some((operand, lit_right)) => Node::CmpLit {
                op,
                lhs,
                rhs,
                operand,
                lit_right,
            },
            None => Node::Cmp { op, lhs, rhs },
        }
    }

    fn list(&mut self, items: &[Ast], at: u32) -> Result<Checked, PolicyError> {
        let mark = self.nodes.len();
        let mut ids = Vec::with_capacity(items.len());
        let mut elem = Ty::Dyn;
        for item in items {
            let (i, t) = self.value(item)?;
            elem = match unify(&elem, &t) {
                Some(u) => u,
                None => {
                    return Err(self.err(
                        item.start,
                        format!(
                            "a list holds one type: this {} does not fit a list<{}>",
                            t.name(),
                            elem.name()
                        ),
                    ))
                }
            };
            ids.push(i);
        }
        let ty = Ty::List(Box::new(elem));
        // A list of literals is itself a literal: evaluated once, never rebuilt per request.
        let consts: Option<Vec<Value>> = ids
            .iter()
            .map(|i| match self.nodes.get(*i as usize) {
                Some(Node::Lit(v)) => Some(v.clone()),
                _ => None,
            })
            .collect();
        if let Some(values) = consts {
            if self.nodes.len() == mark + ids.len() {
                self.nodes.truncate(mark);
                self.at.truncate(mark);
                return Ok(Checked::Node(
                    self.push(Node::Lit(Value::List(values)), at),
                    ty,
                ));
            }
        }
        Ok(Checked::Node(self.push(Node::List(ids.into()), at), ty))
    }

    fn field(&mut self, obj: &Ast, name: &str, at: u32) -> Result<Checked, PolicyError> {
        let c = self.check(obj)?;
        let ty = match &c {
            Checked::Node(_, t) | Checked::Path { ty: t, .. } => t.clone(),
        };
        match ty {
            Ty::Struct(s) => {
                let Some(ft) = s.field(name) else {
                    let what = if s.namespace {
                        format!("`{}`", s.name)
                    } else {
                        s.name.to_string()
                    };
                    return Err(self.err(
                        at,
                        format!(
                            "unknown field `{name}` on {what}: its fields are {}",
                            s.field_list()
                        ),
                    ));
                };
                let fty = Ty::from_field(ft);
                match c {
                    Checked::Path { mut segs, at, .. } => {
                        segs.push(name.to_string());
                        Ok(Checked::Path { segs, ty: fty, at })
                    }
                    Checked::Node(id, _) => Ok(Checked::Node(
                        self.push(
                            Node::Field {
                                obj: id,
                                name: name.into(),
                                count_alias: false,
                            },
                            at,
                        ),
                        fty,
                    )),
                }
            }
            Ty::Dyn => match c {
                Checked::Path { mut segs, at, .. } if name != "count" => {
                    segs.push(name.to_string());
                    Ok(Checked::Path {
                        segs,
                        ty: Ty::Dyn,
                        at,
                    })
                }
                c => {
                    let (id, _) = self.materialize(c)?;
                    Ok(Checked::Node(
                        self.push(
                            Node::Field {
                                obj: id,
                                name: name.into(),
                                count_alias: name == "count",
                            },
                            at,
                        ),
                        Ty::Dyn,
                    ))
                }
            },
            Ty::List(_) if name == "count" => {
                let (id, _) = self.materialize(c)?;
                Ok(Checked::Node(self.push(Node::Count(id), at), Ty::Int))
            }
            other => Err(self.err(
                at,
                format!(
                    "a {} has no fields (`.{name}`); list functions are called with \
                     parentheses, e.g. `.count()`",
                    other.name()
                ),
            )),
        }
    }

    fn method(
        &mut self,
        obj: &Ast,
        name: &str,
        args: &[Ast],
        at: u32,
    ) -> Result<Checked, PolicyError> {
        const METHODS: &str = "all, any, filter, contains, count";
        if !matches!(name, "all" | "any" | "filter" | "contains" | "count") {
            return Err(self.err(
                at,
                format!("unknown function `.{name}()`: the list functions are {METHODS}"),
            ));
        }
        let (list, lty) = self.value(obj)?;
        let elem = match &lty {
            Ty::List(t) => (**t).clone(),
            Ty::Dyn => Ty::Dyn,
            other => {
                return Err(self.err(
                    at,
                    format!("`.{name}()` needs a list, not a {}", other.name()),
                ))
            }
        };
        let arity = |want: usize, usage: &str| -> Result<(), PolicyError> {
            if args.len() == want {
                Ok(())
            } else {
                Err(PolicyError::at(
                    self.src,
                    at as usize,
                    format!("`.{name}` takes {usage}"),
                ))
            }
        };
        let node = match name {
            "count" => {
                arity(0, "no arguments: `.count()`")?;
                return Ok(Checked::Node(self.push(Node::Count(list), at), Ty::Int));
            }
            "contains" => {
                arity(1, "one argument: `.contains(value)`")?;
                let (item, ity) = self.value(&args[0])?;
                if !compat(&ity, &elem) {
                    return Err(self.err(
                        args[0].start,
                        format!("a {} cannot be in a {}", ity.name(), lty.name()),
                    ));
                }
                return Ok(Checked::Node(
                    self.push(Node::Contains { list, item }, at),
                    Ty::Bool,
                ));
            }
            _ => {
                arity(
                    2,
                    &format!("a variable and a predicate: `.{name}(item, item == …)`"),
                )?;
                let var = match &args[0].kind {
                    AstKind::Ident(v) => v.clone(),
                    _ => {
                        return Err(self.err(
                            args[0].at,
                            format!("the first argument of `.{name}` must be a variable name"),
                        ))
                    }
                };
                if RESERVED.contains(&var.as_str())
                    || schema::roots(self.scope).field(&var).is_some()
                    || self.vars.iter().any(|(n, _)| *n == var)
                {
                    return Err(self.err(
                        args[0].at,
                        format!("`{var}` is already a keyword or a variable: choose another name"),
                    ));
                }
                self.vars.push((var, elem.clone()));
                let slot = (self.vars.len() - 1) as u32;
                let body = self.value(&args[1]);
                self.vars.pop();
                let (body, bty) = body?;
                if !bty.is_boolish() {
                    return Err(self.err(
                        args[1].start,
                        format!(
                            "the predicate of `.{name}` must be a bool, not a {}",
                            bty.name()
                        ),
                    ));
                }
                let kind = match name {
                    "all" => Quant::All,
                    "any" => Quant::Any,
                    _ => Quant::Filter,
                };
                let ty = if kind == Quant::Filter {
                    lty.clone()
                } else {
                    Ty::Bool
                };
                (
                    Node::Quant {
                        kind,
                        list,
                        slot,
                        body,
                    },
                    ty,
                )
            }
        };
        Ok(Checked::Node(self.push(node.0, at), node.1))
    }

    fn index(&mut self, obj: &Ast, idx: &Ast, at: u32) -> Result<Checked, PolicyError> {
        let (o, oty) = self.value(obj)?;
        let (i, ity) = self.value(idx)?;
        let bad_index = |c: &Self, what: &str| {
            c.err(
                idx.start,
                format!("{what} is indexed by an int, not a {}", ity.name()),
            )
        };
        let ty = match &oty {
            Ty::List(t) => {
                if !ity.is_intish() {
                    return Err(bad_index(self, "a list"));
                }
                (**t).clone()
            }
            Ty::Str => {
                if !ity.is_intish() {
                    return Err(bad_index(self, "a string"));
                }
                Ty::Str
            }
            Ty::Struct(s) => {
                let key = match self.nodes.get(i as usize) {
                    Some(Node::Lit(Value::Str(k))) => k.clone(),
                    _ => {
                        return Err(self.err(
                            idx.start,
                            format!("a {} is indexed by a field name in quotes", s.name),
                        ))
                    }
                };
                match s.field(&key) {
                    Some(ft) => Ty::from_field(ft),
                    None => {
                        return Err(self.err(
                            idx.start,
                            format!(
                                "unknown field `{key}` on {}: its fields are {}",
                                s.name,
                                s.field_list()
                            ),
                        ))
                    }
                }
            }
            Ty::Dyn => {
                if !matches!(ity, Ty::Int | Ty::Str | Ty::Dyn) {
                    return Err(self.err(
                        idx.start,
                        format!("an index is an int or a string, not a {}", ity.name()),
                    ));
                }
                Ty::Dyn
            }
            other => {
                return Err(self.err(at, format!("a {} cannot be indexed", other.name())));
            }
        };
        Ok(Checked::Node(
            self.push(Node::Index { obj: o, idx: i }, at),
            ty,
        ))
    }
}

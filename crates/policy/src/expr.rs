//! [`Expr`]: a checked, compiled policy expression — a flat arena of nodes with the static
//! keyword paths (`eth.tx.to`, `approvers` …) interned once, so evaluation resolves each path
//! at most once per request and never looks a keyword up by name.

use std::fmt;

use crate::parse::CmpOp;
use crate::value::Value;
use crate::Scope;

/// Which input document a path reads: the condition document (also read by `time`) or the
/// consensus one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Doc {
    Condition,
    Consensus,
}

impl Doc {
    pub(crate) fn of(scope: Scope) -> Doc {
        match scope {
            Scope::Consensus => Doc::Consensus,
            Scope::Condition | Scope::Time => Doc::Condition,
        }
    }
}

/// A keyword followed by static field names: `activity.params.user_ids`.
#[derive(Debug, Clone)]
pub(crate) struct PathSpec {
    pub doc: Doc,
    pub segs: Box<[Box<str>]>,
    pub text: Box<str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quant {
    All,
    Any,
    Filter,
}

impl Quant {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Quant::All => "all",
            Quant::Any => "any",
            Quant::Filter => "filter",
        }
    }
}

/// Node ids index [`Expr::nodes`].
pub(crate) type NodeId = u32;

#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// A literal (constant lists are folded into one literal).
    Lit(Value),
    List(Box<[NodeId]>),
    /// A keyword path, by index into [`Expr::paths`].
    Path(u32),
    /// A variable bound by `.all/.any/.filter`, by binding depth.
    Var(u32),
    /// A field of a computed value. `count_alias`: on a free-form value, `.count` of a list is
    /// its length (Turnkey's docs write `transfers.count` for `transfers.count()`).
    Field {
        obj: NodeId,
        name: Box<str>,
        count_alias: bool,
    },
    Index {
        obj: NodeId,
        idx: NodeId,
    },
    Slice {
        obj: NodeId,
        start: NodeId,
        end: NodeId,
    },
    Not(NodeId),
    And(Box<[NodeId]>),
    Or(Box<[NodeId]>),
    Cmp {
        op: CmpOp,
        lhs: NodeId,
        rhs: NodeId,
    },
    Quant {
        kind: Quant,
        list: NodeId,
        slot: u32,
        body: NodeId,
    },
    Contains {
        list: NodeId,
        item: NodeId,
    },
    Count(NodeId),
    /// A comparison of a simple operand with a literal (`activity.type == 'X'`,
    /// `user.id == 'u'`, `eth.tx.value > 10`, `activity.action in ['A', 'B']`): the common
    /// shape, evaluated without visiting its children. `lhs`/`rhs` are the generic form, used
    /// whenever the fast path does not apply (an error, a non-scalar value).
    CmpLit {
        op: CmpOp,
        lhs: NodeId,
        rhs: NodeId,
        operand: Operand,
        /// Whether the literal is the right-hand side.
        lit_right: bool,
    },
}

/// The non-literal side of a [`Node::CmpLit`].
#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Path(u32),
    Var(u32),
    VarField(u32, Box<str>),
}

/// A parsed and checked policy expression for one [`Scope`]. Build it with [`crate::parse`];
/// evaluate it with [`crate::evaluate`] or as part of a [`crate::PolicySet`].
#[derive(Debug, Clone)]
pub struct Expr {
    pub(crate) nodes: Vec<Node>,
    /// Byte offset of each node in the source, for evaluation errors.
    pub(crate) at: Vec<u32>,
    pub(crate) root: NodeId,
    pub(crate) paths: Vec<PathSpec>,
    pub(crate) scope: Scope,
    pub(crate) source: Box<str>,
}

impl Expr {
    /// The scope the expression was checked for.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The keyword paths the expression reads, e.g. `["activity.type", "wallet.id"]`: what the
    /// request must supply for the expression not to error.
    pub fn keywords(&self) -> impl Iterator<Item = &str> {
        self.paths.iter().map(|p| &*p.text)
    }

    /// The number of nodes after compilation.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

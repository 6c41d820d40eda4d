//! Differential property test: a seeded generator builds random well-typed expressions over
//! random request documents; the engine (parse → check → compile → evaluate, alone and inside
//! a `PolicySet`) must agree with a tiny tree-walking reference evaluator written here on every
//! case. Plus: random bytes, token soup and mutated sources never make `parse` (or evaluating
//! what it accepts) panic.

use quorate_policy::{
    evaluate, parse, Effect, Input, Int, Limits, Map, Policy, PolicyOutcome, PolicySet, Scope,
    Timestamp, Value,
};

/// xorshift64*: deterministic, good enough to explore.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    fn pick_str(&mut self, xs: &[&'static str]) -> &'static str {
        xs[self.below(xs.len())]
    }
}

const INTS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-2",
    "10",
    "1000000000000000000000",
    "18446744073709551616",
    "340282366920938463463374607431768211455",
    "-170141183460469231731687303715884105728",
    "115792089237316195423570985008687907853269984665640564039457584007913129639935",
];
const INDEXES: &[&str] = &["-1", "0", "1", "2", "3", "4"];
const STRS: &[&str] = &["", "a", "b", "ab", "abc", "0xa9059cbb", "é", "RecipBBB"];
/// (RFC 3339, seconds, nanoseconds), worked out by hand.
const TIMES: &[(&str, i64, u32)] = &[
    ("1970-01-01T00:00:00Z", 0, 0),
    ("2024-02-29T12:00:00Z", 1_709_208_000, 0),
    ("2026-01-01T00:00:00Z", 1_767_225_600, 0),
    ("2026-01-01T00:00:00.5Z", 1_767_225_600, 500_000_000),
    ("2038-01-19T03:14:08Z", 2_147_483_648, 0),
];

fn int(s: &str) -> Value {
    Value::Int(s.parse::<Int>().unwrap())
}

fn time(i: usize) -> Value {
    Value::Timestamp(Timestamp::from_unix(TIMES[i].1, TIMES[i].2))
}

/// The generator's types.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum G {
    Bool,
    Int,
    Str,
    Time,
    ListInt,
    ListStr,
    Transfer,
    ListTransfer,
    User,
    ListUser,
}

impl G {
    fn elem(self) -> Option<G> {
        match self {
            G::ListInt => Some(G::Int),
            G::ListStr => Some(G::Str),
            G::ListTransfer => Some(G::Transfer),
            G::ListUser => Some(G::User),
            _ => None,
        }
    }
}

/// The test's own syntax tree.
#[derive(Clone, Debug)]
enum E {
    Lit(Value),
    Ts(usize),
    ListLit(Vec<E>),
    Path(&'static str),
    Var(String),
    Field(Box<E>, &'static str),
    CountAlias(Box<E>),
    Index(Box<E>, Box<E>),
    Slice(Box<E>, Box<E>, Box<E>),
    Not(Box<E>),
    And(Vec<E>),
    Or(Vec<E>),
    Cmp(&'static str, Box<E>, Box<E>),
    In(Box<E>, Box<E>),
    Quant(&'static str, Box<E>, String, Box<E>),
    Contains(Box<E>, Box<E>),
    Count(Box<E>),
}

fn b(e: E) -> Box<E> {
    Box::new(e)
}

/// Source text, parenthesized so precedence never matters.
fn src(e: &E) -> String {
    match e {
        E::Lit(Value::Bool(v)) => v.to_string(),
        E::Lit(Value::Int(i)) => i.to_string(),
        E::Lit(Value::Str(s)) => format!("'{s}'"),
        E::Lit(other) => panic!("no literal for {other:?}"),
        E::Ts(i) => format!("Timestamp('{}')", TIMES[*i].0),
        E::ListLit(items) => format!("[{}]", items.iter().map(src).collect::<Vec<_>>().join(", ")),
        E::Path(p) => p.to_string(),
        E::Var(v) => v.clone(),
        E::Field(o, f) => format!("{}.{f}", atom(o)),
        E::CountAlias(o) => format!("{}.count", atom(o)),
        E::Index(o, i) => format!("{}[{}]", atom(o), src(i)),
        E::Slice(o, a, z) => format!("{}[{}..{}]", atom(o), src(a), src(z)),
        E::Not(x) => format!("!{}", atom(x)),
        E::And(items) => items.iter().map(atom).collect::<Vec<_>>().join(" && "),
        E::Or(items) => items.iter().map(atom).collect::<Vec<_>>().join(" || "),
        E::Cmp(op, l, r) => format!("{} {op} {}", atom(l), atom(r)),
        E::In(l, r) => format!("{} in {}", atom(l), atom(r)),
        E::Quant(q, l, v, body) => format!("{}.{q}({v}, {})", atom(l), src(body)),
        E::Contains(l, x) => format!("{}.contains({})", atom(l), src(x)),
        E::Count(l) => format!("{}.count()", atom(l)),
    }
}

fn atom(e: &E) -> String {
    match e {
        E::Not(_) | E::And(_) | E::Or(_) | E::Cmp(..) | E::In(..) => format!("({})", src(e)),
        E::Lit(Value::Int(i)) if i.is_negative() => format!("({})", src(e)),
        _ => src(e),
    }
}

struct Gen {
    rng: Rng,
    scope: Scope,
    vars: Vec<(String, G)>,
    fresh: usize,
}

impl Gen {
    fn paths(&self, t: G) -> &'static [&'static str] {
        match (self.scope, t) {
            (Scope::Condition, G::Bool) => &["wallet.imported"],
            (Scope::Condition, G::Int) => &["eth.tx.value", "eth.tx.chain_id", "activity.params.n"],
            (Scope::Condition, G::Str) => &[
                "activity.type",
                "wallet.id",
                "eth.tx.to",
                "eth.tx.data",
                "activity.params.s",
            ],
            (Scope::Condition, G::ListStr) => &["private_key.tags", "solana.tx.program_keys"],
            (Scope::Condition, G::ListInt) => &["activity.params.l"],
            (Scope::Condition, G::ListTransfer) => &["solana.tx.transfers"],
            (Scope::Condition, G::Time) => &["time.now"],
            (Scope::Consensus, G::ListUser) => &["approvers"],
            _ => &[],
        }
    }

    fn lit(&mut self, t: G) -> Option<E> {
        Some(match t {
            G::Bool => E::Lit(Value::Bool(self.rng.chance(50))),
            G::Int => E::Lit(int(self.rng.pick_str(INTS))),
            G::Str => E::Lit(Value::from(*self.rng.pick(STRS))),
            G::Time => E::Ts(self.rng.below(TIMES.len())),
            _ => return None,
        })
    }

    fn leaf(&mut self, t: G) -> Option<E> {
        let vars: Vec<String> = self
            .vars
            .iter()
            .filter(|(_, g)| *g == t)
            .map(|(n, _)| n.clone())
            .collect();
        let paths = self.paths(t);
        for _ in 0..4 {
            match self.rng.below(3) {
                0 if !vars.is_empty() => return Some(E::Var(self.rng.pick(&vars).clone())),
                1 if !paths.is_empty() => return Some(E::Path(self.rng.pick_str(paths))),
                _ => {
                    if let Some(l) = self.lit(t) {
                        return Some(l);
                    }
                }
            }
        }
        if !vars.is_empty() {
            return Some(E::Var(self.rng.pick(&vars).clone()));
        }
        if !paths.is_empty() {
            return Some(E::Path(self.rng.pick_str(paths)));
        }
        self.lit(t)
    }

    fn index(&mut self) -> E {
        E::Lit(int(self.rng.pick_str(INDEXES)))
    }

    fn available(&self, t: G) -> bool {
        match t {
            G::Bool | G::Int | G::Str | G::ListInt | G::ListStr => true,
            G::Time => self.scope == Scope::Condition,
            G::Transfer | G::ListTransfer => {
                self.scope == Scope::Condition || self.vars.iter().any(|(_, g)| *g == t)
            }
            G::User | G::ListUser => {
                self.scope == Scope::Consensus || self.vars.iter().any(|(_, g)| *g == t)
            }
        }
    }

    /// Bind a variable over a list of type `list` and generate a bool predicate.
    fn quant(&mut self, q: &'static str, list: G, depth: u32) -> E {
        let l = self.gen(list, depth - 1);
        let name = format!("v{}", self.fresh);
        self.fresh += 1;
        self.vars.push((name.clone(), list.elem().unwrap()));
        let body = self.gen(G::Bool, depth - 1);
        self.vars.pop();
        E::Quant(q, b(l), name, b(body))
    }

    fn list_type(&mut self) -> G {
        let mut options = vec![G::ListInt, G::ListStr];
        if self.available(G::ListTransfer) {
            options.push(G::ListTransfer);
        }
        if self.available(G::ListUser) {
            options.push(G::ListUser);
        }
        *self.rng.pick(&options)
    }

    fn gen(&mut self, t: G, depth: u32) -> E {
        if depth == 0 || self.rng.chance(20) {
            if let Some(l) = self.leaf(t) {
                return l;
            }
        }
        let d = depth.max(1);
        match t {
            G::Bool => match self.rng.below(12) {
                0 => {
                    let op = *self.rng.pick(&["==", "!=", "<", ">", "<=", ">="]);
                    E::Cmp(op, b(self.gen(G::Int, d - 1)), b(self.gen(G::Int, d - 1)))
                }
                1 => {
                    let op = *self.rng.pick(&["==", "!="]);
                    E::Cmp(op, b(self.gen(G::Str, d - 1)), b(self.gen(G::Str, d - 1)))
                }
                2 => {
                    let op = *self.rng.pick(&["==", "!="]);
                    E::Cmp(op, b(self.gen(G::Bool, d - 1)), b(self.gen(G::Bool, d - 1)))
                }
                3 if self.available(G::Time) => {
                    let op = *self.rng.pick(&["==", "!=", "<", ">", "<=", ">="]);
                    E::Cmp(op, b(self.gen(G::Time, d - 1)), b(self.gen(G::Time, d - 1)))
                }
                4 => {
                    let lt = *self.rng.pick(&[G::ListInt, G::ListStr]);
                    let op = *self.rng.pick(&["==", "!="]);
                    E::Cmp(op, b(self.gen(lt, d - 1)), b(self.gen(lt, d - 1)))
                }
                5 => E::Not(b(self.gen(G::Bool, d - 1))),
                6 => {
                    let n = 2 + self.rng.below(2);
                    let items = (0..n).map(|_| self.gen(G::Bool, d - 1)).collect();
                    if self.rng.chance(50) {
                        E::And(items)
                    } else {
                        E::Or(items)
                    }
                }
                7 => {
                    let (lt, et) = *self.rng.pick(&[(G::ListInt, G::Int), (G::ListStr, G::Str)]);
                    E::In(b(self.gen(et, d - 1)), b(self.gen(lt, d - 1)))
                }
                8 => {
                    let (lt, et) = *self.rng.pick(&[(G::ListInt, G::Int), (G::ListStr, G::Str)]);
                    E::Contains(b(self.gen(lt, d - 1)), b(self.gen(et, d - 1)))
                }
                9 | 10 => {
                    let q = *self.rng.pick(&["all", "any"]);
                    let lt = self.list_type();
                    self.quant(q, lt, d)
                }
                _ => self.leaf(G::Bool).unwrap_or(E::Lit(Value::Bool(true))),
            },
            G::Int => match self.rng.below(5) {
                0 => {
                    let lt = self.list_type();
                    E::Count(b(self.gen(lt, d - 1)))
                }
                1 => {
                    let lt = self.list_type();
                    E::CountAlias(b(self.gen(lt, d - 1)))
                }
                2 => E::Index(b(self.gen(G::ListInt, d - 1)), b(self.index())),
                3 if self.available(G::Transfer) => {
                    E::Field(b(self.gen(G::Transfer, d - 1)), "amount")
                }
                _ => self.leaf(G::Int).unwrap_or(E::Lit(int("0"))),
            },
            G::Str => match self.rng.below(6) {
                0 => E::Index(b(self.gen(G::Str, d - 1)), b(self.index())),
                1 => E::Slice(b(self.gen(G::Str, d - 1)), b(self.index()), b(self.index())),
                2 => E::Index(b(self.gen(G::ListStr, d - 1)), b(self.index())),
                3 if self.available(G::Transfer) => {
                    let f = *self.rng.pick(&["from", "to"]);
                    E::Field(b(self.gen(G::Transfer, d - 1)), f)
                }
                4 if self.available(G::User) => {
                    let f = *self.rng.pick(&["id", "email"]);
                    E::Field(b(self.gen(G::User, d - 1)), f)
                }
                _ => self.leaf(G::Str).unwrap_or(E::Lit(Value::from("a"))),
            },
            G::Time => self.leaf(G::Time).unwrap_or(E::Ts(0)),
            G::ListInt | G::ListStr | G::ListTransfer | G::ListUser => {
                let et = t.elem().unwrap();
                match self.rng.below(5) {
                    0 if matches!(t, G::ListInt | G::ListStr) => {
                        let n = self.rng.below(4);
                        E::ListLit((0..n).map(|_| self.gen(et, d - 1)).collect())
                    }
                    1 => {
                        let name = format!("v{}", self.fresh);
                        self.fresh += 1;
                        let l = self.gen(t, d - 1);
                        self.vars.push((name.clone(), et));
                        let body = self.gen(G::Bool, d - 1);
                        self.vars.pop();
                        E::Quant("filter", b(l), name, b(body))
                    }
                    2 => E::Slice(b(self.gen(t, d - 1)), b(self.index()), b(self.index())),
                    3 if t == G::ListStr && self.available(G::User) => {
                        E::Field(b(self.gen(G::User, d - 1)), "tags")
                    }
                    _ => match self.leaf(t) {
                        Some(l) => l,
                        None if matches!(t, G::ListInt | G::ListStr) => E::ListLit(vec![]),
                        None => E::Path(if t == G::ListUser {
                            "approvers"
                        } else {
                            "solana.tx.transfers"
                        }),
                    },
                }
            }
            G::Transfer | G::User => {
                let lt = if t == G::Transfer {
                    G::ListTransfer
                } else {
                    G::ListUser
                };
                if self.rng.chance(50) {
                    if let Some(l) = self.leaf(t) {
                        return l;
                    }
                }
                E::Index(b(self.gen(lt, d - 1)), b(self.index()))
            }
        }
    }
}

fn put(m: &mut Map, k: &str, v: Value, keep: bool) {
    if keep {
        m.insert(k.to_string(), v);
    }
}

/// A random request document for `scope`; objects and fields go missing now and then.
fn document(rng: &mut Rng, scope: Scope) -> Value {
    let s = |rng: &mut Rng| Value::from(*rng.pick(STRS));
    let i = |rng: &mut Rng| int(rng.pick_str(INTS));
    let mut m = Map::new();
    let strs = |rng: &mut Rng| {
        let n = rng.below(4);
        Value::List((0..n).map(|_| Value::from(*rng.pick(STRS))).collect())
    };
    match scope {
        Scope::Consensus => {
            let n = rng.below(4);
            let users = (0..n)
                .map(|_| {
                    let mut u = Map::new();
                    put(&mut u, "id", s(rng), rng.chance(92));
                    put(&mut u, "email", s(rng), rng.chance(92));
                    let tags = strs(rng);
                    put(&mut u, "tags", tags, rng.chance(92));
                    Value::Map(u)
                })
                .collect();
            put(&mut m, "approvers", Value::List(users), rng.chance(92));
        }
        _ => {
            let mut params = Map::new();
            let n = match rng.below(10) {
                0 => s(rng),
                1 => Value::Bool(true),
                _ => i(rng),
            };
            put(&mut params, "n", n, rng.chance(92));
            let sv = if rng.chance(85) { s(rng) } else { i(rng) };
            put(&mut params, "s", sv, rng.chance(92));
            let l = match rng.below(10) {
                0 => Value::List(vec![i(rng), s(rng)]),
                1 => s(rng),
                _ => {
                    let n = rng.below(4);
                    Value::List((0..n).map(|_| i(rng)).collect())
                }
            };
            put(&mut params, "l", l, rng.chance(92));
            let mut activity = Map::new();
            put(&mut activity, "type", s(rng), rng.chance(92));
            activity.insert("params", Value::Map(params));
            put(&mut m, "activity", Value::Map(activity), rng.chance(92));

            let mut wallet = Map::new();
            put(&mut wallet, "id", s(rng), rng.chance(92));
            put(
                &mut wallet,
                "imported",
                Value::Bool(rng.chance(50)),
                rng.chance(92),
            );
            put(&mut m, "wallet", Value::Map(wallet), rng.chance(92));

            let tags = strs(rng);
            put(
                &mut m,
                "private_key",
                Value::map([("tags", tags)]),
                rng.chance(92),
            );

            let mut tx = Map::new();
            put(&mut tx, "value", i(rng), rng.chance(92));
            put(&mut tx, "chain_id", i(rng), rng.chance(92));
            put(&mut tx, "to", s(rng), rng.chance(92));
            put(&mut tx, "data", s(rng), rng.chance(92));
            put(
                &mut m,
                "eth",
                Value::map([("tx", Value::Map(tx))]),
                rng.chance(92),
            );

            let n = rng.below(4);
            let transfers = (0..n)
                .map(|_| {
                    let mut t = Map::new();
                    put(&mut t, "from", s(rng), rng.chance(92));
                    put(&mut t, "to", s(rng), rng.chance(92));
                    put(&mut t, "amount", i(rng), rng.chance(92));
                    Value::Map(t)
                })
                .collect();
            let keys = strs(rng);
            put(
                &mut m,
                "solana",
                Value::map([(
                    "tx",
                    Value::map([
                        ("transfers", Value::List(transfers)),
                        ("program_keys", keys),
                    ]),
                )]),
                rng.chance(92),
            );
            let now = time(rng.below(TIMES.len()));
            put(&mut m, "time", Value::map([("now", now)]), rng.chance(92));
        }
    }
    Value::Map(m)
}

// ---- the reference evaluator ----

type R = Result<Value, ()>;

fn get<'v>(v: &'v Value, k: &str) -> Result<&'v Value, ()> {
    match v {
        Value::Map(m) => match m.get(k) {
            None | Some(Value::Null) => Err(()),
            Some(x) => Ok(x),
        },
        _ => Err(()),
    }
}

/// Order two ints by their decimal text: sign, then length, then digits.
fn cmp_ints(a: &Int, b: &Int) -> std::cmp::Ordering {
    let (a, b) = (a.to_string(), b.to_string());
    let (an, bn) = (a.starts_with('-'), b.starts_with('-'));
    let mag = |s: &str| {
        let d = s.trim_start_matches('-').to_string();
        (d.len(), d)
    };
    match (an, bn) {
        (false, true) => std::cmp::Ordering::Greater,
        (true, false) => std::cmp::Ordering::Less,
        (false, false) => mag(&a).cmp(&mag(&b)),
        (true, true) => mag(&b).cmp(&mag(&a)),
    }
}

fn req(a: &Value, b: &Value) -> Result<bool, ()> {
    match (a, b) {
        (Value::List(x), Value::List(y)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            let rs: Vec<Result<bool, ()>> = x.iter().zip(y).map(|(p, q)| req(p, q)).collect();
            if rs.iter().any(Result::is_err) {
                return Err(());
            }
            Ok(rs.into_iter().all(|r| r == Ok(true)))
        }
        (Value::Map(_), Value::Map(_)) => Ok(a == b),
        _ if std::mem::discriminant(a) == std::mem::discriminant(b) => Ok(a == b),
        _ => Err(()),
    }
}

fn as_index(v: &Value) -> Result<Option<usize>, ()> {
    match v {
        Value::Int(i) => {
            let s = i.to_string();
            Ok(s.parse::<usize>().ok())
        }
        _ => Err(()),
    }
}

fn reval(e: &E, doc: &Value, env: &mut Vec<(String, Value)>) -> R {
    let boolean = |v: R| -> Result<bool, ()> {
        match v? {
            Value::Bool(b) => Ok(b),
            _ => Err(()),
        }
    };
    match e {
        E::Lit(v) => Ok(v.clone()),
        E::Ts(i) => Ok(time(*i)),
        E::ListLit(items) => {
            let vs: Vec<R> = items.iter().map(|i| reval(i, doc, env)).collect();
            vs.into_iter()
                .collect::<Result<Vec<_>, ()>>()
                .map(Value::List)
        }
        E::Path(p) => {
            let mut cur = doc;
            for seg in p.split('.') {
                cur = get(cur, seg)?;
            }
            Ok(cur.clone())
        }
        E::Var(n) => Ok(env.iter().rev().find(|(k, _)| k == n).ok_or(())?.1.clone()),
        E::Field(o, f) => Ok(get(&reval(o, doc, env)?, f)?.clone()),
        E::CountAlias(o) => match reval(o, doc, env)? {
            Value::List(items) => Ok(Value::Int(Int::from(items.len()))),
            m @ Value::Map(_) => Ok(get(&m, "count")?.clone()),
            _ => Err(()),
        },
        E::Index(o, i) => {
            let (o, i) = (reval(o, doc, env), reval(i, doc, env));
            let (o, i) = (o?, i?);
            match (&o, &i) {
                (Value::List(items), Value::Int(_)) => {
                    items.get(as_index(&i)?.ok_or(())?).cloned().ok_or(())
                }
                (Value::Str(s), Value::Int(_)) => s
                    .chars()
                    .nth(as_index(&i)?.ok_or(())?)
                    .map(|c| Value::Str(c.to_string()))
                    .ok_or(()),
                (Value::Map(_), Value::Str(k)) => Ok(get(&o, k)?.clone()),
                _ => Err(()),
            }
        }
        E::Slice(o, a, z) => {
            let (o, a, z) = (reval(o, doc, env), reval(a, doc, env), reval(z, doc, env));
            let (o, a, z) = (o?, a?, z?);
            let (a, z) = (as_index(&a)?.ok_or(())?, as_index(&z)?.ok_or(())?);
            match o {
                Value::List(items) if a <= z && z <= items.len() => {
                    Ok(Value::List(items[a..z].to_vec()))
                }
                Value::Str(s) if a <= z && z <= s.chars().count() => {
                    Ok(Value::Str(s.chars().skip(a).take(z - a).collect()))
                }
                _ => Err(()),
            }
        }
        E::Not(x) => Ok(Value::Bool(!boolean(reval(x, doc, env))?)),
        E::And(items) | E::Or(items) => {
            let bs: Vec<Result<bool, ()>> =
                items.iter().map(|i| boolean(reval(i, doc, env))).collect();
            let bs = bs.into_iter().collect::<Result<Vec<bool>, ()>>()?;
            Ok(Value::Bool(if matches!(e, E::And(_)) {
                bs.iter().all(|b| *b)
            } else {
                bs.iter().any(|b| *b)
            }))
        }
        E::Cmp(op, l, r) => {
            let (l, r) = (reval(l, doc, env), reval(r, doc, env));
            let (l, r) = (l?, r?);
            let v = match *op {
                "==" => req(&l, &r)?,
                "!=" => !req(&l, &r)?,
                _ => {
                    let ord = match (&l, &r) {
                        (Value::Int(x), Value::Int(y)) => cmp_ints(x, y),
                        (Value::Timestamp(x), Value::Timestamp(y)) => {
                            (x.unix_secs(), x.subsec_nanos())
                                .cmp(&(y.unix_secs(), y.subsec_nanos()))
                        }
                        _ => return Err(()),
                    };
                    match *op {
                        "<" => ord.is_lt(),
                        ">" => ord.is_gt(),
                        "<=" => ord.is_le(),
                        _ => ord.is_ge(),
                    }
                }
            };
            Ok(Value::Bool(v))
        }
        E::In(x, l) | E::Contains(l, x) => {
            let (lv, xv) = if matches!(e, E::In(..)) {
                let xv = reval(x, doc, env);
                (reval(l, doc, env), xv)
            } else {
                let lv = reval(l, doc, env);
                (lv, reval(x, doc, env))
            };
            let (lv, xv) = (lv?, xv?);
            let Value::List(items) = lv else {
                return Err(());
            };
            let rs: Vec<Result<bool, ()>> = items.iter().map(|i| req(i, &xv)).collect();
            let rs = rs.into_iter().collect::<Result<Vec<bool>, ()>>()?;
            Ok(Value::Bool(rs.contains(&true)))
        }
        E::Count(l) => match reval(l, doc, env)? {
            Value::List(items) => Ok(Value::Int(Int::from(items.len()))),
            _ => Err(()),
        },
        E::Quant(q, l, v, body) => {
            let Value::List(items) = reval(l, doc, env)? else {
                return Err(());
            };
            let mut results = Vec::new();
            for item in &items {
                env.push((v.clone(), item.clone()));
                let r = boolean(reval(body, doc, env));
                env.pop();
                results.push(r);
            }
            let bs = results.into_iter().collect::<Result<Vec<bool>, ()>>()?;
            Ok(match *q {
                "all" => Value::Bool(bs.iter().all(|b| *b)),
                "any" => Value::Bool(bs.iter().any(|b| *b)),
                _ => Value::List(
                    items
                        .into_iter()
                        .zip(bs)
                        .filter(|(_, b)| *b)
                        .map(|(i, _)| i)
                        .collect(),
                ),
            })
        }
    }
}

#[test]
fn engine_agrees_with_the_reference_evaluator() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let limits = Limits::default();
    let (mut cases, mut trues, mut falses, mut errors) = (0usize, 0usize, 0usize, 0usize);
    for round in 0..1500 {
        let scope = if round % 3 == 2 {
            Scope::Consensus
        } else {
            Scope::Condition
        };
        let doc = document(&mut rng, scope);
        let mut gen = Gen {
            rng: Rng(rng.next() | 1),
            scope,
            vars: Vec::new(),
            fresh: 0,
        };
        let mut batch = Vec::new();
        for _ in 0..8 {
            let e = gen.gen(G::Bool, 4);
            let text = src(&e);
            let expr = parse(&text, scope)
                .unwrap_or_else(|err| panic!("generated source rejected: {text}\n{err}"));
            let want = reval(&e, &doc, &mut Vec::new());
            let got = evaluate(&expr, &doc, &limits).map_err(|_| ());
            assert_eq!(got, want, "source: {text}\ndocument: {doc}");
            match want {
                Ok(Value::Bool(true)) => trues += 1,
                Ok(Value::Bool(false)) => falses += 1,
                Err(()) => errors += 1,
                Ok(other) => panic!("not a bool: {other}"),
            }
            cases += 1;
            batch.push((text, want));
        }
        // The same expressions as policies of one set (paths interned and resolved across
        // policies) give the same answers.
        let policies = batch
            .iter()
            .enumerate()
            .map(|(i, (text, _))| {
                let (cond, cons) = match scope {
                    Scope::Consensus => (None, Some(text.as_str())),
                    _ => (Some(text.as_str()), None),
                };
                Policy::compile(format!("p{i}"), Effect::Allow, cond, cons, None, &limits).unwrap()
            })
            .collect();
        let set = PolicySet::new(policies);
        let input = match scope {
            Scope::Consensus => Input {
                consensus: doc.clone(),
                ..Input::default()
            },
            _ => Input {
                condition: doc.clone(),
                ..Input::default()
            },
        };
        let d = set.decide(&input, false, &limits);
        for ((text, want), ev) in batch.iter().zip(&d.evaluations) {
            let expected = match (want, scope) {
                (Err(()), _) => PolicyOutcome::Error,
                (Ok(Value::Bool(true)), _) => PolicyOutcome::Allow,
                (_, Scope::Consensus) => PolicyOutcome::ConsensusPending,
                _ => PolicyOutcome::NotApplicable,
            };
            assert_eq!(ev.outcome, expected, "{text}\n{doc}\n{d}");
        }
    }
    println!("{cases} cases: {trues} true, {falses} false, {errors} errors");
    assert!(cases >= 10_000);
    for (what, n) in [("true", trues), ("false", falses), ("error", errors)] {
        assert!(n * 10 >= cases, "too few {what} outcomes: {n} of {cases}");
    }
}

const SOUP: &[&str] = &[
    "approvers",
    "credentials",
    "activity",
    "wallet",
    "wallets",
    "private_key",
    "eth",
    "tx",
    "solana",
    "time",
    "now",
    "type",
    "params",
    "id",
    "tags",
    "transfers",
    "to",
    "value",
    "x",
    "all",
    "any",
    "filter",
    "contains",
    "count",
    "in",
    "true",
    "false",
    "Timestamp",
    "CronSpan",
    "&&",
    "||",
    "==",
    "!=",
    "<",
    ">",
    "<=",
    ">=",
    "!",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "..",
    "0",
    "1",
    "-1",
    "'a'",
    "'2026-01-01T00:00:00Z'",
    "\"a\"",
    " ",
    "\n",
    "é",
    "-",
    "=",
    "&",
    "|",
    "#",
    "'",
];

fn try_everything(text: &str, docs: &[Value]) {
    for scope in [Scope::Condition, Scope::Consensus, Scope::Time] {
        if let Ok(e) = parse(text, scope) {
            for doc in docs {
                let _ = evaluate(&e, doc, &Limits::default());
            }
        }
    }
}

#[test]
fn parse_never_panics() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let docs = [
        document(&mut rng, Scope::Condition),
        document(&mut rng, Scope::Consensus),
        Value::Map(Default::default()),
    ];
    // Random bytes.
    for _ in 0..30_000 {
        let n = rng.below(48);
        let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        try_everything(&String::from_utf8_lossy(&bytes), &docs);
    }
    // Token soup: reaches deep into the parser and the checker.
    for _ in 0..30_000 {
        let n = 1 + rng.below(24);
        let text: String = (0..n)
            .map(|_| {
                let t = *rng.pick(SOUP);
                if rng.chance(30) {
                    format!("{t} ")
                } else {
                    t.to_string()
                }
            })
            .collect();
        try_everything(&text, &docs);
    }
    // Mutated well-formed sources.
    let mut gen = Gen {
        rng: Rng(7),
        scope: Scope::Condition,
        vars: Vec::new(),
        fresh: 0,
    };
    for _ in 0..10_000 {
        let mut text = src(&gen.gen(G::Bool, 3)).into_bytes();
        for _ in 0..1 + rng.below(3) {
            let len = text.len().max(1);
            let at = rng.below(len).min(text.len());
            match rng.below(4) {
                0 => {
                    let end = (at + 1 + rng.below(4)).min(text.len());
                    text.drain(at..end);
                }
                1 => {
                    let t = rng.pick(SOUP).as_bytes().to_vec();
                    text.splice(at..at, t);
                }
                2 => text.truncate(at),
                _ => {
                    if at < text.len() {
                        text[at] = rng.next() as u8;
                    }
                }
            }
        }
        try_everything(&String::from_utf8_lossy(&text), &docs);
    }
}

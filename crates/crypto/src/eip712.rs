//! EIP-712 typed structured data hashing over `serde_json`:
//! `keccak256("\x19\x01" ‖ domainSeparator ‖ hashStruct(message))`.
//!
//! Accepts what @turnkey/viem (`serializeTypedData`) and ethers (`TypedDataEncoder.getPayload`)
//! send: `{types, primaryType, domain, message}` with integers as JSON numbers, decimal strings
//! or `0x` hex strings. When `types.EIP712Domain` is absent it is inferred from the domain's
//! fields in the canonical order (`name`, `version`, `chainId`, `verifyingContract`, `salt`),
//! as viem and ethers do.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};
use sha3::{Digest, Keccak256};

use crate::tx::eth::U256;

/// An error in typed data; the message names the offending path (`message.to.wallet`).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct Eip712Error(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, Eip712Error> {
    Err(Eip712Error(msg.into()))
}

/// One struct member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Member name.
    pub name: String,
    /// Member type (`uint256`, `Person`, `Person[]`, `bytes32[4]`, …).
    pub ty: String,
}

/// Parsed typed data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedData {
    /// Struct definitions, `EIP712Domain` included (inferred if it was absent).
    pub types: BTreeMap<String, Vec<Field>>,
    /// The message's struct type.
    pub primary_type: String,
    /// The domain object.
    pub domain: Map<String, Value>,
    /// The message object (`Null` when `primary_type` is `EIP712Domain`).
    pub message: Value,
}

const DOMAIN: &str = "EIP712Domain";

/// Most struct definitions accepted (bounds the work of `encodeType`).
pub const MAX_TYPES: usize = 1024;

fn keccak(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Whether `ty` (no array suffix) is an EIP-712 atomic or dynamic type.
fn is_elementary(ty: &str) -> bool {
    match ty {
        "address" | "bool" | "string" | "bytes" => true,
        _ => {
            let size = |rest: &str, lo: usize, hi: usize, step: usize| {
                !rest.starts_with('0')
                    && rest
                        .parse::<usize>()
                        .is_ok_and(|n| n >= lo && n <= hi && n % step == 0)
            };
            if let Some(rest) = ty.strip_prefix("bytes") {
                size(rest, 1, 32, 1)
            } else if let Some(rest) = ty.strip_prefix("uint") {
                size(rest, 8, 256, 8)
            } else if let Some(rest) = ty.strip_prefix("int") {
                size(rest, 8, 256, 8)
            } else {
                false
            }
        }
    }
}

/// Split one trailing array suffix: `T[3]` → (`T`, Some(Some(3))), `T[]` → (`T`, Some(None)).
fn split_array(ty: &str) -> Result<Option<(&str, Option<usize>)>, Eip712Error> {
    let Some(body) = ty.strip_suffix(']') else {
        return Ok(None);
    };
    let Some(open) = body.rfind('[') else {
        return err(format!("malformed type `{ty}`"));
    };
    let (inner, len) = (&body[..open], &body[open + 1..]);
    if inner.is_empty() {
        return err(format!("malformed type `{ty}`"));
    }
    if len.is_empty() {
        return Ok(Some((inner, None)));
    }
    if !len.bytes().all(|b| b.is_ascii_digit()) || (len.len() > 1 && len.starts_with('0')) {
        return err(format!("malformed array length in type `{ty}`"));
    }
    let n = len
        .parse::<usize>()
        .map_err(|_| Eip712Error(format!("array length too large in type `{ty}`")))?;
    Ok(Some((inner, Some(n))))
}

/// The base type with every array suffix removed.
fn base_type(ty: &str) -> Result<&str, Eip712Error> {
    let mut t = ty;
    while let Some((inner, _)) = split_array(t)? {
        t = inner;
    }
    Ok(t)
}

fn domain_type_for(domain: &Map<String, Value>) -> Result<Vec<Field>, Eip712Error> {
    const CANON: [(&str, &str); 5] = [
        ("name", "string"),
        ("version", "string"),
        ("chainId", "uint256"),
        ("verifyingContract", "address"),
        ("salt", "bytes32"),
    ];
    if let Some(k) = domain.keys().find(|k| !CANON.iter().any(|(n, _)| n == k)) {
        return err(format!(
            "domain.{k}: unknown domain field (declare types.EIP712Domain to use it)"
        ));
    }
    Ok(CANON
        .iter()
        .filter(|(n, _)| domain.get(*n).is_some_and(|v| !v.is_null()))
        .map(|(n, t)| Field {
            name: (*n).into(),
            ty: (*t).into(),
        })
        .collect())
}

impl TypedData {
    /// Parse and validate the JSON shape (`types`, `primaryType`, `domain`, `message`).
    pub fn parse(json: &str) -> Result<Self, Eip712Error> {
        let v: Value =
            serde_json::from_str(json).map_err(|e| Eip712Error(format!("not valid JSON: {e}")))?;
        Self::from_value(v)
    }

    /// As [`TypedData::parse`], from a JSON value.
    pub fn from_value(v: Value) -> Result<Self, Eip712Error> {
        let Value::Object(mut top) = v else {
            return err(
                "typed data must be a JSON object with types, primaryType, domain and message",
            );
        };
        let Some(Value::Object(raw_types)) = top.remove("types") else {
            return err("types: missing or not an object");
        };
        let Some(Value::String(primary_type)) = top.remove("primaryType") else {
            return err("primaryType: missing or not a string");
        };
        let domain = match top.remove("domain") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => return err("domain: must be an object"),
        };
        let message = top.remove("message").unwrap_or(Value::Null);

        if raw_types.len() > MAX_TYPES {
            return err(format!(
                "types: at most {MAX_TYPES} struct definitions, got {}",
                raw_types.len()
            ));
        }
        let mut types = BTreeMap::new();
        for (name, fields) in raw_types {
            if !is_identifier(&name) || is_elementary(&name) {
                return err(format!("types.{name}: not a valid struct name"));
            }
            let Value::Array(fields) = fields else {
                return err(format!("types.{name}: must be an array of {{name, type}}"));
            };
            let mut out = Vec::with_capacity(fields.len());
            let mut seen = BTreeSet::new();
            for (i, f) in fields.into_iter().enumerate() {
                let (Some(Value::String(fname)), Some(Value::String(fty))) =
                    (f.get("name").cloned(), f.get("type").cloned())
                else {
                    return err(format!(
                        "types.{name}[{i}]: must be an object with string `name` and `type`"
                    ));
                };
                if !is_identifier(&fname) {
                    return err(format!("types.{name}[{i}]: invalid member name {fname:?}"));
                }
                if !seen.insert(fname.clone()) {
                    return err(format!("types.{name}: duplicate member `{fname}`"));
                }
                out.push(Field {
                    name: fname,
                    ty: fty,
                });
            }
            types.insert(name, out);
        }
        if !types.contains_key(DOMAIN) {
            types.insert(DOMAIN.to_owned(), domain_type_for(&domain)?);
        }
        // Every member type must be elementary or a declared struct.
        for (name, fields) in &types {
            for f in fields {
                let base = base_type(&f.ty)
                    .map_err(|e| Eip712Error(format!("types.{name}.{}: {e}", f.name)))?;
                if !is_elementary(base) && !types.contains_key(base) {
                    return err(format!("types.{name}.{}: unknown type `{}`", f.name, f.ty));
                }
            }
        }
        if !types.contains_key(&primary_type) {
            return err(format!(
                "primaryType: `{primary_type}` is not defined in types"
            ));
        }
        if primary_type != DOMAIN && !message.is_object() {
            return err("message: missing or not an object");
        }
        Ok(TypedData {
            types,
            primary_type,
            domain,
            message,
        })
    }

    /// The EIP-712 signing hash.
    pub fn signing_hash(&self) -> Result<[u8; 32], Eip712Error> {
        let mut enc = Encoder {
            types: &self.types,
            type_hashes: HashMap::new(),
        };
        let domain = Value::Object(self.domain.clone());
        let separator = enc.hash_struct(DOMAIN, &domain, "domain")?;
        let mut buf = Vec::with_capacity(66);
        buf.extend_from_slice(&[0x19, 0x01]);
        buf.extend_from_slice(&separator);
        if self.primary_type != DOMAIN {
            buf.extend_from_slice(&enc.hash_struct(
                &self.primary_type,
                &self.message,
                "message",
            )?);
        }
        Ok(keccak(&buf))
    }

    /// The domain separator.
    pub fn domain_separator(&self) -> Result<[u8; 32], Eip712Error> {
        let mut enc = Encoder {
            types: &self.types,
            type_hashes: HashMap::new(),
        };
        enc.hash_struct(DOMAIN, &Value::Object(self.domain.clone()), "domain")
    }

    /// `encodeType` of a struct: `Name(type name,…)` followed by its dependencies, sorted.
    pub fn encode_type(&self, name: &str) -> Result<String, Eip712Error> {
        encode_type(&self.types, name)
    }
}

/// Hash a JSON typed-data document.
pub fn hash_typed_data_json(json: &str) -> Result<[u8; 32], Eip712Error> {
    TypedData::parse(json)?.signing_hash()
}

fn encode_type(types: &BTreeMap<String, Vec<Field>>, primary: &str) -> Result<String, Eip712Error> {
    let mut deps = BTreeSet::new();
    let mut stack = vec![primary.to_owned()];
    while let Some(t) = stack.pop() {
        let Some(fields) = types.get(&t) else {
            return err(format!("unknown type `{t}`"));
        };
        for f in fields {
            let base = base_type(&f.ty)?;
            if types.contains_key(base) && base != primary && deps.insert(base.to_owned()) {
                stack.push(base.to_owned());
            }
        }
    }
    let mut out = String::new();
    for t in std::iter::once(primary.to_owned()).chain(deps) {
        let fields = types.get(&t).map(Vec::as_slice).unwrap_or_default();
        out.push_str(&t);
        out.push('(');
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&f.ty);
            out.push(' ');
            out.push_str(&f.name);
        }
        out.push(')');
    }
    Ok(out)
}

struct Encoder<'a> {
    types: &'a BTreeMap<String, Vec<Field>>,
    type_hashes: HashMap<String, [u8; 32]>,
}

impl Encoder<'_> {
    fn type_hash(&mut self, name: &str) -> Result<[u8; 32], Eip712Error> {
        if let Some(h) = self.type_hashes.get(name) {
            return Ok(*h);
        }
        let h = keccak(encode_type(self.types, name)?.as_bytes());
        self.type_hashes.insert(name.to_owned(), h);
        Ok(h)
    }

    fn hash_struct(
        &mut self,
        name: &str,
        value: &Value,
        path: &str,
    ) -> Result<[u8; 32], Eip712Error> {
        let Value::Object(obj) = value else {
            return err(format!("{path}: expected an object for struct `{name}`"));
        };
        let types = self.types;
        let fields = types
            .get(name)
            .ok_or_else(|| Eip712Error(format!("{path}: unknown type `{name}`")))?;
        let mut buf = Vec::with_capacity(32 * (fields.len() + 1));
        buf.extend_from_slice(&self.type_hash(name)?);
        for f in fields {
            let p = format!("{path}.{}", f.name);
            let v = obj
                .get(&f.name)
                .ok_or_else(|| Eip712Error(format!("{p}: missing")))?;
            buf.extend_from_slice(&self.encode_value(&f.ty, v, &p)?);
        }
        Ok(keccak(&buf))
    }

    fn encode_value(
        &mut self,
        ty: &str,
        value: &Value,
        path: &str,
    ) -> Result<[u8; 32], Eip712Error> {
        if let Some((inner, len)) = split_array(ty)? {
            let Value::Array(items) = value else {
                return err(format!("{path}: expected an array for `{ty}`"));
            };
            if let Some(n) = len {
                if items.len() != n {
                    return err(format!(
                        "{path}: `{ty}` needs exactly {n} elements, got {}",
                        items.len()
                    ));
                }
            }
            let mut buf = Vec::with_capacity(32 * items.len());
            for (i, item) in items.iter().enumerate() {
                buf.extend_from_slice(&self.encode_value(inner, item, &format!("{path}[{i}]"))?);
            }
            return Ok(keccak(&buf));
        }
        if self.types.contains_key(ty) {
            return self.hash_struct(ty, value, path);
        }
        encode_atomic(ty, value, path)
    }
}

fn hex_bytes(value: &Value, path: &str, ty: &str) -> Result<Vec<u8>, Eip712Error> {
    let Value::String(s) = value else {
        return err(format!("{path}: `{ty}` must be a 0x-prefixed hex string"));
    };
    let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) else {
        return err(format!("{path}: `{ty}` must be a 0x-prefixed hex string"));
    };
    hex::decode(h).map_err(|_| Eip712Error(format!("{path}: `{ty}` is not valid even-length hex")))
}

/// Parse an integer value: JSON integer, decimal string, `0x` hex string, optionally negative.
/// Returns (negative, magnitude).
fn integer(value: &Value, path: &str, ty: &str) -> Result<(bool, U256), Eip712Error> {
    let bad = || {
        Eip712Error(format!(
            "{path}: `{ty}` must be an integer (number, decimal string or 0x hex string)"
        ))
    };
    match value {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Ok((false, U256::from_u128(u128::from(u))))
            } else if let Some(i) = n.as_i64() {
                Ok((i < 0, U256::from_u128(u128::from(i.unsigned_abs()))))
            } else {
                err(format!(
                    "{path}: `{ty}` must be an integer; give values above 2^64 as decimal strings"
                ))
            }
        }
        Value::String(s) => {
            let (neg, digits) = match s.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, s.as_str()),
            };
            let mag = if let Some(h) = digits
                .strip_prefix("0x")
                .or_else(|| digits.strip_prefix("0X"))
            {
                U256::from_hex_digits(h)
            } else {
                U256::from_dec_str(digits)
            }
            .ok_or_else(bad)?;
            Ok((neg && !mag.is_zero(), mag))
        }
        _ => Err(bad()),
    }
}

fn encode_atomic(ty: &str, value: &Value, path: &str) -> Result<[u8; 32], Eip712Error> {
    let mut out = [0u8; 32];
    match ty {
        "bool" => match value {
            Value::Bool(b) => out[31] = u8::from(*b),
            _ => return err(format!("{path}: `bool` must be true or false")),
        },
        "address" => {
            let b = hex_bytes(value, path, ty)?;
            if b.len() != 20 {
                return err(format!(
                    "{path}: `address` must be 20 bytes, got {}",
                    b.len()
                ));
            }
            out[12..].copy_from_slice(&b);
        }
        "string" => match value {
            Value::String(s) => out = keccak(s.as_bytes()),
            _ => return err(format!("{path}: `string` must be a string")),
        },
        "bytes" => out = keccak(&hex_bytes(value, path, ty)?),
        _ => {
            if let Some(n) = ty.strip_prefix("bytes") {
                let n: usize = n
                    .parse()
                    .map_err(|_| Eip712Error(format!("{path}: unknown type `{ty}`")))?;
                let b = hex_bytes(value, path, ty)?;
                if b.len() != n {
                    return err(format!(
                        "{path}: `{ty}` must be exactly {n} bytes, got {}",
                        b.len()
                    ));
                }
                out[..n].copy_from_slice(&b);
            } else if let Some(bits) = ty.strip_prefix("uint") {
                let bits: u32 = bits
                    .parse()
                    .map_err(|_| Eip712Error(format!("{path}: unknown type `{ty}`")))?;
                let (neg, mag) = integer(value, path, ty)?;
                if neg {
                    return err(format!("{path}: `{ty}` must not be negative"));
                }
                if mag.bits() > bits {
                    return err(format!("{path}: value does not fit in `{ty}`"));
                }
                out = mag.0;
            } else if let Some(bits) = ty.strip_prefix("int") {
                let bits: u32 = bits
                    .parse()
                    .map_err(|_| Eip712Error(format!("{path}: unknown type `{ty}`")))?;
                let (neg, mag) = integer(value, path, ty)?;
                // Range: -2^(bits-1) ..= 2^(bits-1) - 1.
                let fits = if neg {
                    mag.bits() < bits
                        || (mag.bits() == bits
                            && mag.trimmed().iter().skip(1).all(|b| *b == 0)
                            && mag.trimmed().first().is_some_and(|b| b.is_power_of_two()))
                } else {
                    mag.bits() < bits
                };
                if !fits {
                    return err(format!("{path}: value does not fit in `{ty}`"));
                }
                out = if neg { mag.wrapping_neg().0 } else { mag.0 };
            } else {
                return err(format!("{path}: unknown type `{ty}`"));
            }
        }
    }
    Ok(out)
}

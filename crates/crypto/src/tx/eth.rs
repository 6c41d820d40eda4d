//! Ethereum transactions: strict RLP decoding of the unsigned serializations that viem's
//! `serializeTransaction` and ethers' `Transaction.unsignedSerialized` produce, the signing hash,
//! and the signed serialization.
//!
//! Supported: legacy (6 items, pre-EIP-155; or 9 items `[…, chainId, 0, 0]`, EIP-155),
//! EIP-2930 (`0x01`), EIP-1559 (`0x02`), EIP-4844 blob transaction *bodies* without sidecars
//! (`0x03`, what @turnkey/viem sends), EIP-7702 (`0x04`). A typed transaction may carry
//! trailing all-zero `yParity, r, s` fields; they are ignored. A transaction that already
//! carries a signature is refused.

use std::fmt;

use k256::ecdsa::SigningKey;
use sha3::{Digest, Keccak256};

use super::TxError;

/// Largest unsigned transaction accepted, in bytes (the hex string is twice this).
pub const MAX_TX_BYTES: usize = 64 * 1024;

/// A 256-bit unsigned integer, big-endian. Ordering is numeric.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct U256(pub [u8; 32]);

impl U256 {
    /// Zero.
    pub const ZERO: U256 = U256([0; 32]);

    /// From up to 32 big-endian bytes (leading zeros allowed).
    pub fn from_be_slice(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > 32 {
            return None;
        }
        let mut out = [0u8; 32];
        out[32 - bytes.len()..].copy_from_slice(bytes);
        Some(U256(out))
    }

    /// From a `u128`.
    pub fn from_u128(v: u128) -> Self {
        let mut out = [0u8; 32];
        out[16..].copy_from_slice(&v.to_be_bytes());
        U256(out)
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|b| *b == 0)
    }

    /// The big-endian bytes without leading zeros (empty for zero).
    pub fn trimmed(&self) -> &[u8] {
        let first = self.0.iter().position(|b| *b != 0).unwrap_or(32);
        &self.0[first..]
    }

    /// The value as a `u64`, if it fits.
    pub fn to_u64(&self) -> Option<u64> {
        let t = self.trimmed();
        if t.len() > 8 {
            return None;
        }
        Some(t.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// The value as a `u128`, if it fits.
    pub fn to_u128(&self) -> Option<u128> {
        let t = self.trimmed();
        if t.len() > 16 {
            return None;
        }
        Some(t.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b)))
    }

    /// `self * m + a`, or `None` on overflow.
    fn mul_add_small(&self, m: u32, a: u32) -> Option<Self> {
        let mut out = [0u8; 32];
        let mut carry = u64::from(a);
        for i in (0..32).rev() {
            let v = u64::from(self.0[i]) * u64::from(m) + carry;
            out[i] = (v & 0xff) as u8;
            carry = v >> 8;
        }
        (carry == 0).then_some(U256(out))
    }

    /// Parse a decimal string (digits only, no sign, no separators).
    pub fn from_dec_str(s: &str) -> Option<Self> {
        if s.is_empty() || s.len() > 80 {
            return None;
        }
        let mut acc = U256::ZERO;
        for c in s.chars() {
            let d = c.to_digit(10)?;
            acc = acc.mul_add_small(10, d)?;
        }
        Some(acc)
    }

    /// Parse hex digits (no `0x`; odd length allowed; at most 64 significant digits).
    pub fn from_hex_digits(s: &str) -> Option<Self> {
        if s.is_empty() || s.len() > 80 {
            return None;
        }
        let mut acc = U256::ZERO;
        for c in s.chars() {
            let d = c.to_digit(16)?;
            acc = acc.mul_add_small(16, d)?;
        }
        Some(acc)
    }

    /// Two's complement negation (wrapping).
    pub fn wrapping_neg(&self) -> Self {
        let mut out = [0u8; 32];
        let mut carry = 1u16;
        for i in (0..32).rev() {
            let v = u16::from(!self.0[i]) + carry;
            out[i] = (v & 0xff) as u8;
            carry = v >> 8;
        }
        U256(out)
    }

    /// Number of significant bits.
    pub fn bits(&self) -> u32 {
        let t = self.trimmed();
        match t.first() {
            None => 0,
            Some(b) => (t.len() as u32 - 1) * 8 + (8 - b.leading_zeros()),
        }
    }

    fn div_rem_small(&self, d: u32) -> (Self, u32) {
        let mut out = [0u8; 32];
        let mut rem = 0u64;
        for (i, b) in self.0.iter().enumerate() {
            let cur = (rem << 8) | u64::from(*b);
            out[i] = (cur / u64::from(d)) as u8;
            rem = cur % u64::from(d);
        }
        (U256(out), rem as u32)
    }
}

impl fmt::Display for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        let mut digits = Vec::with_capacity(78);
        let mut v = *self;
        while !v.is_zero() {
            let (q, r) = v.div_rem_small(10);
            digits.push(b'0' + r as u8);
            v = q;
        }
        digits.reverse();
        f.write_str(&String::from_utf8_lossy(&digits))
    }
}

impl fmt::Debug for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Strict RLP: canonical lengths, no single bytes wrapped in a string header, no trailing
/// bytes. Decoding is iterative per level (callers walk lists explicitly), so hostile nesting
/// cannot exhaust the stack.
pub(crate) mod rlp {
    /// One decoded item: its payload and its complete encoding.
    #[derive(Debug, Clone, Copy)]
    pub struct Item<'a> {
        /// `true` for a list.
        pub is_list: bool,
        /// The payload (string bytes, or the concatenated encodings of the list's items).
        pub payload: &'a [u8],
        /// The complete encoding, header included.
        pub raw: &'a [u8],
    }

    fn be_len(bytes: &[u8]) -> Result<usize, String> {
        if bytes.first() == Some(&0) {
            return Err("RLP length has leading zero bytes (non-canonical)".into());
        }
        let mut v: usize = 0;
        for b in bytes {
            v = v
                .checked_mul(256)
                .and_then(|v| v.checked_add(usize::from(*b)))
                .ok_or_else(|| "RLP length does not fit in memory".to_string())?;
        }
        Ok(v)
    }

    /// Decode the item at the start of `input`; returns it and the rest.
    pub fn decode(input: &[u8]) -> Result<(Item<'_>, &[u8]), String> {
        let Some(&b0) = input.first() else {
            return Err("RLP input ended where an item was expected (truncated)".into());
        };
        let (is_list, header, len) = match b0 {
            0x00..=0x7f => {
                return Ok((
                    Item {
                        is_list: false,
                        payload: &input[..1],
                        raw: &input[..1],
                    },
                    &input[1..],
                ))
            }
            0x80..=0xb7 => (false, 1, usize::from(b0 - 0x80)),
            0xb8..=0xbf => {
                let n = usize::from(b0 - 0xb7);
                let bytes = input
                    .get(1..1 + n)
                    .ok_or_else(|| "RLP string length is truncated".to_string())?;
                let len = be_len(bytes)?;
                if len < 56 {
                    return Err(
                        "RLP string uses the long form for a short length (non-canonical)".into(),
                    );
                }
                (false, 1 + n, len)
            }
            0xc0..=0xf7 => (true, 1, usize::from(b0 - 0xc0)),
            0xf8..=0xff => {
                let n = usize::from(b0 - 0xf7);
                let bytes = input
                    .get(1..1 + n)
                    .ok_or_else(|| "RLP list length is truncated".to_string())?;
                let len = be_len(bytes)?;
                if len < 56 {
                    return Err(
                        "RLP list uses the long form for a short length (non-canonical)".into(),
                    );
                }
                (true, 1 + n, len)
            }
        };
        let end = header
            .checked_add(len)
            .ok_or_else(|| "RLP length overflows".to_string())?;
        if end > input.len() {
            return Err(format!(
                "RLP {} declares {len} bytes but only {} remain (truncated)",
                if is_list { "list" } else { "string" },
                input.len() - header
            ));
        }
        let payload = &input[header..end];
        if !is_list && len == 1 && payload[0] < 0x80 {
            return Err(
                "RLP single byte below 0x80 wrapped in a string header (non-canonical)".into(),
            );
        }
        Ok((
            Item {
                is_list,
                payload,
                raw: &input[..end],
            },
            &input[end..],
        ))
    }

    /// Decode exactly one item spanning all of `input`.
    pub fn decode_exact(input: &[u8]) -> Result<Item<'_>, String> {
        let (item, rest) = decode(input)?;
        if !rest.is_empty() {
            return Err(format!("{} trailing bytes after the RLP item", rest.len()));
        }
        Ok(item)
    }

    /// The items of a list's payload.
    pub fn items(payload: &[u8]) -> Result<Vec<Item<'_>>, String> {
        let mut out = Vec::new();
        let mut rest = payload;
        while !rest.is_empty() {
            let (item, r) = decode(rest)?;
            out.push(item);
            rest = r;
        }
        Ok(out)
    }

    fn header(out: &mut Vec<u8>, short: u8, long: u8, len: usize) {
        if len < 56 {
            out.push(short + len as u8);
        } else {
            let be = (len as u64).to_be_bytes();
            let first = be.iter().position(|b| *b != 0).unwrap_or(7);
            out.push(long + (8 - first) as u8);
            out.extend_from_slice(&be[first..]);
        }
    }

    /// Append the encoding of a byte string.
    pub fn encode_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
        if bytes.len() == 1 && bytes[0] < 0x80 {
            out.push(bytes[0]);
        } else {
            header(out, 0x80, 0xb7, bytes.len());
            out.extend_from_slice(bytes);
        }
    }

    /// Append the encoding of an unsigned integer given big-endian (leading zeros are trimmed).
    pub fn encode_uint(out: &mut Vec<u8>, be: &[u8]) {
        let first = be.iter().position(|b| *b != 0).unwrap_or(be.len());
        encode_bytes(out, &be[first..]);
    }

    /// A list whose items are the given complete encodings.
    pub fn encode_list(items: &[&[u8]]) -> Vec<u8> {
        let len: usize = items.iter().map(|i| i.len()).sum();
        let mut out = Vec::with_capacity(len + 9);
        header(&mut out, 0xc0, 0xf7, len);
        for i in items {
            out.extend_from_slice(i);
        }
        out
    }
}

use rlp::Item;

/// Ethereum transaction envelope types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EthTxType {
    /// Untyped legacy transaction (pre-EIP-155 when `chain_id` is `None`).
    Legacy,
    /// `0x01`, access lists.
    Eip2930,
    /// `0x02`, fee market.
    Eip1559,
    /// `0x03`, blob transaction body (no sidecar).
    Eip4844,
    /// `0x04`, set-code authorizations.
    Eip7702,
}

impl EthTxType {
    /// The envelope type byte (`0` for legacy).
    pub fn type_byte(self) -> u8 {
        match self {
            EthTxType::Legacy => 0,
            EthTxType::Eip2930 => 1,
            EthTxType::Eip1559 => 2,
            EthTxType::Eip4844 => 3,
            EthTxType::Eip7702 => 4,
        }
    }

    /// Short name (`legacy`, `eip2930`, `eip1559`, `eip4844`, `eip7702`), as viem names them.
    pub fn as_str(self) -> &'static str {
        match self {
            EthTxType::Legacy => "legacy",
            EthTxType::Eip2930 => "eip2930",
            EthTxType::Eip1559 => "eip1559",
            EthTxType::Eip4844 => "eip4844",
            EthTxType::Eip7702 => "eip7702",
        }
    }
}

/// One EIP-2930 access list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessListItem {
    /// Contract address.
    pub address: [u8; 20],
    /// Storage slots.
    pub storage_keys: Vec<[u8; 32]>,
}

/// One EIP-7702 authorization tuple (already signed by the authority).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// Chain id the authorization is valid on (0 = any).
    pub chain_id: U256,
    /// Contract whose code is delegated to.
    pub address: [u8; 20],
    /// The authority's nonce.
    pub nonce: u64,
    /// Signature y parity.
    pub y_parity: U256,
    /// Signature r.
    pub r: U256,
    /// Signature s.
    pub s: U256,
}

/// A parsed unsigned Ethereum transaction. Fields that a type does not have are `None`/empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedTx {
    /// Envelope type.
    pub tx_type: EthTxType,
    /// Chain id; `None` only for a pre-EIP-155 legacy transaction.
    pub chain_id: Option<u64>,
    /// Sender nonce.
    pub nonce: u64,
    /// Gas price (legacy, EIP-2930).
    pub gas_price: Option<U256>,
    /// Priority fee (EIP-1559 and later).
    pub max_priority_fee_per_gas: Option<U256>,
    /// Fee cap (EIP-1559 and later).
    pub max_fee_per_gas: Option<U256>,
    /// Gas limit.
    pub gas_limit: u64,
    /// Recipient; `None` is contract creation.
    pub to: Option<[u8; 20]>,
    /// Value in wei.
    pub value: U256,
    /// Call data (or init code).
    pub data: Vec<u8>,
    /// Access list (typed transactions).
    pub access_list: Vec<AccessListItem>,
    /// Blob fee cap (EIP-4844).
    pub max_fee_per_blob_gas: Option<U256>,
    /// Blob versioned hashes (EIP-4844).
    pub blob_versioned_hashes: Vec<[u8; 32]>,
    /// Authorizations (EIP-7702).
    pub authorization_list: Vec<Authorization>,
    /// The body fields exactly as received (each a complete RLP item), no signature fields.
    fields: Vec<Vec<u8>>,
}

fn invalid(msg: impl Into<String>) -> TxError {
    TxError::Invalid(msg.into())
}

fn field_err(field: &str, msg: impl fmt::Display) -> TxError {
    invalid(format!("field `{field}`: {msg}"))
}

fn string<'a>(item: &Item<'a>, field: &str) -> Result<&'a [u8], TxError> {
    if item.is_list {
        return Err(field_err(field, "expected a byte string, found a list"));
    }
    Ok(item.payload)
}

fn list<'a>(item: &Item<'a>, field: &str) -> Result<Vec<Item<'a>>, TxError> {
    if !item.is_list {
        return Err(field_err(field, "expected a list, found a byte string"));
    }
    rlp::items(item.payload).map_err(|e| field_err(field, e))
}

fn uint256(item: &Item<'_>, field: &str) -> Result<U256, TxError> {
    let b = string(item, field)?;
    if b.first() == Some(&0) {
        return Err(field_err(
            field,
            "integer has leading zero bytes (non-canonical RLP)",
        ));
    }
    U256::from_be_slice(b).ok_or_else(|| field_err(field, "integer is larger than 256 bits"))
}

fn uint64(item: &Item<'_>, field: &str) -> Result<u64, TxError> {
    uint256(item, field)?
        .to_u64()
        .ok_or_else(|| field_err(field, "integer does not fit in 64 bits"))
}

fn fixed<const N: usize>(item: &Item<'_>, field: &str) -> Result<[u8; N], TxError> {
    let b = string(item, field)?;
    b.try_into()
        .map_err(|_| field_err(field, format!("expected {N} bytes, got {}", b.len())))
}

fn to_field(item: &Item<'_>, required: bool) -> Result<Option<[u8; 20]>, TxError> {
    let b = string(item, "to")?;
    match b.len() {
        0 if required => Err(field_err(
            "to",
            "this transaction type cannot create a contract: `to` must be a 20-byte address",
        )),
        0 => Ok(None),
        20 => Ok(b.try_into().ok()),
        n => Err(field_err(
            "to",
            format!("must be empty (contract creation) or a 20-byte address, got {n} bytes"),
        )),
    }
}

fn access_list(item: &Item<'_>) -> Result<Vec<AccessListItem>, TxError> {
    let mut out = Vec::new();
    for (i, entry) in list(item, "accessList")?.iter().enumerate() {
        let name = format!("accessList[{i}]");
        let parts = list(entry, &name)?;
        let [addr, keys] = parts.as_slice() else {
            return Err(field_err(
                &name,
                format!("expected [address, storageKeys], got {} items", parts.len()),
            ));
        };
        let address = fixed::<20>(addr, &format!("{name}.address"))?;
        let storage_keys = list(keys, &format!("{name}.storageKeys"))?
            .iter()
            .map(|k| fixed::<32>(k, &format!("{name}.storageKeys[]")))
            .collect::<Result<_, _>>()?;
        out.push(AccessListItem {
            address,
            storage_keys,
        });
    }
    Ok(out)
}

fn authorization_list(item: &Item<'_>) -> Result<Vec<Authorization>, TxError> {
    let mut out = Vec::new();
    for (i, entry) in list(item, "authorizationList")?.iter().enumerate() {
        let name = format!("authorizationList[{i}]");
        let parts = list(entry, &name)?;
        let [chain_id, address, nonce, y, r, s] = parts.as_slice() else {
            return Err(field_err(
                &name,
                format!(
                    "expected [chainId, address, nonce, yParity, r, s], got {} items",
                    parts.len()
                ),
            ));
        };
        out.push(Authorization {
            chain_id: uint256(chain_id, &format!("{name}.chainId"))?,
            address: fixed::<20>(address, &format!("{name}.address"))?,
            nonce: uint64(nonce, &format!("{name}.nonce"))?,
            y_parity: uint256(y, &format!("{name}.yParity"))?,
            r: uint256(r, &format!("{name}.r"))?,
            s: uint256(s, &format!("{name}.s"))?,
        });
    }
    Ok(out)
}

/// Refuse signature fields that are not all zero/empty.
fn check_unsigned(v: &Item<'_>, r: &Item<'_>, s: &Item<'_>, v_name: &str) -> Result<(), TxError> {
    let v = uint256(v, v_name)?;
    let r = uint256(r, "r")?;
    let s = uint256(s, "s")?;
    if !v.is_zero() || !r.is_zero() || !s.is_zero() {
        return Err(invalid(
            "the transaction already carries a signature; send the unsigned serialization",
        ));
    }
    Ok(())
}

fn chain_id(item: &Item<'_>) -> Result<u64, TxError> {
    uint64(item, "chainId")
}

/// Parse unsigned transaction bytes.
pub fn parse_bytes(bytes: &[u8]) -> Result<UnsignedTx, TxError> {
    if bytes.len() > MAX_TX_BYTES {
        return Err(TxError::TooLarge {
            max: MAX_TX_BYTES,
            got: bytes.len(),
        });
    }
    let Some(&first) = bytes.first() else {
        return Err(invalid("the transaction is empty"));
    };
    match first {
        0xc0..=0xff => parse_legacy(bytes),
        0x01..=0x04 => parse_typed(first, &bytes[1..]),
        0x00 | 0x05..=0x7f => Err(TxError::Unsupported(format!(
            "Ethereum transaction type 0x{first:02x} is not supported (supported: legacy, 0x01 EIP-2930, 0x02 EIP-1559, 0x03 EIP-4844 without sidecars, 0x04 EIP-7702)"
        ))),
        0x80..=0xbf => Err(invalid(
            "not an Ethereum transaction: expected an RLP list (legacy) or a type byte 0x01-0x04 followed by an RLP list",
        )),
    }
}

fn top_list(bytes: &[u8]) -> Result<Vec<Item<'_>>, TxError> {
    let top = rlp::decode_exact(bytes).map_err(invalid)?;
    if !top.is_list {
        return Err(invalid("the transaction body must be an RLP list"));
    }
    rlp::items(top.payload).map_err(invalid)
}

fn parse_legacy(bytes: &[u8]) -> Result<UnsignedTx, TxError> {
    let items = top_list(bytes)?;
    let chain = match items.len() {
        6 => None,
        9 => {
            // EIP-155 signing form: [.., chainId, 0, 0]; non-zero r/s mean a signed transaction.
            let r = uint256(&items[7], "r")?;
            let s = uint256(&items[8], "s")?;
            if !r.is_zero() || !s.is_zero() {
                return Err(invalid(
                    "the transaction already carries a signature; send the unsigned serialization",
                ));
            }
            let id = chain_id(&items[6])?;
            if id == 0 {
                return Err(field_err(
                    "chainId",
                    "an EIP-155 transaction needs a non-zero chain id (omit the last three fields for a pre-EIP-155 transaction)",
                ));
            }
            Some(id)
        }
        n => {
            return Err(invalid(format!(
                "a legacy transaction has 6 fields (pre-EIP-155) or 9 fields (EIP-155: …, chainId, 0, 0), got {n}"
            )))
        }
    };
    Ok(UnsignedTx {
        tx_type: EthTxType::Legacy,
        chain_id: chain,
        nonce: uint64(&items[0], "nonce")?,
        gas_price: Some(uint256(&items[1], "gasPrice")?),
        max_priority_fee_per_gas: None,
        max_fee_per_gas: None,
        gas_limit: uint64(&items[2], "gas")?,
        to: to_field(&items[3], false)?,
        value: uint256(&items[4], "value")?,
        data: string(&items[5], "data")?.to_vec(),
        access_list: Vec::new(),
        max_fee_per_blob_gas: None,
        blob_versioned_hashes: Vec::new(),
        authorization_list: Vec::new(),
        fields: items[..6].iter().map(|i| i.raw.to_vec()).collect(),
    })
}

fn parse_typed(type_byte: u8, body: &[u8]) -> Result<UnsignedTx, TxError> {
    let (tx_type, n) = match type_byte {
        1 => (EthTxType::Eip2930, 8),
        2 => (EthTxType::Eip1559, 9),
        3 => (EthTxType::Eip4844, 11),
        _ => (EthTxType::Eip7702, 10),
    };
    let items = top_list(body)?;
    if tx_type == EthTxType::Eip4844 && items.len() == 4 && items[0].is_list {
        return Err(TxError::Unsupported(
            "blob transactions with sidecars (network wrapper) are not supported; send the transaction body without sidecars".into(),
        ));
    }
    if items.len() == n + 3 {
        check_unsigned(&items[n], &items[n + 1], &items[n + 2], "yParity")?;
    } else if items.len() != n {
        return Err(invalid(format!(
            "an {} (type 0x{type_byte:02x}) transaction has {n} fields, got {}",
            tx_type.as_str(),
            items.len()
        )));
    }
    let mut tx = UnsignedTx {
        tx_type,
        chain_id: Some(chain_id(&items[0])?),
        nonce: uint64(&items[1], "nonce")?,
        gas_price: None,
        max_priority_fee_per_gas: None,
        max_fee_per_gas: None,
        gas_limit: 0,
        to: None,
        value: U256::ZERO,
        data: Vec::new(),
        access_list: Vec::new(),
        max_fee_per_blob_gas: None,
        blob_versioned_hashes: Vec::new(),
        authorization_list: Vec::new(),
        fields: items[..n].iter().map(|i| i.raw.to_vec()).collect(),
    };
    // Index of `gas` (the fee fields sit between nonce and gas).
    let g = if tx_type == EthTxType::Eip2930 {
        tx.gas_price = Some(uint256(&items[2], "gasPrice")?);
        3
    } else {
        tx.max_priority_fee_per_gas = Some(uint256(&items[2], "maxPriorityFeePerGas")?);
        tx.max_fee_per_gas = Some(uint256(&items[3], "maxFeePerGas")?);
        4
    };
    tx.gas_limit = uint64(&items[g], "gas")?;
    let needs_to = matches!(tx_type, EthTxType::Eip4844 | EthTxType::Eip7702);
    tx.to = to_field(&items[g + 1], needs_to)?;
    tx.value = uint256(&items[g + 2], "value")?;
    tx.data = string(&items[g + 3], "data")?.to_vec();
    tx.access_list = access_list(&items[g + 4])?;
    match tx_type {
        EthTxType::Eip4844 => {
            tx.max_fee_per_blob_gas = Some(uint256(&items[g + 5], "maxFeePerBlobGas")?);
            tx.blob_versioned_hashes = list(&items[g + 6], "blobVersionedHashes")?
                .iter()
                .map(|h| fixed::<32>(h, "blobVersionedHashes[]"))
                .collect::<Result<_, _>>()?;
        }
        EthTxType::Eip7702 => {
            tx.authorization_list = authorization_list(&items[g + 5])?;
        }
        _ => {}
    }
    Ok(tx)
}

fn uint_item(be: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(be.len() + 1);
    rlp::encode_uint(&mut out, be);
    out
}

impl UnsignedTx {
    /// The exact bytes whose keccak256 is signed.
    pub fn signing_payload(&self) -> Vec<u8> {
        let mut items: Vec<&[u8]> = self.fields.iter().map(Vec::as_slice).collect();
        match (self.tx_type, self.chain_id) {
            (EthTxType::Legacy, None) => rlp::encode_list(&items),
            (EthTxType::Legacy, Some(id)) => {
                let id = uint_item(&id.to_be_bytes());
                items.push(&id);
                items.push(&[0x80]);
                items.push(&[0x80]);
                rlp::encode_list(&items)
            }
            (t, _) => {
                let mut out = vec![t.type_byte()];
                out.extend_from_slice(&rlp::encode_list(&items));
                out
            }
        }
    }

    /// keccak256 of [`UnsignedTx::signing_payload`].
    pub fn signing_hash(&self) -> [u8; 32] {
        Keccak256::digest(self.signing_payload()).into()
    }

    /// The signed serialization for a given signature (`y_odd` is the recovery id's parity).
    pub fn encode_signed(&self, y_odd: bool, r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
        let mut items: Vec<&[u8]> = self.fields.iter().map(Vec::as_slice).collect();
        let v = match (self.tx_type, self.chain_id) {
            (EthTxType::Legacy, None) => u128::from(27 + u8::from(y_odd)),
            (EthTxType::Legacy, Some(id)) => u128::from(id) * 2 + 35 + u128::from(y_odd),
            _ => u128::from(y_odd),
        };
        let v = uint_item(&v.to_be_bytes());
        let r = uint_item(r);
        let s = uint_item(s);
        items.push(&v);
        items.push(&r);
        items.push(&s);
        let body = rlp::encode_list(&items);
        if self.tx_type == EthTxType::Legacy {
            body
        } else {
            let mut out = Vec::with_capacity(body.len() + 1);
            out.push(self.tx_type.type_byte());
            out.extend_from_slice(&body);
            out
        }
    }

    /// Sign with a secp256k1 private key: RFC 6979, low-S. Returns the signed serialization.
    pub fn sign(&self, private_key: &[u8; 32]) -> Result<Vec<u8>, TxError> {
        let key = SigningKey::from_bytes(private_key.into()).map_err(|_| TxError::InvalidKey)?;
        let (sig, recid) = key
            .sign_prehash_recoverable(&self.signing_hash())
            .map_err(|_| TxError::Signing("secp256k1 signing failed".into()))?;
        if recid.is_x_reduced() {
            return Err(TxError::Signing(
                "signature r overflowed the field (cannot be encoded)".into(),
            ));
        }
        let bytes = sig.to_bytes();
        let mut r = [0u8; 32];
        let mut s = [0u8; 32];
        r.copy_from_slice(&bytes[..32]);
        s.copy_from_slice(&bytes[32..]);
        Ok(self.encode_signed(recid.is_y_odd(), &r, &s))
    }
}

impl U256 {
    /// `self + other`, or `None` on overflow.
    pub fn checked_add(&self, other: &U256) -> Option<U256> {
        let mut out = [0u8; 32];
        let mut carry = 0u16;
        for i in (0..32).rev() {
            let v = u16::from(self.0[i]) + u16::from(other.0[i]) + carry;
            out[i] = (v & 0xff) as u8;
            carry = v >> 8;
        }
        (carry == 0).then_some(U256(out))
    }

    /// `self * m` for a small factor, or `None` on overflow.
    pub fn checked_mul_small(&self, m: u32) -> Option<U256> {
        self.mul_add_small(m, 0)
    }
}

/// The fields of a transaction to build (what a wallet fills in before signing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTx {
    pub chain_id: u64,
    pub nonce: u64,
    pub gas_limit: u64,
    /// Recipient (the token contract for an ERC-20 transfer).
    pub to: [u8; 20],
    /// Wei.
    pub value: U256,
    pub data: Vec<u8>,
}

fn new_tx_items(tx: &NewTx) -> [Vec<u8>; 5] {
    let mut to = Vec::with_capacity(21);
    rlp::encode_bytes(&mut to, &tx.to);
    let mut data = Vec::with_capacity(tx.data.len() + 9);
    rlp::encode_bytes(&mut data, &tx.data);
    [
        uint_item(&tx.gas_limit.to_be_bytes()),
        to,
        uint_item(&tx.value.0),
        data,
        uint_item(&tx.nonce.to_be_bytes()),
    ]
}

/// The unsigned EIP-1559 serialization `0x02 || rlp([chainId, nonce, maxPriorityFeePerGas,
/// maxFeePerGas, gasLimit, to, value, data, accessList=[]])`, as viem's
/// `serializeTransaction` produces it (and [`parse_bytes`] accepts).
pub fn encode_unsigned_1559(
    tx: &NewTx,
    max_priority_fee_per_gas: &U256,
    max_fee_per_gas: &U256,
) -> Vec<u8> {
    let [gas, to, value, data, nonce] = new_tx_items(tx);
    let chain = uint_item(&tx.chain_id.to_be_bytes());
    let tip = uint_item(&max_priority_fee_per_gas.0);
    let cap = uint_item(&max_fee_per_gas.0);
    let access = rlp::encode_list(&[]);
    let body = rlp::encode_list(&[
        &chain, &nonce, &tip, &cap, &gas, &to, &value, &data, &access,
    ]);
    let mut out = Vec::with_capacity(body.len() + 1);
    out.push(EthTxType::Eip1559.type_byte());
    out.extend_from_slice(&body);
    out
}

/// The unsigned EIP-155 legacy serialization `rlp([nonce, gasPrice, gasLimit, to, value,
/// data, chainId, 0, 0])`, for chains without a base fee.
pub fn encode_unsigned_legacy(tx: &NewTx, gas_price: &U256) -> Vec<u8> {
    let [gas, to, value, data, nonce] = new_tx_items(tx);
    let price = uint_item(&gas_price.0);
    let chain = uint_item(&tx.chain_id.to_be_bytes());
    rlp::encode_list(&[
        &nonce,
        &price,
        &gas,
        &to,
        &value,
        &data,
        &chain,
        &[0x80],
        &[0x80],
    ])
}

/// The call data of an ERC-20 `transfer(to, amount)` (selector `a9059cbb`).
pub fn erc20_transfer_data(to: &[u8; 20], amount: &U256) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 64);
    out.extend_from_slice(&[0xa9, 0x05, 0x9c, 0xbb]);
    out.extend_from_slice(&[0u8; 12]);
    out.extend_from_slice(to);
    out.extend_from_slice(&amount.0);
    out
}

/// A signed transaction's hash (keccak256 of its serialization), as nodes name it.
pub fn tx_hash(signed: &[u8]) -> [u8; 32] {
    Keccak256::digest(signed).into()
}

#[cfg(test)]
mod build_tests {
    use super::*;

    fn sample() -> NewTx {
        NewTx {
            chain_id: 1337,
            nonce: 7,
            gas_limit: 21_000,
            to: [0x11; 20],
            value: U256::from_u128(1_000_000_000_000_000_000),
            data: Vec::new(),
        }
    }

    #[test]
    fn eip1559_round_trips_through_the_parser() {
        let tip = U256::from_u128(1_000_000_000);
        let cap = U256::from_u128(3_000_000_000);
        let bytes = encode_unsigned_1559(&sample(), &tip, &cap);
        let tx = parse_bytes(&bytes).unwrap();
        assert_eq!(tx.tx_type, EthTxType::Eip1559);
        assert_eq!(tx.chain_id, Some(1337));
        assert_eq!(tx.nonce, 7);
        assert_eq!(tx.gas_limit, 21_000);
        assert_eq!(tx.to, Some([0x11; 20]));
        assert_eq!(tx.value, sample().value);
        assert_eq!(tx.max_priority_fee_per_gas, Some(tip));
        assert_eq!(tx.max_fee_per_gas, Some(cap));
        assert!(tx.data.is_empty() && tx.access_list.is_empty());
    }

    #[test]
    fn eip1559_matches_viem() {
        // viem 2.x: serializeTransaction({chainId: 1, nonce: 0, maxPriorityFeePerGas: 1n,
        // maxFeePerGas: 2n, gas: 21000n, to: '0x' + '11'.repeat(20), value: 1n})
        let tx = NewTx {
            chain_id: 1,
            nonce: 0,
            gas_limit: 21_000,
            to: [0x11; 20],
            value: U256::from_u128(1),
            data: Vec::new(),
        };
        let bytes = encode_unsigned_1559(&tx, &U256::from_u128(1), &U256::from_u128(2));
        assert_eq!(
            hex::encode(bytes),
            "02df018001028252089411111111111111111111111111111111111111110180c0"
        );
        // … and with 1 gwei / 3 gwei, 1 ETH, nonce 7 on chain 1337.
        let bytes = encode_unsigned_1559(
            &sample(),
            &U256::from_u128(1_000_000_000),
            &U256::from_u128(3_000_000_000),
        );
        assert_eq!(
            hex::encode(bytes),
            "02f182053907843b9aca0084b2d05e00825208941111111111111111111111111111111111111111880de0b6b3a764000080c0"
        );
    }

    #[test]
    fn legacy_round_trips_and_erc20_data() {
        let mut t = sample();
        t.value = U256::ZERO;
        t.data = erc20_transfer_data(&[0x22; 20], &U256::from_u128(5));
        let bytes = encode_unsigned_legacy(&t, &U256::from_u128(20_000_000_000));
        let tx = parse_bytes(&bytes).unwrap();
        assert_eq!(tx.tx_type, EthTxType::Legacy);
        assert_eq!(tx.chain_id, Some(1337));
        assert_eq!(tx.gas_price, Some(U256::from_u128(20_000_000_000)));
        assert_eq!(&tx.data[..4], &[0xa9, 0x05, 0x9c, 0xbb]);
        assert_eq!(tx.data.len(), 68);
        assert_eq!(tx.data[35], 0x22);
        assert_eq!(tx.data[67], 5);
    }

    #[test]
    fn u256_checked_add() {
        let max = U256([0xff; 32]);
        assert_eq!(max.checked_add(&U256::from_u128(1)), None);
        assert_eq!(
            U256::from_u128(u128::MAX).checked_add(&U256::from_u128(1)),
            U256::from_dec_str("340282366920938463463374607431768211456")
        );
        assert_eq!(
            U256::from_u128(3).checked_mul_small(7),
            Some(U256::from_u128(21))
        );
    }
}

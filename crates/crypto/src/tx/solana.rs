//! Solana transactions: the wire format @turnkey/solana sends (a serialized legacy `Transaction`
//! with empty signature slots, or `VersionedTransaction.serialize()` with a v0 message), parsed
//! strictly; signing fills the slot of the signer's public key.
//!
//! Wire format: `shortvec(numSignatures) ‖ 64-byte signatures ‖ message`; message =
//! `[0x80 | version]` (versioned only) ‖ header (3 bytes) ‖ `shortvec` account keys (32 bytes
//! each) ‖ recent blockhash (32) ‖ `shortvec` instructions (`programIdIndex`, `shortvec`
//! account indexes, `shortvec` data) ‖ (v0 only) `shortvec` address table lookups (`key`,
//! `shortvec` writable indexes, `shortvec` readonly indexes).

use ed25519_dalek::{Signer, SigningKey};

use super::TxError;

/// Largest transaction accepted, in bytes.
pub const MAX_TX_BYTES: usize = 64 * 1024;

/// Message format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageVersion {
    /// Legacy message (no version prefix).
    Legacy,
    /// Versioned message, version 0 (address table lookups).
    V0,
}

/// The message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageHeader {
    /// Signatures the message needs; the first this many account keys are the signers.
    pub num_required_signatures: u8,
    /// Of the signers, how many (the last ones) are read-only.
    pub num_readonly_signed_accounts: u8,
    /// Of the non-signers, how many (the last ones) are read-only.
    pub num_readonly_unsigned_accounts: u8,
}

/// One compiled instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledInstruction {
    /// Index of the program account (static keys, then lookup-table keys).
    pub program_id_index: u8,
    /// Indexes of the accounts passed to the program.
    pub accounts: Vec<u8>,
    /// Instruction data.
    pub data: Vec<u8>,
}

/// One v0 address table lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressTableLookup {
    /// The lookup table account.
    pub account_key: [u8; 32],
    /// Indexes of writable addresses in the table.
    pub writable_indexes: Vec<u8>,
    /// Indexes of read-only addresses in the table.
    pub readonly_indexes: Vec<u8>,
}

/// A parsed Solana transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedTx {
    /// Signature slots (all zero when unsigned), one per required signer, in account-key order.
    pub signatures: Vec<[u8; 64]>,
    /// Message version.
    pub version: MessageVersion,
    /// Message header.
    pub header: MessageHeader,
    /// Static account keys; the first `num_required_signatures` are the signers.
    pub account_keys: Vec<[u8; 32]>,
    /// Recent blockhash (or durable nonce).
    pub recent_blockhash: [u8; 32],
    /// Instructions.
    pub instructions: Vec<CompiledInstruction>,
    /// Address table lookups (v0 only).
    pub address_table_lookups: Vec<AddressTableLookup>,
    /// The serialized message (what is signed).
    message: Vec<u8>,
}

fn invalid(msg: impl Into<String>) -> TxError {
    TxError::Invalid(msg.into())
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], TxError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| {
                invalid(format!(
                    "truncated: {what} needs {n} bytes at offset {}, {} remain",
                    self.pos,
                    self.bytes.len() - self.pos
                ))
            })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn byte(&mut self, what: &str) -> Result<u8, TxError> {
        Ok(self.take(1, what)?[0])
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], TxError> {
        let b = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// Solana's compact-u16: 7 bits per byte, at most 3 bytes, canonical (no redundant
    /// trailing zero groups), value at most `u16::MAX`.
    fn shortvec(&mut self, what: &str) -> Result<usize, TxError> {
        let mut value: u32 = 0;
        for i in 0..3 {
            let b = self.byte(what)?;
            let bits = u32::from(b & 0x7f);
            if i > 0 && b == 0 {
                return Err(invalid(format!("{what}: non-canonical compact-u16 length")));
            }
            value |= bits << (7 * i);
            if b & 0x80 == 0 {
                if value > u32::from(u16::MAX) {
                    return Err(invalid(format!("{what}: compact-u16 length overflows")));
                }
                return Ok(value as usize);
            }
            if i == 2 {
                break;
            }
        }
        Err(invalid(format!(
            "{what}: compact-u16 length is longer than 3 bytes"
        )))
    }

    fn bytes_vec(&mut self, what: &str) -> Result<Vec<u8>, TxError> {
        let n = self.shortvec(what)?;
        Ok(self.take(n, what)?.to_vec())
    }
}

/// Parse a serialized transaction (signature section followed by the message).
pub fn parse_bytes(bytes: &[u8]) -> Result<UnsignedTx, TxError> {
    if bytes.len() > MAX_TX_BYTES {
        return Err(TxError::TooLarge {
            max: MAX_TX_BYTES,
            got: bytes.len(),
        });
    }
    if bytes.is_empty() {
        return Err(invalid("the transaction is empty"));
    }
    let mut r = Reader { bytes, pos: 0 };
    let n_sigs = r.shortvec("signature count")?;
    let mut signatures = Vec::with_capacity(n_sigs.min(256));
    for _ in 0..n_sigs {
        signatures.push(r.array::<64>("signature")?);
    }
    let message_start = r.pos;
    if message_start >= bytes.len() {
        return Err(invalid(
            "the transaction has no message after its signatures (truncated)",
        ));
    }
    let first = bytes[message_start];
    let version = if first & 0x80 != 0 {
        r.pos += 1;
        match first & 0x7f {
            0 => MessageVersion::V0,
            v => {
                return Err(TxError::Unsupported(format!(
                    "Solana message version {v} is not supported (supported: legacy, v0)"
                )))
            }
        }
    } else {
        MessageVersion::Legacy
    };
    let header = MessageHeader {
        num_required_signatures: r.byte("message header")?,
        num_readonly_signed_accounts: r.byte("message header")?,
        num_readonly_unsigned_accounts: r.byte("message header")?,
    };
    let n_keys = r.shortvec("account key count")?;
    let mut account_keys = Vec::with_capacity(n_keys.min(256));
    for _ in 0..n_keys {
        account_keys.push(r.array::<32>("account key")?);
    }
    let recent_blockhash = r.array::<32>("recent blockhash")?;
    let n_ix = r.shortvec("instruction count")?;
    let mut instructions = Vec::with_capacity(n_ix.min(256));
    for _ in 0..n_ix {
        let program_id_index = r.byte("instruction program index")?;
        let accounts = r.bytes_vec("instruction account indexes")?;
        let data = r.bytes_vec("instruction data")?;
        instructions.push(CompiledInstruction {
            program_id_index,
            accounts,
            data,
        });
    }
    let mut address_table_lookups = Vec::new();
    if version == MessageVersion::V0 {
        let n = r.shortvec("address table lookup count")?;
        for _ in 0..n {
            let account_key = r.array::<32>("address table account")?;
            let writable_indexes = r.bytes_vec("address table writable indexes")?;
            let readonly_indexes = r.bytes_vec("address table readonly indexes")?;
            address_table_lookups.push(AddressTableLookup {
                account_key,
                writable_indexes,
                readonly_indexes,
            });
        }
    }
    if r.pos != bytes.len() {
        return Err(invalid(format!(
            "{} trailing bytes after the message",
            bytes.len() - r.pos
        )));
    }
    let tx = UnsignedTx {
        signatures,
        version,
        header,
        account_keys,
        recent_blockhash,
        instructions,
        address_table_lookups,
        message: bytes[message_start..].to_vec(),
    };
    tx.sanity_check()?;
    Ok(tx)
}

impl UnsignedTx {
    /// Structural checks the Solana runtime also makes (`sanitize`).
    fn sanity_check(&self) -> Result<(), TxError> {
        let h = self.header;
        let required = usize::from(h.num_required_signatures);
        if self.signatures.len() != required {
            return Err(invalid(format!(
                "the transaction has {} signature slots but its message requires {required} signatures",
                self.signatures.len()
            )));
        }
        if required == 0 {
            return Err(invalid(
                "the message requires no signatures (it has no fee payer)",
            ));
        }
        if h.num_readonly_signed_accounts >= h.num_required_signatures {
            return Err(invalid(
                "the message header marks every signer read-only (the fee payer must be writable)",
            ));
        }
        if required + usize::from(h.num_readonly_unsigned_accounts) > self.account_keys.len() {
            return Err(invalid(format!(
                "the message header counts more accounts than the {} account keys present",
                self.account_keys.len()
            )));
        }
        let lookups: usize = self
            .address_table_lookups
            .iter()
            .map(|l| l.writable_indexes.len() + l.readonly_indexes.len())
            .sum();
        let total = self.account_keys.len() + lookups;
        if total > 256 {
            return Err(invalid(format!(
                "the message references {total} accounts (at most 256)"
            )));
        }
        for (i, ix) in self.instructions.iter().enumerate() {
            if ix.program_id_index == 0 {
                return Err(invalid(format!(
                    "instruction {i}: the program cannot be the fee payer (program index 0)"
                )));
            }
            if usize::from(ix.program_id_index) >= self.account_keys.len() {
                return Err(invalid(format!(
                    "instruction {i}: program index {} is not a static account key",
                    ix.program_id_index
                )));
            }
            if let Some(a) = ix.accounts.iter().find(|a| usize::from(**a) >= total) {
                return Err(invalid(format!(
                    "instruction {i}: account index {a} is out of range ({total} accounts)"
                )));
            }
        }
        for (i, l) in self.address_table_lookups.iter().enumerate() {
            if l.writable_indexes.is_empty() && l.readonly_indexes.is_empty() {
                return Err(invalid(format!(
                    "address table lookup {i} selects no addresses"
                )));
            }
        }
        Ok(())
    }

    /// The serialized message: the bytes each signer signs.
    pub fn message_bytes(&self) -> &[u8] {
        &self.message
    }

    /// The signer public keys (the first `num_required_signatures` account keys).
    pub fn signer_keys(&self) -> &[[u8; 32]] {
        let n = usize::from(self.header.num_required_signatures).min(self.account_keys.len());
        &self.account_keys[..n]
    }

    /// The serialized transaction with the current signatures.
    pub fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 + 64 * self.signatures.len() + self.message.len());
        let mut n = self.signatures.len();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
        for s in &self.signatures {
            out.extend_from_slice(s);
        }
        out.extend_from_slice(&self.message);
        out
    }

    /// Sign the message with the ed25519 key whose public key is `public_key`, write the
    /// signature into that signer's slot, and return the whole serialized transaction.
    pub fn sign(&self, private_key: &[u8; 32], public_key: &[u8]) -> Result<Vec<u8>, TxError> {
        let key = SigningKey::from_bytes(private_key);
        if key.verifying_key().as_bytes().as_slice() != public_key {
            return Err(TxError::KeyMismatch);
        }
        let slot = self
            .signer_keys()
            .iter()
            .position(|k| k.as_slice() == public_key)
            .ok_or(TxError::NotASigner)?;
        let signature = key.sign(&self.message).to_bytes();
        let mut signed = self.clone();
        signed.signatures[slot] = signature;
        Ok(signed.serialize())
    }
}

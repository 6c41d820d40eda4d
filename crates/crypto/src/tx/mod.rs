//! `sign_transaction`: parse an unsigned transaction (no key needed, so bad input is refused
//! before any secret is loaded), then sign it.
//!
//! Error messages name the field and what was expected; they never contain key material.

pub mod eth;
pub mod solana;

use crate::hd::Curve;

/// Largest `unsignedTransaction` hex string accepted (characters, `0x` excluded).
pub const MAX_TX_HEX_CHARS: usize = 128 * 1024;

/// Errors from transaction parsing and signing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TxError {
    /// `type` is not a `TRANSACTION_TYPE_*` value.
    #[error("type: unknown transaction type {0:?}, expected TRANSACTION_TYPE_ETHEREUM or TRANSACTION_TYPE_SOLANA")]
    UnknownType(String),
    /// A valid request quorate does not support.
    #[error("{0}")]
    Unsupported(String),
    /// `unsignedTransaction` is not hex.
    #[error("unsignedTransaction: {0}")]
    InvalidHex(String),
    /// Over the size limit.
    #[error("unsignedTransaction: {got} bytes is over the {max}-byte limit")]
    TooLarge {
        /// The limit.
        max: usize,
        /// The size given.
        got: usize,
    },
    /// Malformed transaction.
    #[error("unsignedTransaction: {0}")]
    Invalid(String),
    /// The signing key is on the wrong curve for the transaction type.
    #[error("{kind} needs a {expected} key, but signWith is a {got} key")]
    WrongCurve {
        /// The transaction type.
        kind: &'static str,
        /// The curve it needs.
        expected: Curve,
        /// The key's curve.
        got: Curve,
    },
    /// The key is not among the transaction's required signers.
    #[error("signWith is not a required signer of this transaction")]
    NotASigner,
    /// The parsed value does not match the transaction type (internal misuse).
    #[error("the parsed transaction does not match its type")]
    Mismatch,
    /// The stored private key is not valid for its curve (server-side fault).
    #[error("the signing key is invalid")]
    InvalidKey,
    /// The private and public key do not belong together (server-side fault).
    #[error("the signing key does not match its public key")]
    KeyMismatch,
    /// Signing failed (server-side fault).
    #[error("signing failed: {0}")]
    Signing(String),
}

impl TxError {
    /// Whether the error is the caller's (HTTP 400) rather than the server's.
    pub fn is_client_error(&self) -> bool {
        !matches!(
            self,
            TxError::Mismatch | TxError::InvalidKey | TxError::KeyMismatch | TxError::Signing(_)
        )
    }
}

/// `TRANSACTION_TYPE_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionType {
    /// `TRANSACTION_TYPE_ETHEREUM`.
    Ethereum,
    /// `TRANSACTION_TYPE_SOLANA`.
    Solana,
}

impl TransactionType {
    /// Parse a Turnkey wire name. TRON, BITCOIN and TEMPO are valid Turnkey types that quorate
    /// does not sign: [`TxError::Unsupported`].
    pub fn parse(s: &str) -> Result<Self, TxError> {
        match s {
            "TRANSACTION_TYPE_ETHEREUM" => Ok(TransactionType::Ethereum),
            "TRANSACTION_TYPE_SOLANA" => Ok(TransactionType::Solana),
            "TRANSACTION_TYPE_TRON" | "TRANSACTION_TYPE_BITCOIN" | "TRANSACTION_TYPE_TEMPO" => {
                Err(TxError::Unsupported(format!(
                    "type: {s} is not supported by this server (supported: TRANSACTION_TYPE_ETHEREUM, TRANSACTION_TYPE_SOLANA)"
                )))
            }
            other => Err(TxError::UnknownType(other.to_owned())),
        }
    }

    /// The Turnkey wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionType::Ethereum => "TRANSACTION_TYPE_ETHEREUM",
            TransactionType::Solana => "TRANSACTION_TYPE_SOLANA",
        }
    }

    /// The curve this type's transactions are signed with.
    pub fn curve(self) -> Curve {
        match self {
            TransactionType::Ethereum => Curve::Secp256k1,
            TransactionType::Solana => Curve::Ed25519,
        }
    }
}

/// A parsed unsigned transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedTx {
    /// Ethereum.
    Ethereum(eth::UnsignedTx),
    /// Solana.
    Solana(solana::UnsignedTx),
}

impl ParsedTx {
    /// The transaction type.
    pub fn kind(&self) -> TransactionType {
        match self {
            ParsedTx::Ethereum(_) => TransactionType::Ethereum,
            ParsedTx::Solana(_) => TransactionType::Solana,
        }
    }
}

/// Decode hex with an optional `0x`, bounded.
fn decode_hex(unsigned_hex: &str) -> Result<Vec<u8>, TxError> {
    let s = unsigned_hex.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if s.len() > MAX_TX_HEX_CHARS {
        return Err(TxError::TooLarge {
            max: MAX_TX_HEX_CHARS / 2,
            got: s.len() / 2,
        });
    }
    if s.is_empty() {
        return Err(TxError::InvalidHex("must not be empty".into()));
    }
    if s.len() % 2 != 0 {
        return Err(TxError::InvalidHex(format!(
            "hex must have an even number of digits, got {}",
            s.len()
        )));
    }
    hex::decode(s).map_err(|e| TxError::InvalidHex(format!("not valid hex: {e}")))
}

/// Parse `unsignedTransaction` (hex, optional `0x`). No key needed.
pub fn parse(kind: TransactionType, unsigned_hex: &str) -> Result<ParsedTx, TxError> {
    let bytes = decode_hex(unsigned_hex)?;
    match kind {
        TransactionType::Ethereum => eth::parse_bytes(&bytes).map(ParsedTx::Ethereum),
        TransactionType::Solana => solana::parse_bytes(&bytes).map(ParsedTx::Solana),
    }
}

/// Sign a parsed transaction. Returns the signed transaction as lowercase hex without `0x`.
///
/// `public_key` is the key's public key (33/65-byte SEC1 for secp256k1, 32 bytes for
/// ed25519). For Solana it picks the signature slot; for Ethereum, when non-empty, it is
/// checked against the private key.
pub fn sign(
    parsed: &ParsedTx,
    curve: Curve,
    private_key: &[u8; 32],
    public_key: &[u8],
) -> Result<String, TxError> {
    let kind = parsed.kind();
    if curve != kind.curve() {
        return Err(TxError::WrongCurve {
            kind: kind.as_str(),
            expected: kind.curve(),
            got: curve,
        });
    }
    let signed = match parsed {
        ParsedTx::Ethereum(tx) => {
            if !public_key.is_empty() {
                check_secp256k1_public(private_key, public_key)?;
            }
            tx.sign(private_key)?
        }
        ParsedTx::Solana(tx) => tx.sign(private_key, public_key)?,
    };
    Ok(hex::encode(signed))
}

fn check_secp256k1_public(private_key: &[u8; 32], public_key: &[u8]) -> Result<(), TxError> {
    let key =
        k256::ecdsa::SigningKey::from_bytes(private_key.into()).map_err(|_| TxError::InvalidKey)?;
    let point = key.verifying_key().to_encoded_point(public_key.len() == 33);
    if point.as_bytes() == public_key {
        Ok(())
    } else {
        Err(TxError::KeyMismatch)
    }
}

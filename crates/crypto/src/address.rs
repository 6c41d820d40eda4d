//! Address encodings for wallet accounts (Turnkey `ADDRESS_FORMAT_*`).
//!
//! Public keys are 33-byte compressed or 65-byte uncompressed SEC1 for secp256k1, and
//! 32 bytes for ed25519; the curve is told apart by length.

use std::fmt;
use std::str::FromStr;

use bech32::{hrp, segwit, Bech32, Hrp};
use k256::elliptic_curve::point::AffineCoordinates;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::elliptic_curve::PrimeField;
use k256::{ProjectivePoint, Scalar};
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};
use sha3::Keccak256;

use crate::hd::Curve;

/// Errors from address encoding.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
    /// Not an `ADDRESS_FORMAT_*` value quorate supports.
    #[error("unsupported address format {0:?}")]
    UnsupportedFormat(String),
    /// The key's curve cannot be used with the format.
    #[error("address format {format} needs a {expected} key, got a {got} key")]
    CurveMismatch {
        /// The requested format.
        format: AddressFormat,
        /// The curve the format needs.
        expected: Curve,
        /// The curve of the key given.
        got: Curve,
    },
    /// Bytes that are not a valid public key.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(&'static str),
    /// Encoding failed (e.g. taproot tweak out of range).
    #[error("address encoding failed: {0}")]
    Encoding(String),
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, AddressError>;

macro_rules! formats {
    ($($variant:ident => $name:literal, $curve:ident;)*) => {
        /// Address formats quorate can encode.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AddressFormat {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl AddressFormat {
            /// Every supported format.
            pub const ALL: &'static [AddressFormat] = &[$(AddressFormat::$variant),*];

            /// Turnkey wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AddressFormat::$variant => $name,)*
                }
            }

            /// Parse a Turnkey wire name.
            pub fn parse(s: &str) -> Result<Self> {
                match s {
                    $($name => Ok(AddressFormat::$variant),)*
                    other => Err(AddressError::UnsupportedFormat(other.to_owned())),
                }
            }

            /// Curve of the keys this format encodes (the default for a new account).
            /// `ADDRESS_FORMAT_COMPRESSED` also accepts ed25519 keys; see [`Self::accepts`].
            pub fn curve(self) -> Curve {
                match self {
                    $(AddressFormat::$variant => Curve::$curve,)*
                }
            }
        }
    };
}

formats! {
    Uncompressed => "ADDRESS_FORMAT_UNCOMPRESSED", Secp256k1;
    Compressed => "ADDRESS_FORMAT_COMPRESSED", Secp256k1;
    Ethereum => "ADDRESS_FORMAT_ETHEREUM", Secp256k1;
    Solana => "ADDRESS_FORMAT_SOLANA", Ed25519;
    Cosmos => "ADDRESS_FORMAT_COSMOS", Secp256k1;
    Tron => "ADDRESS_FORMAT_TRON", Secp256k1;
    BitcoinMainnetP2pkh => "ADDRESS_FORMAT_BITCOIN_MAINNET_P2PKH", Secp256k1;
    BitcoinMainnetP2wpkh => "ADDRESS_FORMAT_BITCOIN_MAINNET_P2WPKH", Secp256k1;
    BitcoinMainnetP2tr => "ADDRESS_FORMAT_BITCOIN_MAINNET_P2TR", Secp256k1;
    BitcoinTestnetP2pkh => "ADDRESS_FORMAT_BITCOIN_TESTNET_P2PKH", Secp256k1;
    BitcoinTestnetP2wpkh => "ADDRESS_FORMAT_BITCOIN_TESTNET_P2WPKH", Secp256k1;
    BitcoinTestnetP2tr => "ADDRESS_FORMAT_BITCOIN_TESTNET_P2TR", Secp256k1;
}

impl AddressFormat {
    /// Whether keys on `curve` can be encoded in this format.
    pub fn accepts(self, curve: Curve) -> bool {
        self == AddressFormat::Compressed || self.curve() == curve
    }
}

impl fmt::Display for AddressFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AddressFormat {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// A validated public key.
enum Key {
    Secp256k1(k256::PublicKey),
    Ed25519([u8; 32]),
}

impl Key {
    fn parse(bytes: &[u8]) -> Result<Self> {
        match bytes.len() {
            32 => {
                let arr: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| AddressError::InvalidPublicKey("bad length"))?;
                ed25519_dalek::VerifyingKey::from_bytes(&arr)
                    .map_err(|_| AddressError::InvalidPublicKey("not an ed25519 point"))?;
                Ok(Key::Ed25519(arr))
            }
            33 | 65 => k256::PublicKey::from_sec1_bytes(bytes)
                .map(Key::Secp256k1)
                .map_err(|_| AddressError::InvalidPublicKey("not a secp256k1 point")),
            _ => Err(AddressError::InvalidPublicKey(
                "expected 32 (ed25519), 33 or 65 (secp256k1) bytes",
            )),
        }
    }

    fn curve(&self) -> Curve {
        match self {
            Key::Secp256k1(_) => Curve::Secp256k1,
            Key::Ed25519(_) => Curve::Ed25519,
        }
    }
}

/// Encode `public_key` in `format`.
pub fn encode(format: AddressFormat, public_key: &[u8]) -> Result<String> {
    let key = Key::parse(public_key)?;
    if !format.accepts(key.curve()) {
        return Err(AddressError::CurveMismatch {
            format,
            expected: format.curve(),
            got: key.curve(),
        });
    }
    let secp = match key {
        Key::Ed25519(bytes) => {
            return Ok(match format {
                AddressFormat::Solana => bs58::encode(bytes).into_string(),
                _ => hex::encode(bytes),
            })
        }
        Key::Secp256k1(pk) => pk,
    };
    let compressed = secp.to_encoded_point(true);
    let uncompressed = secp.to_encoded_point(false);
    let addr = match format {
        AddressFormat::Uncompressed => hex::encode(uncompressed.as_bytes()),
        AddressFormat::Compressed => hex::encode(compressed.as_bytes()),
        AddressFormat::Ethereum => eip55(&keccak_address(uncompressed.as_bytes())),
        AddressFormat::Tron => {
            let mut payload = vec![0x41];
            payload.extend_from_slice(&keccak_address(uncompressed.as_bytes()));
            bs58::encode(payload).with_check().into_string()
        }
        AddressFormat::Cosmos => {
            let hrp = Hrp::parse("cosmos").map_err(|e| AddressError::Encoding(e.to_string()))?;
            bech32::encode::<Bech32>(hrp, &hash160(compressed.as_bytes()))
                .map_err(|e| AddressError::Encoding(e.to_string()))?
        }
        AddressFormat::BitcoinMainnetP2pkh | AddressFormat::BitcoinTestnetP2pkh => {
            let version = if format == AddressFormat::BitcoinMainnetP2pkh {
                0x00
            } else {
                0x6f
            };
            let mut payload = vec![version];
            payload.extend_from_slice(&hash160(compressed.as_bytes()));
            bs58::encode(payload).with_check().into_string()
        }
        AddressFormat::BitcoinMainnetP2wpkh => segwit_v0(hrp::BC, &hash160(compressed.as_bytes()))?,
        AddressFormat::BitcoinTestnetP2wpkh => segwit_v0(hrp::TB, &hash160(compressed.as_bytes()))?,
        AddressFormat::BitcoinMainnetP2tr => segwit_v1(hrp::BC, &taproot_output_key(&secp)?)?,
        AddressFormat::BitcoinTestnetP2tr => segwit_v1(hrp::TB, &taproot_output_key(&secp)?)?,
        // ed25519-only format with a secp256k1 key was rejected by `accepts` above.
        AddressFormat::Solana => {
            return Err(AddressError::CurveMismatch {
                format,
                expected: Curve::Ed25519,
                got: Curve::Secp256k1,
            })
        }
    };
    Ok(addr)
}

/// Last 20 bytes of keccak256 over the 64-byte uncompressed point (without the 0x04 tag).
fn keccak_address(uncompressed: &[u8]) -> [u8; 20] {
    let digest = Keccak256::digest(uncompressed.get(1..).unwrap_or_default());
    let mut out = [0u8; 20];
    out.copy_from_slice(&digest[12..]);
    out
}

/// EIP-55 mixed-case checksum encoding, `0x`-prefixed.
fn eip55(addr: &[u8; 20]) -> String {
    let lower = hex::encode(addr);
    let hash = Keccak256::digest(lower.as_bytes());
    let mut out = String::with_capacity(42);
    out.push_str("0x");
    for (i, c) in lower.chars().enumerate() {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
        out.push(if nibble >= 8 {
            c.to_ascii_uppercase()
        } else {
            c
        });
    }
    out
}

/// RIPEMD160(SHA256(data)).
fn hash160(data: &[u8]) -> [u8; 20] {
    Ripemd160::digest(Sha256::digest(data)).into()
}

fn segwit_v0(hrp: Hrp, program: &[u8]) -> Result<String> {
    segwit::encode_v0(hrp, program).map_err(|e| AddressError::Encoding(e.to_string()))
}

fn segwit_v1(hrp: Hrp, program: &[u8]) -> Result<String> {
    segwit::encode_v1(hrp, program).map_err(|e| AddressError::Encoding(e.to_string()))
}

/// BIP-86 key-path-only taproot output key: Q = P + int(tagged_hash("TapTweak", x(P)))·G,
/// where P is the internal key lifted to even y. Returns x(Q).
fn taproot_output_key(internal: &k256::PublicKey) -> Result<[u8; 32]> {
    let affine = internal.as_affine();
    let x = affine.x();
    let mut p = ProjectivePoint::from(*affine);
    if bool::from(affine.y_is_odd()) {
        p = -p;
    }
    let tag = Sha256::digest(b"TapTweak");
    let tweak: [u8; 32] = Sha256::new()
        .chain_update(tag)
        .chain_update(tag)
        .chain_update(x)
        .finalize()
        .into();
    let t = Option::<Scalar>::from(Scalar::from_repr(tweak.into())).ok_or_else(|| {
        AddressError::Encoding("taproot tweak exceeds the curve order".to_owned())
    })?;
    let q = (p + ProjectivePoint::GENERATOR * t).to_affine();
    if q == k256::AffinePoint::IDENTITY {
        return Err(AddressError::Encoding(
            "taproot output key is infinity".to_owned(),
        ));
    }
    Ok(q.x().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in AddressFormat::ALL {
            assert_eq!(AddressFormat::parse(f.as_str()).unwrap(), *f);
            assert_eq!(f.to_string().parse::<AddressFormat>().unwrap(), *f);
        }
        assert!(matches!(
            AddressFormat::parse("ADDRESS_FORMAT_SUI"),
            Err(AddressError::UnsupportedFormat(_))
        ));
    }

    #[test]
    fn rejects_bad_keys() {
        assert!(matches!(
            encode(AddressFormat::Ethereum, &[2u8; 20]),
            Err(AddressError::InvalidPublicKey(_))
        ));
        let mut not_on_curve = [0u8; 33];
        not_on_curve[0] = 0x02;
        not_on_curve[32] = 0x07;
        assert!(encode(AddressFormat::Ethereum, &not_on_curve).is_err());
    }

    #[test]
    fn eip55_spec_example() {
        // From the EIP-55 specification's test cases.
        let raw: [u8; 20] = hex::decode("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(eip55(&raw), "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
    }
}

//! Turnkey-compatible export/import bundles: HPKE (RFC 9180) encryption signed by a server key.
//!
//! Wire format (see `shared/turnkey/WIRE.md` §9):
//!
//! - HPKE base mode, DHKEM(P-256, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM, `info = "turnkey_hpke"`,
//!   AAD = `enc ‖ pkR` (both 65-byte uncompressed SEC1 points).
//! - A *signed bundle* is the JSON string
//!   `{"version":"v1.0.0","data":"<hex of JSON>","dataSignature":"<hex DER>","enclaveQuorumPublic":"<hex 65 B>"}`
//!   where `dataSignature` is ECDSA P-256/SHA-256 over the raw `data` bytes by [`ServerSigner`].
//! - Export: `data = {"encappedPublic","ciphertext","organizationId"}`, encrypted to the client's
//!   target key.
//! - Import: `data = {"targetPublic","organizationId","userId"}`; the client answers with
//!   `{"encappedPublic","ciphertext"}` encrypted to `targetPublic`, opened by [`decrypt_import`].
//!
//! The client-side halves ([`decrypt_export_bundle`], [`encrypt_to_import_bundle`]) mirror
//! `@turnkey/crypto` so Rust tests and tools can drive the server like the SDK does.
//!
//! This is not an enclave: the signer key says "this server produced the bundle", nothing more.

use std::fmt;

use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::DhP256HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// HPKE `info` string used by every Turnkey bundle.
pub const HPKE_INFO: &[u8] = b"turnkey_hpke";
/// The `version` field of signed bundles.
pub const BUNDLE_VERSION: &str = "v1.0.0";
/// Length of an uncompressed SEC1 P-256 point (`04 ‖ X ‖ Y`).
pub const UNCOMPRESSED_LEN: usize = 65;

type Kem = DhP256HkdfSha256;
type HpkePublicKey = <Kem as hpke::Kem>::PublicKey;
type HpkePrivateKey = <Kem as hpke::Kem>::PrivateKey;
type HpkeEncappedKey = <Kem as hpke::Kem>::EncappedKey;

/// Errors from building or opening bundles. Messages never contain key or plaintext bytes.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A hex field did not decode.
    #[error("`{0}` is not valid hex")]
    InvalidHex(&'static str),
    /// A public key was not a valid 65-byte uncompressed P-256 point.
    #[error("`{0}` is not an uncompressed p-256 public key (65 bytes, 0x04 prefix)")]
    InvalidPublicKey(&'static str),
    /// A private key was not a valid 32-byte P-256 scalar.
    #[error("invalid p-256 private key")]
    InvalidPrivateKey,
    /// A JSON document was malformed or lacked a field.
    #[error("malformed {what} json at line {line} column {column}")]
    Json {
        /// Which document (e.g. `export bundle`).
        what: &'static str,
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
    },
    /// The bundle version is not `v1.0.0`.
    #[error("unsupported bundle version")]
    UnsupportedVersion,
    /// `enclaveQuorumPublic` differs from the expected signer key.
    #[error("bundle signer key does not match the expected signer")]
    SignerMismatch,
    /// `dataSignature` does not verify.
    #[error("bundle signature does not verify")]
    BadSignature,
    /// The signed organization or user id differs from the expected one.
    #[error("bundle `{0}` does not match the expected value")]
    IdMismatch(&'static str),
    /// HPKE encryption failed.
    #[error("hpke encryption failed")]
    Encrypt,
    /// HPKE decryption failed (wrong key, tampered ciphertext or wrong AAD).
    #[error("hpke decryption failed")]
    Decrypt,
    /// ECDSA signing failed.
    #[error("signing failed")]
    Sign,
    /// JSON serialization failed.
    #[error("could not serialize bundle json")]
    Serialize,
}

fn json_err(what: &'static str) -> impl Fn(serde_json::Error) -> BundleError {
    move |e| BundleError::Json {
        what,
        line: e.line(),
        column: e.column(),
    }
}

fn decode_hex(field: &'static str, s: &str) -> Result<Vec<u8>, BundleError> {
    hex::decode(s).map_err(|_| BundleError::InvalidHex(field))
}

fn parse_uncompressed(field: &'static str, bytes: &[u8]) -> Result<HpkePublicKey, BundleError> {
    if bytes.len() != UNCOMPRESSED_LEN || bytes.first() != Some(&0x04) {
        return Err(BundleError::InvalidPublicKey(field));
    }
    HpkePublicKey::from_bytes(bytes).map_err(|_| BundleError::InvalidPublicKey(field))
}

/// The server's bundle-signing key (P-256). Zeroized on drop; `Debug` shows only the public key.
pub struct ServerSigner {
    key: SigningKey,
}

impl ServerSigner {
    /// A fresh random signer.
    pub fn generate() -> Self {
        Self {
            key: SigningKey::random(&mut OsRng),
        }
    }

    /// A signer from a 32-byte big-endian P-256 scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BundleError> {
        if bytes.len() != 32 {
            return Err(BundleError::InvalidPrivateKey);
        }
        SigningKey::from_slice(bytes)
            .map(|key| Self { key })
            .map_err(|_| BundleError::InvalidPrivateKey)
    }

    /// The 32-byte scalar, for persisting (encrypt it at rest).
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes().into())
    }

    /// The 65-byte uncompressed public key.
    pub fn public_key_uncompressed(&self) -> Vec<u8> {
        self.key
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    /// Lowercase hex of the uncompressed public key: the bundles' `enclaveQuorumPublic`, and what
    /// SDK callers pass as `dangerouslyOverrideSignerPublicKey`.
    pub fn public_key_uncompressed_hex(&self) -> String {
        hex::encode(self.public_key_uncompressed())
    }

    /// ECDSA P-256/SHA-256 over `data`, DER-encoded, low-S normalized.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, BundleError> {
        let sig: Signature = self.key.try_sign(data).map_err(|_| BundleError::Sign)?;
        let sig = sig.normalize_s().unwrap_or(sig);
        Ok(sig.to_der().as_bytes().to_vec())
    }

    /// Wrap `data` into a signed `v1.0.0` bundle JSON string.
    fn signed_bundle(&self, data: &[u8]) -> Result<String, BundleError> {
        let bundle = SignedBundle {
            version: BUNDLE_VERSION.to_owned(),
            data: hex::encode(data),
            data_signature: hex::encode(self.sign(data)?),
            enclave_quorum_public: self.public_key_uncompressed_hex(),
        };
        serde_json::to_string(&bundle).map_err(|_| BundleError::Serialize)
    }
}

impl fmt::Debug for ServerSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSigner")
            .field("public_key", &self.public_key_uncompressed_hex())
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// An HPKE P-256 receiver key: the server's ephemeral import key, or a client's export target key.
///
/// The secret is zeroized on drop (the wrapped `p256::SecretKey` is `ZeroizeOnDrop`); `Debug`
/// shows only the public key.
pub struct ImportKey {
    secret: HpkePrivateKey,
    public: Vec<u8>,
}

impl ImportKey {
    /// A fresh random key pair.
    pub fn generate() -> Self {
        let (secret, public) = Kem::gen_keypair(&mut OsRng);
        Self {
            secret,
            public: public.to_bytes().to_vec(),
        }
    }

    /// A key pair from a 32-byte big-endian P-256 scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BundleError> {
        let secret =
            HpkePrivateKey::from_bytes(bytes).map_err(|_| BundleError::InvalidPrivateKey)?;
        let public = Kem::sk_to_pk(&secret).to_bytes().to_vec();
        Ok(Self { secret, public })
    }

    /// The 32-byte scalar, for persisting between `init_import_*` and `import_*` (encrypt it at rest).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.secret.to_bytes().to_vec())
    }

    /// The 65-byte uncompressed public key.
    pub fn public_key_uncompressed(&self) -> &[u8] {
        &self.public
    }

    /// Lowercase hex of the uncompressed public key.
    pub fn public_key_uncompressed_hex(&self) -> String {
        hex::encode(&self.public)
    }
}

impl fmt::Debug for ImportKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportKey")
            .field("public_key", &self.public_key_uncompressed_hex())
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignedBundle {
    version: String,
    data: String,
    data_signature: String,
    enclave_quorum_public: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportData {
    encapped_public: String,
    ciphertext: String,
    organization_id: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportData {
    target_public: String,
    organization_id: String,
    user_id: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EncryptedBundle {
    encapped_public: String,
    ciphertext: String,
}

/// HPKE-seal `plaintext` to `target` (65-byte uncompressed); returns `(enc, ciphertext)`.
fn seal_to(target: &[u8], plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), BundleError> {
    let pk = parse_uncompressed("targetPublicKey", target)?;
    let (enc, mut ctx) = hpke::setup_sender::<AesGcm256, HkdfSha256, Kem, _>(
        &OpModeS::Base,
        &pk,
        HPKE_INFO,
        &mut OsRng,
    )
    .map_err(|_| BundleError::Encrypt)?;
    let enc = enc.to_bytes().to_vec();
    let aad = [enc.as_slice(), target].concat();
    let ciphertext = ctx
        .seal(plaintext, &aad)
        .map_err(|_| BundleError::Encrypt)?;
    Ok((enc, ciphertext))
}

/// HPKE-open `ciphertext` with `key`, given the 65-byte uncompressed `enc`.
fn open_with(
    key: &ImportKey,
    enc: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, BundleError> {
    if enc.len() != UNCOMPRESSED_LEN || enc.first() != Some(&0x04) {
        return Err(BundleError::InvalidPublicKey("encappedPublic"));
    }
    let encapped = HpkeEncappedKey::from_bytes(enc)
        .map_err(|_| BundleError::InvalidPublicKey("encappedPublic"))?;
    let mut ctx = hpke::setup_receiver::<AesGcm256, HkdfSha256, Kem>(
        &OpModeR::Base,
        &key.secret,
        &encapped,
        HPKE_INFO,
    )
    .map_err(|_| BundleError::Decrypt)?;
    let aad = [enc, key.public_key_uncompressed()].concat();
    ctx.open(ciphertext, &aad)
        .map(Zeroizing::new)
        .map_err(|_| BundleError::Decrypt)
}

/// Build an export bundle: `plaintext` (UTF-8 mnemonic or raw private key) HPKE-encrypted to the
/// client's `target_public_key_hex` (uncompressed, 130 hex chars) and signed by `signer`.
pub fn export_bundle(
    signer: &ServerSigner,
    target_public_key_hex: &str,
    organization_id: &str,
    plaintext: &[u8],
) -> Result<String, BundleError> {
    let target = decode_hex("targetPublicKey", target_public_key_hex)?;
    let (enc, ciphertext) = seal_to(&target, plaintext)?;
    let data = ExportData {
        encapped_public: hex::encode(enc),
        ciphertext: hex::encode(ciphertext),
        organization_id: organization_id.to_owned(),
    };
    let data = serde_json::to_vec(&data).map_err(|_| BundleError::Serialize)?;
    signer.signed_bundle(&data)
}

/// Start an import: a fresh server HPKE key and the signed `importBundle` announcing it.
///
/// Keep the returned [`ImportKey`] (encrypted at rest) until the client's `encryptedBundle`
/// arrives, then call [`decrypt_import`].
pub fn init_import_bundle(
    signer: &ServerSigner,
    organization_id: &str,
    user_id: &str,
) -> Result<(String, ImportKey), BundleError> {
    let key = ImportKey::generate();
    let bundle = import_bundle_for(signer, &key, organization_id, user_id)?;
    Ok((bundle, key))
}

/// The signed `importBundle` for an existing import key (e.g. re-issued from storage).
pub fn import_bundle_for(
    signer: &ServerSigner,
    key: &ImportKey,
    organization_id: &str,
    user_id: &str,
) -> Result<String, BundleError> {
    let data = ImportData {
        target_public: key.public_key_uncompressed_hex(),
        organization_id: organization_id.to_owned(),
        user_id: user_id.to_owned(),
    };
    let data = serde_json::to_vec(&data).map_err(|_| BundleError::Serialize)?;
    signer.signed_bundle(&data)
}

/// Open the client's `encryptedBundle` (`{"encappedPublic","ciphertext"}`) with the import key.
pub fn decrypt_import(
    import_key: &ImportKey,
    encrypted_bundle_json: &str,
) -> Result<Zeroizing<Vec<u8>>, BundleError> {
    let parsed: EncryptedBundle =
        serde_json::from_str(encrypted_bundle_json).map_err(json_err("encrypted bundle"))?;
    let enc = decode_hex("encappedPublic", &parsed.encapped_public)?;
    let ciphertext = decode_hex("ciphertext", &parsed.ciphertext)?;
    open_with(import_key, &enc, &ciphertext)
}

/// Check a signed bundle's version, signer and signature; returns the raw signed `data` bytes.
///
/// `expected_signer_hex` is compared case-insensitively with `enclaveQuorumPublic` (the SDK
/// compares strings exactly, so our server always emits lowercase).
pub fn verify_signed_bundle(
    bundle_json: &str,
    expected_signer_hex: &str,
) -> Result<Vec<u8>, BundleError> {
    let bundle: SignedBundle =
        serde_json::from_str(bundle_json).map_err(json_err("signed bundle"))?;
    if bundle.version != BUNDLE_VERSION {
        return Err(BundleError::UnsupportedVersion);
    }
    if !bundle
        .enclave_quorum_public
        .eq_ignore_ascii_case(expected_signer_hex)
    {
        return Err(BundleError::SignerMismatch);
    }
    let signer = decode_hex("enclaveQuorumPublic", &bundle.enclave_quorum_public)?;
    let verifying = VerifyingKey::from_sec1_bytes(&signer)
        .map_err(|_| BundleError::InvalidPublicKey("enclaveQuorumPublic"))?;
    let data = decode_hex("data", &bundle.data)?;
    let signature = decode_hex("dataSignature", &bundle.data_signature)?;
    let signature = Signature::from_der(&signature).map_err(|_| BundleError::BadSignature)?;
    verifying
        .verify(&data, &signature)
        .map_err(|_| BundleError::BadSignature)?;
    Ok(data)
}

/// Client side of export (like `decryptExportBundle`): verify, check the organization id, decrypt
/// with the client's target key.
pub fn decrypt_export_bundle(
    export_bundle: &str,
    target_key: &ImportKey,
    organization_id: &str,
    expected_signer_hex: &str,
) -> Result<Zeroizing<Vec<u8>>, BundleError> {
    let data = verify_signed_bundle(export_bundle, expected_signer_hex)?;
    let data: ExportData = serde_json::from_slice(&data).map_err(json_err("export data"))?;
    if data.organization_id != organization_id {
        return Err(BundleError::IdMismatch("organizationId"));
    }
    let enc = decode_hex("encappedPublic", &data.encapped_public)?;
    let ciphertext = decode_hex("ciphertext", &data.ciphertext)?;
    open_with(target_key, &enc, &ciphertext)
}

/// Client side of import (like `encryptWalletToBundle` / `encryptPrivateKeyToBundle`): verify the
/// `importBundle`, check both ids, encrypt `plaintext` to its `targetPublic`; returns the
/// `encryptedBundle` JSON.
pub fn encrypt_to_import_bundle(
    import_bundle: &str,
    organization_id: &str,
    user_id: &str,
    expected_signer_hex: &str,
    plaintext: &[u8],
) -> Result<String, BundleError> {
    let data = verify_signed_bundle(import_bundle, expected_signer_hex)?;
    let data: ImportData = serde_json::from_slice(&data).map_err(json_err("import data"))?;
    if data.organization_id != organization_id {
        return Err(BundleError::IdMismatch("organizationId"));
    }
    if data.user_id != user_id {
        return Err(BundleError::IdMismatch("userId"));
    }
    let target = decode_hex("targetPublic", &data.target_public)?;
    let (enc, ciphertext) = seal_to(&target, plaintext)?;
    serde_json::to_string(&EncryptedBundle {
        encapped_public: hex::encode(enc),
        ciphertext: hex::encode(ciphertext),
    })
    .map_err(|_| BundleError::Serialize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let signer = ServerSigner::from_bytes(&[7u8; 32]).unwrap();
        let dbg = format!("{signer:?}");
        assert!(dbg.contains("<redacted>"));
        assert!(!dbg.contains(&hex::encode([7u8; 32])));
        let key = ImportKey::from_bytes(&[9u8; 32]).unwrap();
        let dbg = format!("{key:?}");
        assert!(dbg.contains(&key.public_key_uncompressed_hex()));
        assert!(!dbg.contains(&hex::encode([9u8; 32])));
    }

    #[test]
    fn keys_round_trip_through_bytes() {
        let signer = ServerSigner::generate();
        let again = ServerSigner::from_bytes(signer.to_bytes().as_slice()).unwrap();
        assert_eq!(
            signer.public_key_uncompressed_hex(),
            again.public_key_uncompressed_hex()
        );
        assert_eq!(signer.public_key_uncompressed().len(), UNCOMPRESSED_LEN);
        let key = ImportKey::generate();
        let again = ImportKey::from_bytes(&key.to_bytes()).unwrap();
        assert_eq!(
            key.public_key_uncompressed(),
            again.public_key_uncompressed()
        );
        assert_eq!(key.public_key_uncompressed().len(), UNCOMPRESSED_LEN);
    }

    #[test]
    fn zero_scalar_is_rejected() {
        assert!(ServerSigner::from_bytes(&[0u8; 32]).is_err());
        assert!(ImportKey::from_bytes(&[0u8; 32]).is_err());
        assert!(ServerSigner::from_bytes(&[1u8; 31]).is_err());
    }
}

//! libsecp256k1 (the `secp256k1` crate) for the two secp256k1 operations on the vault's hot
//! paths: public keys from secrets (every BIP-32 step that needs one, every new key) and
//! recoverable ECDSA signatures. It is several times faster than k256 at both on the target
//! machine; k256 stays for parsing, verification and recovery.

use secp256k1::{ecdsa::RecoverableSignature, All, Message, PublicKey, Secp256k1, SecretKey};
use std::sync::OnceLock;

fn context() -> &'static Secp256k1<All> {
    static CTX: OnceLock<Secp256k1<All>> = OnceLock::new();
    CTX.get_or_init(Secp256k1::new)
}

/// Compressed SEC1 public key of a secret scalar; `None` if it is zero or not below n.
pub(crate) fn public_key(secret: &[u8; 32]) -> Option<[u8; 33]> {
    let mut sk = SecretKey::from_slice(secret).ok()?;
    let public = PublicKey::from_secret_key(context(), &sk).serialize();
    sk.non_secure_erase();
    Some(public)
}

/// RFC 6979 deterministic ECDSA over a 32-byte digest, low-S: `(r ‖ s, recovery id)`.
pub(crate) fn sign_recoverable(secret: &[u8; 32], digest: &[u8; 32]) -> Option<([u8; 64], u8)> {
    let mut sk = SecretKey::from_slice(secret).ok()?;
    let sig: RecoverableSignature =
        context().sign_ecdsa_recoverable(&Message::from_digest(*digest), &sk);
    // The crate keeps its own copy of the scalar; wipe it (best effort, as it says).
    sk.non_secure_erase();
    let (recid, rs) = sig.serialize_compact();
    u8::try_from(recid.to_i32()).ok().map(|id| (rs, id))
}

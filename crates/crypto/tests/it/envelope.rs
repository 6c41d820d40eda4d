//! Envelope encryption tests: round trips, wrong keys, tampering, key files.

use std::path::PathBuf;

use quorate_crypto::envelope::{aad, DataKey, EnvelopeError, MasterKey};

/// A fresh path in the system temp dir (no `tempfile` dev-dependency), removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let mut nonce = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
        let dir = std::env::temp_dir().join(format!(
            "quorate-envelope-{tag}-{}-{}",
            std::process::id(),
            hex::encode(nonce)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const ORG: &[u8] = b"2c8b4a3e-0d1f-4b5a-9c6d-7e8f9a0b1c2d";

#[test]
fn wrap_and_seal_round_trip() {
    let master = MasterKey::generate();
    let dek = DataKey::generate();
    let dek_aad = aad(&[b"dek", ORG]);
    let wrapped = master.wrap(&dek, &dek_aad).unwrap();
    let record_aad = aad(&[ORG, b"wallet-1"]);
    let sealed = dek.seal(b"abandon abandon about", &record_aad).unwrap();

    let dek2 = master.unwrap(&wrapped, &dek_aad).unwrap();
    assert_eq!(
        dek2.open(&sealed, &record_aad).unwrap().as_slice(),
        b"abandon abandon about"
    );
    // Fresh nonce each time.
    assert_ne!(dek.seal(b"x", b"").unwrap(), dek.seal(b"x", b"").unwrap());
    // Empty plaintext is fine.
    assert!(dek
        .open(&dek.seal(b"", b"").unwrap(), b"")
        .unwrap()
        .is_empty());
}

#[test]
fn wrong_key_is_an_error() {
    let master = MasterKey::generate();
    let other = MasterKey::generate();
    let dek = DataKey::generate();
    let wrapped = master.wrap(&dek, ORG).unwrap();
    assert!(matches!(
        other.unwrap(&wrapped, ORG),
        Err(EnvelopeError::Decrypt)
    ));
    let sealed = dek.seal(b"secret", ORG).unwrap();
    assert!(matches!(
        DataKey::generate().open(&sealed, ORG),
        Err(EnvelopeError::Decrypt)
    ));
}

#[test]
fn tampered_ciphertext_or_aad_is_an_error() {
    let master = MasterKey::generate();
    let dek = DataKey::generate();
    let sealed = dek.seal(b"secret", &aad(&[ORG, b"r1"])).unwrap();
    for i in 0..sealed.len() {
        let mut t = sealed.clone();
        t[i] ^= 0x01;
        assert!(dek.open(&t, &aad(&[ORG, b"r1"])).is_err(), "byte {i}");
    }
    assert!(matches!(
        dek.open(&sealed, &aad(&[ORG, b"r2"])),
        Err(EnvelopeError::Decrypt)
    ));
    assert!(dek
        .open(&sealed[..sealed.len() - 1], &aad(&[ORG, b"r1"]))
        .is_err());
    assert!(dek.open(&[], b"").is_err());

    let wrapped = master.wrap(&dek, b"org-a").unwrap();
    assert!(matches!(
        master.unwrap(&wrapped, b"org-b"),
        Err(EnvelopeError::Decrypt)
    ));
}

#[test]
fn fingerprint_detects_wrong_master_key() {
    let key = MasterKey::from_bytes(&[1u8; 32]).unwrap();
    let fp = key.fingerprint();
    assert_eq!(fp.len(), 64);
    assert_eq!(fp, MasterKey::from_bytes(&[1u8; 32]).unwrap().fingerprint());
    assert!(key.matches_fingerprint(&fp));
    assert!(key.matches_fingerprint(&fp.to_uppercase()));
    assert!(!key.matches_fingerprint(""));
    assert!(!MasterKey::generate().matches_fingerprint(&fp));
    assert!(!fp.contains(&hex::encode([1u8; 32])));
}

#[test]
fn hex_and_bytes_constructors() {
    let key = MasterKey::generate();
    let again = MasterKey::from_hex(&format!("  {}\n", key.to_hex().as_str())).unwrap();
    assert_eq!(key.fingerprint(), again.fingerprint());
    assert!(matches!(
        MasterKey::from_hex("zz"),
        Err(EnvelopeError::InvalidHex)
    ));
    assert!(matches!(
        MasterKey::from_hex("00"),
        Err(EnvelopeError::InvalidKeyLength)
    ));
    assert!(matches!(
        MasterKey::from_bytes(&[0u8; 31]),
        Err(EnvelopeError::InvalidKeyLength)
    ));
}

#[test]
fn debug_redacts() {
    let key = MasterKey::from_bytes(&[0xabu8; 32]).unwrap();
    let dek = DataKey::generate();
    let dbg = format!("{key:?} {dek:?}");
    assert_eq!(dbg, "MasterKey(<redacted>) DataKey(<redacted>)");
    assert!(!dbg.contains("abab"));
}

#[test]
fn load_or_create_is_stable_and_private() {
    let dir = TempDir::new("kf");
    let path = dir.0.join("master.key");
    let first = MasterKey::load_or_create(&path).unwrap();
    let second = MasterKey::load_or_create(&path).unwrap();
    assert_eq!(first.fingerprint(), second.fingerprint());
    assert_eq!(
        MasterKey::load(&path).unwrap().fingerprint(),
        first.fingerprint()
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mode {mode:o}");
    }
}

#[test]
fn load_errors_do_not_overwrite() {
    let dir = TempDir::new("bad");
    let path = dir.0.join("master.key");
    std::fs::write(&path, "not a key").unwrap();
    assert!(matches!(
        MasterKey::load_or_create(&path),
        Err(EnvelopeError::InvalidHex)
    ));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key");
    let missing_dir = dir.0.join("no/such/dir/master.key");
    let err = MasterKey::load_or_create(&missing_dir).unwrap_err();
    assert!(matches!(err, EnvelopeError::Io { .. }));
    assert!(err.to_string().contains("master.key"), "{err}");
    assert!(matches!(
        MasterKey::load(dir.0.join("absent")),
        Err(EnvelopeError::Io { .. })
    ));
}

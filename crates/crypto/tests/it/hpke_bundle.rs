//! Export/import bundle tests: round trips against an independent HPKE client, signatures, bad input.

use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::DhP256HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use quorate_crypto::hpke_bundle::{
    decrypt_export_bundle, decrypt_import, encrypt_to_import_bundle, export_bundle,
    import_bundle_for, init_import_bundle, verify_signed_bundle, BundleError, ImportKey,
    ServerSigner, BUNDLE_VERSION, HPKE_INFO,
};
use serde_json::Value;

type Kem = DhP256HkdfSha256;

const ORG: &str = "2c8b4a3e-0d1f-4b5a-9c6d-7e8f9a0b1c2d";
const USER: &str = "7f1e2d3c-4b5a-4968-8776-655443322110";
const MNEMONIC: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

fn parse(json: &str) -> Value {
    serde_json::from_str(json).unwrap()
}

fn data_of(bundle: &Value) -> Value {
    let data = hex::decode(bundle["data"].as_str().unwrap()).unwrap();
    serde_json::from_slice(&data).unwrap()
}

/// Verify a bundle signature exactly as the SDK does: hex-decode `data`, ECDSA P-256/SHA-256.
fn sdk_style_verify(bundle: &Value, signer_hex: &str) {
    assert_eq!(bundle["enclaveQuorumPublic"].as_str().unwrap(), signer_hex);
    let vk = VerifyingKey::from_sec1_bytes(&hex::decode(signer_hex).unwrap()).unwrap();
    let data = hex::decode(bundle["data"].as_str().unwrap()).unwrap();
    let sig = Signature::from_der(&hex::decode(bundle["dataSignature"].as_str().unwrap()).unwrap())
        .unwrap();
    vk.verify(&data, &sig).unwrap();
    assert!(sig.normalize_s().is_none(), "signature is low-S");
}

/// Independent client-side HPKE open, straight from the `hpke` crate.
fn client_open(sk: &<Kem as hpke::Kem>::PrivateKey, pk: &[u8], enc: &[u8], ct: &[u8]) -> Vec<u8> {
    let encapped = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).unwrap();
    let mut ctx = hpke::setup_receiver::<AesGcm256, HkdfSha256, Kem>(
        &OpModeR::Base,
        sk,
        &encapped,
        HPKE_INFO,
    )
    .unwrap();
    ctx.open(ct, &[enc, pk].concat()).unwrap()
}

/// Independent client-side HPKE seal, producing `{"encappedPublic","ciphertext"}`.
fn client_seal(target_hex: &str, plaintext: &[u8]) -> String {
    let pk_bytes = hex::decode(target_hex).unwrap();
    let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(&pk_bytes).unwrap();
    let (enc, mut ctx) = hpke::setup_sender::<AesGcm256, HkdfSha256, Kem, _>(
        &OpModeS::Base,
        &pk,
        HPKE_INFO,
        &mut rand_core::OsRng,
    )
    .unwrap();
    let enc = enc.to_bytes().to_vec();
    let ct = ctx
        .seal(plaintext, &[enc.as_slice(), &pk_bytes].concat())
        .unwrap();
    serde_json::json!({"encappedPublic": hex::encode(enc), "ciphertext": hex::encode(ct)})
        .to_string()
}

#[test]
fn export_bundle_has_the_wire_shape_and_decrypts_with_plain_hpke() {
    let signer = ServerSigner::generate();
    let (sk, pk) = Kem::gen_keypair(&mut rand_core::OsRng);
    let pk_bytes = pk.to_bytes().to_vec();
    let bundle = export_bundle(&signer, &hex::encode(&pk_bytes), ORG, MNEMONIC.as_bytes()).unwrap();
    let v = parse(&bundle);
    let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert_eq!(v["version"], BUNDLE_VERSION);
    assert_eq!(
        v["enclaveQuorumPublic"].as_str().unwrap().len(),
        130,
        "uncompressed hex"
    );
    sdk_style_verify(&v, &signer.public_key_uncompressed_hex());

    let data = data_of(&v);
    assert_eq!(data["organizationId"], ORG);
    let enc = hex::decode(data["encappedPublic"].as_str().unwrap()).unwrap();
    assert_eq!(enc.len(), 65);
    assert_eq!(enc[0], 4);
    let ct = hex::decode(data["ciphertext"].as_str().unwrap()).unwrap();
    assert_eq!(client_open(&sk, &pk_bytes, &enc, &ct), MNEMONIC.as_bytes());
}

#[test]
fn export_round_trips_through_library_client() {
    let signer = ServerSigner::generate();
    let target = ImportKey::generate();
    let raw_key = [0x42u8; 32];
    let bundle = export_bundle(
        &signer,
        &target.public_key_uncompressed_hex(),
        ORG,
        &raw_key,
    )
    .unwrap();
    let signer_hex = signer.public_key_uncompressed_hex();
    let plain = decrypt_export_bundle(&bundle, &target, ORG, &signer_hex).unwrap();
    assert_eq!(plain.as_slice(), raw_key);
    // Uppercase target hex is accepted too.
    let upper = target.public_key_uncompressed_hex().to_uppercase();
    assert!(export_bundle(&signer, &upper, ORG, b"x").is_ok());

    assert!(matches!(
        decrypt_export_bundle(&bundle, &target, "other-org", &signer_hex),
        Err(BundleError::IdMismatch("organizationId"))
    ));
    let other_signer = ServerSigner::generate().public_key_uncompressed_hex();
    assert!(matches!(
        decrypt_export_bundle(&bundle, &target, ORG, &other_signer),
        Err(BundleError::SignerMismatch)
    ));
    let wrong_target = ImportKey::generate();
    assert!(matches!(
        decrypt_export_bundle(&bundle, &wrong_target, ORG, &signer_hex),
        Err(BundleError::Decrypt)
    ));
}

#[test]
fn import_round_trips_with_plain_hpke_client() {
    let signer = ServerSigner::generate();
    let (bundle, key) = init_import_bundle(&signer, ORG, USER).unwrap();
    let v = parse(&bundle);
    assert_eq!(v["version"], BUNDLE_VERSION);
    sdk_style_verify(&v, &signer.public_key_uncompressed_hex());
    let data = data_of(&v);
    assert_eq!(data["organizationId"], ORG);
    assert_eq!(data["userId"], USER);
    let target = data["targetPublic"].as_str().unwrap();
    assert_eq!(target, key.public_key_uncompressed_hex());

    let encrypted = client_seal(target, MNEMONIC.as_bytes());
    let plain = decrypt_import(&key, &encrypted).unwrap();
    assert_eq!(plain.as_slice(), MNEMONIC.as_bytes());

    // The key survives persisting and reloading.
    let reloaded = ImportKey::from_bytes(&key.to_bytes()).unwrap();
    assert_eq!(
        decrypt_import(&reloaded, &encrypted).unwrap().as_slice(),
        MNEMONIC.as_bytes()
    );
    // And a re-issued bundle names the same target.
    let again = import_bundle_for(&signer, &reloaded, ORG, USER).unwrap();
    assert_eq!(data_of(&parse(&again))["targetPublic"], target);
}

#[test]
fn import_round_trips_through_library_client() {
    let signer = ServerSigner::generate();
    let signer_hex = signer.public_key_uncompressed_hex();
    let (bundle, key) = init_import_bundle(&signer, ORG, USER).unwrap();
    let encrypted = encrypt_to_import_bundle(&bundle, ORG, USER, &signer_hex, &[7u8; 32]).unwrap();
    assert_eq!(
        decrypt_import(&key, &encrypted).unwrap().as_slice(),
        [7u8; 32]
    );
    assert!(matches!(
        encrypt_to_import_bundle(&bundle, ORG, "someone-else", &signer_hex, b"x"),
        Err(BundleError::IdMismatch("userId"))
    ));
    assert!(matches!(
        encrypt_to_import_bundle(&bundle, "org-x", USER, &signer_hex, b"x"),
        Err(BundleError::IdMismatch("organizationId"))
    ));
    // Another import key cannot open it.
    let other = ImportKey::generate();
    assert!(matches!(
        decrypt_import(&other, &encrypted),
        Err(BundleError::Decrypt)
    ));
}

#[test]
fn tampering_is_detected() {
    let signer = ServerSigner::generate();
    let signer_hex = signer.public_key_uncompressed_hex();
    let target = ImportKey::generate();
    let bundle = export_bundle(
        &signer,
        &target.public_key_uncompressed_hex(),
        ORG,
        b"secret",
    )
    .unwrap();
    let mut v = parse(&bundle);

    // Flip one byte of the signed data: signature fails.
    let mut data = hex::decode(v["data"].as_str().unwrap()).unwrap();
    let last = data.len() - 2;
    data[last] ^= 1;
    v["data"] = Value::String(hex::encode(&data));
    assert!(matches!(
        verify_signed_bundle(&v.to_string(), &signer_hex),
        Err(BundleError::BadSignature | BundleError::Json { .. })
    ));

    // Wrong version.
    let mut v = parse(&bundle);
    v["version"] = Value::String("v2".into());
    assert!(matches!(
        verify_signed_bundle(&v.to_string(), &signer_hex),
        Err(BundleError::UnsupportedVersion)
    ));

    // Tampered client ciphertext: decryption fails.
    let (import_bundle, key) = init_import_bundle(&signer, ORG, USER).unwrap();
    let target_hex = data_of(&parse(&import_bundle))["targetPublic"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut enc = parse(&client_seal(&target_hex, b"mnemonic words"));
    let mut ct = hex::decode(enc["ciphertext"].as_str().unwrap()).unwrap();
    ct[0] ^= 0x80;
    enc["ciphertext"] = Value::String(hex::encode(ct));
    assert!(matches!(
        decrypt_import(&key, &enc.to_string()),
        Err(BundleError::Decrypt)
    ));
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let signer = ServerSigner::generate();
    let key = ImportKey::generate();
    let pk = key.public_key_uncompressed_hex();
    // Target key: not hex, compressed, wrong length, not on curve.
    assert!(matches!(
        export_bundle(&signer, "zz", ORG, b"x"),
        Err(BundleError::InvalidHex(_))
    ));
    let compressed = format!("02{}", &pk[2..66]);
    assert!(matches!(
        export_bundle(&signer, &compressed, ORG, b"x"),
        Err(BundleError::InvalidPublicKey(_))
    ));
    assert!(export_bundle(&signer, "", ORG, b"x").is_err());
    let off_curve = format!("04{}", "11".repeat(64));
    assert!(matches!(
        export_bundle(&signer, &off_curve, ORG, b"x"),
        Err(BundleError::InvalidPublicKey(_))
    ));

    // Encrypted bundle: not JSON, missing fields, bad hex, short enc, empty ciphertext.
    for bad in [
        "",
        "not json",
        "{}",
        r#"{"encappedPublic":"04"}"#,
        r#"{"encappedPublic":"zz","ciphertext":"00"}"#,
        r#"{"encappedPublic":"0411","ciphertext":"00"}"#,
    ] {
        assert!(decrypt_import(&key, bad).is_err(), "{bad}");
    }
    let empty_ct = serde_json::json!({"encappedPublic": pk, "ciphertext": ""}).to_string();
    assert!(matches!(
        decrypt_import(&key, &empty_ct),
        Err(BundleError::Decrypt)
    ));

    // Signed bundle garbage.
    let signer_hex = signer.public_key_uncompressed_hex();
    for bad in ["", "[]", r#"{"version":"v1.0.0"}"#] {
        assert!(verify_signed_bundle(bad, &signer_hex).is_err(), "{bad}");
    }
    let bad_sig = serde_json::json!({
        "version": BUNDLE_VERSION, "data": "00", "dataSignature": "3000",
        "enclaveQuorumPublic": signer_hex,
    })
    .to_string();
    assert!(matches!(
        verify_signed_bundle(&bad_sig, &signer_hex),
        Err(BundleError::BadSignature)
    ));
    // Error messages carry no input.
    let err =
        decrypt_import(&key, r#"{"encappedPublic":"secretish","ciphertext":"00"}"#).unwrap_err();
    assert!(!err.to_string().contains("secretish"), "{err}");
}

/// Fixed keys for the SDK cross-check (sdk-tests/tools/bundle-check.mjs); test-only values.
const FIXTURE_SIGNER: [u8; 32] = [0x5a; 32];
const FIXTURE_IMPORT_KEY: [u8; 32] = [0x3c; 32];
const FIXTURE_RAW_KEY: &str = "1f2e3d4c5b6a79880123456789abcdef00112233445566778899aabbccddeeff";

/// Phase 1 of the SDK cross-check: read the SDK's target key from `$QUORATE_BUNDLE_FIXTURE_DIR/target.json`,
/// write our export and import bundles to `rust.json`. Without the variable it checks the fixture keys only.
#[test]
fn sdk_fixture_produce() {
    let signer = ServerSigner::from_bytes(&FIXTURE_SIGNER).unwrap();
    let import_key = ImportKey::from_bytes(&FIXTURE_IMPORT_KEY).unwrap();
    let Ok(dir) = std::env::var("QUORATE_BUNDLE_FIXTURE_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let target: Value = parse(&std::fs::read_to_string(dir.join("target.json")).unwrap());
    let target_pub = target["publicKeyUncompressed"].as_str().unwrap();
    let out = serde_json::json!({
        "signerPublic": signer.public_key_uncompressed_hex(),
        "organizationId": ORG,
        "userId": USER,
        "mnemonic": MNEMONIC,
        "rawKey": FIXTURE_RAW_KEY,
        "exportMnemonicBundle": export_bundle(&signer, target_pub, ORG, MNEMONIC.as_bytes()).unwrap(),
        "exportKeyBundle": export_bundle(&signer, target_pub, ORG, &hex::decode(FIXTURE_RAW_KEY).unwrap()).unwrap(),
        "importBundle": import_bundle_for(&signer, &import_key, ORG, USER).unwrap(),
    });
    std::fs::write(dir.join("rust.json"), out.to_string()).unwrap();
}

/// Phase 2 of the SDK cross-check: open the SDK's `encryptWalletToBundle` /
/// `encryptPrivateKeyToBundle` output from `client.json` and write `verified.json`.
#[test]
fn sdk_fixture_verify() {
    let import_key = ImportKey::from_bytes(&FIXTURE_IMPORT_KEY).unwrap();
    let Ok(dir) = std::env::var("QUORATE_BUNDLE_FIXTURE_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let Ok(text) = std::fs::read_to_string(dir.join("client.json")) else {
        return;
    };
    let client = parse(&text);
    let wallet = decrypt_import(&import_key, client["encryptedWallet"].as_str().unwrap()).unwrap();
    assert_eq!(wallet.as_slice(), MNEMONIC.as_bytes());
    let key = decrypt_import(&import_key, client["encryptedKey"].as_str().unwrap()).unwrap();
    assert_eq!(hex::encode(key.as_slice()), FIXTURE_RAW_KEY);
    std::fs::write(
        dir.join("verified.json"),
        serde_json::json!({"wallet": true, "privateKey": true}).to_string(),
    )
    .unwrap();
}

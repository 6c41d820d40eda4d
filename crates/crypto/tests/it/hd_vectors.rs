//! BIP-39, BIP-32 and SLIP-10 (ed25519) published test vectors against `quorate_crypto::hd`.

use quorate_crypto::hd::{self, Curve, HdError, Mnemonic, Seed};
use serde_json::Value;

pub(crate) fn vectors(name: &str) -> Value {
    // Read at run time: a test binary reused from a checkout elsewhere (shared target dir)
    // keeps the compile-time path of that checkout.
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
    let path = format!("{dir}/../../tests/vectors/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing {key} in {v}"))
}

#[test]
fn bip39_trezor_vectors() {
    let file = vectors("bip39.json");
    let passphrase = s(&file, "passphrase");
    let cases: Vec<&Value> = file["english"]
        .as_array()
        .unwrap()
        .iter()
        .chain(file["extra"].as_array().unwrap())
        .collect();
    assert_eq!(cases.len(), 26);
    let mut counts = std::collections::BTreeSet::new();
    for case in cases {
        let entropy = hex::decode(s(case, "entropy")).unwrap();
        let phrase = s(case, "mnemonic");
        let from_entropy = Mnemonic::from_entropy(&entropy).unwrap();
        assert_eq!(from_entropy.phrase().as_str(), phrase);
        let parsed = Mnemonic::parse(phrase).unwrap();
        assert_eq!(parsed.entropy().as_slice(), entropy.as_slice());
        counts.insert(parsed.word_count());
        let seed = parsed.to_seed(passphrase);
        assert_eq!(hex::encode(seed.as_bytes()), s(case, "seed"), "{phrase}");
    }
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        vec![12, 15, 18, 21, 24]
    );
}

#[test]
fn mnemonic_generate_and_reject() {
    for words in [12, 15, 18, 21, 24] {
        let m = Mnemonic::generate(words).unwrap();
        assert_eq!(m.word_count(), words);
        let again = Mnemonic::parse(&m.phrase()).unwrap();
        assert_eq!(again.phrase(), m.phrase());
    }
    assert_ne!(
        Mnemonic::generate(12).unwrap().phrase(),
        Mnemonic::generate(12).unwrap().phrase()
    );
    for words in [0, 11, 13, 25] {
        assert_eq!(
            Mnemonic::generate(words).unwrap_err(),
            HdError::InvalidWordCount(words)
        );
    }
    let abandon = "abandon ".repeat(11);
    assert_eq!(
        Mnemonic::parse(&format!("{abandon}abandon")).unwrap_err(),
        HdError::InvalidChecksum
    );
    assert_eq!(
        Mnemonic::parse(&format!("{abandon}quorate")).unwrap_err(),
        HdError::UnknownWord(12)
    );
    assert_eq!(
        Mnemonic::parse("abandon about").unwrap_err(),
        HdError::InvalidWordCount(2)
    );
    // Extra whitespace is tolerated.
    let spaced = format!("  {}  about\n", abandon.replace(' ', "\t "));
    assert_eq!(
        Mnemonic::parse(&spaced).unwrap().phrase().as_str(),
        format!("{abandon}about")
    );
}

fn check_chains(file: &Value, curve: Curve) {
    for vector in file["vectors"].as_array().unwrap() {
        let seed = Seed::from_bytes(&hex::decode(s(vector, "seed")).unwrap()).unwrap();
        for chain in vector["chains"].as_array().unwrap() {
            let path = s(chain, "path");
            let key = hd::derive(&seed, curve, &hd::parse_path(path).unwrap()).unwrap();
            let ctx = format!("vector {} {path}", vector["vector"]);
            assert_eq!(key.curve(), curve);
            assert_eq!(
                hex::encode(key.chain_code()),
                s(chain, "chain_code"),
                "{ctx}"
            );
            assert_eq!(
                hex::encode(key.private_key().as_slice()),
                s(chain, "private_key"),
                "{ctx}"
            );
            assert_eq!(
                hex::encode(key.public_key()),
                s(chain, "public_key"),
                "{ctx}"
            );
            match curve {
                Curve::Secp256k1 => {
                    assert_eq!(key.xprv().unwrap().as_str(), s(chain, "xprv"), "{ctx}");
                    assert_eq!(key.xpub().unwrap(), s(chain, "xpub"), "{ctx}");
                }
                Curve::Ed25519 => {
                    assert!(key.xprv().is_none() && key.xpub().is_none());
                }
            }
        }
    }
}

#[test]
fn bip32_vectors_1_to_4() {
    let file = vectors("bip32.json");
    let numbers: Vec<u64> = file["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["vector"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 2, 3, 4]);
    check_chains(&file, Curve::Secp256k1);
}

#[test]
fn slip10_ed25519_vectors() {
    let file = vectors("slip10_ed25519.json");
    assert_eq!(file["vectors"].as_array().unwrap().len(), 2);
    check_chains(&file, Curve::Ed25519);
}

#[test]
fn seed_length_and_curve_names() {
    assert_eq!(
        Seed::from_bytes(&[0; 15]).unwrap_err(),
        HdError::InvalidSeedLength(15)
    );
    assert_eq!(
        Seed::from_bytes(&[0; 65]).unwrap_err(),
        HdError::InvalidSeedLength(65)
    );
    for curve in [Curve::Secp256k1, Curve::Ed25519] {
        assert_eq!(Curve::parse(curve.as_str()).unwrap(), curve);
    }
    assert!(Curve::parse("CURVE_P256").is_err());
    let seed = Seed::from_bytes(&[1; 64]).unwrap();
    let err = hd::derive(
        &seed,
        Curve::Ed25519,
        &hd::parse_path("m/44'/501'/0'/0").unwrap(),
    )
    .unwrap_err();
    assert_eq!(err, HdError::NonHardenedEd25519(0));
    assert!(err.to_string().contains("hardened"));
}

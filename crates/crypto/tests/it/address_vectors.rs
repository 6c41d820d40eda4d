//! Address vectors (tests/vectors/addresses.json): mnemonic → path → key → `ADDRESS_FORMAT_*`.

use quorate_crypto::address::{self, AddressError, AddressFormat};
use quorate_crypto::hd::{self, Curve, Mnemonic};

use crate::hd_vectors::vectors;

#[test]
fn address_vectors() {
    let file = vectors("addresses.json");
    let mnemonic = Mnemonic::parse(file["mnemonic"].as_str().unwrap()).unwrap();
    let seed = mnemonic.to_seed(file["passphrase"].as_str().unwrap());
    let cases = file["cases"].as_array().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for case in cases {
        let format = AddressFormat::parse(case["format"].as_str().unwrap()).unwrap();
        let curve = match case["curve"].as_str().unwrap() {
            "secp256k1" => Curve::Secp256k1,
            "ed25519" => Curve::Ed25519,
            other => panic!("curve {other}"),
        };
        let path = case["path"].as_str().unwrap();
        let key = hd::derive(&seed, curve, &hd::parse_path(path).unwrap()).unwrap();
        assert_eq!(
            hex::encode(key.public_key()),
            case["public_key"].as_str().unwrap(),
            "{format} {path}"
        );
        let got = address::encode(format, &key.public_key()).unwrap();
        assert_eq!(got, case["address"].as_str().unwrap(), "{format} {path}");
        seen.insert(format.as_str());
    }
    // Every supported format has at least one vector.
    for format in AddressFormat::ALL {
        assert!(seen.contains(format.as_str()), "no vector for {format}");
    }
}

#[test]
fn secp256k1_formats_accept_uncompressed_input() {
    let file = vectors("addresses.json");
    let seed = Mnemonic::parse(file["mnemonic"].as_str().unwrap())
        .unwrap()
        .to_seed("");
    let key = hd::derive(
        &seed,
        Curve::Secp256k1,
        &hd::parse_path("m/44'/60'/0'/0/0").unwrap(),
    )
    .unwrap();
    let uncompressed =
        hex::decode(address::encode(AddressFormat::Uncompressed, &key.public_key()).unwrap())
            .unwrap();
    assert_eq!(uncompressed.len(), 65);
    assert_eq!(
        address::encode(AddressFormat::Ethereum, &uncompressed).unwrap(),
        "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
    );
}

#[test]
fn curve_mismatch_is_reported() {
    let seed = hd::Seed::from_bytes(&[9; 64]).unwrap();
    let ed = hd::derive(
        &seed,
        Curve::Ed25519,
        &hd::parse_path("m/44'/501'/0'/0'").unwrap(),
    )
    .unwrap();
    let secp = hd::derive(
        &seed,
        Curve::Secp256k1,
        &hd::parse_path("m/44'/60'/0'/0/0").unwrap(),
    )
    .unwrap();
    for format in AddressFormat::ALL {
        let (right, wrong) = match format.curve() {
            Curve::Secp256k1 => (&secp, &ed),
            Curve::Ed25519 => (&ed, &secp),
        };
        assert!(
            address::encode(*format, &right.public_key()).is_ok(),
            "{format}"
        );
        let res = address::encode(*format, &wrong.public_key());
        if *format == AddressFormat::Compressed {
            assert_eq!(res.unwrap(), hex::encode(ed.public_key()));
            continue;
        }
        let err = res.unwrap_err();
        assert_eq!(
            err,
            AddressError::CurveMismatch {
                format: *format,
                expected: right.curve(),
                got: wrong.curve()
            }
        );
        assert!(err.to_string().starts_with("address format "), "{err}");
    }
    assert!(matches!(
        address::encode(AddressFormat::Uncompressed, &ed.public_key()),
        Err(AddressError::CurveMismatch { .. })
    ));
}

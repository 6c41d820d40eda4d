//! Raw-payload signing (`quorate_crypto::sign`) and EIP-712 against known-answer vectors
//! (viem/ethers/tweetnacl, RFC 8032, the EIP-712 spec) and Wycheproof.

use quorate_crypto::eip712::TypedData;
use quorate_crypto::hd::Curve;
use quorate_crypto::sign::{
    self, prepare, sign_prepared, HashFunction, PayloadEncoding, RawSignature, SignError,
    MAX_PAYLOAD_BYTES,
};
use rand_core::{OsRng, RngCore};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::hd_vectors::vectors;

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing {key} in {v}"))
}

fn key32(hex_str: &str) -> [u8; 32] {
    hex::decode(hex_str).unwrap().try_into().unwrap()
}

const ANVIL0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[test]
fn raw_payload_vectors() {
    let file = vectors("raw_payload.json");
    let cases = file["vectors"].as_array().unwrap();
    assert_eq!(cases.len(), 19);
    for c in cases {
        let name = s(c, "name");
        let curve = Curve::parse(s(c, "curve")).unwrap();
        let enc = PayloadEncoding::parse(s(c, "encoding")).unwrap();
        let hash = HashFunction::parse(s(c, "hashFunction")).unwrap();
        let prepared = prepare(curve, s(c, "payload"), enc, hash).unwrap();
        if let Some(d) = c["digest"].as_str() {
            assert_eq!(hex::encode(prepared.digest().unwrap()), d, "{name}");
        }
        let key = key32(s(c, "privateKey"));
        let sig = sign_prepared(curve, &key, &prepared).unwrap();
        assert_eq!(
            sig,
            RawSignature {
                r: s(c, "r").into(),
                s: s(c, "s").into(),
                v: s(c, "v").into()
            },
            "{name}"
        );
        if curve == Curve::Ed25519 {
            let pk = hex::decode(s(c, "publicKey")).unwrap();
            let raw = hex::decode(format!("{}{}", sig.r, sig.s)).unwrap();
            assert!(sign::verify_ed25519(&pk, prepared.as_bytes(), &raw));
        }
    }
}

#[test]
fn eip712_vectors_viem_and_ethers_payloads() {
    let file = vectors("eip712.json");
    let cases = file["vectors"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let name = s(c, "name");
        let key = key32(s(c, "privateKey"));
        for payload in [s(c, "payloadViem"), s(c, "payloadEthers")] {
            for hash in [HashFunction::NoOp, HashFunction::Keccak256] {
                let p = prepare(Curve::Secp256k1, payload, PayloadEncoding::Eip712, hash).unwrap();
                assert_eq!(hex::encode(p.digest().unwrap()), s(c, "digest"), "{name}");
                assert!(p.typed_data().is_some());
                let sig = sign_prepared(Curve::Secp256k1, &key, &p).unwrap();
                assert_eq!(
                    (sig.r.as_str(), sig.s.as_str(), sig.v.as_str()),
                    (s(c, "r"), s(c, "s"), s(c, "v")),
                    "{name}"
                );
                // What @turnkey/viem assembles: r ‖ s ‖ (v == 0 ? 1b : 1c).
                let v65 = format!(
                    "{}{}{}",
                    sig.r,
                    sig.s,
                    if sig.v == "00" { "1b" } else { "1c" }
                );
                assert_eq!(v65, s(c, "signature65"), "{name}");
            }
        }
    }
}

#[test]
fn eip712_spec_mail_encode_type_and_inferred_domain() {
    let file = vectors("eip712.json");
    let mail = s(&file["vectors"][0], "payloadViem");
    let typed = TypedData::parse(mail).unwrap();
    assert_eq!(
        typed.encode_type("Mail").unwrap(),
        "Mail(Person from,Person to,string contents)Person(string name,address wallet)"
    );
    // Spec: domain separator of the Mail example.
    assert_eq!(
        hex::encode(typed.domain_separator().unwrap()),
        "f2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f"
    );
    // Without types.EIP712Domain the domain type is inferred from the domain's fields.
    let mut v: Value = serde_json::from_str(mail).unwrap();
    v["types"].as_object_mut().unwrap().remove("EIP712Domain");
    let p = prepare(
        Curve::Secp256k1,
        &v.to_string(),
        PayloadEncoding::Eip712,
        HashFunction::NoOp,
    )
    .unwrap();
    assert_eq!(
        hex::encode(p.digest().unwrap()),
        s(&file["vectors"][0], "digest")
    );
}

fn mail_with(f: impl FnOnce(&mut Value)) -> String {
    let file = vectors("eip712.json");
    let mut v: Value = serde_json::from_str(s(&file["vectors"][0], "payloadViem")).unwrap();
    f(&mut v);
    v.to_string()
}

fn eip712_err(payload: &str) -> String {
    match prepare(
        Curve::Secp256k1,
        payload,
        PayloadEncoding::Eip712,
        HashFunction::NoOp,
    ) {
        Err(SignError::Payload(m)) => m,
        other => panic!("expected a payload error, got {other:?}"),
    }
}

fn ints_doc(ty: &str, value: Value) -> String {
    serde_json::json!({
        "types": {"EIP712Domain": [], "T": [{"name": "x", "type": ty}]},
        "primaryType": "T",
        "domain": {},
        "message": {"x": value}
    })
    .to_string()
}

#[test]
fn eip712_rejections() {
    let e = eip712_err(&mail_with(|v| {
        v["message"]["to"].as_object_mut().unwrap().remove("wallet");
    }));
    assert!(e.contains("message.to.wallet: missing"), "{e}");
    let e = eip712_err(&mail_with(|v| {
        v["message"]["from"]["wallet"] = "0x1234".into()
    }));
    assert!(
        e.contains("message.from.wallet") && e.contains("20 bytes"),
        "{e}"
    );
    let e = eip712_err(&mail_with(|v| v["primaryType"] = "Nope".into()));
    assert!(e.contains("primaryType"), "{e}");
    let e = eip712_err(&mail_with(|v| {
        v["types"]["Mail"][2]["type"] = "strin".into()
    }));
    assert!(e.contains("unknown type `strin`"), "{e}");
    let e = eip712_err(&mail_with(|v| {
        v["types"]["Mail"][0]["type"] = "Person[2]".into()
    }));
    assert!(e.contains("expected an array"), "{e}");
    assert!(eip712_err("{not json").contains("not valid JSON"));
    assert!(eip712_err("[]").contains("JSON object"));
    assert!(eip712_err(r#"{"primaryType":"A","message":{}}"#).contains("types"));

    // Bounded number of struct definitions.
    let mut types = serde_json::Map::new();
    for i in 0..=quorate_crypto::eip712::MAX_TYPES {
        types.insert(format!("T{i}"), serde_json::json!([]));
    }
    let doc = serde_json::json!({"types": types, "primaryType": "T0", "domain": {}, "message": {}});
    assert!(eip712_err(&doc.to_string()).contains("at most"));

    // Integer ranges.
    let ok = |ty: &str, v: Value| {
        prepare(
            Curve::Secp256k1,
            &ints_doc(ty, v),
            PayloadEncoding::Eip712,
            HashFunction::NoOp,
        )
        .is_ok()
    };
    assert!(ok("uint8", 255.into()));
    assert!(!ok("uint8", 256.into()));
    assert!(!ok("uint8", (-1).into()));
    assert!(ok("int8", (-128).into()));
    assert!(ok("int8", "-0x80".into()));
    assert!(!ok("int8", (-129).into()));
    assert!(!ok("int8", 128.into()));
    assert!(ok(
        "int256",
        "-57896044618658097711785492504343953926634992332820282019728792003956564819968".into()
    ));
    assert!(!ok(
        "int256",
        "-57896044618658097711785492504343953926634992332820282019728792003956564819969".into()
    ));
    assert!(ok(
        "uint256",
        "115792089237316195423570985008687907853269984665640564039457584007913129639935".into()
    ));
    assert!(!ok(
        "uint256",
        "115792089237316195423570985008687907853269984665640564039457584007913129639936".into()
    ));
    assert!(!ok("uint256", 1.5.into()));
    assert!(!ok("uint256", "12abc".into()));
    assert!(!ok("uint256", "".into()));
    assert!(!ok("uint7", 1.into()));
    assert!(!ok("uint", 1.into()));
    assert!(ok("bytes4", "0x12345678".into()));
    assert!(!ok("bytes4", "0x123456".into()));
    assert!(!ok("bytes33", "0x00".into()));
    assert!(!ok("bytes", "0x123".into()));
    assert!(!ok("bool", "true".into()));
    assert!(!ok("string", Value::Null));
    assert!(!ok("uint8[2]", serde_json::json!([1])));
    assert!(ok("uint8[2][]", serde_json::json!([[1, 2], [3, 4]])));
    assert!(!ok("uint8[02]", serde_json::json!([1, 2])));

    // Hash function and curve rules.
    let mail = mail_with(|_| {});
    let err = prepare(
        Curve::Secp256k1,
        &mail,
        PayloadEncoding::Eip712,
        HashFunction::Sha256,
    )
    .unwrap_err();
    assert!(matches!(&err, SignError::HashFunction(m) if m.contains("HASH_FUNCTION_NO_OP")));
    assert!(err.to_string().starts_with("hashFunction: "));
    let err = prepare(
        Curve::Ed25519,
        &mail,
        PayloadEncoding::Eip712,
        HashFunction::NotApplicable,
    )
    .unwrap_err();
    assert!(matches!(err, SignError::Encoding(_)), "{err}");
}

#[test]
fn prepare_rules_and_messages() {
    let k = Curve::Secp256k1;
    let digest = "ab".repeat(32);
    let hex = PayloadEncoding::Hexadecimal;
    // 0x prefix optional, same digest.
    let a = prepare(k, &digest, hex, HashFunction::NoOp).unwrap();
    let b = prepare(k, &format!("0x{digest}"), hex, HashFunction::NoOp).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.as_bytes(), hex::decode(&digest).unwrap().as_slice());

    let payload_err = |r: Result<_, SignError>| match r {
        Err(SignError::Payload(m)) => m,
        other => panic!("expected payload error, got {other:?}"),
    };
    assert!(payload_err(prepare(k, "abc", hex, HashFunction::Sha256)).contains("even number"));
    assert!(payload_err(prepare(k, "zz", hex, HashFunction::Sha256)).contains("not valid hex"));
    let m = payload_err(prepare(k, "abcd", hex, HashFunction::NoOp));
    assert!(
        m.contains("32-byte digest") && m.contains("got 2 bytes"),
        "{m}"
    );
    let m = payload_err(prepare(
        k,
        "hello",
        PayloadEncoding::TextUtf8,
        HashFunction::NoOp,
    ));
    assert!(m.contains("got 5 bytes"), "{m}");
    // Exactly 32 bytes of text is a valid digest for NO_OP.
    assert!(prepare(
        k,
        &"x".repeat(32),
        PayloadEncoding::TextUtf8,
        HashFunction::NoOp
    )
    .is_ok());

    let err = prepare(k, &digest, hex, HashFunction::NotApplicable).unwrap_err();
    assert!(matches!(err, SignError::HashFunction(_)), "{err}");
    assert!(err.to_string().starts_with("hashFunction: "));

    for h in [HashFunction::Sha256, HashFunction::Keccak256] {
        let err = prepare(Curve::Ed25519, "00", hex, h).unwrap_err();
        assert!(
            err.to_string().contains("use HASH_FUNCTION_NOT_APPLICABLE"),
            "{err}"
        );
    }
    // ed25519 signs the message itself with NOT_APPLICABLE or NO_OP, any length.
    for h in [HashFunction::NotApplicable, HashFunction::NoOp] {
        let p = prepare(Curve::Ed25519, "0x0102", hex, h).unwrap();
        assert_eq!(p.as_bytes(), [1, 2]);
        assert!(p.digest().is_none());
    }

    // Size bounds.
    let big_hex = "00".repeat(MAX_PAYLOAD_BYTES + 1);
    assert!(matches!(
        prepare(k, &big_hex, hex, HashFunction::Sha256),
        Err(SignError::PayloadTooLarge { .. })
    ));
    assert!(prepare(
        k,
        &"00".repeat(MAX_PAYLOAD_BYTES),
        hex,
        HashFunction::Sha256
    )
    .is_ok());
    let big_text = "a".repeat(MAX_PAYLOAD_BYTES + 1);
    let err = prepare(
        k,
        &big_text,
        PayloadEncoding::TextUtf8,
        HashFunction::Sha256,
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("payload: "), "{err}");
    assert!(matches!(
        prepare(k, &big_text, PayloadEncoding::Eip712, HashFunction::NoOp),
        Err(SignError::PayloadTooLarge { .. })
    ));
}

#[test]
fn enum_parsing() {
    for h in [
        HashFunction::NoOp,
        HashFunction::Sha256,
        HashFunction::Keccak256,
        HashFunction::NotApplicable,
    ] {
        assert_eq!(HashFunction::parse(h.as_str()).unwrap(), h);
    }
    for e in [
        PayloadEncoding::Hexadecimal,
        PayloadEncoding::TextUtf8,
        PayloadEncoding::Eip712,
    ] {
        assert_eq!(PayloadEncoding::parse(e.as_str()).unwrap(), e);
    }
    let err = HashFunction::parse("HASH_FUNCTION_MD5").unwrap_err();
    assert!(err.to_string().starts_with("hashFunction: ") && err.is_client_error());
    let err = PayloadEncoding::parse("hex").unwrap_err();
    assert!(err.to_string().starts_with("encoding: "));
    let err = PayloadEncoding::parse("PAYLOAD_ENCODING_EIP7702_AUTHORIZATION").unwrap_err();
    assert!(matches!(err, SignError::Unsupported(_)), "{err}");
}

#[test]
fn secp256k1_deterministic_low_s_and_recoverable() {
    // Half the group order n/2.
    let half_n =
        hex::decode("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0").unwrap();
    let mut seen_v = std::collections::BTreeSet::new();
    for i in 0..200u32 {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        let Ok(sk) = k256::ecdsa::SigningKey::from_bytes((&key).into()) else {
            continue;
        };
        let payload = format!("message {i}");
        let p = prepare(
            Curve::Secp256k1,
            &payload,
            PayloadEncoding::TextUtf8,
            HashFunction::Keccak256,
        )
        .unwrap();
        let sig = sign_prepared(Curve::Secp256k1, &key, &p).unwrap();
        let again = sign_prepared(Curve::Secp256k1, &key, &p).unwrap();
        assert_eq!(sig, again, "RFC 6979 is deterministic");
        assert_eq!((sig.r.len(), sig.s.len()), (64, 64));
        assert!(sig
            .r
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        let s_bytes = hex::decode(&sig.s).unwrap();
        assert!(s_bytes.as_slice() <= half_n.as_slice(), "high S: {}", sig.s);
        let recid = match sig.v.as_str() {
            "00" => 0,
            "01" => 1,
            v => panic!("bad v {v}"),
        };
        seen_v.insert(recid);
        let r: [u8; 32] = hex::decode(&sig.r).unwrap().try_into().unwrap();
        let s32: [u8; 32] = s_bytes.clone().try_into().unwrap();
        let digest = p.digest().unwrap();
        let recovered = sign::recover_secp256k1(digest, &r, &s32, recid).unwrap();
        let expected = sk.verifying_key().to_encoded_point(false);
        assert_eq!(recovered, expected.as_bytes());
        let mut rs = [0u8; 64];
        rs[..32].copy_from_slice(&r);
        rs[32..].copy_from_slice(&s32);
        assert!(sign::verify_secp256k1_rs(expected.as_bytes(), digest, &rs));
    }
    assert_eq!(seen_v.len(), 2, "both recovery ids occur");
}

#[test]
fn sign_errors() {
    let p = prepare(
        Curve::Secp256k1,
        &"11".repeat(32),
        PayloadEncoding::Hexadecimal,
        HashFunction::NoOp,
    )
    .unwrap();
    // Zero is not a valid secp256k1 scalar.
    let err = sign_prepared(Curve::Secp256k1, &[0u8; 32], &p).unwrap_err();
    assert_eq!(err, SignError::InvalidKey);
    assert!(!err.is_client_error());
    let err = sign_prepared(Curve::Ed25519, &[1u8; 32], &p).unwrap_err();
    assert!(matches!(err, SignError::CurveMismatch { .. }));
    // Messages never echo the key.
    let key = hex::decode(ANVIL0).unwrap();
    let key: [u8; 32] = key.try_into().unwrap();
    let ok = sign_prepared(Curve::Secp256k1, &key, &p).unwrap();
    assert!(!format!("{ok:?}").contains(ANVIL0));
}

#[test]
fn wycheproof_ecdsa_secp256k1_sha256() {
    let file = vectors("wycheproof_ecdsa_secp256k1_sha256.json");
    let mut counts = [0usize; 2];
    for group in file["testGroups"].as_array().unwrap() {
        let pk = hex::decode(s(&group["publicKey"], "uncompressed")).unwrap();
        for t in group["tests"].as_array().unwrap() {
            let msg = hex::decode(s(t, "msg")).unwrap();
            let sig = hex::decode(s(t, "sig")).unwrap();
            let digest: [u8; 32] = Sha256::digest(&msg).into();
            let got = sign::verify_secp256k1(&pk, &digest, &sig);
            let want = match s(t, "result") {
                "valid" => true,
                "invalid" => false,
                // None in this file; "acceptable" would be allowed either way.
                _ => continue,
            };
            assert_eq!(
                got,
                want,
                "tcId {} ({}) {:?}",
                t["tcId"],
                s(t, "comment"),
                t["flags"]
            );
            counts[usize::from(want)] += 1;
        }
    }
    assert_eq!(counts, [308, 168]);
}

#[test]
fn wycheproof_ed25519() {
    let file = vectors("wycheproof_ed25519.json");
    let mut n = 0;
    for group in file["testGroups"].as_array().unwrap() {
        let pk = hex::decode(s(&group["publicKey"], "pk")).unwrap();
        for t in group["tests"].as_array().unwrap() {
            let msg = hex::decode(s(t, "msg")).unwrap();
            let sig = hex::decode(s(t, "sig")).unwrap();
            let want = s(t, "result") == "valid";
            assert_eq!(
                sign::verify_ed25519(&pk, &msg, &sig),
                want,
                "tcId {} ({})",
                t["tcId"],
                s(t, "comment")
            );
            n += 1;
        }
    }
    assert_eq!(n, 151);
}

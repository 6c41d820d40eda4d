//! `quorate_crypto::tx`: Ethereum (EIP-155, EIP-2930, EIP-1559, EIP-4844 body, EIP-7702) and
//! Solana (legacy, v0) against vectors from viem/ethers and @solana/web3.js, plus every
//! rejection category.

use quorate_crypto::hd::Curve;
use quorate_crypto::sign;
use quorate_crypto::tx::eth::{self, EthTxType, U256};
use quorate_crypto::tx::solana::{self, MessageVersion};
use quorate_crypto::tx::{self, ParsedTx, TransactionType, TxError};
use serde_json::Value;
use sha3::{Digest, Keccak256};

use crate::hd_vectors::vectors;

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing {key} in {v}"))
}

fn key32(hex_str: &str) -> [u8; 32] {
    hex::decode(hex_str).unwrap().try_into().unwrap()
}

fn eth(hex_str: &str) -> eth::UnsignedTx {
    match tx::parse(TransactionType::Ethereum, hex_str) {
        Ok(ParsedTx::Ethereum(t)) => t,
        other => panic!("expected an Ethereum tx, got {other:?}"),
    }
}

fn eth_err(hex_str: &str) -> TxError {
    match tx::parse(TransactionType::Ethereum, hex_str) {
        Err(e) => e,
        Ok(t) => panic!("expected an error, parsed {t:?}"),
    }
}

fn num(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn public_of(key: &[u8; 32]) -> Vec<u8> {
    k256::ecdsa::SigningKey::from_bytes(key.into())
        .unwrap()
        .verifying_key()
        .to_encoded_point(true)
        .as_bytes()
        .to_vec()
}

fn check_eth_file(name: &str, expected_cases: usize) {
    let file = vectors(name);
    let cases = file["vectors"].as_array().unwrap();
    assert_eq!(cases.len(), expected_cases, "{name}");
    for c in cases {
        let label = s(c, "name");
        let unsigned = s(c, "unsigned");
        let t = eth(unsigned);
        assert_eq!(t, eth(&format!("0x{unsigned}")), "{label}: 0x prefix");
        assert_eq!(hex::encode(t.signing_payload()), unsigned, "{label}");
        assert_eq!(
            hex::encode(t.signing_hash()),
            s(c, "signingHash"),
            "{label}"
        );
        // Parsed fields as the policy engine will read them.
        let txj = &c["tx"];
        assert_eq!(t.tx_type.as_str(), s(txj, "type"), "{label}");
        assert_eq!(
            t.chain_id.map(|c| c.to_string()),
            num(&txj["chainId"]),
            "{label}"
        );
        assert_eq!(Some(t.nonce.to_string()), num(&txj["nonce"]), "{label}");
        assert_eq!(Some(t.gas_limit.to_string()), num(&txj["gas"]), "{label}");
        assert_eq!(Some(t.value.to_string()), num(&txj["value"]), "{label}");
        assert_eq!(
            t.to.map(|a| format!("0x{}", hex::encode(a))),
            txj["to"].as_str().map(str::to_lowercase),
            "{label}"
        );
        assert_eq!(
            format!("0x{}", hex::encode(&t.data)),
            txj["data"].as_str().unwrap_or("0x"),
            "{label}"
        );
        if let Some(al) = txj["accessList"].as_array() {
            assert_eq!(t.access_list.len(), al.len(), "{label}");
        }
        if let Some(p) = num(&txj["maxFeePerGas"]) {
            assert_eq!(t.max_fee_per_gas.map(|v| v.to_string()), Some(p));
        }
        if let Some(p) = num(&txj["gasPrice"]) {
            assert_eq!(t.gas_price.map(|v| v.to_string()), Some(p));
        }
        if let Some(a) = txj["authorizationList"].as_array() {
            assert_eq!(t.authorization_list.len(), a.len());
        }
        if let Some(b) = txj["blobVersionedHashes"].as_array() {
            assert_eq!(t.blob_versioned_hashes.len(), b.len());
        }

        match c["privateKey"].as_str() {
            Some(k) => {
                let key = key32(k);
                let parsed = ParsedTx::Ethereum(t.clone());
                let signed = tx::sign(&parsed, Curve::Secp256k1, &key, &public_of(&key)).unwrap();
                assert_eq!(signed, s(c, "signed"), "{label}");
                // Empty public key: no cross-check, same output; RFC 6979: same again.
                assert_eq!(
                    tx::sign(&parsed, Curve::Secp256k1, &key, &[]).unwrap(),
                    signed
                );
                let hash = Keccak256::digest(hex::decode(&signed).unwrap());
                assert_eq!(hex::encode(hash), s(c, "txHash"), "{label}");
            }
            None => {
                // Published transaction without key: recover the sender, re-assemble.
                let sig = &c["signature"];
                let r = key32(s(sig, "r"));
                let sv = key32(s(sig, "s"));
                let y = sig["yParity"].as_u64().unwrap() as u8;
                let pk = sign::recover_secp256k1(&t.signing_hash(), &r, &sv, y).unwrap();
                let addr = sign::eth_address(&pk).unwrap();
                assert_eq!(
                    format!("0x{}", hex::encode(addr)),
                    s(c, "address"),
                    "{label}"
                );
                let signed = t.encode_signed(y == 1, &r, &sv);
                assert_eq!(hex::encode(&signed), s(c, "signed"), "{label}");
                assert_eq!(hex::encode(Keccak256::digest(&signed)), s(c, "txHash"));
            }
        }
    }
}

#[test]
fn eip155_vectors() {
    check_eth_file("eip155.json", 5);
}

#[test]
fn eip2930_vectors() {
    check_eth_file("eip2930.json", 3);
}

#[test]
fn eip1559_vectors() {
    check_eth_file("eip1559.json", 5);
}

#[test]
fn eip4844_and_eip7702_vectors() {
    check_eth_file("eip4844_eip7702.json", 3);
}

#[test]
fn eip155_spec_example() {
    // EIP-155's own example: key 0x46…46, nonce 9, 20 gwei, 21000 gas, to 0x35…35, 1 ether.
    let unsigned = "ec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080";
    let t = eth(unsigned);
    assert_eq!(t.tx_type, EthTxType::Legacy);
    assert_eq!(t.chain_id, Some(1));
    assert_eq!(t.nonce, 9);
    assert_eq!(t.gas_price, Some(U256::from_u128(20_000_000_000)));
    assert_eq!(t.value.to_string(), "1000000000000000000");
    assert_eq!(
        hex::encode(t.signing_hash()),
        "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"
    );
    let signed = tx::sign(&ParsedTx::Ethereum(t), Curve::Secp256k1, &[0x46; 32], &[]).unwrap();
    assert_eq!(
        signed,
        "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
    );
}

// ---- minimal RLP builder for malformed inputs
fn rb(b: &[u8]) -> Vec<u8> {
    if b.len() == 1 && b[0] < 0x80 {
        return b.to_vec();
    }
    let mut out = if b.len() < 56 {
        vec![0x80 + b.len() as u8]
    } else {
        let l = (b.len() as u64).to_be_bytes();
        let f = l.iter().position(|x| *x != 0).unwrap();
        let mut o = vec![0xb7 + (8 - f) as u8];
        o.extend_from_slice(&l[f..]);
        o
    };
    out.extend_from_slice(b);
    out
}

fn rl(items: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = items.concat();
    let mut out = if body.len() < 56 {
        vec![0xc0 + body.len() as u8]
    } else {
        let l = (body.len() as u64).to_be_bytes();
        let f = l.iter().position(|x| *x != 0).unwrap();
        let mut o = vec![0xf7 + (8 - f) as u8];
        o.extend_from_slice(&l[f..]);
        o
    };
    out.extend_from_slice(&body);
    out
}

fn legacy_fields() -> Vec<Vec<u8>> {
    vec![
        rb(&[9]),
        rb(&[0x04, 0xa8, 0x17, 0xc8, 0x00]),
        rb(&[0x52, 0x08]),
        rb(&[0x35; 20]),
        rb(&[1]),
        rb(&[]),
    ]
}

fn eip1559_fields() -> Vec<Vec<u8>> {
    vec![
        rb(&[1]),          // chainId
        rb(&[]),           // nonce 0
        rb(&[1]),          // maxPriorityFee
        rb(&[2]),          // maxFee
        rb(&[0x52, 0x08]), // gas
        rb(&[0x35; 20]),   // to
        rb(&[]),           // value
        rb(&[]),           // data
        rl(&[]),           // accessList
    ]
}

fn typed(ty: u8, fields: &[Vec<u8>]) -> String {
    let mut out = vec![ty];
    out.extend(rl(fields));
    hex::encode(out)
}

fn invalid_msg(e: TxError) -> String {
    match e {
        TxError::Invalid(m) => m,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn eth_rejections() {
    // Hex.
    assert!(matches!(eth_err(""), TxError::InvalidHex(_)));
    assert!(matches!(eth_err("0x"), TxError::InvalidHex(_)));
    assert!(matches!(eth_err("abc"), TxError::InvalidHex(m) if m.contains("even")));
    assert!(matches!(eth_err("zz"), TxError::InvalidHex(_)));
    assert!(eth_err("zz")
        .to_string()
        .starts_with("unsignedTransaction: "));

    let good = hex::encode(rl(&legacy_fields()));
    eth(&good);

    // Truncated and trailing garbage.
    let m = invalid_msg(eth_err(&good[..good.len() - 2]));
    assert!(m.contains("truncated"), "{m}");
    let m = invalid_msg(eth_err(&format!("{good}00")));
    assert!(m.contains("trailing"), "{m}");
    let t1559 = typed(2, &eip1559_fields());
    eth(&t1559);
    assert!(invalid_msg(eth_err(&t1559[..t1559.len() - 2])).contains("truncated"));
    assert!(invalid_msg(eth_err(&format!("{t1559}c0"))).contains("trailing"));
    assert!(invalid_msg(eth_err("02")).contains("truncated"));

    // Non-canonical integers: leading zero byte; single byte wrapped in a header.
    let mut f = legacy_fields();
    f[0] = rb(&[0, 9]);
    let m = invalid_msg(eth_err(&hex::encode(rl(&f))));
    assert!(m.contains("nonce") && m.contains("leading zero"), "{m}");
    let mut f = legacy_fields();
    f[0] = vec![0x00];
    assert!(invalid_msg(eth_err(&hex::encode(rl(&f)))).contains("leading zero"));
    let mut f = legacy_fields();
    f[0] = vec![0x81, 0x05];
    assert!(invalid_msg(eth_err(&hex::encode(rl(&f)))).contains("non-canonical"));
    // Long-form length for a short string.
    let mut f = legacy_fields();
    f[5] = vec![0xb8, 0x01, 0xff];
    assert!(invalid_msg(eth_err(&hex::encode(rl(&f)))).contains("non-canonical"));
    // Long-form list for a short list.
    let body: Vec<u8> = legacy_fields().concat();
    let mut bad = vec![0xf8, body.len() as u8];
    bad.extend(&body);
    assert!(invalid_msg(eth_err(&hex::encode(bad))).contains("non-canonical"));
    // Length with a leading zero byte.
    let mut f = legacy_fields();
    let mut long = vec![0xb9, 0x00, 0x40];
    long.extend([7u8; 64]);
    f[5] = long;
    assert!(invalid_msg(eth_err(&hex::encode(rl(&f)))).contains("leading zero"));
    // Declared length far beyond the input.
    assert!(invalid_msg(eth_err("f9ffff")).contains("truncated"));
    assert!(matches!(eth_err("ffffffffffffffffff"), TxError::Invalid(_)));

    // Wrong item counts.
    let mut f = legacy_fields();
    f.push(rb(&[1]));
    let m = invalid_msg(eth_err(&hex::encode(rl(&f))));
    assert!(m.contains("6 fields") && m.contains("got 7"), "{m}");
    let m = invalid_msg(eth_err(&typed(2, &eip1559_fields()[..8])));
    assert!(m.contains("9 fields") && m.contains("got 8"), "{m}");
    let m = invalid_msg(eth_err(&typed(1, &eip1559_fields())));
    assert!(m.contains("8 fields"), "{m}");
    // A string where the body list should be.
    assert!(invalid_msg(eth_err("0283010203")).contains("RLP list"));

    // Chain id: too large, not an integer, zero in EIP-155 form.
    let mut f = eip1559_fields();
    f[0] = rb(&[1; 9]);
    let m = invalid_msg(eth_err(&typed(2, &f)));
    assert!(m.contains("chainId") && m.contains("64 bits"), "{m}");
    let mut f = eip1559_fields();
    f[0] = rl(&[]);
    let m = invalid_msg(eth_err(&typed(2, &f)));
    assert!(m.contains("chainId") && m.contains("list"), "{m}");
    let mut f = legacy_fields();
    f.extend([rb(&[]), rb(&[]), rb(&[])]);
    let m = invalid_msg(eth_err(&hex::encode(rl(&f))));
    assert!(m.contains("chainId"), "{m}");
    // Max u64 chain id is fine (EIP-155 v computed in 128 bits).
    let mut f = legacy_fields();
    f.extend([rb(&u64::MAX.to_be_bytes()), rb(&[]), rb(&[])]);
    let t = eth(&hex::encode(rl(&f)));
    assert_eq!(t.chain_id, Some(u64::MAX));
    tx::sign(&ParsedTx::Ethereum(t), Curve::Secp256k1, &[7; 32], &[]).unwrap();

    // `to`.
    let mut f = eip1559_fields();
    f[5] = rb(&[0x35; 19]);
    let m = invalid_msg(eth_err(&typed(2, &f)));
    assert!(m.contains("`to`") && m.contains("19 bytes"), "{m}");
    let mut f = eip1559_fields();
    f[5] = rb(&[]);
    assert_eq!(eth(&typed(2, &f)).to, None); // contract creation
                                             // Blob and set-code transactions cannot create contracts.
    let mut f = eip1559_fields();
    f[5] = rb(&[]);
    f.push(rl(&[]));
    assert!(invalid_msg(eth_err(&typed(4, &f))).contains("cannot create a contract"));

    // Value over 256 bits.
    let mut f = eip1559_fields();
    f[6] = rb(&[1; 33]);
    assert!(invalid_msg(eth_err(&typed(2, &f))).contains("256 bits"));

    // Access list shape.
    let mut f = eip1559_fields();
    f[8] = rl(&[rl(&[rb(&[0x11; 20])])]);
    assert!(invalid_msg(eth_err(&typed(2, &f))).contains("accessList[0]"));
    let mut f = eip1559_fields();
    f[8] = rl(&[rl(&[rb(&[0x11; 20]), rl(&[rb(&[1; 31])])])]);
    assert!(invalid_msg(eth_err(&typed(2, &f))).contains("32 bytes"));

    // Unknown / unsupported envelope types.
    for ty in ["05", "7f", "00"] {
        let e = eth_err(&format!("{ty}c0"));
        assert!(
            matches!(&e, TxError::Unsupported(m) if m.contains(&format!("0x{ty}"))),
            "{e:?}"
        );
    }
    assert!(invalid_msg(eth_err("80")).contains("not an Ethereum transaction"));
    // Blob network wrapper (with sidecars).
    let mut blob = eip1559_fields();
    blob.extend([rb(&[1]), rl(&[rb(&[1; 32])])]);
    let wrapper = typed(3, &[rl(&blob), rl(&[]), rl(&[]), rl(&[])]);
    assert!(matches!(eth_err(&wrapper), TxError::Unsupported(m) if m.contains("sidecar")));
    eth(&typed(3, &blob));

    // Oversized.
    let big = "00".repeat(tx::MAX_TX_HEX_CHARS / 2 + 1);
    assert!(matches!(eth_err(&big), TxError::TooLarge { .. }));
    let mut f = legacy_fields();
    f[5] = rb(&vec![0xab; eth::MAX_TX_BYTES]);
    assert!(matches!(
        eth_err(&hex::encode(rl(&f))),
        TxError::TooLarge { .. }
    ));
}

#[test]
fn eth_signature_fields() {
    // Typed tx with trailing zero yParity/r/s: tolerated, same signing hash.
    let plain = eth(&typed(2, &eip1559_fields()));
    let mut f = eip1559_fields();
    f.extend([rb(&[]), rb(&[]), rb(&[])]);
    let with_zero = eth(&typed(2, &f));
    assert_eq!(plain.signing_hash(), with_zero.signing_hash());
    assert_eq!(plain, with_zero);
    // Already signed (typed and legacy vectors' signed forms).
    let mut f = eip1559_fields();
    f.extend([rb(&[1]), rb(&[5; 32]), rb(&[6; 32])]);
    assert!(invalid_msg(eth_err(&typed(2, &f))).contains("already carries a signature"));
    let file = vectors("eip155.json");
    for c in file["vectors"].as_array().unwrap() {
        let m = invalid_msg(eth_err(s(c, "signed")));
        assert!(m.contains("already carries a signature"), "{m}");
    }
    let file = vectors("eip1559.json");
    let m = invalid_msg(eth_err(s(&file["vectors"][0], "signed")));
    assert!(m.contains("already carries a signature"), "{m}");
}

#[test]
fn transaction_type_and_curve_checks() {
    assert_eq!(
        TransactionType::parse("TRANSACTION_TYPE_ETHEREUM").unwrap(),
        TransactionType::Ethereum
    );
    assert_eq!(
        TransactionType::parse("TRANSACTION_TYPE_SOLANA").unwrap(),
        TransactionType::Solana
    );
    for t in [
        "TRANSACTION_TYPE_TRON",
        "TRANSACTION_TYPE_BITCOIN",
        "TRANSACTION_TYPE_TEMPO",
    ] {
        let e = TransactionType::parse(t).unwrap_err();
        assert!(
            matches!(&e, TxError::Unsupported(m) if m.contains(t)),
            "{e}"
        );
        assert!(e.is_client_error());
    }
    assert!(matches!(
        TransactionType::parse("ETHEREUM"),
        Err(TxError::UnknownType(_))
    ));

    let parsed = tx::parse(TransactionType::Ethereum, &typed(2, &eip1559_fields())).unwrap();
    let e = tx::sign(&parsed, Curve::Ed25519, &[1; 32], &[0; 32]).unwrap_err();
    assert!(matches!(e, TxError::WrongCurve { .. }));
    assert!(e.to_string().contains("CURVE_SECP256K1"), "{e}");
    // Public key that does not belong to the private key.
    let e = tx::sign(&parsed, Curve::Secp256k1, &[1; 32], &public_of(&[2; 32])).unwrap_err();
    assert_eq!(e, TxError::KeyMismatch);
    assert!(!e.is_client_error());
    let e = tx::sign(&parsed, Curve::Secp256k1, &[0; 32], &[]).unwrap_err();
    assert_eq!(e, TxError::InvalidKey);

    let file = vectors("solana_tx.json");
    let sol = tx::parse(TransactionType::Solana, s(&file["vectors"][0], "unsigned")).unwrap();
    let e = tx::sign(&sol, Curve::Secp256k1, &[1; 32], &[]).unwrap_err();
    assert!(matches!(e, TxError::WrongCurve { .. }));
}

#[test]
fn u256_decimal_and_limits() {
    assert_eq!(U256::ZERO.to_string(), "0");
    let max = U256([0xff; 32]);
    assert_eq!(
        max.to_string(),
        "115792089237316195423570985008687907853269984665640564039457584007913129639935"
    );
    assert_eq!(U256::from_dec_str(&max.to_string()), Some(max));
    assert_eq!(
        U256::from_dec_str(
            "115792089237316195423570985008687907853269984665640564039457584007913129639936"
        ),
        None
    );
    assert_eq!(U256::from_u128(12345).to_u64(), Some(12345));
    assert_eq!(max.to_u128(), None);
    assert_eq!(U256::from_hex_digits("ff").map(|v| v.bits()), Some(8));
    assert!(U256::from_u128(2) > U256::from_u128(1));
}

// ---- Solana

fn sol(hex_str: &str) -> solana::UnsignedTx {
    match tx::parse(TransactionType::Solana, hex_str) {
        Ok(ParsedTx::Solana(t)) => t,
        other => panic!("expected a Solana tx, got {other:?}"),
    }
}

fn sol_err(hex_str: &str) -> TxError {
    match tx::parse(TransactionType::Solana, hex_str) {
        Err(e) => e,
        Ok(t) => panic!("expected an error, parsed {t:?}"),
    }
}

#[test]
fn solana_vectors() {
    let file = vectors("solana_tx.json");
    let cases = file["vectors"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for c in cases {
        let label = s(c, "name");
        let unsigned = s(c, "unsigned");
        let t = sol(unsigned);
        assert_eq!(hex::encode(t.serialize()), unsigned, "{label}");
        assert_eq!(t, sol(&format!("0x{unsigned}")));
        let v0 = label.starts_with("v0");
        assert_eq!(
            t.version,
            if v0 {
                MessageVersion::V0
            } else {
                MessageVersion::Legacy
            },
            "{label}"
        );
        assert_eq!(
            t.signatures.len(),
            usize::from(t.header.num_required_signatures)
        );
        assert!(t.signatures.iter().all(|s| s.iter().all(|b| *b == 0)));
        let secret = key32(s(c, "secretKey"));
        let public = hex::decode(s(c, "publicKey")).unwrap();
        let parsed = ParsedTx::Solana(t.clone());
        let result = tx::sign(&parsed, Curve::Ed25519, &secret, &public);
        if c["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("negative"))
        {
            let e = result.unwrap_err();
            assert_eq!(e, TxError::NotASigner, "{label}");
            assert_eq!(
                e.to_string(),
                "signWith is not a required signer of this transaction"
            );
            // The key is in the transaction, just not among the signers.
            assert!(t.account_keys.iter().any(|k| k.as_slice() == public));
            continue;
        }
        let signed = result.unwrap();
        assert_eq!(signed, s(c, "signed"), "{label}");
        let again = sol(&signed);
        assert_eq!(again.message_bytes(), t.message_bytes());
        let slot = again
            .signer_keys()
            .iter()
            .position(|k| k.as_slice() == public)
            .unwrap();
        assert!(sign::verify_ed25519(
            &public,
            again.message_bytes(),
            &again.signatures[slot]
        ));
        if label.contains("with address table lookup") {
            assert_eq!(t.address_table_lookups.len(), 1);
        }
        if label.contains("memo") {
            assert!(t.instructions.iter().any(|i| i.data.len() == 300));
        }
    }
}

#[test]
fn solana_rejections() {
    let file = vectors("solana_tx.json");
    let legacy = hex::decode(s(&file["vectors"][0], "unsigned")).unwrap();
    let v0 = hex::decode(s(&file["vectors"][3], "unsigned")).unwrap();
    let public = hex::decode(s(&file["vectors"][0], "publicKey")).unwrap();
    let secret = key32(s(&file["vectors"][0], "secretKey"));

    assert!(matches!(sol_err(""), TxError::InvalidHex(_)));
    assert!(matches!(sol_err("0g"), TxError::InvalidHex(_)));
    // Truncated at every length: clean errors only.
    for n in 0..legacy.len() {
        let e = sol_err(&hex::encode(&legacy[..n]));
        assert!(
            matches!(e, TxError::Invalid(_) | TxError::InvalidHex(_)),
            "{n}: {e:?}"
        );
    }
    for n in 0..v0.len() {
        assert!(tx::parse(TransactionType::Solana, &hex::encode(&v0[..n])).is_err());
    }
    // Trailing bytes.
    let mut t = legacy.clone();
    t.push(0);
    assert!(invalid_msg(sol_err(&hex::encode(&t))).contains("trailing"));
    // A bare message (no signature section) is refused.
    let msg = &legacy[65..];
    assert!(sol_err(&hex::encode(msg))
        .to_string()
        .starts_with("unsignedTransaction: "));
    // Signature count that does not match the header.
    let mut t = vec![2u8];
    t.extend_from_slice(&[0; 128]);
    t.extend_from_slice(msg);
    assert!(invalid_msg(sol_err(&hex::encode(&t))).contains("signature slots"));
    // Unsupported message version.
    let mut t = v0.clone();
    t[65] = 0x81;
    assert!(
        matches!(sol_err(&hex::encode(&t)), TxError::Unsupported(m) if m.contains("version 1"))
    );
    // Non-canonical compact-u16 (1 encoded as 0x81 0x00).
    let mut t = vec![0x81, 0x00];
    t.extend_from_slice(&legacy[1..]);
    assert!(invalid_msg(sol_err(&hex::encode(&t))).contains("non-canonical"));
    // Header claiming more signers than keys.
    let mut t = legacy.clone();
    t[65 + 2] = 200; // num_readonly_unsigned_accounts
    assert!(invalid_msg(sol_err(&hex::encode(&t))).contains("account keys"));
    // Every signer read-only.
    let mut t = legacy.clone();
    t[65 + 1] = 1;
    assert!(invalid_msg(sol_err(&hex::encode(&t))).contains("read-only"));
    // Program index out of range: the last instruction's program index byte.
    let parsed = sol(&hex::encode(&legacy));
    let keys = parsed.account_keys.len();
    let ix_start = 65 + 3 + 1 + 32 * keys + 32 + 1;
    let mut t = legacy.clone();
    t[ix_start] = keys as u8;
    assert!(invalid_msg(sol_err(&hex::encode(&t))).contains("program index"));
    let mut t = legacy.clone();
    t[ix_start] = 0;
    assert!(invalid_msg(sol_err(&hex::encode(&t))).contains("fee payer"));
    // Oversized.
    let big = "00".repeat(solana::MAX_TX_BYTES + 1);
    assert!(matches!(sol_err(&big), TxError::TooLarge { .. }));

    // Key mismatch: the public key does not belong to the secret.
    let parsed = ParsedTx::Solana(sol(&hex::encode(&legacy)));
    let e = tx::sign(&parsed, Curve::Ed25519, &[9; 32], &public).unwrap_err();
    assert_eq!(e, TxError::KeyMismatch);
    // Signing twice is deterministic; signing an already-signed slot overwrites it identically.
    let a = tx::sign(&parsed, Curve::Ed25519, &secret, &public).unwrap();
    let b = tx::sign(&ParsedTx::Solana(sol(&a)), Curve::Ed25519, &secret, &public);
    assert_eq!(b.unwrap(), a);
}

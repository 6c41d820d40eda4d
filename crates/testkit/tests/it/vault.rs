//! The key vault end to end through the HTTP server: wallets, accounts, private keys, signing,
//! export and import bundles, on SQLite and PostgreSQL.

use crate::on_both_stores;
use crate::support::*;
use quorate_client::Client;
use quorate_crypto::address::{self, AddressFormat};
use quorate_crypto::hd::{self, Curve, Mnemonic};
use quorate_crypto::hpke_bundle::{self, ImportKey};
use quorate_crypto::keys::ApiKeyPair;
use quorate_crypto::{sign, ApiKeyCurve};
use quorate_proto::vault as vw;
use quorate_testkit::{Backend, TestServer};
use serde_json::{json, Value};

on_both_stores!(
    wallet_lifecycle,
    signing,
    import_and_private_keys,
    vault_errors_and_isolation,
);

const ABANDON: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

fn account(curve: &str, path: &str, format: &str) -> Value {
    json!({"curve": curve, "pathFormat": "PATH_FORMAT_BIP32", "path": path, "addressFormat": format})
}

fn eth(i: u32) -> Value {
    account(
        "CURVE_SECP256K1",
        &format!("m/44'/60'/0'/0/{i}"),
        "ADDRESS_FORMAT_ETHEREUM",
    )
}

fn sol() -> Value {
    account("CURVE_ED25519", "m/44'/501'/0'/0'", "ADDRESS_FORMAT_SOLANA")
}

async fn create_wallet(
    c: &Client,
    org: &str,
    name: &str,
    accounts: Value,
) -> (String, Vec<String>) {
    let a = c
        .submit(
            "create_wallet",
            "ACTIVITY_TYPE_CREATE_WALLET",
            org,
            json!({"walletName": name, "accounts": accounts, "mnemonicLength": 24}),
        )
        .await
        .unwrap();
    let r = completed(&a);
    let addresses = r["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    (r["walletId"].as_str().unwrap().to_string(), addresses)
}

fn derive_address(mnemonic: &Mnemonic, curve: Curve, path: &str, format: AddressFormat) -> String {
    let seed = mnemonic.to_seed("");
    let key = hd::derive(&seed, curve, &hd::parse_path(path).unwrap()).unwrap();
    address::encode(format, &key.public_key()).unwrap()
}

/// Exports with a fresh target key and decrypts like `@turnkey/crypto` would.
async fn export(s: &TestServer, c: &Client, path: &str, ty: &str, params: Value) -> Vec<u8> {
    let org = &s.root.organization_id;
    let target = ImportKey::generate();
    let mut params = params;
    params["targetPublicKey"] = json!(target.public_key_uncompressed_hex());
    let a = c.submit(path, ty, org, params).await.unwrap();
    let bundle = completed(&a)["exportBundle"].as_str().unwrap().to_string();
    let signer = s.app.signer_public_key().unwrap();
    hpke_bundle::decrypt_export_bundle(&bundle, &target, org, &signer)
        .unwrap()
        .to_vec()
}

async fn wallet_lifecycle(backend: Backend) {
    let s = TestServer::start(backend, "vault_wallets").await.unwrap();
    let c = s.root_client();
    let org = s.root.organization_id.clone();
    let (wallet_id, addresses) = create_wallet(
        &c,
        &org,
        "main",
        json!([
            eth(0),
            sol(),
            account(
                "CURVE_SECP256K1",
                "m/84'/0'/0'/0/0",
                "ADDRESS_FORMAT_BITCOIN_MAINNET_P2WPKH"
            )
        ]),
    )
    .await;
    assert_eq!(addresses.len(), 3);
    assert!(addresses[0].starts_with("0x") && addresses[0].len() == 42);
    assert!(addresses[2].starts_with("bc1q"));

    // Reads.
    let w: vw::GetWalletResponse = c
        .query(
            "get_wallet",
            &json!({"organizationId": org, "walletId": wallet_id}),
        )
        .await
        .unwrap();
    assert_eq!(
        (w.wallet.wallet_name.as_str(), w.wallet.exported),
        ("main", false)
    );
    let list: vw::GetWalletsResponse = c
        .query("list_wallets", &json!({"organizationId": org}))
        .await
        .unwrap();
    assert_eq!(list.wallets.len(), 1);
    let page1: vw::GetWalletAccountsResponse = c
        .query("list_wallet_accounts", &json!({"organizationId": org, "walletId": wallet_id, "paginationOptions": {"limit": "2"}}))
        .await
        .unwrap();
    assert_eq!(page1.accounts.len(), 2);
    let page2: vw::GetWalletAccountsResponse = c
        .query("list_wallet_accounts", &json!({"organizationId": org, "walletId": wallet_id, "paginationOptions": {"limit": "2", "after": page1.accounts[1].wallet_account_id}}))
        .await
        .unwrap();
    assert_eq!(page2.accounts.len(), 1);
    assert_eq!(page2.accounts[0].address, addresses[2]);
    let one: vw::GetWalletAccountResponse = c
        .query(
            "get_wallet_account",
            &json!({"organizationId": org, "walletId": wallet_id, "address": addresses[1]}),
        )
        .await
        .unwrap();
    assert_eq!(one.account.curve, "CURVE_ED25519");
    assert_eq!(one.account.public_key.len(), 64);

    // More accounts: a preview (persist=false) derives without storing.
    let preview = c
        .submit(
            "create_wallet_accounts",
            "ACTIVITY_TYPE_CREATE_WALLET_ACCOUNTS",
            &org,
            json!({"walletId": wallet_id, "accounts": [eth(1)], "persist": false}),
        )
        .await
        .unwrap();
    let previewed = completed(&preview)["addresses"][0]
        .as_str()
        .unwrap()
        .to_string();
    let more = c
        .submit(
            "create_wallet_accounts",
            "ACTIVITY_TYPE_CREATE_WALLET_ACCOUNTS",
            &org,
            json!({"walletId": wallet_id, "accounts": [eth(1)]}),
        )
        .await
        .unwrap();
    assert_eq!(completed(&more)["addresses"][0], json!(previewed));
    let dup = c
        .submit(
            "create_wallet_accounts",
            "ACTIVITY_TYPE_CREATE_WALLET_ACCOUNTS",
            &org,
            json!({"walletId": wallet_id, "accounts": [eth(1)]}),
        )
        .await;
    assert_eq!(api_error(dup).0, 409);

    // An account may carry a display name.
    let mut named = eth(2);
    named["name"] = json!("savings");
    let named_address = completed(
        &c.submit(
            "create_wallet_accounts",
            "ACTIVITY_TYPE_CREATE_WALLET_ACCOUNTS",
            &org,
            json!({"walletId": wallet_id, "accounts": [named]}),
        )
        .await
        .unwrap(),
    )["addresses"][0]
        .as_str()
        .unwrap()
        .to_string();
    let got: vw::GetWalletAccountResponse = c
        .query(
            "get_wallet_account",
            &json!({"organizationId": org, "walletId": wallet_id, "address": named_address}),
        )
        .await
        .unwrap();
    assert_eq!(got.account.name.as_deref(), Some("savings"));

    // Rename; names are unique among live wallets.
    completed(
        &c.submit(
            "update_wallet",
            "ACTIVITY_TYPE_UPDATE_WALLET",
            &org,
            json!({"walletId": wallet_id, "walletName": "renamed"}),
        )
        .await
        .unwrap(),
    );
    create_wallet(&c, &org, "main", json!([])).await;
    let clash = c
        .submit(
            "create_wallet",
            "ACTIVITY_TYPE_CREATE_WALLET",
            &org,
            json!({"walletName": "renamed", "accounts": []}),
        )
        .await;
    assert_eq!(api_error(clash).0, 409);

    // Deleting an unexported wallet needs the explicit flag.
    let refused = c
        .submit(
            "delete_wallets",
            "ACTIVITY_TYPE_DELETE_WALLETS",
            &org,
            json!({"walletIds": [wallet_id]}),
        )
        .await;
    let (status, _, message) = api_error(refused);
    assert_eq!(status, 400);
    assert!(message.contains("deleteWithoutExport"), "{message}");

    // Export: the mnemonic decrypts and derives the same addresses.
    let phrase = export(
        &s,
        &c,
        "export_wallet",
        "ACTIVITY_TYPE_EXPORT_WALLET",
        json!({"walletId": wallet_id}),
    )
    .await;
    let mnemonic = Mnemonic::parse(std::str::from_utf8(&phrase).unwrap()).unwrap();
    assert_eq!(mnemonic.word_count(), 24);
    assert_eq!(
        derive_address(
            &mnemonic,
            Curve::Secp256k1,
            "m/44'/60'/0'/0/0",
            AddressFormat::Ethereum
        ),
        addresses[0]
    );
    assert_eq!(
        derive_address(
            &mnemonic,
            Curve::Ed25519,
            "m/44'/501'/0'/0'",
            AddressFormat::Solana
        ),
        addresses[1]
    );
    assert_eq!(
        derive_address(
            &mnemonic,
            Curve::Secp256k1,
            "m/44'/60'/0'/0/1",
            AddressFormat::Ethereum
        ),
        previewed
    );
    // One account's raw key.
    let raw = export(
        &s,
        &c,
        "export_wallet_account",
        "ACTIVITY_TYPE_EXPORT_WALLET_ACCOUNT",
        json!({"address": addresses[0]}),
    )
    .await;
    let public = hd::public_key_from_private(Curve::Secp256k1, &raw).unwrap();
    assert_eq!(
        address::encode(AddressFormat::Ethereum, &public).unwrap(),
        addresses[0]
    );

    // Exported: now it may be deleted; then it is gone for reads and signing.
    completed(
        &c.submit(
            "delete_wallets",
            "ACTIVITY_TYPE_DELETE_WALLETS",
            &org,
            json!({"walletIds": [wallet_id]}),
        )
        .await
        .unwrap(),
    );
    let gone = c
        .query::<vw::GetWalletResponse>(
            "get_wallet",
            &json!({"organizationId": org, "walletId": wallet_id}),
        )
        .await;
    assert_eq!(api_error(gone).0, 404);
    let sign = c
        .submit("sign_raw_payload", "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2", &org, json!({"signWith": addresses[0], "payload": "00", "encoding": "PAYLOAD_ENCODING_HEXADECIMAL", "hashFunction": "HASH_FUNCTION_KECCAK256"}))
        .await;
    assert_eq!(api_error(sign).0, 404);
    s.stop().await.unwrap();
}

async fn signing(backend: Backend) {
    let s = TestServer::start(backend, "vault_signing").await.unwrap();
    let c = s.root_client();
    let org = s.root.organization_id.clone();
    let (_, addresses) = create_wallet(&c, &org, "signer", json!([eth(0), sol()])).await;
    let body = Client::activity_body(
        "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2",
        &org,
        json!({"signWith": addresses[0], "payload": "hello quorate", "encoding": "PAYLOAD_ENCODING_TEXT_UTF8", "hashFunction": "HASH_FUNCTION_KECCAK256"}),
    );
    let first = c
        .submit_body("sign_raw_payload", body.clone())
        .await
        .unwrap();
    let sig = completed(&first).clone();
    let (r, s_, v) = (
        sig["r"].as_str().unwrap(),
        sig["s"].as_str().unwrap(),
        sig["v"].as_str().unwrap(),
    );
    assert_eq!((r.len(), s_.len()), (64, 64));
    let digest: [u8; 32] = sha3_keccak(b"hello quorate");
    let recid = u8::from_str_radix(v, 16).unwrap();
    let public = sign::recover_secp256k1(
        &digest,
        &hex::decode(r).unwrap().try_into().unwrap(),
        &hex::decode(s_).unwrap().try_into().unwrap(),
        recid,
    )
    .unwrap();
    assert_eq!(
        address::encode(AddressFormat::Ethereum, &public).unwrap(),
        addresses[0]
    );
    // The same body is the same activity, with the same signature.
    let again = c.submit_body("sign_raw_payload", body).await.unwrap();
    assert_eq!(
        (again.id.as_str(), &again.result),
        (first.id.as_str(), &first.result)
    );

    // Several payloads; Ed25519.
    let many = c
        .submit("sign_raw_payloads", "ACTIVITY_TYPE_SIGN_RAW_PAYLOADS", &org, json!({"signWith": addresses[0], "payloads": ["01", "02", "03"], "encoding": "PAYLOAD_ENCODING_HEXADECIMAL", "hashFunction": "HASH_FUNCTION_SHA256"}))
        .await
        .unwrap();
    assert_eq!(completed(&many)["signatures"].as_array().unwrap().len(), 3);
    let ed = c
        .submit("sign_raw_payload", "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2", &org, json!({"signWith": addresses[1], "payload": "solana message", "encoding": "PAYLOAD_ENCODING_TEXT_UTF8", "hashFunction": "HASH_FUNCTION_NOT_APPLICABLE"}))
        .await
        .unwrap();
    let ed = completed(&ed);
    let sig = hex::decode(format!(
        "{}{}",
        ed["r"].as_str().unwrap(),
        ed["s"].as_str().unwrap()
    ))
    .unwrap();
    let public = bs58::decode(&addresses[1]).into_vec().unwrap();
    assert!(sign::verify_ed25519(&public, b"solana message", &sig));

    // An EIP-1559 transaction: signed and returned whole.
    let unsigned = "02f00180843b9aca008509502f90008252089470997970c51812dc3a010c7d01b50e0d17dc79c8881158e460913d000080c0";
    let tx = c
        .submit("sign_transaction", "ACTIVITY_TYPE_SIGN_TRANSACTION_V2", &org, json!({"signWith": addresses[0], "unsignedTransaction": unsigned, "type": "TRANSACTION_TYPE_ETHEREUM"}))
        .await
        .unwrap();
    let signed = completed(&tx)["signedTransaction"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        signed.starts_with("02") && signed.len() > unsigned.len(),
        "{signed}"
    );
    s.stop().await.unwrap();
}

async fn import_and_private_keys(backend: Backend) {
    let s = TestServer::start(backend, "vault_import").await.unwrap();
    let c = s.root_client();
    let org = s.root.organization_id.clone();
    let user = s.root.user_id.clone();
    let signer = s.app.signer_public_key().unwrap();

    // Import a known mnemonic: the standard first Ethereum address comes back.
    let init = c
        .submit(
            "init_import_wallet",
            "ACTIVITY_TYPE_INIT_IMPORT_WALLET",
            &org,
            json!({"userId": user}),
        )
        .await
        .unwrap();
    let import_bundle = completed(&init)["importBundle"]
        .as_str()
        .unwrap()
        .to_string();
    let encrypted = hpke_bundle::encrypt_to_import_bundle(
        &import_bundle,
        &org,
        &user,
        &signer,
        ABANDON.as_bytes(),
    )
    .unwrap();
    let imported = c
        .submit("import_wallet", "ACTIVITY_TYPE_IMPORT_WALLET", &org, json!({"userId": user, "walletName": "imported", "encryptedBundle": encrypted, "accounts": [eth(0)]}))
        .await
        .unwrap();
    assert_eq!(
        completed(&imported)["addresses"][0],
        json!("0x9858EfFD232B4033E47d90003D41EC34EcaEda94")
    );
    // The import key is single-use.
    let replay = c
        .submit("import_wallet", "ACTIVITY_TYPE_IMPORT_WALLET", &org, json!({"userId": user, "walletName": "again", "encryptedBundle": encrypted, "accounts": []}))
        .await;
    assert_eq!(api_error(replay).0, 400);

    // A raw private key.
    let init = c
        .submit(
            "init_import_private_key",
            "ACTIVITY_TYPE_INIT_IMPORT_PRIVATE_KEY",
            &org,
            json!({"userId": user}),
        )
        .await
        .unwrap();
    let import_bundle = completed(&init)["importBundle"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = [0x46u8; 32];
    let encrypted =
        hpke_bundle::encrypt_to_import_bundle(&import_bundle, &org, &user, &signer, &secret)
            .unwrap();
    let imported = c
        .submit("import_private_key", "ACTIVITY_TYPE_IMPORT_PRIVATE_KEY", &org, json!({"userId": user, "privateKeyName": "eip155", "encryptedBundle": encrypted, "curve": "CURVE_SECP256K1", "addressFormats": ["ADDRESS_FORMAT_ETHEREUM"]}))
        .await
        .unwrap();
    let r = completed(&imported);
    // The EIP-155 example key.
    assert_eq!(
        r["addresses"][0]["address"],
        json!("0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F")
    );
    let imported_id = r["privateKeyId"].as_str().unwrap().to_string();

    // Created keys, tags, reads.
    let tag = c
        .submit(
            "create_private_key_tag",
            "ACTIVITY_TYPE_CREATE_PRIVATE_KEY_TAG",
            &org,
            json!({"privateKeyTagName": "hot", "privateKeyIds": []}),
        )
        .await
        .unwrap();
    let tag_id = completed(&tag)["privateKeyTagId"]
        .as_str()
        .unwrap()
        .to_string();
    let created = c
        .submit("create_private_keys", "ACTIVITY_TYPE_CREATE_PRIVATE_KEYS_V2", &org, json!({"privateKeys": [
            {"privateKeyName": "k1", "curve": "CURVE_SECP256K1", "privateKeyTags": [tag_id], "addressFormats": ["ADDRESS_FORMAT_ETHEREUM", "ADDRESS_FORMAT_COMPRESSED"]},
            {"privateKeyName": "k2", "curve": "CURVE_ED25519", "privateKeyTags": [], "addressFormats": ["ADDRESS_FORMAT_SOLANA"]}
        ]}))
        .await
        .unwrap();
    let keys = completed(&created)["privateKeys"]
        .as_array()
        .unwrap()
        .clone();
    let k1 = keys[0]["privateKeyId"].as_str().unwrap().to_string();
    let k1_address = keys[0]["addresses"][0]["address"]
        .as_str()
        .unwrap()
        .to_string();
    let got: vw::GetPrivateKeyResponse = c
        .query(
            "get_private_key",
            &json!({"organizationId": org, "privateKeyId": k1}),
        )
        .await
        .unwrap();
    assert_eq!(got.private_key.private_key_tags, vec![tag_id.clone()]);
    assert_eq!(got.private_key.addresses.len(), 2);
    let all: vw::GetPrivateKeysResponse = c
        .query("list_private_keys", &json!({"organizationId": org}))
        .await
        .unwrap();
    assert_eq!(all.private_keys.len(), 3);
    let tags: vw::ListPrivateKeyTagsResponse = c
        .query("list_private_key_tags", &json!({"organizationId": org}))
        .await
        .unwrap();
    assert_eq!(tags.private_key_tags[0].tag_type, "TAG_TYPE_PRIVATE_KEY");
    completed(
        &c.submit("update_private_key_tag", "ACTIVITY_TYPE_UPDATE_PRIVATE_KEY_TAG", &org, json!({"privateKeyTagId": tag_id, "newPrivateKeyTagName": "warm", "addPrivateKeyIds": [imported_id], "removePrivateKeyIds": []}))
            .await
            .unwrap(),
    );

    // Sign by id and by address: the same key, the same deterministic signature.
    let payload = json!({"payload": "ab", "encoding": "PAYLOAD_ENCODING_HEXADECIMAL", "hashFunction": "HASH_FUNCTION_KECCAK256"});
    let mut by_id = payload.clone();
    by_id["signWith"] = json!(k1);
    let mut by_address = payload;
    by_address["signWith"] = json!(k1_address);
    let a = c
        .submit(
            "sign_raw_payload",
            "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2",
            &org,
            by_id,
        )
        .await
        .unwrap();
    let b = c
        .submit(
            "sign_raw_payload",
            "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2",
            &org,
            by_address,
        )
        .await
        .unwrap();
    assert_eq!(completed(&a), completed(&b));

    // Export the imported key: the same bytes.
    let raw = export(
        &s,
        &c,
        "export_private_key",
        "ACTIVITY_TYPE_EXPORT_PRIVATE_KEY",
        json!({"privateKeyId": imported_id}),
    )
    .await;
    assert_eq!(raw, secret.to_vec());
    let deleted = c
        .submit(
            "delete_private_keys",
            "ACTIVITY_TYPE_DELETE_PRIVATE_KEYS",
            &org,
            json!({"privateKeyIds": [imported_id]}),
        )
        .await
        .unwrap();
    completed(&deleted);
    let del_tags = c
        .submit(
            "delete_private_key_tags",
            "ACTIVITY_TYPE_DELETE_PRIVATE_KEY_TAGS",
            &org,
            json!({"privateKeyTagIds": [tag_id]}),
        )
        .await
        .unwrap();
    assert_eq!(completed(&del_tags)["privateKeyIds"], json!([k1]));
    s.stop().await.unwrap();
}

async fn vault_errors_and_isolation(backend: Backend) {
    let s = TestServer::start(backend, "vault_errors").await.unwrap();
    let c = s.root_client();
    let org = s.root.organization_id.clone();
    let (_, addresses) = create_wallet(&c, &org, "w", json!([eth(0)])).await;

    let submit =
        |path: &'static str, ty: &'static str, params: Value| c.submit(path, ty, &org, params);
    // Parameters checked before anything runs: 400 naming the field.
    let cases = [
        (
            json!({"walletName": "x", "accounts": [account("CURVE_ED25519", "m/44'/501'/0'/0'", "ADDRESS_FORMAT_ETHEREUM")]}),
            "addressFormat",
        ),
        (
            json!({"walletName": "x", "accounts": [account("CURVE_SECP256K1", "m/44'/0'/0'/0/0", "ADDRESS_FORMAT_XRP")]}),
            "not supported",
        ),
        (
            json!({"walletName": "x", "accounts": [account("CURVE_SECP256K1", "m/44'/x", "ADDRESS_FORMAT_ETHEREUM")]}),
            "path",
        ),
        (
            json!({"walletName": "x", "accounts": [], "mnemonicLength": 13}),
            "mnemonicLength",
        ),
    ];
    for (params, needle) in cases {
        let (status, _, message) =
            api_error(submit("create_wallet", "ACTIVITY_TYPE_CREATE_WALLET", params).await);
        assert_eq!(status, 400, "{message}");
        assert!(message.contains(needle), "{needle}: {message}");
    }
    for unsigned in [
        "zz",
        "02",
        "02e90180843b9aca00850ba43b7400825208943535353535353535",
        "f8",
    ] {
        let (status, _, message) = api_error(
            submit("sign_transaction", "ACTIVITY_TYPE_SIGN_TRANSACTION_V2", json!({"signWith": addresses[0], "unsignedTransaction": unsigned, "type": "TRANSACTION_TYPE_ETHEREUM"})).await,
        );
        assert_eq!(status, 400, "{unsigned}: {message}");
        assert!(message.contains("unsignedTransaction"), "{message}");
    }
    let (status, _, message) = api_error(
        submit("sign_raw_payload", "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2", json!({"signWith": "0x0000000000000000000000000000000000000000", "payload": "00", "encoding": "PAYLOAD_ENCODING_HEXADECIMAL", "hashFunction": "HASH_FUNCTION_KECCAK256"})).await,
    );
    assert_eq!(status, 404, "{message}");
    assert!(message.contains("signWith"), "{message}");
    let (status, _, message) = api_error(
        submit("sign_raw_payload", "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2", json!({"signWith": addresses[0], "payload": "00", "encoding": "PAYLOAD_ENCODING_HEXADECIMAL", "hashFunction": "HASH_FUNCTION_NO_OP"})).await,
    );
    assert_eq!(status, 400, "{message}");

    // Another organization cannot reach this organization's keys.
    let sub_key = p256();
    let (sub, _) = create_sub_org(&c, &org, "tenant", &sub_key).await;
    let sub_client = s.client(
        ApiKeyPair::from_private_hex(ApiKeyCurve::P256, &sub_key.private_key_hex()).unwrap(),
    );
    let (status, _, _) = api_error(
        sub_client
            .submit("sign_raw_payload", "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2", &sub, json!({"signWith": addresses[0], "payload": "00", "encoding": "PAYLOAD_ENCODING_HEXADECIMAL", "hashFunction": "HASH_FUNCTION_KECCAK256"}))
            .await,
    );
    assert_eq!(status, 404);
    let (status, _, _) = api_error(
        sub_client
            .submit("sign_raw_payload", "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2", &org, json!({"signWith": addresses[0], "payload": "00", "encoding": "PAYLOAD_ENCODING_HEXADECIMAL", "hashFunction": "HASH_FUNCTION_KECCAK256"}))
            .await,
    );
    assert!(status == 401 || status == 403, "{status}");
    // A sub-organization created with a wallet: the wallet and its accounts are the
    // sub-organization's, and its root user signs with them.
    let owner = p256();
    let a = c
        .submit(
            "create_sub_organization",
            "ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V8",
            &org,
            json!({"subOrganizationName": "with-wallet", "rootQuorumThreshold": 1,
                   "rootUsers": [user_params("r", json!([{"apiKeyName": "k", "publicKey": owner.public_key_hex(), "curveType": "API_KEY_CURVE_P256"}]), json!([]))],
                   "wallet": {"walletName": "default", "accounts": [eth(0)]}}),
        )
        .await
        .unwrap();
    let r = completed(&a).clone();
    let sub_org = r["subOrganizationId"].as_str().unwrap().to_string();
    let address = r["wallet"]["addresses"][0].as_str().unwrap().to_string();
    let owner_client = s
        .client(ApiKeyPair::from_private_hex(ApiKeyCurve::P256, &owner.private_key_hex()).unwrap());
    let accounts: vw::GetWalletAccountsResponse = owner_client
        .query("list_wallet_accounts", &json!({"organizationId": sub_org}))
        .await
        .unwrap();
    assert_eq!(accounts.accounts.len(), 1);
    assert_eq!(
        (
            accounts.accounts[0].organization_id.as_str(),
            accounts.accounts[0].address.as_str()
        ),
        (sub_org.as_str(), address.as_str())
    );
    let signed = owner_client
        .submit("sign_raw_payload", "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2", &sub_org, json!({"signWith": address, "payload": "00", "encoding": "PAYLOAD_ENCODING_HEXADECIMAL", "hashFunction": "HASH_FUNCTION_KECCAK256"}))
        .await
        .unwrap();
    completed(&signed);
    // The parent does not see or use it.
    let parent_view: vw::GetWalletAccountsResponse = c
        .query("list_wallet_accounts", &json!({"organizationId": org}))
        .await
        .unwrap();
    assert!(parent_view.accounts.iter().all(|a| a.address != address));
    // The same path spelled differently is the same account.
    let (w2, _) = create_wallet(&c, &org, "spellings", json!([eth(0)])).await;
    let again = c
        .submit("create_wallet_accounts", "ACTIVITY_TYPE_CREATE_WALLET_ACCOUNTS", &org, json!({"walletId": w2, "accounts": [account("CURVE_SECP256K1", "m/44h/60h/0h/0/0", "ADDRESS_FORMAT_ETHEREUM")]}))
        .await;
    assert_eq!(api_error(again).0, 409);
    s.stop().await.unwrap();
}

fn sha3_keccak(data: &[u8]) -> [u8; 32] {
    let prepared = sign::prepare(
        Curve::Secp256k1,
        &hex::encode(data),
        sign::PayloadEncoding::Hexadecimal,
        sign::HashFunction::Keccak256,
    )
    .unwrap();
    *prepared.digest().unwrap()
}

#!/usr/bin/env node
// Self-check of the independent derivation helpers in sdk-tests/lib/vault.mjs
// against published vectors, without a server. Usage (from the repo root):
//   (cd sdk-tests && npm ci)            # once, if node_modules is missing
//   node sdk-tests/tools/derive-check.mjs
// Exits non-zero on any failure; ends with an "N passed, N failed" line.
//
// Vectors: the BIP39 test mnemonic "abandon ×11 about" (no passphrase):
//   Ethereum m/44'/60'/0'/0/0   0x9858EfFD232B4033E47d90003D41EC34EcaEda94 (widely published)
//   BIP44 m/44'/0'/0'/0/0        1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA         (BIP44 test vectors)
//   BIP84 m/84'/0'/0'/0/0        bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu (BIP84 test vectors)
//   BIP86 m/86'/0'/0'/0/0        bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr (BIP86)
//   Solana m/44'/501'/0'/0'      HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk (Phantom/solana-keygen)
//   Tron m/44'/195'/0'/0/0       TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH
//   Cosmos m/44'/118'/0'/0/0     cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4
// plus SLIP-10 ed25519 test vector 1 and testnet-vs-mainnet payload checks.

import {
  TEST_MNEMONIC,
  TEST_VECTORS,
  ALL_ACCOUNTS,
  deriveAccount,
  deriveSecp256k1,
  tronAddress,
  cosmosAddress,
  secp256k1AddressFor,
  ADDRESS_SHAPES,
  isValidMnemonic,
  toHex,
} from "../lib/vault.mjs";
import { HDKey as Slip10 } from "micro-ed25519-hdkey";
import { bech32, bech32m, createBase58check } from "@scure/base";
import { sha256, hexToBytes } from "viem";

const b58c = createBase58check((b) => hexToBytes(sha256(b)));

let passed = 0;
let failed = 0;
function check(name, got, want) {
  if (got === want) {
    passed++;
    console.log(`ok   - ${name}`);
  } else {
    failed++;
    console.log(`FAIL - ${name}: got ${got}, want ${want}`);
  }
}
function attempt(name, fn) {
  try {
    fn();
  } catch (e) {
    failed++;
    console.log(`FAIL - ${name}: threw ${e.stack || e}`);
  }
}

attempt("test mnemonic", () => check("test mnemonic is valid BIP39", isValidMnemonic(TEST_MNEMONIC), true));

for (const a of ALL_ACCOUNTS) {
  attempt(a.addressFormat, () => {
    const d = deriveAccount(TEST_MNEMONIC, a);
    if (TEST_VECTORS[a.addressFormat] && a.path === defaultPathFor(a.addressFormat)) {
      check(`${a.addressFormat} ${a.path}`, d.address, TEST_VECTORS[a.addressFormat]);
    }
    check(`${a.addressFormat} address shape (${d.address})`, ADDRESS_SHAPES[a.addressFormat].test(d.address), true);
  });
}

function defaultPathFor(fmt) {
  return {
    ADDRESS_FORMAT_ETHEREUM: "m/44'/60'/0'/0/0",
    ADDRESS_FORMAT_BITCOIN_MAINNET_P2PKH: "m/44'/0'/0'/0/0",
    ADDRESS_FORMAT_BITCOIN_MAINNET_P2WPKH: "m/84'/0'/0'/0/0",
    ADDRESS_FORMAT_BITCOIN_MAINNET_P2TR: "m/86'/0'/0'/0/0",
    ADDRESS_FORMAT_SOLANA: "m/44'/501'/0'/0'",
  }[fmt];
}

// Testnet variants: the same key encoded for testnet must carry the same
// payload (hash160 / witness program) under the testnet prefix. Decoded with
// @scure/base, independently of the bitcoinjs-lib encoders under test.
attempt("testnet encodings", () => {
  for (const [path, main, test] of [
    ["m/44'/0'/0'/0/0", "ADDRESS_FORMAT_BITCOIN_MAINNET_P2PKH", "ADDRESS_FORMAT_BITCOIN_TESTNET_P2PKH"],
    ["m/84'/0'/0'/0/0", "ADDRESS_FORMAT_BITCOIN_MAINNET_P2WPKH", "ADDRESS_FORMAT_BITCOIN_TESTNET_P2WPKH"],
    ["m/86'/0'/0'/0/0", "ADDRESS_FORMAT_BITCOIN_MAINNET_P2TR", "ADDRESS_FORMAT_BITCOIN_TESTNET_P2TR"],
  ]) {
    const k = deriveSecp256k1(TEST_MNEMONIC, path);
    const a = secp256k1AddressFor(main, k.publicKey);
    const b = secp256k1AddressFor(test, k.publicKey);
    check(`${test} shape (${b})`, ADDRESS_SHAPES[test].test(b), true);
    if (main.endsWith("P2PKH")) {
      const da = b58c.decode(a);
      const db = b58c.decode(b);
      check(`${test} version byte 0x6f`, db[0], 0x6f);
      check(`${test} same hash160 as mainnet`, toHex(db.subarray(1)), toHex(da.subarray(1)));
    } else {
      const codec = main.endsWith("P2TR") ? bech32m : bech32;
      const da = codec.decode(a);
      const db = codec.decode(b);
      check(`${test} hrp`, db.prefix, "tb");
      check(`${test} same witness program as mainnet`, toHex(Uint8Array.from(db.words)), toHex(Uint8Array.from(da.words)));
    }
  }
});

// BIP84 also publishes the account-0 public key and second receive address.
attempt("BIP84 second address", () => {
  const d = deriveAccount(TEST_MNEMONIC, {
    curve: "CURVE_SECP256K1",
    path: "m/84'/0'/0'/0/1",
    addressFormat: "ADDRESS_FORMAT_BITCOIN_MAINNET_P2WPKH",
  });
  check("BIP84 m/84'/0'/0'/0/1", d.address, "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g");
  check(
    "BIP84 m/84'/0'/0'/0/0 public key",
    deriveAccount(TEST_MNEMONIC, {
      curve: "CURVE_SECP256K1",
      path: "m/84'/0'/0'/0/0",
      addressFormat: "ADDRESS_FORMAT_COMPRESSED",
    }).address,
    "0330d54fd0dd420a6e5f8d3624f5f3482cae350f79d5f0753bf5beef9c2d91af3c",
  );
});

// BIP86 publishes the second receive address too.
attempt("BIP86 second address", () => {
  const d = deriveAccount(TEST_MNEMONIC, {
    curve: "CURVE_SECP256K1",
    path: "m/86'/0'/0'/0/1",
    addressFormat: "ADDRESS_FORMAT_BITCOIN_MAINNET_P2TR",
  });
  check("BIP86 m/86'/0'/0'/0/1", d.address, "bc1p4qhjn9zdvkux4e44uhx8tc55attvtyu358kutcqkudyccelu0was9fqzwh");
});

// Tron: the "abandon…about" key at m/44'/195'/0'/0/0 is
// TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH (Ian Coleman's BIP39 tool, Ledger Tron app tests).
attempt("tron encoder", () => {
  const d = deriveAccount(TEST_MNEMONIC, {
    curve: "CURVE_SECP256K1",
    path: "m/44'/195'/0'/0/0",
    addressFormat: "ADDRESS_FORMAT_TRON",
  });
  check("tron m/44'/195'/0'/0/0", d.address, "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH");
  const k = deriveSecp256k1(TEST_MNEMONIC, "m/44'/195'/0'/0/0");
  check("tronAddress(uncompressed) agrees", tronAddress(k.uncompressed), d.address);
});

// Cosmos: bech32 of ripemd160(sha256(pubkey)) — the "abandon…about" key at
// m/44'/118'/0'/0/0 is cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4 (cosmjs tests).
attempt("cosmos encoder", () => {
  const d = deriveAccount(TEST_MNEMONIC, {
    curve: "CURVE_SECP256K1",
    path: "m/44'/118'/0'/0/0",
    addressFormat: "ADDRESS_FORMAT_COSMOS",
  });
  check("cosmos m/44'/118'/0'/0/0", d.address, "cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4");
  const k = deriveSecp256k1(TEST_MNEMONIC, "m/44'/118'/0'/0/0");
  check("cosmosAddress(compressed) agrees", cosmosAddress(k.publicKey), d.address);
});

// SLIP-10 ed25519 test vector 1 (seed 000102…0f): chain m/0'/1'/2'/2'/1000000000'.
attempt("slip10 vector", () => {
  const node = Slip10.fromMasterSeed("000102030405060708090a0b0c0d0e0f").derive(
    "m/0'/1'/2'/2'/1000000000'",
  );
  check(
    "SLIP-10 ed25519 vector 1 private key",
    toHex(node.privateKey),
    "8f94d394a8e8fd6b1bc2f3f49f5c47e385281d5c17e65324b0f62483e37e8793",
  );
  check(
    "SLIP-10 ed25519 vector 1 public key",
    toHex(node.publicKeyRaw),
    "3c24da049451555d51a7014a37337aa4e12d41e485abccfa46b47dfb2af54b7a",
  );
});

console.log(`derive-check: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

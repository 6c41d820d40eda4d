// Independent key derivation and address encoding for the vault tests.
//
// Everything here uses third-party libraries only (no quorate code, no Turnkey
// code), so that an address the server returns can be checked against what any
// other wallet would derive from the same mnemonic or key:
//   - BIP39 seed:            @scure/bip39
//   - BIP32 secp256k1:       @scure/bip32 (HDKey), viem mnemonicToAccount for Ethereum
//   - SLIP-10 ed25519:       micro-ed25519-hdkey, @solana/web3.js Keypair for the address
//   - Bitcoin:               bitcoinjs-lib payments (p2pkh, p2wpkh, p2tr with BIP86 tweak) + tiny-secp256k1
//   - Cosmos:                bech32("cosmos", ripemd160(sha256(compressed pubkey)))      (@scure/base)
//   - Tron:                  base58check(0x41 ‖ keccak256(uncompressed[1..])[12..])       (@scure/base)
//
// Verified against published vectors by tools/derive-check.mjs.

import { mnemonicToSeedSync, validateMnemonic } from "@scure/bip39";
import { wordlist as english } from "@scure/bip39/wordlists/english";
import { HDKey as Bip32 } from "@scure/bip32";
import { HDKey as Slip10 } from "micro-ed25519-hdkey";
import { Keypair } from "@solana/web3.js";
import * as ecc from "tiny-secp256k1";
import * as bitcoin from "bitcoinjs-lib";
import { bech32, createBase58check, base58 } from "@scure/base";
import {
  keccak256,
  sha256,
  ripemd160,
  bytesToHex,
  hexToBytes,
  getAddress,
} from "viem";
import { mnemonicToAccount, privateKeyToAddress } from "viem/accounts";

bitcoin.initEccLib(ecc);

const sha256Bytes = (b) => hexToBytes(sha256(b));
const base58check = createBase58check(sha256Bytes);

/** The BIP39 test mnemonic ("abandon" ×11 + "about") and its well-known addresses. */
export const TEST_MNEMONIC =
  "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
export const TEST_VECTORS = {
  ADDRESS_FORMAT_ETHEREUM: "0x9858EfFD232B4033E47d90003D41EC34EcaEda94",
  ADDRESS_FORMAT_BITCOIN_MAINNET_P2PKH: "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA",
  ADDRESS_FORMAT_BITCOIN_MAINNET_P2WPKH: "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
  ADDRESS_FORMAT_BITCOIN_MAINNET_P2TR:
    "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
  ADDRESS_FORMAT_SOLANA: "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk",
};

/**
 * One account of every address format the vault work covers, with Turnkey's
 * default paths (swagger / docs): Ethereum m/44'/60', Solana m/44'/501' (all
 * hardened, ed25519), Cosmos m/44'/118', Tron m/44'/195', Bitcoin BIP44/84/86
 * with coin type 0' (mainnet) or 1' (testnet).
 */
export const ALL_ACCOUNTS = [
  acct("CURVE_SECP256K1", "m/44'/60'/0'/0/0", "ADDRESS_FORMAT_ETHEREUM"),
  acct("CURVE_ED25519", "m/44'/501'/0'/0'", "ADDRESS_FORMAT_SOLANA"),
  acct("CURVE_SECP256K1", "m/44'/118'/0'/0/0", "ADDRESS_FORMAT_COSMOS"),
  acct("CURVE_SECP256K1", "m/44'/195'/0'/0/0", "ADDRESS_FORMAT_TRON"),
  acct("CURVE_SECP256K1", "m/44'/60'/0'/0/1", "ADDRESS_FORMAT_UNCOMPRESSED"),
  acct("CURVE_SECP256K1", "m/44'/60'/0'/0/2", "ADDRESS_FORMAT_COMPRESSED"),
  acct("CURVE_SECP256K1", "m/44'/0'/0'/0/0", "ADDRESS_FORMAT_BITCOIN_MAINNET_P2PKH"),
  acct("CURVE_SECP256K1", "m/84'/0'/0'/0/0", "ADDRESS_FORMAT_BITCOIN_MAINNET_P2WPKH"),
  acct("CURVE_SECP256K1", "m/86'/0'/0'/0/0", "ADDRESS_FORMAT_BITCOIN_MAINNET_P2TR"),
  acct("CURVE_SECP256K1", "m/44'/1'/0'/0/0", "ADDRESS_FORMAT_BITCOIN_TESTNET_P2PKH"),
  acct("CURVE_SECP256K1", "m/84'/1'/0'/0/0", "ADDRESS_FORMAT_BITCOIN_TESTNET_P2WPKH"),
  acct("CURVE_SECP256K1", "m/86'/1'/0'/0/0", "ADDRESS_FORMAT_BITCOIN_TESTNET_P2TR"),
];

export function acct(curve, path, addressFormat) {
  return { curve, pathFormat: "PATH_FORMAT_BIP32", path, addressFormat };
}

export function isValidMnemonic(m) {
  return validateMnemonic(m, english);
}

export const hexNo0x = (h) => (h.startsWith("0x") ? h.slice(2) : h);
export const toHex = (bytes) => hexNo0x(bytesToHex(bytes));
export const fromHex = (h) => hexToBytes(`0x${hexNo0x(h)}`);

// ---------------------------------------------------------------------------
// Key derivation

/** secp256k1 BIP32 key at `path`: {privateKey, publicKey (33 B), uncompressed (65 B)}. */
export function deriveSecp256k1(mnemonic, path) {
  const node = Bip32.fromMasterSeed(mnemonicToSeedSync(mnemonic)).derive(path);
  const publicKey = node.publicKey;
  return {
    privateKey: node.privateKey,
    publicKey,
    uncompressed: ecc.pointCompress(publicKey, false),
  };
}

/** ed25519 SLIP-10 key at `path` (all segments hardened): {privateKey (32 B seed), publicKey (32 B)}. */
export function deriveEd25519(mnemonic, path) {
  const node = Slip10.fromMasterSeed(toHex(mnemonicToSeedSync(mnemonic))).derive(path);
  return { privateKey: node.privateKey, publicKey: node.publicKeyRaw };
}

// ---------------------------------------------------------------------------
// Address encodings (from public keys)

const BTC = {
  MAINNET: bitcoin.networks.bitcoin,
  TESTNET: bitcoin.networks.testnet,
};

export function ethereumAddress(uncompressed) {
  return getAddress(`0x${keccak256(uncompressed.subarray(1)).slice(-40)}`);
}

export function tronAddress(uncompressed) {
  const h = fromHex(keccak256(uncompressed.subarray(1)));
  const payload = new Uint8Array(21);
  payload[0] = 0x41;
  payload.set(h.subarray(12), 1);
  return base58check.encode(payload);
}

export function cosmosAddress(compressed) {
  const h = fromHex(ripemd160(sha256(compressed)));
  return bech32.encode("cosmos", bech32.toWords(h));
}

export function solanaAddress(ed25519PublicKey) {
  return base58.encode(ed25519PublicKey);
}

export function bitcoinAddress(addressFormat, compressed) {
  const m = addressFormat.match(/^ADDRESS_FORMAT_BITCOIN_(MAINNET|TESTNET)_(P2PKH|P2WPKH|P2TR)$/);
  if (!m) throw new Error(`not a supported bitcoin format: ${addressFormat}`);
  const network = BTC[m[1]];
  const pubkey = Uint8Array.from(compressed);
  switch (m[2]) {
    case "P2PKH":
      return bitcoin.payments.p2pkh({ pubkey, network }).address;
    case "P2WPKH":
      return bitcoin.payments.p2wpkh({ pubkey, network }).address;
    case "P2TR":
      // BIP86: key-path only, output key = internal key tweaked with an empty script tree.
      return bitcoin.payments.p2tr({ internalPubkey: pubkey.subarray(1, 33), network }).address;
  }
}

/** The address Turnkey's `addressFormat` denotes for a secp256k1 public key (33 or 65 bytes). */
export function secp256k1AddressFor(addressFormat, publicKey) {
  const compressed = ecc.pointCompress(publicKey, true);
  const uncompressed = ecc.pointCompress(publicKey, false);
  switch (addressFormat) {
    case "ADDRESS_FORMAT_ETHEREUM":
      return ethereumAddress(uncompressed);
    case "ADDRESS_FORMAT_TRON":
      return tronAddress(uncompressed);
    case "ADDRESS_FORMAT_COSMOS":
      return cosmosAddress(compressed);
    // Assumption (as Turnkey): COMPRESSED / UNCOMPRESSED "addresses" are the
    // lowercase hex SEC1 public key without 0x.
    case "ADDRESS_FORMAT_COMPRESSED":
      return toHex(compressed);
    case "ADDRESS_FORMAT_UNCOMPRESSED":
      return toHex(uncompressed);
    default:
      return bitcoinAddress(addressFormat, compressed);
  }
}

/**
 * Derive the address of one wallet account ({curve, path, addressFormat}) from
 * a mnemonic, independently of the server. Returns {address, publicKey (hex),
 * privateKey (hex)}.
 */
export function deriveAccount(mnemonic, { curve, path, addressFormat }) {
  if (curve === "CURVE_ED25519") {
    const k = deriveEd25519(mnemonic, path);
    let address;
    if (addressFormat === "ADDRESS_FORMAT_SOLANA") {
      // Second, independent encoder for the same key: @solana/web3.js.
      address = Keypair.fromSeed(k.privateKey).publicKey.toBase58();
      const viaScure = solanaAddress(k.publicKey);
      if (address !== viaScure) throw new Error(`solana encoders disagree: ${address} vs ${viaScure}`);
    } else if (addressFormat === "ADDRESS_FORMAT_COMPRESSED") {
      address = toHex(k.publicKey);
    } else {
      throw new Error(`no independent encoder for ed25519 + ${addressFormat}`);
    }
    return { address, publicKey: toHex(k.publicKey), privateKey: toHex(k.privateKey) };
  }
  if (curve !== "CURVE_SECP256K1") throw new Error(`no independent derivation for ${curve}`);
  const k = deriveSecp256k1(mnemonic, path);
  let address = secp256k1AddressFor(addressFormat, k.publicKey);
  if (addressFormat === "ADDRESS_FORMAT_ETHEREUM") {
    // Cross-check with viem's own HD account and key → address.
    const viaViem = mnemonicToAccount(mnemonic, { path }).address;
    const viaKey = privateKeyToAddress(`0x${toHex(k.privateKey)}`);
    if (viaViem !== address || viaKey !== address) {
      throw new Error(`ethereum derivations disagree: ${address} / viem ${viaViem} / key ${viaKey}`);
    }
  }
  return { address, publicKey: toHex(k.publicKey), privateKey: toHex(k.privateKey) };
}

/**
 * Compare server addresses with an independent derivation. `accounts[i]` are the
 * wallet-account params sent, `addresses[i]` what the server returned (same
 * order). Returns a list of human-readable mismatches (empty = all good).
 */
export function addressMismatches(mnemonic, accounts, addresses) {
  const out = [];
  if (!Array.isArray(addresses) || addresses.length !== accounts.length) {
    out.push(`expected ${accounts.length} addresses, got ${JSON.stringify(addresses)}`);
    return out;
  }
  accounts.forEach((a, i) => {
    let want;
    try {
      want = deriveAccount(mnemonic, a).address;
    } catch (e) {
      out.push(`${a.addressFormat} ${a.path}: independent derivation failed: ${e.message}`);
      return;
    }
    if (addresses[i] !== want) {
      out.push(`${a.addressFormat} ${a.path}: server ${addresses[i]} ≠ derived ${want}`);
    }
  });
  return out;
}

/** Rough shape of an address per format (checked before any derivation). */
export const ADDRESS_SHAPES = {
  ADDRESS_FORMAT_ETHEREUM: /^0x[0-9a-fA-F]{40}$/,
  ADDRESS_FORMAT_SOLANA: /^[1-9A-HJ-NP-Za-km-z]{32,44}$/,
  ADDRESS_FORMAT_COSMOS: /^cosmos1[02-9ac-hj-np-z]{38}$/,
  ADDRESS_FORMAT_TRON: /^T[1-9A-HJ-NP-Za-km-z]{33}$/,
  ADDRESS_FORMAT_UNCOMPRESSED: /^04[0-9a-f]{128}$/,
  ADDRESS_FORMAT_COMPRESSED: /^0[23][0-9a-f]{64}$/,
  ADDRESS_FORMAT_BITCOIN_MAINNET_P2PKH: /^1[1-9A-HJ-NP-Za-km-z]{25,34}$/,
  ADDRESS_FORMAT_BITCOIN_MAINNET_P2WPKH: /^bc1q[02-9ac-hj-np-z]{38}$/,
  ADDRESS_FORMAT_BITCOIN_MAINNET_P2TR: /^bc1p[02-9ac-hj-np-z]{58}$/,
  ADDRESS_FORMAT_BITCOIN_TESTNET_P2PKH: /^[mn][1-9A-HJ-NP-Za-km-z]{25,34}$/,
  ADDRESS_FORMAT_BITCOIN_TESTNET_P2WPKH: /^tb1q[02-9ac-hj-np-z]{38}$/,
  ADDRESS_FORMAT_BITCOIN_TESTNET_P2TR: /^tb1p[02-9ac-hj-np-z]{58}$/,
};

// ---------------------------------------------------------------------------
// Signatures

/** {r, s, v} from sign_raw_payload → 65-byte hex signature viem accepts (v 27/28). */
export function rsvToEthSignature({ r, s, v }) {
  const vv = v === "00" || v === "0" ? "1b" : v === "01" || v === "1" ? "1c" : null;
  if (vv === null) throw new Error(`unexpected v ${JSON.stringify(v)} (Turnkey sends "00" or "01")`);
  return `0x${r}${s}${vv}`;
}

/** secp256k1 group order / 2: signatures with s above this are "high-S". */
export const SECP256K1_HALF_N =
  0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

export { ecc, bitcoin, english, privateKeyToAddress };

// SDK-compatibility tests for the key vault: wallets, wallet accounts, private
// keys, signing (raw payloads, Ethereum and Solana transactions), export and
// import — through Turnkey's official npm SDKs (unmodified except for baseUrl)
// against a real `quorate` server started by this file. Every address and
// signature the server returns is checked with third-party libraries (viem,
// bitcoinjs-lib, tiny-secp256k1, @solana/web3.js, tweetnacl, @scure/*), see
// lib/vault.mjs (self-checked by tools/derive-check.mjs).
//
// Env: QUORATE_BIN (default /var/tmp/quorate-target/debug/quorate).
//
// Assumptions about server behaviour that are not pinned down by WIRE.md are
// marked "ASSUMPTION" below; the server author reconciles them.

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";

import { TurnkeyClient } from "@turnkey/http";
import { ApiKeyStamper } from "@turnkey/api-key-stamper";
import { Turnkey } from "@turnkey/sdk-server";
import {
  generateP256KeyPair,
  decryptExportBundle,
  encryptWalletToBundle,
  encryptPrivateKeyToBundle,
} from "@turnkey/crypto";
import { createAccount as createTurnkeyViemAccount } from "@turnkey/viem";
import { TurnkeySigner } from "@turnkey/solana";

import {
  keccak256,
  sha256,
  stringToHex,
  toBytes,
  recoverAddress,
  verifyMessage,
  verifyTypedData,
  serializeTransaction,
  parseTransaction,
  recoverTransactionAddress,
  parseEther,
  parseGwei,
  getAddress,
  createWalletClient,
  custom,
} from "viem";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import {
  Keypair,
  PublicKey,
  SystemProgram,
  Transaction,
  TransactionMessage,
  VersionedTransaction,
} from "@solana/web3.js";
import nacl from "tweetnacl";
import { base58 } from "@scure/base";

import {
  startServer,
  rawPost,
  recordingStamper,
  intentKeyFor,
  getSignerPublicKey,
  show,
  withTimeout,
  QUORATE_BIN,
} from "../lib/helpers.mjs";
import {
  ALL_ACCOUNTS,
  ADDRESS_SHAPES,
  TEST_MNEMONIC,
  TEST_VECTORS,
  acct,
  addressMismatches,
  deriveAccount,
  secp256k1AddressFor,
  isValidMnemonic,
  rsvToEthSignature,
  SECP256K1_HALF_N,
  hexNo0x,
  toHex,
  fromHex,
  ecc,
  bitcoin,
} from "../lib/vault.mjs";

const STEP_TIMEOUT_MS = 90_000;
const CALL_TIMEOUT_MS = 30_000;

const COMPLETED = "ACTIVITY_STATUS_COMPLETED";
const FAILED = "ACTIVITY_STATUS_FAILED";
const T = {
  CREATE_WALLET: "ACTIVITY_TYPE_CREATE_WALLET",
  CREATE_WALLET_ACCOUNTS: "ACTIVITY_TYPE_CREATE_WALLET_ACCOUNTS",
  UPDATE_WALLET: "ACTIVITY_TYPE_UPDATE_WALLET",
  DELETE_WALLETS: "ACTIVITY_TYPE_DELETE_WALLETS",
  EXPORT_WALLET: "ACTIVITY_TYPE_EXPORT_WALLET",
  EXPORT_WALLET_ACCOUNT: "ACTIVITY_TYPE_EXPORT_WALLET_ACCOUNT",
  INIT_IMPORT_WALLET: "ACTIVITY_TYPE_INIT_IMPORT_WALLET",
  IMPORT_WALLET: "ACTIVITY_TYPE_IMPORT_WALLET",
  CREATE_PRIVATE_KEYS: "ACTIVITY_TYPE_CREATE_PRIVATE_KEYS_V2",
  DELETE_PRIVATE_KEYS: "ACTIVITY_TYPE_DELETE_PRIVATE_KEYS",
  EXPORT_PRIVATE_KEY: "ACTIVITY_TYPE_EXPORT_PRIVATE_KEY",
  INIT_IMPORT_PRIVATE_KEY: "ACTIVITY_TYPE_INIT_IMPORT_PRIVATE_KEY",
  IMPORT_PRIVATE_KEY: "ACTIVITY_TYPE_IMPORT_PRIVATE_KEY",
  CREATE_PRIVATE_KEY_TAG: "ACTIVITY_TYPE_CREATE_PRIVATE_KEY_TAG",
  UPDATE_PRIVATE_KEY_TAG: "ACTIVITY_TYPE_UPDATE_PRIVATE_KEY_TAG",
  DELETE_PRIVATE_KEY_TAGS: "ACTIVITY_TYPE_DELETE_PRIVATE_KEY_TAGS",
  SIGN_RAW_PAYLOAD: "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2",
  SIGN_RAW_PAYLOADS: "ACTIVITY_TYPE_SIGN_RAW_PAYLOADS",
  SIGN_TRANSACTION: "ACTIVITY_TYPE_SIGN_TRANSACTION_V2",
  CREATE_SUB_ORG_V8: "ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V8",
};
const R = {
  [T.CREATE_WALLET]: "createWalletResult",
  [T.CREATE_WALLET_ACCOUNTS]: "createWalletAccountsResult",
  [T.UPDATE_WALLET]: "updateWalletResult",
  [T.DELETE_WALLETS]: "deleteWalletsResult",
  [T.EXPORT_WALLET]: "exportWalletResult",
  [T.EXPORT_WALLET_ACCOUNT]: "exportWalletAccountResult",
  [T.INIT_IMPORT_WALLET]: "initImportWalletResult",
  [T.IMPORT_WALLET]: "importWalletResult",
  [T.CREATE_PRIVATE_KEYS]: "createPrivateKeysResultV2",
  [T.DELETE_PRIVATE_KEYS]: "deletePrivateKeysResult",
  [T.EXPORT_PRIVATE_KEY]: "exportPrivateKeyResult",
  [T.INIT_IMPORT_PRIVATE_KEY]: "initImportPrivateKeyResult",
  [T.IMPORT_PRIVATE_KEY]: "importPrivateKeyResult",
  [T.CREATE_PRIVATE_KEY_TAG]: "createPrivateKeyTagResult",
  [T.UPDATE_PRIVATE_KEY_TAG]: "updatePrivateKeyTagResult",
  [T.DELETE_PRIVATE_KEY_TAGS]: "deletePrivateKeyTagsResult",
  [T.SIGN_RAW_PAYLOAD]: "signRawPayloadResult",
  [T.SIGN_RAW_PAYLOADS]: "signRawPayloadsResult",
  [T.SIGN_TRANSACTION]: "signTransactionResult",
  [T.CREATE_SUB_ORG_V8]: "createSubOrganizationResultV8",
};
// google.rpc code → HTTP status, as grpc-gateway maps them (WIRE §5).
const HTTP_FOR_CODE = { 3: 400, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 12: 501, 13: 500, 16: 401 };
const CODES_FOR_HTTP = { 400: [3, 9], 401: [16], 403: [7], 404: [5], 409: [6, 10] };

const ETH = ALL_ACCOUNTS.find((a) => a.addressFormat === "ADDRESS_FORMAT_ETHEREUM");
const SOL = ALL_ACCOUNTS.find((a) => a.addressFormat === "ADDRESS_FORMAT_SOLANA");
const P2WPKH = ALL_ACCOUNTS.find((a) => a.addressFormat === "ADDRESS_FORMAT_BITCOIN_MAINNET_P2WPKH");

// ---------------------------------------------------------------------------
// shared state

const S = {
  server: null,
  init: null,
  baseUrl: null,
  org: null, // root organization id
  userId: null, // root user id
  rootStamper: null,
  root: null, // @turnkey/http TurnkeyClient (root API key)
  api: null, // @turnkey/sdk-server apiClient() (root API key)
  apiStamper: null,
  signer: null, // bundle signer public key, or
  signerError: null, // why it could not be obtained
  failures: 0,
};
// Vault objects created along the way.
const V = {
  w12: null, // {walletId, walletName, accounts, addresses, mnemonic?}
  w24: null,
  eth: null, // address of the ETHEREUM account of w12
  sol: null, // address of the SOLANA account of w12
  p2wpkh: null, // address of the BITCOIN_MAINNET_P2WPKH account of w12
  pkSecp: null, // {privateKeyId, eth, compressed}
  pkEd: null, // {privateKeyId, sol}
  imported: null, // {walletId, addresses}
};

let uniq = 0;
const unique = (prefix) => `${prefix}-${Date.now()}-${++uniq}`;
let lastTs = 0;
/** Strictly increasing timestampMs, so two otherwise identical bodies never collide (idempotency). */
const nowMs = () => {
  lastTs = Math.max(Date.now(), lastTs + 1);
  return String(lastTs);
};

function call(promise, what) {
  return withTimeout(promise, CALL_TIMEOUT_MS, what);
}

/**
 * Await an SDK call; a TurnkeyRequestError becomes an error naming the call,
 * the HTTP status it stands for and the server's message (e.g. the 501
 * NOT_IMPLEMENTED the vault routes answer until they exist).
 */
async function sdk(promise, what) {
  try {
    return await call(promise, what);
  } catch (e) {
    if (e && e.name === "TurnkeyRequestError") {
      const http = HTTP_FOR_CODE[e.code];
      throw new Error(
        `${what}: server answered HTTP ${http ?? "?"} (code ${e.code}): ${e.message}`,
        { cause: e },
      );
    }
    if (e && e.message && !e.message.startsWith(what)) e.message = `${what}: ${e.message}`;
    throw e;
  }
}

function step(name, fn) {
  test(name, { timeout: STEP_TIMEOUT_MS }, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      S.failures++;
      throw e;
    }
  });
}

function need(value, what) {
  assert.ok(value, `prerequisite missing: ${what} (an earlier test failed)`);
  return value;
}

function signerKey() {
  if (!S.signer) {
    assert.fail(`bundle signer public key unavailable: ${S.signerError?.message ?? "unknown"}`);
  }
  return S.signer;
}

function assertTimestamp(ts, where) {
  assert.ok(ts && typeof ts === "object", `${where} should be a {seconds,nanos} object, got ${show(ts)}`);
  assert.match(String(ts.seconds), /^\d+$/, `${where}.seconds must be a digit string: ${show(ts)}`);
  assert.equal(typeof ts.seconds, "string", `${where}.seconds must be a string: ${show(ts)}`);
  assert.equal(typeof ts.nanos, "string", `${where}.nanos must be a string: ${show(ts)}`);
}

/**
 * `resp` is what an SDK returned for a submit: @turnkey/http gives
 * {activity}, @turnkey/sdk-server gives {...result[resultKey], activity}.
 * Asserts a completed activity of `type` in `organizationId` and returns
 * activity.result[resultKey].
 */
function completed(resp, type, organizationId = S.org) {
  const resultKey = R[type];
  assert.ok(
    resp && typeof resp === "object" && resp.activity && typeof resp.activity === "object",
    `response should carry {activity}, got ${show(resp)}`,
  );
  const a = resp.activity;
  assert.equal(
    a.status,
    COMPLETED,
    `activity.status should be ${COMPLETED}; failure=${show(a.failure)}; activity=${show(a)}`,
  );
  assert.equal(a.type, type, `activity.type: ${show(a)}`);
  assert.equal(a.organizationId, organizationId, `activity.organizationId: ${show(a)}`);
  const ik = intentKeyFor(type);
  assert.ok(a.intent && a.intent[ik], `activity.intent should have key "${ik}": ${show(a.intent)}`);
  assert.deepEqual(
    Object.keys(a.result || {}),
    [resultKey],
    `activity.result must hold exactly one key "${resultKey}": ${show(a.result)}`,
  );
  return a.result[resultKey];
}

/** JSON for viem objects (bigints as strings). */
const showTx = (x) => JSON.stringify(x, (_, v) => (typeof v === "bigint" ? `${v}n` : v)).slice(0, 3000);

function stampHeaders(stamp) {
  return { [stamp.stampHeaderName]: stamp.stampHeaderValue };
}

const matchesAny = (text, mentions) =>
  mentions.some((m) => (m instanceof RegExp ? m.test(text) : text.toLowerCase().includes(String(m).toLowerCase())));

/**
 * Expect a request to be refused. The body is sent twice: raw (stamped by
 * client[`stamp${Method}`]) to see the HTTP status and rpcStatus body, then
 * through the SDK method itself (fresh timestampMs) to see what a user sees.
 *   statuses:    accepted HTTP statuses (google.rpc.Status body, code per WIRE §5)
 *   mentions:    the message must match one of these (RegExp or substring)
 *   allowFailed: also accept 200 + ACTIVITY_STATUS_FAILED whose failure.message matches
 * Returns the message.
 */
async function expectRefused(client, method, body, { statuses = [400, 404], mentions, allowFailed = false, what }) {
  const stampName = `stamp${method[0].toUpperCase()}${method.slice(1)}`;
  const signed = await client[stampName](body);
  const res = await call(rawPost(signed.url, signed.body, stampHeaders(signed.stamp)), what);
  const ctx = `${what}: HTTP ${res.status}, content-type ${show(res.contentType)}, body ${res.text.slice(0, 1500)}\nrequest: ${signed.body.slice(0, 1500)}`;
  let message;
  if (res.status === 200) {
    const a = res.json?.activity;
    assert.ok(
      allowFailed,
      `expected HTTP ${statuses.join("/")}, got 200 (activity status ${a?.status}) — ${ctx}`,
    );
    assert.equal(a?.status, FAILED, `expected HTTP ${statuses.join("/")} or a FAILED activity — ${ctx}`);
    assert.equal(typeof a.failure?.message, "string", `FAILED activity must carry failure.message — ${ctx}`);
    message = a.failure.message;
  } else {
    assert.ok(
      statuses.includes(res.status),
      `expected HTTP ${statuses.join("/")}${allowFailed ? " (or 200 + FAILED activity)" : ""} — ${ctx}`,
    );
    assert.ok(res.json && typeof res.json === "object", `error body must be JSON — ${ctx}`);
    assert.ok(
      (CODES_FOR_HTTP[res.status] || []).includes(res.json.code),
      `body.code ${res.json.code} should be one of ${show(CODES_FOR_HTTP[res.status])} for HTTP ${res.status} — ${ctx}`,
    );
    assert.equal(typeof res.json.message, "string", `body.message — ${ctx}`);
    assert.equal(res.contentType, "application/json", `Content-Type — ${ctx}`);
    message = res.json.message;
    // Details often carry the specific reason; include them in the match.
    if (Array.isArray(res.json.details)) message += " " + JSON.stringify(res.json.details);
  }
  assert.ok(
    matchesAny(message, mentions),
    `${what}: the error message should name the problem (${mentions.map(String).join(" | ")}); got: ${message}`,
  );

  // The same through the SDK.
  const again = { ...body, timestampMs: body.timestampMs ? nowMs() : undefined };
  if (again.timestampMs === undefined) delete again.timestampMs;
  let sdkResult;
  let sdkError;
  try {
    sdkResult = await call(client[method](again), `${what} (SDK)`);
  } catch (e) {
    sdkError = e;
  }
  if (sdkError) {
    assert.equal(
      sdkError.name,
      "TurnkeyRequestError",
      `${what} (SDK): expected TurnkeyRequestError, got ${sdkError.name}: ${sdkError.message}`,
    );
    assert.ok(
      statuses.includes(HTTP_FOR_CODE[sdkError.code]),
      `${what} (SDK): err.code ${sdkError.code} (HTTP ${HTTP_FOR_CODE[sdkError.code]}) not in ${statuses.join("/")}: ${sdkError.message}`,
    );
  } else {
    assert.ok(
      allowFailed && sdkResult?.activity?.status === FAILED,
      `${what} (SDK): expected a rejection, the call succeeded: ${show(sdkResult)}`,
    );
  }
  return message;
}

/** A P-256 target key pair for export (@turnkey/crypto). */
function exportTarget() {
  const kp = generateP256KeyPair();
  assert.match(kp.publicKeyUncompressed, /^04[0-9a-f]{128}$/);
  return kp;
}

/** Sign with sign_raw_payload through sdk-server and return {r,s,v,activity}. */
async function signRaw(params, what, { api = S.api, organizationId } = {}) {
  const r = await sdk(
    api.signRawPayload({ ...(organizationId ? { organizationId } : {}), timestampMs: nowMs(), ...params }),
    what,
  );
  const res = completed(r, T.SIGN_RAW_PAYLOAD, organizationId ?? S.org);
  assertRsv(res, what);
  return res;
}

function assertRsv(sig, what) {
  assert.ok(sig && typeof sig === "object", `${what}: signRawPayloadResult: ${show(sig)}`);
  assert.match(sig.r, /^[0-9a-fA-F]{64}$/, `${what}: r must be 64 hex chars without 0x: ${show(sig)}`);
  assert.match(sig.s, /^[0-9a-fA-F]{64}$/, `${what}: s must be 64 hex chars without 0x: ${show(sig)}`);
  assert.equal(typeof sig.v, "string", `${what}: v must be a string: ${show(sig)}`);
}

function assertEthRecovers(sig, hash, address, what) {
  assert.match(sig.v, /^0[01]$/, `${what}: v must be "00" or "01" for secp256k1: ${show(sig)}`);
  return recoverAddress({ hash, signature: rsvToEthSignature(sig) }).then((got) =>
    assert.equal(got, getAddress(address), `${what}: signature recovers ${got}, expected ${address}; sig ${show(sig)}`),
  );
}

function assertLowS(sig, what) {
  // ASSUMPTION: like Turnkey (and EIP-2 / BIP-62), secp256k1 signatures are low-S.
  assert.ok(BigInt(`0x${sig.s}`) <= SECP256K1_HALF_N, `${what}: s must be low-S: ${show(sig)}`);
}

function verifyEd25519(sig, messageBytes, solAddress, what) {
  const signature = fromHex(`${sig.r}${sig.s}`);
  const ok = nacl.sign.detached.verify(messageBytes, signature, base58.decode(solAddress));
  assert.ok(ok, `${what}: ed25519 signature ${sig.r}${sig.s} does not verify for ${solAddress}`);
}

/** Walk list_wallet_accounts for a wallet with the given page size. */
async function allWalletAccounts(walletId, limit = "100") {
  const out = [];
  let after;
  for (let page = 0; page < 50; page++) {
    const r = await sdk(
      S.api.getWalletAccounts({
        walletId,
        paginationOptions: after ? { limit, after } : { limit },
      }),
      `getWalletAccounts page ${page + 1}`,
    );
    assert.ok(Array.isArray(r.accounts), `expected {accounts:[…]}, got ${show(r)}`);
    assert.ok(r.accounts.length <= Number(limit), `limit ${limit} must cap the page: got ${r.accounts.length}`);
    out.push(...r.accounts);
    if (r.accounts.length < Number(limit)) break;
    after = r.accounts[r.accounts.length - 1].walletAccountId;
  }
  return out;
}

function checkWalletAccount(a, where) {
  for (const f of ["walletAccountId", "organizationId", "walletId", "curve", "pathFormat", "path", "addressFormat", "address"]) {
    assert.equal(typeof a[f], "string", `${where}.${f} is required (swagger v1WalletAccount): ${show(a)}`);
  }
  assertTimestamp(a.createdAt, `${where}.createdAt`);
  assertTimestamp(a.updatedAt, `${where}.updatedAt`);
  assert.equal(a.pathFormat, "PATH_FORMAT_BIP32", `${where}.pathFormat: ${show(a)}`);
}

function checkWallet(w, where) {
  for (const f of ["walletId", "walletName"]) {
    assert.equal(typeof w[f], "string", `${where}.${f} is required (swagger v1Wallet): ${show(w)}`);
  }
  assertTimestamp(w.createdAt, `${where}.createdAt`);
  assertTimestamp(w.updatedAt, `${where}.updatedAt`);
  assert.equal(typeof w.exported, "boolean", `${where}.exported boolean: ${show(w)}`);
  assert.equal(typeof w.imported, "boolean", `${where}.imported boolean: ${show(w)}`);
}

function checkPrivateKey(k, where) {
  for (const f of ["privateKeyId", "publicKey", "privateKeyName", "curve"]) {
    assert.equal(typeof k[f], "string", `${where}.${f} is required (swagger v1PrivateKey): ${show(k)}`);
  }
  assert.ok(Array.isArray(k.addresses), `${where}.addresses array: ${show(k)}`);
  assert.ok(Array.isArray(k.privateKeyTags), `${where}.privateKeyTags array: ${show(k)}`);
  assertTimestamp(k.createdAt, `${where}.createdAt`);
  assertTimestamp(k.updatedAt, `${where}.updatedAt`);
  assert.equal(typeof k.exported, "boolean", `${where}.exported boolean: ${show(k)}`);
  assert.equal(typeof k.imported, "boolean", `${where}.imported boolean: ${show(k)}`);
}

/** Create a wallet through sdk-server and return {walletId, walletName, accounts, addresses}. */
async function createWallet({ accounts, mnemonicLength, name = unique("wallet"), api = S.api, organizationId = S.org }) {
  const params = { walletName: name, accounts };
  if (mnemonicLength !== undefined) params.mnemonicLength = mnemonicLength;
  const r = await sdk(
    api.createWallet({ ...params, ...(organizationId !== S.org ? { organizationId } : {}) }),
    `createWallet(${name})`,
  );
  const res = completed(r, T.CREATE_WALLET, organizationId);
  assert.equal(typeof res.walletId, "string", `createWalletResult.walletId: ${show(res)}`);
  assert.ok(Array.isArray(res.addresses), `createWalletResult.addresses: ${show(res)}`);
  assert.equal(res.addresses.length, accounts.length, `one address per account: ${show(res)}`);
  assert.equal(r.walletId, res.walletId, "sdk-server spreads the result");
  return { walletId: res.walletId, walletName: name, accounts: [...accounts], addresses: [...res.addresses] };
}

/** export_wallet → decrypt → mnemonic. */
async function exportMnemonic(walletId, what) {
  const kp = exportTarget();
  const r = await sdk(S.api.exportWallet({ walletId, targetPublicKey: kp.publicKeyUncompressed }), what);
  const res = completed(r, T.EXPORT_WALLET);
  assert.equal(res.walletId, walletId, `exportWalletResult.walletId: ${show(res)}`);
  assert.equal(typeof res.exportBundle, "string", `exportWalletResult.exportBundle: ${show(res)}`);
  let mnemonic;
  try {
    mnemonic = await decryptExportBundle({
      exportBundle: res.exportBundle,
      embeddedKey: kp.privateKey,
      organizationId: S.org,
      dangerouslyOverrideSignerPublicKey: signerKey(),
      returnMnemonic: true,
    });
  } catch (e) {
    assert.fail(`${what}: @turnkey/crypto decryptExportBundle refused the bundle: ${e.message}\nbundle: ${res.exportBundle.slice(0, 1500)}`);
  }
  return mnemonic;
}

function solanaTransferParts(fromAddress) {
  const from = new PublicKey(fromAddress);
  const to = Keypair.fromSeed(new Uint8Array(32).fill(7)).publicKey;
  // Any 32 bytes in base58 make a blockhash; fixed so runs are reproducible.
  const recentBlockhash = base58.encode(toBytes(keccak256(stringToHex("quorate-recent-blockhash"))));
  const ix = SystemProgram.transfer({ fromPubkey: from, toPubkey: to, lamports: 12_345 });
  return { from, to, recentBlockhash, ix };
}

// ---------------------------------------------------------------------------

describe("quorate × Turnkey npm SDKs: key vault", () => {
  before(
    async () => {
      S.server = await startServer();
      S.init = S.server.init;
      S.baseUrl = S.server.baseUrl;
      S.org = S.init.organizationId;
      S.userId = S.init.userId;
      S.rootStamper = recordingStamper(
        new ApiKeyStamper({ apiPublicKey: S.init.apiPublicKey, apiPrivateKey: S.init.apiPrivateKey }),
      );
      S.root = new TurnkeyClient({ baseUrl: S.baseUrl }, S.rootStamper);
      S.api = new Turnkey({
        apiBaseUrl: S.baseUrl,
        apiPublicKey: S.init.apiPublicKey,
        apiPrivateKey: S.init.apiPrivateKey,
        defaultOrganizationId: S.org,
      }).apiClient();
      S.apiStamper = recordingStamper(S.api.stamper);
      S.api.stamper = S.apiStamper;
      try {
        S.signer = await getSignerPublicKey(S.server);
      } catch (e) {
        S.signerError = e;
      }
      process.stderr.write(
        `[sdk-tests vault] quorate (${QUORATE_BIN}) at ${S.baseUrl}, org ${S.org}, signer ${S.signer ?? `unavailable (${S.signerError?.message})`}, log ${S.server.logPath}\n`,
      );
    },
    { timeout: 90_000 },
  );

  after(
    async () => {
      if (!S.server) return;
      await S.server.stop();
      if (S.failures > 0) {
        const log = await S.server.readLog();
        const tail = log.length > 20_000 ? "…" + log.slice(-20_000) : log;
        process.stderr.write(
          `\n[sdk-tests vault] ${S.failures} test(s) failed; quorate server log (${S.server.logPath}):\n${tail}\n[sdk-tests vault] end of server log\n`,
        );
      }
      await S.server.cleanup();
    },
    { timeout: 30_000 },
  );

  // 1 wallets: create, export, independent derivation -------------------------
  step("V1a. createWallet (mnemonicLength 12) with one account of every supported format", async () => {
    const w = await createWallet({ accounts: ALL_ACCOUNTS, mnemonicLength: 12, name: unique("w12") });
    const bad = ALL_ACCOUNTS.map((a, i) => [a.addressFormat, w.addresses[i]]).filter(
      ([fmt, addr]) => !ADDRESS_SHAPES[fmt].test(addr ?? ""),
    );
    assert.deepEqual(bad, [], `addresses that do not look like their format: ${show(bad)}`);
    assert.equal(new Set(w.addresses).size, w.addresses.length, `addresses must be distinct: ${show(w.addresses)}`);
    V.w12 = w;
    V.eth = w.addresses[ALL_ACCOUNTS.indexOf(ETH)];
    V.sol = w.addresses[ALL_ACCOUNTS.indexOf(SOL)];
    V.p2wpkh = w.addresses[ALL_ACCOUNTS.indexOf(P2WPKH)];
  });

  step("V1b. createWallet (mnemonicLength 24) with the same accounts", async () => {
    const w = await createWallet({ accounts: ALL_ACCOUNTS, mnemonicLength: 24, name: unique("w24") });
    for (const [i, a] of ALL_ACCOUNTS.entries()) {
      assert.match(w.addresses[i] ?? "", ADDRESS_SHAPES[a.addressFormat], `${a.addressFormat}: ${show(w.addresses)}`);
    }
    if (V.w12) {
      const shared = w.addresses.filter((x) => V.w12.addresses.includes(x));
      assert.deepEqual(shared, [], "two fresh wallets must not share addresses");
    }
    V.w24 = w;
  });

  step("V1c. exportWallet (12 words) → decryptExportBundle → every address re-derived independently", async () => {
    const w = need(V.w12, "V1a created the 12-word wallet");
    const mnemonic = await exportMnemonic(w.walletId, "exportWallet(w12)");
    const words = mnemonic.trim().split(/\s+/);
    assert.equal(words.length, 12, `mnemonicLength 12 → 12 words, got ${words.length}`);
    assert.ok(isValidMnemonic(mnemonic), "exported mnemonic must be a valid English BIP39 mnemonic (checksum)");
    w.mnemonic = mnemonic;
    const mism = addressMismatches(mnemonic, w.accounts, w.addresses);
    assert.deepEqual(mism, [], `server addresses differ from an independent derivation:\n${mism.join("\n")}`);
  });

  step("V1d. exportWallet (24 words) → decryptExportBundle → every address re-derived independently", async () => {
    const w = need(V.w24, "V1b created the 24-word wallet");
    const mnemonic = await exportMnemonic(w.walletId, "exportWallet(w24)");
    const words = mnemonic.trim().split(/\s+/);
    assert.equal(words.length, 24, `mnemonicLength 24 → 24 words, got ${words.length}`);
    assert.ok(isValidMnemonic(mnemonic), "exported mnemonic must be a valid English BIP39 mnemonic (checksum)");
    w.mnemonic = mnemonic;
    const mism = addressMismatches(mnemonic, w.accounts, w.addresses);
    assert.deepEqual(mism, [], `server addresses differ from an independent derivation:\n${mism.join("\n")}`);
  });

  step("V1e. createWallet without mnemonicLength → 12 words (Turnkey's default)", async () => {
    const w = await createWallet({ accounts: [ETH], name: unique("w-default") });
    const mnemonic = await exportMnemonic(w.walletId, "exportWallet(default length)");
    assert.equal(mnemonic.trim().split(/\s+/).length, 12, "default mnemonicLength is 12");
    assert.deepEqual(addressMismatches(mnemonic, w.accounts, w.addresses), []);
  });

  step("V1f. exportWalletAccount (Ethereum) → raw key whose address is the account's", async () => {
    const eth = need(V.eth, "V1a created the wallet");
    const kp = exportTarget();
    const r = await sdk(
      S.api.exportWalletAccount({ address: eth, targetPublicKey: kp.publicKeyUncompressed }),
      "exportWalletAccount(eth)",
    );
    const res = completed(r, T.EXPORT_WALLET_ACCOUNT);
    assert.equal(res.address, eth, `exportWalletAccountResult.address: ${show(res)}`);
    const hex = await decryptExportBundle({
      exportBundle: res.exportBundle,
      embeddedKey: kp.privateKey,
      organizationId: S.org,
      dangerouslyOverrideSignerPublicKey: signerKey(),
      returnMnemonic: false,
    });
    assert.match(hex, /^[0-9a-f]{64}$/, `raw secp256k1 key: ${hex.length} hex chars`);
    assert.equal(privateKeyToAddress(`0x${hex}`), eth);
    if (V.w12?.mnemonic) assert.equal(hex, deriveAccount(V.w12.mnemonic, ETH).privateKey, "key = BIP32 derivation");
  });

  step("V1g. exportWalletAccount (Solana) → keyFormat SOLANA gives the account's keypair", async () => {
    const sol = need(V.sol, "V1a created the wallet");
    const kp = exportTarget();
    const r = await sdk(
      S.api.exportWalletAccount({ address: sol, targetPublicKey: kp.publicKeyUncompressed }),
      "exportWalletAccount(sol)",
    );
    const res = completed(r, T.EXPORT_WALLET_ACCOUNT);
    const secret = await decryptExportBundle({
      exportBundle: res.exportBundle,
      embeddedKey: kp.privateKey,
      organizationId: S.org,
      dangerouslyOverrideSignerPublicKey: signerKey(),
      returnMnemonic: false,
      keyFormat: "SOLANA",
    });
    const k = Keypair.fromSecretKey(base58.decode(secret));
    assert.equal(k.publicKey.toBase58(), sol);
  });

  // 2 reads and updates --------------------------------------------------------
  step("V2a. getWallet → {wallet} per swagger v1Wallet (exported after export_wallet)", async () => {
    const w = need(V.w12, "V1a created the wallet");
    const r = await sdk(S.api.getWallet({ walletId: w.walletId }), "getWallet");
    assert.ok(r.wallet, `expected {wallet}, got ${show(r)}`);
    checkWallet(r.wallet, "wallet");
    assert.equal(r.wallet.walletId, w.walletId);
    assert.equal(r.wallet.walletName, w.walletName);
    assert.equal(r.wallet.imported, false, show(r.wallet));
    if (w.mnemonic) assert.equal(r.wallet.exported, true, `swagger: exported is true once exported: ${show(r.wallet)}`);
    if (V.w24) {
      const r2 = await sdk(S.api.getWallet({ walletId: V.w24.walletId }), "getWallet(w24)");
      assert.equal(r2.wallet?.walletName, V.w24.walletName, show(r2));
    }
  });

  step("V2b. getWallets (list_wallets) → {wallets} includes both wallets", async () => {
    const w = need(V.w12, "V1a created the wallet");
    const r = await sdk(S.api.getWallets({}), "getWallets");
    assert.ok(Array.isArray(r.wallets), `expected {wallets:[…]}, got ${show(r)}`);
    r.wallets.forEach((x, i) => checkWallet(x, `wallets[${i}]`));
    const ids = r.wallets.map((x) => x.walletId);
    assert.ok(ids.includes(w.walletId), `list_wallets should include ${w.walletId}: ${show(ids)}`);
    if (V.w24) assert.ok(ids.includes(V.w24.walletId), `list_wallets should include ${V.w24.walletId}: ${show(ids)}`);
  });

  step("V2c. getWalletAccounts (list_wallet_accounts) with paginationOptions.limit \"5\" walks all accounts", async () => {
    const w = need(V.w12, "V1a created the wallet");
    const first = await sdk(
      S.api.getWalletAccounts({ walletId: w.walletId, paginationOptions: { limit: "5" } }),
      "getWalletAccounts limit 5",
    );
    assert.ok(Array.isArray(first.accounts), `expected {accounts:[…]}, got ${show(first)}`);
    assert.equal(first.accounts.length, 5, `limit "5" with ${w.addresses.length} accounts → a full first page: ${show(first.accounts.map((a) => a.address))}`);
    const all = await allWalletAccounts(w.walletId, "5");
    const ids = all.map((a) => a.walletAccountId);
    assert.equal(new Set(ids).size, ids.length, `pages must not repeat accounts: ${show(ids)}`);
    assert.deepEqual(
      all.map((a) => a.address).sort(),
      [...w.addresses].sort(),
      "paging through list_wallet_accounts yields exactly the wallet's addresses",
    );
    for (const a of all) {
      checkWalletAccount(a, `account ${a.address}`);
      assert.equal(a.walletId, w.walletId);
      assert.equal(a.organizationId, S.org);
      const i = w.addresses.indexOf(a.address);
      const p = w.accounts[i];
      assert.equal(a.curve, p.curve, `curve of ${a.address}`);
      assert.equal(a.path, p.path, `path of ${a.address}`);
      assert.equal(a.addressFormat, p.addressFormat, `addressFormat of ${a.address}`);
    }
  });

  step("V2d. getWalletAccount by address and by path → {account}", async () => {
    const w = need(V.w12, "V1a created the wallet");
    const r = await sdk(S.api.getWalletAccount({ walletId: w.walletId, address: V.eth }), "getWalletAccount(address)");
    assert.ok(r.account, `expected {account}, got ${show(r)}`);
    checkWalletAccount(r.account, "account");
    assert.equal(r.account.address, V.eth);
    assert.equal(r.account.path, ETH.path);
    assert.equal(r.account.curve, "CURVE_SECP256K1");
    assert.equal(r.account.addressFormat, "ADDRESS_FORMAT_ETHEREUM");
    if (r.account.publicKey !== undefined) {
      // Optional in swagger; when present it must be this account's key.
      assert.equal(secp256k1AddressFor("ADDRESS_FORMAT_ETHEREUM", fromHex(r.account.publicKey)), V.eth, `account.publicKey ${r.account.publicKey}`);
    }
    const byPath = await sdk(S.api.getWalletAccount({ walletId: w.walletId, path: SOL.path }), "getWalletAccount(path)");
    assert.equal(byPath.account?.address, V.sol, show(byPath));
    assert.equal(byPath.account?.curve, "CURVE_ED25519", show(byPath));
  });

  step("V2e. updateWallet renames the wallet", async () => {
    const w = need(V.w12, "V1a created the wallet");
    const name = unique("w12-renamed");
    const r = await sdk(S.api.updateWallet({ walletId: w.walletId, walletName: name }), "updateWallet");
    const res = completed(r, T.UPDATE_WALLET);
    assert.equal(res.walletId, w.walletId, show(res));
    const g = await sdk(S.api.getWallet({ walletId: w.walletId }), "getWallet");
    assert.equal(g.wallet?.walletName, name, show(g));
    w.walletName = name;
  });

  step("V2f. createWalletAccounts adds accounts whose addresses match the wallet's mnemonic", async () => {
    const w = need(V.w12, "V1a created the wallet");
    const more = [
      acct("CURVE_SECP256K1", "m/44'/60'/0'/0/7", "ADDRESS_FORMAT_ETHEREUM"),
      acct("CURVE_ED25519", "m/44'/501'/1'/0'", "ADDRESS_FORMAT_SOLANA"),
    ];
    const r = await sdk(S.api.createWalletAccounts({ walletId: w.walletId, accounts: more }), "createWalletAccounts");
    const res = completed(r, T.CREATE_WALLET_ACCOUNTS);
    assert.ok(Array.isArray(res.addresses) && res.addresses.length === 2, show(res));
    w.accounts.push(...more);
    w.addresses.push(...res.addresses);
    if (w.mnemonic) {
      assert.deepEqual(addressMismatches(w.mnemonic, more, res.addresses), []);
    }
    const all = await allWalletAccounts(w.walletId);
    for (const a of res.addresses) {
      assert.ok(all.some((x) => x.address === a), `list_wallet_accounts should include the new ${a}`);
    }
  });

  // 3 sign_raw_payload -----------------------------------------------------------
  const MSG = "hello from quorate's sdk-tests";

  step("V3a. signRawPayload HEXADECIMAL + KECCAK256 → viem recoverAddress is the account", async () => {
    const eth = need(V.eth, "V1a created the wallet");
    const payload = hexNo0x(stringToHex(MSG));
    const sig = await signRaw(
      { signWith: eth, payload, encoding: "PAYLOAD_ENCODING_HEXADECIMAL", hashFunction: "HASH_FUNCTION_KECCAK256" },
      "signRawPayload hex/keccak",
    );
    await assertEthRecovers(sig, keccak256(toBytes(MSG)), eth, "hex/keccak");
    assertLowS(sig, "hex/keccak");
  });

  step("V3b. signRawPayload TEXT_UTF8 + KECCAK256", async () => {
    const eth = need(V.eth, "V1a created the wallet");
    const text = `${MSG} — ünïcödé ✓`;
    const sig = await signRaw(
      { signWith: eth, payload: text, encoding: "PAYLOAD_ENCODING_TEXT_UTF8", hashFunction: "HASH_FUNCTION_KECCAK256" },
      "signRawPayload text/keccak",
    );
    await assertEthRecovers(sig, keccak256(stringToHex(text)), eth, "text/keccak");
  });

  step("V3c. signRawPayload HEXADECIMAL + NO_OP on a 32-byte hash (with and without 0x)", async () => {
    const eth = need(V.eth, "V1a created the wallet");
    const hash = keccak256(stringToHex("a 32-byte digest to sign as is"));
    const sig = await signRaw(
      { signWith: eth, payload: hexNo0x(hash), encoding: "PAYLOAD_ENCODING_HEXADECIMAL", hashFunction: "HASH_FUNCTION_NO_OP" },
      "signRawPayload hex/no-op",
    );
    await assertEthRecovers(sig, hash, eth, "hex/no-op");
    // @turnkey/viem sends the digest 0x-prefixed; the result must be the same (RFC 6979).
    const sig0x = await signRaw(
      { signWith: eth, payload: hash, encoding: "PAYLOAD_ENCODING_HEXADECIMAL", hashFunction: "HASH_FUNCTION_NO_OP" },
      "signRawPayload 0x-hex/no-op",
    );
    assert.deepEqual([sig0x.r, sig0x.s, sig0x.v], [sig.r, sig.s, sig.v], "0x prefix must not change the payload");
  });

  step("V3d. signRawPayload HEXADECIMAL + SHA256", async () => {
    const eth = need(V.eth, "V1a created the wallet");
    const sig = await signRaw(
      { signWith: eth, payload: hexNo0x(stringToHex(MSG)), encoding: "PAYLOAD_ENCODING_HEXADECIMAL", hashFunction: "HASH_FUNCTION_SHA256" },
      "signRawPayload hex/sha256",
    );
    await assertEthRecovers(sig, sha256(toBytes(MSG)), eth, "hex/sha256");
  });

  step("V3e. deterministic: the same signing request (new timestampMs) gives the same signature (RFC 6979)", async () => {
    const eth = need(V.eth, "V1a created the wallet");
    const params = { signWith: eth, payload: "deterministic?", encoding: "PAYLOAD_ENCODING_TEXT_UTF8", hashFunction: "HASH_FUNCTION_KECCAK256" };
    const a = await sdk(S.api.signRawPayload({ ...params, timestampMs: nowMs() }), "signRawPayload #1");
    const b = await sdk(S.api.signRawPayload({ ...params, timestampMs: nowMs() }), "signRawPayload #2");
    const sa = completed(a, T.SIGN_RAW_PAYLOAD);
    const sb = completed(b, T.SIGN_RAW_PAYLOAD);
    assert.notEqual(a.activity.id, b.activity.id, "different timestampMs → different activities");
    assert.deepEqual([sb.r, sb.s, sb.v], [sa.r, sa.s, sa.v], "ECDSA signatures must be deterministic (RFC 6979)");
  });

  step("V3f. signRawPayloads with 3 payloads → 3 signatures, each recovering the account", async () => {
    const eth = need(V.eth, "V1a created the wallet");
    const msgs = ["first", "second", "third"];
    const r = await sdk(
      S.api.signRawPayloads({
        signWith: eth,
        payloads: msgs.map((m) => hexNo0x(stringToHex(m))),
        encoding: "PAYLOAD_ENCODING_HEXADECIMAL",
        hashFunction: "HASH_FUNCTION_KECCAK256",
      }),
      "signRawPayloads",
    );
    const res = completed(r, T.SIGN_RAW_PAYLOADS);
    assert.ok(Array.isArray(res.signatures) && res.signatures.length === 3, `signRawPayloadsResult.signatures: ${show(res)}`);
    for (const [i, m] of msgs.entries()) {
      assertRsv(res.signatures[i], `signatures[${i}]`);
      await assertEthRecovers(res.signatures[i], keccak256(toBytes(m)), eth, `signatures[${i}] (${m})`);
    }
  });

  step("V3g. @turnkey/viem createAccount (TurnkeyClient) → signMessage (EIP-191) verifies with viem", async () => {
    const eth = need(V.eth, "V1a created the wallet");
    const account = await createTurnkeyViemAccount({ client: S.root, organizationId: S.org, signWith: eth });
    assert.equal(account.address, eth);
    const message = "Sign-in with quorate";
    const signature = await sdk(account.signMessage({ message }), "@turnkey/viem signMessage");
    assert.ok(await verifyMessage({ address: eth, message, signature }), `verifyMessage failed for ${signature}`);
  });

  step("V3h. @turnkey/viem (sdk-server client) → signTypedData (PAYLOAD_ENCODING_EIP712) verifies with viem", async () => {
    const eth = need(V.eth, "V1a created the wallet");
    const account = await createTurnkeyViemAccount({ client: S.api, organizationId: S.org, signWith: eth });
    const typedData = {
      domain: { name: "Ether Mail", version: "1", chainId: 1, verifyingContract: "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC" },
      types: {
        Person: [
          { name: "name", type: "string" },
          { name: "wallet", type: "address" },
        ],
        Mail: [
          { name: "from", type: "Person" },
          { name: "to", type: "Person" },
          { name: "contents", type: "string" },
        ],
      },
      primaryType: "Mail",
      message: {
        from: { name: "Cow", wallet: "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826" },
        to: { name: "Bob", wallet: "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB" },
        contents: "Hello, Bob!",
      },
    };
    // Through a viem WalletClient, as dapps do: viem adds types.EIP712Domain
    // before handing the data to the account.
    const walletClient = createWalletClient({
      account,
      transport: custom({
        request: async ({ method }) => {
          throw new Error(`no RPC in this test (${method})`);
        },
      }),
    });
    const signature = await sdk(walletClient.signTypedData(typedData), "viem walletClient.signTypedData (@turnkey/viem account)");
    assert.ok(
      await verifyTypedData({ address: eth, ...typedData, signature }),
      `verifyTypedData failed for ${signature}`,
    );
    // Directly on the account, types must carry EIP712Domain: @turnkey/viem
    // serializes with viem's serializeTypedData, which drops the domain
    // (sends "domain":{}) when types.EIP712Domain is absent — a client-side
    // quirk, the server then correctly signs the empty-domain hash.
    const withDomainType = {
      ...typedData,
      types: {
        EIP712Domain: [
          { name: "name", type: "string" },
          { name: "version", type: "string" },
          { name: "chainId", type: "uint256" },
          { name: "verifyingContract", type: "address" },
        ],
        ...typedData.types,
      },
    };
    const direct = await sdk(account.signTypedData(withDomainType), "@turnkey/viem account.signTypedData");
    assert.equal(direct, signature, "same typed data → same signature (RFC 6979)");
  });

  step("V3i. ed25519: the Solana account signs text and hex (HASH_FUNCTION_NOT_APPLICABLE); tweetnacl verifies", async () => {
    const sol = need(V.sol, "V1a created the wallet");
    const text = "hello solana from quorate";
    const s1 = await signRaw(
      { signWith: sol, payload: text, encoding: "PAYLOAD_ENCODING_TEXT_UTF8", hashFunction: "HASH_FUNCTION_NOT_APPLICABLE" },
      "signRawPayload ed25519 text",
    );
    verifyEd25519(s1, new TextEncoder().encode(text), sol, "ed25519 text");
    const bytes = toBytes(keccak256(stringToHex("some bytes")));
    const s2 = await signRaw(
      { signWith: sol, payload: toHex(bytes), encoding: "PAYLOAD_ENCODING_HEXADECIMAL", hashFunction: "HASH_FUNCTION_NOT_APPLICABLE" },
      "signRawPayload ed25519 hex",
    );
    verifyEd25519(s2, bytes, sol, "ed25519 hex");
  });

  step("V3j. Bitcoin P2WPKH account signs a sha256 digest; tiny-secp256k1 verifies against its public key", async () => {
    const w = need(V.w12, "V1a created the wallet");
    const addr = need(V.p2wpkh, "V1a created the wallet");
    const acc = await sdk(S.api.getWalletAccount({ walletId: w.walletId, address: addr }), "getWalletAccount(p2wpkh)");
    let pub = acc.account?.publicKey ? fromHex(acc.account.publicKey) : null;
    if (!pub && w.mnemonic) pub = fromHex(deriveAccount(w.mnemonic, P2WPKH).publicKey);
    const digest = toBytes(sha256(stringToHex("bitcoin message")));
    const sig = await signRaw(
      { signWith: addr, payload: toHex(digest), encoding: "PAYLOAD_ENCODING_HEXADECIMAL", hashFunction: "HASH_FUNCTION_NO_OP" },
      "signRawPayload p2wpkh",
    );
    const compact = fromHex(`${sig.r}${sig.s}`);
    if (!pub) {
      // Neither account.publicKey nor the mnemonic: recover the key and bind it to the address below.
      pub = ecc.recover(digest, compact, Number(sig.v), true);
    }
    assert.equal(
      bitcoin.payments.p2wpkh({ pubkey: ecc.pointCompress(pub, true) }).address,
      addr,
      `public key ${toHex(pub)} is not the P2WPKH account's`,
    );
    assert.ok(ecc.verify(digest, pub, compact), `ECDSA signature does not verify: ${show(sig)}`);
    assertLowS(sig, "p2wpkh");
    // SHA256 done by the server over the raw message gives a signature over the same digest.
    const sig2 = await signRaw(
      { signWith: addr, payload: hexNo0x(stringToHex("bitcoin message")), encoding: "PAYLOAD_ENCODING_HEXADECIMAL", hashFunction: "HASH_FUNCTION_SHA256" },
      "signRawPayload p2wpkh sha256",
    );
    assert.ok(ecc.verify(digest, pub, fromHex(`${sig2.r}${sig2.s}`)), `HASH_FUNCTION_SHA256 signature does not verify: ${show(sig2)}`);
  });

  // 4 sign_transaction -----------------------------------------------------------
  const TO = "0x000000000000000000000000000000000000dEaD";
  const ETH_TXS = {
    eip1559: {
      type: "eip1559",
      chainId: 1,
      nonce: 7,
      to: TO,
      value: parseEther("0.01"),
      gas: 21_000n,
      maxFeePerGas: parseGwei("30"),
      maxPriorityFeePerGas: parseGwei("1"),
    },
    eip2930: {
      type: "eip2930",
      chainId: 11155111,
      nonce: 1,
      to: TO,
      value: 1n,
      gas: 30_000n,
      gasPrice: parseGwei("20"),
      accessList: [
        {
          address: "0x1111111111111111111111111111111111111111",
          storageKeys: ["0x0000000000000000000000000000000000000000000000000000000000000001"],
        },
      ],
      data: "0xdeadbeef",
    },
    legacy: { type: "legacy", chainId: 137, nonce: 0, to: TO, value: 42n, gas: 21_000n, gasPrice: parseGwei("50") },
  };

  for (const [kind, tx] of Object.entries(ETH_TXS)) {
    step(`V4-eth-${kind}. signTransaction TRANSACTION_TYPE_ETHEREUM (${kind}) → viem parses and recovers the signer`, async () => {
      const eth = need(V.eth, "V1a created the wallet");
      const unsigned = serializeTransaction(tx);
      const r = await sdk(
        S.api.signTransaction({ signWith: eth, type: "TRANSACTION_TYPE_ETHEREUM", unsignedTransaction: hexNo0x(unsigned) }),
        `signTransaction(${kind})`,
      );
      const res = completed(r, T.SIGN_TRANSACTION);
      assert.match(res.signedTransaction ?? "", /^[0-9a-fA-F]+$/, `signedTransaction must be hex without 0x (@turnkey/viem prepends it): ${show(res)}`);
      const signed = `0x${res.signedTransaction}`;
      const p = parseTransaction(signed);
      assert.equal(p.type, tx.type, `type: ${showTx(p)}`);
      assert.equal(p.chainId, tx.chainId, "chainId kept");
      assert.equal(p.nonce, tx.nonce, "nonce kept");
      assert.equal(p.to?.toLowerCase(), tx.to.toLowerCase(), "to kept");
      assert.equal(p.value, tx.value, "value kept");
      assert.equal(p.gas, tx.gas, "gas kept");
      if (tx.data) assert.equal(p.data, tx.data, "data kept");
      if (tx.accessList) assert.deepEqual(p.accessList, tx.accessList, "accessList kept");
      assert.ok(p.r && p.s, `signature present: ${show({ r: p.r, s: p.s })}`);
      if (kind === "legacy") {
        // EIP-155: v = chainId * 2 + 35 + yParity.
        assert.ok([BigInt(tx.chainId * 2 + 35), BigInt(tx.chainId * 2 + 36)].includes(p.v), `EIP-155 v for chain ${tx.chainId}: got ${p.v}`);
      } else {
        assert.ok(p.yParity === 0 || p.yParity === 1, `yParity: ${p.yParity}`);
      }
      assert.ok(BigInt(p.s) <= SECP256K1_HALF_N, "transaction signatures must be low-S (EIP-2)");
      assert.equal(await recoverTransactionAddress({ serializedTransaction: signed }), eth);
    });
  }

  step("V4-eth-viem. @turnkey/viem account.signTransaction (EIP-1559) → recoverTransactionAddress", async () => {
    const eth = need(V.eth, "V1a created the wallet");
    const account = await createTurnkeyViemAccount({ client: S.root, organizationId: S.org, signWith: eth });
    const signed = await sdk(account.signTransaction({ ...ETH_TXS.eip1559, nonce: 8 }), "@turnkey/viem signTransaction");
    assert.equal(await recoverTransactionAddress({ serializedTransaction: signed }), eth);
    assert.equal(parseTransaction(signed).nonce, 8);
  });

  step("V4-sol-legacy. signTransaction TRANSACTION_TYPE_SOLANA (legacy Transaction) → verifySignatures()", async () => {
    const sol = need(V.sol, "V1a created the wallet");
    const { from, recentBlockhash, ix } = solanaTransferParts(sol);
    const tx = new Transaction({ feePayer: from, recentBlockhash }).add(ix);
    // As @turnkey/solana does: the wire transaction with empty signature slots, hex.
    const unsigned = tx.serialize({ requireAllSignatures: false, verifySignatures: false }).toString("hex");
    const r = await sdk(
      S.api.signTransaction({ signWith: sol, type: "TRANSACTION_TYPE_SOLANA", unsignedTransaction: unsigned }),
      "signTransaction(solana legacy)",
    );
    const res = completed(r, T.SIGN_TRANSACTION);
    assert.match(res.signedTransaction ?? "", /^[0-9a-fA-F]+$/, `signedTransaction hex: ${show(res)}`);
    const signed = Transaction.from(Buffer.from(res.signedTransaction, "hex"));
    assert.ok(signed.serializeMessage().equals(tx.serializeMessage()), "the message must be unchanged");
    assert.ok(signed.signature, "fee payer signature present");
    assert.ok(signed.verifySignatures(), "all signatures must verify");
  });

  step("V4-sol-v0. signTransaction TRANSACTION_TYPE_SOLANA (v0 VersionedTransaction) → nacl verifies", async () => {
    const sol = need(V.sol, "V1a created the wallet");
    const { from, recentBlockhash, ix } = solanaTransferParts(sol);
    const msg = new TransactionMessage({ payerKey: from, recentBlockhash, instructions: [ix] }).compileToV0Message();
    const vtx = new VersionedTransaction(msg);
    const unsigned = Buffer.from(vtx.serialize()).toString("hex");
    const r = await sdk(
      S.api.signTransaction({ signWith: sol, type: "TRANSACTION_TYPE_SOLANA", unsignedTransaction: unsigned }),
      "signTransaction(solana v0)",
    );
    const res = completed(r, T.SIGN_TRANSACTION);
    const signed = VersionedTransaction.deserialize(Buffer.from(res.signedTransaction, "hex"));
    assert.equal(signed.version, 0, "still a v0 transaction");
    const msgBytes = signed.message.serialize();
    assert.ok(Buffer.from(msgBytes).equals(Buffer.from(msg.serialize())), "the message must be unchanged");
    assert.equal(signed.signatures.length, 1);
    assert.ok(nacl.sign.detached.verify(msgBytes, signed.signatures[0], from.toBytes()), "fee payer signature must verify");
  });

  step("V4-sol-signer. @turnkey/solana TurnkeySigner: addSignature, signTransaction (v0), signMessage", async () => {
    const sol = need(V.sol, "V1a created the wallet");
    const signer = new TurnkeySigner({ organizationId: S.org, client: S.root });
    const { from, recentBlockhash, ix } = solanaTransferParts(sol);
    const tx = new Transaction({ feePayer: from, recentBlockhash }).add(ix);
    await sdk(signer.addSignature(tx, sol), "TurnkeySigner.addSignature");
    assert.ok(tx.verifySignatures(), "addSignature: the transaction verifies");

    const msg = new TransactionMessage({ payerKey: from, recentBlockhash, instructions: [ix] }).compileToV0Message();
    const signedV0 = await sdk(signer.signTransaction(new VersionedTransaction(msg), sol), "TurnkeySigner.signTransaction");
    assert.ok(
      nacl.sign.detached.verify(signedV0.message.serialize(), signedV0.signatures[0], from.toBytes()),
      "signTransaction: the v0 transaction verifies",
    );

    const message = new TextEncoder().encode("solana off-chain message");
    const sig = await sdk(signer.signMessage(message, sol), "TurnkeySigner.signMessage");
    assert.ok(nacl.sign.detached.verify(message, sig, from.toBytes()), "signMessage verifies");
  });

  // 5 private keys ---------------------------------------------------------------
  step("V5a. createPrivateKeys: secp256k1 (ETHEREUM + COMPRESSED) and ed25519 (SOLANA)", async () => {
    const r = await sdk(
      S.api.createPrivateKeys({
        privateKeys: [
          {
            privateKeyName: unique("pk-secp"),
            curve: "CURVE_SECP256K1",
            addressFormats: ["ADDRESS_FORMAT_ETHEREUM", "ADDRESS_FORMAT_COMPRESSED"],
            privateKeyTags: [],
          },
          {
            privateKeyName: unique("pk-ed"),
            curve: "CURVE_ED25519",
            addressFormats: ["ADDRESS_FORMAT_SOLANA"],
            privateKeyTags: [],
          },
        ],
      }),
      "createPrivateKeys",
    );
    const res = completed(r, T.CREATE_PRIVATE_KEYS);
    assert.ok(Array.isArray(res.privateKeys) && res.privateKeys.length === 2, `createPrivateKeysResultV2.privateKeys: ${show(res)}`);
    const [secp, ed] = res.privateKeys;
    for (const k of [secp, ed]) {
      assert.equal(typeof k.privateKeyId, "string", show(k));
      assert.ok(Array.isArray(k.addresses), show(k));
    }
    const addr = (k, f) => k.addresses.find((a) => a.format === `ADDRESS_FORMAT_${f}`)?.address;
    const ethAddr = addr(secp, "ETHEREUM");
    const compressed = addr(secp, "COMPRESSED");
    const solAddr = addr(ed, "SOLANA");
    assert.match(ethAddr ?? "", ADDRESS_SHAPES.ADDRESS_FORMAT_ETHEREUM, `ETHEREUM address: ${show(secp)}`);
    assert.match(compressed ?? "", ADDRESS_SHAPES.ADDRESS_FORMAT_COMPRESSED, `COMPRESSED address: ${show(secp)}`);
    assert.match(solAddr ?? "", ADDRESS_SHAPES.ADDRESS_FORMAT_SOLANA, `SOLANA address: ${show(ed)}`);
    // Both addresses of the secp256k1 key are encodings of one public key.
    assert.equal(secp256k1AddressFor("ADDRESS_FORMAT_ETHEREUM", fromHex(compressed)), ethAddr, "ETHEREUM address = keccak of the COMPRESSED key");
    V.pkSecp = { privateKeyId: secp.privateKeyId, eth: ethAddr, compressed };
    V.pkEd = { privateKeyId: ed.privateKeyId, sol: solAddr };
  });

  step("V5b. getPrivateKey / getPrivateKeys (list_private_keys) shapes per swagger v1PrivateKey", async () => {
    const secp = need(V.pkSecp, "V5a created private keys");
    const ed = need(V.pkEd, "V5a created private keys");
    const g = await sdk(S.api.getPrivateKey({ privateKeyId: secp.privateKeyId }), "getPrivateKey(secp)");
    assert.ok(g.privateKey, `expected {privateKey}, got ${show(g)}`);
    checkPrivateKey(g.privateKey, "privateKey");
    assert.equal(g.privateKey.curve, "CURVE_SECP256K1");
    assert.deepEqual(
      g.privateKey.addresses.map((a) => [a.format, a.address]).sort(),
      [["ADDRESS_FORMAT_COMPRESSED", secp.compressed], ["ADDRESS_FORMAT_ETHEREUM", secp.eth]].sort(),
      show(g.privateKey.addresses),
    );
    assert.equal(
      secp256k1AddressFor("ADDRESS_FORMAT_ETHEREUM", fromHex(g.privateKey.publicKey)),
      secp.eth,
      `privateKey.publicKey ${g.privateKey.publicKey} must be the key behind ${secp.eth}`,
    );
    assert.equal(g.privateKey.imported, false);
    const ge = await sdk(S.api.getPrivateKey({ privateKeyId: ed.privateKeyId }), "getPrivateKey(ed)");
    checkPrivateKey(ge.privateKey, "privateKey(ed)");
    assert.equal(ge.privateKey.curve, "CURVE_ED25519");
    assert.equal(base58.encode(fromHex(ge.privateKey.publicKey)), ed.sol, `ed25519 publicKey (hex) ↔ Solana address: ${show(ge.privateKey)}`);

    const l = await sdk(S.api.getPrivateKeys({}), "getPrivateKeys");
    assert.ok(Array.isArray(l.privateKeys), `expected {privateKeys:[…]}, got ${show(l)}`);
    const ids = l.privateKeys.map((k) => k.privateKeyId);
    assert.ok(ids.includes(secp.privateKeyId) && ids.includes(ed.privateKeyId), show(ids));
    l.privateKeys.forEach((k, i) => checkPrivateKey(k, `privateKeys[${i}]`));
  });

  step("V5c. signRawPayload with signWith = private key id and = its address (secp256k1 and ed25519)", async () => {
    const secp = need(V.pkSecp, "V5a created private keys");
    const ed = need(V.pkEd, "V5a created private keys");
    const hash = keccak256(stringToHex("private key signing"));
    for (const signWith of [secp.privateKeyId, secp.eth]) {
      const sig = await signRaw(
        { signWith, payload: hexNo0x(hash), encoding: "PAYLOAD_ENCODING_HEXADECIMAL", hashFunction: "HASH_FUNCTION_NO_OP" },
        `signRawPayload(signWith ${signWith})`,
      );
      await assertEthRecovers(sig, hash, secp.eth, `signWith ${signWith}`);
    }
    const text = "ed25519 private key";
    for (const signWith of [ed.privateKeyId, ed.sol]) {
      const sig = await signRaw(
        { signWith, payload: text, encoding: "PAYLOAD_ENCODING_TEXT_UTF8", hashFunction: "HASH_FUNCTION_NOT_APPLICABLE" },
        `signRawPayload(signWith ${signWith})`,
      );
      verifyEd25519(sig, new TextEncoder().encode(text), ed.sol, `signWith ${signWith}`);
    }
  });

  step("V5d. @turnkey/viem createAccount with signWith = private key id (looks the address up via get_private_key)", async () => {
    const secp = need(V.pkSecp, "V5a created private keys");
    const account = await sdk(
      createTurnkeyViemAccount({ client: S.root, organizationId: S.org, signWith: secp.privateKeyId }),
      "@turnkey/viem createAccount(privateKeyId)",
    );
    assert.equal(account.address, secp.eth);
    const signature = await sdk(account.signMessage({ message: "pk" }), "@turnkey/viem signMessage");
    assert.ok(await verifyMessage({ address: secp.eth, message: "pk", signature }));
  });

  step("V5e. private key tags: create → list → update (rename, move) → delete", async () => {
    const secp = need(V.pkSecp, "V5a created private keys");
    const ed = need(V.pkEd, "V5a created private keys");
    const name = unique("pk-tag");
    const c = await sdk(S.api.createPrivateKeyTag({ privateKeyTagName: name, privateKeyIds: [secp.privateKeyId] }), "createPrivateKeyTag");
    const cres = completed(c, T.CREATE_PRIVATE_KEY_TAG);
    assert.equal(typeof cres.privateKeyTagId, "string", show(cres));
    assert.deepEqual(cres.privateKeyIds, [secp.privateKeyId], show(cres));
    const tagId = cres.privateKeyTagId;

    let l = await sdk(S.api.listPrivateKeyTags({}), "listPrivateKeyTags");
    assert.ok(Array.isArray(l.privateKeyTags), `expected {privateKeyTags:[…]}, got ${show(l)}`);
    let tag = l.privateKeyTags.find((x) => x.tagId === tagId);
    assert.ok(tag, `listPrivateKeyTags should include ${tagId}: ${show(l)}`);
    assert.equal(tag.tagName, name, show(tag));
    assert.equal(tag.tagType, "TAG_TYPE_PRIVATE_KEY", show(tag));
    assertTimestamp(tag.createdAt, "tag.createdAt");
    assertTimestamp(tag.updatedAt, "tag.updatedAt");
    let g = await sdk(S.api.getPrivateKey({ privateKeyId: secp.privateKeyId }), "getPrivateKey");
    assert.ok(g.privateKey?.privateKeyTags?.includes(tagId), `privateKeyTags should list ${tagId}: ${show(g)}`);

    const newName = unique("pk-tag-renamed");
    const u = await sdk(
      S.api.updatePrivateKeyTag({
        privateKeyTagId: tagId,
        newPrivateKeyTagName: newName,
        addPrivateKeyIds: [ed.privateKeyId],
        removePrivateKeyIds: [secp.privateKeyId],
      }),
      "updatePrivateKeyTag",
    );
    assert.equal(completed(u, T.UPDATE_PRIVATE_KEY_TAG).privateKeyTagId, tagId);
    l = await sdk(S.api.listPrivateKeyTags({}), "listPrivateKeyTags");
    tag = (l.privateKeyTags || []).find((x) => x.tagId === tagId);
    assert.equal(tag?.tagName, newName, `renamed: ${show(l)}`);
    g = await sdk(S.api.getPrivateKey({ privateKeyId: secp.privateKeyId }), "getPrivateKey(secp)");
    assert.ok(!g.privateKey?.privateKeyTags?.includes(tagId), `removed from secp key: ${show(g)}`);
    g = await sdk(S.api.getPrivateKey({ privateKeyId: ed.privateKeyId }), "getPrivateKey(ed)");
    assert.ok(g.privateKey?.privateKeyTags?.includes(tagId), `added to ed key: ${show(g)}`);

    const d = await sdk(S.api.deletePrivateKeyTags({ privateKeyTagIds: [tagId] }), "deletePrivateKeyTags");
    const dres = completed(d, T.DELETE_PRIVATE_KEY_TAGS);
    assert.deepEqual(dres.privateKeyTagIds, [tagId], show(dres));
    // ASSUMPTION: deletePrivateKeyTagsResult.privateKeyIds = the keys that carried the deleted tags.
    assert.ok(Array.isArray(dres.privateKeyIds), `deletePrivateKeyTagsResult.privateKeyIds array: ${show(dres)}`);
    assert.ok(dres.privateKeyIds.includes(ed.privateKeyId), `deletePrivateKeyTagsResult.privateKeyIds should name the tagged key: ${show(dres)}`);
    l = await sdk(S.api.listPrivateKeyTags({}), "listPrivateKeyTags");
    assert.ok(!(l.privateKeyTags || []).some((x) => x.tagId === tagId), `tag should be gone: ${show(l)}`);
    g = await sdk(S.api.getPrivateKey({ privateKeyId: ed.privateKeyId }), "getPrivateKey(ed)");
    assert.ok(!g.privateKey?.privateKeyTags?.includes(tagId), `deleted tag still on the key: ${show(g)}`);
  });

  step("V5f. exportPrivateKey (secp256k1) → raw key → viem privateKeyToAddress is the key's address", async () => {
    const secp = need(V.pkSecp, "V5a created private keys");
    const kp = exportTarget();
    const r = await sdk(
      S.api.exportPrivateKey({ privateKeyId: secp.privateKeyId, targetPublicKey: kp.publicKeyUncompressed }),
      "exportPrivateKey",
    );
    const res = completed(r, T.EXPORT_PRIVATE_KEY);
    assert.equal(res.privateKeyId, secp.privateKeyId, show(res));
    const hex = await decryptExportBundle({
      exportBundle: res.exportBundle,
      embeddedKey: kp.privateKey,
      organizationId: S.org,
      dangerouslyOverrideSignerPublicKey: signerKey(),
      returnMnemonic: false,
      keyFormat: "HEXADECIMAL",
    });
    assert.match(hex, /^[0-9a-f]{64}$/, `raw key hex: ${hex.length} chars`);
    assert.equal(privateKeyToAddress(`0x${hex}`), secp.eth);
    assert.equal(toHex(ecc.pointFromScalar(fromHex(hex), true)), secp.compressed, "COMPRESSED address = compressed public key");
    const g = await sdk(S.api.getPrivateKey({ privateKeyId: secp.privateKeyId }), "getPrivateKey");
    assert.equal(g.privateKey?.exported, true, `swagger: exported is true once exported: ${show(g)}`);
  });

  step("V5g. exportPrivateKey (ed25519) → keyFormat SOLANA → Keypair of the Solana address", async () => {
    const ed = need(V.pkEd, "V5a created private keys");
    const kp = exportTarget();
    const r = await sdk(
      S.api.exportPrivateKey({ privateKeyId: ed.privateKeyId, targetPublicKey: kp.publicKeyUncompressed }),
      "exportPrivateKey(ed)",
    );
    const res = completed(r, T.EXPORT_PRIVATE_KEY);
    const secret = await decryptExportBundle({
      exportBundle: res.exportBundle,
      embeddedKey: kp.privateKey,
      organizationId: S.org,
      dangerouslyOverrideSignerPublicKey: signerKey(),
      returnMnemonic: false,
      keyFormat: "SOLANA",
    });
    assert.equal(Keypair.fromSecretKey(base58.decode(secret)).publicKey.toBase58(), ed.sol);
  });

  // 6 import ---------------------------------------------------------------------
  step("V6a. initImportWallet → encryptWalletToBundle(abandon…about) → importWallet: the well-known addresses", async () => {
    const i = await sdk(S.api.initImportWallet({ userId: S.userId }), "initImportWallet");
    const ires = completed(i, T.INIT_IMPORT_WALLET);
    assert.equal(typeof ires.importBundle, "string", show(ires));
    let encryptedBundle;
    try {
      encryptedBundle = await encryptWalletToBundle({
        mnemonic: TEST_MNEMONIC,
        importBundle: ires.importBundle,
        userId: S.userId,
        organizationId: S.org,
        dangerouslyOverrideSignerPublicKey: signerKey(),
      });
    } catch (e) {
      assert.fail(`@turnkey/crypto encryptWalletToBundle refused the importBundle: ${e.message}\nbundle: ${ires.importBundle.slice(0, 1500)}`);
    }
    const accounts = [
      ETH,
      SOL,
      acct("CURVE_SECP256K1", "m/44'/0'/0'/0/0", "ADDRESS_FORMAT_BITCOIN_MAINNET_P2PKH"),
      P2WPKH,
      acct("CURVE_SECP256K1", "m/86'/0'/0'/0/0", "ADDRESS_FORMAT_BITCOIN_MAINNET_P2TR"),
    ];
    const r = await sdk(
      S.api.importWallet({ userId: S.userId, walletName: unique("imported"), encryptedBundle, accounts }),
      "importWallet",
    );
    const res = completed(r, T.IMPORT_WALLET);
    assert.equal(typeof res.walletId, "string", show(res));
    assert.deepEqual(
      res.addresses,
      accounts.map((a) => TEST_VECTORS[a.addressFormat]),
      "addresses of the BIP39 test mnemonic (ETH 0x9858…, SOL HAgk…, BTC 1LqB…, bc1qcr8…, bc1p5cy…)",
    );
    V.imported = { walletId: res.walletId, addresses: res.addresses };
    const g = await sdk(S.api.getWallet({ walletId: res.walletId }), "getWallet(imported)");
    assert.equal(g.wallet?.imported, true, `swagger: imported is true for an imported wallet: ${show(g)}`);
  });

  step("V6b. the imported wallet signs: signature recovers 0x9858EfFD232B4033E47d90003D41EC34EcaEda94", async () => {
    need(V.imported, "V6a imported the wallet");
    const eth = TEST_VECTORS.ADDRESS_FORMAT_ETHEREUM;
    const hash = keccak256(stringToHex("imported"));
    const sig = await signRaw(
      { signWith: eth, payload: hexNo0x(hash), encoding: "PAYLOAD_ENCODING_HEXADECIMAL", hashFunction: "HASH_FUNCTION_NO_OP" },
      "signRawPayload(imported)",
    );
    await assertEthRecovers(sig, hash, eth, "imported wallet");
  });

  step("V6c. initImportPrivateKey → encryptPrivateKeyToBundle(HEXADECIMAL) → importPrivateKey (secp256k1, ETHEREUM)", async () => {
    const key = generatePrivateKey();
    const i = await sdk(S.api.initImportPrivateKey({ userId: S.userId }), "initImportPrivateKey");
    const ires = completed(i, T.INIT_IMPORT_PRIVATE_KEY);
    const encryptedBundle = await encryptPrivateKeyToBundle({
      privateKey: key,
      keyFormat: "HEXADECIMAL",
      importBundle: ires.importBundle,
      userId: S.userId,
      organizationId: S.org,
      dangerouslyOverrideSignerPublicKey: signerKey(),
    });
    const r = await sdk(
      S.api.importPrivateKey({
        userId: S.userId,
        privateKeyName: unique("imported-secp"),
        encryptedBundle,
        curve: "CURVE_SECP256K1",
        addressFormats: ["ADDRESS_FORMAT_ETHEREUM"],
      }),
      "importPrivateKey(secp)",
    );
    const res = completed(r, T.IMPORT_PRIVATE_KEY);
    assert.equal(typeof res.privateKeyId, "string", show(res));
    const want = privateKeyToAddress(key);
    assert.deepEqual(res.addresses, [{ format: "ADDRESS_FORMAT_ETHEREUM", address: want }], show(res));
    const g = await sdk(S.api.getPrivateKey({ privateKeyId: res.privateKeyId }), "getPrivateKey(imported)");
    assert.equal(g.privateKey?.imported, true, show(g));
    const hash = keccak256(stringToHex("imported key"));
    const sig = await signRaw(
      { signWith: want, payload: hexNo0x(hash), encoding: "PAYLOAD_ENCODING_HEXADECIMAL", hashFunction: "HASH_FUNCTION_NO_OP" },
      "signRawPayload(imported key)",
    );
    await assertEthRecovers(sig, hash, want, "imported key");
  });

  step("V6d. importPrivateKey (ed25519, keyFormat SOLANA) → the Keypair's address", async () => {
    const k = Keypair.generate();
    const i = await sdk(S.api.initImportPrivateKey({ userId: S.userId }), "initImportPrivateKey");
    const ires = completed(i, T.INIT_IMPORT_PRIVATE_KEY);
    const encryptedBundle = await encryptPrivateKeyToBundle({
      privateKey: base58.encode(k.secretKey),
      keyFormat: "SOLANA",
      importBundle: ires.importBundle,
      userId: S.userId,
      organizationId: S.org,
      dangerouslyOverrideSignerPublicKey: signerKey(),
    });
    const r = await sdk(
      S.api.importPrivateKey({
        userId: S.userId,
        privateKeyName: unique("imported-ed"),
        encryptedBundle,
        curve: "CURVE_ED25519",
        addressFormats: ["ADDRESS_FORMAT_SOLANA"],
      }),
      "importPrivateKey(ed)",
    );
    const res = completed(r, T.IMPORT_PRIVATE_KEY);
    assert.deepEqual(res.addresses, [{ format: "ADDRESS_FORMAT_SOLANA", address: k.publicKey.toBase58() }], show(res));
  });

  // 7 errors ---------------------------------------------------------------------
  const sign = (signWith, extra = {}) => ({
    type: T.SIGN_RAW_PAYLOAD,
    timestampMs: nowMs(),
    organizationId: S.org,
    parameters: {
      signWith,
      payload: hexNo0x(keccak256(stringToHex("x"))),
      encoding: "PAYLOAD_ENCODING_HEXADECIMAL",
      hashFunction: "HASH_FUNCTION_NO_OP",
      ...extra,
    },
  });
  const createWalletBody = (accounts) => ({
    type: T.CREATE_WALLET,
    timestampMs: nowMs(),
    organizationId: S.org,
    parameters: { walletName: unique("bad-wallet"), accounts },
  });

  // ASSUMPTION: an unknown signWith is refused before execution with 404
  // NOT_FOUND (or 400), and the message names the missing resource/value.
  step("V7a. unknown signWith (address, private key id) → 400/404 naming it", async () => {
    const ghostAddr = privateKeyToAddress(generatePrivateKey());
    await expectRefused(S.root, "signRawPayload", sign(ghostAddr), {
      mentions: [ghostAddr, ghostAddr.toLowerCase(), /not found|unknown|no (such )?(wallet account|private key|account|key)/i],
      what: "sign_raw_payload with an unknown address",
    });
    const ghostId = "00000000-0000-4000-8000-00000000dead";
    await expectRefused(S.root, "signRawPayload", sign(ghostId), {
      mentions: [ghostId, /not found|unknown|no (such )?(wallet account|private key|account|key)/i],
      what: "sign_raw_payload with an unknown private key id",
    });
  });

  step("V7b. curve/format mismatch (ED25519 + ADDRESS_FORMAT_ETHEREUM) → 400", async () => {
    await expectRefused(
      S.root,
      "createWallet",
      createWalletBody([acct("CURVE_ED25519", "m/44'/60'/0'/0'", "ADDRESS_FORMAT_ETHEREUM")]),
      { statuses: [400], mentions: [/curve|ed25519|secp256k1|ETHEREUM|mismatch|incompatible/i], what: "create_wallet ed25519+ethereum" },
    );
    await expectRefused(
      S.root,
      "createPrivateKeys",
      {
        type: T.CREATE_PRIVATE_KEYS,
        timestampMs: nowMs(),
        organizationId: S.org,
        parameters: {
          privateKeys: [
            { privateKeyName: unique("bad-pk"), curve: "CURVE_ED25519", addressFormats: ["ADDRESS_FORMAT_ETHEREUM"], privateKeyTags: [] },
          ],
        },
      },
      { statuses: [400], mentions: [/curve|ed25519|secp256k1|ETHEREUM|mismatch|incompatible/i], what: "create_private_keys ed25519+ethereum" },
    );
  });

  step("V7c. unsupported address format (ADDRESS_FORMAT_XRP) → 400", async () => {
    await expectRefused(
      S.root,
      "createWallet",
      createWalletBody([acct("CURVE_SECP256K1", "m/44'/144'/0'/0/0", "ADDRESS_FORMAT_XRP")]),
      { statuses: [400], mentions: [/XRP|unsupported|not supported/i], what: "create_wallet ADDRESS_FORMAT_XRP" },
    );
  });

  step("V7d. malformed unsigned transactions (bad hex, truncated RLP, garbage Solana bytes) → 400", async () => {
    const eth = need(V.eth, "V1a created the wallet");
    const sol = need(V.sol, "V1a created the wallet");
    const txBody = (signWith, type, unsignedTransaction) => ({
      type: T.SIGN_TRANSACTION,
      timestampMs: nowMs(),
      organizationId: S.org,
      parameters: { signWith, type, unsignedTransaction },
    });
    const mentions = [/transaction|hex|rlp|decode|pars|invalid|malformed|truncat/i];
    await expectRefused(S.root, "signTransaction", txBody(eth, "TRANSACTION_TYPE_ETHEREUM", "zz-not-hex"), {
      statuses: [400], mentions, what: "sign_transaction with non-hex",
    });
    const full = hexNo0x(serializeTransaction(ETH_TXS.eip1559));
    await expectRefused(S.root, "signTransaction", txBody(eth, "TRANSACTION_TYPE_ETHEREUM", full.slice(0, full.length - 10)), {
      statuses: [400], mentions, what: "sign_transaction with truncated RLP",
    });
    await expectRefused(S.root, "signTransaction", txBody(sol, "TRANSACTION_TYPE_SOLANA", "0102030405"), {
      statuses: [400], mentions, what: "sign_transaction with garbage Solana bytes",
    });
  });

  step("V7e. ed25519 with a hash function (KECCAK256) → 400 (Turnkey requires HASH_FUNCTION_NOT_APPLICABLE)", async () => {
    const sol = need(V.sol, "V1a created the wallet");
    await expectRefused(S.root, "signRawPayload", sign(sol, { hashFunction: "HASH_FUNCTION_KECCAK256" }), {
      statuses: [400],
      mentions: [/hash|NOT_APPLICABLE|ed25519/i],
      what: "sign_raw_payload ed25519 + KECCAK256",
    });
  });

  step("V7f. exportWallet with a malformed targetPublicKey → 400", async () => {
    const w = need(V.w12, "V1a created the wallet");
    await expectRefused(
      S.root,
      "exportWallet",
      { type: T.EXPORT_WALLET, timestampMs: nowMs(), organizationId: S.org, parameters: { walletId: w.walletId, targetPublicKey: "04abcd" } },
      { statuses: [400], mentions: [/target|public key|key|invalid/i], what: "export_wallet with a short targetPublicKey" },
    );
  });

  // ASSUMPTION: deleting a never-exported wallet without deleteWithoutExport is
  // refused — as HTTP 400 (FAILED_PRECONDITION/INVALID_ARGUMENT) or as a FAILED
  // activity; either way the message mentions export. The wallet survives.
  step("V7g. deleteWallets: unexported without deleteWithoutExport → refused; with it → deleted, signing fails", async () => {
    const w = await createWallet({ accounts: [ETH], name: unique("doomed") });
    const addr = w.addresses[0];
    await expectRefused(
      S.root,
      "deleteWallets",
      { type: T.DELETE_WALLETS, timestampMs: nowMs(), organizationId: S.org, parameters: { walletIds: [w.walletId] } },
      { statuses: [400], allowFailed: true, mentions: [/export/i], what: "delete_wallets of an unexported wallet" },
    );
    const still = await sdk(S.api.getWallet({ walletId: w.walletId }), "getWallet(after refused delete)");
    assert.equal(still.wallet?.walletId, w.walletId, "a refused delete must keep the wallet");

    const d = await sdk(S.api.deleteWallets({ walletIds: [w.walletId], deleteWithoutExport: true }), "deleteWallets(deleteWithoutExport)");
    const dres = completed(d, T.DELETE_WALLETS);
    assert.deepEqual(dres.walletIds, [w.walletId], show(dres));
    await expectRefused(
      S.root,
      "getWallet",
      { organizationId: S.org, walletId: w.walletId },
      { statuses: [404], mentions: [w.walletId, /not found/i], what: "get_wallet after delete" },
    );
    const l = await sdk(S.api.getWallets({}), "getWallets");
    assert.ok(!(l.wallets || []).some((x) => x.walletId === w.walletId), "deleted wallet still listed");
    await expectRefused(S.root, "signRawPayload", sign(addr), {
      mentions: [addr, addr.toLowerCase(), /not found|unknown|deleted/i],
      what: "sign_raw_payload with a deleted wallet's account",
    });
  });

  step("V7h. deleteWallets of an exported wallet needs no deleteWithoutExport (swagger)", async () => {
    const w = await createWallet({ accounts: [ETH], name: unique("exported-then-deleted") });
    await exportMnemonic(w.walletId, "exportWallet(before delete)");
    const d = await sdk(S.api.deleteWallets({ walletIds: [w.walletId] }), "deleteWallets(exported)");
    assert.deepEqual(completed(d, T.DELETE_WALLETS).walletIds, [w.walletId]);
  });

  step("V7i. deletePrivateKeys (deleteWithoutExport) → get_private_key 404, signing refused", async () => {
    const r = await sdk(
      S.api.createPrivateKeys({
        privateKeys: [{ privateKeyName: unique("pk-doomed"), curve: "CURVE_SECP256K1", addressFormats: ["ADDRESS_FORMAT_ETHEREUM"], privateKeyTags: [] }],
      }),
      "createPrivateKeys",
    );
    const k = completed(r, T.CREATE_PRIVATE_KEYS).privateKeys[0];
    const d = await sdk(S.api.deletePrivateKeys({ privateKeyIds: [k.privateKeyId], deleteWithoutExport: true }), "deletePrivateKeys");
    assert.deepEqual(completed(d, T.DELETE_PRIVATE_KEYS).privateKeyIds, [k.privateKeyId]);
    await expectRefused(
      S.root,
      "getPrivateKey",
      { organizationId: S.org, privateKeyId: k.privateKeyId },
      { statuses: [404], mentions: [k.privateKeyId, /not found/i], what: "get_private_key after delete" },
    );
    await expectRefused(S.root, "signRawPayload", sign(k.privateKeyId), {
      mentions: [k.privateKeyId, /not found|unknown|deleted/i],
      what: "sign_raw_payload with a deleted private key",
    });
  });

  // ASSUMPTION: a sub-organization's user cannot reach the parent's keys: in
  // its own org the parent's address is unknown (404/400, or 403); naming the
  // parent org with a sub-org credential is refused (401/403/404).
  step("V7j. a sub-organization cannot sign with the parent's wallet", async () => {
    const eth = need(V.eth, "V1a created the wallet");
    const kp = generateP256KeyPair();
    const c = await sdk(
      S.root.createSubOrganization({
        type: T.CREATE_SUB_ORG_V8,
        timestampMs: nowMs(),
        organizationId: S.org,
        parameters: {
          subOrganizationName: unique("vault-sub"),
          rootQuorumThreshold: 1,
          rootUsers: [
            {
              userName: "vault sub root",
              apiKeys: [{ apiKeyName: "k", publicKey: kp.publicKey, curveType: "API_KEY_CURVE_P256" }],
              authenticators: [],
              oauthProviders: [],
            },
          ],
        },
      }),
      "createSubOrganization",
    );
    const sub = completed(c, T.CREATE_SUB_ORG_V8).subOrganizationId;
    const subClient = new TurnkeyClient(
      { baseUrl: S.baseUrl },
      new ApiKeyStamper({ apiPublicKey: kp.publicKey, apiPrivateKey: kp.privateKey }),
    );
    await expectRefused(subClient, "signRawPayload", { ...sign(eth), organizationId: sub }, {
      statuses: [400, 403, 404],
      mentions: [eth, eth.toLowerCase(), /not found|unknown|no (such )?(wallet account|private key|account|key)|permission|authori/i],
      what: "sub-org signs with the parent's address in its own org",
    });
    await expectRefused(subClient, "signRawPayload", sign(eth), {
      statuses: [401, 403, 404],
      mentions: [/not found|unknown|permission|authori|organization|key/i],
      what: "sub-org credential signs in the parent org",
    });
    // The sub-org has its own vault, independent of the parent's.
    const subApi = new Turnkey({
      apiBaseUrl: S.baseUrl,
      apiPublicKey: kp.publicKey,
      apiPrivateKey: kp.privateKey,
      defaultOrganizationId: sub,
    }).apiClient();
    const w = await createWallet({ accounts: [ETH], name: unique("sub-wallet"), api: subApi, organizationId: sub });
    assert.notEqual(w.addresses[0], eth);
    const l = await sdk(S.api.getWallets({}), "getWallets(parent)");
    assert.ok(!(l.wallets || []).some((x) => x.walletId === w.walletId), "the parent's list_wallets must not show the sub-org's wallet");
  });

  step("V7k. importWallet with an encryptedBundle that does not decrypt → 400", async () => {
    const i = await sdk(S.api.initImportWallet({ userId: S.userId }), "initImportWallet");
    completed(i, T.INIT_IMPORT_WALLET);
    const bogus = JSON.stringify({ encappedPublic: `04${"11".repeat(64)}`, ciphertext: "00".repeat(48) });
    await expectRefused(
      S.root,
      "importWallet",
      {
        type: T.IMPORT_WALLET,
        timestampMs: nowMs(),
        organizationId: S.org,
        parameters: { userId: S.userId, walletName: unique("bogus-import"), encryptedBundle: bogus, accounts: [ETH] },
      },
      { statuses: [400], mentions: [/bundle|decrypt|import|invalid|key/i], what: "import_wallet with a bogus bundle" },
    );
  });
});

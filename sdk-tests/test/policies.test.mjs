// SDK-compatibility tests for policies and approvals: non-root users act under
// organization policies, a 2-of-3 signing policy makes a signature wait for
// consensus, other users approve or reject it by fingerprint, DENY beats
// ALLOW, and invalid policy text is refused — all through Turnkey's official
// npm SDKs (unmodified except for baseUrl), each user with their own API key,
// against a real `quorate` server started by this file. Signatures are checked
// with viem.
//
// Env: QUORATE_BIN (default /var/tmp/quorate-target/debug/quorate).
//
// How the SDKs surface a request that waits for consensus (read from the
// installed dist/ sources):
//   - @turnkey/sdk-server apiClient(): command() polls get_activity while the
//     status is not terminal (CONSENSUS_NEEDED is not), then returns {activity}
//     without throwing and without the result fields; the `fingerprint` is on
//     that activity. approveActivity()/rejectActivity() return
//     {...activity.result, activity} of the activity voted on.
//   - @turnkey/http TurnkeyClient: returns {activity} as sent; assertActivityCompleted
//     throws TurnkeyActivityConsensusNeededError {activityId, activityStatus};
//     createActivityPoller throws TurnkeyActivityError {activityId,
//     activityStatus: CONSENSUS_NEEDED, activityType}; getSignatureFromActivity
//     reads the signature once the activity is completed.
//   - @turnkey/viem: signMessage throws TurnkeyConsensusNeededError {activityId}
//     (isTurnkeyActivityConsensusNeededError).
// No error class carries the fingerprint: a user reads it from the activity
// (directly, or get_activity by activityId). It equals @turnkey/crypto's
// computeActivityFingerprint over the sent body (WIRE §10).

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";

import {
  TurnkeyClient,
  createActivityPoller,
  assertActivityCompleted,
  getSignatureFromActivity,
  TurnkeyActivityConsensusNeededError,
} from "@turnkey/http";
import { ApiKeyStamper } from "@turnkey/api-key-stamper";
import { Turnkey } from "@turnkey/sdk-server";
import { generateP256KeyPair, computeActivityFingerprint } from "@turnkey/crypto";
import {
  createAccount as createTurnkeyViemAccount,
  isTurnkeyActivityConsensusNeededError,
} from "@turnkey/viem";
import { keccak256, stringToHex, toBytes, recoverAddress, verifyMessage, getAddress, hashMessage } from "viem";

import {
  startServer,
  rawPost,
  recordingStamper,
  intentKeyFor,
  show,
  withTimeout,
  QUORATE_BIN,
} from "../lib/helpers.mjs";
import { acct, rsvToEthSignature, hexNo0x } from "../lib/vault.mjs";
import {
  STATUS,
  VOTE,
  DENIED_MESSAGE,
  IMPLICIT_DENY,
  EXPLICIT_DENY_PREFIX,
  tagConsensus,
  userConsensus,
  userClients,
  policyDetailTexts,
  voteSummary,
  noResult,
} from "../lib/policies.mjs";

const STEP_TIMEOUT_MS = 90_000;
const CALL_TIMEOUT_MS = 30_000;

const T = {
  CREATE_USERS_V4: "ACTIVITY_TYPE_CREATE_USERS_V4",
  CREATE_USER_TAG: "ACTIVITY_TYPE_CREATE_USER_TAG",
  CREATE_WALLET: "ACTIVITY_TYPE_CREATE_WALLET",
  CREATE_POLICY_V3: "ACTIVITY_TYPE_CREATE_POLICY_V3",
  SIGN_RAW_PAYLOAD: "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2",
  EXPORT_WALLET_ACCOUNT: "ACTIVITY_TYPE_EXPORT_WALLET_ACCOUNT",
  APPROVE_ACTIVITY: "ACTIVITY_TYPE_APPROVE_ACTIVITY",
  REJECT_ACTIVITY: "ACTIVITY_TYPE_REJECT_ACTIVITY",
};
const R = {
  [T.CREATE_USERS_V4]: "createUsersResult",
  [T.CREATE_USER_TAG]: "createUserTagResult",
  [T.CREATE_WALLET]: "createWalletResult",
  [T.CREATE_POLICY_V3]: "createPolicyResult",
  [T.SIGN_RAW_PAYLOAD]: "signRawPayloadResult",
  [T.EXPORT_WALLET_ACCOUNT]: "exportWalletAccountResult",
};
// google.rpc code → HTTP status, as grpc-gateway maps them (WIRE §5).
const HTTP_FOR_CODE = { 3: 400, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 12: 501, 13: 500, 16: 401 };

const ETH = acct("CURVE_SECP256K1", "m/44'/60'/0'/0/0", "ADDRESS_FORMAT_ETHEREUM");
// sdk-server's poller, as a user may configure it (documented option): poll
// every 100 ms, at most 4 times, instead of 1 s — only to keep the suite fast.
const POLLER = { intervalMs: 100, numRetries: 3 };

// ---------------------------------------------------------------------------
// shared state

const S = {
  server: null,
  init: null,
  baseUrl: null,
  org: null, // root organization id
  rootStamper: null,
  root: null, // @turnkey/http TurnkeyClient (root API key)
  api: null, // @turnkey/sdk-server apiClient() (root API key)
  apiStamper: null,
  failures: 0,
};
// Objects created along the way.
const P = {
  users: {}, // alice / bob / carol: userClients(...) + {userId}
  tagId: null, // the "approvers" user tag
  wallet: null, // {walletId, address}
  signPolicyId: null, // ALLOW 2-of-3 signing
  pending: null, // {activity, body, params} alice's first signing request (sdk-server)
  pending2: null, // {activity} alice's second signing request (@turnkey/http + poller)
  exportAllowId: null,
  exportDenyId: null,
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
 * the HTTP status it stands for and the server's message.
 */
async function sdk(promise, what) {
  try {
    return await call(promise, what);
  } catch (e) {
    if (e && e.name === "TurnkeyRequestError") {
      const http = HTTP_FOR_CODE[e.code];
      throw new Error(`${what}: server answered HTTP ${http ?? "?"} (code ${e.code}): ${e.message}`, { cause: e });
    }
    if (e && e.message && !e.message.startsWith(what)) e.message = `${what}: ${e.message}`;
    throw e;
  }
}

/** Run `fn`, which must throw; returns the error (an assertion if it did not). */
async function mustThrow(fn, what) {
  let result;
  try {
    result = await call(fn(), what);
  } catch (e) {
    return e;
  }
  assert.fail(`${what}: expected an error, the call returned ${show(result)}`);
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

function stampHeaders(stamp) {
  return { [stamp.stampHeaderName]: stamp.stampHeaderValue };
}

/**
 * `resp` is what an SDK returned for a submit: @turnkey/http gives
 * {activity}, @turnkey/sdk-server gives {...result[resultKey], activity}.
 * Asserts a completed activity of `type` and returns activity.result[resultKey].
 */
function completed(resp, type, organizationId = S.org) {
  const resultKey = R[type];
  assert.ok(
    resp && typeof resp === "object" && resp.activity && typeof resp.activity === "object",
    `response should carry {activity}, got ${show(resp)}`,
  );
  const a = resp.activity;
  assert.equal(a.status, STATUS.COMPLETED, `activity.status should be ${STATUS.COMPLETED}; failure=${show(a.failure)}; activity=${show(a)}`);
  assert.equal(a.type, type, `activity.type: ${show(a)}`);
  assert.equal(a.organizationId, organizationId, `activity.organizationId: ${show(a)}`);
  const ik = intentKeyFor(type);
  assert.ok(a.intent && a.intent[ik], `activity.intent should have key "${ik}": ${show(a.intent)}`);
  assert.deepEqual(Object.keys(a.result || {}), [resultKey], `activity.result must hold exactly one key "${resultKey}": ${show(a.result)}`);
  return a.result[resultKey];
}

/** An activity waiting for consensus, as submitted by `initiator`: checks and returns it. */
function awaitingConsensus(activity, { type, initiator, sentBody, what }) {
  const ctx = `${what}: ${show(activity)}${sentBody ? `\nrequest body: ${sentBody}` : ""}`;
  assert.ok(activity && typeof activity === "object", `${what}: expected an activity, got ${show(activity)}`);
  assert.equal(activity.status, STATUS.CONSENSUS_NEEDED, `activity.status — ${ctx}`);
  assert.equal(activity.type, type, `activity.type — ${ctx}`);
  assert.equal(activity.organizationId, S.org, `activity.organizationId — ${ctx}`);
  assert.equal(typeof activity.id, "string", `activity.id — ${ctx}`);
  assert.match(activity.fingerprint ?? "", /^sha256:[0-9a-f]{64}$/, `activity.fingerprint — ${ctx}`);
  if (sentBody) {
    assert.equal(activity.fingerprint, computeActivityFingerprint(sentBody), `fingerprint = computeActivityFingerprint(body) — ${ctx}`);
  }
  assert.ok(noResult(activity.result), `a waiting activity has no result yet — ${ctx}`);
  assert.ok(!activity.failure, `a waiting activity has no failure — ${ctx}`);
  assert.deepEqual(
    voteSummary(activity),
    [{ userId: initiator.userId, selection: VOTE.APPROVED }],
    `the submit counts as the initiator's approval (and only that) — ${ctx}`,
  );
  assert.equal(typeof activity.canApprove, "boolean", `activity.canApprove boolean — ${ctx}`);
  assert.equal(typeof activity.canReject, "boolean", `activity.canReject boolean — ${ctx}`);
  return activity;
}

/** Check one vote as swagger v1Vote describes it. */
function checkVote(v, { user, selection, body, activityId }, where) {
  assert.equal(v.userId, user.userId, `${where}.userId: ${show(v)}`);
  assert.equal(v.selection, selection, `${where}.selection: ${show(v)}`);
  assert.equal(v.activityId, activityId, `${where}.activityId: ${show(v)}`);
  for (const f of ["id", "message", "publicKey", "signature", "scheme"]) {
    assert.equal(typeof v[f], "string", `${where}.${f} is required (swagger v1Vote): ${show(v)}`);
  }
  assert.ok(v.user && typeof v.user === "object", `${where}.user is required (swagger v1Vote): ${show(v)}`);
  assert.equal(v.publicKey, user.publicKey, `${where}.publicKey is the voter's API key: ${show(v)}`);
  if (body !== undefined) assert.equal(v.message, body, `${where}.message is the body the voter stamped: ${show(v)}`);
  assert.ok(v.createdAt && typeof v.createdAt === "object", `${where}.createdAt: ${show(v)}`);
}

function assertRsv(sig, what) {
  assert.ok(sig && typeof sig === "object", `${what}: signRawPayloadResult: ${show(sig)}`);
  assert.match(sig.r ?? "", /^[0-9a-fA-F]{64}$/, `${what}: r must be 64 hex chars without 0x: ${show(sig)}`);
  assert.match(sig.s ?? "", /^[0-9a-fA-F]{64}$/, `${what}: s must be 64 hex chars without 0x: ${show(sig)}`);
  assert.match(sig.v ?? "", /^0[01]$/, `${what}: v must be "00" or "01" for secp256k1: ${show(sig)}`);
}

async function assertEthRecovers(sig, hash, address, what) {
  assertRsv(sig, what);
  const got = await recoverAddress({ hash, signature: rsvToEthSignature(sig) });
  assert.equal(got, getAddress(address), `${what}: signature recovers ${got}, expected ${address}; sig ${show(sig)}`);
}

/** The signing request the tests repeat (fresh timestampMs per request unless given). */
function signParams(text) {
  return {
    signWith: need(P.wallet, "P1c created the wallet").address,
    payload: hexNo0x(stringToHex(text)),
    encoding: "PAYLOAD_ENCODING_HEXADECIMAL",
    hashFunction: "HASH_FUNCTION_KECCAK256",
  };
}

/**
 * Expect a policy-engine denial: HTTP 403, code 7, message DENIED_MESSAGE, a
 * PolicyEnginePermissionError detail containing `detail`. `signed` is a
 * client.stampXxx(...) result, posted raw (`times` times: an identical body
 * must keep its answer). Returns the parsed body.
 */
async function expectRawDenied(signed, { detail, what, times = 1 }) {
  let json;
  for (let i = 1; i <= times; i++) {
    const res = await call(rawPost(signed.url, signed.body, stampHeaders(signed.stamp)), what);
    const ctx = `${what}${times > 1 ? ` (POST #${i})` : ""}: HTTP ${res.status}, content-type ${show(res.contentType)}, body ${res.text.slice(0, 2000)}\nrequest: ${signed.body.slice(0, 1500)}`;
    assert.equal(res.status, 403, `expected HTTP 403 — ${ctx}`);
    assert.ok(res.json && typeof res.json === "object", `error body must be JSON — ${ctx}`);
    assert.equal(res.json.code, 7, `body.code — ${ctx}`);
    assert.equal(res.json.message, DENIED_MESSAGE, `body.message (Turnkey's text) — ${ctx}`);
    const texts = policyDetailTexts(res.json.details);
    assert.ok(texts.length > 0, `details must hold a PolicyEnginePermissionError entry — ${ctx}`);
    assert.ok(texts.some((t) => t.includes(detail)), `the PolicyEnginePermissionError detail should say "${detail}" — ${ctx}`);
    assert.equal(res.contentType, "application/json", `Content-Type — ${ctx}`);
    json = res.json;
  }
  return json;
}

/** The same denial through an SDK call: TurnkeyRequestError code 7 whose details/message carry `detail`. */
async function expectSdkDenied(fn, { detail, what }) {
  const e = await mustThrow(fn, what);
  assert.equal(e.name, "TurnkeyRequestError", `${what}: expected TurnkeyRequestError, got ${e.name}: ${e.message}`);
  assert.equal(e.code, 7, `${what}: err.code (HTTP ${HTTP_FOR_CODE[e.code]}): ${e.message}`);
  const texts = policyDetailTexts(e.details);
  assert.ok(texts.some((t) => t.includes(detail)), `${what}: err.details should carry a PolicyEnginePermissionError saying "${detail}": ${show(e.details)}`);
  assert.ok(e.message.includes(detail), `${what}: err.message should show the detail: ${e.message}`);
  return e;
}

/**
 * Expect an invalid policy: HTTP 400, code 3, and the message (with details)
 * names every string in `mentions` (e.g. the field `parameters.condition`).
 * Sent raw, then through sdk-server createPolicy.
 */
async function expectPolicyRefused(params, { mentions, what }) {
  const signed = await S.api.stampCreatePolicy({ ...params, timestampMs: nowMs() });
  const res = await call(rawPost(signed.url, signed.body, stampHeaders(signed.stamp)), what);
  const ctx = `${what}: HTTP ${res.status}, body ${res.text.slice(0, 1500)}\nrequest: ${signed.body}`;
  assert.equal(res.status, 400, `expected HTTP 400 — ${ctx}`);
  assert.equal(res.json?.code, 3, `body.code — ${ctx}`);
  assert.equal(res.contentType, "application/json", `Content-Type — ${ctx}`);
  const text = `${res.json.message} ${JSON.stringify(res.json.details ?? [])}`;
  for (const m of mentions) {
    assert.ok(text.includes(m), `${what}: the error should name ${show(m)}; got: ${text}`);
  }
  const e = await mustThrow(() => S.api.createPolicy({ ...params, timestampMs: nowMs() }), `${what} (SDK)`);
  assert.equal(e.name, "TurnkeyRequestError", `${what} (SDK): expected TurnkeyRequestError, got ${e.name}: ${e.message}`);
  assert.equal(e.code, 3, `${what} (SDK): err.code: ${e.message}`);
  for (const m of mentions) assert.ok(e.message.includes(m), `${what} (SDK): err.message should name ${show(m)}: ${e.message}`);
}

/** Root creates a policy through sdk-server; returns its id. */
async function createPolicy(params, what) {
  const r = await sdk(S.api.createPolicy({ notes: "", ...params }), what);
  const res = completed(r, T.CREATE_POLICY_V3);
  assert.equal(typeof res.policyId, "string", `createPolicyResult.policyId: ${show(res)}`);
  assert.equal(r.policyId, res.policyId, "sdk-server spreads the result");
  const got = await sdk(S.api.getPolicy({ policyId: res.policyId }), `getPolicy(${params.policyName})`);
  assert.equal(got.policy?.policyId, res.policyId, show(got));
  assert.equal(got.policy.effect, params.effect, show(got));
  assert.equal(got.policy.condition ?? "", params.condition ?? "", `condition stored verbatim: ${show(got)}`);
  assert.equal(got.policy.consensus ?? "", params.consensus ?? "", `consensus stored verbatim: ${show(got)}`);
  return res.policyId;
}

/** A reject_activity answer (sdk-server): the activity voted on, REJECTED, no signature, the rejection listed. */
function expectRejectedAnswer(r, { activity, voter, rejectBody }) {
  assert.equal(r.activity?.id, activity.id, `reject_activity answers with the activity voted on: ${show(r)}`);
  assert.equal(r.activity.status, STATUS.REJECTED, show(r));
  assert.ok(noResult(r.activity.result) && !r.signRawPayloadResult, `a rejected activity has no signature: ${show(r)}`);
  const v = (r.activity.votes ?? []).find((x) => x.userId === voter.userId);
  assert.ok(v, `the rejecting vote is listed: ${show(r.activity.votes)}`);
  checkVote(v, { user: voter, selection: VOTE.REJECTED, body: rejectBody, activityId: activity.id }, "the rejecting vote");
}

/**
 * A rejected signing activity stays rejected: `approver`'s later approval is
 * refused (4xx) or answered with the REJECTED activity; alice reads REJECTED;
 * her identical body answers the rejected activity (or is refused); the
 * @turnkey/http poller throws. No signature at any point.
 */
async function expectStaysRejected({ activity, body }, approver, what) {
  const alice = P.users.alice;
  let r;
  let err;
  try {
    r = await call(approver.api.approveActivity({ fingerprint: activity.fingerprint }), `approveActivity by ${approver.name} ${what}`);
  } catch (e) {
    err = e;
  }
  if (err) {
    assert.equal(err.name, "TurnkeyRequestError", `${what}: expected an answer or a TurnkeyRequestError, got ${err.name}: ${err.message}`);
    assert.ok([400, 403, 404, 409].includes(HTTP_FOR_CODE[err.code]), `${what}: refused with code ${err.code}: ${err.message}`);
  } else {
    assert.equal(r.activity?.id, activity.id, show(r));
    assert.equal(r.activity.status, STATUS.REJECTED, `${what}: a rejected activity stays rejected: ${show(r)}`);
    assert.ok(noResult(r.activity.result) && !r.signRawPayloadResult, `${what}: no signature: ${show(r)}`);
  }
  const got = await sdk(alice.api.getActivity({ activityId: activity.id }), "getActivity by alice");
  assert.equal(got.activity?.status, STATUS.REJECTED, `${what}: ${show(got)}`);
  assert.ok(noResult(got.activity.result), `${what}: no signature ever: ${show(got.activity)}`);
  // Alice resubmitting the identical body gets the rejected activity, not a new signature.
  const signed = await alice.http.stampSignRawPayload(JSON.parse(body));
  assert.equal(signed.body, body, "re-stamping the parsed body reproduces it");
  const res = await call(rawPost(signed.url, signed.body, stampHeaders(signed.stamp)), "resubmit the rejected body");
  if (res.status === 200) {
    assert.equal(res.json?.activity?.id, activity.id, res.text);
    assert.equal(res.json.activity.status, STATUS.REJECTED, res.text);
    assert.ok(noResult(res.json.activity.result), res.text);
  } else {
    assert.ok([400, 403, 409].includes(res.status), `${what}: resubmitting a rejected body: HTTP ${res.status} ${res.text}`);
  }
  // The @turnkey/http poller never yields a result for it: it throws (REJECTED, or the refusal).
  const poller = createActivityPoller({ client: alice.http, requestFn: alice.http.signRawPayload, refreshIntervalMs: 100 });
  const e = await mustThrow(() => poller(JSON.parse(body)), "createActivityPoller on the rejected body");
  assert.ok(["TurnkeyActivityError", "TurnkeyRequestError"].includes(e.name), `${e.name}: ${e.message}`);
  if (e.name === "TurnkeyActivityError") {
    assert.equal(e.activityStatus, STATUS.REJECTED, e.message);
    assert.equal(e.activityId, activity.id, e.message);
  }
}

// ---------------------------------------------------------------------------

describe("quorate × Turnkey npm SDKs: policies and approvals", () => {
  before(
    async () => {
      S.server = await startServer();
      S.init = S.server.init;
      S.baseUrl = S.server.baseUrl;
      S.org = S.init.organizationId;
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
      process.stderr.write(
        `[sdk-tests policies] quorate (${QUORATE_BIN}) at ${S.baseUrl}, org ${S.org}, log ${S.server.logPath}\n`,
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
          `\n[sdk-tests policies] ${S.failures} test(s) failed; quorate server log (${S.server.logPath}):\n${tail}\n[sdk-tests policies] end of server log\n`,
        );
      }
      await S.server.cleanup();
    },
    { timeout: 30_000 },
  );

  // 1 setup ------------------------------------------------------------------
  step("P1a. root creates alice, bob and carol (non-root), each with their own P-256 API key", async () => {
    const names = ["alice", "bob", "carol"];
    const keys = names.map(() => generateP256KeyPair());
    const r = await sdk(
      S.api.createUsers({
        users: names.map((n, i) => ({
          userName: unique(n),
          userEmail: `${n}@example.com`,
          apiKeys: [{ apiKeyName: `${n}-key`, publicKey: keys[i].publicKey, curveType: "API_KEY_CURVE_P256" }],
          authenticators: [],
          oauthProviders: [],
          userTags: [],
        })),
      }),
      "createUsers(alice, bob, carol)",
    );
    const res = completed(r, T.CREATE_USERS_V4);
    assert.ok(Array.isArray(res.userIds) && res.userIds.length === 3, `createUsersResult.userIds: ${show(res)}`);
    for (const [i, n] of names.entries()) {
      P.users[n] = userClients({
        baseUrl: S.baseUrl,
        organizationId: S.org,
        name: n,
        userId: res.userIds[i],
        publicKey: keys[i].publicKey,
        privateKey: keys[i].privateKey,
        activityPoller: POLLER,
      });
      const who = await sdk(P.users[n].api.getWhoami(), `getWhoami(${n})`);
      assert.equal(who.organizationId, S.org, show(who));
      assert.equal(who.userId, res.userIds[i], `${n}'s key authenticates as ${n}: ${show(who)}`);
    }
    const cfg = await sdk(S.api.getOrganizationConfigs({}), "getOrganizationConfigs");
    const quorum = cfg.configs?.quorum;
    assert.ok(quorum, `configs.quorum: ${show(cfg)}`);
    for (const n of names) {
      assert.ok(!(quorum.userIds ?? []).includes(P.users[n].userId), `${n} must not be a root user: ${show(quorum)}`);
    }
  });

  step("P1b. root creates the user tag \"approvers\" on all three", async () => {
    const { alice, bob, carol } = need(P.users.carol && P.users, "P1a created the users");
    const userIds = [alice.userId, bob.userId, carol.userId];
    const r = await sdk(S.api.createUserTag({ userTagName: "approvers", userIds }), "createUserTag(approvers)");
    const res = completed(r, T.CREATE_USER_TAG);
    assert.equal(typeof res.userTagId, "string", `createUserTagResult.userTagId: ${show(res)}`);
    P.tagId = res.userTagId;
    for (const u of [alice, bob, carol]) {
      const got = await sdk(S.api.getUser({ userId: u.userId }), `getUser(${u.name})`);
      assert.ok((got.user?.userTags ?? []).includes(P.tagId), `${u.name} carries the tag ${P.tagId}: ${show(got)}`);
    }
  });

  step("P1c. root creates a wallet with an Ethereum account", async () => {
    const name = unique("policy-wallet");
    const r = await sdk(S.api.createWallet({ walletName: name, accounts: [ETH] }), "createWallet");
    const res = completed(r, T.CREATE_WALLET);
    assert.equal(typeof res.walletId, "string", show(res));
    assert.match(res.addresses?.[0] ?? "", /^0x[0-9a-fA-F]{40}$/, show(res));
    P.wallet = { walletId: res.walletId, address: res.addresses[0] };
  });

  step("P1d. with no policy, alice is denied implicitly (403, code 7, \"No policies evaluated to outcome: Allow\")", async () => {
    const alice = need(P.users.alice, "P1a created alice");
    // Signing, raw (the identical body twice: the answer is stable) and through sdk-server.
    const params = signParams("before any policy");
    const signed = await alice.api.stampSignRawPayload({ ...params, timestampMs: nowMs() });
    await expectRawDenied(signed, { detail: IMPLICIT_DENY, what: "sign_raw_payload by alice, no policy", times: 2 });
    await expectSdkDenied(() => alice.api.signRawPayload({ ...params, timestampMs: nowMs() }), {
      detail: IMPLICIT_DENY,
      what: "sdk-server signRawPayload by alice, no policy",
    });
    // Another kind of activity, through @turnkey/http.
    await expectSdkDenied(
      () =>
        alice.http.createWallet({
          type: T.CREATE_WALLET,
          timestampMs: nowMs(),
          organizationId: S.org,
          parameters: { walletName: unique("alice-wallet"), accounts: [ETH] },
        }),
      { detail: IMPLICIT_DENY, what: "@turnkey/http createWallet by alice, no policy" },
    );
    const wallets = await sdk(S.api.getWallets({}), "getWallets");
    assert.ok(!(wallets.wallets ?? []).some((w) => w.walletName.startsWith("alice-wallet")), `a denied create_wallet creates nothing: ${show(wallets)}`);
  });

  // 2 the signing policy -----------------------------------------------------
  step("P2. root creates ALLOW PRIVATE_KEY/SIGN with consensus: 2 of the \"approvers\" tag", async () => {
    const tagId = need(P.tagId, "P1b created the tag");
    P.signPolicyId = await createPolicy(
      {
        policyName: unique("two approvers sign"),
        effect: "EFFECT_ALLOW",
        condition: "activity.resource == 'PRIVATE_KEY' && activity.action == 'SIGN'",
        consensus: tagConsensus(tagId, 2),
      },
      "createPolicy(2-of-3 signing)",
    );
    const list = await sdk(S.api.getPolicies({}), "getPolicies");
    assert.ok((list.policies ?? []).some((p) => p.policyId === P.signPolicyId), `list_policies includes it: ${show(list)}`);
  });

  // 3 a signature waits for consensus ------------------------------------------
  step("P3a. alice signRawPayload (sdk-server) → {activity} CONSENSUS_NEEDED, no signature; fingerprint = computeActivityFingerprint", async () => {
    const alice = need(P.users.alice, "P1a created alice");
    need(P.signPolicyId, "P2 created the signing policy");
    const params = { ...signParams("two of three approve this"), timestampMs: nowMs() };
    const r = await sdk(alice.api.signRawPayload(params), "sdk-server signRawPayload by alice");
    const body = alice.apiStamper.bodies.find((b) => b.includes(params.timestampMs) && b.includes(T.SIGN_RAW_PAYLOAD));
    assert.ok(body, "the signing body alice's SDK sent was recorded");
    // sdk-server polled get_activity and gave up without throwing: {activity} only.
    assert.deepEqual(Object.keys(r).sort(), ["activity"], `sdk-server returns just {activity} when not completed: ${show(r)}`);
    assert.ok(!("r" in r) && !("signRawPayloadResult" in r), `no signature fields: ${show(r)}`);
    const a = awaitingConsensus(r.activity, { type: T.SIGN_RAW_PAYLOAD, initiator: alice, sentBody: body, what: "alice's signing request" });
    checkVote(a.votes[0], { user: alice, selection: VOTE.APPROVED, body, activityId: a.id }, "votes[0]");
    // The documented @turnkey/http helper classifies it.
    let thrown;
    try {
      assertActivityCompleted(a);
    } catch (e) {
      thrown = e;
    }
    assert.ok(thrown instanceof TurnkeyActivityConsensusNeededError, `assertActivityCompleted should throw TurnkeyActivityConsensusNeededError, got ${thrown?.name}: ${thrown?.message}`);
    assert.equal(thrown.activityId, a.id);
    assert.equal(thrown.activityStatus, STATUS.CONSENSUS_NEEDED);
    // Anyone in the org reads the same activity by id (bob, who will approve it).
    const bob = need(P.users.bob, "P1a created bob");
    const got = await sdk(bob.api.getActivity({ activityId: a.id }), "getActivity by bob");
    assert.equal(got.activity?.status, STATUS.CONSENSUS_NEEDED, show(got));
    assert.equal(got.activity.fingerprint, a.fingerprint, show(got));
    // Resubmitting the identical body answers the same waiting activity.
    const again = await sdk(alice.api.signRawPayload(params), "sdk-server signRawPayload by alice (identical body)");
    assert.equal(again.activity?.id, a.id, `identical body → same activity: ${show(again)}`);
    assert.equal(again.activity.status, STATUS.CONSENSUS_NEEDED, show(again));
    P.pending = { activity: a, body, params };
  });

  step("P3b. alice via @turnkey/http + createActivityPoller → TurnkeyActivityError {activityStatus CONSENSUS_NEEDED, activityId}", async () => {
    const alice = need(P.users.alice, "P1a created alice");
    need(P.signPolicyId, "P2 created the signing policy");
    const poller = createActivityPoller({ client: alice.http, requestFn: alice.http.signRawPayload, refreshIntervalMs: 100 });
    const input = {
      type: T.SIGN_RAW_PAYLOAD,
      timestampMs: nowMs(),
      organizationId: S.org,
      parameters: signParams("this one will be rejected"),
    };
    const e = await mustThrow(() => poller(input), "createActivityPoller(signRawPayload) by alice");
    assert.equal(e.name, "TurnkeyActivityError", `expected TurnkeyActivityError, got ${e.name}: ${e.message}`);
    assert.equal(e.activityStatus, STATUS.CONSENSUS_NEEDED, `err.activityStatus: ${e.message}`);
    assert.equal(e.activityType, T.SIGN_RAW_PAYLOAD, `err.activityType: ${e.message}`);
    assert.equal(typeof e.activityId, "string", `err.activityId: ${e.message}`);
    // The fingerprint is read from the activity (the error has only its id).
    const got = await sdk(alice.http.getActivity({ organizationId: S.org, activityId: e.activityId }), "getActivity by alice");
    const body = alice.httpStamper.bodies.find((b) => b.includes(input.timestampMs) && b.includes(T.SIGN_RAW_PAYLOAD));
    assert.ok(body, "the signing body alice's client sent was recorded");
    const a = awaitingConsensus(got.activity, { type: T.SIGN_RAW_PAYLOAD, initiator: alice, sentBody: body, what: "alice's second signing request" });
    assert.notEqual(a.id, P.pending?.activity.id, "a new timestampMs is a new activity");
    P.pending2 = { activity: a, body };
  });

  step("P3c. alice approving her own request adds nothing: still no signature", async () => {
    const alice = need(P.users.alice, "P1a created alice");
    const { activity } = need(P.pending, "P3a left a waiting activity");
    let r;
    let err;
    try {
      r = await call(alice.api.approveActivity({ fingerprint: activity.fingerprint }), "approveActivity by alice (own)");
    } catch (e) {
      err = e;
    }
    if (err) {
      // Refusing the self-vote outright is fine too.
      assert.equal(err.name, "TurnkeyRequestError", `expected an answer or a TurnkeyRequestError, got ${err.name}: ${err.message}`);
      assert.ok([400, 403, 409].includes(HTTP_FOR_CODE[err.code]), `self-approval refused with code ${err.code}: ${err.message}`);
    } else {
      assert.equal(r.activity?.id, activity.id, `the answer is the activity voted on: ${show(r)}`);
      assert.equal(r.activity.status, STATUS.CONSENSUS_NEEDED, `one user's vote counts once: ${show(r)}`);
      assert.ok(noResult(r.activity.result) && !r.signRawPayloadResult, `no signature: ${show(r)}`);
    }
    const got = await sdk(alice.api.getActivity({ activityId: activity.id }), "getActivity");
    assert.equal(got.activity?.status, STATUS.CONSENSUS_NEEDED, show(got));
    assert.deepEqual(voteSummary(got.activity), [{ userId: alice.userId, selection: VOTE.APPROVED }], `still alice's single approval: ${show(got.activity?.votes)}`);
  });

  // 4 bob approves ----------------------------------------------------------------
  step("P4a. bob approveActivity({fingerprint}) with his own stamp → the signing activity COMPLETED; viem recovers the account", async () => {
    const bob = need(P.users.bob, "P1a created bob");
    const alice = P.users.alice;
    const { activity } = need(P.pending, "P3a left a waiting activity");
    const r = await sdk(bob.api.approveActivity({ fingerprint: activity.fingerprint }), "approveActivity by bob");
    const approveBody = bob.apiStamper.last;
    assert.ok(approveBody.includes(T.APPROVE_ACTIVITY) && approveBody.includes(activity.fingerprint), `bob's SDK sent ${approveBody}`);
    assert.equal(r.activity?.id, activity.id, `approve_activity answers with the activity voted on: ${show(r)}`);
    const sig = completed(r, T.SIGN_RAW_PAYLOAD);
    // sdk-server's activityDecision spreads activity.result.
    assert.deepEqual(r.signRawPayloadResult, sig, `sdk-server spreads result.signRawPayloadResult: ${show(r)}`);
    assert.equal(r.activity.fingerprint, activity.fingerprint, "fingerprint unchanged");
    await assertEthRecovers(sig, keccak256(toBytes("two of three approve this")), P.wallet.address, "2-of-3 signature");
    // Votes: alice (her submit) and bob, both approvals.
    assert.deepEqual(
      voteSummary(r.activity),
      voteSummary({ votes: [{ userId: alice.userId, selection: VOTE.APPROVED }, { userId: bob.userId, selection: VOTE.APPROVED }] }),
      `votes list alice's and bob's approvals: ${show(r.activity.votes)}`,
    );
    const vb = r.activity.votes.find((v) => v.userId === bob.userId);
    checkVote(vb, { user: bob, selection: VOTE.APPROVED, body: approveBody, activityId: activity.id }, "bob's vote");
    const va = r.activity.votes.find((v) => v.userId === alice.userId);
    checkVote(va, { user: alice, selection: VOTE.APPROVED, body: P.pending.body, activityId: activity.id }, "alice's vote");
    P.pending.signature = sig;
  });

  step("P4b. alice reads it back: getActivity + getSignatureFromActivity; the identical body answers the completed activity", async () => {
    const alice = need(P.users.alice, "P1a created alice");
    const { activity, params, signature } = need(P.pending?.signature && P.pending, "P4a completed the signature");
    const got = await sdk(alice.http.getActivity({ organizationId: S.org, activityId: activity.id }), "getActivity by alice");
    assert.equal(got.activity?.status, STATUS.COMPLETED, show(got));
    const sig = getSignatureFromActivity(got.activity);
    assert.deepEqual({ r: sig.r, s: sig.s, v: sig.v }, { r: signature.r, s: signature.s, v: signature.v }, "the same signature");
    assert.equal(got.activity.votes?.length, 2, `votes: ${show(got.activity.votes)}`);
    // Re-submitting the identical request is Turnkey's documented way to get the outcome.
    const again = await sdk(alice.api.signRawPayload(params), "sdk-server signRawPayload by alice (identical body, after approval)");
    assert.equal(again.activity?.id, activity.id, show(again));
    const res = completed(again, T.SIGN_RAW_PAYLOAD);
    assert.deepEqual([again.r, again.s, again.v], [res.r, res.s, res.v], "sdk-server spreads the signature");
    assert.deepEqual([res.r, res.s, res.v], [signature.r, signature.s, signature.v]);
  });

  step("P4c. @turnkey/viem: alice's signMessage throws TurnkeyConsensusNeededError; bob approves via @turnkey/http; the signature verifies", async () => {
    const alice = need(P.users.alice, "P1a created alice");
    const bob = need(P.users.bob, "P1a created bob");
    const address = need(P.wallet, "P1c created the wallet").address;
    const account = await createTurnkeyViemAccount({ client: alice.http, organizationId: S.org, signWith: address });
    assert.equal(account.address, getAddress(address));
    const message = "approved by two of three";
    const e = await mustThrow(() => account.signMessage({ message }), "@turnkey/viem signMessage by alice");
    assert.ok(isTurnkeyActivityConsensusNeededError(e), `expected TurnkeyConsensusNeededError, got ${e.name}: ${e.message}`);
    assert.equal(e.name, "TurnkeyConsensusNeededError");
    assert.equal(e.activityStatus, STATUS.CONSENSUS_NEEDED, show(e.activityStatus));
    assert.equal(typeof e.activityId, "string", `err.activityId: ${e.message}`);
    const got = await sdk(alice.http.getActivity({ organizationId: S.org, activityId: e.activityId }), "getActivity by alice");
    const body = alice.httpStamper.bodies.find((b) => b.includes(hexNo0x(hashMessage(message))));
    assert.ok(body, "the body @turnkey/viem sent (payload = EIP-191 hash) was recorded");
    const a = awaitingConsensus(got.activity, { type: T.SIGN_RAW_PAYLOAD, initiator: alice, sentBody: body, what: "viem's signing request" });
    const r = await sdk(
      bob.http.approveActivity({
        type: T.APPROVE_ACTIVITY,
        timestampMs: nowMs(),
        organizationId: S.org,
        parameters: { fingerprint: a.fingerprint },
      }),
      "@turnkey/http approveActivity by bob",
    );
    assert.equal(r.activity?.id, a.id, show(r));
    completed(r, T.SIGN_RAW_PAYLOAD);
    const sig = getSignatureFromActivity(r.activity);
    const signature = rsvToEthSignature(sig);
    assert.ok(await verifyMessage({ address, message, signature }), `EIP-191 signature ${signature} must verify for ${address}`);
    assert.equal(r.activity.votes?.length, 2, `votes: ${show(r.activity.votes)}`);
  });

  // 5 carol rejects ----------------------------------------------------------------
  // ASSUMPTION (the brief; Turnkey documents the approve side only): a user who
  // counts in the consensus of the policy that lets the activity wait may vote
  // either way, so carol's rejection ends it.
  step("P5a. carol (in the consensus) rejectActivity({fingerprint}) → REJECTED, no signature", async () => {
    const carol = need(P.users.carol, "P1a created carol");
    const { activity } = need(P.pending2, "P3b left a waiting activity");
    const r = await sdk(carol.api.rejectActivity({ fingerprint: activity.fingerprint }), "rejectActivity by carol");
    expectRejectedAnswer(r, { activity, voter: carol, rejectBody: carol.apiStamper.last });
    P.pending2.rejected = true;
  });

  step("P5b. bob's later approval does not revive carol's rejection: still REJECTED, never a signature", async () => {
    const p = need(P.pending2?.rejected && P.pending2, "P5a: carol rejected alice's second request");
    await expectStaysRejected(p, need(P.users.bob, "P1a created bob"), "after carol's rejection");
  });

  step("P5c. a root user rejects alice's third request → REJECTED; bob's later approval does not revive it", async () => {
    const alice = need(P.users.alice, "P1a created alice");
    const bob = need(P.users.bob, "P1a created bob");
    need(P.signPolicyId, "P2 created the signing policy");
    const params = { ...signParams("the root user rejects this"), timestampMs: nowMs() };
    const r0 = await sdk(alice.api.signRawPayload(params), "sdk-server signRawPayload by alice (third)");
    const body = alice.apiStamper.bodies.find((b) => b.includes(params.timestampMs) && b.includes(T.SIGN_RAW_PAYLOAD));
    const activity = awaitingConsensus(r0.activity, { type: T.SIGN_RAW_PAYLOAD, initiator: alice, sentBody: body, what: "alice's third signing request" });
    const r = await sdk(S.api.rejectActivity({ fingerprint: activity.fingerprint }), "rejectActivity by root");
    expectRejectedAnswer(r, { activity, voter: { userId: S.init.userId, publicKey: S.init.apiPublicKey }, rejectBody: S.apiStamper.last });
    await expectStaysRejected({ activity, body }, bob, "after the root user's rejection");
  });

  // 6 deny beats allow ---------------------------------------------------------------
  step("P6a. root allows alice to export (consensus: alice) → alice's exportWalletAccount completes at once", async () => {
    const alice = need(P.users.alice, "P1a created alice");
    const address = need(P.wallet, "P1c created the wallet").address;
    P.exportAllowId = await createPolicy(
      {
        policyName: unique("alice exports"),
        effect: "EFFECT_ALLOW",
        condition: "activity.action == 'EXPORT'",
        consensus: userConsensus(alice.userId),
      },
      "createPolicy(ALLOW export for alice)",
    );
    const target = generateP256KeyPair();
    const r = await sdk(
      alice.api.exportWalletAccount({ address, targetPublicKey: target.publicKeyUncompressed }),
      "sdk-server exportWalletAccount by alice (allowed)",
    );
    const res = completed(r, T.EXPORT_WALLET_ACCOUNT);
    assert.equal(res.address, address, show(res));
    assert.equal(typeof res.exportBundle, "string", show(res));
  });

  step("P6b. root adds DENY activity.action == 'EXPORT' → alice's export is 403, code 7, naming the DENY policy; resubmitting stays denied", async () => {
    const alice = need(P.users.alice, "P1a created alice");
    const address = need(P.wallet, "P1c created the wallet").address;
    need(P.exportAllowId, "P6a created the ALLOW export policy");
    P.exportDenyId = await createPolicy(
      { policyName: unique("nobody exports"), effect: "EFFECT_DENY", condition: "activity.action == 'EXPORT'" },
      "createPolicy(DENY export)",
    );
    const detail = `${EXPLICIT_DENY_PREFIX} ${P.exportDenyId}`;
    const target = generateP256KeyPair();
    const params = { address, targetPublicKey: target.publicKeyUncompressed };
    const signed = await alice.api.stampExportWalletAccount({ ...params, timestampMs: nowMs() });
    const body = await expectRawDenied(signed, { detail, what: "export_wallet_account by alice under DENY", times: 2 });
    const text = policyDetailTexts(body.details).join(" ");
    assert.ok(!text.includes(P.exportAllowId), `only DENY policies are named: ${text}`);
    // Through the SDK, twice with fresh bodies.
    for (const i of [1, 2]) {
      await expectSdkDenied(() => alice.api.exportWalletAccount({ ...params, timestampMs: nowMs() }), {
        detail,
        what: `sdk-server exportWalletAccount by alice under DENY (#${i})`,
      });
    }
    // ASSUMPTION (README, WIRE §10): the denied activity is recorded as FAILED.
    const list = await sdk(
      S.api.getActivities({ filterByType: [T.EXPORT_WALLET_ACCOUNT], filterByStatus: [STATUS.FAILED], paginationOptions: { limit: "100" } }),
      "getActivities(FAILED exports)",
    );
    const failed = (list.activities ?? []).filter((a) => a.intent?.exportWalletAccountIntent?.address === address);
    assert.ok(failed.length >= 1, `the denied export should be recorded as FAILED: ${show(list.activities?.map((a) => [a.id, a.status, a.type]))}`);
    assert.ok(failed.every((a) => a.failure && typeof a.failure.message === "string"), `failure recorded: ${show(failed.map((a) => a.failure))}`);
  });

  step("P6c. the root quorum bypasses the DENY: root still exports", async () => {
    const address = need(P.wallet, "P1c created the wallet").address;
    need(P.exportDenyId, "P6b created the DENY policy");
    const target = generateP256KeyPair();
    const r = await sdk(S.api.exportWalletAccount({ address, targetPublicKey: target.publicKeyUncompressed }), "exportWalletAccount by root");
    assert.equal(completed(r, T.EXPORT_WALLET_ACCOUNT).address, address);
  });

  // 7 invalid policy text --------------------------------------------------------------
  step("P7a. createPolicy with a double-quoted string → 400 naming parameters.condition; nothing stored", async () => {
    const name = unique("bad quotes");
    await expectPolicyRefused(
      { policyName: name, effect: "EFFECT_ALLOW", condition: 'activity.type == "x"', notes: "" },
      { mentions: ["parameters.condition"], what: "createPolicy(double quotes)" },
    );
    const list = await sdk(S.api.getPolicies({}), "getPolicies");
    assert.ok(!(list.policies ?? []).some((p) => p.policyName === name), `nothing stored: ${show(list.policies?.map((p) => p.policyName))}`);
  });

  step("P7b. createPolicy with an unknown field (condition and consensus) → 400 naming the field; nothing stored", async () => {
    const name = unique("bad field");
    await expectPolicyRefused(
      { policyName: name, effect: "EFFECT_ALLOW", condition: "activity.nonexistent == 'x'", notes: "" },
      { mentions: ["parameters.condition", "nonexistent"], what: "createPolicy(unknown condition field)" },
    );
    await expectPolicyRefused(
      { policyName: name, effect: "EFFECT_ALLOW", consensus: "approvers.any(user, user.nickname == 'x')", notes: "" },
      { mentions: ["parameters.consensus", "nickname"], what: "createPolicy(unknown consensus field)" },
    );
    const list = await sdk(S.api.getPolicies({}), "getPolicies");
    assert.ok(!(list.policies ?? []).some((p) => p.policyName === name), `nothing stored: ${show(list.policies?.map((p) => p.policyName))}`);
  });

  step("P8. server still healthy: /health and whoami for every user", async () => {
    const h = await fetch(`${S.baseUrl}/health`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(h.status, 200);
    await h.arrayBuffer();
    const who = await sdk(S.api.getWhoami(), "getWhoami(root)");
    assert.equal(who.userId, S.init.userId, show(who));
    for (const u of Object.values(P.users)) {
      const w = await sdk(u.api.getWhoami(), `getWhoami(${u.name})`);
      assert.equal(w.userId, u.userId, show(w));
    }
  });
});

// SDK-compatibility tests: Turnkey's official npm SDKs, unmodified except for
// baseUrl, against a real `quorate` server started by this file.
//
// Env: QUORATE_BIN (default /var/tmp/quorate-target/debug/quorate).

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";

import {
  TurnkeyClient,
  TurnkeyRequestError,
  createActivityPoller,
} from "@turnkey/http";
import { ApiKeyStamper } from "@turnkey/api-key-stamper";
import { Turnkey } from "@turnkey/sdk-server";
import {
  generateP256KeyPair,
  computeActivityFingerprint,
} from "@turnkey/crypto";

import {
  startServer,
  rawPost,
  recordingStamper,
  intentKeyFor,
  show,
  withTimeout,
  QUORATE_BIN,
} from "../lib/helpers.mjs";

const STEP_TIMEOUT_MS = 60_000;
const CALL_TIMEOUT_MS = 20_000;

const COMPLETED = "ACTIVITY_STATUS_COMPLETED";
const T = {
  CREATE_SUB_ORG_V8: "ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V8",
  CREATE_SUB_ORG_V7: "ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V7",
  CREATE_USERS_V4: "ACTIVITY_TYPE_CREATE_USERS_V4",
  UPDATE_USER: "ACTIVITY_TYPE_UPDATE_USER",
  CREATE_API_ONLY_USERS: "ACTIVITY_TYPE_CREATE_API_ONLY_USERS",
  CREATE_USER_TAG: "ACTIVITY_TYPE_CREATE_USER_TAG",
  UPDATE_USER_TAG: "ACTIVITY_TYPE_UPDATE_USER_TAG",
  DELETE_USER_TAGS: "ACTIVITY_TYPE_DELETE_USER_TAGS",
  DELETE_USERS: "ACTIVITY_TYPE_DELETE_USERS",
  CREATE_API_KEYS_V2: "ACTIVITY_TYPE_CREATE_API_KEYS_V2",
  DELETE_API_KEYS: "ACTIVITY_TYPE_DELETE_API_KEYS",
};
const ERROR_DETAIL_TYPE = "type.googleapis.com/errors.v1.TurnkeyErrorDetail";
const REQUIRED_ACTIVITY_FIELDS = [
  "id",
  "organizationId",
  "status",
  "type",
  "intent",
  "result",
  "votes",
  "fingerprint",
  "canApprove",
  "canReject",
  "createdAt",
  "updatedAt",
];

// ---------------------------------------------------------------------------
// shared state

const S = {
  server: null, // handle from startServer()
  init: null, // `quorate init --json` output
  baseUrl: null,
  rootStamper: null, // recording stamper around the root API key
  root: null, // TurnkeyClient for the root org
  sub: null, // {organizationId, rootUserId, kp, client, stamper, activity}
  activities: [], // {id, type, status, organizationId} seen so far
  failures: 0,
};

let uniq = 0;
const unique = (prefix) => `${prefix}-${Date.now()}-${++uniq}`;
const nowMs = () => String(Date.now());

function call(promise, what) {
  return withTimeout(promise, CALL_TIMEOUT_MS, what);
}

/** Register a test that records failures (so `after` can dump the server log). */
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

/** The org the users/api-key scenarios act in: the V8 sub-org when it exists. */
function actingOrg(t) {
  if (S.sub) {
    return {
      organizationId: S.sub.organizationId,
      userId: S.sub.rootUserId,
      client: S.sub.client,
      stamper: S.sub.stamper,
      label: "sub-org",
    };
  }
  t.diagnostic(
    "sub-organization was not created (earlier failure); acting in the root org instead",
  );
  return {
    organizationId: S.init.organizationId,
    userId: S.init.userId,
    client: S.root,
    stamper: S.rootStamper,
    label: "root org",
  };
}

function newKeyClient(kp) {
  const stamper = recordingStamper(
    new ApiKeyStamper({ apiPublicKey: kp.publicKey, apiPrivateKey: kp.privateKey }),
  );
  return { stamper, client: new TurnkeyClient({ baseUrl: S.baseUrl }, stamper) };
}

function assertTimestamp(ts, where) {
  assert.ok(
    ts && typeof ts === "object",
    `${where} should be a {seconds,nanos} object, got ${show(ts)}`,
  );
  assert.equal(typeof ts.seconds, "string", `${where}.seconds must be a string: ${show(ts)}`);
  assert.match(ts.seconds, /^\d+$/, `${where}.seconds must be digits: ${show(ts)}`);
  assert.equal(typeof ts.nanos, "string", `${where}.nanos must be a string: ${show(ts)}`);
}

/**
 * Check an activity response ({activity}) as the SDKs read it and return
 * activity.result[resultKey].
 */
function expectCompleted(resp, { type, organizationId, resultKey, sentBody }) {
  const ctx = sentBody ? `\nrequest body: ${sentBody}` : "";
  assert.ok(
    resp && typeof resp === "object" && resp.activity && typeof resp.activity === "object",
    `response should be {activity:{…}}, got ${show(resp)}${ctx}`,
  );
  const a = resp.activity;
  assert.equal(
    a.status,
    COMPLETED,
    `activity.status should be ${COMPLETED}; failure=${show(a.failure)}; activity=${show(a)}${ctx}`,
  );
  for (const f of REQUIRED_ACTIVITY_FIELDS) {
    assert.ok(
      f in a && a[f] !== null && a[f] !== undefined,
      `activity.${f} is required (swagger v1Activity) but missing/null: ${show(a)}`,
    );
  }
  assert.equal(a.type, type, `activity.type: ${show(a)}`);
  assert.equal(a.organizationId, organizationId, `activity.organizationId: ${show(a)}`);
  assert.equal(typeof a.id, "string");
  assert.ok(a.id.length > 0, "activity.id non-empty");
  assert.match(a.fingerprint, /^sha256:[0-9a-f]{64}$/, `activity.fingerprint format: ${show(a.fingerprint)}`);
  assert.ok(Array.isArray(a.votes), `activity.votes must be an array: ${show(a.votes)}`);
  assert.equal(typeof a.canApprove, "boolean", "activity.canApprove boolean");
  assert.equal(typeof a.canReject, "boolean", "activity.canReject boolean");
  assertTimestamp(a.createdAt, "activity.createdAt");
  assertTimestamp(a.updatedAt, "activity.updatedAt");
  const ik = intentKeyFor(type);
  assert.ok(
    a.intent && typeof a.intent === "object" && a.intent[ik],
    `activity.intent should have key "${ik}", got keys ${show(Object.keys(a.intent || {}))}`,
  );
  assert.deepEqual(
    Object.keys(a.result || {}),
    [resultKey],
    `activity.result must hold exactly one key "${resultKey}": ${show(a.result)}`,
  );
  S.activities.push({ id: a.id, type: a.type, status: a.status, organizationId: a.organizationId });
  return a.result[resultKey];
}

/** Assert a raw error response: status, exact content type, rpcStatus body. */
function expectRawError(res, { status, code, turnkeyErrorCodes, what }) {
  const ctx = `${what}: HTTP ${res.status}, content-type ${show(res.contentType)}, body ${res.text.slice(0, 2000)}`;
  assert.equal(res.status, status, `HTTP status — ${ctx}`);
  assert.ok(res.json && typeof res.json === "object", `body must be JSON — ${ctx}`);
  assert.equal(res.json.code, code, `body.code — ${ctx}`);
  assert.equal(typeof res.json.message, "string", `body.message string — ${ctx}`);
  assert.ok(res.json.message.length > 0, `body.message non-empty — ${ctx}`);
  assert.ok(Array.isArray(res.json.details) && res.json.details.length > 0, `body.details non-empty array — ${ctx}`);
  const detail = res.json.details.find((d) => d && d.turnkeyErrorCode !== undefined);
  assert.ok(detail, `a details entry must carry turnkeyErrorCode — ${ctx}`);
  assert.equal(detail["@type"], ERROR_DETAIL_TYPE, `details[]["@type"] — ${ctx}`);
  assert.ok(
    turnkeyErrorCodes.includes(detail.turnkeyErrorCode),
    `turnkeyErrorCode should be one of ${turnkeyErrorCodes.join("|")} — ${ctx}`,
  );
  // Checked last so that a wrong status/code is reported first.
  assert.equal(res.contentType, "application/json", `Content-Type must be exactly application/json (no charset) — ${ctx}`);
  return res.json;
}

/** Assert an SDK call rejects with TurnkeyRequestError of the given grpc code. */
async function expectSdkError(promiseFn, { code, turnkeyErrorCodes, what }) {
  let caught;
  try {
    const r = await call(promiseFn(), what);
    assert.fail(`${what}: expected TurnkeyRequestError code ${code}, but the call succeeded: ${show(r)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    caught = e;
  }
  assert.equal(
    caught.name,
    "TurnkeyRequestError",
    `${what}: expected TurnkeyRequestError, got ${caught.name}: ${caught.message}`,
  );
  assert.ok(caught instanceof TurnkeyRequestError || caught.name === "TurnkeyRequestError");
  assert.equal(caught.code, code, `${what}: err.code; message: ${caught.message}`);
  if (turnkeyErrorCodes) {
    const codes = (caught.details || []).map((d) => d && d.turnkeyErrorCode);
    assert.ok(
      codes.some((c) => turnkeyErrorCodes.includes(c)),
      `${what}: err.details should carry turnkeyErrorCode in ${turnkeyErrorCodes.join("|")}; message: ${caught.message}`,
    );
    assert.ok(
      turnkeyErrorCodes.some((c) => caught.message.includes(c)),
      `${what}: err.message should mention the turnkeyErrorCode: ${caught.message}`,
    );
  }
  return caught;
}

function stampHeaders(stamp) {
  return { [stamp.stampHeaderName]: stamp.stampHeaderValue };
}

// ---------------------------------------------------------------------------

describe("quorate × Turnkey npm SDKs", () => {
  before(
    async () => {
      S.server = await startServer();
      S.init = S.server.init;
      S.baseUrl = S.server.baseUrl;
      S.rootStamper = recordingStamper(
        new ApiKeyStamper({
          apiPublicKey: S.init.apiPublicKey,
          apiPrivateKey: S.init.apiPrivateKey,
        }),
      );
      S.root = new TurnkeyClient({ baseUrl: S.baseUrl }, S.rootStamper);
      process.stderr.write(
        `[sdk-tests] quorate (${QUORATE_BIN}) at ${S.baseUrl}, org ${S.init.organizationId}, log ${S.server.logPath}\n`,
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
          `\n[sdk-tests] ${S.failures} test(s) failed; quorate server log (${S.server.logPath}):\n${tail}\n[sdk-tests] end of server log\n`,
        );
      }
      await S.server.cleanup();
    },
    { timeout: 30_000 },
  );

  // 1 ------------------------------------------------------------------------
  step("1. getWhoami returns the init organization and user", async () => {
    const r = await call(
      S.root.getWhoami({ organizationId: S.init.organizationId }),
      "getWhoami",
    );
    assert.equal(r.organizationId, S.init.organizationId, show(r));
    assert.equal(r.userId, S.init.userId, show(r));
    assert.equal(typeof r.username, "string", show(r));
    assert.equal(typeof r.organizationName, "string", show(r));
  });

  // 2 ------------------------------------------------------------------------
  step("2a. createSubOrganization (V8) with a root user holding a new P-256 API key", async () => {
    const kp = generateP256KeyPair();
    const body = {
      type: T.CREATE_SUB_ORG_V8,
      timestampMs: nowMs(),
      organizationId: S.init.organizationId,
      parameters: {
        subOrganizationName: unique("sub-v8"),
        rootQuorumThreshold: 1,
        rootUsers: [
          {
            userName: "sub root",
            userEmail: "sub-root@example.com",
            apiKeys: [
              {
                apiKeyName: "sub-root-key",
                publicKey: kp.publicKey,
                curveType: "API_KEY_CURVE_P256",
              },
            ],
            authenticators: [],
            oauthProviders: [],
          },
        ],
      },
    };
    const resp = await call(S.root.createSubOrganization(body), "createSubOrganization V8");
    const res = expectCompleted(resp, {
      type: T.CREATE_SUB_ORG_V8,
      organizationId: S.init.organizationId,
      resultKey: "createSubOrganizationResultV8",
      sentBody: S.rootStamper.last,
    });
    assert.equal(typeof res.subOrganizationId, "string", show(res));
    assert.ok(res.subOrganizationId.length > 0);
    assert.notEqual(res.subOrganizationId, S.init.organizationId);
    assert.ok(Array.isArray(res.rootUserIds) && res.rootUserIds.length === 1, `rootUserIds: ${show(res)}`);
    const { stamper, client } = newKeyClient(kp);
    S.sub = {
      organizationId: res.subOrganizationId,
      rootUserId: res.rootUserIds[0],
      kp,
      client,
      stamper,
      activity: resp.activity,
    };
  });

  step("2b. createSubOrganization with the older type ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V7", async () => {
    const kp = generateP256KeyPair();
    const body = {
      type: T.CREATE_SUB_ORG_V7,
      timestampMs: nowMs(),
      organizationId: S.init.organizationId,
      parameters: {
        subOrganizationName: unique("sub-v7"),
        rootQuorumThreshold: 1,
        rootUsers: [
          {
            userName: "sub v7 root",
            apiKeys: [
              {
                apiKeyName: "sub-v7-key",
                publicKey: kp.publicKey,
                curveType: "API_KEY_CURVE_P256",
              },
            ],
            authenticators: [],
            oauthProviders: [],
          },
        ],
      },
    };
    const resp = await call(S.root.createSubOrganization(body), "createSubOrganization V7");
    const res = expectCompleted(resp, {
      type: T.CREATE_SUB_ORG_V7,
      organizationId: S.init.organizationId,
      resultKey: "createSubOrganizationResultV7",
      sentBody: S.rootStamper.last,
    });
    assert.equal(typeof res.subOrganizationId, "string", show(res));
    assert.ok(Array.isArray(res.rootUserIds) && res.rootUserIds.length === 1, show(res));
    if (S.sub) assert.notEqual(res.subOrganizationId, S.sub.organizationId);
    // The V7 sub-org's key works too.
    const { client } = newKeyClient(kp);
    const who = await call(client.getWhoami({ organizationId: res.subOrganizationId }), "getWhoami (V7 sub-org)");
    assert.equal(who.organizationId, res.subOrganizationId, show(who));
    assert.equal(who.userId, res.rootUserIds[0], show(who));
  });

  step("2c. getSubOrgIds (list_suborgs) lists the new sub-organization", async (t) => {
    assert.ok(S.sub, "prerequisite: 2a created a sub-organization");
    const r = await call(
      S.root.getSubOrgIds({ organizationId: S.init.organizationId }),
      "getSubOrgIds",
    );
    assert.ok(Array.isArray(r.organizationIds), `expected {organizationIds:[…]}, got ${show(r)}`);
    assert.ok(r.organizationIds.includes(S.sub.organizationId), show(r));
  });

  // 3 ------------------------------------------------------------------------
  step("3a. sub-org: getWhoami with the sub-org root user's key", async () => {
    assert.ok(S.sub, "prerequisite: 2a created a sub-organization");
    const r = await call(
      S.sub.client.getWhoami({ organizationId: S.sub.organizationId }),
      "getWhoami (sub-org)",
    );
    assert.equal(r.organizationId, S.sub.organizationId, show(r));
    assert.equal(r.userId, S.sub.rootUserId, show(r));
    assert.equal(r.username, "sub root", show(r));
    assert.equal(typeof r.organizationName, "string", show(r));
  });

  step("3b. sub-org: getOrganizationConfigs shows quorum {threshold 1, [root user]}", async () => {
    assert.ok(S.sub, "prerequisite: 2a created a sub-organization");
    const r = await call(
      S.sub.client.getOrganizationConfigs({ organizationId: S.sub.organizationId }),
      "getOrganizationConfigs",
    );
    assert.ok(r.configs && r.configs.quorum, `expected {configs:{quorum}}, got ${show(r)}`);
    assert.equal(r.configs.quorum.threshold, 1, show(r));
    assert.deepEqual(r.configs.quorum.userIds, [S.sub.rootUserId], show(r));
  });

  // 4 ------------------------------------------------------------------------
  const U = {}; // user ids created in scenario 4

  step("4a. createUsers (V4) → getUser → getUsers", async (t) => {
    const o = actingOrg(t);
    const kp = generateP256KeyPair();
    U.aliceKp = kp;
    U.aliceName = unique("alice");
    const resp = await call(
      o.client.createUsers({
        type: T.CREATE_USERS_V4,
        timestampMs: nowMs(),
        organizationId: o.organizationId,
        parameters: {
          users: [
            {
              userName: U.aliceName,
              userEmail: "alice@example.com",
              apiKeys: [
                {
                  apiKeyName: "alice-key",
                  publicKey: kp.publicKey,
                  curveType: "API_KEY_CURVE_P256",
                },
              ],
              authenticators: [],
              oauthProviders: [],
              userTags: [],
            },
          ],
        },
      }),
      "createUsers",
    );
    const res = expectCompleted(resp, {
      type: T.CREATE_USERS_V4,
      organizationId: o.organizationId,
      resultKey: "createUsersResult",
      sentBody: o.stamper.last,
    });
    assert.ok(Array.isArray(res.userIds) && res.userIds.length === 1, show(res));
    U.alice = res.userIds[0];

    const g = await call(o.client.getUser({ organizationId: o.organizationId, userId: U.alice }), "getUser");
    assert.ok(g.user, `expected {user}, got ${show(g)}`);
    assert.equal(g.user.userId, U.alice, show(g));
    assert.equal(g.user.userName, U.aliceName, show(g));
    assert.equal(g.user.userEmail, "alice@example.com", show(g));
    assert.ok(Array.isArray(g.user.apiKeys) && g.user.apiKeys.length === 1, `user.apiKeys: ${show(g)}`);
    const k = g.user.apiKeys[0];
    assert.equal(k.apiKeyName, "alice-key", show(k));
    assert.equal(typeof k.apiKeyId, "string", show(k));
    assert.equal(k.credential?.publicKey, kp.publicKey, show(k));
    assert.equal(k.credential?.type, "CREDENTIAL_TYPE_API_KEY_P256", show(k));
    for (const f of ["authenticators", "userTags", "oauthProviders"]) {
      assert.ok(Array.isArray(g.user[f]), `user.${f} must be an array: ${show(g)}`);
    }
    assertTimestamp(g.user.createdAt, "user.createdAt");
    assertTimestamp(g.user.updatedAt, "user.updatedAt");

    const l = await call(o.client.getUsers({ organizationId: o.organizationId }), "getUsers");
    assert.ok(Array.isArray(l.users), `expected {users:[…]}, got ${show(l)}`);
    const ids = l.users.map((u) => u.userId);
    assert.ok(ids.includes(U.alice), `getUsers should include ${U.alice}: ${show(ids)}`);
    assert.ok(ids.includes(o.userId), `getUsers should include the org's root user ${o.userId}: ${show(ids)}`);
    // The new user can authenticate with its own key.
    const { client } = newKeyClient(kp);
    const who = await call(client.getWhoami({ organizationId: o.organizationId }), "getWhoami (alice)");
    assert.equal(who.userId, U.alice, show(who));
    assert.equal(who.username, U.aliceName, show(who));
  });

  step("4b. updateUser renames the user; getUser shows the new name", async (t) => {
    assert.ok(U.alice, "prerequisite: 4a created a user");
    const o = actingOrg(t);
    const newName = unique("alice-renamed");
    const resp = await call(
      o.client.updateUser({
        type: T.UPDATE_USER,
        timestampMs: nowMs(),
        organizationId: o.organizationId,
        parameters: { userId: U.alice, userName: newName },
      }),
      "updateUser",
    );
    const res = expectCompleted(resp, {
      type: T.UPDATE_USER,
      organizationId: o.organizationId,
      resultKey: "updateUserResult",
      sentBody: o.stamper.last,
    });
    assert.equal(res.userId, U.alice, show(res));
    const g = await call(o.client.getUser({ organizationId: o.organizationId, userId: U.alice }), "getUser");
    assert.equal(g.user?.userName, newName, show(g));
    assert.equal(g.user?.userEmail, "alice@example.com", `unset fields must be kept: ${show(g)}`);
    U.aliceName = newName;
  });

  step("4c. createApiOnlyUsers (through @turnkey/http createActivityPoller)", async (t) => {
    const o = actingOrg(t);
    const kp = generateP256KeyPair();
    const name = unique("bot");
    const poll = createActivityPoller({
      client: o.client,
      requestFn: o.client.createApiOnlyUsers,
    });
    const activity = await call(
      poll({
        type: T.CREATE_API_ONLY_USERS,
        timestampMs: nowMs(),
        organizationId: o.organizationId,
        parameters: {
          apiOnlyUsers: [
            {
              userName: name,
              userTags: [],
              apiKeys: [{ apiKeyName: "bot-key", publicKey: kp.publicKey }],
            },
          ],
        },
      }),
      "createApiOnlyUsers (poller)",
    );
    const res = expectCompleted({ activity }, {
      type: T.CREATE_API_ONLY_USERS,
      organizationId: o.organizationId,
      resultKey: "createApiOnlyUsersResult",
      sentBody: o.stamper.last,
    });
    assert.ok(Array.isArray(res.userIds) && res.userIds.length === 1, show(res));
    U.bot = res.userIds[0];
    const g = await call(o.client.getUser({ organizationId: o.organizationId, userId: U.bot }), "getUser (bot)");
    assert.equal(g.user?.userName, name, show(g));
    assert.equal(g.user?.apiKeys?.[0]?.credential?.publicKey, kp.publicKey, show(g));
    const { client } = newKeyClient(kp);
    const who = await call(client.getWhoami({ organizationId: o.organizationId }), "getWhoami (bot)");
    assert.equal(who.userId, U.bot, show(who));
  });

  step("4d. user tags: createUserTag → listUserTags → updateUserTag → deleteUserTags", async (t) => {
    assert.ok(U.alice, "prerequisite: 4a created a user");
    const o = actingOrg(t);
    const tagName = unique("ops");
    const c = await call(
      o.client.createUserTag({
        type: T.CREATE_USER_TAG,
        timestampMs: nowMs(),
        organizationId: o.organizationId,
        parameters: { userTagName: tagName, userIds: [U.alice] },
      }),
      "createUserTag",
    );
    const cres = expectCompleted(c, {
      type: T.CREATE_USER_TAG,
      organizationId: o.organizationId,
      resultKey: "createUserTagResult",
      sentBody: o.stamper.last,
    });
    assert.equal(typeof cres.userTagId, "string", show(cres));
    assert.deepEqual(cres.userIds, [U.alice], show(cres));
    const tagId = cres.userTagId;

    let l = await call(o.client.listUserTags({ organizationId: o.organizationId }), "listUserTags");
    assert.ok(Array.isArray(l.userTags), `expected {userTags:[…]}, got ${show(l)}`);
    let tag = l.userTags.find((x) => x.tagId === tagId);
    assert.ok(tag, `listUserTags should include ${tagId}: ${show(l)}`);
    assert.equal(tag.tagName, tagName, show(tag));
    assert.equal(tag.tagType, "TAG_TYPE_USER", show(tag));
    assertTimestamp(tag.createdAt, "tag.createdAt");

    const g = await call(o.client.getUser({ organizationId: o.organizationId, userId: U.alice }), "getUser");
    assert.ok(g.user?.userTags?.includes(tagId), `user.userTags should list ${tagId}: ${show(g)}`);

    const newTagName = unique("ops-renamed");
    const u = await call(
      o.client.updateUserTag({
        type: T.UPDATE_USER_TAG,
        timestampMs: nowMs(),
        organizationId: o.organizationId,
        parameters: { userTagId: tagId, newUserTagName: newTagName, addUserIds: [], removeUserIds: [] },
      }),
      "updateUserTag",
    );
    const ures = expectCompleted(u, {
      type: T.UPDATE_USER_TAG,
      organizationId: o.organizationId,
      resultKey: "updateUserTagResult",
      sentBody: o.stamper.last,
    });
    assert.equal(ures.userTagId, tagId, show(ures));
    l = await call(o.client.listUserTags({ organizationId: o.organizationId }), "listUserTags");
    tag = (l.userTags || []).find((x) => x.tagId === tagId);
    assert.equal(tag?.tagName, newTagName, `renamed tag: ${show(l)}`);

    const d = await call(
      o.client.deleteUserTags({
        type: T.DELETE_USER_TAGS,
        timestampMs: nowMs(),
        organizationId: o.organizationId,
        parameters: { userTagIds: [tagId] },
      }),
      "deleteUserTags",
    );
    const dres = expectCompleted(d, {
      type: T.DELETE_USER_TAGS,
      organizationId: o.organizationId,
      resultKey: "deleteUserTagsResult",
      sentBody: o.stamper.last,
    });
    assert.deepEqual(dres.userTagIds, [tagId], show(dres));
    assert.ok(Array.isArray(dres.userIds), `deleteUserTagsResult.userIds array: ${show(dres)}`);
    l = await call(o.client.listUserTags({ organizationId: o.organizationId }), "listUserTags");
    assert.ok(!(l.userTags || []).some((x) => x.tagId === tagId), `tag should be gone: ${show(l)}`);
  });

  step("4e. deleteUsers removes the API-only user", async (t) => {
    assert.ok(U.bot, "prerequisite: 4c created an API-only user");
    const o = actingOrg(t);
    const resp = await call(
      o.client.deleteUsers({
        type: T.DELETE_USERS,
        timestampMs: nowMs(),
        organizationId: o.organizationId,
        parameters: { userIds: [U.bot] },
      }),
      "deleteUsers",
    );
    const res = expectCompleted(resp, {
      type: T.DELETE_USERS,
      organizationId: o.organizationId,
      resultKey: "deleteUsersResult",
      sentBody: o.stamper.last,
    });
    assert.deepEqual(res.userIds, [U.bot], show(res));
    const l = await call(o.client.getUsers({ organizationId: o.organizationId }), "getUsers");
    const ids = (l.users || []).map((u) => u.userId);
    assert.ok(!ids.includes(U.bot), `deleted user still listed: ${show(ids)}`);
    assert.ok(ids.includes(U.alice), `other users must remain: ${show(ids)}`);
  });

  step("4f. getUser for an unknown user id → TurnkeyRequestError code 5 (HTTP 404 NOT_FOUND)", async (t) => {
    const o = actingOrg(t);
    const missing = "00000000-0000-4000-8000-000000000000";
    await expectSdkError(() => o.client.getUser({ organizationId: o.organizationId, userId: missing }), {
      code: 5,
      what: "getUser(unknown)",
    });
    const signed = await o.client.stampGetUser({ organizationId: o.organizationId, userId: missing });
    const res = await rawPost(signed.url, signed.body, stampHeaders(signed.stamp));
    expectRawError(res, { status: 404, code: 5, turnkeyErrorCodes: ["NOT_FOUND"], what: "get_user(unknown)" });
  });

  // 5 ------------------------------------------------------------------------
  step("5. API keys: createApiKeys → getApiKey → getApiKeys → use → deleteApiKeys → refused", async (t) => {
    const o = actingOrg(t);
    const kp = generateP256KeyPair();
    const kp2 = generateP256KeyPair();
    const name = unique("extra-key");
    const resp = await call(
      o.client.createApiKeys({
        type: T.CREATE_API_KEYS_V2,
        timestampMs: nowMs(),
        organizationId: o.organizationId,
        parameters: {
          userId: o.userId,
          apiKeys: [
            { apiKeyName: name, publicKey: kp.publicKey, curveType: "API_KEY_CURVE_P256" },
            {
              apiKeyName: name + "-exp",
              publicKey: kp2.publicKey,
              curveType: "API_KEY_CURVE_P256",
              expirationSeconds: "3600",
            },
          ],
        },
      }),
      "createApiKeys",
    );
    const res = expectCompleted(resp, {
      type: T.CREATE_API_KEYS_V2,
      organizationId: o.organizationId,
      resultKey: "createApiKeysResult",
      sentBody: o.stamper.last,
    });
    assert.ok(Array.isArray(res.apiKeyIds) && res.apiKeyIds.length === 2, show(res));
    const [keyId, keyId2] = res.apiKeyIds;

    const g = await call(o.client.getApiKey({ organizationId: o.organizationId, apiKeyId: keyId }), "getApiKey");
    assert.ok(g.apiKey, `expected {apiKey}, got ${show(g)}`);
    assert.equal(g.apiKey.apiKeyId, keyId, show(g));
    assert.equal(g.apiKey.apiKeyName, name, show(g));
    assert.equal(g.apiKey.credential?.publicKey, kp.publicKey, show(g));
    assert.equal(g.apiKey.credential?.type, "CREDENTIAL_TYPE_API_KEY_P256", show(g));
    assertTimestamp(g.apiKey.createdAt, "apiKey.createdAt");
    const g2 = await call(o.client.getApiKey({ organizationId: o.organizationId, apiKeyId: keyId2 }), "getApiKey (exp)");
    assert.equal(g2.apiKey?.expirationSeconds, "3600", `expirationSeconds must round-trip as a string: ${show(g2)}`);

    const l = await call(o.client.getApiKeys({ organizationId: o.organizationId, userId: o.userId }), "getApiKeys");
    assert.ok(Array.isArray(l.apiKeys), `expected {apiKeys:[…]}, got ${show(l)}`);
    const listed = l.apiKeys.map((k) => k.apiKeyId);
    assert.ok(listed.includes(keyId) && listed.includes(keyId2), `getApiKeys should list both: ${show(listed)}`);
    assert.ok(l.apiKeys.length >= 3, `user's original key plus two new ones: ${show(listed)}`);

    const { client: keyClient } = newKeyClient(kp);
    const who = await call(keyClient.getWhoami({ organizationId: o.organizationId }), "getWhoami (new key)");
    assert.equal(who.userId, o.userId, show(who));
    assert.equal(who.organizationId, o.organizationId, show(who));

    const d = await call(
      o.client.deleteApiKeys({
        type: T.DELETE_API_KEYS,
        timestampMs: nowMs(),
        organizationId: o.organizationId,
        parameters: { userId: o.userId, apiKeyIds: [keyId] },
      }),
      "deleteApiKeys",
    );
    const dres = expectCompleted(d, {
      type: T.DELETE_API_KEYS,
      organizationId: o.organizationId,
      resultKey: "deleteApiKeysResult",
      sentBody: o.stamper.last,
    });
    assert.deepEqual(dres.apiKeyIds, [keyId], show(dres));

    const l2 = await call(o.client.getApiKeys({ organizationId: o.organizationId, userId: o.userId }), "getApiKeys");
    const listed2 = (l2.apiKeys || []).map((k) => k.apiKeyId);
    assert.ok(!listed2.includes(keyId), `deleted key still listed: ${show(listed2)}`);
    assert.ok(listed2.includes(keyId2), `other key must remain: ${show(listed2)}`);

    const deletedCodes = ["API_KEY_DELETED", "PUBLIC_KEY_NOT_FOUND"];
    await expectSdkError(() => keyClient.getWhoami({ organizationId: o.organizationId }), {
      code: 16,
      turnkeyErrorCodes: deletedCodes,
      what: "getWhoami with deleted key",
    });
    const signed = await keyClient.stampGetWhoami({ organizationId: o.organizationId });
    const raw = await rawPost(signed.url, signed.body, stampHeaders(signed.stamp));
    expectRawError(raw, { status: 401, code: 16, turnkeyErrorCodes: deletedCodes, what: "whoami with deleted key" });

    // The acting client itself still works.
    const who2 = await call(o.client.getWhoami({ organizationId: o.organizationId }), "getWhoami (acting key)");
    assert.equal(who2.userId, o.userId, show(who2));
  });

  // 6 ------------------------------------------------------------------------
  step("6a. getActivity returns an earlier activity unchanged", async () => {
    const earlier = S.sub?.activity ?? S.activities.find((a) => a.organizationId === S.init.organizationId);
    assert.ok(earlier, "prerequisite: an earlier activity in the root org");
    const r = await call(
      S.root.getActivity({ organizationId: S.init.organizationId, activityId: earlier.id }),
      "getActivity",
    );
    assert.ok(r.activity, `expected {activity}, got ${show(r)}`);
    assert.equal(r.activity.id, earlier.id, show(r));
    assert.equal(r.activity.type, earlier.type, show(r));
    assert.equal(r.activity.status, earlier.status, show(r));
    assert.equal(r.activity.organizationId, S.init.organizationId, show(r));
    if (earlier.fingerprint) assert.equal(r.activity.fingerprint, earlier.fingerprint, show(r));
    if (earlier.result) assert.deepEqual(r.activity.result, earlier.result, "result must be stable");
  });

  step("6b. getActivities: filterByStatus/filterByType, limit \"2\", paging with after", async () => {
    const org = S.init.organizationId;
    // Make sure there are 3 activities of one type in the root org.
    const created = [];
    for (let i = 0; i < 3; i++) {
      const resp = await call(
        S.root.createUserTag({
          type: T.CREATE_USER_TAG,
          timestampMs: nowMs(),
          organizationId: org,
          parameters: { userTagName: unique("page-tag"), userIds: [S.init.userId] },
        }),
        "createUserTag",
      );
      expectCompleted(resp, {
        type: T.CREATE_USER_TAG,
        organizationId: org,
        resultKey: "createUserTagResult",
        sentBody: S.rootStamper.last,
      });
      created.push(resp.activity.id);
    }
    const filters = {
      organizationId: org,
      filterByStatus: [COMPLETED],
      filterByType: [T.CREATE_USER_TAG],
    };
    const p1 = await call(
      S.root.getActivities({ ...filters, paginationOptions: { limit: "2" } }),
      "getActivities page 1",
    );
    assert.ok(Array.isArray(p1.activities), `expected {activities:[…]}, got ${show(p1)}`);
    assert.ok(p1.activities.length <= 2, `limit "2" must cap the page: got ${p1.activities.length}`);
    assert.equal(p1.activities.length, 2, `3 matching activities exist, page 1 should be full: ${show(p1.activities.map((a) => a.id))}`);
    for (const a of p1.activities) {
      assert.equal(a.type, T.CREATE_USER_TAG, `filterByType violated: ${show(a)}`);
      assert.equal(a.status, COMPLETED, `filterByStatus violated: ${show(a)}`);
      assert.equal(a.organizationId, org);
    }
    const last = p1.activities[p1.activities.length - 1].id;
    const p2 = await call(
      S.root.getActivities({ ...filters, paginationOptions: { limit: "2", after: last } }),
      "getActivities page 2",
    );
    assert.ok(Array.isArray(p2.activities), show(p2));
    assert.ok(p2.activities.length >= 1 && p2.activities.length <= 2, `page 2 size: ${show(p2.activities.map((a) => a.id))}`);
    const ids1 = p1.activities.map((a) => a.id);
    const ids2 = p2.activities.map((a) => a.id);
    for (const id of ids2) assert.ok(!ids1.includes(id), `page 2 repeats ${id}: p1=${show(ids1)} p2=${show(ids2)}`);
    for (const a of p2.activities) assert.equal(a.type, T.CREATE_USER_TAG, `filterByType violated on page 2: ${show(a)}`);
    const seen = new Set([...ids1, ...ids2]);
    for (const id of created) {
      assert.ok(seen.has(id), `walking pages should reach all 3 created activities; missing ${id}: p1=${show(ids1)} p2=${show(ids2)}`);
    }
    // Without filters the sub-org creation (other type) is in the list too.
    const all = await call(
      S.root.getActivities({ organizationId: org, paginationOptions: { limit: "100" } }),
      "getActivities (unfiltered)",
    );
    const types = new Set((all.activities || []).map((a) => a.type));
    assert.ok(types.has(T.CREATE_USER_TAG), show([...types]));
    if (S.sub) assert.ok(types.has(T.CREATE_SUB_ORG_V8), `unfiltered list should include other types: ${show([...types])}`);
  });

  // 7 ------------------------------------------------------------------------
  step("7. idempotency: the identical stamped body twice → same activity, fingerprint = computeActivityFingerprint", async () => {
    const org = S.init.organizationId;
    const name = unique("idem");
    const signed = await S.root.stampCreateUsers({
      type: T.CREATE_USERS_V4,
      timestampMs: nowMs(),
      organizationId: org,
      parameters: {
        users: [{ userName: name, apiKeys: [], authenticators: [], oauthProviders: [], userTags: [] }],
      },
    });
    assert.equal(typeof signed.body, "string");
    assert.equal(signed.url, `${S.baseUrl}/public/v1/submit/create_users`);
    const headers = { ...stampHeaders(signed.stamp), "X-Client-Version": "@turnkey/http@6.6.0" };
    const r1 = await rawPost(signed.url, signed.body, headers);
    const r2 = await rawPost(signed.url, signed.body, headers);
    for (const [i, r] of [[1, r1], [2, r2]]) {
      assert.equal(r.status, 200, `POST #${i}: HTTP ${r.status} ${r.text}`);
      assert.equal(r.contentType, "application/json", `POST #${i} content-type ${show(r.contentType)}`);
      assert.ok(r.json?.activity, `POST #${i} body ${r.text}`);
    }
    const a1 = r1.json.activity;
    const a2 = r2.json.activity;
    assert.equal(a2.id, a1.id, `identical bodies must map to the same activity: ${a1.id} vs ${a2.id}`);
    const expected = computeActivityFingerprint(signed.body);
    assert.equal(a1.fingerprint, expected, `fingerprint over body ${signed.body}`);
    assert.equal(a2.fingerprint, expected);
    expectCompleted(r2.json, { type: T.CREATE_USERS_V4, organizationId: org, resultKey: "createUsersResult" });
    assert.deepEqual(a2.result, a1.result, "replayed activity carries the same result");
    const l = await call(S.root.getUsers({ organizationId: org }), "getUsers");
    const matches = (l.users || []).filter((u) => u.userName === name);
    assert.equal(matches.length, 1, `exactly one user named ${name} must exist: ${show(matches)}`);
    // getActivity agrees.
    const g = await call(S.root.getActivity({ organizationId: org, activityId: a1.id }), "getActivity");
    assert.equal(g.activity?.fingerprint, expected, show(g));
  });

  // 8 ------------------------------------------------------------------------
  step("8a. tampered body with the original stamp → 401 code 16 SIGNATURE_INVALID", async () => {
    const org = S.init.organizationId;
    const name = unique("mallory");
    const signed = await S.root.stampCreateUsers({
      type: T.CREATE_USERS_V4,
      timestampMs: nowMs(),
      organizationId: org,
      parameters: {
        users: [{ userName: name, apiKeys: [], authenticators: [], oauthProviders: [], userTags: [] }],
      },
    });
    const tampered = signed.body.replace(`"${name}"`, `"${name.replace("mallory", "mallorz")}"`);
    assert.notEqual(tampered, signed.body);
    assert.equal(tampered.length, signed.body.length);
    const res = await rawPost(signed.url, tampered, stampHeaders(signed.stamp));
    expectRawError(res, { status: 401, code: 16, turnkeyErrorCodes: ["SIGNATURE_INVALID"], what: "tampered create_users" });
    const l = await call(S.root.getUsers({ organizationId: org }), "getUsers");
    assert.ok(
      !(l.users || []).some((u) => u.userName.startsWith("mallor")),
      `a tampered request must not create anything: ${show((l.users || []).map((u) => u.userName))}`,
    );
  });

  step("8b. stamp from a never-registered key → 401 PUBLIC_KEY_NOT_FOUND (raw and via SDK)", async () => {
    const { client } = newKeyClient(generateP256KeyPair());
    const signed = await client.stampGetWhoami({ organizationId: S.init.organizationId });
    const res = await rawPost(signed.url, signed.body, stampHeaders(signed.stamp));
    expectRawError(res, { status: 401, code: 16, turnkeyErrorCodes: ["PUBLIC_KEY_NOT_FOUND"], what: "whoami with unknown key" });
    await expectSdkError(() => client.getWhoami({ organizationId: S.init.organizationId }), {
      code: 16,
      turnkeyErrorCodes: ["PUBLIC_KEY_NOT_FOUND"],
      what: "getWhoami with unknown key",
    });
  });

  step("8c. missing stamp → 401 STAMP_MISSING; garbage stamp → 401 STAMP_MALFORMED", async () => {
    const url = `${S.baseUrl}/public/v1/query/whoami`;
    const body = JSON.stringify({ organizationId: S.init.organizationId });
    const missing = await rawPost(url, body, {});
    expectRawError(missing, { status: 401, code: 16, turnkeyErrorCodes: ["STAMP_MISSING"], what: "whoami without X-Stamp" });
    const garbage = await rawPost(url, body, { "X-Stamp": "!!not-a-stamp!!" });
    expectRawError(garbage, { status: 401, code: 16, turnkeyErrorCodes: ["STAMP_MALFORMED"], what: "whoami with garbage X-Stamp" });
  });

  step("8d. Content-Type is exactly application/json on success (query and submit)", async () => {
    const q = await S.root.stampGetWhoami({ organizationId: S.init.organizationId });
    const r = await rawPost(q.url, q.body, stampHeaders(q.stamp));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.contentType, "application/json", `whoami content-type ${show(r.contentType)}`);
    const s = await S.root.stampCreateUserTag({
      type: T.CREATE_USER_TAG,
      timestampMs: nowMs(),
      organizationId: S.init.organizationId,
      parameters: { userTagName: unique("ct-tag"), userIds: [S.init.userId] },
    });
    const r2 = await rawPost(s.url, s.body, stampHeaders(s.stamp));
    assert.equal(r2.status, 200, r2.text);
    assert.equal(r2.contentType, "application/json", `create_user_tag content-type ${show(r2.contentType)}`);
  });

  // 9 ------------------------------------------------------------------------
  step("9. @turnkey/sdk-server Turnkey(...).apiClient(): getWhoami, createUsers, getUsers", async () => {
    const org = S.init.organizationId;
    const turnkey = new Turnkey({
      apiBaseUrl: S.baseUrl,
      apiPublicKey: S.init.apiPublicKey,
      apiPrivateKey: S.init.apiPrivateKey,
      defaultOrganizationId: org,
    });
    const api = turnkey.apiClient();
    const rec = recordingStamper(api.stamper);
    api.stamper = rec;

    const who = await call(api.getWhoami(), "sdk-server getWhoami()");
    assert.equal(rec.last, JSON.stringify({ organizationId: org }), "sdk-server fills defaultOrganizationId");
    assert.equal(who.organizationId, org, show(who));
    assert.equal(who.userId, S.init.userId, show(who));

    const name = unique("server-sdk-user");
    const kp = generateP256KeyPair();
    const r = await call(
      api.createUsers({
        users: [
          {
            userName: name,
            apiKeys: [{ apiKeyName: "srv-key", publicKey: kp.publicKey, curveType: "API_KEY_CURVE_P256" }],
            authenticators: [],
            oauthProviders: [],
            userTags: [],
          },
        ],
      }),
      "sdk-server createUsers",
    );
    const sent = rec.bodies.find((b) => b.includes(name));
    assert.ok(sent.startsWith('{"parameters":'), `sdk-server key order: ${sent}`);
    assert.ok(r.activity, `sdk-server returns {...result, activity}: ${show(r)}`);
    const res = expectCompleted({ activity: r.activity }, {
      type: T.CREATE_USERS_V4,
      organizationId: org,
      resultKey: "createUsersResult",
      sentBody: sent,
    });
    assert.equal(r.activity.fingerprint, computeActivityFingerprint(sent), "fingerprint over sdk-server body");
    assert.ok(Array.isArray(r.userIds) && r.userIds.length === 1, `sdk-server spreads result.createUsersResult: ${show(r)}`);
    assert.deepEqual(r.userIds, res.userIds);

    const users = await call(api.getUsers(), "sdk-server getUsers()");
    assert.ok((users.users || []).some((u) => u.userId === r.userIds[0] && u.userName === name), show(users));

    const act = await call(api.getActivity({ activityId: r.activity.id }), "sdk-server getActivity");
    assert.equal(act.activity?.id, r.activity.id, show(act));
  });

  // 11 (extras from WIRE.md) -------------------------------------------------
  step("11a. baseUrl with a trailing slash (SDK sends //public/v1/…) still works (WIRE §1)", async () => {
    const client = new TurnkeyClient({ baseUrl: S.baseUrl + "/" }, S.rootStamper);
    const r = await call(client.getWhoami({ organizationId: S.init.organizationId }), "getWhoami via baseUrl/");
    assert.equal(r.userId, S.init.userId, show(r));
  });

  step("11b. sub-org credential: whoami against the parent org returns the sub-org identity (WIRE §2)", async () => {
    assert.ok(S.sub, "prerequisite: 2a created a sub-organization");
    const r = await call(
      S.sub.client.getWhoami({ organizationId: S.init.organizationId }),
      "getWhoami(parent org) with sub-org key",
    );
    assert.equal(r.organizationId, S.sub.organizationId, show(r));
    assert.equal(r.userId, S.sub.rootUserId, show(r));
  });

  step("11c. a type the path does not accept → TurnkeyRequestError code 3 (HTTP 400 REQUEST_INVALID)", async () => {
    const body = {
      type: "ACTIVITY_TYPE_NOT_A_REAL_TYPE",
      timestampMs: nowMs(),
      organizationId: S.init.organizationId,
      parameters: { users: [] },
    };
    await expectSdkError(() => S.root.createUsers(body), {
      code: 3,
      turnkeyErrorCodes: ["REQUEST_INVALID"],
      what: "createUsers with a bogus type",
    });
    const signed = await S.root.stampCreateUsers({ ...body, timestampMs: nowMs() });
    const res = await rawPost(signed.url, signed.body, stampHeaders(signed.stamp));
    expectRawError(res, { status: 400, code: 3, turnkeyErrorCodes: ["REQUEST_INVALID"], what: "create_users with a bogus type" });
  });

  // 10 -----------------------------------------------------------------------
  step("10. server still healthy: /health and whoami", async () => {
    const h = await fetch(`${S.baseUrl}/health`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(h.status, 200);
    await h.arrayBuffer();
    const r = await call(S.root.getWhoami({ organizationId: S.init.organizationId }), "getWhoami");
    assert.equal(r.userId, S.init.userId, show(r));
    if (S.sub) {
      const r2 = await call(S.sub.client.getWhoami({ organizationId: S.sub.organizationId }), "getWhoami (sub)");
      assert.equal(r2.userId, S.sub.rootUserId, show(r2));
    }
  });
});

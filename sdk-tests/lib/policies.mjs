// Helpers for the policy / approval tests (test/policies.test.mjs): one SDK
// client pair per user key, policy expressions, and readers for the
// PolicyEnginePermissionError details and activity votes that Turnkey's SDKs
// surface (WIRE.md §4, §5, §10).

import { TurnkeyClient } from "@turnkey/http";
import { ApiKeyStamper } from "@turnkey/api-key-stamper";
import { Turnkey } from "@turnkey/sdk-server";

import { recordingStamper } from "./helpers.mjs";

export const STATUS = {
  COMPLETED: "ACTIVITY_STATUS_COMPLETED",
  FAILED: "ACTIVITY_STATUS_FAILED",
  CONSENSUS_NEEDED: "ACTIVITY_STATUS_CONSENSUS_NEEDED",
  REJECTED: "ACTIVITY_STATUS_REJECTED",
};
export const VOTE = {
  APPROVED: "VOTE_SELECTION_APPROVED",
  REJECTED: "VOTE_SELECTION_REJECTED",
};

/** Turnkey's answer to a denied request (WIRE §10): HTTP 403, code 7, this message. */
export const DENIED_MESSAGE = "You don't have sufficient permissions to take this action";
/** The `details` entry type that carries the policy engine's verdict. */
export const POLICY_DETAIL_TYPE = /PolicyEnginePermissionError$/;
export const IMPLICIT_DENY = "No policies evaluated to outcome: Allow";
export const EXPLICIT_DENY_PREFIX = "The following policies denied this action:";

/** Consensus: at least `n` approvers carry the user tag `tagId`. */
export const tagConsensus = (tagId, n) =>
  `approvers.filter(user, user.tags.contains('${tagId}')).count() >= ${n}`;
/** Consensus: the user `userId` is among the approvers. */
export const userConsensus = (userId) => `approvers.any(user, user.id == '${userId}')`;

/**
 * The clients one user holds for one P-256 API key, as a user would build them:
 *   http:  @turnkey/http TurnkeyClient with an ApiKeyStamper (raw responses);
 *   api:   @turnkey/sdk-server Turnkey(...).apiClient() (polls, spreads results).
 * Both stampers are wrapped by recordingStamper, so `httpStamper.last` /
 * `apiStamper.last` are the exact bodies the SDK signed and sent.
 * `activityPoller` is passed to @turnkey/sdk-server unchanged (its documented
 * `{intervalMs, numRetries}` option).
 */
export function userClients({ baseUrl, organizationId, name, userId, publicKey, privateKey, activityPoller }) {
  const httpStamper = recordingStamper(new ApiKeyStamper({ apiPublicKey: publicKey, apiPrivateKey: privateKey }));
  const http = new TurnkeyClient({ baseUrl }, httpStamper);
  const api = new Turnkey({
    apiBaseUrl: baseUrl,
    apiPublicKey: publicKey,
    apiPrivateKey: privateKey,
    defaultOrganizationId: organizationId,
    ...(activityPoller ? { activityPoller } : {}),
  }).apiClient();
  const apiStamper = recordingStamper(api.stamper);
  api.stamper = apiStamper;
  return { name, userId, publicKey, privateKey, http, httpStamper, api, apiStamper };
}

/**
 * The texts of the PolicyEnginePermissionError entries of an rpcStatus
 * `details` array (every string field of each such entry, joined).
 */
export function policyDetailTexts(details) {
  if (!Array.isArray(details)) return [];
  return details
    .filter((d) => d && typeof d === "object" && POLICY_DETAIL_TYPE.test(String(d["@type"] ?? "")))
    .map((d) =>
      Object.entries(d)
        .filter(([k, v]) => k !== "@type" && typeof v === "string")
        .map(([, v]) => v)
        .join(" "),
    );
}

/** `[{userId, selection}]` of an activity's votes, sorted by userId (for comparisons). */
export function voteSummary(activity) {
  return (activity?.votes ?? [])
    .map((v) => ({ userId: v?.userId, selection: v?.selection }))
    .sort((a, b) => String(a.userId).localeCompare(String(b.userId)));
}

/** Whether `result` (an activity's `result`) holds no outcome yet (`{}`, absent or null). */
export function noResult(result) {
  return result === undefined || result === null || (typeof result === "object" && Object.keys(result).length === 0);
}

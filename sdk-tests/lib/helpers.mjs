// Shared helpers for the quorate SDK-compatibility suite.
// Starts a real `quorate` binary, and offers small utilities for raw HTTP
// requests and for readable assertion messages.

import { spawn, execFile } from "node:child_process";
import { mkdtemp, rm, readFile, access } from "node:fs/promises";
import { openSync, closeSync, constants as fsc } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";

export const QUORATE_BIN =
  process.env.QUORATE_BIN || "/var/tmp/quorate-target/debug/quorate";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Pretty JSON for assertion messages (truncated so failures stay readable). */
export function show(value, max = 4000) {
  let s;
  try {
    s = JSON.stringify(value, null, 2);
  } catch {
    s = String(value);
  }
  if (s && s.length > max) s = s.slice(0, max) + `… (${s.length} chars)`;
  return s;
}

/** Reject if `promise` takes longer than `ms`. */
export function withTimeout(promise, ms, what = "operation") {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} timed out after ${ms} ms`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

function execFileP(file, args, opts) {
  return new Promise((resolve, reject) => {
    execFile(file, args, opts, (err, stdout, stderr) => {
      if (err) {
        err.stdout = stdout;
        err.stderr = stderr;
        reject(err);
      } else resolve({ stdout, stderr });
    });
  });
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Create a data dir, run `quorate init --json`, spawn `quorate serve`, and wait
 * for /health. Returns a handle with `baseUrl`, `init` (the init JSON),
 * `logPath`, `readLog()` and `stop()`.
 */
export async function startServer() {
  try {
    await access(QUORATE_BIN, fsc.X_OK);
  } catch {
    throw new Error(
      `quorate binary not found or not executable at ${QUORATE_BIN} (set QUORATE_BIN)`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), "quorate-sdk-tests-"));
  const dataDir = join(dir, "data");
  const logPath = join(dir, "server.log");
  const handle = {
    dir,
    dataDir,
    logPath,
    child: null,
    init: null,
    baseUrl: null,
    async readLog() {
      try {
        return await readFile(logPath, "utf8");
      } catch (e) {
        return `(no server log: ${e.message})`;
      }
    },
    async stop() {
      const child = handle.child;
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const ok = await Promise.race([
          exited.then(() => true),
          sleep(10_000).then(() => false),
        ]);
        if (!ok) {
          process.stderr.write(
            `[sdk-tests] quorate serve did not exit within 10 s of SIGTERM; sending SIGKILL\n`,
          );
          child.kill("SIGKILL");
          await Promise.race([exited, sleep(5_000)]);
        }
      }
    },
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };

  // 1. init
  let initOut;
  try {
    initOut = await execFileP(
      QUORATE_BIN,
      ["init", "--data-dir", dataDir, "--json"],
      { timeout: 30_000, maxBuffer: 1 << 20 },
    );
  } catch (e) {
    throw new Error(
      `\`quorate init --data-dir ${dataDir} --json\` failed: ${e.message}\nstdout:\n${e.stdout}\nstderr:\n${e.stderr}`,
    );
  }
  try {
    handle.init = JSON.parse(initOut.stdout.trim());
  } catch (e) {
    throw new Error(
      `\`quorate init --json\` did not print exactly one JSON object on stdout (${e.message}).\nstdout:\n${initOut.stdout}\nstderr:\n${initOut.stderr}`,
    );
  }
  for (const k of [
    "organizationId",
    "userId",
    "apiKeyId",
    "apiPublicKey",
    "apiPrivateKey",
  ]) {
    if (typeof handle.init[k] !== "string" || handle.init[k] === "") {
      throw new Error(
        `\`quorate init --json\` output lacks string field ${k}: ${initOut.stdout}`,
      );
    }
  }

  // 2. serve
  const port = await freePort();
  handle.baseUrl = `http://127.0.0.1:${port}`;
  const logFd = openSync(logPath, "a");
  try {
    handle.child = spawn(
      QUORATE_BIN,
      ["serve", "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`],
      { stdio: ["ignore", logFd, logFd], env: { NO_COLOR: "1", ...process.env } },
    );
  } finally {
    closeSync(logFd);
  }
  let spawnError = null;
  handle.child.on("error", (e) => {
    spawnError = e;
  });

  // 3. wait for /health
  const deadline = Date.now() + 20_000;
  let lastErr = "";
  while (Date.now() < deadline) {
    if (spawnError) throw new Error(`spawning quorate serve failed: ${spawnError.message}`);
    if (handle.child.exitCode !== null || handle.child.signalCode !== null) {
      throw new Error(
        `quorate serve exited early (code ${handle.child.exitCode}, signal ${handle.child.signalCode}). Log:\n${await handle.readLog()}`,
      );
    }
    try {
      const res = await fetch(`${handle.baseUrl}/health`, {
        signal: AbortSignal.timeout(2_000),
      });
      if (res.status === 200) return handle;
      lastErr = `HTTP ${res.status}`;
    } catch (e) {
      lastErr = e.message;
    }
    await sleep(150);
  }
  await handle.stop();
  throw new Error(
    `quorate serve did not answer GET /health with 200 within 20 s (last: ${lastErr}). Log:\n${await handle.readLog()}`,
  );
}

/**
 * POST raw bytes with optional stamp header; returns
 * {status, contentType, text, json}.
 */
export async function rawPost(url, body, headers = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body,
    redirect: "manual",
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    status: res.status,
    contentType: res.headers.get("content-type"),
    text,
    json,
  };
}

/** Wraps a stamper so the exact bytes it signs are recorded (the request body). */
export function recordingStamper(inner) {
  const rec = {
    bodies: [],
    get last() {
      return rec.bodies[rec.bodies.length - 1];
    },
    async stamp(body) {
      rec.bodies.push(body);
      if (rec.bodies.length > 50) rec.bodies.shift();
      return inner.stamp(body);
    },
  };
  return rec;
}

/** ACTIVITY_TYPE_CREATE_USERS_V4 -> createUsersIntentV4 / createUsersResult... */
export function intentKeyFor(type) {
  let t = type.replace(/^ACTIVITY_TYPE_/, "");
  let version = "";
  const m = t.match(/_(V\d+)$/);
  if (m) {
    version = m[1];
    t = t.slice(0, -m[0].length);
  }
  const camel = t
    .toLowerCase()
    .replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
  return `${camel}Intent${version}`;
}

/**
 * quorate's bundle-signer public key (uncompressed P-256 hex, "04…"), which
 * clients pass to @turnkey/crypto as `dangerouslyOverrideSignerPublicKey`.
 *
 * Assumption (single place to adjust): the server answers an unauthenticated
 * `GET {baseUrl}/public/v1/signer` with `{"signerPublicKey":"04…"}`, and
 * `quorate init --json` prints the same value as `signerPublicKey`. The
 * endpoint is preferred; the init output is the fallback; when both exist they
 * must agree.
 */
export async function getSignerPublicKey(server) {
  const shape = /^04[0-9a-f]{128}$/;
  const fromInit = server.init?.signerPublicKey;
  let fromHttp;
  let httpProblem;
  try {
    const res = await fetch(`${server.baseUrl}/public/v1/signer`, {
      signal: AbortSignal.timeout(5_000),
    });
    const text = await res.text();
    if (res.status !== 200) {
      httpProblem = `GET /public/v1/signer → HTTP ${res.status}: ${text.slice(0, 300)}`;
    } else {
      try {
        fromHttp = JSON.parse(text).signerPublicKey;
      } catch {
        httpProblem = `GET /public/v1/signer → non-JSON body: ${text.slice(0, 300)}`;
      }
      if (fromHttp === undefined && !httpProblem) {
        httpProblem = `GET /public/v1/signer → body lacks signerPublicKey: ${text.slice(0, 300)}`;
      }
    }
  } catch (e) {
    httpProblem = `GET /public/v1/signer failed: ${e.message}`;
  }
  const key = fromHttp ?? fromInit;
  if (key === undefined) {
    throw new Error(
      `no bundle signer public key: ${httpProblem}; and \`quorate init --json\` has no signerPublicKey field`,
    );
  }
  if (typeof key !== "string" || !shape.test(key)) {
    throw new Error(`signer public key must be lowercase uncompressed P-256 hex (04 + 128 hex), got ${JSON.stringify(key)}`);
  }
  if (fromHttp !== undefined && fromInit !== undefined && fromHttp !== fromInit) {
    throw new Error(`GET /public/v1/signer (${fromHttp}) and \`quorate init --json\` signerPublicKey (${fromInit}) disagree`);
  }
  return key;
}

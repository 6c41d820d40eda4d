// Regenerates tests/vectors/eip712.json and tests/vectors/raw_payload.json.
//
//   cd /tmp/x && npm install viem ethers tweetnacl && node /path/to/tests/vectors/gen/eip712.mjs /path/to/tests/vectors
//
// EIP-712 digests are computed by viem (hashTypedData) and ethers v6 (TypedDataEncoder.hash) and
// must agree; the EIP-712 spec's own "Mail" example is checked against the digest and signature
// printed in the spec. `payloadViem` is exactly what @turnkey/viem sends as the raw payload
// (viem serializeTypedData), `payloadEthers` what ethers' TypedDataEncoder.getPayload produces.
import { writeFileSync } from "node:fs";
import { hashTypedData, serializeTypedData, keccak256, toHex, hashMessage, sha256 } from "viem";
import { privateKeyToAccount, sign } from "viem/accounts";
import { TypedDataEncoder } from "ethers";
import nacl from "tweetnacl";

const out = process.argv[2] ?? ".";
const json = (v) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? x.toString() : x), 2) + "\n";
const assertEq = (a, b, what) => { if (a !== b) throw new Error(`${what}: ${a} != ${b}`); };

const mail = {
  domain: { name: "Ether Mail", version: "1", chainId: 1, verifyingContract: "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC" },
  types: {
    EIP712Domain: [
      { name: "name", type: "string" },
      { name: "version", type: "string" },
      { name: "chainId", type: "uint256" },
      { name: "verifyingContract", type: "address" },
    ],
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

const complex = {
  domain: { name: "Quorate Test", version: "2", chainId: 8453n, verifyingContract: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", salt: "0xf2d857f4a3edcb9b78b4d503bfe733db1e3f6cdc2b7971ee739626c97e86a558" },
  types: {
    EIP712Domain: [
      { name: "name", type: "string" },
      { name: "version", type: "string" },
      { name: "chainId", type: "uint256" },
      { name: "verifyingContract", type: "address" },
      { name: "salt", type: "bytes32" },
    ],
    Asset: [
      { name: "token", type: "address" },
      { name: "amount", type: "uint256" },
      { name: "delta", type: "int64" },
    ],
    Order: [
      { name: "maker", type: "address" },
      { name: "assets", type: "Asset[]" },
      { name: "pair", type: "Asset[2]" },
      { name: "tags", type: "string[]" },
      { name: "matrix", type: "uint8[][]" },
      { name: "memo", type: "bytes" },
      { name: "id", type: "bytes32" },
      { name: "flag", type: "bool" },
      { name: "expiry", type: "uint48" },
      { name: "small", type: "bytes4" },
      { name: "neg", type: "int256" },
    ],
  },
  primaryType: "Order",
  message: {
    maker: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    assets: [
      { token: "0xdAC17F958D2ee523a2206206994597C13D831ec7", amount: 1000000n, delta: -5n },
      { token: "0x6B175474E89094C44Da98b954EedeAC495271d0F", amount: 2n ** 256n - 1n, delta: 9223372036854775807n },
    ],
    pair: [
      { token: "0x0000000000000000000000000000000000000000", amount: 0n, delta: -9223372036854775808n },
      { token: "0x1111111111111111111111111111111111111111", amount: 1n, delta: 0n },
    ],
    tags: ["alpha", "", "ünïcödé ✓"],
    matrix: [[1, 2, 3], [], [255]],
    memo: "0xdeadbeef00",
    id: "0x0101010101010101010101010101010101010101010101010101010101010101",
    flag: true,
    expiry: 281474976710655,
    small: "0x12345678",
    neg: -1n,
  },
};

// A struct whose types reference each other out of alphabetical order and a struct with no fields
// referenced twice, plus a domain with only a name (EIP712Domain inferred by nobody: given explicitly).
const deps = {
  domain: { name: "Deps" },
  types: {
    EIP712Domain: [{ name: "name", type: "string" }],
    Zeta: [{ name: "a", type: "Alpha" }, { name: "e", type: "Empty" }],
    Alpha: [{ name: "x", type: "uint256" }, { name: "b", type: "Beta[]" }],
    Beta: [{ name: "y", type: "string" }, { name: "e", type: "Empty" }],
    Empty: [],
  },
  primaryType: "Zeta",
  message: { a: { x: "0x10", b: [{ y: "one", e: {} }, { y: "two", e: {} }] }, e: {} },
};

const keys = {
  cow: keccak256(toHex("cow")),
  anvil1: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
};

const cases = [
  { name: "EIP-712 spec Mail example", key: "cow", data: mail, specDigest: "be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2" },
  { name: "nested arrays, fixed arrays, ints, bytes, salt", key: "anvil1", data: complex },
  { name: "dependency ordering and empty struct", key: "anvil1", data: deps },
];

const eip712 = [];
for (const c of cases) {
  const digest = hashTypedData(c.data).slice(2);
  const { EIP712Domain, ...ethersTypes } = c.data.types;
  const ethersDigest = TypedDataEncoder.hash(c.data.domain, ethersTypes, c.data.message).slice(2);
  assertEq(digest, ethersDigest, `${c.name} viem vs ethers`);
  if (c.specDigest) assertEq(digest, c.specDigest, `${c.name} spec digest`);
  const account = privateKeyToAccount(keys[c.key]);
  const sigHex = await account.signTypedData(c.data);
  const sig = await sign({ hash: `0x${digest}`, privateKey: keys[c.key] });
  eip712.push({
    name: c.name,
    privateKey: keys[c.key].slice(2),
    payloadViem: serializeTypedData(c.data),
    payloadEthers: JSON.stringify(TypedDataEncoder.getPayload(c.data.domain, ethersTypes, c.data.message)),
    digest,
    r: sig.r.slice(2).padStart(64, "0"),
    s: sig.s.slice(2).padStart(64, "0"),
    v: `0${sig.yParity}`,
    signature65: sigHex.slice(2),
  });
}
// The spec's own signature for the Mail example (v = 28, i.e. recovery id 1).
assertEq(eip712[0].r, "4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d", "spec r");
assertEq(eip712[0].s, "07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562", "spec s");
assertEq(eip712[0].v, "01", "spec v");
writeFileSync(`${out}/eip712.json`, json({ source: "generated by tests/vectors/gen/eip712.mjs: viem 2.x hashTypedData == ethers 6.x TypedDataEncoder.hash; case 0 is the EIP-712 spec example (digest and signature from the spec)", vectors: eip712 }));

// ---- raw payloads (sign_raw_payload): secp256k1 over a digest, with viem's sign() as oracle.
const raw = [];
const anvil0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const secpCases = [
  { name: "personal_sign hash of 'hello world' (what @turnkey/viem signMessage sends)", payload: hashMessage("hello world"), encoding: "PAYLOAD_ENCODING_HEXADECIMAL", hashFunction: "HASH_FUNCTION_NO_OP", digest: hashMessage("hello world") },
  { name: "text keccak256", payload: "quorate ✓ raw payload", encoding: "PAYLOAD_ENCODING_TEXT_UTF8", hashFunction: "HASH_FUNCTION_KECCAK256", digest: keccak256(toHex("quorate ✓ raw payload")) },
  { name: "text sha256", payload: "quorate raw payload", encoding: "PAYLOAD_ENCODING_TEXT_UTF8", hashFunction: "HASH_FUNCTION_SHA256", digest: sha256(toHex("quorate raw payload")) },
  { name: "hex sha256 without 0x", payload: "deadbeef", encoding: "PAYLOAD_ENCODING_HEXADECIMAL", hashFunction: "HASH_FUNCTION_SHA256", digest: sha256("0xdeadbeef") },
  { name: "hex keccak256 of empty payload", payload: "0x", encoding: "PAYLOAD_ENCODING_HEXADECIMAL", hashFunction: "HASH_FUNCTION_KECCAK256", digest: keccak256("0x") },
];
for (const c of secpCases) {
  for (const key of [anvil0, keys.anvil1, keys.cow]) {
    const sig = await sign({ hash: c.digest, privateKey: key });
    raw.push({
      name: c.name, curve: "CURVE_SECP256K1", privateKey: key.slice(2), payload: c.payload, encoding: c.encoding, hashFunction: c.hashFunction,
      digest: c.digest.slice(2), r: sig.r.slice(2).padStart(64, "0"), s: sig.s.slice(2).padStart(64, "0"), v: `0${sig.yParity}`,
    });
  }
}
// RFC 8032 section 7.1 TEST 1-3 (checked against the RFC's signatures) plus a text payload.
const rfc = [
  ["9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "", "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"],
  ["4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "72", "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"],
  ["c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", "af82", "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"],
];
rfc.forEach(([seed, msg, expected], i) => {
  const kp = nacl.sign.keyPair.fromSeed(Buffer.from(seed, "hex"));
  const sig = Buffer.from(nacl.sign.detached(Buffer.from(msg, "hex"), kp.secretKey)).toString("hex");
  assertEq(sig, expected, `RFC 8032 test ${i + 1}`);
  raw.push({ name: `RFC 8032 7.1 TEST ${i + 1}`, curve: "CURVE_ED25519", privateKey: seed, publicKey: Buffer.from(kp.publicKey).toString("hex"), payload: msg, encoding: "PAYLOAD_ENCODING_HEXADECIMAL", hashFunction: "HASH_FUNCTION_NOT_APPLICABLE", r: sig.slice(0, 64), s: sig.slice(64), v: "00" });
});
{
  const [seed] = rfc[0];
  const kp = nacl.sign.keyPair.fromSeed(Buffer.from(seed, "hex"));
  const text = "Sign in to quorate ✓";
  const sig = Buffer.from(nacl.sign.detached(Buffer.from(text, "utf8"), kp.secretKey)).toString("hex");
  raw.push({ name: "ed25519 text message", curve: "CURVE_ED25519", privateKey: seed, publicKey: Buffer.from(kp.publicKey).toString("hex"), payload: text, encoding: "PAYLOAD_ENCODING_TEXT_UTF8", hashFunction: "HASH_FUNCTION_NOT_APPLICABLE", r: sig.slice(0, 64), s: sig.slice(64), v: "00" });
}
writeFileSync(`${out}/raw_payload.json`, json({ source: "generated by tests/vectors/gen/eip712.mjs: secp256k1 by viem sign() (RFC 6979, low-s); ed25519 by tweetnacl, TEST 1-3 equal to RFC 8032 section 7.1", vectors: raw }));
console.log(`eip712: ${eip712.length}, raw: ${raw.length}`);

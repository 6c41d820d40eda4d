// Regenerates tests/vectors/eip155.json, eip2930.json, eip1559.json and eip4844_eip7702.json
// (the typed-data and raw-payload vectors are made by eip712.mjs).
//
//   cd /tmp/x && npm install viem ethers && node /path/to/tests/vectors/gen/eth_tx.mjs /path/to/tests/vectors
//
// Every transaction is serialized and signed by two independent implementations (viem and
// ethers v6) and the script refuses to write anything unless both agree byte for byte.
import { writeFileSync } from "node:fs";
import { serializeTransaction, keccak256, parseEther, parseGwei } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { Transaction, Wallet } from "ethers";

const out = process.argv[2] ?? ".";
const KEYS = [
  "0x4646464646464646464646464646464646464646464646464646464646464646",
  // anvil/hardhat account #0 and #1 (public test keys)
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
];

const ACCESS_LIST = [
  {
    address: "0xde0b295669a9fd93d5f28d9ec85e40f4cb697bae",
    storageKeys: [
      "0x0000000000000000000000000000000000000000000000000000000000000003",
      "0x0000000000000000000000000000000000000000000000000000000000000007",
    ],
  },
  { address: "0xbb9bc244d798123fde783fcc1c72d3bb8c189413", storageKeys: [] },
];

const ERC20_TRANSFER =
  "0xa9059cbb000000000000000000000000d8da6bf26964af9d7eed9e10c48d19bcebb5c4d60000000000000000000000000000000000000000000000000de0b6b3a7640000";

// EIP-7702 authorizations are signed tuples inside the transaction body.
const AUTHS = [
  await privateKeyToAccount(KEYS[1]).signAuthorization({ contractAddress: "0x1111111111111111111111111111111111111111", chainId: 1, nonce: 5 }),
  await privateKeyToAccount(KEYS[2]).signAuthorization({ contractAddress: "0x63c0c19a282a1b52b07dd5a65b58948a07dae32b", chainId: 0, nonce: 0 }),
];
const BLOB_HASHES = ["0x01" + "ab".repeat(31), "0x01" + "cd".repeat(31)];

const cases = {
  eip155: [
    { name: "eip155 spec example", key: 0, tx: { type: "legacy", chainId: 1, nonce: 9, gasPrice: parseGwei("20"), gas: 21000n, to: "0x3535353535353535353535353535353535353535", value: parseEther("1") } },
    { name: "pre-eip155 (no chain id), 6 items", key: 1, tx: { type: "legacy", nonce: 0, gasPrice: 1n, gas: 21000n, to: "0x3535353535353535353535353535353535353535", value: 0n } },
    { name: "eip155 contract creation with data", key: 1, tx: { type: "legacy", chainId: 31337, nonce: 1, gasPrice: parseGwei("1.5"), gas: 500000n, value: 0n, data: "0x6080604052348015600f57600080fd5b50" } },
    { name: "eip155 erc20 transfer on polygon", key: 2, tx: { type: "legacy", chainId: 137, nonce: 255, gasPrice: parseGwei("30"), gas: 65000n, to: "0xc2132d05d31c914a87c6611c10748aeb04b58e8f", value: 0n, data: ERC20_TRANSFER } },
    { name: "eip155 large chain id (v > 1 byte) and huge value", key: 0, tx: { type: "legacy", chainId: 4294967295, nonce: 128, gasPrice: 0n, gas: 21000n, to: "0x0000000000000000000000000000000000000001", value: 2n ** 255n } },
  ],
  eip2930: [
    { name: "eip2930 with access list", key: 1, tx: { type: "eip2930", chainId: 1, nonce: 3, gasPrice: parseGwei("12"), gas: 60000n, to: "0xde0b295669a9fd93d5f28d9ec85e40f4cb697bae", value: 1n, data: "0x", accessList: ACCESS_LIST } },
    { name: "eip2930 empty access list, sepolia", key: 2, tx: { type: "eip2930", chainId: 11155111, nonce: 0, gasPrice: parseGwei("2"), gas: 21000n, to: "0x3535353535353535353535353535353535353535", value: parseEther("0.01"), accessList: [] } },
    { name: "eip2930 contract creation", key: 0, tx: { type: "eip2930", chainId: 5, nonce: 7, gasPrice: 1000n, gas: 100000n, value: 0n, data: "0x6001600155", accessList: ACCESS_LIST } },
  ],
  eip1559: [
    { name: "eip1559 simple transfer mainnet", key: 1, tx: { type: "eip1559", chainId: 1, nonce: 0, maxPriorityFeePerGas: parseGwei("1"), maxFeePerGas: parseGwei("40"), gas: 21000n, to: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", value: parseEther("1.25") } },
    { name: "eip1559 erc20 transfer with access list on base", key: 2, tx: { type: "eip1559", chainId: 8453, nonce: 42, maxPriorityFeePerGas: 1000n, maxFeePerGas: parseGwei("0.05"), gas: 70000n, to: "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913", value: 0n, data: ERC20_TRANSFER, accessList: ACCESS_LIST } },
    { name: "eip1559 contract creation, zero fees", key: 0, tx: { type: "eip1559", chainId: 31337, nonce: 300, maxPriorityFeePerGas: 0n, maxFeePerGas: 0n, gas: 3000000n, value: 0n, data: "0x6080604052" } },
    { name: "eip1559 max chain id u64", key: 1, tx: { type: "eip1559", chainId: 18446744073709551615n, nonce: 1, maxPriorityFeePerGas: 2n, maxFeePerGas: 3n, gas: 21000n, to: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", value: 5n } },
  ],
  eip4844_eip7702: [
    { name: "eip4844 blob tx body without sidecar (what @turnkey/viem sends)", key: 1, tx: { type: "eip4844", chainId: 1, nonce: 1, maxPriorityFeePerGas: 1n, maxFeePerGas: parseGwei("10"), gas: 21000n, to: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", value: 0n, maxFeePerBlobGas: 3n, blobVersionedHashes: BLOB_HASHES, accessList: ACCESS_LIST } },
    { name: "eip7702 one authorization", key: 1, tx: { type: "eip7702", chainId: 1, nonce: 6, maxPriorityFeePerGas: 1n, maxFeePerGas: parseGwei("10"), gas: 60000n, to: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", value: 0n, authorizationList: [AUTHS[0]] } },
    { name: "eip7702 two authorizations, calldata", key: 0, tx: { type: "eip7702", chainId: 10, nonce: 0, maxPriorityFeePerGas: 7n, maxFeePerGas: 9n, gas: 90000n, to: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", value: 1n, data: "0xdeadbeef", authorizationList: AUTHS } },
  ],
};

function ethersTx(tx) {
  const type = { legacy: 0, eip2930: 1, eip1559: 2, eip4844: 3, eip7702: 4 }[tx.type];
  return Transaction.from({
    type,
    chainId: tx.chainId ?? 0n,
    nonce: tx.nonce,
    gasPrice: tx.gasPrice,
    maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
    maxFeePerGas: tx.maxFeePerGas,
    gasLimit: tx.gas,
    to: tx.to ?? null,
    value: tx.value,
    data: tx.data ?? "0x",
    accessList: type === 0 ? undefined : (tx.accessList ?? []),
    maxFeePerBlobGas: tx.maxFeePerBlobGas,
    blobVersionedHashes: tx.blobVersionedHashes,
    authorizationList: tx.authorizationList?.map((a) => ({ address: a.address, chainId: BigInt(a.chainId), nonce: BigInt(a.nonce), signature: { r: a.r, s: a.s, yParity: a.yParity } })),
  });
}

const json = (v) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? x.toString() : x), 2) + "\n";

for (const [file, list] of Object.entries(cases)) {
  const vectors = [];
  for (const c of list) {
    const key = KEYS[c.key];
    const account = privateKeyToAccount(key);
    // viem needs an explicit access list for typed txs to keep parity with ethers
    const vtx = c.tx.type === "legacy" ? c.tx : { accessList: [], ...c.tx };
    const unsignedViem = serializeTransaction(vtx);
    const signedViem = await account.signTransaction(vtx);
    const etx = ethersTx(c.tx);
    const unsignedEthers = etx.unsignedSerialized;
    const signedEthers = await new Wallet(key).signTransaction(etx);
    if (unsignedViem !== unsignedEthers) throw new Error(`${c.name}: unsigned differs\n${unsignedViem}\n${unsignedEthers}`);
    if (signedViem !== signedEthers) throw new Error(`${c.name}: signed differs\n${signedViem}\n${signedEthers}`);
    vectors.push({
      name: c.name,
      privateKey: key.slice(2),
      address: account.address,
      tx: c.tx,
      unsigned: unsignedViem.slice(2),
      signingHash: keccak256(unsignedViem).slice(2),
      signed: signedViem.slice(2),
      txHash: keccak256(signedViem).slice(2),
    });
  }
  if (file === "eip1559") {
    // A published mainnet transaction (etherscan 0x0ec0b6a2…, used as a test in reth/alloy):
    // no private key, but the signing hash must recover the known sender, and re-assembling
    // the signature must give the known transaction hash.
    const tx = { type: "eip1559", chainId: 1, nonce: 0x42, gas: 44386n, to: "0x6069a6c32cf691f5982febae4faf8a6f3ab2f0f6", value: 0n,
      data: "0xa22cb4650000000000000000000000005eee75727d804a2b13038928d36f8b188945a57a0000000000000000000000000000000000000000000000000000000000000000",
      maxFeePerGas: 0x4a817c800n, maxPriorityFeePerGas: 0x3b9aca00n, accessList: [] };
    const signature = { r: "0x840cfc572845f5786e702984c2a582528cad4b49b2a10b9db1be7fca90058565", s: "0x25e7109ceb98168d95b09b18bbf6b685130e0562f233877d492b94eee0c5b6d1", yParity: 0 };
    const unsigned = serializeTransaction(tx);
    const signed = serializeTransaction(tx, signature);
    const txHash = keccak256(signed).slice(2);
    if (txHash !== "0ec0b6a2df4d87424e5f6ad2a654e27aaeb7dac20ae9e8385cc09087ad532ee0") throw new Error("mainnet vector hash");
    vectors.push({ name: "published mainnet tx 0x0ec0b6a2 (no key: recover sender)", privateKey: null, address: "0xdd6b8b3dc6b7ad97db52f08a275ff4483e024cea",
      tx, unsigned: unsigned.slice(2), signingHash: keccak256(unsigned).slice(2), signed: signed.slice(2), txHash,
      signature: { r: signature.r.slice(2), s: signature.s.slice(2), yParity: 0 } });
  }
  writeFileSync(`${out}/${file}.json`, json({ source: "generated by tests/vectors/gen/eth_tx.mjs (viem 2.x and ethers 6.x agree byte for byte)", vectors }));
  console.log(`${file}: ${vectors.length} vectors`);
}

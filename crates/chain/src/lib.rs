//! quorate-chain: the Ethereum JSON-RPC client that withdrawals use
//! (docs/design/management-api.md §2.2, §9). It implements `quorate_app::mgmt::ChainRpc`
//! over HTTP(S) with `reqwest`; the CLI builds one per `--chain ID=URL` and hands them to the
//! app as `ChainSettings`. No store, no server here.

use quorate_app::mgmt::{ChainError, ChainRpc, ChainSettings, FeeQuote, TxCall};
use quorate_crypto::tx::eth::U256;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// One chain's node, spoken to with JSON-RPC 2.0 over HTTP POST.
pub struct JsonRpc {
    url: reqwest::Url,
    http: reqwest::Client,
    next_id: AtomicU64,
}

impl std::fmt::Debug for JsonRpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a provider's API key: show only where it points.
        write!(
            f,
            "JsonRpc({}://{})",
            self.url.scheme(),
            self.url.host_str().unwrap_or("?")
        )
    }
}

fn err(msg: impl Into<String>) -> ChainError {
    ChainError(msg.into())
}

/// A JSON-RPC quantity (`0x`-prefixed hex without leading zeros, `0x0` for zero).
pub fn quantity(v: &U256) -> String {
    let t = v.trimmed();
    if t.is_empty() {
        return "0x0".to_string();
    }
    let h = hex::encode(t);
    format!("0x{}", h.trim_start_matches('0'))
}

/// Parses a JSON-RPC quantity.
pub fn parse_quantity(what: &str, v: &Value) -> Result<U256, ChainError> {
    v.as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .and_then(|h| {
            if h.is_empty() {
                None
            } else {
                U256::from_hex_digits(h)
            }
        })
        .ok_or_else(|| err(format!("{what}: not a hex quantity: {v}")))
}

fn to_u64(what: &str, v: &Value) -> Result<u64, ChainError> {
    parse_quantity(what, v)?
        .to_u64()
        .ok_or_else(|| err(format!("{what}: out of range")))
}

impl JsonRpc {
    /// A client of the node at `url` (`http://` or `https://`), 15 s per call.
    pub fn new(url: &str) -> Result<Self, ChainError> {
        let url = reqwest::Url::parse(url).map_err(|e| err(format!("bad node URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(err("the node URL must be http:// or https://"));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| err(e.to_string()))?;
        Ok(JsonRpc {
            url,
            http,
            next_id: AtomicU64::new(1),
        })
    }

    /// One call: the `result`, or the node's `error` / the transport failure as text.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, ChainError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let answer = self
            .http
            .post(self.url.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| err(format!("{method}: {}", e.without_url())))?;
        let status = answer.status();
        let text = answer
            .text()
            .await
            .map_err(|e| err(format!("{method}: {}", e.without_url())))?;
        let v: Value = serde_json::from_str(&text).map_err(|_| {
            err(format!(
                "{method}: HTTP {status}, not a JSON-RPC answer: {}",
                text.chars().take(200).collect::<String>()
            ))
        })?;
        if let Some(e) = v.get("error").filter(|e| !e.is_null()) {
            let message = e["message"].as_str().unwrap_or("error");
            let data = e
                .get("data")
                .filter(|d| !d.is_null())
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            return Err(err(format!(
                "{method}: {message}{data} (code {})",
                e["code"]
            )));
        }
        v.get("result")
            .cloned()
            .ok_or_else(|| err(format!("{method}: the answer has no result")))
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64, ChainError> {
        to_u64("eth_chainId", &self.call("eth_chainId", json!([])).await?)
    }
}

#[async_trait::async_trait]
impl ChainRpc for JsonRpc {
    async fn pending_nonce(&self, address: &str) -> Result<u64, ChainError> {
        let v = self
            .call("eth_getTransactionCount", json!([address, "pending"]))
            .await?;
        to_u64("eth_getTransactionCount", &v)
    }

    async fn estimate_gas(&self, call: &TxCall) -> Result<u64, ChainError> {
        let v = self
            .call(
                "eth_estimateGas",
                json!([{
                    "from": call.from,
                    "to": call.to,
                    "value": quantity(&call.value),
                    "data": format!("0x{}", hex::encode(&call.data)),
                }]),
            )
            .await?;
        to_u64("eth_estimateGas", &v)
    }

    async fn fees(&self) -> Result<FeeQuote, ChainError> {
        let block = self
            .call("eth_getBlockByNumber", json!(["latest", false]))
            .await?;
        let base = block.get("baseFeePerGas").filter(|b| !b.is_null());
        let Some(base) = base else {
            let price = self.call("eth_gasPrice", json!([])).await?;
            return Ok(FeeQuote::Legacy {
                gas_price: parse_quantity("eth_gasPrice", &price)?,
            });
        };
        let base_fee = parse_quantity("baseFeePerGas", base)?;
        let priority_fee = match self.call("eth_maxPriorityFeePerGas", json!([])).await {
            Ok(v) => parse_quantity("eth_maxPriorityFeePerGas", &v)?,
            // Nodes without the method: what the gas price pays above the base fee.
            Err(_) => {
                let price = self.call("eth_gasPrice", json!([])).await?;
                let price = parse_quantity("eth_gasPrice", &price)?;
                match (price.to_u128(), base_fee.to_u128()) {
                    (Some(p), Some(b)) => U256::from_u128(p.saturating_sub(b)),
                    _ => U256::ZERO,
                }
            }
        };
        Ok(FeeQuote::Eip1559 {
            base_fee,
            priority_fee,
        })
    }

    async fn send_raw_transaction(&self, signed: &[u8]) -> Result<String, ChainError> {
        let v = self
            .call(
                "eth_sendRawTransaction",
                json!([format!("0x{}", hex::encode(signed))]),
            )
            .await?;
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| err("eth_sendRawTransaction: the result is not a hash"))
    }

    async fn transaction_known(&self, hash: &str) -> Result<bool, ChainError> {
        let v = self.call("eth_getTransactionByHash", json!([hash])).await?;
        Ok(!v.is_null())
    }
}

/// Parses `ID=URL` (`1337=http://127.0.0.1:8545`).
pub fn parse_chain_arg(s: &str) -> Result<(u64, String), String> {
    let (id, url) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected CHAIN_ID=URL, like 1337=http://127.0.0.1:8545"))?;
    let id: u64 = id
        .trim()
        .parse()
        .map_err(|_| format!("`{id}` is not a chain id (a positive integer)"))?;
    if id == 0 || id > i64::MAX as u64 {
        return Err(format!("chain id {id} is out of range"));
    }
    Ok((id, url.trim().to_string()))
}

/// The app's chain settings from `ID=URL` entries (a chain id given twice is an error).
pub fn settings(entries: &[String]) -> Result<ChainSettings, String> {
    let mut chains: HashMap<u64, Arc<dyn ChainRpc>> = HashMap::new();
    for e in entries.iter().filter(|e| !e.trim().is_empty()) {
        let (id, url) = parse_chain_arg(e)?;
        let rpc = JsonRpc::new(&url).map_err(|e| format!("chain {id}: {e}"))?;
        if chains.insert(id, Arc::new(rpc)).is_some() {
            return Err(format!("chain {id} is given twice"));
        }
    }
    Ok(ChainSettings(chains))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(quantity(&U256::ZERO), "0x0");
        assert_eq!(quantity(&U256::from_u128(1)), "0x1");
        assert_eq!(quantity(&U256::from_u128(0x100)), "0x100");
        assert_eq!(
            parse_quantity("x", &json!("0x3b9aca00")).unwrap(),
            U256::from_u128(1_000_000_000)
        );
        assert!(parse_quantity("x", &json!("0x")).is_err());
        assert!(parse_quantity("x", &json!("12")).is_err());
        assert!(parse_quantity("x", &json!(12)).is_err());
    }

    #[test]
    fn chain_args() {
        assert_eq!(
            parse_chain_arg("1337=http://127.0.0.1:8545").unwrap(),
            (1337, "http://127.0.0.1:8545".to_string())
        );
        assert!(parse_chain_arg("http://x").is_err());
        assert!(parse_chain_arg("0=http://x").is_err());
        assert!(settings(&["1=ftp://x".into()]).is_err());
        assert!(settings(&["1=http://a".into(), "1=http://b".into()]).is_err());
        assert_eq!(
            settings(&["1=http://a".into(), " ".into()])
                .unwrap()
                .0
                .len(),
            1
        );
    }

    #[test]
    fn debug_hides_the_url_path() {
        let rpc = JsonRpc::new("https://node.example/v3/SECRET").unwrap();
        assert_eq!(format!("{rpc:?}"), "JsonRpc(https://node.example)");
    }

    #[tokio::test]
    async fn unreachable_node_is_an_error() {
        let rpc = JsonRpc::new("http://127.0.0.1:9").unwrap();
        let e = rpc.pending_nonce("0x00").await.unwrap_err();
        assert!(e.0.starts_with("eth_getTransactionCount: "), "{e}");
    }
}

//! Client subcommands: `keygen` and `request` (stamp a body and POST it).

use anyhow::{Context, Result};
use clap::ValueEnum;
use quorate_client::Client;
use quorate_crypto::{keys::ApiKeyPair, ApiKeyCurve};
use std::io::Read;

#[derive(Clone, Copy, ValueEnum)]
pub enum Curve {
    P256,
    Secp256k1,
    Ed25519,
}

impl From<Curve> for ApiKeyCurve {
    fn from(c: Curve) -> Self {
        match c {
            Curve::P256 => ApiKeyCurve::P256,
            Curve::Secp256k1 => ApiKeyCurve::Secp256k1,
            Curve::Ed25519 => ApiKeyCurve::Ed25519,
        }
    }
}

pub fn keygen(curve: Curve) -> Result<()> {
    let pair = ApiKeyPair::generate(curve.into());
    println!(
        "{}",
        serde_json::json!({
            "curveType": pair.curve().as_api_str(),
            "apiPublicKey": pair.public_key_hex(),
            "apiPrivateKey": pair.private_key_hex().as_str(),
        })
    );
    Ok(())
}

#[derive(clap::Args)]
pub struct RequestArgs {
    /// `/public/v1/query/whoami`, or just `query/whoami` / `submit/create_users`.
    pub path: String,
    /// The JSON body, `@file`, or `-` for stdin. A submit body without `timestampMs` gets the current time.
    pub json: String,
    #[arg(
        long,
        env = "QUORATE_BASE_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub base_url: String,
    #[arg(long, env = "QUORATE_API_PUBLIC_KEY")]
    pub api_public_key: Option<String>,
    #[arg(long, env = "QUORATE_API_PRIVATE_KEY", hide_env_values = true)]
    pub api_private_key: String,
    #[arg(long, value_enum, env = "QUORATE_API_CURVE", default_value = "p256")]
    pub curve: Curve,
}

pub async fn request(args: RequestArgs) -> Result<()> {
    let key = ApiKeyPair::from_private_hex(args.curve.into(), &args.api_private_key)
        .context("invalid --api-private-key")?;
    if let Some(pk) = &args.api_public_key {
        if !pk.eq_ignore_ascii_case(&key.public_key_hex()) {
            anyhow::bail!("--api-public-key does not match --api-private-key");
        }
    }
    let text = match args.json.as_str() {
        "-" => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        }
        j if j.starts_with('@') => {
            std::fs::read_to_string(&j[1..]).with_context(|| format!("cannot read {}", &j[1..]))?
        }
        j => j.to_string(),
    };
    let mut value: serde_json::Value =
        serde_json::from_str(&text).context("the body is not valid JSON")?;
    if let Some(obj) = value.as_object_mut() {
        if obj.contains_key("type") && !obj.contains_key("timestampMs") {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis();
            obj.insert("timestampMs".into(), now.to_string().into());
        }
    }
    let path = if args.path.starts_with('/') {
        args.path.clone()
    } else {
        format!("/public/v1/{}", args.path)
    };
    let client = Client::new(&args.base_url, key);
    let raw = client.post_raw(&path, serde_json::to_vec(&value)?).await?;
    let shown = match serde_json::from_slice::<serde_json::Value>(&raw.body) {
        Ok(v) => serde_json::to_string_pretty(&v)?,
        Err(_) => String::from_utf8_lossy(&raw.body).into_owned(),
    };
    println!("{shown}");
    if !(200..300).contains(&raw.status) {
        anyhow::bail!("HTTP {}", raw.status);
    }
    Ok(())
}

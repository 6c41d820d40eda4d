//! The `quorate` binary: run the server, administer a store, and a stamped-API client.

mod client_cmd;
mod v1_cmd;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use quorate_app::{App, AppConfig};
use quorate_crypto::envelope::MasterKey;
use quorate_store::{SqlStore, Store};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "quorate",
    version,
    about = "Organizations, access and keys: a Turnkey-compatible server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct StoreArgs {
    /// Directory for the embedded SQLite store (`DIR/quorate.db`).
    #[arg(long, env = "QUORATE_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// `postgres://…` selects PostgreSQL; `sqlite://…` a SQLite file elsewhere.
    #[arg(long, env = "QUORATE_DATABASE_URL")]
    database_url: Option<String>,
    /// The master key file (default `DATA_DIR/master.key`, created by `init`, mode 0600).
    /// `QUORATE_MASTER_KEY` (64 hex characters) takes precedence over any file.
    #[arg(long, env = "QUORATE_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
}

/// The master key: from `QUORATE_MASTER_KEY`, else the key file — created when `create`
/// (initialising a store), required otherwise.
fn master_key(args: &StoreArgs, create: bool) -> Result<MasterKey> {
    if let Ok(hex) = std::env::var("QUORATE_MASTER_KEY") {
        return MasterKey::from_hex(&hex).context("QUORATE_MASTER_KEY is not a 32-byte hex key");
    }
    let path = args
        .master_key_file
        .clone()
        .unwrap_or_else(|| args.data_dir.join("master.key"));
    if create {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        MasterKey::load_or_create(&path)
            .with_context(|| format!("cannot create the master key file {}", path.display()))
    } else if path.exists() {
        MasterKey::load(&path)
            .with_context(|| format!("cannot read the master key file {}", path.display()))
    } else {
        bail!(
            "master key file {} not found: supply QUORATE_MASTER_KEY or --master-key-file",
            path.display()
        )
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Create the store, the root organization, its root user and a P-256 API key.
    Init {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, default_value = "root")]
        org_name: String,
        /// Print the credentials as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Run the server (initialising the store first if needed).
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, env = "QUORATE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[arg(long, env = "QUORATE_LOG_FORMAT", value_enum, default_value = "text")]
        log_format: LogFormat,
        #[command(flatten)]
        v1: v1_cmd::V1Args,
        /// A chain withdrawals may use: `CHAIN_ID=URL` of its Ethereum JSON-RPC node
        /// (repeatable; the variable takes a comma-separated list).
        #[arg(long = "chain", env = "QUORATE_CHAINS", value_delimiter = ',')]
        chains: Vec<String>,
        /// Plan tiers: a JSON file `[{"id", "name", "cu_allotment", "price_minor",
        /// "currency"}, …]`, the first being the default tier (without it: free, starter, pro,
        /// enterprise in USD).
        #[arg(long, env = "QUORATE_TIERS_FILE")]
        tiers_file: Option<PathBuf>,
    },
    /// Management-API keys of an existing store.
    ApiKey {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        cmd: v1_cmd::ApiKeyCommand,
    },
    /// Organization status (a key cannot change its own organization's).
    Org {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        cmd: v1_cmd::OrgCommand,
    },
    /// Check every organization's activity hash chain.
    VerifyLog {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Generate an API key pair.
    Keygen {
        #[arg(long, value_enum, default_value = "p256")]
        curve: client_cmd::Curve,
    },
    /// Stamp a JSON body and POST it: a curl for the stamped API.
    Request(client_cmd::RequestArgs),
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("QUORATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The database URL: explicit, or SQLite in the data directory (created if missing).
fn database_url(args: &StoreArgs) -> Result<String> {
    if let Some(url) = &args.database_url {
        return Ok(url.clone());
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data dir {}", args.data_dir.display()))?;
    Ok(SqlStore::sqlite_url_for_dir(&args.data_dir))
}

pub(crate) async fn open_app(args: &StoreArgs) -> Result<Arc<App>> {
    let url = database_url(args)?;
    let store = SqlStore::open(&url)
        .await
        .context("cannot open the store")?;
    let config = AppConfig::for_backend(store.backend());
    Ok(Arc::new(App::new(Arc::new(store), config)))
}

pub(crate) fn credentials_json(
    out: &quorate_app::admin::InitOutput,
    signer_public_key: &str,
) -> serde_json::Value {
    serde_json::json!({
        "organizationId": out.organization_id,
        "userId": out.user_id,
        "apiKeyId": out.api_key_id,
        "apiPublicKey": out.key_pair.public_key_hex(),
        "apiPrivateKey": out.key_pair.private_key_hex().as_str(),
        "signerPublicKey": signer_public_key,
        "secretKey": out.secret_key.expose(),
    })
}

fn print_credentials_help(out: &quorate_app::admin::InitOutput, signer: &str, listen: &str) {
    println!("quorate: initialised a new store. Root credentials (the private key is shown only now and is not stored):");
    println!("{}", credentials_json(out, signer));
    println!();
    println!("Use them with the CLI:");
    println!(
        "  export QUORATE_API_PUBLIC_KEY={}",
        out.key_pair.public_key_hex()
    );
    println!("  export QUORATE_API_PRIVATE_KEY=<apiPrivateKey above>");
    println!("  quorate request --base-url http://{listen} /public/v1/query/whoami '{{\"organizationId\":\"{}\"}}'", out.organization_id);
    println!("or with Turnkey's SDK: new TurnkeyClient({{ baseUrl: \"http://{listen}\" }}, new ApiKeyStamper({{ apiPublicKey, apiPrivateKey }})).");
    println!("Export/import bundles are signed by this server's key (signerPublicKey above, also GET /public/v1/signer):");
    println!("pass it to @turnkey/crypto as dangerouslyOverrideSignerPublicKey.");
    println!("Management API (/v1): send the secretKey above as a bearer token (every scope; shown only now):");
    println!(
        "  curl -H 'authorization: Bearer <secretKey above>' http://{listen}/v1/organizations/{}",
        out.organization_id
    );
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Init {
            store,
            org_name,
            json,
        } => {
            let app = open_app(&store).await?;
            if app
                .store()
                .root_organization_id()
                .await
                .context("cannot read the store")?
                .is_some()
            {
                bail!("the store is already initialised; nothing was changed");
            }
            let key = master_key(&store, true)?;
            let out = match app.init(&org_name, "root", &key).await {
                Ok(out) => out,
                Err(e) if e.code == quorate_proto::ErrorCode::Conflict => {
                    bail!("the store is already initialised; nothing was changed")
                }
                Err(e) => return Err(e).context("init failed"),
            };
            app.unlock(key).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let signer = app
                .signer_public_key()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if json {
                println!("{}", credentials_json(&out, &signer));
            } else {
                print_credentials_help(&out, &signer, "127.0.0.1:8080");
            }
            Ok(())
        }
        Command::Serve {
            store,
            listen,
            log_format,
            v1,
            chains,
            tiers_file,
        } => {
            init_logging(log_format);
            let app = open_app(&store).await?;
            v1.apply(&app)?;
            app.set_setting(
                quorate_chain::settings(&chains).map_err(|e| anyhow::anyhow!("--chain {e}"))?,
            );
            if let Some(path) = &tiers_file {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the tiers file {}", path.display()))?;
                app.v1_load_tiers(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            }
            if app
                .store()
                .root_organization_id()
                .await
                .context("cannot read the store")?
                .is_none()
            {
                let key = master_key(&store, true)?;
                let out = app
                    .init("root", "root", &key)
                    .await
                    .context("init failed")?;
                app.unlock(key).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                let signer = app
                    .signer_public_key()
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                print_credentials_help(&out, &signer, &listen.to_string());
            } else {
                let key = master_key(&store, false)?;
                app.unlock(key).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let local = listener.local_addr()?;
            tracing::info!(address = %local, store = app.store().backend().as_str(), "quorate listening");
            quorate_server::serve(listener, app.clone(), shutdown_signal()).await?;
            app.store().close().await;
            tracing::info!("stopped");
            Ok(())
        }
        Command::VerifyLog { store } => {
            let app = open_app(&store).await?;
            let report = app.verify_log().await.context("cannot read the log")?;
            for p in &report.problems {
                eprintln!("problem: {p}");
            }
            println!(
                "verified {} organizations, {} log entries, {} activities: {}",
                report.organizations,
                report.entries,
                report.activities,
                if report.problems.is_empty() {
                    "ok".to_string()
                } else {
                    format!("{} problems", report.problems.len())
                }
            );
            if !report.problems.is_empty() {
                bail!("the activity log does not verify");
            }
            Ok(())
        }
        Command::ApiKey { store, cmd } => v1_cmd::api_key(&*open_app(&store).await?, cmd).await,
        Command::Org { store, cmd } => v1_cmd::org(&*open_app(&store).await?, cmd).await,
        Command::Keygen { curve } => client_cmd::keygen(curve),
        Command::Request(args) => client_cmd::request(args).await,
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

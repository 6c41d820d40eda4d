//! Tests of the `quorate` binary as a process: init, serve, graceful shutdown, crash safety
//! (`kill -9` mid-stream) and `verify-log`.

// clippy.toml's allow-*-in-tests covers `#[test]` fns only, not the helpers of a test crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use quorate_client::Client;
use quorate_crypto::{keys::ApiKeyPair, ApiKeyCurve};
use quorate_testkit::Backend;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod secrets;

const BIN: &str = env!("CARGO_BIN_EXE_quorate");

fn quorate(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("QUORATE_DATABASE_URL")
        .output()
        .unwrap()
}

fn store_args(dir: &Path, url: &Option<String>) -> Vec<String> {
    let mut a = vec!["--data-dir".to_string(), dir.display().to_string()];
    if let Some(u) = url {
        a.push("--database-url".into());
        a.push(u.clone());
    }
    a
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    base_url: String,
}

impl Server {
    async fn start(dir: &Path, url: &Option<String>) -> Server {
        let port = free_port();
        let log = std::fs::File::create(dir.join(format!("serve-{port}.log"))).unwrap();
        Server::start_with(port, dir, url, &[], &[], Stdio::null(), log.into()).await
    }

    /// `serve` on `port` with extra arguments and environment variables, its stdout and stderr
    /// going where the caller says; returns once `/ready` answers 200.
    async fn start_with(
        port: u16,
        dir: &Path,
        url: &Option<String>,
        extra_args: &[&str],
        envs: &[(&str, &str)],
        stdout: Stdio,
        stderr: Stdio,
    ) -> Server {
        let mut args = vec!["serve".to_string()];
        args.extend(store_args(dir, url));
        args.extend(["--listen".to_string(), format!("127.0.0.1:{port}")]);
        args.extend(extra_args.iter().map(|a| a.to_string()));
        let mut command = Command::new(BIN);
        command.args(&args).stdout(stdout).stderr(stderr);
        for (k, v) in envs {
            command.env(k, v);
        }
        let child = command.spawn().unwrap();
        let base_url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = reqwest::get(format!("{base_url}/ready")).await {
                if r.status() == 200 {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "server did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server { child, base_url }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn init(dir: &Path, url: &Option<String>) -> Value {
    let mut args = vec!["init".to_string()];
    args.extend(store_args(dir, url));
    args.push("--json".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = quorate(&args);
    assert!(
        out.status.success(),
        "init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn store_for(backend: Backend, name: &str) -> (tempfile::TempDir, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(
            quorate_testkit::pg::shared_cluster()
                .unwrap()
                .create_database(name)
                .unwrap(),
        ),
    };
    (dir, url)
}

fn root_client(base_url: &str, creds: &Value) -> Client {
    let key =
        ApiKeyPair::from_private_hex(ApiKeyCurve::P256, creds["apiPrivateKey"].as_str().unwrap())
            .unwrap();
    assert_eq!(
        key.public_key_hex(),
        creds["apiPublicKey"].as_str().unwrap()
    );
    Client::new(base_url, key)
}

#[test]
fn init_prints_credentials_once_and_refuses_twice() {
    let (dir, url) = store_for(Backend::Sqlite, "init");
    let creds = init(dir.path(), &url);
    for field in [
        "organizationId",
        "userId",
        "apiKeyId",
        "apiPublicKey",
        "apiPrivateKey",
    ] {
        assert!(
            creds[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field}"
        );
    }
    assert_eq!(creds["apiPrivateKey"].as_str().unwrap().len(), 64);
    let db = std::fs::read(dir.path().join("quorate.db")).unwrap();
    let private = creds["apiPrivateKey"].as_str().unwrap();
    assert!(
        !String::from_utf8_lossy(&db).contains(private),
        "the private key is never stored"
    );
    // The master key file is created beside the store, readable by its owner only.
    let key_file = dir.path().join("master.key");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let key_before = std::fs::read(&key_file).unwrap();
    let d = dir.path().display().to_string();
    let again = quorate(&["init", "--data-dir", &d, "--json"]);
    assert_eq!(
        std::fs::read(&key_file).unwrap(),
        key_before,
        "the key file is untouched"
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already initialised"));
    assert!(again.stdout.is_empty());
    let verify = quorate(&["verify-log", "--data-dir", &d]);
    assert!(verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).contains("verified 1 organizations"));
}

#[test]
fn keygen_prints_a_usable_pair() {
    for curve in ["p256", "secp256k1", "ed25519"] {
        let out = quorate(&["keygen", "--curve", curve]);
        assert!(out.status.success());
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(v["apiPublicKey"].as_str().unwrap().len() >= 64);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_initialises_request_subcommand_and_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    // `serve` on an empty data dir initialises it and prints the credentials.
    let port = free_port();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--data-dir",
            &dir.path().display().to_string(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base_url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base_url}/health"))
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // `quorate request` stamps a body with key flags from the environment.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).unwrap();
        s
    });
    let c = Client::new(&base_url, ApiKeyPair::generate(ApiKeyCurve::P256));
    let _ = c.whoami("7d3c4b8e-1f2a-4b5c-9d6e-0a1b2c3d4e5f").await;
    // Many requests in flight when SIGTERM arrives must all complete.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful exit");
    let printed = reader.join().unwrap();
    let creds_line = printed
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("credentials printed");
    let creds: Value = serde_json::from_str(creds_line).unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        !stderr.contains(creds["apiPrivateKey"].as_str().unwrap()),
        "no secret in logs"
    );
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
    }

    // Restart on the same store: no second initialisation; `quorate request` works.
    let server = Server::start(dir.path(), &None).await;
    let out = Command::new(BIN)
        .args([
            "request",
            "query/whoami",
            &json!({"organizationId": creds["organizationId"]}).to_string(),
            "--base-url",
            &server.base_url,
        ])
        .env(
            "QUORATE_API_PRIVATE_KEY",
            creds["apiPrivateKey"].as_str().unwrap(),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let who: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(who["userId"], creds["userId"]);
    let out = Command::new(BIN)
        .args(["request", "submit/create_users", &json!({"type": "ACTIVITY_TYPE_CREATE_USERS_V4", "organizationId": creds["organizationId"], "parameters": {"users": [{"userName": "cli", "apiKeys": [], "authenticators": [], "oauthProviders": [], "userTags": []}]}}).to_string(), "--base-url", &server.base_url])
        .env("QUORATE_API_PRIVATE_KEY", creds["apiPrivateKey"].as_str().unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["activity"]["status"], "ACTIVITY_STATUS_COMPLETED");
}

async fn graceful_shutdown_loses_nothing(backend: Backend) {
    let (dir, url) = store_for(backend, "graceful");
    let creds = init(dir.path(), &url);
    let server = Server::start(dir.path(), &url).await;
    let client = Arc::new(root_client(&server.base_url, &creds));
    let org = creds["organizationId"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for i in 0..32 {
        let (c, o) = (client.clone(), org.clone());
        tasks.push(tokio::spawn(async move {
            c.create_user(&o, &format!("g{i}"), None)
                .await
                .map(|(a, _)| a.id)
        }));
    }
    // Give the requests a moment to be in flight, then ask the server to stop.
    tokio::time::sleep(Duration::from_millis(20)).await;
    server.signal("-TERM");
    let mut acked = Vec::new();
    for t in tasks {
        if let Ok(id) = t.await.unwrap() {
            acked.push(id);
        }
    }
    let mut server = server;
    assert!(server.child.wait().unwrap().success());
    let restarted = Server::start(dir.path(), &url).await;
    let c = root_client(&restarted.base_url, &creds);
    for id in &acked {
        assert_eq!(
            c.get_activity(&org, id).await.unwrap().status,
            "ACTIVITY_STATUS_COMPLETED"
        );
    }
    drop(restarted);
    verify_log_ok(dir.path(), &url);
}

fn verify_log_ok(dir: &Path, url: &Option<String>) {
    let mut args = vec!["verify-log".to_string()];
    args.extend(store_args(dir, url));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = quorate(&args);
    assert!(
        out.status.success(),
        "verify-log: {} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Kills the server with SIGKILL during a stream of submissions, restarts it, and checks that
/// every acknowledged activity survived and the hash chain verifies.
async fn kill_9_keeps_acknowledged_activities(backend: Backend) {
    let (dir, url) = store_for(backend, "crash");
    let creds = init(dir.path(), &url);
    let org = creds["organizationId"].as_str().unwrap().to_string();
    let mut acked_total = 0;
    for round in 0..2 {
        let server = Server::start(dir.path(), &url).await;
        let client = Arc::new(root_client(&server.base_url, &creds));
        let acked = Arc::new(Mutex::new(Vec::<String>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut writers = Vec::new();
        for w in 0..8 {
            let (c, o, acked, stop) = (client.clone(), org.clone(), acked.clone(), stop.clone());
            writers.push(tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) && i < 500 {
                    i += 1;
                    match c.create_user(&o, &format!("r{round}w{w}n{i}"), None).await {
                        Ok((a, _)) if a.status == "ACTIVITY_STATUS_COMPLETED" => {
                            acked.lock().unwrap().push(a.id)
                        }
                        _ => break, // the server died mid-request: not acknowledged
                    }
                }
            }));
        }
        // Kill once a good number of activities were acknowledged (bounded wait).
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked.lock().unwrap().len() < 60 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.signal("-KILL");
        stop.store(true, Ordering::SeqCst);
        for w in writers {
            w.await.unwrap();
        }
        let acked = acked.lock().unwrap().clone();
        assert!(acked.len() >= 60, "only {} acknowledged", acked.len());
        drop(server);
        let restarted = Server::start(dir.path(), &url).await;
        let c = root_client(&restarted.base_url, &creds);
        for id in &acked {
            let a = c
                .get_activity(&org, id)
                .await
                .unwrap_or_else(|e| panic!("acknowledged activity {id} lost: {e}"));
            assert_eq!(a.status, "ACTIVITY_STATUS_COMPLETED");
        }
        acked_total += acked.len();
        drop(restarted);
        verify_log_ok(dir.path(), &url);
    }
    assert!(acked_total >= 120);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_sqlite() {
    kill_9_keeps_acknowledged_activities(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_postgres() {
    kill_9_keeps_acknowledged_activities(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_sqlite() {
    graceful_shutdown_loses_nothing(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_postgres() {
    graceful_shutdown_loses_nothing(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_log_detects_tampering() {
    let (dir, url) = store_for(Backend::Sqlite, "tamper");
    let creds = init(dir.path(), &url);
    let org = creds["organizationId"].as_str().unwrap().to_string();
    let server = Server::start(dir.path(), &url).await;
    let c = root_client(&server.base_url, &creds);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            c.create_user(&org, &format!("t{i}"), None)
                .await
                .unwrap()
                .0
                .id,
        );
    }
    drop(server);
    verify_log_ok(dir.path(), &url);
    // Rewrite one activity's result behind the server's back.
    let db = format!("sqlite://{}", dir.path().join("quorate.db").display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE activities SET result = '{\"createUsersResult\":{\"userIds\":[]}}' WHERE id = $1",
    )
    .bind(&ids[1])
    .execute(&mut conn)
    .await
    .unwrap();
    drop(conn);
    let d = dir.path().display().to_string();
    let out = quorate(&["verify-log", "--data-dir", &d]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&ids[1]) && err.contains("differs from its logged record"),
        "{err}"
    );
}

#[test]
fn serve_refuses_a_wrong_master_key() {
    let (dir, url) = store_for(Backend::Sqlite, "masterkey");
    init(dir.path(), &url);
    let d = dir.path().display().to_string();
    let port = free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let serve = |envs: &[(&str, &str)]| {
        let mut c = Command::new(BIN);
        c.args(["serve", "--data-dir", &d, "--listen", &listen])
            .env_remove("QUORATE_MASTER_KEY");
        for (k, v) in envs {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    // Another key in the environment: refused before listening, nothing changed.
    let other = "11".repeat(32);
    let out = serve(&[("QUORATE_MASTER_KEY", &other)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("master key does not match"), "{err}");
    assert!(!err.contains(&other), "the key itself is never printed");
    // No key at all.
    std::fs::rename(dir.path().join("master.key"), dir.path().join("moved.key")).unwrap();
    let out = serve(&[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("master key file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_key_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let key = "2a".repeat(32);
    let out = Command::new(BIN)
        .args(["init", "--data-dir", &d, "--json"])
        .env("QUORATE_MASTER_KEY", &key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !dir.path().join("master.key").exists(),
        "an explicit key writes no file"
    );
    let port = free_port();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--data-dir",
            &d,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("QUORATE_MASTER_KEY", &key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("http://127.0.0.1:{port}/ready"))
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(
            Instant::now() < deadline,
            "server with the right key did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
}

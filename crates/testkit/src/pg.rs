//! Throwaway PostgreSQL clusters for tests: initdb into a temp dir, a free port, unix socket in the temp dir.
//!
//! Nothing here depends on a server that is already running: [`PgCluster::start`] creates a fresh cluster
//! (`initdb`) in a new temporary directory, starts it with `pg_ctl` on a free `127.0.0.1` port and stops and
//! deletes it again on drop. [`shared_cluster`] lazily starts one cluster per test binary.
//!
//! * Binaries are located via `$QUORATE_PG_BINDIR`, then `pg_config --bindir`, then
//!   `/usr/lib/postgresql/15/bin`, then `initdb` found on `$PATH` (symlinks resolved).
//! * PostgreSQL refuses to run as root, so when the test process is root every server-side binary
//!   (`initdb`, `pg_ctl`) runs as the `postgres` OS user via `runuser -u postgres --`. Otherwise they run as
//!   the current user. Clients (`psql`) always run as the current user and connect over TCP.
//! * The superuser is always called `postgres` and authentication is `trust`, so URLs look like
//!   `postgres://postgres@127.0.0.1:PORT/NAME`.
//! * Every cluster gets a watchdog: a detached `sh` in its own process group that blocks reading a pipe whose
//!   write end only this process holds. When the test process exits for whatever reason (including
//!   `SIGKILL`, or the never-dropped static of [`shared_cluster`]) the kernel closes the pipe, the watchdog
//!   sees EOF, stops the server (`pg_ctl stop -m immediate`) and removes the directory.
//! * `PG*` environment variables of the test process are removed from every spawned command so e.g.
//!   `PGDATA`/`PGPORT`/`PGHOST` cannot redirect them.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context, Result};

/// How many times `start` retries with a new port when the chosen one got taken in the meantime.
const START_ATTEMPTS: usize = 5;

/// Settings appended to `postgresql.conf`. `unix_socket_directories` is added separately.
const SERVER_SETTINGS: &str = "\
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
max_parallel_workers_per_gather = 0
timezone = 'UTC'
";

/// Watchdog script. Args: $1 data dir, $2 cluster root dir (removed), $3 pg_ctl, $4 runuser path or "".
const WATCHDOG_SCRIPT: &str = r#"trap '' HUP INT PIPE
while read -r line; do :; done
if [ -f "$1/postmaster.pid" ]; then
  if [ -n "$4" ]; then
    "$4" -u postgres -- "$3" stop -D "$1" -m immediate -w -t 30 >/dev/null 2>&1
  else
    "$3" stop -D "$1" -m immediate -w -t 30 >/dev/null 2>&1
  fi
fi
rm -rf "$2"
"#;

/// A running throwaway PostgreSQL cluster. Stopped and deleted on drop.
#[derive(Debug)]
pub struct PgCluster {
    /// The temp dir (cluster root, also the unix socket directory). `None` once removed.
    dir: Option<tempfile::TempDir>,
    root: PathBuf,
    data_dir: PathBuf,
    log_file: PathBuf,
    bindir: PathBuf,
    /// `Some(path to runuser)` when server binaries must run as `postgres`.
    runuser: Option<PathBuf>,
    port: u16,
    watchdog: Option<Child>,
}

impl PgCluster {
    /// initdb (as postgres via runuser when root; trust auth; -E UTF8; --no-sync) into a fresh temp dir, start
    /// it with `pg_ctl -w` on a free 127.0.0.1 port with the unix socket in the temp dir and fsync off.
    pub fn start() -> Result<PgCluster> {
        let bindir = bindir()?.to_path_buf();
        let root_user = running_as_root();
        let runuser = if root_user {
            Some(find_runuser()?)
        } else {
            None
        };
        // Under root, $TMPDIR may point somewhere `postgres` cannot traverse; /tmp always works.
        let base = if root_user {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::Builder::new()
            .prefix("quorate-pg-")
            .tempdir_in(&base)
            .with_context(|| {
                format!(
                    "creating a temp dir for PostgreSQL under {}",
                    base.display()
                )
            })?;
        let root = dir.path().to_path_buf();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("chmod 755 {}", root.display()))?;
        if root_user {
            let (uid, gid) = postgres_ids()?;
            std::os::unix::fs::chown(&root, Some(uid), Some(gid))
                .with_context(|| format!("chown postgres {}", root.display()))?;
        }
        let mut cluster = PgCluster {
            dir: Some(dir),
            data_dir: root.join("data"),
            log_file: root.join("postgres.log"),
            root,
            bindir,
            runuser,
            port: 0,
            watchdog: None,
        };
        // From here on, any `?` drops `cluster`, which stops whatever was started and removes the dir.
        cluster.watchdog = Some(cluster.spawn_watchdog()?);
        cluster.initdb()?;
        cluster.configure()?;
        cluster.start_server()?;
        Ok(cluster)
    }

    /// Create a new empty database with a unique name derived from `name_hint` and return its URL
    /// `postgres://postgres@127.0.0.1:PORT/NAME` (trust auth, no password).
    pub fn create_database(&self, name_hint: &str) -> Result<String> {
        let name = unique_db_name(name_hint);
        let mut cmd = self.psql("postgres");
        cmd.arg("-c").arg(format!("CREATE DATABASE \"{name}\""));
        run(&mut cmd).with_context(|| format!("creating database {name} on port {}", self.port))?;
        Ok(self.url(&name))
    }

    /// The TCP port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The admin URL for the `postgres` database.
    pub fn admin_url(&self) -> String {
        self.url("postgres")
    }

    /// The directory holding the server's unix socket (`.s.PGSQL.<port>`), usable as `host=` in libpq.
    pub fn socket_dir(&self) -> &Path {
        &self.root
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// A command for a server-side binary from the bindir, run as `postgres` when we are root.
    fn server_command(&self, program: &str) -> Command {
        let path = self.bindir.join(program);
        let mut cmd = match &self.runuser {
            Some(runuser) => {
                let mut c = Command::new(runuser);
                c.args(["-u", "postgres", "--"]).arg(path);
                c
            }
            None => Command::new(path),
        };
        scrub_env(&mut cmd);
        cmd.current_dir(&self.root).stdin(Stdio::null());
        cmd
    }

    /// `psql` (as the current user) against database `db` over TCP, quiet, no psqlrc, stop on error.
    fn psql(&self, db: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join("psql"));
        scrub_env(&mut cmd);
        cmd.stdin(Stdio::null())
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-U",
            ])
            .arg("postgres")
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-d")
            .arg(db);
        cmd
    }

    fn spawn_watchdog(&self) -> Result<Child> {
        let runuser = self
            .runuser
            .as_ref()
            .map(|p| p.as_os_str().to_owned())
            .unwrap_or_default();
        let mut cmd = Command::new("/bin/sh");
        scrub_env(&mut cmd);
        cmd.arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg("quorate-pg-watchdog")
            .arg(&self.data_dir)
            .arg(&self.root)
            .arg(self.bindir.join("pg_ctl"))
            .arg(runuser)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Own process group: a Ctrl-C (SIGINT to the foreground group) must not kill the watchdog.
            .process_group(0);
        cmd.spawn()
            .context("spawning the PostgreSQL watchdog (/bin/sh)")
    }

    fn initdb(&self) -> Result<()> {
        let mut cmd = self.server_command("initdb");
        cmd.arg("-D").arg(&self.data_dir).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        run(&mut cmd).context("initdb failed")?;
        Ok(())
    }

    fn configure(&self) -> Result<()> {
        let conf = self.data_dir.join("postgresql.conf");
        let socket_dir = self
            .root
            .to_str()
            .ok_or_else(|| anyhow!("temp dir path is not UTF-8: {}", self.root.display()))?;
        let mut extra = String::from("\n# quorate-testkit\n");
        extra.push_str(SERVER_SETTINGS);
        let _ = writeln!(
            extra,
            "unix_socket_directories = '{}'",
            socket_dir.replace('\'', "''")
        );
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .with_context(|| format!("opening {}", conf.display()))?;
        file.write_all(extra.as_bytes())
            .with_context(|| format!("writing {}", conf.display()))?;
        Ok(())
    }

    fn start_server(&mut self) -> Result<()> {
        let mut last_err = None;
        for _ in 0..START_ATTEMPTS {
            let port = free_port()?;
            let mut cmd = self.server_command("pg_ctl");
            cmd.arg("-D")
                .arg(&self.data_dir)
                .arg("-l")
                .arg(&self.log_file)
                .args(["-w", "-t", "60", "-o"])
                .arg(format!("-p {port}"))
                .arg("start");
            match run(&mut cmd) {
                Ok(_) => {
                    self.port = port;
                    return Ok(());
                }
                Err(err) => {
                    let log = self.log_tail();
                    let port_taken = log.contains("could not bind")
                        || log.contains("Address already in use")
                        || log.contains("could not create lock file");
                    let err = err.context(format!(
                        "pg_ctl start on port {port} failed; server log {}:\n{log}",
                        self.log_file.display()
                    ));
                    if !port_taken {
                        return Err(err);
                    }
                    // Start over with a clean log so the next failure reports only its own output.
                    let _ = std::fs::remove_file(&self.log_file);
                    last_err = Some(err);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow!("pg_ctl start failed")))
    }

    fn log_tail(&self) -> String {
        match std::fs::read(&self.log_file) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(40)..].join("\n")
            }
            Err(err) => format!("(could not read log: {err})"),
        }
    }

    fn stop_server(&self) {
        let pid_file = self.data_dir.join("postmaster.pid");
        if !pid_file.exists() {
            return;
        }
        let mut cmd = self.server_command("pg_ctl");
        cmd.arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "immediate", "-w", "-t", "30", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let stopped = matches!(cmd.status(), Ok(status) if status.success());
        if stopped || !pid_file.exists() {
            return;
        }
        // Last resort: SIGKILL the postmaster we started (its pid is the first line of postmaster.pid).
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.lines().next().map(|l| l.trim().to_owned()))
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if let Some(pid) = pid {
            let _ = Command::new("kill")
                .args(["-KILL", &pid])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop_server();
        if let Some(dir) = self.dir.take() {
            if dir.close().is_err() {
                let _ = std::fs::remove_dir_all(&self.root);
            }
        }
        // Cleanup is done; the watchdog (blocked reading its stdin) is no longer needed.
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

/// One cluster shared by all tests of a test binary, started lazily on first use. Never dropped; its
/// watchdog stops it and removes its directory when the test process exits. A start failure is cached and
/// returned to every caller.
pub fn shared_cluster() -> Result<&'static PgCluster> {
    static SHARED: OnceLock<std::result::Result<PgCluster, String>> = OnceLock::new();
    match SHARED.get_or_init(|| PgCluster::start().map_err(|e| format!("{e:#}"))) {
        Ok(cluster) => Ok(cluster),
        Err(msg) => Err(anyhow!(
            "could not start the shared PostgreSQL test cluster: {msg}"
        )),
    }
}

/// Run a command to completion; error (with stdout/stderr) unless it exits successfully.
fn run(cmd: &mut Command) -> Result<Output> {
    let out = cmd
        .output()
        .with_context(|| format!("could not run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout).trim_end(),
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(out)
}

/// Remove libpq / server environment variables (`PGDATA`, `PGPORT`, `PGHOST`, ...) from a command.
fn scrub_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(key);
        }
    }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .context("binding 127.0.0.1:0 to find a free port")?;
    Ok(listener.local_addr()?.port())
}

fn running_as_root() -> bool {
    // /proc/self is owned by the process's effective uid; fall back to `id -u` elsewhere.
    if let Ok(meta) = std::fs::metadata("/proc/self") {
        return meta.uid() == 0;
    }
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn find_runuser() -> Result<PathBuf> {
    ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser", "/bin/runuser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| find_on_path("runuser"))
        .ok_or_else(|| {
            anyhow!("running as root, so PostgreSQL must run as `postgres` via runuser, but runuser was not found")
        })
}

/// uid/gid of the `postgres` OS user (from /etc/passwd, else `id`).
fn postgres_ids() -> Result<(u32, u32)> {
    if let Ok(passwd) = std::fs::read_to_string("/etc/passwd") {
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() >= 4 && fields[0] == "postgres" {
                if let (Ok(uid), Ok(gid)) = (fields[2].parse(), fields[3].parse()) {
                    return Ok((uid, gid));
                }
            }
        }
    }
    let id = |flag: &str| -> Result<u32> {
        let out = run(Command::new("id").args([flag, "postgres"])).context(
            "running as root, so PostgreSQL must run as the `postgres` OS user, but it does not exist",
        )?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .context("parsing the output of `id`")
    };
    Ok((id("-u")?, id("-g")?))
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The PostgreSQL bindir, located once per process.
fn bindir() -> Result<&'static Path> {
    static BINDIR: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    match BINDIR.get_or_init(find_bindir) {
        Ok(dir) => Ok(dir),
        Err(msg) => Err(anyhow!("{msg}")),
    }
}

fn find_bindir() -> std::result::Result<PathBuf, String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("QUORATE_PG_BINDIR") {
        candidates.push(PathBuf::from(dir));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if !dir.is_empty() {
                candidates.push(PathBuf::from(dir));
            }
        }
    }
    candidates.push(PathBuf::from("/usr/lib/postgresql/15/bin"));
    if let Some(initdb) = find_on_path("initdb") {
        let initdb = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        if let Some(dir) = initdb.parent() {
            candidates.push(dir.to_path_buf());
        }
    }
    let needed = ["initdb", "pg_ctl", "postgres", "psql"];
    candidates
        .iter()
        .find(|dir| needed.iter().all(|b| dir.join(b).is_file()))
        .cloned()
        .ok_or_else(|| {
            format!(
                "PostgreSQL server binaries ({}) not found; looked in $QUORATE_PG_BINDIR, `pg_config --bindir`, \
                 /usr/lib/postgresql/15/bin and initdb on $PATH (tried: {:?}). Install PostgreSQL 15 \
                 (e.g. apt-get install postgresql-15) or set QUORATE_PG_BINDIR.",
                needed.join(", "),
                candidates
            )
        })
}

/// `name_hint` sanitized to `[a-z0-9_]`, starting with a letter, plus `_<pid>_<counter>`, at most 63 bytes.
fn unique_db_name(name_hint: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let suffix = format!("_{}_{n}", std::process::id());
    let mut base: String = name_hint
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !base.starts_with(|c: char| c.is_ascii_lowercase()) {
        base.insert_str(0, "db_");
    }
    base.truncate(63usize.saturating_sub(suffix.len()));
    base + &suffix
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    fn psql_select(cluster: &PgCluster, url: &str, sql: &str) -> String {
        let mut cmd = Command::new(cluster.bindir.join("psql"));
        scrub_env(&mut cmd);
        cmd.args([
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
            "-d",
            url,
        ]);
        let out = run(&mut cmd).expect("psql");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn port_accepts(port: u16) -> bool {
        TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            Duration::from_secs(1),
        )
        .is_ok()
    }

    #[test]
    fn db_names_are_sanitized_and_unique() {
        let a = unique_db_name("My-Test::Case 1");
        let b = unique_db_name("My-Test::Case 1");
        assert_ne!(a, b);
        assert!(a.starts_with("my_test__case_1_"), "{a}");
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'));
        assert!(unique_db_name("1abc").starts_with("db_1abc_"));
        assert!(unique_db_name("").starts_with("db__"));
        assert!(unique_db_name(&"x".repeat(200)).len() <= 63);
    }

    #[test]
    fn start_create_query_drop() {
        let t0 = Instant::now();
        let cluster = PgCluster::start().expect("start cluster");
        eprintln!("PgCluster::start took {:?}", t0.elapsed());
        let port = cluster.port();
        let root = cluster.root.clone();
        assert!(root.is_dir());
        assert!(port_accepts(port));
        assert_eq!(
            cluster.admin_url(),
            format!("postgres://postgres@127.0.0.1:{port}/postgres")
        );

        let t1 = Instant::now();
        let url_a = cluster.create_database("first db").expect("create db a");
        eprintln!("create_database took {:?}", t1.elapsed());
        let url_b = cluster.create_database("second").expect("create db b");
        assert_ne!(url_a, url_b);
        for url in [&url_a, &url_b] {
            assert!(url.starts_with(&format!("postgres://postgres@127.0.0.1:{port}/")));
            assert_eq!(psql_select(&cluster, url, "select 1"), "1");
            let db = url.rsplit('/').next().expect("db name");
            assert_eq!(psql_select(&cluster, url, "select current_database()"), db);
        }
        assert_eq!(
            psql_select(&cluster, &cluster.admin_url(), "show fsync"),
            "off"
        );

        let t2 = Instant::now();
        drop(cluster);
        eprintln!("drop took {:?}", t2.elapsed());
        assert!(!port_accepts(port), "port {port} still accepts connections");
        assert!(!root.exists(), "{} still exists", root.display());
    }

    #[test]
    fn shared_cluster_is_shared() {
        let a = shared_cluster().expect("shared cluster");
        let b = shared_cluster().expect("shared cluster");
        assert_eq!(a.port(), b.port());
        assert!(std::ptr::eq(a, b));
        let url = a.create_database("shared").expect("create db");
        assert_eq!(psql_select(a, &url, "select 1"), "1");
    }

    /// Re-runs itself as a child test process that starts a cluster, leaks it and exits; the
    /// watchdog must then stop the server and remove its directory.
    #[test]
    fn watchdog_cleans_up_after_process_exit() {
        if std::env::var_os("QUORATE_PG_ORPHAN_HELPER").is_some() {
            let cluster = PgCluster::start().expect("start cluster");
            println!(
                "QUORATE_PG_ORPHAN port={} dir={}",
                cluster.port(),
                cluster.root.display()
            );
            std::mem::forget(cluster);
            return;
        }
        let exe = std::env::current_exe().expect("current exe");
        let out = Command::new(exe)
            .args([
                "pg::tests::watchdog_cleans_up_after_process_exit",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("QUORATE_PG_ORPHAN_HELPER", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run helper");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "helper failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .split_once("QUORATE_PG_ORPHAN ")
            .and_then(|(_, rest)| rest.lines().next())
            .unwrap_or_else(|| panic!("no marker in helper output: {stdout}"));
        let mut port = 0u16;
        let mut dir = PathBuf::new();
        for part in line.split(' ') {
            if let Some(p) = part.strip_prefix("port=") {
                port = p.parse().expect("port");
            } else if let Some(d) = part.strip_prefix("dir=") {
                dir = PathBuf::from(d);
            }
        }
        assert_ne!(port, 0);
        let deadline = Instant::now() + Duration::from_secs(30);
        while (port_accepts(port) || dir.exists()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            !port_accepts(port),
            "orphaned server on port {port} still up"
        );
        assert!(!dir.exists(), "{} still exists", dir.display());
    }
}

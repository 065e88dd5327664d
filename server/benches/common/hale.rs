//! Hale itself, as a user runs it: `hale serve` in its own process, so a
//! benchmark measures it from the outside (its memory, its answers) and the
//! load generator's work is not counted as Hale's.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `hale` binary cargo built with this benchmark, or the one
/// `HALE_BENCH_BINARY` names (to compare two builds on one machine, by
/// turns, with the same load generator).
pub fn binary() -> PathBuf {
    std::env::var_os("HALE_BENCH_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_hale")))
}

/// The built site (`pkg/` with the wasm, JS and CSS), from the workspace.
pub fn site_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/site")
}

/// A loopback port nobody is using now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub struct Hale {
    pub base: String,
    pub child: Child,
    /// From spawning the process to the first `200` from `/api/health`.
    pub started_in: Duration,
    _dir: tempfile::TempDir,
}

impl Hale {
    /// Starts `hale serve` with `config` (YAML) on `database_url`, and
    /// waits until `/api/health` answers 200.
    pub async fn start(config: &str, database_url: &str) -> Hale {
        Hale::start_with(config, database_url, &[]).await
    }

    /// The same, with more `hale serve` arguments.
    pub async fn start_with(config: &str, database_url: &str, args: &[&str]) -> Hale {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hale.yaml");
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(config.as_bytes()))
            .unwrap();
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let launched = Instant::now();
        let child = Command::new(binary())
            .arg("serve")
            .arg("--config")
            .arg(&path)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--database-url")
            .arg(database_url)
            .arg("--site-root")
            .arg(site_root())
            .args(args)
            .env("HALE_LOG", "warn")
            // The load comes from one address: the per-client limits stay
            // on (their cost is measured) but are never reached.
            .env("HALE_RATE_LIMIT", "1000000000")
            .env("HALE_RATE_BURST", "1000000000")
            .env("HALE_MAX_WEBSOCKETS_PER_CLIENT", "0")
            .stdout(Stdio::null())
            .spawn()
            .expect("starting hale serve");
        let mut hale = Hale {
            base,
            child,
            started_in: Duration::ZERO,
            _dir: dir,
        };
        hale.started_in = hale.wait_healthy(&client, launched).await;
        hale
    }

    async fn wait_healthy(&mut self, client: &reqwest::Client, launched: Instant) -> Duration {
        let url = format!("{}/api/health", self.base);
        loop {
            if let Ok(response) = client.get(&url).send().await {
                if response.status() == 200 {
                    return launched.elapsed();
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("hale serve exited before answering: {status}");
            }
            assert!(
                launched.elapsed() < Duration::from_secs(60),
                "hale serve did not answer /api/health within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// The process's resident memory, in bytes.
    pub fn rss_bytes(&self) -> u64 {
        super::measure::rss_of(self.child.id())
    }

    /// The process's CPU time so far.
    pub fn cpu_time(&self) -> Duration {
        super::measure::cpu_time_of(self.child.id())
    }

    /// A Prometheus sample's value from `/metrics`.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let text = reqwest::get(format!("{}/metrics", self.base))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }
}

impl Drop for Hale {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The services a benchmark's Hale watches: `svc-0` … `svc-<n-1>`, the
/// names `db::seed_history` gives history to.
pub fn service_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("svc-{i}")).collect()
}

/// A config titled `title` with `names` probing the fleet's `/ok/<i>`
/// every 30 s.
pub fn fleet_config(title: &str, fleet: &super::fleet::Fleet, names: &[String]) -> String {
    let mut config = format!("title: {title}\nservices:\n");
    for (i, name) in names.iter().enumerate() {
        config.push_str(&format!(
            "  - {{name: {name}, url: '{}/ok/{i}', interval: 30s}}\n",
            fleet.base
        ));
    }
    config
}

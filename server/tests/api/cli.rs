use std::process::Command;

fn hale() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hale"))
}

/// Writes `contents` to a config file and runs `hale validate` on it.
fn validate(
    name: &str,
    contents: &str,
) -> (tempfile::TempDir, std::path::PathBuf, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    let out = hale()
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    (dir, path, out)
}

#[test]
fn validate_accepts_a_good_config() {
    let (_dir, _, out) = validate(
        "hale.yaml",
        "services:\n  - name: a\n    url: http://127.0.0.1:1/\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK (1 services, 0 status pages)"));
}

#[test]
fn hale_token_prints_a_fresh_token_a_config_takes() {
    let token = || {
        let out = hale().arg("token").output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let (first, second) = (token(), token());
    assert_eq!(first.len(), 32, "{first}");
    assert_ne!(first, second);
    let config = format!("services:\n  - {{name: job, url: 'push://{first}', interval: 1h}}\n");
    let (_dir, _, out) = validate("hale.yaml", &config);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn validate_and_serve_reject_a_bad_config_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "services:\n  - name: a\n    url: http://x/\n    interval: soon\n",
    )
    .unwrap();
    let expected = format!(
        "{}:4:15: services[0].interval: invalid duration \"soon\"",
        path.display()
    );

    let out = hale()
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&expected), "{stderr}");

    let db = dir.path().join("never.db");
    let out = hale()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .arg("--database-url")
        .arg(format!("sqlite://{}", db.display()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&expected));
    assert!(
        !db.exists(),
        "a bad config stops start-up before anything is written"
    );
}

/// `hale serve ARGS` in an empty directory with no config: for start-up
/// refusals, which end it before it serves.
fn serve_without_config(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    hale()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("HALE_CONFIG")
        .current_dir(dir.path())
        .output()
        .unwrap()
}

#[test]
fn serve_refuses_a_burst_smaller_than_the_rate() {
    let out = serve_without_config(&["--rate-limit", "50", "--rate-burst", "10"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--rate-burst (10) must be at least --rate-limit (50)"),
        "{stderr}"
    );
}

#[test]
fn serve_rejects_an_unknown_database_scheme() {
    let out = serve_without_config(&["--database-url", "mysql://hale:hunter2@db/hale"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unsupported database URL"), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "the password is redacted: {stderr}"
    );
    assert!(stderr.contains("mysql://hale:***@db/hale"), "{stderr}");
}

/// `hale serve` with no config file at all, configured only through the
/// environment: it creates its SQLite file, prints its URL and serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_starts_with_no_config_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fresh.db");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_hale"));
    command
        .arg("serve")
        .env("HALE_LISTEN", "127.0.0.1:0")
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env_remove("HALE_CONFIG")
        .current_dir(dir.path());
    let (mut child, url) = spawn_serving(command).await;
    let health = reqwest::get(format!("{url}api/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains("No services monitored yet"));
    // It says how to add a first service.
    assert!(page.contains("data-getting-started"), "{page}");
    assert!(page.contains("hale init"), "{page}");
    assert!(db.exists(), "the SQLite file is created on first run");
    child.kill().await.unwrap();
}

/// `hale init` writes a starter config that validates and watches Hale's
/// own health where it will listen; it never writes over a file unless
/// told to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_writes_a_starter_config_that_watches_hale_itself() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = listener.local_addr().unwrap().to_string();
    drop(listener);
    let init = |extra: &[&str]| {
        hale()
            .args(["init", "--listen", &listen])
            .args(extra)
            .env_remove("HALE_CONFIG")
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let out = init(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("hale serve --config hale.yaml --listen {listen}")),
        "{stdout}"
    );
    let path = dir.path().join("hale.yaml");
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(
        written.contains(&format!("url: http://{listen}/api/health")),
        "{written}"
    );
    let out = hale()
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK (1 services"));

    // A second run keeps the file, and says so; --force replaces it.
    std::fs::write(&path, "title: mine\n").unwrap();
    let out = init(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hale.yaml exists; keeping it"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "title: mine\n");
    assert!(init(&["--force"]).status.success());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);

    // Served, the starter service finds Hale up.
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_hale"));
    command
        .args(["serve", "--config", "hale.yaml", "--listen", &listen])
        .args(["--database-url", "sqlite://hale.db"])
        .current_dir(dir.path());
    let (mut child, url) = spawn_serving(command).await;
    let mut services = serde_json::Value::Null;
    for _ in 0..200 {
        services = detailed_services(&url).await;
        if services["by_status"]["operational"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().await.unwrap();
    assert_eq!(services["by_status"]["operational"], 1, "{services}");
}

#[test]
fn validate_warns_about_unsupported_gatus_keys_but_accepts_the_file() {
    let (_dir, path, out) = validate("gatus.yaml", "endpoints:\n  - name: web\n    url: https://example.org/\n    ui:\n      hide-url: true\n    alerts:\n      - type: slack\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for warning in [
        "4:5: endpoints[0].ui: Gatus key `ui` is not supported by Hale and is ignored",
        "7:15: endpoints[0].alerts[0].type: no `alerting.slack` is set up: this alert is ignored",
    ] {
        let warning = format!("warning: {}:{warning}", path.display());
        assert!(stdout.contains(&warning), "{stdout}");
    }
    assert!(stdout.contains("OK (1 services, 0 status pages)"));
}

/// Starts `hale serve` on a config file; returns the child and its URL.
pub(crate) async fn serve_file(
    config: &std::path::Path,
    dir: &std::path::Path,
    poll_ms: u64,
) -> (tokio::process::Child, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_hale"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("hale.db").display()),
        )
        .env("HALE_CONFIG_POLL_MS", poll_ms.to_string());
    spawn_serving(command).await
}

/// Spawns `hale serve` and waits for the line that names its URL (the
/// URL ends in `/`).
pub(crate) async fn spawn_serving(
    mut command: tokio::process::Command,
) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
        .await
        .expect("hale prints its URL")
        .unwrap()
        .unwrap();
    assert!(line.contains("http://127.0.0.1:"), "{line}");
    (child, line.rsplit(' ').next().unwrap().to_string())
}

fn tcp_services(port: u16, names: &[&str]) -> String {
    let mut yaml = String::from("services:\n");
    for name in names {
        yaml.push_str(&format!(
            "  - {{name: {name}, url: 'tcp://127.0.0.1:{port}', interval: 1s}}\n"
        ));
    }
    yaml
}

/// `services` of `/api/health/detailed`: how many, by status.
async fn detailed_services(url: &str) -> serde_json::Value {
    let body = reqwest::get(format!("{url}api/health/detailed"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut detailed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    detailed["services"].take()
}

async fn total_services(url: &str) -> u64 {
    detailed_services(url).await["total"].as_u64().unwrap()
}

async fn wait_for_total(url: &str, want: u64) {
    for _ in 0..100 {
        if total_services(url).await == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "never reached {want} services (now {})",
        total_services(url).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reloads_on_sighup_and_keeps_running_on_a_bad_file() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hale.yaml");
    std::fs::write(&config, tcp_services(port, &["a"])).unwrap();
    // Polling off (an hour): only the signal may reload.
    let (child, url) = serve_file(&config, dir.path(), 3_600_000).await;
    assert_eq!(total_services(&url).await, 1);

    std::fs::write(&config, tcp_services(port, &["a", "b"])).unwrap();
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    wait_for_total(&url, 2).await;

    // A broken file is refused; the running config stays.
    std::fs::write(&config, "services:\n  - name: a\n    url: ::bad\n").unwrap();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(total_services(&url).await, 2);
    drop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reloads_when_the_file_changes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hale.yaml");
    std::fs::write(&config, tcp_services(port, &["a"])).unwrap();
    let (child, url) = serve_file(&config, dir.path(), 100).await;
    assert_eq!(total_services(&url).await, 1);
    std::fs::write(&config, tcp_services(port, &["a", "b", "c"])).unwrap();
    wait_for_total(&url, 3).await;
    drop(child);
}

/// Runs `hale check …` off the async runtime (the targets live on it).
async fn check(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || hale().arg("check").args(args).output().unwrap())
        .await
        .unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_a_healthy_target_as_json_and_exits_0() {
    let target = crate::helpers::FakeTarget::start().await;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("figures.json");
    let url = format!("{}/health", target.base);
    let out = check(strings(&[
        &url,
        "--count",
        "4",
        "--interval",
        "50ms",
        "--condition",
        "[STATUS] == 200",
        "--condition",
        "[BODY].status == UP",
        "--json",
        "--output",
        output.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let figures: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(figures["checks"], 4);
    assert_eq!(figures["successful"], 4);
    assert_eq!(figures["healthy"], true);
    assert_eq!(figures["latency"]["num_requests"], 4);
    assert_eq!(figures["status_codes"]["200"], 4);
    assert!(
        figures["latency"]["p99_ms"].as_f64().unwrap()
            >= figures["latency"]["median_ms"].as_f64().unwrap()
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    assert_eq!(written, figures, "--output holds the same figures");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_exits_1_for_a_failing_target_and_names_the_error() {
    let target = crate::helpers::FakeTarget::start().await;
    target.answer(503);
    let out = check(strings(&[
        &target.base,
        "--count",
        "2",
        "--interval",
        "10ms",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("UNHEALTHY"), "{text}");
    assert!(text.contains("error ×2") && text.contains("503"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_gives_up_on_a_hanging_target_at_its_timeout() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = std::time::Instant::now();
    let out = check(strings(&[
        &format!("http://{addr}/"),
        "--single-check",
        "--timeout",
        "300ms",
        "--json",
    ]))
    .await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(1));
    let figures: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(figures["failed"], 1);
    let message = figures["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_lowercase();
    assert!(message.contains("time"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_exits_2_on_bad_usage() {
    for args in [
        vec![],
        vec!["http://127.0.0.1:1/", "--condition", "[STATUS] =="],
        vec!["ftp://example.com/"],
        vec!["http://127.0.0.1:1/", "--single-check", "--count", "3"],
        vec!["http://127.0.0.1:1/", "--count", "0"],
        vec!["http://127.0.0.1:1/", "--interval", "soon"],
    ] {
        let out = check(strings(&args)).await;
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stderr.is_empty(), "{args:?} says why");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_with_a_config_prints_a_table_and_fails_if_any_fails() {
    let good = crate::helpers::FakeTarget::start().await;
    let bad = crate::helpers::FakeTarget::start().await;
    bad.answer(500);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hale.yaml");
    std::fs::write(
        &path,
        format!(
            "services:\n  - name: good\n    url: {}/\n  - name: bad\n    url: {}/\n",
            good.base, bad.base
        ),
    )
    .unwrap();
    let out = check(strings(&["--config", path.to_str().unwrap()])).await;
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8_lossy(&out.stdout);
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("good").contains(" ok "), "{table}");
    assert!(
        line("bad").contains("FAIL") && line("bad").contains("500"),
        "{table}"
    );
    bad.answer(200);
    let out = check(strings(&["--config", path.to_str().unwrap()])).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use server::config::Config;
use server::runtime::{Hale, Settings};
use server::store::{self, Store};
use std::path::Path;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn admin_url() -> String {
    std::env::var("HALE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database made for one test and dropped after it.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("hale.db").display());
                TestDb {
                    url,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                static COUNTER: AtomicU64 = AtomicU64::new(0);
                let nanos = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .subsec_nanos();
                let name = format!(
                    "hale_test_{}_{}_{}",
                    std::process::id(),
                    nanos,
                    COUNTER.fetch_add(1, Ordering::Relaxed)
                );
                let admin = admin_url();
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("Postgres must be running at {admin}: {e}"));
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let base = admin.rsplit_once('/').unwrap().0;
                TestDb {
                    url: format!("{base}/{name}"),
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }

    /// Drops a Postgres database now, cutting off its connections: an outage.
    pub async fn drop_now(&self) {
        if let Some(name) = &self.pg_name {
            drop_database(name).await;
        }
    }
}

async fn drop_database(name: &str) {
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url())
        .await
        .unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside any runtime we may block: use a thread of its own.
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(drop_database(&name));
            })
            .join()
            .unwrap();
        }
    }
}

/// A local HTTP target whose answer the test sets.
pub struct FakeTarget {
    pub base: String,
    status: Arc<AtomicU16>,
}

impl FakeTarget {
    pub async fn start() -> FakeTarget {
        let status = Arc::new(AtomicU16::new(200));
        let shared = status.clone();
        let app = Router::new().fallback(get(move || {
            let code = shared.load(Ordering::Relaxed);
            async move {
                let body = if code < 400 {
                    r#"{"status":"UP"}"#
                } else {
                    r#"{"status":"DOWN"}"#
                };
                (StatusCode::from_u16(code).unwrap(), body)
            }
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeTarget { base, status }
    }

    pub fn answer(&self, code: u16) {
        self.status.store(code, Ordering::Relaxed);
    }
}

pub struct TestApp {
    pub hale: Hale,
    pub base: String,
    pub ws_url: String,
    pub target: FakeTarget,
    pub db: TestDb,
    pub http: reqwest::Client,
}

impl TestApp {
    pub fn store(&self) -> Arc<dyn Store> {
        self.hale.store().clone()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// A client that sends a new API token of `role` with every request.
    pub async fn client_as(&self, role: wire::account::Role) -> reqwest::Client {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!("test-{role}-{}", N.fetch_add(1, Ordering::Relaxed));
        let (token, _) =
            server::auth::Accounts::new(self.store(), server::auth::AccountRules::default())
                .add_token(&name, role, false, None, "test")
                .await
                .unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "authorization",
            reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (
            status,
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap(),
        )
    }
}

/// Starts Hale on port 0 with `yaml`, where `{target}` stands for the fake
/// target's base URL.
pub async fn spawn_app(backend: Backend, yaml: &str) -> TestApp {
    spawn_app_on(TestDb::new(backend).await, yaml).await
}

/// Starts Hale on an existing test database (to test what it finds there).
pub async fn spawn_app_on(db: TestDb, yaml: &str) -> TestApp {
    spawn_app_with(db, yaml, |_| {}).await
}

/// Starts Hale with settings of the test's own (a notifier, say).
pub async fn spawn_app_with(db: TestDb, yaml: &str, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let target = FakeTarget::start().await;
    let config = Config::parse(
        &yaml.replace("{target}", &target.base),
        Path::new("test.yaml"),
        |_| None,
    )
    .unwrap();
    let store = store::connect(&db.url).await.unwrap();
    let mut settings = Settings::new(config, "127.0.0.1:0".parse().unwrap());
    // Real-time tests need not wait 2 s; the 2 s cadence itself is tested
    // with paused time in the hub's unit tests.
    settings.heartbeat_every = Duration::from_millis(200);
    settings.site = server::api::site::Site::Disk("../target/site".into());
    adjust(&mut settings);
    let hale = Hale::start(settings, store).await.unwrap();
    TestApp {
        base: format!("http://{}", hale.addr),
        ws_url: format!("ws://{}/api/websocket", hale.addr),
        hale,
        target,
        db,
        http: reqwest::Client::new(),
    }
}

/// Polls `check` until it gives a value, for up to ten seconds: for what
/// Hale does on its own tasks (storing, probing), so a test waits on the
/// condition rather than on a sleep it hopes is long enough.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One service probed every second against the fake target.
pub const ONE_SERVICE: &str = "
title: Test status
services:
  - name: api
    group: Core
    url: '{target}/health'
    interval: 1s
    failure_threshold: 1
    success_threshold: 1
    conditions: ['[STATUS] == 200', '[BODY].status == UP']
status_pages:
  - slug: public
    title: Public status
    services: [api]
";

/// Runs an async test body once per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)($crate::helpers::Backend::Postgres).await
            }
        }
    };
}

/// JSON bodies without reqwest's `json` feature.
pub trait JsonBody {
    fn json_body(self, value: &serde_json::Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, value: &serde_json::Value) -> Self {
        self.header("content-type", "application/json")
            .body(serde_json::to_vec(value).unwrap())
    }
}

/// A response's JSON body, read as `T`.
pub async fn read_json<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> T {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

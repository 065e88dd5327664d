//! `hale import uptime-kuma`: Kuma databases built from Kuma's own schema
//! (tests/data/kuma/schema-*.sql; their headers say from which release
//! and how) holding a monitor of every type, status pages and heartbeats;
//! what maps checked against what Hale's loader makes of the file, what
//! doesn't against the report, the heartbeats against Hale's store.

use crate::helpers::TestDb;
use crate::on_both_backends;
use chrono::{DateTime, Duration as Days, Utc};
use server::config::Config;
use server::ops::kuma::{self, db::KumaDb};
use server::probe::Target;
use server::store::History;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kuma {
    V1,
    V2,
}

/// A Kuma database in a directory of its own.
struct Fixture {
    dir: tempfile::TempDir,
    path: PathBuf,
}

#[derive(Clone, Debug)]
enum Value {
    Text(String),
    Int(i64),
    Real(f64),
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Real(v)
    }
}

macro_rules! row {
    ($($column:literal => $value:expr),* $(,)?) => {
        vec![$(($column, Value::from($value))),*]
    };
}

/// `INSERT INTO table`, refusing a column the schema lacks (so the
/// fixture can't drift from Kuma's tables).
async fn insert(pool: &SqlitePool, table: &str, row: Vec<(&str, Value)>) {
    let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap();
    for (column, _) in &row {
        assert!(
            columns.iter().any(|c| c == column),
            "Kuma's {table} has no column {column}"
        );
    }
    let names: Vec<String> = row.iter().map(|(c, _)| format!("\"{c}\"")).collect();
    let marks = vec!["?"; row.len()].join(", ");
    let sql = format!(
        "INSERT INTO \"{table}\" ({}) VALUES ({marks})",
        names.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for (_, value) in row {
        query = match value {
            Value::Text(t) => query.bind(t),
            Value::Int(i) => query.bind(i),
            Value::Real(r) => query.bind(r),
        };
    }
    query.execute(pool).await.unwrap();
}

/// Kuma's time format: UTC, `YYYY-MM-DD HH:MM:SS.SSS`.
fn kuma_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

/// The unmappable types, from Kuma's list, at ids 40 on.
const UNSUPPORTED: [&str; 14] = [
    "docker",
    "mqtt",
    "steam",
    "real-browser",
    "grpc-keyword",
    "sqlserver",
    "postgres",
    "mysql",
    "mongodb",
    "radius",
    "redis",
    "gamedig",
    "kafka-producer",
    "tailscale-ping",
];

/// A heartbeat row: time, status, ping, message.
type Beat = (DateTime<Utc>, i64, i64, String);

/// The API monitor's beats: one a minute for three days up to `now`,
/// every tenth down, the next pending, some under maintenance; and five
/// beats past Hale's 90 days. Returns (results, successes, latency sum
/// in µs) of the ones that count.
fn api_beats(now: DateTime<Utc>) -> (Vec<Beat>, (u64, u64, u64)) {
    let mut beats = Vec::new();
    let (mut results, mut up, mut latency) = (0, 0, 0);
    for i in 0..3 * 1_440i64 {
        let at = now - Days::minutes(3 * 1_440 - i);
        let status = match i {
            i if i % 97 == 5 => 3,
            i if i % 10 == 0 => 0,
            i if i % 10 == 1 => 2,
            _ => 1,
        };
        let ping = 100 + i % 50;
        let msg = match status {
            1 => "200 - OK".to_string(),
            3 => "Monitor under maintenance".to_string(),
            _ => "503 - Service Unavailable".to_string(),
        };
        if status != 3 {
            results += 1;
            latency += ping as u64 * 1_000;
            up += u64::from(status == 1);
        }
        beats.push((at, status, ping, msg));
    }
    for day in 0..5 {
        beats.push((now - Days::days(120 + day), 1, 50, "200 - OK".into()));
    }
    (beats, (results, up, latency))
}

/// Builds a Kuma database of `version` from its schema: a monitor of
/// every type, groups, three status pages and the API's heartbeats.
async fn fixture(version: Kuma, now: DateTime<Utc>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kuma.db");
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    let schema = match version {
        Kuma::V1 => "schema-1.23.sql",
        Kuma::V2 => "schema-2.sql",
    };
    let sql = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/kuma/{schema}")),
    )
    .unwrap();
    sqlx::raw_sql(&sql).execute(&pool).await.unwrap();
    let v2 = version == Kuma::V2;

    insert(&pool, "user", row!["id" => 1, "username" => "admin"]).await;
    insert(
        &pool,
        "notification",
        row!["id" => 1, "name" => "Slack ops", "user_id" => 1, "config" => "{}"],
    )
    .await;
    insert(
        &pool,
        "tag",
        row!["id" => 1, "name" => "env", "color" => "#059669"],
    )
    .await;
    insert(
        &pool,
        "maintenance",
        row!["id" => 1, "title" => "Patch Tuesday", "description" => ""],
    )
    .await;

    let group = |id: i64, name: &'static str, parent: Option<i64>| {
        let mut r = row!["id" => id, "name" => name, "type" => "group", "interval" => 60];
        if let Some(p) = parent {
            r.push(("parent", Value::from(p)));
        }
        r
    };
    let token = if v2 {
        "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI"
    } else {
        "pushTok10x"
    };
    let mut resolver = row![
        "id" => 10, "name" => "Resolver", "type" => "dns", "hostname" => "example.com",
        "dns_resolve_type" => "AAAA", "port" => 53, "interval" => 300,
    ];
    resolver.push((
        "dns_resolve_server",
        Value::from(if v2 { "1.1.1.1, 9.9.9.9" } else { "1.1.1.1" }),
    ));
    let mut health = row![
        "id" => 6, "name" => "Health JSON", "type" => "json-query",
        "url" => "https://api.example.com/status", "json_path" => "$.status", "expected_value" => "ok",
    ];
    if v2 {
        health.push(("json_path_operator", Value::from("==")));
    }
    let monitors = vec![
        group(1, "Production", None),
        group(2, "Databases", Some(1)),
        row![
            "id" => 3, "name" => "API", "type" => "http", "url" => "https://api.example.com/health",
            "method" => "POST", "body" => r#"{"ping":true}"#,
            "headers" => r#"{"X-Trace":"on","X-Api-Key":"k3y-in-a-header"}"#,
            "auth_method" => "basic", "basic_auth_user" => "alice", "basic_auth_pass" => "s3cret-password",
            "accepted_statuscodes_json" => r#"["200-299"]"#, "maxretries" => 2, "interval" => 30,
            "retry_interval" => 20, "timeout" => 12.5, "ignore_tls" => 1, "maxredirects" => 0,
            "parent" => 1, "description" => "The public API",
        ],
        row![
            "id" => 4, "name" => "Home page", "type" => "keyword", "url" => "https://www.example.com/",
            "keyword" => "Welcome", "accepted_statuscodes_json" => r#"["200-299","301"]"#,
            "interval" => 60, "timeout" => 0,
        ],
        row![
            "id" => 5, "name" => "No errors", "type" => "keyword", "url" => "http://status.example.com/",
            "keyword" => "error", "invert_keyword" => 1, "interval" => 120, "timeout" => 10,
        ],
        health,
        row![
            "id" => 7, "name" => "Queue depth", "type" => "json-query",
            "url" => "https://api.example.com/queues", "json_path" => "$sum(queues.depth)",
            "expected_value" => "0",
        ],
        row![
            "id" => 8, "name" => "Postgres port", "type" => "port", "hostname" => "db.internal",
            "port" => 5432, "maxretries" => 1, "parent" => 2,
        ],
        row!["id" => 9, "name" => "Gateway", "type" => "ping", "hostname" => "10.0.0.1", "packet_size" => 56],
        resolver,
        row![
            "id" => 11, "name" => "Nightly backup", "type" => "push", "push_token" => token,
            "interval" => 86_400,
        ],
        row!["id" => 12, "name" => "Paused site", "type" => "http", "url" => "https://old.example.com/", "active" => 0],
        row!["id" => 13, "name" => "Intranet", "type" => "http", "url" => "https://intra.example.com/", "auth_method" => "ntlm"],
        row!["id" => 14, "name" => "Inverted", "type" => "http", "url" => "https://gone.example.com/", "upside_down" => 1],
        row!["id" => 15, "name" => "Legacy port", "type" => "port", "hostname" => "10.0.0.2", "port" => 23, "upside_down" => 1],
        row!["id" => 16, "name" => "API", "type" => "http", "url" => "https://api2.example.com/"],
    ];
    for monitor in monitors {
        insert(&pool, "monitor", monitor).await;
    }
    for (i, kind) in UNSUPPORTED.iter().enumerate() {
        let name = format!("{kind} monitor");
        insert(&pool, "monitor", row!["id" => 40 + i as i64, "name" => name.as_str(), "type" => *kind, "hostname" => "h.example"]).await;
    }
    insert(
        &pool,
        "monitor_notification",
        row!["id" => 1, "monitor_id" => 3, "notification_id" => 1],
    )
    .await;
    insert(
        &pool,
        "monitor_tag",
        row!["monitor_id" => 3, "tag_id" => 1, "value" => "prod"],
    )
    .await;
    insert(
        &pool,
        "monitor_maintenance",
        row!["monitor_id" => 8, "maintenance_id" => 1],
    )
    .await;

    let page = |id: i64, slug: &'static str, title: &'static str, published: i64| row!["id" => id, "slug" => slug, "title" => title, "icon" => "/icon.svg", "theme" => "auto", "published" => published];
    let mut main = page(1, "main", "Main status", 1);
    main.push(("description", Value::from("All of it")));
    main.push(("footer_text", Value::from("© Example")));
    insert(&pool, "status_page", main).await;
    insert(
        &pool,
        "status_page",
        page(2, "Internal_Page", "Internal", 1),
    )
    .await;
    insert(&pool, "status_page", page(3, "hidden", "Hidden", 0)).await;
    let sections = [
        (1, 1, "Services", vec![3, 4, 40]),
        (2, 1, "Databases", vec![2, 9]),
        (3, 2, "Infra", vec![10, 11]),
        (4, 3, "Secret", vec![3]),
    ];
    for (id, page, name, members) in sections {
        insert(&pool, "group", row!["id" => id, "name" => name, "public" => 1, "status_page_id" => page, "weight" => id]).await;
        for (weight, monitor) in members.into_iter().enumerate() {
            insert(
                &pool,
                "monitor_group",
                row!["monitor_id" => monitor, "group_id" => id, "weight" => weight as i64],
            )
            .await;
        }
    }
    insert(
        &pool,
        "status_page_cname",
        row!["status_page_id" => 2, "domain" => "status.internal"],
    )
    .await;
    insert(
        &pool,
        "incident",
        row!["title" => "Outage", "content" => "Down", "status_page_id" => 2],
    )
    .await;

    let (beats, _) = api_beats(now);
    let mut tx = pool.begin().await.unwrap();
    for (at, status, ping, msg) in beats {
        sqlx::query("INSERT INTO heartbeat (monitor_id, status, time, ping, msg, important, duration) VALUES (3, ?, ?, ?, ?, 0, 60)")
            .bind(status)
            .bind(kuma_time(at))
            .bind(ping)
            .bind(msg)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    pool.close().await;
    Fixture { dir, path }
}

/// The secrets the fixture's config reads, as a person would set them.
fn env(name: &str) -> Option<String> {
    let value = match name {
        "KUMA_API_BASIC_AUTH" => "YWxpY2U6czNjcmV0LXBhc3N3b3Jk",
        "KUMA_API_HEADER_X_API_KEY" => "k3y-in-a-header",
        "KUMA_NIGHTLY_BACKUP_PUSH_TOKEN" => "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI",
        _ => return None,
    };
    Some(value.into())
}

async fn imported(version: Kuma) -> (Fixture, kuma::Import) {
    let fixture = fixture(version, Utc::now()).await;
    let db = KumaDb::open(&fixture.path).await.unwrap();
    let made = kuma::import(&db, "kuma.db").unwrap();
    db.close().await;
    (fixture, made)
}

fn conditions(config: &Config, name: &str) -> Vec<String> {
    service(config, name)
        .probe
        .conditions
        .iter()
        .map(|c| c.text().to_string())
        .collect()
}

fn service<'c>(config: &'c Config, name: &str) -> &'c server::config::ServiceConfig {
    config
        .service(name)
        .unwrap_or_else(|| panic!("no service {name:?}"))
}

async fn every_type_is_mapped_or_reported(version: Kuma) {
    let (_fixture, made) = imported(version).await;
    let schema = if version == Kuma::V1 { "1.23" } else { "2.x" };
    assert_eq!(made.plan.schema.label(), schema);
    let yaml = &made.yaml;
    // The file loads with Hale's own loader, secrets from the environment.
    let config =
        Config::parse(yaml, Path::new("hale.yaml"), env).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let names: Vec<&str> = config.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "API",
            "Home page",
            "No errors",
            "Health JSON",
            "Queue depth",
            "Postgres port",
            "Gateway",
            "Resolver",
            "Nightly backup",
            "Legacy port",
            "API (#16)"
        ]
    );
    for secret in [
        "s3cret-password",
        "k3y-in-a-header",
        "aB3dE5gH7jK9",
        "pushTok10x",
    ] {
        assert!(!yaml.contains(secret), "{secret} is in the file:\n{yaml}");
    }

    // HTTP: everything it sends, thresholds, timeout, group.
    let api = service(&config, "API");
    assert_eq!(api.url.as_str(), "https://api.example.com/health");
    assert_eq!(api.group.as_deref(), Some("Production"));
    assert_eq!(api.interval, Duration::from_secs(30));
    assert_eq!(api.probe.timeout, Duration::from_millis(12_500));
    assert_eq!((api.failure_threshold, api.success_threshold), (3, 1));
    assert_eq!(
        conditions(&config, "API"),
        ["[STATUS] >= 200", "[STATUS] <= 299"]
    );
    let Target::Http(http) = &api.probe.target else {
        panic!("{:?}", api.probe.target)
    };
    assert_eq!(http.method, reqwest::Method::POST);
    assert_eq!(http.body.as_deref(), Some(r#"{"ping":true}"#));
    assert!(!http.verify_tls);
    let headers: HashMap<&str, &str> = http
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        headers,
        HashMap::from([
            ("Authorization", "Basic YWxpY2U6czNjcmV0LXBhc3N3b3Jk"),
            ("X-Trace", "on"),
            ("X-Api-Key", "k3y-in-a-header"),
            ("Content-Type", "application/json"),
        ])
    );
    assert!(
        yaml.contains("\"Authorization\": \"Basic ${KUMA_API_BASIC_AUTH}\""),
        "{yaml}"
    );
    let api_entry = &yaml[yaml.find("- name: \"API\"").unwrap()..];
    let api_entry = &api_entry[..api_entry.find("\n  - ").unwrap()];
    assert!(api_entry.contains("follow_redirects: false"), "{api_entry}");

    // Keyword, inverted keyword, JSON query: status codes and the check.
    let home = service(&config, "Home page");
    assert_eq!(home.probe.timeout, Duration::from_secs(48));
    assert_eq!(home.failure_threshold, 1);
    let home_conditions = conditions(&config, "Home page");
    assert!(
        home_conditions[0].starts_with("[STATUS] == any(200, 201, "),
        "{home_conditions:?}"
    );
    assert!(
        home_conditions[0].ends_with(", 298, 299, 301)"),
        "{home_conditions:?}"
    );
    assert_eq!(home_conditions[1], "[BODY] == pat(*Welcome*)");
    assert_eq!(
        home.group.as_deref(),
        Some("Services"),
        "its one status page section"
    );
    assert_eq!(
        conditions(&config, "No errors"),
        [
            "[STATUS] >= 200",
            "[STATUS] <= 299",
            "[BODY] != pat(*error*)"
        ]
    );
    assert_eq!(
        service(&config, "No errors").probe.timeout,
        Duration::from_secs(10)
    );
    assert_eq!(
        conditions(&config, "Health JSON"),
        ["[STATUS] >= 200", "[STATUS] <= 299", "[BODY].status == ok"]
    );
    assert_eq!(
        conditions(&config, "Queue depth"),
        ["[STATUS] >= 200", "[STATUS] <= 299"]
    );

    // TCP, ICMP, DNS, push.
    let port = service(&config, "Postgres port");
    assert_eq!(port.url.as_str(), "tcp://db.internal:5432");
    assert_eq!(port.group.as_deref(), Some("Production / Databases"));
    assert_eq!(port.failure_threshold, 2);
    assert_eq!(
        conditions(&config, "Postgres port"),
        ["[CONNECTED] == true"]
    );
    assert_eq!(conditions(&config, "Legacy port"), ["[CONNECTED] == false"]);
    let gateway = service(&config, "Gateway");
    assert_eq!(gateway.url.as_str(), "icmp://10.0.0.1");
    assert_eq!(gateway.group.as_deref(), Some("Databases"));
    let resolver = service(&config, "Resolver");
    let Target::Dns(dns) = &resolver.probe.target else {
        panic!("{:?}", resolver.probe.target)
    };
    assert_eq!(dns.server, "1.1.1.1:53".parse().unwrap());
    assert_eq!(dns.question.query_type().to_string(), "AAAA");
    assert_eq!(dns.question.name().to_string(), "example.com.");
    assert_eq!(resolver.interval, Duration::from_secs(300));
    assert_eq!(
        conditions(&config, "Resolver"),
        ["[DNS_RCODE] == NOERROR", "len([BODY]) > 0"]
    );
    assert_eq!(resolver.group.as_deref(), Some("Infra"));
    let backup = service(&config, "Nightly backup");
    let Target::Push(push) = &backup.probe.target else {
        panic!("{:?}", backup.probe.target)
    };
    assert_eq!(push.token, "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI");
    assert!(push.allow_get);
    assert_eq!(backup.interval, Duration::from_secs(86_400));
    assert!(
        yaml.contains("url: \"push://${KUMA_NIGHTLY_BACKUP_PUSH_TOKEN}\""),
        "{yaml}"
    );

    // Every monitor left out is reported with its reason.
    let skipped: HashMap<i64, &str> = made
        .plan
        .skipped
        .iter()
        .map(|s| (s.kuma_id, s.reason.as_str()))
        .collect();
    assert_eq!(skipped.len(), 3 + UNSUPPORTED.len(), "{skipped:?}");
    assert_eq!(skipped[&12], "paused in Kuma");
    assert!(skipped[&13].contains("NTLM"), "{}", skipped[&13]);
    assert!(skipped[&14].contains("upside-down"), "{}", skipped[&14]);
    for i in 0..UNSUPPORTED.len() as i64 {
        assert!(
            skipped[&(40 + i)].starts_with("Hale has no"),
            "{}",
            skipped[&(40 + i)]
        );
    }
    let report = kuma::report(&made.plan, "kuma.db", "hale.yaml");
    for kind in UNSUPPORTED {
        assert!(
            report.contains(&format!("\"{kind} monitor\" ({kind}): Hale has no")),
            "{kind}:\n{report}"
        );
    }
    // And every setting of an imported one that did not come along.
    let notes = |id: i64| made.plan.service_of(id).unwrap().notes.join("\n");
    for expected in [
        "retry interval 20s",
        "notifications Slack ops",
        "tags env:prod",
        "description \"The public API\"",
    ] {
        assert!(notes(3).contains(expected), "{expected}:\n{}", notes(3));
    }
    assert!(notes(7).contains("NOT CHECKED"), "{}", notes(7));
    assert!(
        notes(8).contains("maintenance windows Patch Tuesday"),
        "{}",
        notes(8)
    );
    assert!(notes(11).contains("/api/push/"), "{}", notes(11));
    assert!(notes(16).contains("renamed"), "{}", notes(16));
    assert_eq!(
        notes(10).contains("resolvers 1.1.1.1, 9.9.9.9"),
        version == Kuma::V2,
        "{}",
        notes(10)
    );
    for note in made.plan.services.iter().flat_map(|s| &s.notes) {
        assert!(report.contains(note.as_str()), "{note}:\n{report}");
    }
    let push_secret = made
        .plan
        .secrets
        .iter()
        .find(|s| s.var == "KUMA_NIGHTLY_BACKUP_PUSH_TOKEN")
        .unwrap();
    // 1.23's push tokens are too short for Hale: the report says so.
    assert_eq!(
        push_secret.what.contains("has 10 characters"),
        version == Kuma::V1
    );
    for var in [
        "KUMA_API_BASIC_AUTH",
        "KUMA_API_HEADER_X_API_KEY",
        "KUMA_NIGHTLY_BACKUP_PUSH_TOKEN",
    ] {
        assert!(report.contains(var), "{var}:\n{report}");
    }

    // Groups and status pages.
    let groups: Vec<(&str, usize)> = made
        .plan
        .groups
        .iter()
        .map(|g| (g.path.as_str(), g.services))
        .collect();
    assert_eq!(groups, [("Production", 1), ("Production / Databases", 1)]);
    let pages: Vec<(&str, Vec<&str>)> = config
        .status_pages
        .iter()
        .map(|p| {
            (
                p.slug.as_str(),
                p.services.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        pages,
        [
            ("main", vec!["API", "Home page", "Postgres port", "Gateway"]),
            ("internal-page", vec!["Resolver", "Nightly backup"]),
        ]
    );
    assert_eq!(config.status_pages[0].title, "Main status");
    assert_eq!(
        config.status_pages[0].description.as_deref(),
        Some("All of it")
    );
    let page_notes = |i: usize| made.plan.pages[i].notes.join("\n");
    for expected in [
        "\"docker monitor\" (#40, docker) is not imported",
        "footer text",
        "group monitor \"Databases\"",
    ] {
        assert!(
            page_notes(0).contains(expected),
            "{expected}:\n{}",
            page_notes(0)
        );
    }
    for expected in [
        "slug \"Internal_Page\"",
        "domains status.internal",
        "1 incident",
    ] {
        assert!(
            page_notes(1).contains(expected),
            "{expected}:\n{}",
            page_notes(1)
        );
    }
    assert_eq!(made.plan.skipped_pages.len(), 1);
    assert!(made.plan.skipped_pages[0].reason.contains("unpublished"));
}

#[tokio::test]
async fn kuma_1_23_every_monitor_type_is_mapped_or_reported() {
    every_type_is_mapped_or_reported(Kuma::V1).await;
}

#[tokio::test]
async fn kuma_2_every_monitor_type_is_mapped_or_reported() {
    every_type_is_mapped_or_reported(Kuma::V2).await;
}

on_both_backends!(kuma_heartbeats_fill_hales_history, |backend| async move {
    for version in [Kuma::V1, Kuma::V2] {
        let db = TestDb::new(backend).await;
        let now = Utc::now();
        let fixture = fixture(version, now).await;
        let (_, (results, up, latency_us)) = api_beats(now);
        let kuma = KumaDb::open(&fixture.path).await.unwrap();
        let made = kuma::import(&kuma, "kuma.db").unwrap();
        let store = server::store::connect(&db.url).await.unwrap();
        let outcome = kuma::history::import(&kuma, &made.plan, &made.config, store.as_ref(), now)
            .await
            .unwrap();
        let api = outcome.services.iter().find(|s| s.name == "API").unwrap();
        assert_eq!((api.results, api.successes, api.older), (results, up, 5));
        assert_eq!(api.maintenance, 45);
        assert!(outcome.rollup.hours >= 71, "{:?}", outcome.rollup);

        // Hale's uptime over the three days is the heartbeats'.
        let history = History::new(store.clone(), made.config.history_settings());
        let names = ["API".to_string()];
        let from = (now - Days::days(4)).timestamp_millis();
        let totals = history
            .totals(
                &names,
                from,
                now.timestamp_millis() + 1,
                now.timestamp_millis() + 1,
            )
            .await
            .unwrap();
        let sum = &totals.services["API"];
        assert_eq!((sum.total, sum.successful), (results, up));
        assert_eq!(sum.latency_sum_us, latency_us);
        assert_eq!((sum.latency_min_us, sum.latency_max_us), (100_000, 149_000));
        let bars = history.bars(&names, now.timestamp_millis()).await.unwrap();
        let days: u64 = bars["API"].days.iter().map(|d| d.total()).sum();
        assert_eq!(days, results, "the uptime bars count them");

        // The newest result is the last beat; the changes end unknown.
        let newest = store.recent_results("API", 1).await.unwrap();
        assert_eq!(
            newest[0].checked_at.timestamp(),
            (now - Days::minutes(1)).timestamp()
        );
        assert_eq!(newest[0].status_code, Some(200));
        let changes = store.recent_status_changes("API", 2).await.unwrap();
        assert_eq!(changes[0].to, wire::ServiceStatus::Unknown);
        assert_eq!(changes[1].to, wire::ServiceStatus::Operational);

        // A second import leaves the history alone.
        let again = kuma::history::import(&kuma, &made.plan, &made.config, store.as_ref(), now)
            .await
            .unwrap();
        assert!(
            again
                .services
                .iter()
                .find(|s| s.name == "API")
                .unwrap()
                .already
        );
        let totals = history
            .totals(
                &names,
                from,
                now.timestamp_millis() + 1,
                now.timestamp_millis() + 1,
            )
            .await
            .unwrap();
        assert_eq!(totals.services["API"].total, results);
        kuma.close().await;
        store.close().await;
        drop(fixture.dir);
    }
});

fn hale() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hale"))
}

#[tokio::test]
async fn hale_import_uptime_kuma_writes_a_config_that_validates() {
    let now = Utc::now();
    let fixture = fixture(Kuma::V2, now).await;
    let out = fixture.dir.path().join("hale.yaml");
    let db = format!("sqlite://{}", fixture.dir.path().join("hale.db").display());
    let run = hale()
        .args(["import", "uptime-kuma"])
        .arg(&fixture.path)
        .arg("--out")
        .arg(&out)
        .args(["--history", "--database-url", &db])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(run.stdout.is_empty(), "the config went to --out");
    for expected in [
        "kuma.db: Uptime Kuma 2.x schema, 30 monitors, 3 status pages.",
        "Wrote 11 services, 2 groups and 2 status pages to",
        "#40 \"docker monitor\" (docker): Hale has no probe for a Docker container's state",
        "#12 \"Paused site\" (http): paused in Kuma",
        "KUMA_API_BASIC_AUTH: base64 of \"alice:<password>\"",
        "\"API\": 4275 results (3419 up), 45 maintenance beats kept as status changes only, 5 older beats left out",
    ] {
        assert!(stderr.contains(expected), "{expected}:\n{stderr}");
    }

    // `hale validate` takes the file once the secrets are set.
    let validate = |with_env: bool| {
        let mut command = hale();
        command.args(["validate", "--config"]).arg(&out);
        if with_env {
            for var in [
                "KUMA_API_BASIC_AUTH",
                "KUMA_API_HEADER_X_API_KEY",
                "KUMA_NIGHTLY_BACKUP_PUSH_TOKEN",
            ] {
                command.env(var, env(var).unwrap());
            }
        }
        command.output().unwrap()
    };
    let checked = validate(true);
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(String::from_utf8_lossy(&checked.stdout).contains("OK (11 services, 2 status pages)"));
    let unset = validate(false);
    assert!(!unset.status.success());
    assert!(String::from_utf8_lossy(&unset.stderr).contains("environment variable KUMA_"));

    // Again: the file is there (exit 1 without --force), and standard
    // output takes the config when there is no --out.
    let again = hale()
        .args(["import", "uptime-kuma"])
        .arg(&fixture.path)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists: pass --force"));
    let to_stdout = hale()
        .args(["import", "uptime-kuma"])
        .arg(&fixture.path)
        .output()
        .unwrap();
    assert!(to_stdout.status.success());
    assert_eq!(
        String::from_utf8_lossy(&to_stdout.stdout),
        std::fs::read_to_string(&out).unwrap()
    );
    let history_again = hale()
        .args(["import", "uptime-kuma"])
        .arg(&fixture.path)
        .args(["--history", "--database-url", &db])
        .output()
        .unwrap();
    assert!(history_again.status.success());
    assert!(String::from_utf8_lossy(&history_again.stderr)
        .contains("\"API\": already has history in the store"));
}

#[test]
fn hale_import_uptime_kuma_refuses_what_is_not_a_kuma_database() {
    let dir = tempfile::tempdir().unwrap();
    let missing = hale()
        .args(["import", "uptime-kuma"])
        .arg(dir.path().join("nope.db"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot open"));
    assert!(
        !dir.path().join("nope.db").exists(),
        "opened read-only, nothing made"
    );

    let other = dir.path().join("other.db");
    std::process::Command::new("sqlite3")
        .arg(&other)
        .arg("CREATE TABLE t (x);")
        .status()
        .ok();
    if !other.exists() {
        // No sqlite3 here: an empty file is a database without tables.
        std::fs::write(&other, b"").unwrap();
    }
    let not_kuma = hale()
        .args(["import", "uptime-kuma"])
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(not_kuma.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&not_kuma.stderr).contains("is not an Uptime Kuma database"),
        "{}",
        String::from_utf8_lossy(&not_kuma.stderr)
    );

    let usage = hale().args(["import", "uptime-kuma"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2), "no database named");
}

//! Gatus's own condition tests, row by row, through `hale check`: a local
//! target answers each row's status and body (after the row's response
//! time), and `hale check --condition` must say what Gatus says. The rows
//! come from Gatus's `condition_test.go` (tests/data/gatus-conditions.json).
//! Rows that need what a local HTTP target can't give — another IP, a
//! certificate, a response time within a few milliseconds of the
//! condition's bound — are checked against the evaluator itself in
//! `condition.rs`'s unit tests.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, Deserialize)]
struct Row {
    name: String,
    condition: String,
    status: Option<u16>,
    body: Option<String>,
    response_time_ms: Option<u64>,
    connected: Option<bool>,
    ip: Option<String>,
    certificate_expiration_ms: Option<u64>,
    expected_success: bool,
}

/// The number a `[RESPONSE_TIME]` condition compares with, in ms.
fn bound_ms(condition: &str) -> Option<u64> {
    let right = condition.rsplit(' ').next()?;
    right.parse::<u64>().ok().or_else(|| {
        humantime::parse_duration(right)
            .ok()
            .map(|d| d.as_millis() as u64)
    })
}

/// Whether a local HTTP target can stand for the row.
fn reproducible(row: &Row) -> bool {
    let ip_is_ours = row.ip.as_deref().is_none_or(|ip| ip == "127.0.0.1");
    let timing_is_clear = match (row.response_time_ms, bound_ms(&row.condition)) {
        // A sleep is never shorter than asked, but may be much longer on a
        // loaded machine: a row that answers over the bound is safe by
        // any margin, one under it needs room for scheduling (the rows
        // run together, with the rest of the tests).
        (Some(took), Some(bound)) => took > bound + 20 || took + 200 <= bound,
        _ => true,
    };
    ip_is_ours && timing_is_clear && row.certificate_expiration_ms.is_none()
}

async fn answer(
    State(rows): State<Arc<Vec<Row>>>,
    Path(index): Path<usize>,
) -> (StatusCode, String) {
    let row = &rows[index];
    if let Some(ms) = row.response_time_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let status = StatusCode::from_u16(row.status.unwrap_or(200)).unwrap();
    (status, row.body.clone().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hale_check_agrees_with_every_row_of_gatus_s_condition_tests() {
    let rows: Vec<Row> =
        serde_json::from_str(include_str!("../data/gatus-conditions.json")).unwrap();
    assert_eq!(rows.len(), 98, "Gatus's table has 98 rows");
    let rows = Arc::new(rows);
    let app = Router::new()
        .route("/row/{index}", get(answer))
        .with_state(rows.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();

    let checks = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| reproducible(r))
        .map(|(i, row)| {
            let url = match row.connected {
                // A port nothing listens on: no connection.
                Some(false) => format!("http://{closed}/"),
                _ => format!("{base}/row/{i}"),
            };
            async move {
                let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hale"))
                    .args([
                        "check",
                        &url,
                        "--timeout",
                        "5s",
                        "--condition",
                        &row.condition,
                    ])
                    .output()
                    .await
                    .unwrap();
                let verdict = match out.status.code() {
                    Some(0) => Ok(true),
                    Some(1) => Ok(false),
                    _ => Err(String::from_utf8_lossy(&out.stderr).to_string()),
                };
                (row, verdict)
            }
        });
    let outcomes = futures_util::future::join_all(checks).await;
    assert!(outcomes.len() >= 85, "only {} rows ran", outcomes.len());
    let wrong: Vec<String> = outcomes
        .iter()
        .filter(|(row, verdict)| verdict.as_ref() != Ok(&row.expected_success))
        .map(|(row, verdict)| {
            format!(
                "{} `{}`: Gatus says {}, hale check {:?}",
                row.name, row.condition, row.expected_success, verdict
            )
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

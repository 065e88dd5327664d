//! A fake fleet of targets: one HTTP server whose paths behave as asked.
//!
//! - `/ok/<i>`: 200 with a small JSON body, at once;
//! - `/slow/<ms>/<i>`: 200 after `<ms>` milliseconds;
//! - `/fail/<i>`: 500;
//! - `/hang/<i>`: never answers;
//! - `/flap/<s>/<i>`: 200 and 500 by turns, `<s>` seconds each (by the
//!   wall clock), so a service probed there changes status now and then;
//! - `POST /hook/<i>`: 200, taking an alert channel's message.
//!
//! Run it in its own process (`spawn`) so a benchmark measures Hale alone.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The flag a benchmark binary recognises to become the fleet.
pub const FLAG: &str = "--fake-fleet";

pub fn router() -> Router {
    Router::new()
        .route("/ok/{i}", get(|| async { r#"{"status":"UP"}"# }))
        .route(
            "/slow/{ms}/{i}",
            get(|Path((ms, _)): Path<(u64, u64)>| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                r#"{"status":"UP"}"#
            }),
        )
        .route(
            "/fail/{i}",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, r#"{"status":"DOWN"}"#) }),
        )
        .route("/hang/{i}", get(std::future::pending::<&'static str>))
        .route("/hook/{i}", post(|| async { "ok" }))
        .route(
            "/flap/{s}/{i}",
            get(|Path((s, _)): Path<(u64, u64)>| async move {
                let secs = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                if (secs / s.max(1)).is_multiple_of(2) {
                    (StatusCode::OK, r#"{"status":"UP"}"#)
                } else {
                    (StatusCode::INTERNAL_SERVER_ERROR, r#"{"status":"DOWN"}"#)
                }
            }),
        )
}

/// Serves the fleet on a free loopback port, printing it, until killed.
pub fn serve_forever() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        axum::serve(listener, router()).await.unwrap();
    });
}

/// The fleet in a child process (this same binary with [`FLAG`]).
pub struct Fleet {
    pub base: String,
    child: Child,
}

impl Fleet {
    pub fn spawn() -> Fleet {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg(FLAG)
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the fake fleet");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Fleet {
            base: format!("http://{}", line.trim()),
            child,
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

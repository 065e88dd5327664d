//! Connection hygiene (`api::serve`): half-sent request heads are closed
//! at the deadline, open connections are capped, and the cap's slots come
//! back when sockets close.

use crate::helpers::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Raises this process's soft open-files limit toward `wanted` (the test
/// holds both ends of every connection); returns what it got.
fn open_files(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on a struct we own.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    limit.rlim_cur
}

/// Reads until the server closes the socket; false if it is still open
/// after `within`.
async fn closed_by_server(socket: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_request_heads_are_closed_at_the_deadline() {
    let clients = if open_files(10_000) >= 5_000 {
        2_000
    } else {
        400
    };
    let db = TestDb::new(Backend::Sqlite).await;
    let app = spawn_app_with(db, ONE_SERVICE, |settings| {
        settings.serve.header_read = Duration::from_secs(1);
        settings.serve.trim_check = Duration::from_millis(50);
    })
    .await;
    let addr = app.hale.addr;
    let mut sockets = Vec::with_capacity(clients);
    for _ in 0..clients {
        let mut socket = TcpStream::connect(addr).await.unwrap();
        socket
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: hale\r\nX-Half: ")
            .await
            .unwrap();
        sockets.push(socket);
    }
    // Meanwhile a whole request is answered.
    assert_eq!(app.get("/api/health").await.status(), 200);
    for (i, socket) in sockets.iter_mut().enumerate() {
        assert!(
            closed_by_server(socket, Duration::from_secs(10)).await,
            "connection {i} of {clients} still open"
        );
    }
    eventually("the slots given back", || async {
        (app.hale.connections().open() == 0).then_some(())
    })
    .await;
    // The burst is over: its freed memory is handed back to the system
    // (the halfopen benchmark measures how much).
    let trims = || {
        app.hale
            .connections()
            .trims
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    eventually("freed memory handed back", || async {
        (trims() >= 1).then_some(())
    })
    .await;
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_are_closed_and_slots_come_back() {
    let db = TestDb::new(Backend::Sqlite).await;
    let app = spawn_app_with(db, ONE_SERVICE, |settings| {
        settings.serve.max_connections = 8;
    })
    .await;
    let addr = app.hale.addr;
    let open = || app.hale.connections().open();
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    eventually("eight connections open", || async {
        (open() == 8).then_some(())
    })
    .await;
    let mut ninth = TcpStream::connect(addr).await.unwrap();
    assert!(closed_by_server(&mut ninth, Duration::from_secs(10)).await);
    assert_eq!(
        app.hale
            .connections()
            .refused
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // One closes; a request gets through again.
    drop(held.pop());
    eventually("a slot given back", || async {
        (open() == 7).then_some(())
    })
    .await;
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: hale\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    app.hale.shutdown().await;
}

//! Serving connections: HTTP/1.1 with a deadline on every request head, a
//! cap on open connections, and a drain at shutdown.
//!
//! `axum::serve` sets no timer, so hyper's header-read timeout is off and
//! a client that sends half a request head is held for ever; nor does it
//! cap connections, so enough of them exhaust memory and the file
//! descriptors probes and the database need. Here each connection is
//! served by hyper's HTTP/1 builder with a timer: the head must arrive
//! within [`ServeLimits::header_read`], which also bounds the idle time
//! between keep-alive requests. A connection holds a slot of
//! [`ServeLimits::max_connections`] until its socket closes (through a
//! WebSocket upgrade too); past the cap a new connection is closed at once.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt as _;

/// How long a request head may take to arrive, and a kept-alive
/// connection may sit idle.
pub const HEADER_READ: Duration = Duration::from_secs(10);
/// Open connections at once. Each is a file descriptor and a few KiB; the
/// live page holds one per viewer.
pub const MAX_CONNECTIONS: usize = 20_000;

#[derive(Clone, Debug)]
pub struct ServeLimits {
    pub header_read: Duration,
    pub max_connections: usize,
    /// How long shutdown waits for requests in flight.
    pub drain: Duration,
}

impl Default for ServeLimits {
    fn default() -> ServeLimits {
        ServeLimits {
            header_read: HEADER_READ,
            max_connections: MAX_CONNECTIONS,
            drain: Duration::from_secs(5),
        }
    }
}

/// The connection slots, and what they count for `/metrics` and tests.
#[derive(Debug)]
pub struct ConnectionStats {
    slots: Arc<Semaphore>,
    max: usize,
    /// Closed at once because every slot was taken.
    pub refused: AtomicU64,
}

impl ConnectionStats {
    pub fn new(max_connections: usize) -> ConnectionStats {
        ConnectionStats {
            slots: Arc::new(Semaphore::new(max_connections)),
            max: max_connections,
            refused: AtomicU64::new(0),
        }
    }

    /// Connections open now: the slots taken.
    pub fn open(&self) -> usize {
        self.max - self.slots.available_permits()
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets
/// requests in flight finish for up to `limits.drain`. Connections take
/// their slots from `stats`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    stats: Arc<ConnectionStats>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    // `stop` tells connections to finish; every connection task holds a
    // `done` receiver, so `done_tx.closed()` is when all have ended.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    accept_error(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = stats.slots.clone().try_acquire_owned() else {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%remote, "every connection slot is taken; closing");
            continue;
        };
        // Live messages are small and must not wait for the previous
        // one's ACK (Nagle's algorithm).
        let _ = tcp.set_nodelay(true);
        let io = TokioIo::new(Slotted {
            io: tcp,
            _slot: slot,
        });
        let service = app
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(remote));
                request
            });
        let connection = http
            .serve_connection(io, TowerToHyperService::new(service))
            .with_upgrades();
        let mut stop = stop_rx.clone();
        let done = done_rx.clone();
        tokio::spawn(async move {
            let mut connection = pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = async { let _ = stop.wait_for(|&stop| stop).await; } => {
                    connection.as_mut().graceful_shutdown();
                    connection.as_mut().await
                }
            };
            if let Err(error) = ended {
                // A head that took too long ends here too.
                tracing::debug!(%remote, %error, "connection ended");
            }
            drop(done);
        });
    }
    drop(listener);
    stop_tx.send_replace(true);
    drop(done_rx);
    let _ = tokio::time::timeout(limits.drain, done_tx.closed()).await;
    Ok(())
}

/// The socket with its slot: a WebSocket upgrade hands the socket on,
/// slot and all, so the slot is held until the socket closes.
struct Slotted<T> {
    io: T,
    _slot: OwnedSemaphorePermit,
}

impl<T: AsyncRead + Unpin> AsyncRead for Slotted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Slotted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// As axum's listener does: a reset before accept is nobody's problem;
/// anything else (out of file descriptors) is logged and waited out.
async fn accept_error(error: io::Error) {
    use io::ErrorKind::*;
    if matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

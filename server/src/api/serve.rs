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
//!
//! Memory a burst of connections used is freed when they close, but
//! glibc's allocator keeps freed pages in its per-thread arenas: after
//! 2,000 half-sent heads Hale kept 50 MiB it no longer used. So once the
//! open connections fall [`TRIM_AFTER`] below their peak, the allocator
//! is asked to give its free pages back (`malloc_trim`).

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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
/// Connections closed since the peak before freed memory is handed back
/// to the system (each held a few tens of KiB).
pub const TRIM_AFTER: usize = 256;

#[derive(Clone, Debug)]
pub struct ServeLimits {
    pub header_read: Duration,
    pub max_connections: usize,
    /// How long shutdown waits for requests in flight.
    pub drain: Duration,
    /// How often the open connections are compared with their peak, to
    /// hand freed memory back after a burst.
    pub trim_check: Duration,
}

impl Default for ServeLimits {
    fn default() -> ServeLimits {
        ServeLimits {
            header_read: HEADER_READ,
            max_connections: MAX_CONNECTIONS,
            drain: Duration::from_secs(5),
            trim_check: Duration::from_secs(5),
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
    /// The most connections open at once since memory was last trimmed.
    peak: AtomicUsize,
    /// Times freed memory was handed back after a burst.
    pub trims: AtomicU64,
}

impl ConnectionStats {
    pub fn new(max_connections: usize) -> ConnectionStats {
        ConnectionStats {
            slots: Arc::new(Semaphore::new(max_connections)),
            max: max_connections,
            refused: AtomicU64::new(0),
            peak: AtomicUsize::new(0),
            trims: AtomicU64::new(0),
        }
    }

    /// Connections open now: the slots taken.
    pub fn open(&self) -> usize {
        self.max - self.slots.available_permits()
    }

    /// Whether [`TRIM_AFTER`] connections closed since the peak; if so the
    /// peak starts again from what is open now.
    fn burst_over(&self) -> bool {
        let open = self.open();
        let peak = self.peak.load(Ordering::Relaxed);
        if peak < open + TRIM_AFTER {
            return false;
        }
        self.peak.store(open, Ordering::Relaxed);
        true
    }
}

/// Hands the allocator's free pages back to the system after each burst
/// of connections, checking every `every`.
async fn trim_after_bursts(stats: Arc<ConnectionStats>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if stats.burst_over() {
            let _ = tokio::task::spawn_blocking(trim).await;
            stats.trims.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Returns the allocator's free memory to the system where it can.
fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and only walks the
    // allocator's own arenas, under their locks.
    unsafe {
        libc::malloc_trim(0);
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
    let trimmer = tokio::spawn(trim_after_bursts(stats.clone(), limits.trim_check));
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
        stats.peak.fetch_max(stats.open(), Ordering::Relaxed);
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
    trimmer.abort();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_trimmed_once_per_burst_of_closed_connections() {
        let stats = ConnectionStats::new(1_000);
        let take = |n: usize| {
            stats
                .slots
                .clone()
                .try_acquire_many_owned(n as u32)
                .unwrap()
        };
        let burst = take(300);
        stats.peak.fetch_max(stats.open(), Ordering::Relaxed);
        assert!(!stats.burst_over(), "still open");
        drop(burst);
        assert!(stats.burst_over(), "300 closed");
        assert!(!stats.burst_over(), "the same burst counts once");
        let small = take(TRIM_AFTER - 1);
        stats.peak.fetch_max(stats.open(), Ordering::Relaxed);
        drop(small);
        assert!(!stats.burst_over(), "fewer than TRIM_AFTER closed");
    }
}

//! Rendered status pages, reused while nothing that matters on them has
//! changed.
//!
//! A public status page is read far more often than it changes: when an
//! incident is on, thousands of people reload it. A render costs
//! milliseconds (about 5 µs a service, docs/benchmarks.md); serving the
//! same bytes again costs microseconds. So a status page's render is kept
//! with the board's [`Freshness`] it was made from, and served again —
//! with its gzip form, compressed once off the async workers — for up to
//! [`MAX_AGE`] (two heartbeats' worth of probe results: the page's
//! WebSocket brings every visitor up to date within that time anyway), but
//! never once a status has changed, the config was reloaded, the bars were
//! loaded, or the UTC day turned (bars end today). What a visitor gets
//! shows every status a fresh render would, and is at most [`MAX_AGE`]
//! behind it on latencies and check times.
//!
//! Only the pages the config names are kept (`/` and `/status/<slug>`), one
//! entry each whatever the query string (the page reads none; links shared
//! with `?utm_source=…` still hit), so no request can grow the cache. One
//! request renders while the others for the same page wait for it, instead
//! of all rendering at once after a change. A render has no size limit: a
//! page of 10,000 services is about 8 MB of HTML.

use super::AppState;
use crate::engine::board::Freshness;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// The longest a render is reused: probe results newer than it are on
/// every live page within a heartbeat (2 s).
pub const MAX_AGE: Duration = Duration::from_secs(2);

struct Render {
    freshness: Freshness,
    made: Instant,
    headers: HeaderMap,
    body: Bytes,
    gzip: Bytes,
}

/// A page's kept render; its lock is held while it is made again.
type Slot = Arc<tokio::sync::Mutex<Option<Render>>>;

#[derive(Clone)]
pub struct PageCache {
    pages: Arc<Mutex<HashMap<String, Slot>>>,
    enabled: bool,
    /// Tells this process's validators from another's (versions restart
    /// at 0).
    epoch: u64,
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache::new(true)
    }
}

impl PageCache {
    pub fn new(enabled: bool) -> PageCache {
        PageCache {
            pages: Default::default(),
            enabled,
            epoch: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        }
    }

    /// Serves `path` from a kept render when it is current, else from
    /// `render` (kept if it answered 200).
    pub async fn serve<F>(
        &self,
        path: &str,
        freshness: Freshness,
        request: &HeaderMap,
        render: F,
    ) -> Response
    where
        F: Future<Output = Response>,
    {
        let slot = self
            .pages
            .lock()
            .expect("page cache lock")
            .entry(path.to_string())
            .or_default()
            .clone();
        let mut slot = slot.lock().await;
        let current = slot.as_ref().is_some_and(|r| {
            r.freshness.shows_statuses_of(&freshness) && r.made.elapsed() < MAX_AGE
        });
        if !current {
            let response = render.await;
            match keep(response, freshness).await {
                Ok(render) => *slot = Some(render),
                Err(response) => return response,
            }
        }
        let render = slot.as_ref().expect("a current render");
        answer(render, self.epoch, request)
    }
}

/// A 200 answer taken whole, with its gzip form; any other answer back as
/// it was (or rebuilt from its bytes).
async fn keep(response: Response, freshness: Freshness) -> Result<Render, Response> {
    if response.status() != StatusCode::OK {
        return Err(response);
    }
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(%err, "reading a rendered page");
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
    };
    // Megabytes of compression would hold an async worker for tens of ms.
    let plain = body.clone();
    let gzip = tokio::task::spawn_blocking(move || {
        let mut encoder = flate2::write::GzEncoder::new(
            Vec::with_capacity(plain.len() / 8),
            flate2::Compression::fast(),
        );
        encoder.write_all(&plain).expect("writing to memory");
        Bytes::from(encoder.finish().expect("writing to memory"))
    })
    .await
    .map_err(|err| {
        tracing::error!(%err, "compressing a rendered page");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })?;
    Ok(Render {
        freshness,
        made: Instant::now(),
        headers: parts.headers,
        body,
        gzip,
    })
}

/// A weak validator: the same board on the same day is the same page, bar
/// its "Rendered at" line; each encoding has its own.
fn etag(render: &Render, epoch: u64, gzip: bool) -> String {
    let Freshness { version, day, .. } = render.freshness;
    let coding = if gzip { "-gz" } else { "" };
    format!("W/\"{epoch:x}-{version}-{day}{coding}\"")
}

fn answer(render: &Render, epoch: u64, request: &HeaderMap) -> Response {
    let gzip = super::site::accepts(request, "gzip");
    let tag = etag(render, epoch, gzip);
    let mut headers = render.headers.clone();
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&tag).expect("a valid header"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    // Revalidate every time: the page is live.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let matches = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == tag.trim_start_matches("W/") || t == "*");
    if matches {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let body = if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        render.gzip.clone()
    } else {
        render.body.clone()
    };
    (headers, Body::from(body)).into_response()
}

/// The middleware: status pages the config names go through the cache;
/// everything else passes by.
pub async fn status_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::GET || !state.pages.enabled {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let page = match path.strip_prefix("/status/") {
        None => path == "/",
        Some(slug) => state
            .live
            .board
            .config()
            .status_pages
            .iter()
            .any(|p| p.slug == slug),
    };
    if !page {
        return next.run(request).await;
    }
    let freshness = state.live.board.freshness();
    let path = path.to_string();
    let headers = request.headers().clone();
    state
        .pages
        .serve(&path, freshness, &headers, next.run(request))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A board `version` changes in, every one a status change.
    fn fresh(version: u64) -> Freshness {
        Freshness {
            version,
            changes: version,
            day: chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
        }
    }

    /// `fresh(changes)` with `probes` more probe results on top.
    fn probed(changes: u64, probes: u64) -> Freshness {
        Freshness {
            version: changes + probes,
            ..fresh(changes)
        }
    }

    /// A renderer that counts its renders and says which one it was.
    fn renderer(count: &Arc<AtomicUsize>, status: StatusCode) -> impl Future<Output = Response> {
        let count = count.clone();
        async move {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                format!("<p>render {n}</p>"),
            )
                .into_response()
        }
    }

    async fn text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), HeaderValue::from_static(v)))
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_render_is_reused_until_a_status_changes_the_day_turns_or_two_seconds_pass() {
        let cache = PageCache::default();
        let renders = Arc::new(AtomicUsize::new(0));
        let none = HeaderMap::new();
        let get = |freshness| {
            let (cache, renders) = (cache.clone(), renders.clone());
            async move {
                let r = cache
                    .serve("/", freshness, &HeaderMap::new(), async move {
                        renderer(&renders, StatusCode::OK).await
                    })
                    .await;
                text(r).await
            }
        };
        assert_eq!(get(fresh(1)).await, "<p>render 1</p>");
        assert_eq!(get(fresh(1)).await, "<p>render 1</p>");
        assert_eq!(
            get(probed(1, 50)).await,
            "<p>render 1</p>",
            "probe results alone: live pages bring them"
        );
        assert_eq!(get(fresh(2)).await, "<p>render 2</p>", "a status changed");
        assert_eq!(
            get(fresh(1)).await,
            "<p>render 2</p>",
            "a request that read an older board takes the newer render"
        );
        let tomorrow = Freshness {
            day: fresh(2).day.succ_opt().unwrap(),
            ..fresh(2)
        };
        assert_eq!(get(tomorrow).await, "<p>render 3</p>", "the day turned");
        tokio::time::advance(MAX_AGE - Duration::from_millis(1)).await;
        assert_eq!(get(tomorrow).await, "<p>render 3</p>");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(get(tomorrow).await, "<p>render 4</p>", "two seconds passed");
        // Another page is kept apart.
        let other = cache
            .serve("/status/public", fresh(2), &none, async {
                renderer(&renders, StatusCode::OK).await
            })
            .await;
        assert_eq!(text(other).await, "<p>render 5</p>");
        assert_eq!(renders.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn gzip_when_asked_and_the_same_page_either_way() {
        let cache = PageCache::default();
        let renders = Arc::new(AtomicUsize::new(0));
        let ask = headers(&[(header::ACCEPT_ENCODING, "br;q=1.0, gzip;q=0.8")]);
        let gz = cache
            .serve("/", fresh(1), &ask, renderer(&renders, StatusCode::OK))
            .await;
        assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
        let gz_tag = gz.headers()[header::ETAG].clone();
        assert!(gz_tag.to_str().unwrap().starts_with("W/\""), "{gz_tag:?}");
        assert_eq!(gz.headers()[header::VARY], "accept-encoding");
        assert_eq!(
            gz.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let bytes = axum::body::to_bytes(gz.into_body(), usize::MAX)
            .await
            .unwrap();
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, "<p>render 1</p>");

        let refused = headers(&[(header::ACCEPT_ENCODING, "gzip;q=0, identity")]);
        let plain = cache
            .serve("/", fresh(1), &refused, renderer(&renders, StatusCode::OK))
            .await;
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_ne!(
            plain.headers()[header::ETAG],
            gz_tag,
            "one validator per encoding"
        );
        assert_eq!(text(plain).await, "<p>render 1</p>");
        assert_eq!(renders.load(Ordering::SeqCst), 1, "one render for both");
    }

    #[tokio::test]
    async fn a_known_etag_gets_304_and_a_stale_one_the_page() {
        let cache = PageCache::default();
        let renders = Arc::new(AtomicUsize::new(0));
        let first = cache
            .serve(
                "/",
                fresh(1),
                &HeaderMap::new(),
                renderer(&renders, StatusCode::OK),
            )
            .await;
        let etag = first.headers()[header::ETAG].clone();
        let mut ask = HeaderMap::new();
        ask.insert(header::IF_NONE_MATCH, etag.clone());
        let again = cache
            .serve("/", fresh(1), &ask, renderer(&renders, StatusCode::OK))
            .await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(text(again).await, "");
        let changed = cache
            .serve("/", fresh(2), &ask, renderer(&renders, StatusCode::OK))
            .await;
        assert_eq!(changed.status(), StatusCode::OK);
        assert_ne!(changed.headers()[header::ETAG], etag);
        assert_eq!(text(changed).await, "<p>render 2</p>");
    }

    #[tokio::test]
    async fn errors_are_served_but_never_kept() {
        let cache = PageCache::default();
        let renders = Arc::new(AtomicUsize::new(0));
        for n in 1..=2 {
            let r = cache
                .serve(
                    "/status/x",
                    fresh(1),
                    &HeaderMap::new(),
                    renderer(&renders, StatusCode::NOT_FOUND),
                )
                .await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
            assert_eq!(text(r).await, format!("<p>render {n}</p>"));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_arriving_together_share_one_render() {
        let cache = PageCache::default();
        let renders = Arc::new(AtomicUsize::new(0));
        let gets = (0..20).map(|_| {
            let (cache, renders) = (cache.clone(), renders.clone());
            tokio::spawn(async move {
                let r = cache
                    .serve("/", fresh(7), &HeaderMap::new(), async move {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        renderer(&renders, StatusCode::OK).await
                    })
                    .await;
                text(r).await
            })
        });
        for get in gets.collect::<Vec<_>>() {
            assert_eq!(get.await.unwrap(), "<p>render 1</p>");
        }
        assert_eq!(renders.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn reads_accept_encoding_as_browsers_send_it() {
        let accepts = |v: &'static str| {
            crate::api::site::accepts(&headers(&[(header::ACCEPT_ENCODING, v)]), "gzip")
        };
        assert!(accepts("gzip, deflate, br, zstd"));
        assert!(accepts("GZIP"));
        assert!(accepts("*"));
        assert!(accepts("br, gzip;q=0.5"));
        assert!(!accepts("br"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("identity"));
        assert!(!crate::api::site::accepts(&HeaderMap::new(), "gzip"));
    }
}

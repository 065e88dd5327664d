//! # Layout
//!
//! The Leptos application: what a person sees, rendered on the server. In
//! the browser only the live parts hydrate (Leptos islands): each page has
//! one `#[island]`, given the data it was rendered from as its props; the
//! rest (routes, titles, the 404 page) is the server's HTML alone, and the
//! browser's wasm doesn't carry it. Links are plain page loads.
//!
//! - [`shell`] and [`App`] (this file): the HTML document and the routes.
//! - The shared types (service status, page snapshot, WebSocket messages)
//!   live in the `wire` crate, which the server's engine uses without
//!   Leptos.
//! - [`status_page`]: the status page (`/` and `/status/<slug>`) and its
//!   server function, with the server-only snapshot source in `ssr`. Its
//!   island is the top of the page (overall state, what is wrong, filter,
//!   view); its services are server-built HTML ([`board_html`], about
//!   0.8 KiB a card), which [`board_live`] keeps current in the browser.
//! - [`detail_page`]: a service's page (`/services/<service>` and
//!   `/status/<slug>/<service>`): window figures, latency chart, recent
//!   results; its server function reads the server-only `ssr::Details`.
//!   Its island is lazy: in the browser its code is a wasm chunk of its
//!   own, fetched when a detail page is shown (`cargo leptos build
//!   --split`), so the status page's wasm doesn't carry it.
//! - [`uptime_bar`] and [`latency_chart`]: the 90-day bar (on cards and
//!   detail pages) and the 24-hour latency chart.
//! - [`account`]: the sign-in page and the account page, forms without
//!   islands.
//! - [`live`]: the browser's WebSocket client: applies live events to the
//!   page's signals, reconnects with back-off, and tells connected /
//!   reconnecting / stale apart.

#![recursion_limit = "256"]

pub mod account;
pub mod board_html;
pub mod board_live;
pub mod detail_page;
pub mod diagnostics_panel;
pub mod latency_chart;
pub mod live;
pub mod status_page;
pub mod uptime_bar;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

pub use detail_page::ServiceDetailPage;
pub use status_page::{NotFound, StatusPage};

/// Records a named moment in the browser's performance timeline (in
/// milliseconds since navigation began), for measurements from outside.
pub fn performance_mark(name: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = name;
}

/// The Content-Security-Policy of Hale's answers. Scripts, styles,
/// connections and images come from Hale itself; the wasm may be compiled
/// (`'wasm-unsafe-eval'`); an inline script runs only with the page's
/// `nonce` (Leptos puts it on the hydration scripts); styles may be
/// inline (`style=` attributes); nothing may frame the page; forms post
/// only to Hale. Answers that are not pages get it without a nonce.
pub fn content_security_policy(nonce: Option<&str>) -> String {
    let scripts = match nonce {
        Some(nonce) => format!("'self' 'wasm-unsafe-eval' 'nonce-{nonce}'"),
        None => "'self' 'wasm-unsafe-eval'".into(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The page's policy names the nonce of this render's scripts (a kept
    // render is sent with the headers it was made with).
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        let nonce = leptos::nonce::use_nonce().map(|n| n.to_string());
        if let Ok(value) = http::HeaderValue::from_str(&content_security_policy(nonce.as_deref())) {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="stylesheet" id="hale" href=format!("/{}/hale.css", options.site_pkg_dir) />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    // Status and service pages render in `Async` mode: the whole page is
    // sent once its data is ready, so it is complete without JavaScript
    // (scrapers, curl, people with scripts off) and an unknown slug or
    // service can still answer 404.
    view! {
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Meta name="description" content="Live service status" />
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=StatusPage ssr=SsrMode::Async />
                <Route path=path!("/status/:slug") view=StatusPage ssr=SsrMode::Async />
                <Route path=path!("/services/:service") view=ServiceDetailPage ssr=SsrMode::Async />
                <Route path=path!("/status/:slug/:service") view=ServiceDetailPage ssr=SsrMode::Async />
                <Route path=path!("/login") view=account::LoginPage />
                <Route path=path!("/account") view=account::AccountPage />
            </Routes>
        </Router>
    }
}

//! The status page: `/` (the default page) and `/status/<slug>`.
//!
//! Rendered on the server from a [`PageSnapshot`], then hydrated; from then
//! on the page's signals follow the live hub (see [`crate::live`]). Each
//! card links to its service's page ([`crate::detail_page`]).

use crate::live::{self, Connection};
use crate::uptime_bar::UptimeBarView;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use wire::{overall_headline, PageSnapshot, ServiceStatus, ServiceView};

/// Loads a page's snapshot: `None` for the default page, or a slug.
/// `Ok(None)` means there is no such page.
#[server]
pub async fn get_status_page(slug: Option<String>) -> Result<Option<PageSnapshot>, ServerFnError> {
    let source = use_context::<ssr::Snapshots>()
        .ok_or_else(|| ServerFnError::new("the status page source is not configured"))?;
    Ok(source.0.page(slug.as_deref()))
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::sync::Arc;
    use wire::PageSnapshot;

    /// Where the server's render gets the current truth from. The server
    /// crate implements it over its live state; the app only reads it.
    pub trait SnapshotSource: Send + Sync + 'static {
        /// The page for `slug`, or the default page for `None`.
        fn page(&self, slug: Option<&str>) -> Option<PageSnapshot>;
    }

    /// The context value the server provides to every render.
    #[derive(Clone)]
    pub struct Snapshots(pub Arc<dyn SnapshotSource>);
}

#[component]
pub fn StatusPage() -> impl IntoView {
    let params = use_params_map();
    let page = Resource::new(move || params.read().get("slug"), get_status_page);

    view! {
        <Suspense fallback=|| view! { <p class="p-8 text-slate-500">"Loading status…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(Some(snapshot)) => view! {
                        <Title text=snapshot.title.clone() />
                        <LivePage snapshot />
                    }
                    .into_any(),
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(err) => view! { <LoadError message=err.to_string() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A page whose cards follow the live hub: an island, the one part of the
/// status page the browser hydrates, from the snapshot the server rendered
/// it with (sent along as its props).
#[island]
fn LivePage(snapshot: PageSnapshot) -> impl IntoView {
    let connection = RwSignal::new(Connection::Connecting);
    let groups: Vec<(Option<String>, Vec<RwSignal<ServiceView>>)> = snapshot
        .groups
        .into_iter()
        .map(|g| (g.name, g.services.into_iter().map(RwSignal::new).collect()))
        .collect();
    let services: Vec<RwSignal<ServiceView>> =
        groups.iter().flat_map(|(_, s)| s.iter().copied()).collect();

    let statuses = {
        let services = services.clone();
        Memo::new(move |_| {
            services
                .iter()
                .map(|s| s.with(|v| v.status))
                .collect::<Vec<_>>()
        })
    };
    let overall = Memo::new(move |_| statuses.with(|s| ServiceStatus::worst(s.iter().copied())));

    live::follow(services, connection, None);
    // Effects run once the page is hydrated (its Suspense content too):
    // when it answers clicks and keys (benches/page.rs reads this).
    Effect::new(|_| crate::performance_mark("hale:hydrated"));

    let slug = snapshot.slug.clone();
    let report_slug = slug.clone();
    let title = snapshot.title.clone();
    let rendered_at = snapshot.generated_at;
    view! {
        <div class="mx-auto max-w-3xl px-4 py-10 sm:py-14">
            <header class="mb-8 flex flex-wrap items-start justify-between gap-4">
                <div>
                    <h1 class="text-2xl font-semibold tracking-tight sm:text-3xl">{title}</h1>
                    {snapshot
                        .description
                        .map(|d| view! { <p class="mt-1 text-slate-600 dark:text-slate-400">{d}</p> })}
                </div>
                <LiveIndicator connection />
            </header>

            <section
                data-overall-status=move || overall.get().as_str()
                class=move || format!("flex items-center gap-3 rounded-xl px-5 py-4 shadow-sm ring-1 {}", banner_class(overall.get()))
                aria-live="polite"
            >
                <span class=move || format!("h-3 w-3 shrink-0 rounded-full {}", dot_class(overall.get()))></span>
                <h2 class="text-lg font-medium">
                    {move || statuses.with(|s| overall_headline(overall.get(), s))}
                </h2>
            </section>

            {groups
                .into_iter()
                .map(|(name, services)| {
                    view! {
                        <section class="mt-8">
                            {name.map(|n| view! {
                                <h3 class="mb-2 text-sm font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">{n}</h3>
                            })}
                            <ul class="divide-y divide-slate-200 overflow-hidden rounded-xl bg-white shadow-sm ring-1 ring-slate-200 dark:divide-slate-800 dark:bg-slate-900 dark:ring-slate-800">
                                {services
                                    .into_iter()
                                    .map(|svc| view! { <ServiceCard svc slug=slug.clone() /> })
                                    .collect_view()}
                            </ul>
                        </section>
                    }
                })
                .collect_view()}

            <DownloadReport slug=report_slug />

            <PageFooter rendered_at />
        </div>
    }
    .into_any()
}

/// "Download report": a plain form (it works without JavaScript) asking
/// `/api/reports` for the page's report over a window or custom dates.
#[component]
fn DownloadReport(slug: String) -> impl IntoView {
    let custom = RwSignal::new(false);
    view! {
        <form
            method="get"
            action="/api/reports"
            data-download-report
            class="mt-8 flex flex-wrap items-end gap-3 rounded-xl bg-white px-4 py-3 text-sm shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800"
        >
            {(!slug.is_empty()).then(|| view! { <input type="hidden" name="page" value=slug.clone() /> })}
            <label class="flex flex-col gap-1">
                <span class="text-xs font-medium text-slate-500 dark:text-slate-400">"Health report"</span>
                <select
                    name="window"
                    class="rounded-md border border-slate-300 bg-white px-2 py-1 dark:border-slate-700 dark:bg-slate-800"
                    on:change=move |ev| custom.set(event_target_value(&ev) == "custom")
                >
                    <option value="24h" selected>"Last 24 hours"</option>
                    <option value="7d">"Last 7 days"</option>
                    <option value="30d">"Last 30 days"</option>
                    <option value="90d">"Last 90 days"</option>
                    <option value="custom">"Custom range"</option>
                </select>
            </label>
            <label class="flex flex-col gap-1" data-custom-range hidden=move || !custom.get()>
                <span class="text-xs font-medium text-slate-500 dark:text-slate-400">"From (UTC)"</span>
                <input type="date" name="from" class="rounded-md border border-slate-300 bg-white px-2 py-1 dark:border-slate-700 dark:bg-slate-800" />
            </label>
            <label class="flex flex-col gap-1" data-custom-range hidden=move || !custom.get()>
                <span class="text-xs font-medium text-slate-500 dark:text-slate-400">"Until (UTC midnight)"</span>
                <input type="date" name="to" class="rounded-md border border-slate-300 bg-white px-2 py-1 dark:border-slate-700 dark:bg-slate-800" />
            </label>
            <label class="flex flex-col gap-1">
                <span class="text-xs font-medium text-slate-500 dark:text-slate-400">"Format"</span>
                <select name="format" class="rounded-md border border-slate-300 bg-white px-2 py-1 dark:border-slate-700 dark:bg-slate-800">
                    <option value="json" selected>"JSON"</option>
                    <option value="csv">"CSV"</option>
                </select>
            </label>
            <button
                type="submit"
                class="rounded-md bg-slate-900 px-3 py-1.5 font-medium text-white hover:bg-slate-700 dark:bg-slate-100 dark:text-slate-900 dark:hover:bg-white"
            >
                "Download report"
            </button>
        </form>
    }
}

/// One service on a status page; `slug` is the page's, for the link to the
/// service's own page.
#[component]
fn ServiceCard(svc: RwSignal<ServiceView>, slug: String) -> impl IntoView {
    let name = svc.with_untracked(|s| s.name.clone());
    let href = service_href(&slug, &name);
    let label = name.clone();
    let status = Memo::new(move |_| svc.with(|s| s.status));
    let detail = move || {
        svc.with(|s| {
            let latency = s
                .latency_ms
                .map(format_latency)
                .unwrap_or_else(|| "—".into());
            (latency, s.last_checked)
        })
    };
    let problem = move || {
        svc.with(|s| match s.status {
            ServiceStatus::Down | ServiceStatus::Degraded => s.message.clone(),
            _ => None,
        })
    };

    view! {
        <li
            class="px-4 py-3 sm:px-5"
            data-service=name
            data-status=move || status.get().as_str()
        >
            <div class="flex items-center justify-between gap-4">
                <div class="min-w-0">
                    <a
                        href=href
                        class="block truncate font-medium hover:underline focus-visible:underline"
                    >
                        {label}
                    </a>
                    <p class="text-sm text-slate-500 dark:text-slate-400">
                        <span data-latency>{move || detail().0}</span>
                        " · checked "
                        {move || match detail().1 {
                            Some(at) => view! { <time datetime=at.to_rfc3339()>{format_utc(at)}</time> }.into_any(),
                            None => view! { <span>"not yet"</span> }.into_any(),
                        }}
                    </p>
                </div>
                <StatusPill status />
            </div>
            <UptimeBarView svc />
            <div class="min-w-0">
                {move || problem().map(|m| view! { <p class="mt-1 truncate text-sm text-red-600 dark:text-red-400">{m}</p> })}
                <details
                    class="mt-1 text-xs text-slate-500 dark:text-slate-400"
                    data-conditions
                    hidden=move || svc.with(|s| s.conditions.is_empty())
                >
                    <summary class="cursor-pointer select-none">
                        {move || svc.with(|s| {
                            let passing = s.conditions.iter().filter(|c| c.success).count();
                            format!("{passing}/{} checks passing", s.conditions.len())
                        })}
                    </summary>
                    <ul class="mt-1 space-y-0.5">
                        <For
                            each=move || svc.with(|s| s.conditions.clone())
                            key=|c| (c.condition.clone(), c.success)
                            let:outcome
                        >
                            <ConditionItem outcome />
                        </For>
                    </ul>
                </details>
            </div>
        </li>
    }
    .into_any()
}

/// A service's status as a coloured pill.
#[component]
pub(crate) fn StatusPill(#[prop(into)] status: Signal<ServiceStatus>) -> impl IntoView {
    view! {
        <span class=move || format!("inline-flex shrink-0 items-center gap-1.5 rounded-full px-2.5 py-1 text-xs font-medium ring-1 ring-inset {}", pill_class(status.get()))>
            <span aria-hidden="true" class=move || format!("h-1.5 w-1.5 rounded-full {}", dot_class(status.get()))></span>
            {move || status.get().label()}
        </span>
    }
}

/// One condition's outcome: `✓ [STATUS] == 200`, with `data-condition`
/// and `data-success` for scrapers.
#[component]
pub(crate) fn ConditionItem(outcome: wire::ConditionOutcome) -> impl IntoView {
    let class = if outcome.success {
        "text-emerald-700 dark:text-emerald-400"
    } else {
        "text-red-600 dark:text-red-400"
    };
    let text = outcome.condition.clone();
    view! {
        <li data-condition=outcome.condition data-success=outcome.success.to_string() class=class>
            <span aria-hidden="true">{if outcome.success { "✓ " } else { "✗ " }}</span>
            <code>{text}</code>
        </li>
    }
}

/// The foot of every page: when it was rendered, and by what.
#[component]
pub(crate) fn PageFooter(rendered_at: DateTime<Utc>) -> impl IntoView {
    view! {
        <footer class="mt-10 flex flex-wrap justify-between gap-2 text-xs text-slate-500 dark:text-slate-400">
            <span>
                "Rendered at "
                <time datetime=rendered_at.to_rfc3339()>{format_utc(rendered_at)}</time>
                <noscript>" · enable JavaScript for live updates"</noscript>
            </span>
            <span>"Powered by Hale"</span>
        </footer>
    }
}

#[component]
pub(crate) fn LiveIndicator(connection: RwSignal<Connection>) -> impl IntoView {
    view! {
        <span
            data-live=move || connection.get().as_str()
            title=move || connection.get().explanation()
            class="inline-flex items-center gap-2 rounded-full bg-white px-3 py-1 text-xs font-medium text-slate-600 shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:text-slate-300 dark:ring-slate-800"
        >
            <span class=move || format!("h-2 w-2 rounded-full {}", match connection.get() {
                Connection::Connected => "bg-emerald-500 animate-pulse",
                Connection::Connecting | Connection::Reconnecting => "bg-amber-400",
                Connection::Stale => "bg-red-500",
            })></span>
            {move || connection.get().label()}
        </span>
    }
}

/// The page for an unknown address or slug; answers 404 on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <main class="mx-auto max-w-xl px-4 py-24 text-center">
            <p class="text-sm font-semibold text-slate-500">"404"</p>
            <h1 class="mt-2 text-2xl font-semibold">"No status page here"</h1>
            <p class="mt-2 text-slate-600 dark:text-slate-400">"Check the address, or go to the "<a class="underline" href="/">"main status page"</a>"."</p>
        </main>
    }
}

#[component]
pub(crate) fn LoadError(message: String) -> impl IntoView {
    view! {
        <main class="mx-auto max-w-xl px-4 py-24 text-center">
            <h1 class="text-2xl font-semibold">"Status is unavailable right now"</h1>
            <p class="mt-2 text-slate-600 dark:text-slate-400">{message}</p>
        </main>
    }
}

/// A status page's address: `/` for the default page (slug `""`).
pub(crate) fn page_href(slug: &str) -> String {
    if slug.is_empty() {
        "/".to_string()
    } else {
        format!("/status/{}", encode_segment(slug))
    }
}

/// A service's page: `/services/<name>` on the default page,
/// `/status/<slug>/<name>` on a named one.
pub(crate) fn service_href(slug: &str, service: &str) -> String {
    if slug.is_empty() {
        format!("/services/{}", encode_segment(service))
    } else {
        format!(
            "/status/{}/{}",
            encode_segment(slug),
            encode_segment(service)
        )
    }
}

/// Percent-encodes one path segment: everything but RFC 3986's unreserved
/// characters, so a service called `db/primary` or `50% club` stays one
/// segment.
pub(crate) fn encode_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `0.4 ms`, `12 ms`, `1.25 s`: enough digits to compare, no more.
pub fn format_latency(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1_000.0)
    }
}

/// `2026-11-20 14:05:09 UTC`. Written out by hand: chrono's `format`
/// brings its whole format-string interpreter into the browser's wasm.
pub(crate) fn format_utc(at: DateTime<Utc>) -> String {
    use chrono::Timelike;
    let time = at.time();
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        at.date_naive(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

fn banner_class(status: ServiceStatus) -> &'static str {
    match status {
        ServiceStatus::Operational => "bg-emerald-50 text-emerald-900 ring-emerald-200 dark:bg-emerald-950/40 dark:text-emerald-100 dark:ring-emerald-900",
        ServiceStatus::Degraded => "bg-amber-50 text-amber-900 ring-amber-200 dark:bg-amber-950/40 dark:text-amber-100 dark:ring-amber-900",
        ServiceStatus::Down => "bg-red-50 text-red-900 ring-red-200 dark:bg-red-950/40 dark:text-red-100 dark:ring-red-900",
        ServiceStatus::Maintenance => "bg-sky-50 text-sky-900 ring-sky-200 dark:bg-sky-950/40 dark:text-sky-100 dark:ring-sky-900",
        ServiceStatus::Unknown => "bg-slate-100 text-slate-800 ring-slate-200 dark:bg-slate-900 dark:text-slate-200 dark:ring-slate-800",
    }
}

pub(crate) fn pill_class(status: ServiceStatus) -> &'static str {
    match status {
        ServiceStatus::Operational => "bg-emerald-50 text-emerald-700 ring-emerald-600/20 dark:bg-emerald-950/50 dark:text-emerald-300",
        ServiceStatus::Degraded => "bg-amber-50 text-amber-800 ring-amber-600/20 dark:bg-amber-950/50 dark:text-amber-300",
        ServiceStatus::Down => "bg-red-50 text-red-700 ring-red-600/20 dark:bg-red-950/50 dark:text-red-300",
        ServiceStatus::Maintenance => "bg-sky-50 text-sky-700 ring-sky-600/20 dark:bg-sky-950/50 dark:text-sky-300",
        ServiceStatus::Unknown => "bg-slate-100 text-slate-600 ring-slate-500/20 dark:bg-slate-800 dark:text-slate-300",
    }
}

pub(crate) fn dot_class(status: ServiceStatus) -> &'static str {
    match status {
        ServiceStatus::Operational => "bg-emerald-500",
        ServiceStatus::Degraded => "bg-amber-500",
        ServiceStatus::Down => "bg-red-500",
        ServiceStatus::Maintenance => "bg-sky-500",
        ServiceStatus::Unknown => "bg-slate-400",
    }
}

#[cfg(test)]
mod tests {
    use super::{format_latency, format_utc, page_href, service_href};
    use chrono::{TimeZone, Utc};

    #[test]
    fn utc_times_read_as_chrono_would_format_them() {
        for (y, mo, d, h, mi, s) in [
            (2026, 11, 20, 14, 5, 9),
            (2026, 1, 1, 0, 0, 0),
            (1999, 12, 31, 23, 59, 59),
        ] {
            let at = Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap();
            assert_eq!(
                format_utc(at),
                at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
            );
        }
        let at = Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap()
            + chrono::Duration::milliseconds(999);
        assert_eq!(format_utc(at), "2026-03-04 05:06:07 UTC");
    }

    #[test]
    fn service_links_encode_names_as_one_segment() {
        assert_eq!(service_href("", "api"), "/services/api");
        assert_eq!(service_href("public", "api"), "/status/public/api");
        assert_eq!(
            service_href("", "db/primary 50%"),
            "/services/db%2Fprimary%2050%25"
        );
        assert_eq!(service_href("", "café"), "/services/caf%C3%A9");
        assert_eq!(page_href(""), "/");
        assert_eq!(page_href("public"), "/status/public");
    }

    #[test]
    fn latency_reads_at_every_scale() {
        assert_eq!(format_latency(0.42), "0.4 ms");
        assert_eq!(format_latency(9.96), "10.0 ms");
        assert_eq!(format_latency(12.4), "12 ms");
        assert_eq!(format_latency(1_250.0), "1.25 s");
    }
}

//! A service's own page: `/services/<service>` for a service of the default
//! page, `/status/<slug>/<service>` for one of a named page.
//!
//! Rendered on the server from a [`ServiceDetail`], then hydrated. From then
//! on the status, the uptime bar and the recent results follow the live hub
//! (see [`crate::live`]), and the window figures and the latency chart are
//! reloaded a while after probes arrive, at most every [`REFRESH_AFTER`].

use crate::latency_chart::LatencyChart;
use crate::live::{self, Connection, OnProbe};
use crate::status_page::{
    format_latency, format_utc, page_href, ConditionItem, LiveIndicator, LoadError, NotFound,
    PageFooter, StatusPill,
};
use crate::uptime_bar::{format_pct, UptimeBarView};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;
use wire::{
    Band, LatencyPoint, LatencySummary, ProbeEvent, ServiceDetail, ServiceStatus, ServiceView,
    WindowFigures,
};

/// Rows the recent results list keeps as live ones arrive.
pub const RECENT_ROWS: usize = 50;
/// The least time between two reloads of the window figures.
pub const REFRESH_AFTER: Duration = Duration::from_secs(10);

/// Loads a service's detail: `slug` is `None` for the default page.
/// `Ok(None)` means there is no such page, or no such service on it.
#[server]
pub async fn get_service_detail(
    slug: Option<String>,
    service: String,
) -> Result<Option<ServiceDetail>, ServerFnError> {
    let source = use_context::<ssr::Details>()
        .ok_or_else(|| ServerFnError::new("the service detail source is not configured"))?;
    source
        .0
        .detail(slug, service)
        .await
        .map_err(ServerFnError::new)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::{future::Future, pin::Pin, sync::Arc};
    use wire::ServiceDetail;

    pub type DetailFuture =
        Pin<Box<dyn Future<Output = Result<Option<ServiceDetail>, String>> + Send>>;

    /// The server implements this over its store; `Ok(None)` = no such page
    /// or service. An error's text is shown to the reader.
    pub trait DetailSource: Send + Sync + 'static {
        fn detail(&self, slug: Option<String>, service: String) -> DetailFuture;
    }

    /// The context value the server provides to every render and server
    /// function call.
    #[derive(Clone)]
    pub struct Details(pub Arc<dyn DetailSource>);
}

/// A service's page, rendered on the server; its live part is the
/// [`LiveDetail`] island.
#[component]
pub fn ServiceDetailPage() -> impl IntoView {
    let params = use_params_map();
    let detail = Resource::new(
        move || params.with(|p| (p.get("slug"), p.get("service").unwrap_or_default())),
        |(slug, service)| get_service_detail(slug, service),
    );
    view! {
        <Suspense fallback=|| view! { <p class="p-8 text-slate-500">"Loading service…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(Some(detail)) => view! {
                        <Title text=format!("{} · {}", detail.service.name, detail.page_title) />
                        <LiveDetail detail />
                    }
                    .into_any(),
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(err) => view! { <LoadError message=err.to_string() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A detail page that follows the live hub: an island whose code (the page,
/// the latency chart, the diagnostics panel, the reading of a
/// `ServiceDetail`) is a wasm chunk of its own, fetched only when a detail
/// page is shown (`cargo leptos build --split`), so a status page doesn't
/// carry it.
#[island(lazy)]
fn LiveDetail(detail: ServiceDetail) -> impl IntoView {
    let ServiceDetail {
        page_slug,
        page_title,
        service,
        windows,
        latency,
        mut recent,
        generated_at,
        slo,
    } = detail;
    let name = service.name.clone();
    let group = service.group.clone();
    recent.truncate(RECENT_ROWS);

    let svc = RwSignal::new(service);
    let windows = RwSignal::new(windows);
    let latency = RwSignal::new(latency);
    let recent = RwSignal::new(recent);
    let connection = RwSignal::new(Connection::Connecting);
    let status = Memo::new(move |_| svc.with(|s| s.status));

    let on_probe: OnProbe = Rc::new(move |probe: &ProbeEvent| {
        recent.update(|rows| add_recent(rows, probe));
    });
    live::follow(vec![svc], connection, Some(on_probe));
    let slug = (!page_slug.is_empty()).then(|| page_slug.clone());
    refresh_after_probes(svc, slug, name.clone(), windows, latency);

    let summary = move || {
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

    let heading = name.clone();
    view! {
        <div
            class="mx-auto max-w-3xl px-4 py-10 sm:py-14"
            data-service=name
            data-status=move || status.get().as_str()
        >
            <nav class="mb-6 text-sm">
                <a href=page_href(&page_slug) class="text-slate-500 hover:text-slate-900 hover:underline dark:text-slate-400 dark:hover:text-slate-100">
                    <span aria-hidden="true">"← "</span>
                    {page_title}
                </a>
            </nav>
            <header class="flex flex-wrap items-start justify-between gap-4">
                <div class="min-w-0">
                    <h1 class="truncate text-2xl font-semibold tracking-tight sm:text-3xl">{heading}</h1>
                    {group.map(|g| view! { <p class="mt-1 text-slate-600 dark:text-slate-400">{g}</p> })}
                </div>
                <div class="flex items-center gap-3">
                    <StatusPill status />
                    <LiveIndicator connection />
                </div>
            </header>
            <p class="mt-2 text-sm text-slate-500 dark:text-slate-400">
                "Latency "
                <span data-latency>{move || summary().0}</span>
                " · checked "
                {move || match summary().1 {
                    Some(at) => view! { <time datetime=at.to_rfc3339()>{format_utc(at)}</time> }.into_any(),
                    None => view! { <span>"not yet"</span> }.into_any(),
                }}
            </p>
            {move || problem().map(|m| view! { <p class="mt-1 text-sm text-red-600 dark:text-red-400">{m}</p> })}

            <section class="mt-8 rounded-xl bg-white px-4 py-4 shadow-sm ring-1 ring-slate-200 sm:px-5 dark:bg-slate-900 dark:ring-slate-800">
                <h2 class="text-sm font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">"Uptime"</h2>
                <UptimeBarView svc />
            </section>

            <section class="mt-8">
                <h2 class="mb-2 text-sm font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">"Figures"</h2>
                <div class="grid grid-cols-2 gap-3 sm:grid-cols-4">
                    {move || windows.with(|w| w.iter().map(window_figures).collect_view())}
                </div>
            </section>

            {slo.map(|slo| view! { <SloSection slo /> })}

            <section class="mt-8 rounded-xl bg-white px-4 py-4 shadow-sm ring-1 ring-slate-200 sm:px-5 dark:bg-slate-900 dark:ring-slate-800">
                <h2 class="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">"Latency, last 24 hours"</h2>
                <LatencyChart points=latency />
            </section>

            <crate::diagnostics_panel::DiagnosticsPanel service=name.clone() />

            <section class="mt-8">
                <h2 class="mb-2 text-sm font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">"Recent results"</h2>
                <RecentResults recent />
            </section>

            <PageFooter rendered_at=generated_at />
        </div>
    }
    .into_any()
}

/// Puts a live result at the top of the list, once, keeping [`RECENT_ROWS`].
fn add_recent(rows: &mut Vec<ProbeEvent>, probe: &ProbeEvent) {
    // The render and the live hub can both know a result.
    if rows
        .iter()
        .any(|r| r.timestamp == probe.timestamp && r.region == probe.region)
    {
        return;
    }
    rows.insert(0, probe.clone());
    rows.truncate(RECENT_ROWS);
}

/// Reloads the window figures and the latency chart [`REFRESH_AFTER`] after
/// a probe arrives, however many arrive meanwhile: one request per period
/// at most, per reader (browser only).
fn refresh_after_probes(
    svc: RwSignal<ServiceView>,
    slug: Option<String>,
    service: String,
    windows: RwSignal<Vec<WindowFigures>>,
    latency: RwSignal<Vec<LatencyPoint>>,
) {
    let pending = Rc::new(Cell::new(false));
    Effect::new(move |seen: Option<Option<DateTime<Utc>>>| {
        let checked = svc.with(|s| s.last_checked);
        // The first run is hydration, not a probe.
        if seen.is_some_and(|seen| seen != checked) && !pending.get() {
            pending.set(true);
            let (pending, slug, service) = (pending.clone(), slug.clone(), service.clone());
            set_timeout(
                move || {
                    leptos::task::spawn_local(async move {
                        if let Ok(Some(fresh)) = get_service_detail(slug, service).await {
                            // The page may have gone meanwhile.
                            _ = windows.try_set(fresh.windows);
                            _ = latency.try_set(fresh.latency);
                        }
                        pending.set(false);
                    });
                },
                REFRESH_AFTER,
            );
        }
        checked
    });
}

/// One window's figures (`data-window="24h"` …).
/// The objective, its error budget left, and how fast it burns.
#[component]
fn SloSection(slo: wire::SloFigures) -> impl IntoView {
    let left = slo
        .error_budget_left_pct
        .map_or_else(|| "—".to_string(), |pct| format!("{pct:.1}%"));
    let spent = slo.error_budget_left_pct.is_some_and(|pct| pct <= 0.0);
    let rate = |window: &str| {
        slo.burn_rates
            .get(window)
            .copied()
            .flatten()
            .map_or_else(|| "—".to_string(), |r| format!("{r:.1}×"))
    };
    let rates = ["5m", "1h", "6h"].map(|w| (w, rate(w)));
    view! {
        <section class="mt-8 rounded-xl bg-white px-4 py-4 shadow-sm ring-1 ring-slate-200 sm:px-5 dark:bg-slate-900 dark:ring-slate-800" data-slo>
            <h2 class="mb-2 text-sm font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">
                {format!("Objective: {}% over {}", slo.objective_pct, slo.window)}
            </h2>
            <dl class="grid grid-cols-2 gap-3 text-sm sm:grid-cols-4">
                <div>
                    <dt class="text-slate-500 dark:text-slate-400">"Error budget left"</dt>
                    <dd data-budget-left class=if spent { "font-semibold text-red-600 dark:text-red-400" } else { "font-semibold" }>{left}</dd>
                </div>
                {rates.into_iter().map(|(window, rate)| view! {
                    <div>
                        <dt class="text-slate-500 dark:text-slate-400">{format!("Burn rate, {window}")}</dt>
                        <dd class="font-semibold" data-burn=window>{rate}</dd>
                    </div>
                }).collect_view()}
            </dl>
        </section>
    }
}

fn window_figures(figures: &WindowFigures) -> impl IntoView {
    let uptime = figures
        .uptime_pct
        .map(format_pct)
        .unwrap_or_else(|| "—".into());
    let error_rate = figures.error_rate.map_or_else(
        || "—".to_string(),
        |rate| {
            format!(
                "{:.2}% ({} of {})",
                rate * 100.0,
                figures.error_count,
                figures.total_count
            )
        },
    );
    let band = figures.band.map_or("unknown", Band::as_str);
    let latency = |value: fn(&LatencySummary) -> f64| {
        figures
            .latency
            .as_ref()
            .map_or_else(|| "—".to_string(), |l| format_latency(value(l)))
    };
    let rows = [
        ("Checks", "checks", figures.total_count.to_string()),
        ("p50", "p50", latency(|l| l.median_ms)),
        ("p95", "p95", latency(|l| l.p95_ms)),
        ("p99", "p99", latency(|l| l.p99_ms)),
        ("Average", "avg", latency(|l| l.avg_ms)),
        ("Min", "min", latency(|l| l.min_ms)),
        ("Max", "max", latency(|l| l.max_ms)),
    ];

    view! {
        <section
            data-window=figures.window.clone()
            class="rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800"
        >
            <h3 class="text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">
                {window_label(&figures.window)}
            </h3>
            <p data-figure="uptime" class="mt-1 text-2xl font-semibold tabular-nums">{uptime}</p>
            <p class="text-xs text-slate-500 dark:text-slate-400">"uptime"</p>
            <dl class="mt-3 grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm">
                <dt class="text-slate-500 dark:text-slate-400">"No data"</dt>
                <dd data-figure="unknown" class="text-right tabular-nums">{format!("{:.2}%", figures.unknown_pct)}</dd>
                <dt class="text-slate-500 dark:text-slate-400">"Errors"</dt>
                <dd
                    data-figure="error-rate"
                    data-band=band
                    title=format!("Error rate: {band}")
                    class=format!("text-right tabular-nums {}", band_text_class(figures.band))
                >
                    {error_rate}
                </dd>
                {rows
                    .into_iter()
                    .map(|(label, key, value)| {
                        view! {
                            <dt class="text-slate-500 dark:text-slate-400">{label}</dt>
                            <dd data-figure=key class="text-right tabular-nums">{value}</dd>
                        }
                    })
                    .collect_view()}
            </dl>
        </section>
    }
}

fn window_label(window: &str) -> String {
    match window {
        "24h" => "Last 24 hours".into(),
        "7d" => "Last 7 days".into(),
        "30d" => "Last 30 days".into(),
        "90d" => "Last 90 days".into(),
        other => other.into(),
    }
}

fn band_text_class(band: Option<Band>) -> &'static str {
    match band {
        Some(Band::Healthy) => "text-emerald-700 dark:text-emerald-400",
        Some(Band::Warning) => "font-medium text-amber-700 dark:text-amber-400",
        Some(Band::Critical) => "font-medium text-red-600 dark:text-red-400",
        None => "text-slate-500 dark:text-slate-400",
    }
}

/// The newest results, newest first; live ones arrive at the top.
#[component]
fn RecentResults(recent: RwSignal<Vec<ProbeEvent>>) -> impl IntoView {
    view! {
        <p
            class="rounded-xl bg-white px-4 py-6 text-center text-sm text-slate-500 shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:text-slate-400 dark:ring-slate-800"
            hidden=move || recent.with(|r| !r.is_empty())
        >
            "No results yet"
        </p>
        <ol
            data-recent-results
            hidden=move || recent.with(|r| r.is_empty())
            class="divide-y divide-slate-200 overflow-hidden rounded-xl bg-white shadow-sm ring-1 ring-slate-200 dark:divide-slate-800 dark:bg-slate-900 dark:ring-slate-800"
        >
            <For
                each=move || recent.get()
                key=|probe| (probe.timestamp, probe.region.clone())
                let:probe
            >
                <ResultRow probe />
            </For>
        </ol>
    }
}

#[component]
fn ResultRow(probe: ProbeEvent) -> impl IntoView {
    let ProbeEvent {
        timestamp,
        success,
        latency_ms,
        status_code,
        message,
        conditions,
        region,
        ..
    } = probe;
    view! {
        <li data-result data-success=success.to_string() class="px-4 py-2.5 text-sm sm:px-5">
            <div class="flex flex-wrap items-baseline gap-x-3 gap-y-0.5">
                <span class=if success {
                    "font-medium text-emerald-700 dark:text-emerald-400"
                } else {
                    "font-medium text-red-600 dark:text-red-400"
                }>{if success { "✓ OK" } else { "✗ Failed" }}</span>
                <time datetime=timestamp.to_rfc3339() class="text-slate-500 dark:text-slate-400">
                    {format_utc(timestamp)}
                </time>
                <span data-latency class="tabular-nums">{format_latency(latency_ms)}</span>
                {status_code.map(|code| view! { <span data-status-code=code.to_string() class="tabular-nums">"HTTP "{code}</span> })}
                {region.map(|r| view! { <span class="text-slate-500 dark:text-slate-400">{r}</span> })}
            </div>
            {(!message.is_empty()).then(|| view! {
                <p class="mt-0.5 break-words text-slate-600 dark:text-slate-400">{message}</p>
            })}
            {(!conditions.is_empty()).then(|| view! {
                <ul class="mt-1 flex flex-wrap gap-x-3 gap-y-0.5 text-xs">
                    {conditions
                        .into_iter()
                        .map(|outcome| view! { <ConditionItem outcome /> })
                        .collect_view()}
                </ul>
            })}
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn probe(second: u32, success: bool) -> ProbeEvent {
        ProbeEvent {
            service: "api".into(),
            timestamp: Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, second).unwrap(),
            success,
            latency_ms: 12.0,
            status_code: Some(200),
            message: String::new(),
            conditions: Vec::new(),
            region: None,
        }
    }

    #[test]
    fn live_results_go_on_top_once_and_the_list_stays_short() {
        let mut rows: Vec<ProbeEvent> = (0..RECENT_ROWS as u32)
            .rev()
            .map(|s| probe(s, true))
            .collect();
        add_recent(&mut rows, &probe(59, false));
        assert_eq!(rows.len(), RECENT_ROWS);
        assert_eq!(rows[0], probe(59, false));
        assert_eq!(rows[RECENT_ROWS - 1], probe(1, true));
        add_recent(&mut rows, &probe(59, false));
        assert_eq!(rows[1], probe(RECENT_ROWS as u32 - 1, true));
    }
}

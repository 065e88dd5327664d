//! The status page: `/` (the default page) and `/status/<slug>`.
//!
//! Rendered on the server from a [`PageSnapshot`], then hydrated; from then
//! on the page's signals follow the live hub (see [`crate::live`]). Each
//! card links to its service's page ([`crate::detail_page`]).

use crate::board_html;
use crate::live::Connection;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use wire::{overall_headline, PageSnapshot, ServiceStatus};

/// A page's snapshot, read straight from the server's state: `None` for
/// the default page, or a slug; `Ok(None)` means there is no such page.
/// The page is rendered on the server only (its live part is an island),
/// so nothing is fetched or serialized, and the board's copy is the only
/// one (docs/benchmarks.md, issue 16).
#[cfg(feature = "ssr")]
fn status_page(slug: Option<&str>) -> Result<Option<PageSnapshot>, String> {
    let source = use_context::<ssr::Snapshots>()
        .ok_or_else(|| "the status page source is not configured".to_string())?;
    Ok(source.0.page(slug))
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
    let slug = use_params_map().read_untracked().get("slug");
    #[cfg(feature = "ssr")]
    let page = status_page(slug.as_deref());
    // Never rendered in the browser: only the page's islands hydrate.
    #[cfg(not(feature = "ssr"))]
    let page: Result<Option<PageSnapshot>, String> = Err(format!("{slug:?} renders on the server"));
    match page {
        Ok(Some(snapshot)) => view! {
            <Title text=snapshot.title.clone() />
            <Board snapshot />
        }
        .into_any(),
        Ok(None) => view! { <NotFound /> }.into_any(),
        Err(message) => view! { <LoadError message /> }.into_any(),
    }
}

/// What the page's island starts from: the page's figures, not its
/// services (those are the server-built cards, which the island's live
/// client reads and updates in place).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PageSummary {
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    /// Services in each state, in [`ServiceStatus::ALL`]'s order.
    pub counts: [usize; 5],
    /// The first [`PROBLEMS_LISTED`] services down or degraded, down first.
    pub problems: Vec<(String, ServiceStatus)>,
    /// `list` or `grid`, the page's default.
    pub view: String,
}

/// Problem services the summary names; past this it says how many more.
pub const PROBLEMS_LISTED: usize = 20;

impl PageSummary {
    pub fn of(snapshot: &PageSnapshot) -> PageSummary {
        let statuses: Vec<(&str, ServiceStatus)> = snapshot
            .services()
            .map(|s| (s.name.as_str(), s.status))
            .collect();
        PageSummary {
            slug: snapshot.slug.clone(),
            title: snapshot.title.clone(),
            description: snapshot.description.clone(),
            counts: counts(statuses.iter().map(|(_, s)| *s)),
            problems: problems(statuses.iter().copied()),
            view: board_html::default_view(statuses.len()).to_string(),
        }
    }
}

/// Services in each state, in [`ServiceStatus::ALL`]'s order.
pub fn counts(statuses: impl Iterator<Item = ServiceStatus>) -> [usize; 5] {
    let mut counts = [0; 5];
    for status in statuses {
        counts[status_index(status)] += 1;
    }
    counts
}

pub fn status_index(status: ServiceStatus) -> usize {
    ServiceStatus::ALL
        .iter()
        .position(|s| *s == status)
        .expect("every status is in ALL")
}

/// The services to lead with: down ones, then degraded ones, each in page
/// order, at most [`PROBLEMS_LISTED`].
pub fn problems<'a>(
    statuses: impl Iterator<Item = (&'a str, ServiceStatus)> + Clone,
) -> Vec<(String, ServiceStatus)> {
    [ServiceStatus::Down, ServiceStatus::Degraded]
        .into_iter()
        .flat_map(|wanted| {
            statuses
                .clone()
                .filter(move |(_, s)| *s == wanted)
                .map(|(name, s)| (name.to_string(), s))
        })
        .take(PROBLEMS_LISTED)
        .collect()
}

/// The overall state and its sentence, from the counts.
pub fn overall(counts: &[usize; 5]) -> (ServiceStatus, &'static str) {
    let worst = ServiceStatus::worst(
        ServiceStatus::ALL
            .into_iter()
            .filter(|s| counts[status_index(*s)] > 0),
    );
    let total: usize = counts.iter().sum();
    let down = counts[status_index(ServiceStatus::Down)];
    // All the headline reads of the statuses: none, all down, or not.
    let shown: &[ServiceStatus] = if total == 0 {
        &[]
    } else if down == total {
        &[ServiceStatus::Down]
    } else {
        &[ServiceStatus::Down, ServiceStatus::Operational]
    };
    (worst, overall_headline(worst, shown))
}

/// `3 down, 2 degraded`.
pub fn problem_counts(counts: &[usize; 5]) -> Option<String> {
    let parts: Vec<String> = [ServiceStatus::Down, ServiceStatus::Degraded]
        .into_iter()
        .filter_map(|s| {
            let n = counts[status_index(s)];
            (n > 0).then(|| format!("{n} {}", s.as_str()))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// A status page: the island on top (live indicator, overall state, what
/// is wrong, filter and view), then the services as server-built HTML
/// ([`board_html`]), which the island's live client keeps current.
#[component]
fn Board(snapshot: PageSnapshot) -> impl IntoView {
    let summary = PageSummary::of(&snapshot);
    let view = summary.view.clone();
    let slug = snapshot.slug.clone();
    let rendered_at = snapshot.generated_at;
    let bands = board_html::bands_attr(&snapshot);
    let cards = board_html::board(&snapshot);
    let empty = snapshot.services().next().is_none();
    drop(snapshot);
    view! {
        <div class="mx-auto max-w-4xl px-4 py-10 sm:py-14">
            <LiveSummary summary />
            {empty.then(|| view! { <GettingStarted /> })}
            <div id="board" data-board="" data-view=view data-bands=bands inner_html=cards></div>
            <DownloadReport slug />
            <PageFooter rendered_at />
        </div>
    }
}

/// What a page without services says: how to add the first one.
#[component]
fn GettingStarted() -> impl IntoView {
    let code = "rounded bg-slate-100 px-1.5 py-0.5 font-mono text-sm dark:bg-slate-800";
    view! {
        <section data-getting-started class="mt-8 rounded-xl bg-white p-6 shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800">
            <h2 class="text-lg font-medium">"Add your first service"</h2>
            <p class="mt-2 text-slate-600 dark:text-slate-400">
                "Hale watches the services listed in its config file. To add a first one:"
            </p>
            <ol class="mt-3 list-decimal space-y-2 pl-6 text-slate-700 dark:text-slate-300">
                <li>
                    "Write a starter config: " <code class=code>"hale init"</code>
                    " (it watches Hale's own health, with commented examples of every kind of probe)."
                </li>
                <li>"Add your services to " <code class=code>"hale.yaml"</code> "."</li>
                <li>
                    "Check it with " <code class=code>"hale validate --config hale.yaml"</code>
                    " and restart Hale with " <code class=code>"hale serve --config hale.yaml"</code> "."
                </li>
            </ol>
            <p class="mt-3 text-sm text-slate-500">
                "Coming from Uptime Kuma? " <code class=code>"hale import uptime-kuma kuma.db"</code>
                " writes the config from its database."
            </p>
        </section>
    }
}

/// The top of a status page, the one part the browser hydrates: it opens
/// the live connection ([`crate::board_live`] applies its messages to the
/// cards), and keeps the overall state, the problems summary, the filter
/// and the view choice.
#[island]
fn LiveSummary(summary: PageSummary) -> impl IntoView {
    let connection = RwSignal::new(Connection::Connecting);
    let counts = RwSignal::new(summary.counts);
    let problems = RwSignal::new(summary.problems);
    let layout = RwSignal::new(summary.view);
    let query = RwSignal::new(String::new());
    let only_problems = RwSignal::new(false);
    crate::board_live::start(connection, counts, problems, layout);
    Effect::new(move |_| {
        let (query, only) = (query.get(), only_problems.get());
        crate::board_live::filter(&query, only);
    });
    // Effects run once the page is hydrated: when it answers clicks and
    // keys (benches/page.rs reads this).
    Effect::new(|_| crate::performance_mark("hale:hydrated"));

    let overall = Memo::new(move |_| counts.with(overall));
    view! {
        <header class="mb-8 flex flex-wrap items-start justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight sm:text-3xl">{summary.title}</h1>
                {summary
                    .description
                    .map(|d| view! { <p class="mt-1 text-slate-600 dark:text-slate-400">{d}</p> })}
            </div>
            <LiveIndicator connection />
        </header>

        <section
            data-overall-status=move || overall.get().0.as_str()
            class=move || format!("rounded-xl px-5 py-4 shadow-sm ring-1 {}", banner_class(overall.get().0))
            aria-live="polite"
        >
            <div class="flex items-center gap-3">
                <span class=move || format!("h-3 w-3 shrink-0 rounded-full {}", dot_class(overall.get().0))></span>
                <h2 class="text-lg font-medium">{move || overall.get().1}</h2>
                <span data-problem-counts class="ml-auto text-sm font-medium">
                    {move || counts.with(problem_counts)}
                </span>
            </div>
            <Show when=move || problems.with(|p| !p.is_empty())>
                <ul data-problems class="mt-3 flex flex-wrap gap-2 text-sm">
                    <For
                        each=move || problems.get()
                        key=|p| p.clone()
                        let:problem
                    >
                        <li>
                            <a
                                href=format!("#{}", board_html::card_id(&problem.0))
                                data-problem=problem.1.as_str()
                                class="inline-flex items-center gap-1.5 rounded-full bg-white/70 px-2.5 py-1 font-medium ring-1 ring-inset ring-slate-900/10 hover:underline dark:bg-slate-900/60"
                                on:click={
                                    let name = problem.0.clone();
                                    move |_| crate::board_live::reveal(&name)
                                }
                            >
                                <span aria-hidden="true" class=format!("h-1.5 w-1.5 rounded-full {}", dot_class(problem.1))></span>
                                {problem.0.clone()}
                                <span class="sr-only">{format!(" ({})", problem.1.as_str())}</span>
                            </a>
                        </li>
                    </For>
                    {move || {
                        let listed = problems.with(Vec::len);
                        let all = counts.with(|c| c[status_index(ServiceStatus::Down)] + c[status_index(ServiceStatus::Degraded)]);
                        (all > listed).then(|| view! { <li class="px-1 py-1">{format!("and {} more", all - listed)}</li> })
                    }}
                </ul>
            </Show>
        </section>

        <div class="mt-6 flex flex-wrap items-center gap-3 text-sm" role="search">
            <input
                type="search"
                data-filter
                aria-label="Filter services by name"
                placeholder="Filter services…"
                class="min-w-0 flex-1 rounded-md border border-slate-300 bg-white px-3 py-1.5 dark:border-slate-700 dark:bg-slate-900"
                on:input=move |ev| query.set(event_target_value(&ev))
            />
            <label class="inline-flex items-center gap-1.5">
                <input type="checkbox" data-only-problems on:change=move |ev| only_problems.set(event_target_checked(&ev)) />
                "Only problems"
            </label>
            <button
                type="button"
                data-view-toggle
                aria-pressed=move || (layout.get() == "grid").to_string()
                class="rounded-md px-3 py-1.5 font-medium ring-1 ring-slate-300 hover:bg-slate-100 dark:ring-slate-700 dark:hover:bg-slate-800"
                on:click=move |_| {
                    let next = if layout.get_untracked() == "grid" { "list" } else { "grid" };
                    layout.set(next.to_string());
                    crate::board_live::set_view(next, true);
                }
            >
                "Compact grid"
            </button>
        </div>
    }
}

/// "Download report": a plain form (it works without JavaScript) asking
/// `/api/reports` for the page's report over a window or custom dates.
/// The custom range's fields show while "custom" is chosen, by CSS
/// (`style/tailwind.css`): as an island they stayed hidden when it was
/// chosen before the page hydrated, and without JavaScript.
#[component]
fn DownloadReport(slug: String) -> impl IntoView {
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
                >
                    <option value="24h" selected>"Last 24 hours"</option>
                    <option value="7d">"Last 7 days"</option>
                    <option value="30d">"Last 30 days"</option>
                    <option value="90d">"Last 90 days"</option>
                    <option value="custom">"Custom range"</option>
                </select>
            </label>
            <label class="flex flex-col gap-1" data-custom-range>
                <span class="text-xs font-medium text-slate-500 dark:text-slate-400">"From (UTC)"</span>
                <input type="date" name="from" class="rounded-md border border-slate-300 bg-white px-2 py-1 dark:border-slate-700 dark:bg-slate-800" />
            </label>
            <label class="flex flex-col gap-1" data-custom-range>
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
/// Written onto `out`; it needs no HTML escaping ([`push_segment`]).
pub(crate) fn push_service_href(out: &mut String, slug: &str, service: &str) {
    if slug.is_empty() {
        out.push_str("/services/");
    } else {
        out.push_str("/status/");
        push_segment(out, slug);
        out.push('/');
    }
    push_segment(out, service);
}

/// Percent-encodes one path segment: everything but RFC 3986's unreserved
/// characters, so a service called `db/primary` or `50% club` stays one
/// segment.
pub(crate) fn encode_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    push_segment(&mut encoded, text);
    encoded
}

/// [`encode_segment`] written onto `out`. What it writes needs no HTML
/// escaping: `%`, letters, digits and `-._~`.
pub(crate) fn push_segment(out: &mut String, text: &str) {
    use std::fmt::Write;
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

/// `0.4 ms`, `12 ms`, `1.25 s`: enough digits to compare, no more.
pub fn format_latency(ms: f64) -> String {
    let mut text = String::new();
    push_latency(&mut text, ms);
    text
}

/// [`format_latency`] written onto `out`.
pub(crate) fn push_latency(out: &mut String, ms: f64) {
    use std::fmt::Write;
    let _ = if ms < 10.0 {
        write!(out, "{ms:.1} ms")
    } else if ms < 1_000.0 {
        write!(out, "{ms:.0} ms")
    } else {
        write!(out, "{:.2} s", ms / 1_000.0)
    };
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
    use super::{format_latency, format_utc, page_href, push_service_href};

    fn service_href(slug: &str, service: &str) -> String {
        let mut href = String::new();
        push_service_href(&mut href, slug, service);
        href
    }
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

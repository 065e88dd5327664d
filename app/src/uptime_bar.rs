//! The 90-day uptime bar: a segment per UTC day, coloured by the day's
//! error-rate band, on every service card and on the detail page.

use chrono::NaiveDate;
use leptos::prelude::*;
use std::fmt::Write;
use wire::{Band, Bands, DaySegment, ServiceStatus, ServiceView, UptimeBar, BAR_DAYS};

const DAY_MS: f64 = 86_400_000.0;

/// A service's uptime bar, a legend, and the uptime over the whole bar,
/// following the service's signal.
///
/// A page may carry a hundred bars of ninety segments, so the segments are
/// plain elements rendered by two closures rather than one closure each:
/// one for the settled days, which change only when the day rolls over or
/// a snapshot arrives, and one for the newest day, which every probe
/// changes. A probe so re-renders one segment, not ninety.
///
/// The bar is a single tab stop: arrow keys, Home and End move along the
/// days, and the focused day's label shows under the bar.
#[component]
pub fn UptimeBarView(svc: RwSignal<ServiceView>) -> impl IntoView {
    let settled = Memo::new(move |_| {
        svc.with(|s| {
            let bar = &s.uptime;
            let settled = bar.days.len().saturating_sub(1);
            (bar.first_day, bar.bands, bar.days[..settled].to_vec())
        })
    });
    let newest = Memo::new(move |_| {
        svc.with(|s| {
            let bar = &s.uptime;
            let index = bar.days.len().checked_sub(1)?;
            Some((bar.date(index), bar.days[index].clone(), bar.bands, index))
        })
    });
    let uptime = Memo::new(move |_| svc.with(|s| s.uptime.uptime_pct()));

    view! {
        <div data-uptime-bar class="mt-2">
            <ol
                aria-label=format!("Uptime over the last {BAR_DAYS} days")
                on:keydown=move_focus
                class=BAR_CLASS
            >
                {move || {
                    settled
                        .with(|(first_day, bands, days)| {
                            let count = days.len() + 1;
                            days.iter()
                                .enumerate()
                                .map(|(i, day)| {
                                    let date = first_day.and_then(|d| d.checked_add_days(chrono::Days::new(i as u64)));
                                    let column = (i == 0).then(|| first_column(count)).flatten();
                                    segment(date, day, bands, column, false)
                                })
                                .collect_view()
                        })
                }}
                {move || {
                    newest
                        .with(|newest| {
                            newest
                                .as_ref()
                                .map(|(date, day, bands, index)| {
                                    let column = (*index == 0).then(|| first_column(1)).flatten();
                                    segment(*date, day, bands, column, true)
                                })
                        })
                }}
            </ol>
            <p class="mt-1 flex items-center justify-between gap-2 text-xs text-slate-500 dark:text-slate-400">
                <span>{format!("{BAR_DAYS} days ago")}</span>
                <span data-uptime-pct class="font-medium text-slate-700 dark:text-slate-300">
                    {move || match uptime.get() {
                        Some(pct) => format!("{} uptime", format_pct(pct)),
                        None => "No data yet".to_string(),
                    }}
                </span>
                <span>"Today"</span>
            </p>
        </div>
    }
}

/// The bar's grid, and what its segments share, said once here rather
/// than ninety times in the markup. A focused segment's label covers the
/// legend line below the bar.
const BAR_CLASS: &str = "relative grid h-8 grid-cols-[repeat(90,minmax(0,1fr))] gap-px \
    *:rounded-sm *:outline-none *:hover:opacity-75 \
    *:focus-visible:ring-2 *:focus-visible:ring-sky-500 *:focus-visible:ring-offset-1 dark:*:focus-visible:ring-offset-slate-900 \
    *:focus-visible:after:absolute *:focus-visible:after:inset-x-0 *:focus-visible:after:top-full *:focus-visible:after:z-10 \
    *:focus-visible:after:mt-1 *:focus-visible:after:bg-white *:focus-visible:after:text-center *:focus-visible:after:text-xs \
    *:focus-visible:after:text-slate-700 *:focus-visible:after:content-[attr(aria-label)] \
    dark:*:focus-visible:after:bg-slate-900 dark:*:focus-visible:after:text-slate-200";

/// Where the first segment starts so a bar shorter than [`BAR_DAYS`]
/// still ends at the right edge ("Today"); `None` for a full bar.
fn first_column(count: usize) -> Option<usize> {
    (count < BAR_DAYS).then(|| BAR_DAYS - count + 1)
}

fn segment(
    date: Option<NaiveDate>,
    day: &DaySegment,
    bands: &Bands,
    column: Option<usize>,
    tab_stop: bool,
) -> impl IntoView {
    let band = day.band(bands);
    let label = segment_label(date, day);
    view! {
        <li
            data-day=date.map(|d| d.to_string())
            data-band=band.map_or("unknown", Band::as_str)
            title=label.clone()
            aria-label=label
            class=band_class(band)
            style=column.map(|c| format!("grid-column-start:{c}"))
            tabindex=tab_stop.then_some("0")
        ></li>
    }
}

pub(crate) fn band_class(band: Option<Band>) -> &'static str {
    match band {
        Some(Band::Healthy) => "bg-emerald-500",
        Some(Band::Warning) => "bg-amber-500",
        Some(Band::Critical) => "bg-red-500",
        None => "bg-slate-300 dark:bg-slate-700",
    }
}

/// `2026-11-20 · 99.93% up · worst: Degraded · 4.2% of the day without data`.
pub(crate) fn segment_label(date: Option<NaiveDate>, day: &DaySegment) -> String {
    let mut label = date.map_or_else(|| "Unknown day".to_string(), |d| d.to_string());
    match day.uptime_pct() {
        Some(pct) => _ = write!(label, " · {} up", format_pct(pct)),
        None => label.push_str(" · no data"),
    }
    if day.worst() != ServiceStatus::Unknown {
        _ = write!(label, " · worst: {}", day.worst().label());
    }
    if day.total() > 0 && day.unknown_ms() > 0 {
        let share = (day.unknown_ms() as f64 * 100.0 / DAY_MS).min(100.0);
        if share < 0.1 {
            label.push_str(" · <0.1% of the day without data");
        } else {
            _ = write!(label, " · {share:.1}% of the day without data");
        }
    }
    label
}

/// A percentage to two decimals that never rounds a failure away: 99.996 %
/// reads 99.99 %, not 100.00 %.
pub(crate) fn format_pct(pct: f64) -> String {
    let text = format!("{pct:.2}%");
    if pct < 100.0 && text == "100.00%" {
        "99.99%".to_string()
    } else {
        text
    }
}

/// A bar's days as HTML, for a status page's card to show on demand: the
/// same segments, labels and keys as [`UptimeBarView`], with each day's
/// time without data in `data-unknown` (live probes relabel today).
pub fn days_html(bar: &UptimeBar) -> String {
    let mut html =
        format!(r#"<ol aria-label="Uptime over the last {BAR_DAYS} days" class="{BAR_CLASS}">"#);
    let last = bar.days.len().saturating_sub(1);
    for (i, day) in bar.days.iter().enumerate() {
        let date = bar.date(i);
        let band = day.band(&bar.bands);
        let label = segment_label(date, day);
        let column = (i == 0)
            .then(|| first_column(bar.days.len()))
            .flatten()
            .map(|c| format!(r#" style="grid-column-start:{c}""#))
            .unwrap_or_default();
        let _ = write!(
            html,
            r#"<li data-day="{}" data-band="{}" data-unknown="{}" title="{label}" aria-label="{label}" class="{}" tabindex="{}"{column}></li>"#,
            date.map(|d| d.to_string()).unwrap_or_default(),
            band.map_or("unknown", Band::as_str),
            day.unknown_ms(),
            band_class(band),
            if i == last { "0" } else { "-1" },
        );
    }
    html.push_str("</ol>");
    html
}

/// Moves focus along the bar (a roving tab stop): the bar is one stop in
/// the tab order, not ninety. Only a day's segment moves.
pub(crate) fn move_focus(ev: leptos::ev::KeyboardEvent) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        use web_sys::HtmlElement;

        let Some(current) = ev.target().and_then(|t| t.dyn_into::<HtmlElement>().ok()) else {
            return;
        };
        if !current.has_attribute("data-day") {
            return;
        }
        let next = match ev.key().as_str() {
            "ArrowLeft" => current.previous_element_sibling(),
            "ArrowRight" => current.next_element_sibling(),
            "Home" => current
                .parent_element()
                .and_then(|p| p.first_element_child()),
            "End" => current
                .parent_element()
                .and_then(|p| p.last_element_child()),
            _ => return,
        };
        let Some(next) = next.and_then(|n| n.dyn_into::<HtmlElement>().ok()) else {
            return;
        };
        ev.prevent_default();
        _ = current.set_attribute("tabindex", "-1");
        _ = next.set_attribute("tabindex", "0");
        _ = next.focus();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(total: u64, ok: u64, unknown_ms: u64, worst: ServiceStatus) -> DaySegment {
        DaySegment::new(total, ok, unknown_ms, worst)
    }

    #[test]
    fn percentages_never_round_a_failure_away() {
        assert_eq!(format_pct(100.0), "100.00%");
        assert_eq!(format_pct(99.996), "99.99%");
        assert_eq!(format_pct(99.934), "99.93%");
        assert_eq!(format_pct(0.0), "0.00%");
    }

    #[test]
    fn segment_labels_say_date_uptime_worst_and_missing_data() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 20);
        assert_eq!(
            segment_label(date, &day(10_000, 9_993, 0, ServiceStatus::Degraded)),
            "2026-11-20 · 99.93% up · worst: Degraded"
        );
        assert_eq!(
            segment_label(date, &day(0, 0, 86_400_000, ServiceStatus::Unknown)),
            "2026-11-20 · no data"
        );
        assert_eq!(
            segment_label(date, &day(4, 4, 21_600_000, ServiceStatus::Operational)),
            "2026-11-20 · 100.00% up · worst: Operational · 25.0% of the day without data"
        );
        assert_eq!(
            segment_label(date, &day(4, 4, 1_000, ServiceStatus::Operational)),
            "2026-11-20 · 100.00% up · worst: Operational · <0.1% of the day without data"
        );
    }

    #[test]
    fn a_short_bar_still_ends_today() {
        assert_eq!(first_column(BAR_DAYS), None);
        assert_eq!(first_column(1), Some(BAR_DAYS));
        assert_eq!(first_column(30), Some(61));
    }
}

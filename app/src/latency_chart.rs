//! A service's latency over the last 24 hours: median and 95th percentile
//! per hour, drawn as plain inline SVG.

use crate::status_page::format_latency;
use leptos::prelude::*;
use wire::LatencyPoint;

/// The drawing's own units; the SVG stretches to its box, and its strokes
/// keep their width (`vector-effect`), so text lives outside it, in HTML.
const WIDTH: f64 = 1_000.0;
const HEIGHT: f64 = 200.0;

#[component]
pub fn LatencyChart(#[prop(into)] points: Signal<Vec<LatencyPoint>>) -> impl IntoView {
    move || points.with(|points| chart(points))
}

fn chart(points: &[LatencyPoint]) -> AnyView {
    if points.is_empty() {
        return view! {
            <p class="py-10 text-center text-sm text-slate-500 dark:text-slate-400">"No latency data yet"</p>
        }
        .into_any();
    }
    let top = nice_ceiling(
        points
            .iter()
            .map(|p| p.p95_ms.max(p.p50_ms))
            .fold(0.0, f64::max),
    );
    let x = |i: usize| {
        if points.len() == 1 {
            WIDTH / 2.0
        } else {
            i as f64 * WIDTH / (points.len() - 1) as f64
        }
    };
    let y = |ms: f64| HEIGHT - (ms / top).clamp(0.0, 1.0) * HEIGHT;
    let line = |value: fn(&LatencyPoint) -> f64| {
        // A single point would draw nothing: stretch it across.
        if let [only] = points {
            let y = y(value(only));
            return format!("0,{y:.1} {WIDTH},{y:.1}");
        }
        points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(value(p))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let slot = WIDTH / points.len() as f64;
    let hovers = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let left = (x(i) - slot / 2.0).clamp(0.0, WIDTH - slot);
            let label = format!(
                "{} UTC · p50 {} · p95 {} · {} checks",
                p.start.format("%Y-%m-%d %H:%M"),
                format_latency(p.p50_ms),
                format_latency(p.p95_ms),
                p.count
            );
            view! {
                <rect x=format!("{left:.1}") y="0" width=format!("{slot:.1}") height=HEIGHT.to_string() class="fill-transparent hover:fill-slate-500/10">
                    <title>{label}</title>
                </rect>
            }
        })
        .collect_view();
    let median_max = points.iter().map(|p| p.p50_ms).fold(0.0, f64::max);
    let p95_max = points.iter().map(|p| p.p95_ms).fold(0.0, f64::max);
    let summary = format!(
        "Latency over the last 24 hours: median up to {}, 95th percentile up to {}",
        format_latency(median_max),
        format_latency(p95_max)
    );
    let first = points[0].start;
    let last = points[points.len() - 1].start;

    view! {
        <figure>
            <div class="relative">
                <svg
                    data-latency-chart
                    viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                    preserveAspectRatio="none"
                    role="img"
                    aria-label=summary
                    class="h-40 w-full overflow-visible"
                >
                    {[0.0, 0.5, 1.0]
                        .map(|f| {
                            let y = format!("{:.1}", HEIGHT * f);
                            view! {
                                <line x1="0" x2=WIDTH.to_string() y1=y.clone() y2=y vector-effect="non-scaling-stroke" class="stroke-slate-200 dark:stroke-slate-800" stroke-width="1" />
                            }
                        })}
                    <polyline data-series="p95" points=line(|p| p.p95_ms) fill="none" stroke-width="2" stroke-linejoin="round" stroke-dasharray="6 4" vector-effect="non-scaling-stroke" class="stroke-amber-500" />
                    <polyline data-series="p50" points=line(|p| p.p50_ms) fill="none" stroke-width="2" stroke-linejoin="round" vector-effect="non-scaling-stroke" class="stroke-sky-600 dark:stroke-sky-400" />
                    {hovers}
                </svg>
                <span class="pointer-events-none absolute left-1 top-0 text-[10px] text-slate-500 dark:text-slate-400">{format_latency(top)}</span>
                <span class="pointer-events-none absolute left-1 top-1/2 -translate-y-full text-[10px] text-slate-500 dark:text-slate-400">{format_latency(top / 2.0)}</span>
            </div>
            <div class="mt-1 flex justify-between text-xs text-slate-500 dark:text-slate-400">
                <time datetime=first.to_rfc3339()>{first.format("%H:%M UTC").to_string()}</time>
                <time datetime=last.to_rfc3339()>{last.format("%H:%M UTC").to_string()}</time>
            </div>
            <figcaption class="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-600 dark:text-slate-400">
                <span class="inline-flex items-center gap-1.5">
                    <span aria-hidden="true" class="inline-block h-0.5 w-4 bg-sky-600 dark:bg-sky-400"></span>
                    "p50 (median)"
                </span>
                <span class="inline-flex items-center gap-1.5">
                    <span aria-hidden="true" class="inline-block w-4 border-t-2 border-dashed border-amber-500"></span>
                    "p95"
                </span>
                <span>"per hour"</span>
            </figcaption>
        </figure>
    }
    .into_any()
}

/// The chart's top: the smallest of 1, 2, 2.5 and 5 times a power of ten
/// that reaches `max`, so the gridlines fall on round numbers.
fn nice_ceiling(max: f64) -> f64 {
    if !max.is_finite() || max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&top| top >= max)
        .unwrap_or(10.0 * magnitude)
}

#[cfg(test)]
mod tests {
    use super::nice_ceiling;

    #[test]
    fn the_top_is_a_round_number_above_the_maximum() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(f64::NAN), 1.0);
        assert_eq!(nice_ceiling(0.42), 0.5);
        assert_eq!(nice_ceiling(12.0), 20.0);
        assert_eq!(nice_ceiling(20.0), 20.0);
        assert_eq!(nice_ceiling(230.0), 250.0);
        assert_eq!(nice_ceiling(3_100.0), 5_000.0);
    }
}

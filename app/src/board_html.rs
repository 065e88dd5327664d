//! A status page's services as server-built HTML: the part of the page
//! that grows with the number of services, so it is written straight into
//! one string rather than through a view tree, and kept small: about
//! 0.8 KiB a service (docs/benchmarks.md), where one element per bar
//! segment with its label twice was 20 KiB.
//!
//! Each card carries `data-service` and `data-status` (docs/api.md), its
//! latency, when it was checked ("12 s ago", with the time in
//! `datetime`), its problem, its checks, and its 90-day bar as one SVG: a
//! path per band covering its runs of days, and today's segment on its
//! own, which live probes recolour. The per-day detail (date, uptime,
//! worst state, share without data) is a disclosure under the bar: the
//! page's script fills it from `/api/services/<name>/days` when opened;
//! without a script, the card's name leads to the service's page, whose
//! bar labels every day. What every card would repeat (the legend's "90
//! days ago" and "Today", a check's ✓ and its text) comes from CSS.
//!
//! The browser's side ([`crate::board_live`]) finds what to update by
//! these attributes: `data-latency`, `time[data-ago]`, `data-message`,
//! `data-conditions`, `data-today` (`total successful`) and `data-totals`
//! on the bar, `data-uptime-pct`, and `data-group` with its own
//! `data-status`.

use crate::status_page::{encode_segment, push_latency, push_segment, push_service_href};
use crate::uptime_bar::format_pct;
use chrono::{DateTime, Utc};
use std::fmt::Write;
use wire::{Band, Bands, GroupView, PageSnapshot, ServiceStatus, ServiceView, BAR_DAYS};

/// Past this many services a page opens only the groups with a problem.
pub const COLLAPSE_PAST: usize = 50;
/// Past this many services a page shows the compact grid by default.
pub const GRID_PAST: usize = 300;

/// How a page lays its services out by default.
pub fn default_view(services: usize) -> &'static str {
    if services > GRID_PAST {
        "grid"
    } else {
        "list"
    }
}

/// The id of a service's card, for links to it (`#s-<name>`).
pub fn card_id(name: &str) -> String {
    format!("s-{}", encode_segment(name))
}

/// Whether a status is one the page leads with.
pub fn is_problem(status: ServiceStatus) -> bool {
    matches!(status, ServiceStatus::Down | ServiceStatus::Degraded)
}

/// Every group of the page, its cards inside.
pub fn board(snapshot: &PageSnapshot) -> String {
    let services = snapshot.services().count();
    let mut html = String::with_capacity(services * 900 + 256);
    let collapse = services > COLLAPSE_PAST;
    // A large page of ungrouped services still gets a group to fold.
    let single = snapshot.groups.len() == 1 && snapshot.groups[0].name.is_none();
    for group in &snapshot.groups {
        let name = group
            .name
            .as_deref()
            .or((collapse && single).then_some("Services"));
        write_group(
            &mut html,
            group,
            name,
            &snapshot.slug,
            snapshot.generated_at,
            collapse,
        );
    }
    html
}

fn write_group(
    html: &mut String,
    group: &GroupView,
    name: Option<&str>,
    slug: &str,
    now: DateTime<Utc>,
    collapse: bool,
) {
    let worst = ServiceStatus::worst(group.services.iter().map(|s| s.status));
    let Some(name) = name else {
        // Ungrouped services lead the page, unfolded.
        html.push_str(r#"<ul class="svcs">"#);
        for service in &group.services {
            write_card(html, service, slug, now);
        }
        html.push_str("</ul>");
        return;
    };
    let open = !collapse || group.services.iter().any(|s| is_problem(s.status));
    let (total, ok) = group
        .services
        .iter()
        .flat_map(|s| s.uptime.days.iter())
        .fold((0, 0), |(t, o), d| (t + d.total(), o + d.successful()));
    let uptime = if total > 0 {
        format!("{} uptime", format_pct(ok as f64 * 100.0 / total as f64))
    } else {
        "no data yet".to_string()
    };
    let _ = write!(
        html,
        r#"<details class="grp" data-group="{}" data-status="{}"{}><summary><h3>{}</h3><span class="grp-sum"><span class="pill">{}</span> {} · {}</span></summary><ul class="svcs">"#,
        escape(name),
        worst.as_str(),
        if open { " open" } else { "" },
        escape(name),
        worst.label(),
        count_text(group.services.len()),
        uptime,
    );
    for service in &group.services {
        write_card(html, service, slug, now);
    }
    html.push_str("</ul></details>");
}

fn count_text(n: usize) -> String {
    if n == 1 {
        "1 service".into()
    } else {
        format!("{n} services")
    }
}

fn write_card(html: &mut String, s: &ServiceView, slug: &str, now: DateTime<Utc>) {
    // Written piece by piece onto the page: a card allocates nothing of
    // its own but its uptime text (issue 16: a fresh render of 1,000
    // services within 10 ms).
    html.push_str(r#"<li id="s-"#);
    push_segment(html, &s.name);
    html.push_str(r#"" data-service=""#);
    push_escaped(html, &s.name);
    let _ = write!(
        html,
        r#"" data-status="{}"><div><a href=""#,
        s.status.as_str()
    );
    push_service_href(html, slug, &s.name);
    html.push_str(r#"">"#);
    push_escaped(html, &s.name);
    let _ = write!(
        html,
        r#"</a><span class="pill">{}</span></div><p class="svc-meta"><span data-latency>"#,
        s.status.label(),
    );
    match s.latency_ms {
        Some(ms) => push_latency(html, ms),
        None => html.push('—'),
    }
    html.push_str("</span> · checked ");
    match s.last_checked {
        Some(at) => {
            html.push_str(r#"<time data-ago datetime=""#);
            push_rfc3339_millis(html, at);
            html.push_str(r#"">"#);
            push_ago(html, (now - at).num_seconds());
            html.push_str("</time></p>");
        }
        None => html.push_str("<time data-ago>not yet</time></p>"),
    }
    if is_problem(s.status) {
        if let Some(message) = &s.message {
            html.push_str(r#"<p class="svc-msg" data-message>"#);
            push_escaped(html, message);
            html.push_str("</p>");
        }
    }
    write_bar(html, s);
    if !s.conditions.is_empty() {
        let passing = s.conditions.iter().filter(|c| c.success).count();
        let _ = write!(
            html,
            r#"<details class="checks" data-conditions><summary>{passing}/{} checks passing</summary><ul>"#,
            s.conditions.len()
        );
        for c in &s.conditions {
            html.push_str(r#"<li data-condition=""#);
            push_escaped(html, &c.condition);
            let _ = write!(html, r#"" data-success="{}"></li>"#, c.success);
        }
        html.push_str("</ul></details>");
    }
    html.push_str("</li>");
}

/// `2026-12-03T11:59:48.000Z`, as `to_rfc3339_opts(Millis, true)` writes
/// it, without a string of its own.
fn push_rfc3339_millis(html: &mut String, at: DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    let _ = write!(
        html,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.nanosecond() / 1_000_000 % 1_000,
    );
}

/// The bar: its runs of days as one path per band, today apart, inside a
/// disclosure that holds each day's detail.
fn write_bar(html: &mut String, s: &ServiceView) {
    let bar = &s.uptime;
    let (total, ok) = bar
        .days
        .iter()
        .fold((0, 0), |(t, o), d| (t + d.total(), o + d.successful()));
    let pct = (total > 0).then(|| format_pct(ok as f64 * 100.0 / total as f64));
    let _ = write!(
        html,
        r#"<details class="bar" data-uptime-bar data-totals="{total} {ok}"><summary aria-label="Uptime over the last {BAR_DAYS} days: {}. Show each day"><svg viewBox="0 0 {BAR_DAYS} 1" preserveAspectRatio="none" aria-hidden="true">"#,
        pct.as_deref().unwrap_or("no data yet"),
    );
    let mut bands = [None; BAR_DAYS];
    let shown = bar.days.len().min(BAR_DAYS);
    for (band, day) in bands.iter_mut().zip(&bar.days[bar.days.len() - shown..]) {
        *band = day.band(&bar.bands);
    }
    let bands = &bands[..shown];
    // Days before the bar's first are drawn as without data.
    let start = BAR_DAYS - shown;
    let settled = shown.saturating_sub(1);
    write_runs(html, start, &bands[..settled]);
    if let Some(today) = bar.days.last() {
        let band = bands[settled];
        let _ = write!(
            html,
            r#"<rect data-today="{} {}" data-day=""#,
            today.total(),
            today.successful(),
        );
        if let Some(day) = bar.last_day() {
            let _ = write!(html, "{day}");
        }
        let _ = write!(
            html,
            r#"" data-worst="{}" data-band="{}" class="{}" x="{}" width="1" height="1"/>"#,
            today.worst().as_str(),
            band_name(band),
            band_class(band),
            start + settled,
        );
    }
    html.push_str(r#"</svg></summary></details><p class="legend"><span data-uptime-pct>"#);
    match pct {
        Some(pct) => {
            html.push_str(&pct);
            html.push_str(" uptime");
        }
        None => html.push_str("No data yet"),
    }
    html.push_str("</span></p>");
}

/// One `<path>` per band: a rectangle per run of days in that band, the
/// days before `start` (before the bar begins) without data.
fn write_runs(html: &mut String, start: usize, bands: &[Option<Band>]) {
    for band in [
        None,
        Some(Band::Healthy),
        Some(Band::Warning),
        Some(Band::Critical),
    ] {
        let mut open = false;
        let mut add = |html: &mut String, x: usize, w: usize| {
            if !open {
                let _ = write!(html, r#"<path class="{}" d=""#, band_class(band));
                open = true;
            }
            let _ = write!(html, "M{x} .5h{w}");
        };
        if band.is_none() && start > 0 {
            add(html, 0, start);
        }
        let mut i = 0;
        while i < bands.len() {
            let mut j = i + 1;
            while j < bands.len() && bands[j] == bands[i] {
                j += 1;
            }
            if bands[i] == band {
                add(html, start + i, j - i);
            }
            i = j;
        }
        if open {
            html.push_str(r#""/>"#);
        }
    }
}

pub fn band_name(band: Option<Band>) -> &'static str {
    band.map_or("unknown", Band::as_str)
}

/// The fill of a band's days (style/tailwind.css).
pub fn band_class(band: Option<Band>) -> &'static str {
    match band {
        Some(Band::Healthy) => "bh",
        Some(Band::Warning) => "bw",
        Some(Band::Critical) => "bc",
        None => "bn",
    }
}

/// The error-rate thresholds as the page's root carries them
/// (`data-bands="0.05 0.1"`), for the browser to colour today with.
pub fn bands_attr(snapshot: &PageSnapshot) -> String {
    let bands = snapshot
        .services()
        .next()
        .map_or_else(Bands::default, |s| s.uptime.bands);
    format!("{} {}", bands.warning, bands.critical)
}

/// `just now`, `12 s ago`, `4 min ago`, `3 h ago`, `2 d ago`.
pub fn ago_text(seconds: i64) -> String {
    let mut text = String::new();
    push_ago(&mut text, seconds);
    text
}

/// [`ago_text`] written onto `out`.
fn push_ago(out: &mut String, seconds: i64) {
    let _ = match seconds {
        i64::MIN..=1 => write!(out, "just now"),
        2..=59 => write!(out, "{seconds} s ago"),
        60..=3_599 => write!(out, "{} min ago", seconds / 60),
        3_600..=86_399 => write!(out, "{} h ago", seconds / 3_600),
        _ => write!(out, "{} d ago", seconds / 86_400),
    };
}

/// Text safe in an element or a quoted attribute.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(ESCAPED) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 16);
    push_escaped(&mut out, text);
    out.into()
}

const ESCAPED: [char; 5] = ['&', '<', '>', '"', '\''];

/// [`escape`] written onto `out`.
fn push_escaped(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(i) = rest.find(ESCAPED) {
        out.push_str(&rest[..i]);
        out.push_str(match rest.as_bytes()[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use wire::{ConditionOutcome, DaySegment, UptimeBar};

    fn service(name: &str, group: Option<&str>, status: ServiceStatus) -> ServiceView {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
        let mut view = ServiceView::new(name, group.map(str::to_string));
        view.status = status;
        view.latency_ms = Some(12.3);
        view.last_checked = Some(now - chrono::Duration::seconds(12));
        view.message = Some("HTTP 200".into());
        view.conditions = vec![ConditionOutcome {
            condition: "[STATUS] == 200".into(),
            success: true,
        }];
        let days = (0..BAR_DAYS)
            .map(|i| {
                let failed = if i % 30 == 7 { 500 } else { 0 };
                DaySegment(2_880, 2_880 - failed, 0, ServiceStatus::Operational)
            })
            .collect();
        view.uptime = std::sync::Arc::new(UptimeBar {
            first_day: chrono::NaiveDate::from_ymd_opt(2026, 9, 5),
            days,
            bands: Bands::default(),
        });
        view
    }

    fn page(services: Vec<ServiceView>) -> PageSnapshot {
        let mut groups: Vec<GroupView> = Vec::new();
        for s in services {
            match groups.iter_mut().find(|g| g.name == s.group) {
                Some(g) => g.services.push(s),
                None => groups.push(GroupView {
                    name: s.group.clone(),
                    services: vec![s],
                }),
            }
        }
        PageSnapshot {
            slug: "public".into(),
            title: "Acme".into(),
            description: None,
            overall_status: ServiceStatus::Operational,
            groups,
            generated_at: Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap(),
        }
    }

    #[test]
    fn a_card_is_about_a_kibibyte_with_its_whole_bar() {
        let services: Vec<ServiceView> = (0..1_000)
            .map(|i| {
                service(
                    &format!("service-{i:04}"),
                    Some("Core"),
                    ServiceStatus::Operational,
                )
            })
            .collect();
        let html = board(&page(services));
        let per_service = html.len() / 1_000;
        assert!(
            per_service <= 1_024,
            "{per_service} bytes a service: {}",
            &html[..1_200]
        );
        assert_eq!(html.matches("data-service=").count(), 1_000);
        // Three bad days make three runs of their own in the critical path.
        assert!(
            html.contains(r#"<path class="bc" d="M7 .5h1M37 .5h1M67 .5h1"/>"#),
            "{}",
            &html[..2_000]
        );
    }

    #[test]
    fn runs_cover_every_day_once_and_a_short_bar_ends_today() {
        let bands = [
            Some(Band::Healthy),
            Some(Band::Healthy),
            None,
            Some(Band::Critical),
        ];
        let mut paths = String::new();
        write_runs(&mut paths, 86, &bands);
        assert_eq!(
            paths,
            r#"<path class="bn" d="M0 .5h86M88 .5h1"/><path class="bh" d="M86 .5h2"/><path class="bc" d="M89 .5h1"/>"#
        );
        let mut short = service("new", None, ServiceStatus::Operational);
        std::sync::Arc::make_mut(&mut short.uptime).days.truncate(3);
        let html = board(&page(vec![short]));
        assert!(
            html.contains(r#"x="89" width="1""#),
            "today is the last column: {html}"
        );
        assert!(
            html.contains(r#"<path class="bn" d="M0 .5h87"/>"#),
            "{html}"
        );
    }

    #[test]
    fn names_and_messages_are_escaped_and_links_encoded() {
        let mut odd = service("<b>\"db\"/1", None, ServiceStatus::Down);
        odd.message = Some("got <script>".into());
        let html = board(&page(vec![odd]));
        assert!(
            !html.contains("<b>") && !html.contains("<script>"),
            "{html}"
        );
        assert!(
            html.contains(r#"data-service="&lt;b&gt;&quot;db&quot;/1""#),
            "{html}"
        );
        assert!(
            html.contains("/status/public/%3Cb%3E%22db%22%2F1"),
            "{html}"
        );
        assert!(
            html.contains(r#"data-message>got &lt;script&gt;</p>"#),
            "{html}"
        );
    }

    #[test]
    fn large_pages_fold_groups_but_open_the_ones_with_a_problem() {
        let mut services: Vec<ServiceView> = (0..60)
            .map(|i| service(&format!("a{i}"), Some("Quiet"), ServiceStatus::Operational))
            .collect();
        services.push(service("broken", Some("Loud"), ServiceStatus::Down));
        let html = board(&page(services));
        assert!(
            html.contains(r#"data-group="Quiet" data-status="operational"><summary>"#),
            "folded"
        );
        assert!(
            html.contains(r#"data-group="Loud" data-status="down" open>"#),
            "open"
        );
        assert!(html.contains("60 services · "));
        // A small page leaves every group open.
        let small = board(&page(vec![service(
            "a",
            Some("Quiet"),
            ServiceStatus::Operational,
        )]));
        assert!(small.contains(r#"data-status="operational" open>"#));
    }

    #[test]
    fn what_cards_write_in_place_reads_as_the_shared_formatters_write_it() {
        for millis in [0, 1, 999, 1_764_763_188_123, 4_102_444_799_999] {
            let at = DateTime::from_timestamp_millis(millis).unwrap();
            let mut written = String::new();
            push_rfc3339_millis(&mut written, at);
            assert_eq!(
                written,
                at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            );
        }
        for ms in [0.04, 9.96, 12.3, 999.4, 1_234.5, 61_000.0] {
            let mut written = String::new();
            push_latency(&mut written, ms);
            assert_eq!(written, crate::status_page::format_latency(ms));
        }
        for name in ["api", "db/primary", "50% club", "é"] {
            let mut written = String::new();
            push_segment(&mut written, name);
            assert_eq!(written, encode_segment(name));
            assert_eq!(escape(&written), written, "a segment needs no escaping");
        }
    }

    #[test]
    fn checked_times_read_as_a_person_says_them() {
        assert_eq!(ago_text(0), "just now");
        assert_eq!(ago_text(12), "12 s ago");
        assert_eq!(ago_text(60), "1 min ago");
        assert_eq!(ago_text(7_300), "2 h ago");
        assert_eq!(ago_text(200_000), "2 d ago");
        let html = board(&page(vec![service("a", None, ServiceStatus::Operational)]));
        assert!(
            html.contains(r#"datetime="2026-12-03T11:59:48.000Z">12 s ago</time>"#),
            "{html}"
        );
    }
}

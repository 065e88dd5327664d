//! What a status page shows: each service's view with its 90-day bar,
//! grouped, and the overall headline.

use crate::{Band, Bands, ConditionOutcome, ProbeEvent, ServiceStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One service as a status page shows it: the latest known truth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceView {
    pub name: String,
    pub group: Option<String>,
    pub status: ServiceStatus,
    pub latency_ms: Option<f64>,
    pub last_checked: Option<DateTime<Utc>>,
    pub message: Option<String>,
    /// Each condition's outcome in the latest result.
    #[serde(default)]
    pub conditions: Vec<ConditionOutcome>,
    /// The last 90 days, a segment a day (empty until history is loaded).
    /// Not in a live snapshot (docs/api.md): a page has it from its render.
    /// Shared, not copied, by the views a render takes of the board: a
    /// change copies it only while a render still holds it.
    #[serde(default, skip_serializing_if = "UptimeBar::is_empty")]
    pub uptime: Arc<UptimeBar>,
}

impl ServiceView {
    pub fn new(name: impl Into<String>, group: Option<String>) -> Self {
        ServiceView {
            name: name.into(),
            group,
            status: ServiceStatus::Unknown,
            latency_ms: None,
            last_checked: None,
            message: None,
            conditions: Vec::new(),
            uptime: Arc::default(),
        }
    }

    /// Folds a probe result into the view (status changes come separately).
    pub fn apply_probe(&mut self, probe: &ProbeEvent) {
        self.latency_ms = Some(probe.latency_ms);
        self.last_checked = Some(probe.timestamp);
        self.message = Some(probe.message.clone());
        self.conditions = probe.conditions.clone();
        Arc::make_mut(&mut self.uptime).apply_probe(probe.timestamp, probe.success);
    }

    /// Whether `probe` is newer than the latest result the view holds. A
    /// service is probed one result at a time, so its results arrive in
    /// order; one that isn't newer is already counted. A page meets those
    /// when it connects: the snapshot holds the results the hub had
    /// gathered but not yet sent, and they arrive again just after it.
    pub fn is_news(&self, probe: &ProbeEvent) -> bool {
        self.last_checked
            .is_none_or(|latest| probe.timestamp > latest)
    }

    /// Takes the latest truth from a snapshot's view, keeping the bar
    /// when the snapshot carries none.
    pub fn refresh_from(&mut self, mut latest: ServiceView) {
        if latest.uptime.is_empty() {
            latest.uptime = std::mem::take(&mut self.uptime);
        }
        *self = latest;
    }

    /// Folds a status change into the view.
    pub fn apply_status(&mut self, to: ServiceStatus, at: DateTime<Utc>) {
        self.status = to;
        Arc::make_mut(&mut self.uptime).apply_status(to, at);
    }
}

/// One UTC day of a service's uptime bar. On the wire a compact array,
/// `[total, successful, unknown_ms, worst]`, since a page carries 90 of
/// them per service.
///
/// A day's counts fit 32 bits (a day is 86,400,000 ms, and holds fewer
/// probes than that): 16 bytes a segment, where 64-bit counts took 32, for
/// the 90 that every service's bar holds (docs/benchmarks.md, issue 15).
/// Sums over days are taken in 64 bits ([`DaySegment::total`]).
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct DaySegment(
    /// Probe results that day.
    pub u32,
    /// Successful ones.
    pub u32,
    /// Milliseconds of the day (up to the render, for today) without data:
    /// Hale not running, or the service not yet monitored. Never counted as up.
    pub u32,
    /// The worst status in effect during the day; unknown without data.
    pub ServiceStatus,
);

impl DaySegment {
    /// A day's segment from wider counts (a count past 32 bits, which no
    /// day holds, is kept at the largest).
    pub fn new(total: u64, successful: u64, unknown_ms: u64, worst: ServiceStatus) -> DaySegment {
        let narrow = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        DaySegment(narrow(total), narrow(successful), narrow(unknown_ms), worst)
    }
    pub fn total(&self) -> u64 {
        u64::from(self.0)
    }
    pub fn successful(&self) -> u64 {
        u64::from(self.1)
    }
    pub fn unknown_ms(&self) -> u64 {
        u64::from(self.2)
    }
    pub fn worst(&self) -> ServiceStatus {
        self.3
    }

    /// Successful share in percent; `None` without results.
    pub fn uptime_pct(&self) -> Option<f64> {
        (self.0 > 0).then(|| f64::from(self.1) * 100.0 / f64::from(self.0))
    }

    /// The day's error-rate band; `None` (grey) without results.
    pub fn band(&self, bands: &Bands) -> Option<Band> {
        (self.0 > 0)
            .then(|| bands.classify(f64::from(self.0.saturating_sub(self.1)) / f64::from(self.0)))
    }
}

/// Days an uptime bar shows.
pub const BAR_DAYS: usize = 90;

/// A service's uptime bar: one segment per UTC day, oldest first, the last
/// being the newest day with data or the day of the render.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct UptimeBar {
    /// The date of `days[0]`.
    pub first_day: Option<chrono::NaiveDate>,
    pub days: Vec<DaySegment>,
    pub bands: Bands,
}

impl UptimeBar {
    /// Whether the bar holds no day (history not loaded, or not sent).
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// The date of segment `index`.
    pub fn date(&self, index: usize) -> Option<chrono::NaiveDate> {
        self.first_day
            .and_then(|d| d.checked_add_days(chrono::Days::new(index as u64)))
    }

    pub fn last_day(&self) -> Option<chrono::NaiveDate> {
        self.days.len().checked_sub(1).and_then(|i| self.date(i))
    }

    /// Uptime over the whole bar, in percent; `None` without results.
    pub fn uptime_pct(&self) -> Option<f64> {
        let (total, ok) = self.days.iter().fold((0u64, 0u64), |(t, o), d| {
            (t + d.total(), o + d.successful())
        });
        (total > 0).then(|| ok as f64 * 100.0 / total as f64)
    }

    /// Moves the bar forward so its last segment is `day`, keeping
    /// [`BAR_DAYS`] segments; new days start empty.
    pub fn roll_to(&mut self, day: chrono::NaiveDate) {
        let Some(last) = self.last_day() else {
            self.first_day = Some(day);
            self.days = vec![DaySegment::default()];
            return;
        };
        let ahead = (day - last).num_days();
        if ahead <= 0 {
            return;
        }
        let ahead = (ahead as usize).min(BAR_DAYS);
        self.days
            .extend(std::iter::repeat_n(DaySegment::default(), ahead));
        let excess = self.days.len().saturating_sub(BAR_DAYS);
        self.days.drain(..excess);
        self.first_day = day.checked_sub_days(chrono::Days::new(self.days.len() as u64 - 1));
    }

    /// The segment of `day`, rolling the bar forward to it when it is
    /// newer; `None` for a day older than the bar.
    fn segment(&mut self, day: chrono::NaiveDate) -> Option<&mut DaySegment> {
        self.roll_to(day);
        let first = self.first_day?;
        let index = usize::try_from((day - first).num_days()).ok()?;
        self.days.get_mut(index)
    }

    /// Counts a probe result in its day.
    pub fn apply_probe(&mut self, at: DateTime<Utc>, success: bool) {
        if let Some(segment) = self.segment(at.date_naive()) {
            segment.0 = segment.0.saturating_add(1);
            segment.1 = segment.1.saturating_add(u32::from(success));
            if segment.3 == ServiceStatus::Unknown {
                segment.3 = ServiceStatus::Operational;
            }
        }
    }

    /// Makes `status` count towards its day's worst state.
    pub fn apply_status(&mut self, status: ServiceStatus, at: DateTime<Utc>) {
        if let Some(segment) = self.segment(at.date_naive()) {
            let worse =
                segment.3 == ServiceStatus::Unknown || status.severity() > segment.3.severity();
            if worse && status != ServiceStatus::Unknown {
                segment.3 = status;
            }
        }
    }
}

/// A titled group of services on a page, in configuration order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupView {
    pub name: Option<String>,
    pub services: Vec<ServiceView>,
}

/// Everything a status page renders, as of `generated_at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageSnapshot {
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    pub overall_status: ServiceStatus,
    pub groups: Vec<GroupView>,
    pub generated_at: DateTime<Utc>,
}

impl PageSnapshot {
    pub fn services(&self) -> impl Iterator<Item = &ServiceView> {
        self.groups.iter().flat_map(|g| g.services.iter())
    }
}

/// The sentence the overall indicator shows.
pub fn overall_headline(overall: ServiceStatus, statuses: &[ServiceStatus]) -> &'static str {
    if statuses.is_empty() {
        return "No services monitored yet";
    }
    match overall {
        ServiceStatus::Operational => "All systems operational",
        ServiceStatus::Maintenance => "Scheduled maintenance in progress",
        ServiceStatus::Degraded => "Degraded performance",
        ServiceStatus::Unknown => "Checking services…",
        ServiceStatus::Down => {
            if statuses.iter().all(|s| *s == ServiceStatus::Down) {
                "Major outage"
            } else {
                "Partial outage"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_the_view_already_holds_is_not_news() {
        let at = |s: i64| DateTime::<Utc>::from_timestamp(1_800_000_000 + s, 0).unwrap();
        let probe = |s: i64| ProbeEvent {
            service: "api".into(),
            timestamp: at(s),
            success: true,
            latency_ms: 3.0,
            status_code: Some(200),
            message: "HTTP 200".into(),
            conditions: vec![],
            region: None,
        };
        let mut view = ServiceView::new("api", None);
        assert!(view.is_news(&probe(0)), "the first result");
        view.apply_probe(&probe(30));
        assert!(!view.is_news(&probe(30)), "the same result again");
        assert!(!view.is_news(&probe(0)), "an older one");
        assert!(view.is_news(&probe(60)));
    }

    #[test]
    fn headline_tells_partial_from_major_outage() {
        use ServiceStatus::*;
        assert_eq!(overall_headline(Down, &[Down, Down]), "Major outage");
        assert_eq!(
            overall_headline(Down, &[Down, Operational]),
            "Partial outage"
        );
        assert_eq!(
            overall_headline(Operational, &[Operational]),
            "All systems operational"
        );
        assert_eq!(overall_headline(Unknown, &[]), "No services monitored yet");
    }
}

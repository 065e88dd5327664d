//! The words of DESIGN.md as types, shared by the server and the browser.
//!
//! Everything that crosses the wire (the status page snapshot, WebSocket
//! messages) is defined here once, so the server's serializer and the
//! browser's deserializer can never disagree.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The state of one service, as shown on a status page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    Operational,
    Degraded,
    Down,
    Maintenance,
    /// Before the first result, and while Hale itself was not running.
    #[default]
    Unknown,
}

impl ServiceStatus {
    pub const ALL: [ServiceStatus; 5] = [
        ServiceStatus::Operational,
        ServiceStatus::Degraded,
        ServiceStatus::Down,
        ServiceStatus::Maintenance,
        ServiceStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::Operational => "operational",
            ServiceStatus::Degraded => "degraded",
            ServiceStatus::Down => "down",
            ServiceStatus::Maintenance => "maintenance",
            ServiceStatus::Unknown => "unknown",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ServiceStatus::Operational => "Operational",
            ServiceStatus::Degraded => "Degraded",
            ServiceStatus::Down => "Down",
            ServiceStatus::Maintenance => "Maintenance",
            ServiceStatus::Unknown => "Unknown",
        }
    }

    /// How bad a status is, for "overall is the worst of the services shown".
    /// Unknown ranks above maintenance and operational: not knowing is worse
    /// than a planned pause.
    pub fn severity(self) -> u8 {
        match self {
            ServiceStatus::Operational => 0,
            ServiceStatus::Maintenance => 1,
            ServiceStatus::Unknown => 2,
            ServiceStatus::Degraded => 3,
            ServiceStatus::Down => 4,
        }
    }

    /// The worst of a set of statuses; `Unknown` for an empty set, because a
    /// page that monitors nothing can't claim everything is operational.
    pub fn worst(statuses: impl IntoIterator<Item = ServiceStatus>) -> ServiceStatus {
        statuses
            .into_iter()
            .max_by_key(|s| s.severity())
            .unwrap_or(ServiceStatus::Unknown)
    }
}

impl fmt::Display for ServiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ServiceStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServiceStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown service status {s:?}"))
    }
}

/// The outcome of one condition of one probe, e.g. `[STATUS] == 200` → false.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConditionOutcome {
    pub condition: String,
    pub success: bool,
}

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
    #[serde(default)]
    pub uptime: UptimeBar,
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
            uptime: UptimeBar::default(),
        }
    }

    /// Folds a probe result into the view (status changes come separately).
    pub fn apply_probe(&mut self, probe: &ProbeEvent) {
        self.latency_ms = Some(probe.latency_ms);
        self.last_checked = Some(probe.timestamp);
        self.message = Some(probe.message.clone());
        self.conditions = probe.conditions.clone();
        self.uptime.apply_probe(probe.timestamp, probe.success);
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

    /// Folds a status change into the view.
    pub fn apply_status(&mut self, to: ServiceStatus, at: DateTime<Utc>) {
        self.status = to;
        self.uptime.apply_status(to, at);
    }
}

/// Error-rate class over a window (DESIGN.md): healthy below the warning
/// threshold, critical above the critical one, warning between. Ordered
/// from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    Healthy,
    Warning,
    Critical,
}

impl Band {
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Healthy => "healthy",
            Band::Warning => "warning",
            Band::Critical => "critical",
        }
    }
}

/// The thresholds of the error-rate bands, as fractions (0.05 = 5 %).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bands {
    pub warning: f64,
    pub critical: f64,
}

impl Default for Bands {
    fn default() -> Self {
        Bands {
            warning: 0.05,
            critical: 0.10,
        }
    }
}

impl Bands {
    /// Healthy below `warning`, warning from `warning` up to and including
    /// `critical`, critical above it.
    pub fn classify(&self, error_rate: f64) -> Band {
        if error_rate > self.critical {
            Band::Critical
        } else if error_rate >= self.warning {
            Band::Warning
        } else {
            Band::Healthy
        }
    }
}

/// One UTC day of a service's uptime bar. On the wire a compact array,
/// `[total, successful, unknown_ms, worst]`, since a page carries 90 of
/// them per service.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct DaySegment(
    /// Probe results that day.
    pub u64,
    /// Successful ones.
    pub u64,
    /// Milliseconds of the day (up to the render, for today) without data:
    /// Hale not running, or the service not yet monitored. Never counted as up.
    pub u64,
    /// The worst status in effect during the day; unknown without data.
    pub ServiceStatus,
);

impl DaySegment {
    pub fn total(&self) -> u64 {
        self.0
    }
    pub fn successful(&self) -> u64 {
        self.1
    }
    pub fn unknown_ms(&self) -> u64 {
        self.2
    }
    pub fn worst(&self) -> ServiceStatus {
        self.3
    }

    /// Successful share in percent; `None` without results.
    pub fn uptime_pct(&self) -> Option<f64> {
        (self.0 > 0).then(|| self.1 as f64 * 100.0 / self.0 as f64)
    }

    /// The day's error-rate band; `None` (grey) without results.
    pub fn band(&self, bands: &Bands) -> Option<Band> {
        (self.0 > 0).then(|| bands.classify((self.0 - self.1) as f64 / self.0 as f64))
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
        let (total, ok) = self
            .days
            .iter()
            .fold((0, 0), |(t, o), d| (t + d.0, o + d.1));
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
            segment.0 += 1;
            segment.1 += u64::from(success);
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

/// A window's latency figures, in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub min_ms: f64,
    pub max_ms: f64,
    pub avg_ms: f64,
    pub median_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub num_requests: u64,
}

/// A service's figures over one window (24 h, 7 d, 30 d, 90 d or a range).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowFigures {
    /// `"24h"`, `"7d"`, `"30d"`, `"90d"`, or `"custom"`.
    pub window: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Successful share of results, in percent; `None` without results.
    /// Time without data is not in it: see `unknown_pct`.
    pub uptime_pct: Option<f64>,
    /// Share of the window without data, in percent.
    pub unknown_pct: f64,
    pub total_count: u64,
    pub error_count: u64,
    /// Failed share of results (0–1); `None` without results.
    pub error_rate: Option<f64>,
    pub band: Option<Band>,
    pub latency: Option<LatencySummary>,
}

/// One point of a latency chart: a bucket's median and 95th percentile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyPoint {
    pub start: DateTime<Utc>,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub count: u64,
}

/// What a service's detail page (`/status/<slug>/<service>`) shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceDetail {
    pub page_slug: String,
    pub page_title: String,
    pub service: ServiceView,
    /// 24 h, 7 d, 30 d and 90 d, in that order.
    pub windows: Vec<WindowFigures>,
    /// Hourly points over the last 24 hours, oldest first.
    pub latency: Vec<LatencyPoint>,
    /// The newest results, newest first.
    pub recent: Vec<ProbeEvent>,
    pub generated_at: DateTime<Utc>,
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

/// One probe result as the live hub publishes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeEvent {
    pub service: String,
    pub timestamp: DateTime<Utc>,
    pub success: bool,
    pub latency_ms: f64,
    pub status_code: Option<u16>,
    pub message: String,
    pub conditions: Vec<ConditionOutcome>,
    pub region: Option<String>,
}

/// Every WebSocket message: one JSON object with a `"type"` (DESIGN.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage {
    /// Sent first, on connect: every service the client may see.
    Snapshot {
        timestamp: DateTime<Utc>,
        services: Vec<ServiceView>,
    },
    /// Every 2 seconds, so clients can tell a quiet hub from a dead one.
    Heartbeat {
        timestamp: DateTime<Utc>,
    },
    Probe(ProbeEvent),
    StatusChange {
        service: String,
        from: ServiceStatus,
        to: ServiceStatus,
        at: DateTime<Utc>,
        cause: String,
    },
}

impl LiveMessage {
    /// Reads a message as the hub writes it; the same result as
    /// `serde_json::from_str::<LiveMessage>`, read differently. serde's
    /// derive for a `"type"`-tagged enum buffers the object into a generic
    /// tree first and then reads every field type a second way, from that
    /// tree: in the browser's wasm that doubled the code that reads
    /// services, bars and probes, which hydration already reads from JSON.
    /// Here the tag is read first, then the whole text again as the
    /// variant's own struct (the `"type"` field is ignored there), so every
    /// type is read by one decoder only.
    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        #[derive(Deserialize)]
        struct Tag<'a> {
            #[serde(rename = "type", borrow)]
            kind: std::borrow::Cow<'a, str>,
        }
        #[derive(Deserialize)]
        struct Snapshot {
            timestamp: DateTime<Utc>,
            services: Vec<ServiceView>,
        }
        #[derive(Deserialize)]
        struct Heartbeat {
            timestamp: DateTime<Utc>,
        }
        #[derive(Deserialize)]
        struct StatusChange {
            service: String,
            from: ServiceStatus,
            to: ServiceStatus,
            at: DateTime<Utc>,
            cause: String,
        }

        let tag: Tag = serde_json::from_str(text)?;
        Ok(match tag.kind.as_ref() {
            "snapshot" => {
                let Snapshot {
                    timestamp,
                    services,
                } = serde_json::from_str(text)?;
                LiveMessage::Snapshot {
                    timestamp,
                    services,
                }
            }
            "heartbeat" => {
                let Heartbeat { timestamp } = serde_json::from_str(text)?;
                LiveMessage::Heartbeat { timestamp }
            }
            "probe" => LiveMessage::Probe(serde_json::from_str(text)?),
            "status_change" => {
                let StatusChange {
                    service,
                    from,
                    to,
                    at,
                    cause,
                } = serde_json::from_str(text)?;
                LiveMessage::StatusChange {
                    service,
                    from,
                    to,
                    at,
                    cause,
                }
            }
            other => {
                return Err(serde::de::Error::unknown_variant(
                    other,
                    &["snapshot", "heartbeat", "probe", "status_change"],
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn from_json_reads_what_the_derive_reads() {
        let at = Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap();
        let mut api = ServiceView::new("api", Some("Core".into()));
        api.status = ServiceStatus::Degraded;
        api.latency_ms = Some(12.5);
        api.last_checked = Some(at);
        let probe = ProbeEvent {
            service: "api".into(),
            timestamp: at,
            success: false,
            latency_ms: 812.0,
            status_code: Some(503),
            message: "HTTP 503".into(),
            conditions: vec![ConditionOutcome {
                condition: "[STATUS] == 200".into(),
                success: false,
            }],
            region: Some("eu".into()),
        };
        let messages = [
            LiveMessage::Snapshot {
                timestamp: at,
                services: vec![api, ServiceView::new("db", None)],
            },
            LiveMessage::Heartbeat { timestamp: at },
            LiveMessage::Probe(probe),
            LiveMessage::StatusChange {
                service: "api".into(),
                from: ServiceStatus::Operational,
                to: ServiceStatus::Down,
                at,
                cause: "3 consecutive failures".into(),
            },
        ];
        for message in messages {
            let text = serde_json::to_string(&message).unwrap();
            assert_eq!(LiveMessage::from_json(&text).unwrap(), message, "{text}");
            assert_eq!(serde_json::from_str::<LiveMessage>(&text).unwrap(), message);
        }
        // The tag need not come first, and unknown fields are ignored.
        let reordered = r#"{"timestamp":"2026-01-15T10:00:00Z","extra":1,"type":"heartbeat"}"#;
        assert_eq!(
            LiveMessage::from_json(reordered).unwrap(),
            LiveMessage::Heartbeat { timestamp: at }
        );
        for bad in [
            r#"{"type":"gossip","timestamp":"2026-01-15T10:00:00Z"}"#,
            r#"{"timestamp":"2026-01-15T10:00:00Z"}"#,
            r#"{"type":"heartbeat"}"#,
            "not json",
        ] {
            assert!(LiveMessage::from_json(bad).is_err(), "{bad}");
        }
    }

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
    fn worst_status_follows_severity() {
        use ServiceStatus::*;
        assert_eq!(ServiceStatus::worst([Operational, Down, Degraded]), Down);
        assert_eq!(
            ServiceStatus::worst([Operational, Maintenance]),
            Maintenance
        );
        assert_eq!(ServiceStatus::worst([Operational, Unknown]), Unknown);
        assert_eq!(ServiceStatus::worst([Operational]), Operational);
        assert_eq!(ServiceStatus::worst([]), Unknown);
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

    #[test]
    fn status_round_trips_through_strings() {
        for status in ServiceStatus::ALL {
            assert_eq!(status.as_str().parse::<ServiceStatus>(), Ok(status));
        }
        assert!("sideways".parse::<ServiceStatus>().is_err());
    }

    #[test]
    fn live_messages_have_the_contract_shapes() {
        let at = Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap();
        let heartbeat = serde_json::to_value(LiveMessage::Heartbeat { timestamp: at }).unwrap();
        assert_eq!(
            heartbeat,
            serde_json::json!({"type":"heartbeat","timestamp":"2026-01-15T10:00:00Z"})
        );
        let change = serde_json::to_value(LiveMessage::StatusChange {
            service: "api".into(),
            from: ServiceStatus::Operational,
            to: ServiceStatus::Down,
            at,
            cause: "3 consecutive failures".into(),
        })
        .unwrap();
        assert_eq!(change["type"], "status_change");
        assert_eq!(change["service"], "api");
        assert_eq!(change["from"], "operational");
        assert_eq!(change["to"], "down");
        assert_eq!(change["at"], "2026-01-15T10:00:00Z");
    }
}

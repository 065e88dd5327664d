//! Reading history: windows, uptime bars and latency series, from buckets
//! plus the hot rows of the hour under way. Never a scan of raw rows
//! beyond that hour.

use super::{Detail, HistoryData, HistoryRead, Store, StoreError};
use crate::event::ProbeResult;
use crate::history::{floor_to, Bucket, HistorySettings, DAY_MS, HOUR_MS};
use chrono::{TimeZone, Utc};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use wire::{DaySegment, ServiceStatus, UptimeBar, BAR_DAYS};

/// The history of every service, over a store.
#[derive(Clone)]
pub struct History {
    pub store: Arc<dyn Store>,
    settings: Arc<RwLock<HistorySettings>>,
    bar_cache: Arc<Mutex<Option<BarCache>>>,
}

/// The bars' days before today, which only a roll-up of a finished hour
/// can change: kept with the store's roll-up generation they were read at.
struct BarCache {
    generation: Option<i64>,
    today: i64,
    past: HashMap<String, Vec<DaySegment>>,
}

/// A window's per-service sum and the span it really covers.
pub struct Totals {
    pub start_ms: i64,
    pub end_ms: i64,
    pub services: HashMap<String, Bucket>,
}

impl History {
    pub fn new(store: Arc<dyn Store>, settings: HistorySettings) -> History {
        History {
            store,
            settings: Arc::new(RwLock::new(settings)),
            bar_cache: Arc::default(),
        }
    }

    pub fn settings(&self) -> HistorySettings {
        self.settings.read().expect("history settings lock").clone()
    }

    pub fn reconfigure(&self, settings: HistorySettings) {
        *self.settings.write().expect("history settings lock") = settings;
    }

    /// Each service's sum over `[from, to)`, `to` clipped to now. The
    /// window starts on the hour (on the day, where only daily buckets are
    /// kept); `Totals` says which span it covered.
    ///
    /// Whole days that are rolled up are read as daily buckets (each the
    /// sum of its hours, kept so by every roll-up in the same
    /// transaction), so 90 days of 1,000 services are 90,000 rows rather
    /// than 2.16 million hours; hours are read only for the part day at
    /// each end, and hot rows for what is not rolled up yet.
    pub async fn totals(
        &self,
        services: &[String],
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> Result<Totals, StoreError> {
        let settings = self.settings();
        let end = to_ms.min(now_ms);
        let hourly_from = floor_to(now_ms - settings.retention.hourly_ms, DAY_MS);
        let mut start = floor_to(from_ms, HOUR_MS);
        if start < hourly_from {
            start = floor_to(from_ms, DAY_MS);
        }
        // The watermark only moves forward, so days wholly before the one
        // read here are rolled up in the snapshot read below too.
        let rolled_days_until = match self.watermark().await? {
            Some(watermark) => floor_to(end.min(watermark), DAY_MS),
            None => i64::MIN,
        };
        let first_day = -floor_to(-start, DAY_MS);
        let mut days_until = rolled_days_until;
        if start < hourly_from {
            // Beyond the hours' retention a day is the finest there is.
            days_until = days_until.max(hourly_from.min(end));
        }
        let mut sums: HashMap<String, Bucket> = HashMap::new();
        let mut add = |name: String, bucket: &Bucket| match sums.get_mut(&name) {
            Some(sum) => sum.merge(bucket),
            None => {
                let mut sum = Bucket::empty(start);
                sum.merge(bucket);
                sums.insert(name, sum);
            }
        };
        let mut read = HistoryRead::of(services);
        let mut tail_from = start;
        if days_until > first_day {
            read.days = Some((first_day, days_until));
            tail_from = days_until;
            if start < first_day {
                // The part day at the start: finished hours, never hot.
                let head = HistoryRead {
                    hours: Some((start, first_day)),
                    ..HistoryRead::of(services)
                };
                for (name, hour) in self.store.read_history(&head).await?.hours {
                    add(name, &hour);
                }
            }
        }
        if end > tail_from {
            read.hours = Some((tail_from - LOOK_BACK_MS, end));
            read.hot = Some((tail_from, end));
        }
        let data = self.store.read_history(&read).await?;
        for (name, day) in data.days {
            add(name, &day);
        }
        for (name, bucket) in with_hot(
            data.hours,
            &data.hot,
            tail_from,
            now_ms,
            &settings,
            data.watermark_ms,
        ) {
            add(name, &bucket);
        }
        Ok(Totals {
            start_ms: start,
            end_ms: end.max(start),
            services: sums,
        })
    }

    /// How far results are rolled up into buckets: hot rows are those
    /// checked at or after it. It only moves forward.
    async fn watermark(&self) -> Result<Option<i64>, StoreError> {
        let read = HistoryRead {
            // An empty range: the watermark is read, no rows.
            hot: Some((i64::MAX, i64::MAX)),
            ..HistoryRead::default()
        };
        Ok(self.store.read_history(&read).await?.watermark_ms)
    }

    /// Hourly buckets in `[from, to)`, the hot hours built on the fly, in
    /// time order per service.
    pub async fn hours(
        &self,
        services: &[String],
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
        settings: &HistorySettings,
    ) -> Result<Vec<(String, Bucket)>, StoreError> {
        if to_ms <= from_ms {
            return Ok(Vec::new());
        }
        let mut read = HistoryRead::of(services);
        read.hours = Some((from_ms - LOOK_BACK_MS, to_ms));
        read.hot = Some((from_ms, to_ms));
        let data = self.store.read_history(&read).await?;
        Ok(with_hot(
            data.hours,
            &data.hot,
            from_ms,
            now_ms,
            settings,
            data.watermark_ms,
        ))
    }

    /// Probes counted by hour over every one of `services` in
    /// `[from, to)`: the rolled-up hours summed by the store, a row per
    /// hour, and the hot hours built on the fly. Hours without probes are
    /// left out.
    pub async fn hourly_counts(
        &self,
        services: &[String],
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> Result<BTreeMap<i64, u64>, StoreError> {
        let mut counts = BTreeMap::new();
        if to_ms <= from_ms || services.is_empty() {
            return Ok(counts);
        }
        let read = HistoryRead {
            hours: Some((from_ms, to_ms)),
            hot: Some((from_ms, to_ms)),
            detail: Detail::Sums,
            ..HistoryRead::of(services)
        };
        let data = self.store.read_history(&read).await?;
        let hot = hot_hours(&data.hot, now_ms, &self.settings(), &[], data.watermark_ms);
        for (_, bucket) in data.hours.iter().chain(&hot) {
            *counts.entry(bucket.start_ms).or_default() += bucket.total;
        }
        Ok(counts)
    }

    /// Each service's uptime bar: [`BAR_DAYS`] UTC days up to today.
    /// Days before today come from a cache while the store's roll-up
    /// generation (read in the same snapshot as today) is unchanged.
    pub async fn bars(
        &self,
        services: &[String],
        now_ms: i64,
    ) -> Result<HashMap<String, UptimeBar>, StoreError> {
        let settings = self.settings();
        let today = floor_to(now_ms, DAY_MS);
        let first = today - (BAR_DAYS as i64 - 1) * DAY_MS;
        let cached_generation = {
            let cache = self.bar_cache.lock().expect("bar cache lock");
            cache
                .as_ref()
                .filter(|c| c.today == today && services.iter().all(|s| c.past.contains_key(s)))
                .map(|c| c.generation)
        };
        if let Some(generation) = cached_generation {
            let data = self.read_bar_days(services, today, now_ms).await?;
            if data.generation == generation {
                let cache = self.bar_cache.lock().expect("bar cache lock");
                if let Some(cache) = cache.as_ref().filter(|c| c.generation == generation) {
                    let mut today_part = segments(services, &data, &settings, today, today, now_ms);
                    return Ok(services
                        .iter()
                        .map(|name| {
                            // Sized once: a clone of the past grew to
                            // twice its length for today's one day.
                            let past = &cache.past[name];
                            let today_days = today_part.remove(name).unwrap_or_default();
                            let mut days = Vec::with_capacity(past.len() + today_days.len());
                            days.extend_from_slice(past);
                            days.extend(today_days);
                            (name.clone(), bar(first, days, &settings))
                        })
                        .collect());
                }
            }
        }
        let data = self.read_bar_days(services, first, now_ms).await?;
        let mut all = segments(services, &data, &settings, first, today, now_ms);
        let mut cache = self.bar_cache.lock().expect("bar cache lock");
        let fresh = cache
            .as_ref()
            .is_none_or(|c| c.generation != data.generation || c.today != today);
        if fresh {
            *cache = Some(BarCache {
                generation: data.generation,
                today,
                past: HashMap::new(),
            });
        }
        if let Some(cache) = cache.as_mut() {
            for (name, days) in &all {
                cache
                    .past
                    .insert(name.clone(), days[..days.len() - 1].to_vec());
            }
        }
        Ok(all
            .drain()
            .map(|(name, days)| (name, bar(first, days, &settings)))
            .collect())
    }

    /// What the bars need from `from` (a day) to now, in one snapshot.
    async fn read_bar_days(
        &self,
        services: &[String],
        from: i64,
        now_ms: i64,
    ) -> Result<HistoryData, StoreError> {
        // Daily buckets hold the rolled-up hours (the provisional one
        // included); hot rows after the watermark are added by day. The
        // hours just before now tell where coverage stood before them.
        let read = HistoryRead {
            days: Some((from, floor_to(now_ms, DAY_MS) + DAY_MS)),
            hours: Some((floor_to(now_ms, HOUR_MS) - LOOK_BACK_MS, now_ms + 1)),
            hot: Some((from, now_ms + 1)),
            detail: Detail::Counts,
            changes: Some((from, now_ms + 1)),
            ..HistoryRead::of(services)
        };
        self.store.read_history(&read).await
    }

    /// The worst status each service was in during `[from, to)` (what was
    /// in effect at `from` included; unknown spells only when nothing else
    /// was known), for services with results there.
    pub async fn worst_statuses(
        &self,
        services: &[String],
        from_ms: i64,
        to_ms: i64,
    ) -> Result<HashMap<String, ServiceStatus>, StoreError> {
        let read = HistoryRead {
            changes: Some((from_ms, to_ms)),
            ..HistoryRead::of(services)
        };
        let data = self.store.read_history(&read).await?;
        let changes = changes_by_service(&data);
        Ok(services
            .iter()
            .map(|name| {
                let statuses = changes.get(name.as_str()).map(Vec::as_slice).unwrap_or(&[]);
                (name.clone(), worst_in(statuses, from_ms, to_ms, true))
            })
            .collect())
    }

    /// The newest distinct failure messages of a service in `[from, to)`,
    /// newest first, at most `limit`, looking through at most `scan` of
    /// its newest results there (raw results are kept `raw_retention`).
    pub async fn recent_errors(
        &self,
        service: &str,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
        scan: u32,
    ) -> Result<Vec<String>, StoreError> {
        let results = self
            .store
            .results_between(service, from_ms, to_ms, scan)
            .await?;
        let mut errors: Vec<String> = Vec::new();
        for r in results.iter().filter(|r| !r.success) {
            if errors.len() == limit {
                break;
            }
            if !errors.contains(&r.message) {
                errors.push(r.message.clone());
            }
        }
        Ok(errors)
    }
}

/// Each service's status changes, as (time, new status), in the order read.
fn changes_by_service(data: &HistoryData) -> HashMap<&str, Vec<(i64, ServiceStatus)>> {
    let mut changes: HashMap<&str, Vec<(i64, ServiceStatus)>> = HashMap::new();
    for change in &data.changes {
        changes
            .entry(change.service.as_str())
            .or_default()
            .push((change.at.timestamp_millis(), change.to));
    }
    changes
}

/// Each service's day segments from `from` to `today` (both days).
fn segments(
    services: &[String],
    data: &HistoryData,
    settings: &HistorySettings,
    from: i64,
    today: i64,
    now_ms: i64,
) -> HashMap<String, Vec<DaySegment>> {
    let mut days: HashMap<&str, Vec<Bucket>> = HashMap::new();
    for (name, bucket) in &data.days {
        days.entry(name).or_default().push(bucket.clone());
    }
    for (name, hour) in hot_hours(&data.hot, now_ms, settings, &data.hours, data.watermark_ms) {
        let day_start = floor_to(hour.start_ms, DAY_MS);
        let Some(name) = services.iter().find(|s| **s == name) else {
            continue;
        };
        let service_days = days.entry(name).or_default();
        match service_days.iter_mut().find(|b| b.start_ms == day_start) {
            Some(day) => day.merge(&hour),
            None => {
                let mut day = Bucket::empty(day_start);
                day.merge(&hour);
                service_days.push(day);
            }
        }
    }
    let changes = changes_by_service(data);
    services
        .iter()
        .map(|name| {
            let buckets = days.get(name.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            let statuses = changes.get(name.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            let segments = (0..=(today - from) / DAY_MS)
                .map(|i| {
                    let start = from + i * DAY_MS;
                    let span = (start + DAY_MS).min(now_ms) - start;
                    let bucket = buckets.iter().find(|b| b.start_ms == start);
                    let (total, ok, known) =
                        bucket.map_or((0, 0, 0), |b| (b.total, b.successful, b.known_ms));
                    DaySegment::new(
                        total,
                        ok,
                        u64::try_from(span - known.min(span)).unwrap_or(0),
                        worst_in(statuses, start, start + DAY_MS, total > 0),
                    )
                })
                .collect();
            (name.clone(), segments)
        })
        .collect()
}

fn bar(first: i64, days: Vec<DaySegment>, settings: &HistorySettings) -> UptimeBar {
    UptimeBar {
        first_day: Utc
            .timestamp_millis_opt(first)
            .single()
            .map(|d| d.date_naive()),
        days,
        bands: settings.bands,
    }
}

/// How far before a range buckets are read, to know what covered its start.
const LOOK_BACK_MS: i64 = 2 * HOUR_MS;

/// Rolled-up hours (read from `from - LOOK_BACK_MS`) joined by the hot
/// rows' hours, from `from` on, in time order per service.
fn with_hot(
    rolled: Vec<(String, Bucket)>,
    hot: &[ProbeResult],
    from_ms: i64,
    now_ms: i64,
    settings: &HistorySettings,
    watermark_ms: Option<i64>,
) -> Vec<(String, Bucket)> {
    let built = hot_hours(hot, now_ms, settings, &rolled, watermark_ms);
    let mut hours: Vec<(String, Bucket)> = rolled
        .into_iter()
        .filter(|(_, b)| b.start_ms >= floor_to(from_ms, HOUR_MS))
        .collect();
    // A late hot row can share an hour with its rolled-up bucket: only
    // the rolled hours from the first hot one on can be shared, so only
    // they are indexed (a long range holds millions of rolled hours).
    let first_hot = built.iter().map(|(_, b)| b.start_ms).min();
    let mut shared: HashMap<(String, i64), usize> = HashMap::new();
    if let Some(first_hot) = first_hot {
        for (i, (name, bucket)) in hours.iter().enumerate() {
            if bucket.start_ms >= first_hot {
                shared.insert((name.clone(), bucket.start_ms), i);
            }
        }
    }
    for (name, bucket) in built {
        let key = (name, bucket.start_ms);
        match shared.get(&key) {
            Some(&i) => {
                let existing = &mut hours[i].1;
                let known = (existing.known_ms + bucket.known_ms).min(HOUR_MS);
                existing.merge(&bucket);
                existing.known_ms = known;
            }
            None => hours.push((key.0, bucket)),
        }
    }
    hours.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.start_ms.cmp(&b.1.start_ms)));
    hours
}

/// Buckets built from hot rows (oldest first), an hour each. `rolled`
/// tells the newest rolled-up result before them, so coverage runs on
/// across the boundary; time before the watermark is the rolled buckets'
/// to count.
fn hot_hours(
    hot: &[ProbeResult],
    now_ms: i64,
    settings: &HistorySettings,
    rolled: &[(String, Bucket)],
    watermark_ms: Option<i64>,
) -> Vec<(String, Bucket)> {
    let mut built = Vec::new();
    let groups = group(hot);
    // Each hot service's rolled results' times, in one pass over `rolled`.
    let mut rolled_last: HashMap<&str, Vec<i64>> = groups
        .iter()
        .map(|(service, _)| (*service, Vec::new()))
        .collect();
    for (name, bucket) in rolled {
        if let (Some(times), Some(at)) = (rolled_last.get_mut(name.as_str()), bucket.last_at_ms) {
            times.push(at);
        }
    }
    for (service, results) in groups {
        let cap = settings.cap(service);
        let first_at = results[0].checked_at.timestamp_millis();
        let mut previous = rolled_last[service]
            .iter()
            .copied()
            .filter(|at| *at < first_at)
            .max();
        let mut rest = results.as_slice();
        while let Some(first) = rest.first() {
            let hour = floor_to(first.checked_at.timestamp_millis(), HOUR_MS);
            let split = rest
                .iter()
                .position(|r| r.checked_at.timestamp_millis() >= hour + HOUR_MS)
                .unwrap_or(rest.len());
            let (this, next) = rest.split_at(split);
            let until = (hour + HOUR_MS).min(now_ms);
            let from = hour.max(watermark_ms.unwrap_or(hour));
            let mut bucket = Bucket::build(from, until, this, previous, cap);
            bucket.start_ms = hour;
            built.push((service.to_string(), bucket));
            previous = this.last().map(|r| r.checked_at.timestamp_millis());
            rest = next;
        }
    }
    built
}

/// Results (oldest first) grouped by service, keeping time order.
fn group(results: &[ProbeResult]) -> Vec<(&str, Vec<ProbeResult>)> {
    let mut groups: HashMap<&str, Vec<ProbeResult>> = HashMap::new();
    for r in results {
        groups.entry(&r.service).or_default().push(r.clone());
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| a.0.cmp(b.0));
    groups
}

/// The worst status in effect during `[start, end)`, from changes (oldest
/// first, the first possibly before `start`). Unknown spells (Hale
/// starting or stopping) don't count when anything else was known; a day
/// with results but no recorded change was operational.
fn worst_in(
    changes: &[(i64, ServiceStatus)],
    start: i64,
    end: i64,
    has_results: bool,
) -> ServiceStatus {
    let in_effect = changes.iter().rposition(|(at, _)| *at < start);
    let during = changes
        .iter()
        .enumerate()
        .filter(|(i, (at, _))| Some(*i) == in_effect || (*at >= start && *at < end))
        .map(|(_, (_, status))| *status)
        .filter(|s| *s != ServiceStatus::Unknown);
    match ServiceStatus::worst(during) {
        ServiceStatus::Unknown if has_results => ServiceStatus::Operational,
        ServiceStatus::Unknown => ServiceStatus::Unknown,
        worst if has_results => worst,
        _ => ServiceStatus::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServiceStatus::*;

    #[test]
    fn the_worst_state_of_a_day_counts_what_was_in_effect_at_its_start() {
        let changes = [(-10, Degraded), (50, Operational), (150, Down)];
        assert_eq!(worst_in(&changes, 0, 100, true), Degraded);
        assert_eq!(worst_in(&changes, 100, 200, true), Down);
        assert_eq!(worst_in(&changes, 200, 300, true), Down);
        assert_eq!(
            worst_in(&[(10, Unknown), (20, Operational)], 0, 100, true),
            Operational
        );
        assert_eq!(worst_in(&[], 0, 100, true), Operational);
        assert_eq!(worst_in(&[(-5, Down)], 0, 100, false), Unknown);
    }
}

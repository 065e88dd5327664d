//! The status page's cards, live: the browser's side of
//! [`crate::board_html`].
//!
//! The cards are server-built HTML, not hydrated components, so a page of
//! 10,000 services costs the browser no view tree. Once the page's island
//! has hydrated, [`start`] reads the cards once (name, status, when each
//! was checked), follows the live hub, and writes each message into the
//! card it names: `data-status` and its pill, latency, "checked … ago",
//! the problem line, the checks, today's segment of the bar and the bar's
//! uptime. Messages are gathered and applied once per animation frame, so
//! 33 probe results a second are one short task a frame, not 33. The
//! island's own signals (the counts, the problems summary) change only
//! when a status does.
//!
//! It also keeps "12 s ago" ticking, filters the cards by name and by
//! problem, switches the list and the compact grid (remembered in
//! `localStorage`), and fills a bar's per-day detail from
//! `/api/services/<name>/days` when it is opened. On the server all of
//! this does nothing.

use crate::live::Connection;
use leptos::prelude::*;
use wire::ServiceStatus;

/// Starts following the hub and applying it to the cards (browser only).
pub fn start(
    connection: RwSignal<Connection>,
    counts: RwSignal<[usize; 5]>,
    problems: RwSignal<Vec<(String, ServiceStatus)>>,
    layout: RwSignal<String>,
) {
    #[cfg(feature = "hydrate")]
    dom::start(connection, counts, problems, layout);
    #[cfg(not(feature = "hydrate"))]
    let _ = (connection, counts, problems, layout);
}

/// Shows only the cards whose name contains `query` (any case) and, with
/// `only_problems`, that are down or degraded; groups with a match open.
pub fn filter(query: &str, only_problems: bool) {
    #[cfg(feature = "hydrate")]
    dom::with(|board| board.filter(query, only_problems));
    #[cfg(not(feature = "hydrate"))]
    let _ = (query, only_problems);
}

/// Opens the group holding `service`'s card, so a link to it lands.
pub fn reveal(service: &str) {
    #[cfg(feature = "hydrate")]
    dom::with(|board| board.reveal(service));
    #[cfg(not(feature = "hydrate"))]
    let _ = service;
}

/// Lays the cards out as `list` or `grid`; `remember` keeps the choice
/// for the next visit.
pub fn set_view(view: &str, remember: bool) {
    #[cfg(feature = "hydrate")]
    dom::with(|board| board.set_view(view, remember));
    #[cfg(not(feature = "hydrate"))]
    let _ = (view, remember);
}

#[cfg(feature = "hydrate")]
mod dom {
    use super::*;
    use crate::board_html::{ago_text, band_class, band_name, escape, is_problem};
    use crate::live::{follow_with, Sink};
    use crate::status_page::{counts as count_statuses, format_latency, problems};
    use crate::uptime_bar::{days_html, format_pct, segment_label};
    use std::cell::{Cell, RefCell};
    use std::collections::HashMap;
    use std::rc::Rc;
    use std::time::Duration;
    use wasm_bindgen::{closure::Closure, JsCast};
    use web_sys::{Element, Event};
    use wire::{Bands, ConditionOutcome, DaySegment, LiveMessage, ProbeEvent, UptimeBar};

    /// Past this many waiting messages they are applied at once: a hidden
    /// tab gets no animation frames.
    const MAX_PENDING: usize = 2_000;
    const VIEW_KEY: &str = "hale:view";

    struct Card {
        name: String,
        lower: String,
        li: Element,
        time: Option<Element>,
        status: Cell<ServiceStatus>,
        /// The newest result's time, ms since the epoch (NaN: none yet).
        checked_ms: Cell<f64>,
        shown_ago: RefCell<String>,
        message: RefCell<Option<String>>,
        group: Option<usize>,
        /// Near the viewport: only these tick "… ago" each second.
        seen: Cell<bool>,
    }

    impl Card {
        /// Whether a result at `at` (ms) is newer than the newest shown.
        fn is_news(&self, at: f64) -> bool {
            let shown = self.checked_ms.get();
            shown.is_nan() || at > shown
        }
    }

    struct Group {
        el: Element,
        open_at_first: bool,
        cards: Vec<usize>,
    }

    pub(super) struct Board {
        root: Element,
        cards: Vec<Card>,
        index: HashMap<String, usize>,
        groups: Vec<Group>,
        bands: Bands,
        counts: RwSignal<[usize; 5]>,
        problems: RwSignal<Vec<(String, ServiceStatus)>>,
        pending: RefCell<Vec<LiveMessage>>,
        frame_due: Cell<bool>,
        filter: RefCell<(String, bool)>,
    }

    thread_local! {
        static BOARD: RefCell<Option<Rc<Board>>> = const { RefCell::new(None) };
    }

    pub(super) fn with(f: impl FnOnce(&Board)) {
        if let Some(board) = BOARD.with(|b| b.borrow().clone()) {
            f(&board);
        }
    }

    pub(super) fn start(
        connection: RwSignal<Connection>,
        counts: RwSignal<[usize; 5]>,
        problems: RwSignal<Vec<(String, ServiceStatus)>>,
        layout: RwSignal<String>,
    ) {
        // After hydration, once: it reads no signal.
        Effect::new(move |_| {
            let Some(board) = Board::read(counts, problems) else {
                return;
            };
            let board = Rc::new(board);
            BOARD.with(|b| *b.borrow_mut() = Some(board.clone()));
            if let Some(view) = stored_view() {
                board.set_view(&view, false);
                layout.set(view);
            }
            board.listen();
            let sink: Sink = {
                let board = board.clone();
                Rc::new(move |message| board.take(message))
            };
            follow_with(sink, connection);
            let ticking = board.clone();
            if let Ok(handle) =
                set_interval_with_handle(move || ticking.tick(), Duration::from_secs(1))
            {
                let cleanup = send_wrapper::SendWrapper::new(handle);
                on_cleanup(move || cleanup.clear());
            }
        });
    }

    fn stored_view() -> Option<String> {
        let storage = window().local_storage().ok()??;
        let view = storage.get_item(VIEW_KEY).ok()??;
        matches!(view.as_str(), "list" | "grid").then_some(view)
    }

    fn all(root: &Element, selector: &str) -> Vec<Element> {
        let Ok(list) = root.query_selector_all(selector) else {
            return Vec::new();
        };
        (0..list.length())
            .filter_map(|i| list.item(i)?.dyn_into::<Element>().ok())
            .collect()
    }

    fn find(root: &Element, selector: &str) -> Option<Element> {
        root.query_selector(selector).ok().flatten()
    }

    fn set_text(root: &Element, selector: &str, text: &str) {
        if let Some(el) = find(root, selector) {
            if el.text_content().as_deref() != Some(text) {
                el.set_text_content(Some(text));
            }
        }
    }

    fn now_ms() -> f64 {
        js_sys::Date::now()
    }

    /// Two numbers from an attribute like `data-today="12 11"`.
    fn pair(el: &Element, name: &str) -> (u64, u64) {
        let text = el.get_attribute(name).unwrap_or_default();
        let mut parts = text.split(' ').map(|p| p.parse().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }

    impl Board {
        fn read(
            counts: RwSignal<[usize; 5]>,
            problems: RwSignal<Vec<(String, ServiceStatus)>>,
        ) -> Option<Board> {
            let root = document().get_element_by_id("board")?;
            let bands = root
                .get_attribute("data-bands")
                .and_then(|b| {
                    let mut parts = b.split(' ').map(|p| p.parse::<f64>().ok());
                    Some(Bands {
                        warning: parts.next()??,
                        critical: parts.next()??,
                    })
                })
                .unwrap_or_default();
            let groups_el = all(&root, "details[data-group]");
            let mut card_group: HashMap<String, usize> = HashMap::new();
            for (g, el) in groups_el.iter().enumerate() {
                for li in all(el, "[data-service]") {
                    if let Some(name) = li.get_attribute("data-service") {
                        card_group.insert(name, g);
                    }
                }
            }
            let mut groups: Vec<Group> = groups_el
                .into_iter()
                .map(|el| Group {
                    open_at_first: el.has_attribute("open"),
                    el,
                    cards: Vec::new(),
                })
                .collect();
            let mut cards = Vec::new();
            let mut index = HashMap::new();
            for li in all(&root, "[data-service]") {
                let Some(name) = li.get_attribute("data-service") else {
                    continue;
                };
                let status = li
                    .get_attribute("data-status")
                    .and_then(|s| ServiceStatus::parse(&s))
                    .unwrap_or_default();
                let time = find(&li, "time[data-ago]");
                let checked_ms = time
                    .as_ref()
                    .and_then(|t| t.get_attribute("datetime"))
                    .map_or(f64::NAN, |d| js_sys::Date::parse(&d));
                let message = find(&li, "[data-message]").and_then(|m| m.text_content());
                let group = card_group.get(&name).copied();
                if let Some(g) = group {
                    groups[g].cards.push(cards.len());
                }
                index.insert(name.clone(), cards.len());
                cards.push(Card {
                    lower: name.to_lowercase(),
                    name,
                    li,
                    time,
                    status: Cell::new(status),
                    checked_ms: Cell::new(checked_ms),
                    shown_ago: RefCell::new(String::new()),
                    message: RefCell::new(message),
                    group,
                    seen: Cell::new(false),
                });
            }
            Some(Board {
                root,
                cards,
                index,
                groups,
                bands,
                counts,
                problems,
                pending: RefCell::new(Vec::new()),
                frame_due: Cell::new(false),
                filter: RefCell::new((String::new(), false)),
            })
        }

        /// The bar's per-day detail on opening, and the arrow keys along it.
        fn listen(self: &Rc<Self>) {
            let on_toggle = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
                let Some(details) = event.target().and_then(|t| t.dyn_into::<Element>().ok())
                else {
                    return;
                };
                if details.has_attribute("data-uptime-bar") && details.has_attribute("open") {
                    load_days(details);
                }
            });
            // `toggle` does not bubble: listen as it goes down.
            let _ = self.root.add_event_listener_with_callback_and_bool(
                "toggle",
                on_toggle.as_ref().unchecked_ref(),
                true,
            );
            on_toggle.forget();
            let on_key =
                Closure::<dyn FnMut(web_sys::KeyboardEvent)>::new(crate::uptime_bar::move_focus);
            let _ = self
                .root
                .add_event_listener_with_callback("keydown", on_key.as_ref().unchecked_ref());
            on_key.forget();
            self.watch_viewport();
        }

        /// Marks the cards near the viewport, so a second's tick touches
        /// the few dozen on screen rather than all of them (a thousand text
        /// changes a second is a thousand relayouts' worth of style work).
        /// A card entering the viewport is brought up to date at once.
        fn watch_viewport(self: &Rc<Self>) {
            let board = Rc::downgrade(self);
            let on_change =
                Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
                    let Some(board) = board.upgrade() else {
                        return;
                    };
                    let now = now_ms();
                    for entry in entries.iter() {
                        let Ok(entry) = entry.dyn_into::<web_sys::IntersectionObserverEntry>()
                        else {
                            continue;
                        };
                        let name = entry.target().get_attribute("data-service");
                        let Some(&i) = name.as_ref().and_then(|n| board.index.get(n)) else {
                            continue;
                        };
                        let card = &board.cards[i];
                        card.seen.set(entry.is_intersecting());
                        if card.seen.get() {
                            board.tick_card(card, now);
                        }
                    }
                });
            let options = web_sys::IntersectionObserverInit::new();
            options.set_root_margin("200px 0px");
            let Ok(observer) = web_sys::IntersectionObserver::new_with_options(
                on_change.as_ref().unchecked_ref(),
                &options,
            ) else {
                // No observer: every card ticks.
                self.cards.iter().for_each(|c| c.seen.set(true));
                return;
            };
            on_change.forget();
            for card in &self.cards {
                observer.observe(&card.li);
            }
        }

        /// Queues a message for the next frame.
        fn take(self: &Rc<Self>, message: LiveMessage) {
            let mut pending = self.pending.borrow_mut();
            if matches!(message, LiveMessage::Snapshot { .. }) {
                // It holds everything queued before it.
                pending.clear();
            }
            pending.push(message);
            let full = pending.len() >= MAX_PENDING;
            drop(pending);
            if full {
                self.apply_pending();
            } else if !self.frame_due.replace(true) {
                let board = self.clone();
                request_animation_frame(move || board.apply_pending());
            }
        }

        fn apply_pending(&self) {
            self.frame_due.set(false);
            let messages = std::mem::take(&mut *self.pending.borrow_mut());
            let mut statuses_changed = false;
            for message in messages {
                match message {
                    LiveMessage::Snapshot { services, .. } => {
                        for view in services {
                            let Some(&i) = self.index.get(&view.name) else {
                                continue;
                            };
                            let card = &self.cards[i];
                            let newer = view
                                .last_checked
                                .map(|t| t.timestamp_millis() as f64)
                                .filter(|t| card.is_news(*t));
                            if let Some(at) = newer {
                                card.checked_ms.set(at);
                                self.show_result(
                                    card,
                                    view.latency_ms,
                                    view.message,
                                    &view.conditions,
                                );
                            }
                            if view.status != card.status.get() {
                                self.show_status(card, view.status, None);
                                statuses_changed = true;
                            }
                        }
                    }
                    LiveMessage::Heartbeat { .. } => {}
                    LiveMessage::Probe(probe) => self.probe(&probe),
                    LiveMessage::StatusChange {
                        service, to, at, ..
                    } => {
                        if let Some(&i) = self.index.get(&service) {
                            let day = at.date_naive().to_string();
                            self.show_status(&self.cards[i], to, Some(&day));
                            statuses_changed = true;
                        }
                    }
                }
            }
            if statuses_changed {
                self.statuses_changed();
            }
        }

        fn probe(&self, probe: &ProbeEvent) {
            let Some(&i) = self.index.get(&probe.service) else {
                return;
            };
            let card = &self.cards[i];
            let at = probe.timestamp.timestamp_millis() as f64;
            // Per service, results come in order: an older one is counted.
            if !card.is_news(at) {
                return;
            }
            card.checked_ms.set(at);
            self.show_result(
                card,
                Some(probe.latency_ms),
                Some(probe.message.clone()),
                &probe.conditions,
            );
            self.count_today(card, probe);
        }

        /// Latency, check time, problem line and checks of the newest result.
        fn show_result(
            &self,
            card: &Card,
            latency_ms: Option<f64>,
            message: Option<String>,
            conditions: &[ConditionOutcome],
        ) {
            let li = &card.li;
            let latency = latency_ms.map_or_else(|| "—".to_string(), format_latency);
            set_text(li, "[data-latency]", &latency);
            if let Some(time) = &card.time {
                let at = js_sys::Date::new(&card.checked_ms.get().into());
                let _ = time.set_attribute("datetime", &String::from(at.to_iso_string()));
            }
            if card.seen.get() {
                self.tick_card(card, now_ms());
            }
            *card.message.borrow_mut() = message;
            self.show_message(card);
            self.show_conditions(li, conditions);
        }

        fn show_message(&self, card: &Card) {
            let existing = find(&card.li, "[data-message]");
            let message = card.message.borrow();
            match (is_problem(card.status.get()), message.as_deref(), existing) {
                (true, Some(text), Some(el)) if el.text_content().as_deref() != Some(text) => {
                    el.set_text_content(Some(text));
                }
                (true, Some(_), Some(_)) => {}
                (true, Some(text), None) => {
                    if let Some(meta) = find(&card.li, ".svc-meta") {
                        let html =
                            format!(r#"<p class="svc-msg" data-message>{}</p>"#, escape(text));
                        let _ = meta.insert_adjacent_html("afterend", &html);
                    }
                }
                (_, _, Some(el)) => el.remove(),
                _ => {}
            }
        }

        fn show_conditions(&self, li: &Element, conditions: &[ConditionOutcome]) {
            let passing = conditions.iter().filter(|c| c.success).count();
            let summary = format!("{passing}/{} checks passing", conditions.len());
            let items: String = conditions
                .iter()
                .map(|c| {
                    let condition = escape(&c.condition);
                    format!(
                        r#"<li data-condition="{condition}" data-success="{}"></li>"#,
                        c.success
                    )
                })
                .collect();
            match find(li, "[data-conditions]") {
                Some(details) => {
                    set_text(&details, "summary", &summary);
                    if let Some(list) = find(&details, "ul") {
                        if list.inner_html() != items {
                            list.set_inner_html(&items);
                        }
                    }
                    if conditions.is_empty() {
                        details.remove();
                    }
                }
                None if !conditions.is_empty() => {
                    let html = format!(
                        r#"<details class="checks" data-conditions><summary>{summary}</summary><ul>{items}</ul></details>"#
                    );
                    let _ = li.insert_adjacent_html("beforeend", &html);
                }
                None => {}
            }
        }

        /// Counts a result in today's segment and the bar's uptime.
        fn count_today(&self, card: &Card, probe: &ProbeEvent) {
            let li = &card.li;
            let Some(rect) = find(li, "rect[data-today]") else {
                return;
            };
            let day = probe.timestamp.date_naive().to_string();
            let (mut total, mut ok) = pair(&rect, "data-today");
            if rect.get_attribute("data-day").as_deref() != Some(day.as_str()) {
                // A new day: the bar moves on at the next render.
                (total, ok) = (0, 0);
                let _ = rect.set_attribute("data-day", &day);
                let _ = rect.set_attribute("data-worst", "unknown");
            }
            total += 1;
            ok += u64::from(probe.success);
            let _ = rect.set_attribute("data-today", &format!("{total} {ok}"));
            if rect.get_attribute("data-worst").as_deref() == Some("unknown") {
                let _ = rect.set_attribute("data-worst", "operational");
            }
            self.paint_today(li, &rect);
            if let Some(bar) = find(li, "[data-uptime-bar]") {
                let (all, all_ok) = pair(&bar, "data-totals");
                let (all, all_ok) = (all + 1, all_ok + u64::from(probe.success));
                let _ = bar.set_attribute("data-totals", &format!("{all} {all_ok}"));
                let pct = format_pct(all_ok as f64 * 100.0 / all as f64);
                set_text(li, "[data-uptime-pct]", &format!("{pct} uptime"));
            }
        }

        /// Today's colour, and its label in an opened per-day list.
        fn paint_today(&self, li: &Element, rect: &Element) {
            let (total, ok) = pair(rect, "data-today");
            let worst = rect
                .get_attribute("data-worst")
                .and_then(|w| ServiceStatus::parse(&w))
                .unwrap_or_default();
            let segment = DaySegment::new(total, ok, 0, worst);
            let band = segment.band(&self.bands);
            let _ = rect.set_attribute("data-band", band_name(band));
            let _ = rect.set_attribute("class", band_class(band));
            let day = rect.get_attribute("data-day");
            let Some(today) = find(li, "[data-days] li:last-child") else {
                return;
            };
            if today.get_attribute("data-day") != day {
                return;
            }
            let unknown_ms = today
                .get_attribute("data-unknown")
                .and_then(|u| u.parse().ok())
                .unwrap_or(0);
            let date = day.and_then(|d| d.parse().ok());
            let label = segment_label(date, &DaySegment::new(total, ok, unknown_ms, worst));
            let _ = today.set_attribute("aria-label", &label);
            let _ = today.set_attribute("title", &label);
            let _ = today.set_attribute("data-band", band_name(band));
            let _ = today.set_attribute("class", crate::uptime_bar::band_class(band));
        }

        fn show_status(&self, card: &Card, to: ServiceStatus, day: Option<&str>) {
            card.status.set(to);
            let li = &card.li;
            let _ = li.set_attribute("data-status", to.as_str());
            set_text(li, ":scope > div .pill", to.label());
            self.show_message(card);
            if let (Some(rect), Some(day)) = (find(li, "rect[data-today]"), day) {
                if rect.get_attribute("data-day").as_deref() == Some(day) {
                    let worst = rect
                        .get_attribute("data-worst")
                        .and_then(|w| ServiceStatus::parse(&w))
                        .unwrap_or_default();
                    let worse = worst == ServiceStatus::Unknown || to.severity() > worst.severity();
                    if worse && to != ServiceStatus::Unknown {
                        let _ = rect.set_attribute("data-worst", to.as_str());
                        self.paint_today(li, &rect);
                    }
                }
            }
            if let Some(g) = card.group {
                let group = &self.groups[g];
                let worst =
                    ServiceStatus::worst(group.cards.iter().map(|&c| self.cards[c].status.get()));
                if group.el.get_attribute("data-status").as_deref() != Some(worst.as_str()) {
                    let _ = group.el.set_attribute("data-status", worst.as_str());
                    set_text(&group.el, "summary .pill", worst.label());
                }
            }
        }

        /// The island's counts and problems, and the filter when it hides
        /// by status.
        fn statuses_changed(&self) {
            let statuses = || self.cards.iter().map(|c| (c.name.as_str(), c.status.get()));
            let counts = count_statuses(statuses().map(|(_, s)| s));
            if self.counts.get_untracked() != counts {
                self.counts.set(counts);
            }
            let listed = problems(statuses());
            if self.problems.with_untracked(|p| *p != listed) {
                self.problems.set(listed);
            }
            let (query, only) = self.filter.borrow().clone();
            if only {
                self.filter(&query, only);
            }
        }

        fn tick(&self) {
            let now = now_ms();
            for card in self.cards.iter().filter(|c| c.seen.get()) {
                self.tick_card(card, now);
            }
        }

        fn tick_card(&self, card: &Card, now: f64) {
            let (Some(time), at) = (&card.time, card.checked_ms.get()) else {
                return;
            };
            if at.is_nan() {
                return;
            }
            let text = ago_text(((now - at) / 1_000.0).floor() as i64);
            let mut shown = card.shown_ago.borrow_mut();
            if *shown != text {
                time.set_text_content(Some(&text));
                *shown = text;
            }
        }

        pub(super) fn filter(&self, query: &str, only_problems: bool) {
            let query = query.trim().to_lowercase();
            *self.filter.borrow_mut() = (query.clone(), only_problems);
            let filtering = !query.is_empty() || only_problems;
            let mut visible = vec![false; self.groups.len()];
            for card in &self.cards {
                let shown = (query.is_empty() || card.lower.contains(&query))
                    && (!only_problems || is_problem(card.status.get()));
                if shown == card.li.has_attribute("hidden") {
                    if shown {
                        let _ = card.li.remove_attribute("hidden");
                    } else {
                        let _ = card.li.set_attribute("hidden", "");
                    }
                }
                if let (true, Some(g)) = (shown, card.group) {
                    visible[g] = true;
                }
            }
            for (group, any) in self.groups.iter().zip(visible) {
                let _ = if any || !filtering {
                    group.el.remove_attribute("hidden")
                } else {
                    group.el.set_attribute("hidden", "")
                };
                let open = if filtering { any } else { group.open_at_first };
                let _ = if open {
                    group.el.set_attribute("open", "")
                } else {
                    group.el.remove_attribute("open")
                };
            }
        }

        pub(super) fn reveal(&self, service: &str) {
            let Some(&i) = self.index.get(service) else {
                return;
            };
            let card = &self.cards[i];
            if let Some(g) = card.group {
                let _ = self.groups[g].el.set_attribute("open", "");
            }
            let _ = card.li.remove_attribute("hidden");
        }

        pub(super) fn set_view(&self, view: &str, remember: bool) {
            let _ = self.root.set_attribute("data-view", view);
            if remember {
                if let Ok(Some(storage)) = window().local_storage() {
                    let _ = storage.set_item(VIEW_KEY, view);
                }
            }
        }
    }

    /// Fetches a bar's days and lists them under it, once.
    fn load_days(details: Element) {
        // The list's holder, made on first opening.
        let holder = match find(&details, "[data-days]") {
            Some(holder) => holder,
            None => {
                let _ = details.insert_adjacent_html("beforeend", "<div data-days></div>");
                let Some(holder) = find(&details, "[data-days]") else {
                    return;
                };
                holder
            }
        };
        if find(&holder, "ol").is_some() || holder.has_attribute("data-loading") {
            return;
        }
        let Some(name) = details
            .closest("[data-service]")
            .ok()
            .flatten()
            .and_then(|li| li.get_attribute("data-service"))
        else {
            return;
        };
        let _ = holder.set_attribute("data-loading", "");
        let url = format!(
            "/api/services/{}/days",
            crate::status_page::encode_segment(&name)
        );
        wasm_bindgen_futures::spawn_local(async move {
            let bar = fetch_days(&url).await;
            let _ = holder.remove_attribute("data-loading");
            match bar {
                Some(bar) => {
                    let _ = holder.insert_adjacent_html("afterbegin", &days_html(&bar));
                }
                None => {
                    let _ = holder.insert_adjacent_html(
                        "afterbegin",
                        r#"<p class="text-xs text-red-600">Could not load the days; try again.</p>"#,
                    );
                }
            }
        });
    }

    async fn fetch_days(url: &str) -> Option<UptimeBar> {
        use wasm_bindgen_futures::JsFuture;
        let response = JsFuture::from(window().fetch_with_str(url)).await.ok()?;
        let response: web_sys::Response = response.dyn_into().ok()?;
        if !response.ok() {
            return None;
        }
        let text = JsFuture::from(response.text().ok()?).await.ok()?;
        serde_json::from_str(&text.as_string()?).ok()
    }
}

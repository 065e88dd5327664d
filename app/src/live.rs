//! The browser's side of the live hub.
//!
//! [`follow`] opens `/api/websocket` once the page has hydrated and folds
//! every message into the page's per-service signals. It reconnects with
//! exponential back-off and jitter, and calls the connection stale when no
//! message (the hub sends a heartbeat every 2 s) has arrived for 6 s. On the
//! server it does nothing: the render is the snapshot.

use leptos::prelude::*;
use std::rc::Rc;
use wire::{LiveMessage, ProbeEvent, ServiceView};

/// What the live indicator shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Connected,
    Reconnecting,
    /// Connected, but nothing heard for longer than [`STALE_AFTER_MS`].
    Stale,
}

/// No message for this long and the page says so.
pub const STALE_AFTER_MS: f64 = 6_000.0;
/// No message for this long and the socket is replaced.
pub const RECONNECT_AFTER_MS: f64 = 12_000.0;

impl Connection {
    pub fn as_str(self) -> &'static str {
        match self {
            Connection::Connecting => "connecting",
            Connection::Connected => "connected",
            Connection::Reconnecting => "reconnecting",
            Connection::Stale => "stale",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Connection::Connecting => "Connecting…",
            Connection::Connected => "Live",
            Connection::Reconnecting => "Reconnecting…",
            Connection::Stale => "Stale",
        }
    }

    pub fn explanation(self) -> &'static str {
        match self {
            Connection::Connecting => "Opening the live connection",
            Connection::Connected => "Receiving live updates",
            Connection::Reconnecting => "Connection lost; retrying",
            Connection::Stale => "No update from the server for over 6 seconds",
        }
    }
}

/// Delay before reconnect attempt `attempt` (0-based), before jitter:
/// 0.5 s doubling to a 15 s ceiling.
pub fn backoff_ms(attempt: u32) -> f64 {
    (500.0 * 2f64.powi(attempt.min(10) as i32)).min(15_000.0)
}

/// Told of every probe result of a followed service, after the service's
/// signal has taken it in (a detail page lists them).
pub type OnProbe = Rc<dyn Fn(&ProbeEvent)>;

/// Where a page's live messages go, once read.
pub type Sink = Rc<dyn Fn(LiveMessage)>;

/// Keeps `services` in step with the live hub (browser only), and passes
/// their probe results to `on_probe`.
pub fn follow(
    services: Vec<RwSignal<ServiceView>>,
    connection: RwSignal<Connection>,
    on_probe: Option<OnProbe>,
) {
    follow_with(signals(services, on_probe), connection);
}

/// Hands every live message to `sink` (browser only), keeping
/// `connection` up to date.
pub fn follow_with(sink: Sink, connection: RwSignal<Connection>) {
    #[cfg(feature = "hydrate")]
    client::start(sink, connection);
    #[cfg(not(feature = "hydrate"))]
    let _ = (sink, connection);
}

/// A sink that folds messages into per-service signals.
fn signals(services: Vec<RwSignal<ServiceView>>, on_probe: Option<OnProbe>) -> Sink {
    let services: std::collections::HashMap<String, RwSignal<ServiceView>> = services
        .into_iter()
        .map(|s| (s.with_untracked(|v| v.name.clone()), s))
        .collect();
    Rc::new(move |message| match message {
        LiveMessage::Snapshot {
            services: views, ..
        } => {
            for view in views {
                if let Some(signal) = services.get(&view.name) {
                    signal.update(|held| held.refresh_from(view));
                }
            }
        }
        LiveMessage::Heartbeat { .. } => {}
        LiveMessage::Probe(probe) => {
            if let Some(signal) = services.get(&probe.service) {
                if !signal.with_untracked(|view| view.is_news(&probe)) {
                    return;
                }
                signal.update(|view| view.apply_probe(&probe));
                if let Some(on_probe) = &on_probe {
                    on_probe(&probe);
                }
            }
        }
        LiveMessage::StatusChange {
            service, to, at, ..
        } => {
            if let Some(signal) = services.get(&service) {
                signal.update(|view| view.apply_status(to, at));
            }
        }
    })
}

#[cfg(feature = "hydrate")]
mod client {
    use super::*;
    use send_wrapper::SendWrapper;
    use std::cell::{Cell, RefCell};
    use std::time::Duration;
    use wasm_bindgen::{closure::Closure, JsCast};
    use web_sys::{MessageEvent, WebSocket};

    struct Client {
        sink: Sink,
        connection: RwSignal<Connection>,
        socket: RefCell<Option<WebSocket>>,
        last_heard_ms: Cell<f64>,
        failed_attempts: Cell<u32>,
        stopped: Cell<bool>,
        /// The current socket's handlers: replaced (and so freed) with each
        /// new socket, instead of leaking a pair per reconnect.
        handlers: RefCell<Option<Handlers>>,
    }

    struct Handlers {
        _on_message: Closure<dyn FnMut(MessageEvent)>,
        _on_close: Closure<dyn FnMut()>,
    }

    fn now_ms() -> f64 {
        js_sys::Date::now()
    }

    pub fn start(sink: Sink, connection: RwSignal<Connection>) {
        let client = Rc::new(Client {
            sink,
            connection,
            socket: RefCell::new(None),
            last_heard_ms: Cell::new(now_ms()),
            failed_attempts: Cell::new(0),
            stopped: Cell::new(false),
            handlers: RefCell::new(None),
        });

        // Runs once, after hydration (it reads no signal, so never again).
        Effect::new(move |_| {
            open(&client);
            let watchdog = client.clone();
            if let Ok(handle) =
                set_interval_with_handle(move || check_staleness(&watchdog), Duration::from_secs(1))
            {
                // Cleanups must be Send; this one only ever runs in the
                // browser's single thread.
                let stopper = SendWrapper::new(client.clone());
                on_cleanup(move || {
                    handle.clear();
                    stopper.stop();
                });
            }
        });
    }

    fn socket_url() -> Option<String> {
        let location = window().location();
        let scheme = if location.protocol().ok()? == "https:" {
            "wss"
        } else {
            "ws"
        };
        Some(format!(
            "{scheme}://{}/api/websocket",
            location.host().ok()?
        ))
    }

    fn open(client: &Rc<Client>) {
        if client.stopped.get() {
            return;
        }
        let Some(url) = socket_url() else { return };
        let socket = match WebSocket::new(&url) {
            Ok(socket) => socket,
            Err(_) => {
                schedule_reconnect(client);
                return;
            }
        };

        let on_message = {
            let client = client.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                if let Some(text) = event.data().as_string() {
                    client.on_message(&text);
                }
            })
        };
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));

        let on_close = {
            let client = client.clone();
            let this_socket = socket.clone();
            Closure::<dyn FnMut()>::new(move || {
                // Only the current socket's end triggers a reconnect.
                let current = client.socket.borrow().as_ref() == Some(&this_socket);
                if current {
                    client.socket.borrow_mut().take();
                    schedule_reconnect(&client);
                }
            })
        };
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));

        client.last_heard_ms.set(now_ms());
        client.socket.borrow_mut().replace(socket);
        // The previous socket has closed (or was dropped as stale, its
        // handlers detached), so its closures can go.
        client.handlers.replace(Some(Handlers {
            _on_message: on_message,
            _on_close: on_close,
        }));
    }

    fn check_staleness(client: &Rc<Client>) {
        let silent_for = now_ms() - client.last_heard_ms.get();
        let state = client.connection.get_untracked();
        if state == Connection::Connected && silent_for > STALE_AFTER_MS {
            client.connection.set(Connection::Stale);
        }
        if state == Connection::Stale && silent_for > RECONNECT_AFTER_MS {
            // A half-open connection may fire `close` only much later: drop
            // it now, detached so its late events are ignored, and reconnect.
            let stale = client.socket.borrow_mut().take();
            if let Some(socket) = stale {
                socket.set_onmessage(None);
                socket.set_onclose(None);
                let _ = socket.close();
                schedule_reconnect(client);
            }
        }
    }

    fn schedule_reconnect(client: &Rc<Client>) {
        if client.stopped.get() {
            return;
        }
        client.connection.set(Connection::Reconnecting);
        let attempt = client.failed_attempts.get();
        client.failed_attempts.set(attempt + 1);
        let jitter = 0.8 + 0.4 * js_sys::Math::random();
        let delay = Duration::from_millis((backoff_ms(attempt) * jitter) as u64);
        let client = client.clone();
        set_timeout(move || open(&client), delay);
    }

    impl Client {
        fn on_message(&self, text: &str) {
            self.last_heard_ms.set(now_ms());
            self.failed_attempts.set(0);
            if self.connection.get_untracked() != Connection::Connected {
                self.connection.set(Connection::Connected);
            }
            let Ok(message) = LiveMessage::from_json(text) else {
                leptos::logging::warn!("hale: ignoring an unreadable live message");
                return;
            };
            if matches!(message, LiveMessage::Snapshot { .. }) {
                // When the page first shows live state (benches/page.rs).
                crate::performance_mark("hale:live");
            }
            (self.sink)(message);
        }

        fn stop(&self) {
            self.stopped.set(true);
            if let Some(socket) = self.socket.borrow_mut().take() {
                socket.set_onmessage(None);
                socket.set_onclose(None);
                let _ = socket.close();
            }
            // The handlers hold the client: dropping them breaks the cycle.
            self.handlers.take();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_ceiling() {
        assert_eq!(backoff_ms(0), 500.0);
        assert_eq!(backoff_ms(1), 1_000.0);
        assert_eq!(backoff_ms(4), 8_000.0);
        assert_eq!(backoff_ms(5), 15_000.0);
        assert_eq!(backoff_ms(1_000), 15_000.0);
    }
}

//! The detail page's "Run diagnostics" button: asks
//! `POST /api/services/<name>/diagnostics` and shows what it found.

use crate::status_page::encode_segment;
use leptos::prelude::*;
use wire::diagnosis::Diagnosis;

#[derive(Clone, Debug, PartialEq)]
// Results arrive only in the browser.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum State {
    Idle,
    Running,
    Done(Box<Diagnosis>),
    Failed(String),
    /// Diagnostics need someone signed in: a link to sign in and come
    /// back (this page's path).
    SignIn(String),
}

#[component]
pub fn DiagnosticsPanel(service: String) -> impl IntoView {
    let state = RwSignal::new(State::Idle);
    let url = format!(
        "/api/services/{}/diagnostics?count=5&interval=300ms",
        encode_segment(&service)
    );
    let run = move |_| {
        if state.get_untracked() == State::Running {
            return;
        }
        state.set(State::Running);
        start(url.clone(), state);
    };
    view! {
        <section
            data-diagnostics
            class="mt-8 rounded-xl bg-white px-4 py-4 shadow-sm ring-1 ring-slate-200 sm:px-5 dark:bg-slate-900 dark:ring-slate-800"
        >
            <div class="flex flex-wrap items-center justify-between gap-3">
                <h2 class="text-sm font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">"Diagnostics"</h2>
                <button
                    type="button"
                    on:click=run
                    disabled=move || state.get() == State::Running
                    class="rounded-md bg-slate-900 px-3 py-1.5 text-sm font-medium text-white hover:bg-slate-700 disabled:opacity-60 dark:bg-slate-100 dark:text-slate-900 dark:hover:bg-white"
                >
                    {move || if state.get() == State::Running { "Running…" } else { "Run diagnostics" }}
                </button>
            </div>
            <div aria-live="polite" class="mt-3 text-sm">
                {move || match state.get() {
                    State::Idle => view! {
                        <p class="text-slate-500 dark:text-slate-400">
                            "Checks DNS, the connection and the certificate, then probes five times."
                        </p>
                    }.into_any(),
                    State::Running => view! {
                        <p data-diagnostics-running class="text-slate-500 dark:text-slate-400">"Running checks against the target…"</p>
                    }.into_any(),
                    State::Failed(message) => view! {
                        <p data-diagnostics-error class="text-red-600 dark:text-red-400">{message}</p>
                    }.into_any(),
                    State::Done(d) => view! { <Findings d=*d /> }.into_any(),
                    State::SignIn(back) => view! {
                        <p data-diagnostics-error class="text-slate-700 dark:text-slate-300">
                            "Running diagnostics needs the health_checker role. "
                            <a data-sign-in class="underline" href=format!("/login?next={back}")>"Sign in"</a>
                        </p>
                    }.into_any(),
                }}
            </div>
        </section>
    }
}

/// A figure as people read it: 100.0 as "100", 1.004 as it is.
fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        value.to_string()
    }
}

fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "—".into())
}

#[component]
fn Findings(d: Diagnosis) -> impl IntoView {
    let healthy = d.healthy;
    let mut checks: Vec<(String, bool, String)> = Vec::new();
    if let Some(dns) = &d.dns {
        let detail = if dns.ok {
            dns.addresses.join(", ")
        } else {
            or_dash(dns.error.clone())
        };
        checks.push((format!("DNS {}", dns.host), dns.ok, detail));
    }
    if let Some(connection) = &d.connection {
        let detail = if connection.ok {
            format!("{} ms", or_dash(connection.latency_ms.map(number)))
        } else {
            or_dash(connection.error.clone())
        };
        checks.push((
            format!("Connection to {}", connection.address),
            connection.ok,
            detail,
        ));
    }
    if let Some(certificate) = &d.certificate {
        let detail = match &certificate.error {
            None => format!(
                "{} days left",
                or_dash(certificate.days_left.map(|d| d.to_string()))
            ),
            Some(error) => error.clone(),
        };
        checks.push(("Certificate".into(), certificate.ok, detail));
    }
    let samples = &d.samples;
    let latency = |pick: fn(&wire::LatencySummary) -> f64| {
        or_dash(samples.latency.as_ref().map(|l| number(pick(l))))
    };
    checks.push((
        format!("{} probes", samples.checks),
        samples.failed == 0,
        format!(
            "{}% succeeded · median {} ms · p95 {} ms · p99 {} ms",
            number(samples.success_rate_pct),
            latency(|l| l.median_ms),
            latency(|l| l.p95_ms),
            latency(|l| l.p99_ms)
        ),
    ));
    let issues: Vec<(String, String, String)> = d
        .issues
        .into_iter()
        .map(|i| (i.kind, i.issue, i.recommendation))
        .collect();
    view! {
        <div data-diagnostics-result data-healthy=healthy.to_string()>
            <p class=if healthy { "font-medium text-emerald-700 dark:text-emerald-400" } else { "font-medium text-red-600 dark:text-red-400" }>
                {if healthy { "No issues found" } else { "Issues found" }}
            </p>
            <ul class="mt-2 space-y-1">
                {checks.into_iter().map(|(name, ok, detail)| {
                    let label = name.clone();
                    view! {
                        <li data-check=name data-ok=ok.to_string() class="flex flex-wrap gap-x-2">
                            <span aria-hidden="true" class=if ok { "text-emerald-600" } else { "text-red-600" }>{if ok { "✓" } else { "✗" }}</span>
                            <span class="font-medium">{label}</span>
                            <span class="text-slate-500 dark:text-slate-400">{detail}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {(!issues.is_empty()).then(|| view! {
                <ul class="mt-3 space-y-2">
                    {issues.into_iter().map(|(kind, issue, advice)| view! {
                        <li data-issue=kind class="rounded-md bg-red-50 px-3 py-2 dark:bg-red-950/40">
                            <p class="text-red-800 dark:text-red-200">{issue}</p>
                            <p class="text-slate-600 dark:text-slate-300">{advice}</p>
                        </li>
                    }).collect_view()}
                </ul>
            })}
        </div>
    }
}

/// Sends the request (in the browser) and puts its answer in `state`.
fn start(url: String, state: RwSignal<State>) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        state.set(match fetch(&url).await {
            Ok((status, body)) if (200..300).contains(&status) => {
                match serde_json::from_str::<Diagnosis>(&body) {
                    Ok(d) => State::Done(Box::new(d)),
                    Err(_) => State::Failed(format!("unexpected answer ({status})")),
                }
            }
            Ok((401, _)) => State::SignIn(here()),
            Ok((status, body)) => {
                #[derive(serde::Deserialize)]
                struct Refusal {
                    error: String,
                }
                match serde_json::from_str::<Refusal>(&body) {
                    Ok(refusal) => State::Failed(refusal.error),
                    Err(_) => State::Failed(format!("unexpected answer ({status})")),
                }
            }
            Err(e) => State::Failed(e),
        });
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, state);
}

/// This page's path, percent-encoded for a query.
#[cfg(feature = "hydrate")]
fn here() -> String {
    let path = web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_else(|| "/".into());
    String::from(js_sys::encode_uri_component(&path))
}

/// Sends a request; its status and body.
#[cfg(feature = "hydrate")]
async fn send(url: &str, init: &web_sys::RequestInit) -> Result<(u16, String), String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let window = web_sys::window().ok_or("no window")?;
    let response = JsFuture::from(window.fetch_with_str_and_init(url, init))
        .await
        .map_err(|_| "the request failed (is Hale reachable?)".to_string())?;
    let response: web_sys::Response = response
        .dyn_into()
        .map_err(|_| "not a response".to_string())?;
    let status = response.status();
    let body = JsFuture::from(response.text().map_err(|_| "no body".to_string())?)
        .await
        .map_err(|_| "reading the answer failed".to_string())?;
    Ok((status, body.as_string().unwrap_or_default()))
}

/// Runs diagnostics: a signed-in browser's write carries its session's
/// CSRF token, asked of `GET /api/session` first.
#[cfg(feature = "hydrate")]
async fn fetch(url: &str) -> Result<(u16, String), String> {
    let csrf = match send("/api/session", &web_sys::RequestInit::new()).await {
        Ok((200, body)) => serde_json::from_str::<wire::account::SignedIn>(&body)
            .ok()
            .and_then(|who| who.csrf),
        _ => None,
    };
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    if let Some(csrf) = csrf {
        let headers = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&headers, &"X-CSRF-Token".into(), &csrf.into());
        init.set_headers(&headers);
    }
    send(url, &init).await
}

//! Accounts and roles from the outside: every route of the router
//! (`server::api::routes`, so a new route can't be forgotten) called as
//! no one, as each role signed in, and with a token, each answer held to
//! the route's access; the same table in docs/api.md; CSRF, sign-in
//! limits, session and token expiry, the audit log, and the CLI.

use crate::helpers::*;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;
use server::api::access::Access;
use server::auth::{AccountRules, Accounts, Permission, Principal, Via};
use server::clock::WallClock;
use std::time::Duration;
use wire::account::Role;

const WALKED: &str = "
title: Roles
services:
  - name: api
    url: '{target}/health'
    interval: 1h
  - name: job
    url: 'push://roles-token-0123456789abcdef'
    interval: 1h
";

const PASSWORD: &str = "a long enough password";

/// Rules that let the walk sign in as often as it needs.
fn generous(settings: &mut server::runtime::Settings) {
    settings.accounts.sign_in_burst = 1_000;
    settings.accounts.client_sign_in_burst = 1_000;
    settings.clients.per_second = 0;
}

fn accounts(app: &TestApp, rules: AccountRules) -> Accounts {
    Accounts::new(app.store(), rules)
}

/// A client that shows redirects rather than following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Someone calling: their credentials, and what the server should take
/// them for.
#[derive(Clone, Debug)]
struct Who {
    label: String,
    account: Option<String>,
    headers: HeaderMap,
    csrf: Option<String>,
    principal: Option<Principal>,
}

impl Who {
    fn anonymous() -> Who {
        Who {
            label: "anonymous".into(),
            account: None,
            headers: HeaderMap::new(),
            csrf: None,
            principal: None,
        }
    }

    fn allowed(&self, access: Access) -> bool {
        let needs = match access {
            Access::Public => return true,
            Access::Needs(permission) => permission,
            Access::Diagnostics => Permission::Role(Role::HealthChecker),
        };
        self.principal.as_ref().is_some_and(|p| p.may(needs))
    }
}

/// The cookie a sign-in set, as a `Cookie` header's value.
fn session_cookie(response: &reqwest::Response) -> String {
    let set = response
        .headers()
        .get("set-cookie")
        .expect("a sign-in sets the session cookie")
        .to_str()
        .unwrap();
    set.split(';').next().unwrap().to_string()
}

/// What `GET /api/session` answers `who`: whether their session or token
/// still signs them in.
async fn session_status(app: &TestApp, who: &Who) -> StatusCode {
    client()
        .get(format!("{}/api/session", app.base))
        .headers(who.headers.clone())
        .send()
        .await
        .unwrap()
        .status()
}

/// Adds an account with the tests' password.
async fn add(accounts: &Accounts, name: &str, role: Role, audit: bool) {
    accounts
        .add_account(name, PASSWORD, role, audit)
        .await
        .unwrap();
}

async fn sign_in(app: &TestApp, name: &str, password: &str) -> reqwest::Response {
    client()
        .post(format!("{}/api/session", app.base))
        .json_body(&serde_json::json!({ "name": name, "password": password }))
        .send()
        .await
        .unwrap()
}

/// Signs `name` in: the caller with its cookie and CSRF token.
async fn signed_in(app: &TestApp, name: &str, role: Role, audit: bool) -> Who {
    let response = sign_in(app, name, PASSWORD).await;
    assert_eq!(response.status(), 200, "signing in {name}");
    let cookie = session_cookie(&response);
    let body: serde_json::Value = read_json(response).await;
    let csrf = body["csrf"].as_str().unwrap().to_string();
    let mut headers = HeaderMap::new();
    headers.insert("cookie", HeaderValue::from_str(&cookie).unwrap());
    Who {
        label: format!("{name} (signed in)"),
        account: Some(name.into()),
        headers,
        csrf: Some(csrf.clone()),
        principal: Some(Principal {
            name: name.into(),
            role,
            audit_log_viewer: audit,
            via: Via::Session { csrf },
        }),
    }
}

fn bearer(name: &str, token: &str, role: Role) -> Who {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    Who {
        label: format!("token {name}"),
        account: None,
        headers,
        csrf: None,
        principal: Some(Principal {
            name: name.into(),
            role,
            audit_log_viewer: false,
            via: Via::Token,
        }),
    }
}

/// The request the walk makes of one route: the path filled, and a body
/// the handler takes where it wants one.
fn request_for(
    route: &server::api::Route,
    who: &Who,
    n: usize,
) -> (String, Option<serde_json::Value>, Option<String>) {
    let mut path = route
        .path
        .replace("{service}", "api")
        .replace("{token}", "roles-token-0123456789abcdef");
    if route.path.starts_with("/api/users/") || route.path.starts_with("/api/tokens/") {
        path = path.replace("{name}", "nobody-here");
    }
    path = path.replace("{name}", "api");
    if route.path.ends_with("/diagnostics") {
        path.push_str("?count=1&interval=100ms");
    }
    let name = format!("walk-{n}");
    let json = match (route.method.as_str(), route.path) {
        ("POST", "/api/users") => Some(serde_json::json!({
            "name": name, "password": PASSWORD, "role": "viewer"
        })),
        ("POST", "/api/tokens") => Some(serde_json::json!({ "name": name, "role": "viewer" })),
        ("POST", "/api/session") => Some(serde_json::json!({})),
        ("POST", "/api/alerts/test") => Some(serde_json::json!({ "channel": "nowhere" })),
        _ => None,
    };
    let form = match (route.method.as_str(), route.path) {
        ("POST", "/logout") => Some(format!("csrf={}", who.csrf.clone().unwrap_or_default())),
        ("POST", "/login") => Some(String::new()),
        _ => None,
    };
    (path, json, form)
}

async fn walk(backend: Backend) {
    let app = spawn_app_with(TestDb::new(backend).await, WALKED, generous).await;
    let accounts = accounts(&app, AccountRules::default());
    for role in Role::ALL {
        add(&accounts, role.as_str(), role, false).await;
    }
    add(&accounts, "auditor", Role::Viewer, true).await;
    let mut callers = vec![Who::anonymous()];
    for role in Role::ALL {
        callers.push(signed_in(&app, role.as_str(), role, false).await);
    }
    callers.push(signed_in(&app, "auditor", Role::Viewer, true).await);
    for role in [Role::Viewer, Role::Admin] {
        let name = format!("walk-token-{role}");
        let (token, _) = accounts
            .add_token(&name, role, false, None, "test")
            .await
            .unwrap();
        callers.push(bearer(&name, &token, role));
    }

    let routes = server::api::routes();
    assert!(routes.len() > 20);
    let http = client();
    let mut checked = 0;
    for mut who in callers {
        for route in &routes {
            checked += 1;
            let (path, json, form) = request_for(route, &who, checked);
            let mut request = http
                .request(route.method.clone(), format!("{}{path}", app.base))
                .headers(who.headers.clone());
            if let Some(csrf) = &who.csrf {
                request = request.header("x-csrf-token", csrf);
            }
            if let Some(json) = json {
                request = request.json_body(&json);
            }
            if let Some(form) = form {
                request = request
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let what = format!(
                "{} {} as {}: {status} {}",
                route.method,
                route.path,
                who.label,
                response.text().await.unwrap_or_default()
            );
            let asks_who = route.method == reqwest::Method::GET && route.path == "/api/session";
            if asks_who && who.principal.is_none() {
                // Anyone may ask who they are; no one is told so with 401.
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
            } else if who.allowed(route.access) {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "allowed, yet {what}"
                );
                assert!(!status.is_server_error(), "{what}");
            } else if who.principal.is_none() {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
            }
            // Signing out ends the walk's session: sign in again.
            let signs_out = matches!(
                (route.method.as_str(), route.path),
                ("DELETE", "/api/session") | ("POST", "/logout")
            );
            if signs_out {
                if let (Some(name), Some(p)) = (who.account.clone(), who.principal.clone()) {
                    let label = who.label.clone();
                    who = signed_in(&app, &name, p.role, p.audit_log_viewer).await;
                    who.label = label;
                }
            }
        }
    }
    assert!(checked > 150, "{checked}");
    app.hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_role_as_its_access_says() {
    walk(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_role_as_its_access_says_on_postgres() {
    walk(Backend::Postgres).await;
}

/// docs/api.md's role table lists every route with the access the router
/// gives it, and nothing else.
#[test]
fn the_role_table_in_the_docs_is_the_routers() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md")).unwrap();
    let section = docs
        .split("<!-- role table -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- end of role table -->").next())
        .expect("docs/api.md marks its role table with <!-- role table -->");
    let mut documented = std::collections::BTreeSet::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        documented.insert((
            cells[2].to_string(),
            cells[1].trim_matches('`').to_string(),
            cells[3].to_string(),
        ));
    }
    let routed: std::collections::BTreeSet<_> = server::api::routes()
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.path.to_string(),
                r.access.describe(),
            )
        })
        .collect();
    assert_eq!(
        documented, routed,
        "docs/api.md's role table differs from the router"
    );
}

/// A signed-in browser's write needs its CSRF token and Hale's own
/// origin; a token's does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browsers_writes_need_the_csrf_token() {
    let app = spawn_app_with(TestDb::new(Backend::Sqlite).await, WALKED, generous).await;
    let accounts = accounts(&app, AccountRules::default());
    add(&accounts, "root", Role::Admin, false).await;
    let who = signed_in(&app, "root", Role::Admin, false).await;
    let http = client();
    let add = |name: &str| {
        http.post(format!("{}/api/users", app.base))
            .headers(who.headers.clone())
            .json_body(&serde_json::json!({ "name": name, "password": PASSWORD, "role": "viewer" }))
    };
    let csrf = who.csrf.clone().unwrap();
    for (request, why) in [
        (add("a"), "no token"),
        (add("b").header("x-csrf-token", "wrong"), "a wrong token"),
        (
            add("c")
                .header("x-csrf-token", &csrf)
                .header("origin", "https://evil.example"),
            "another site's origin",
        ),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{why}");
        let body: serde_json::Value = read_json(response).await;
        assert!(body["error"].as_str().is_some(), "{why}: {body}");
    }
    assert!(accounts
        .store()
        .account_by_name("a")
        .await
        .unwrap()
        .is_none());
    let origin = app.base.clone();
    let response = add("d")
        .header("x-csrf-token", &csrf)
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    // The sign-out form carries the token as a field.
    let response = http
        .post(format!("{}/logout", app.base))
        .headers(who.headers.clone())
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let response = http
        .post(format!("{}/logout", app.base))
        .headers(who.headers.clone())
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(session_status(&app, &who).await, 401, "signed out");
    app.hale.shutdown().await;
}

/// The cookie is HttpOnly and SameSite=Strict, and Secure (with the
/// `__Host-` name) when Hale is told browsers reach it over TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_locked_down() {
    for secure in [false, true] {
        let app = spawn_app_with(TestDb::new(Backend::Sqlite).await, WALKED, |s| {
            s.accounts.secure_cookies = secure;
        })
        .await;
        add(
            &accounts(&app, AccountRules::default()),
            "root",
            Role::Admin,
            false,
        )
        .await;
        let response = sign_in(&app, "root", PASSWORD).await;
        assert_eq!(response.status(), 200);
        let set = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(set.contains("HttpOnly"), "{set}");
        assert!(set.contains("SameSite=Strict"), "{set}");
        assert!(set.contains("Path=/"), "{set}");
        assert_eq!(set.contains("; Secure"), secure, "{set}");
        assert_eq!(set.starts_with("__Host-hale_session="), secure, "{set}");
        // Anonymous pages set no cookie.
        let page = app.get("/").await;
        assert!(page.headers().get("set-cookie").is_none());
        app.hale.shutdown().await;
    }
}

/// Five tries for one account from one client, then 429 with
/// Retry-After, even with the right password; another account from the
/// same client may still try.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_limited_per_account_and_client() {
    let app = spawn_app(Backend::Sqlite, WALKED).await;
    let accounts = accounts(&app, AccountRules::default());
    for name in ["alice", "bob"] {
        add(&accounts, name, Role::Viewer, false).await;
    }
    for attempt in 0..5 {
        let response = sign_in(&app, "alice", "wrong password!").await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
        assert!(response.headers().get("set-cookie").is_none());
    }
    let response = sign_in(&app, "alice", PASSWORD).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(sign_in(&app, "bob", PASSWORD).await.status(), 200);
    // Names that don't exist count against the client too.
    for _ in 0..30 {
        let name = format!("ghost-{}", rand_suffix());
        if sign_in(&app, &name, "wrong password!").await.status() == 429 {
            app.hale.shutdown().await;
            return;
        }
    }
    panic!("a client trying many names was never limited");
}

fn rand_suffix() -> u64 {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A session lasts its lifetime by Hale's clock; a token its expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_tokens_expire() {
    let clock = WallClock::manual(server::clock::now_ms());
    let moved = clock.clone();
    let app = spawn_app_with(TestDb::new(Backend::Sqlite).await, WALKED, move |s| {
        s.accounts.clock = moved;
        s.accounts.session_lifetime = Duration::from_secs(3600);
    })
    .await;
    let accounts = accounts(
        &app,
        AccountRules {
            clock: clock.clone(),
            ..Default::default()
        },
    );
    add(&accounts, "root", Role::Admin, false).await;
    let (token, _) = accounts
        .add_token(
            "short",
            Role::Viewer,
            false,
            Some(Duration::from_secs(7200)),
            "test",
        )
        .await
        .unwrap();
    let who = signed_in(&app, "root", Role::Admin, false).await;
    let token_caller = bearer("short", &token, Role::Viewer);
    assert_eq!(session_status(&app, &who).await, 200);
    assert_eq!(session_status(&app, &token_caller).await, 200);
    clock.advance(Duration::from_secs(3599));
    assert_eq!(session_status(&app, &who).await, 200);
    clock.advance(Duration::from_secs(2));
    assert_eq!(session_status(&app, &who).await, 401, "the session expired");
    assert_eq!(session_status(&app, &token_caller).await, 200);
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        session_status(&app, &token_caller).await,
        401,
        "the token expired"
    );
    app.hale.shutdown().await;
}

/// Sign-ins, failures and changes are in the audit log, with who and
/// from where; only admins and audit_log_viewers read it. Removing an
/// account ends its sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_records_who_did_what() {
    let app = spawn_app_with(TestDb::new(Backend::Postgres).await, WALKED, generous).await;
    let accounts = accounts(&app, AccountRules::default());
    add(&accounts, "root", Role::Admin, false).await;
    add(&accounts, "watcher", Role::Viewer, true).await;
    add(&accounts, "plain", Role::Editor, false).await;
    assert_eq!(
        sign_in(&app, "root", "not the password").await.status(),
        401
    );
    let root = signed_in(&app, "root", Role::Admin, false).await;
    let plain = signed_in(&app, "plain", Role::Editor, false).await;
    let http = client();
    let response = http
        .post(format!("{}/api/tokens", app.base))
        .headers(root.headers.clone())
        .header("x-csrf-token", root.csrf.clone().unwrap())
        .json_body(&serde_json::json!({ "name": "deploy", "role": "editor", "expires_in": "30d" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let made: serde_json::Value = read_json(response).await;
    let token = made["token"].as_str().unwrap();
    assert!(token.starts_with("hale_") && token.len() == 48, "{token}");
    assert!(made["expires_at"].is_string(), "{made}");
    let listed = http
        .get(format!("{}/api/tokens", app.base))
        .headers(root.headers.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("deploy") && !listed.contains(token),
        "{listed}"
    );
    let response = http
        .delete(format!("{}/api/users/plain", app.base))
        .headers(root.headers.clone())
        .header("x-csrf-token", root.csrf.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        session_status(&app, &plain).await,
        401,
        "a removed account's session ends"
    );

    let watcher = signed_in(&app, "watcher", Role::Viewer, true).await;
    let response = http
        .get(format!("{}/api/audit", app.base))
        .headers(watcher.headers.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let log: wire::account::AuditPage = read_json(response).await;
    let lines: Vec<(String, String, String, String)> = log
        .entries
        .iter()
        .map(|e| {
            (
                e.actor.clone(),
                e.action.clone(),
                e.target.clone(),
                e.client.clone(),
            )
        })
        .collect();
    let has = |actor: &str, action: &str, target: &str| {
        lines
            .iter()
            .any(|l| l.0 == actor && l.1 == action && l.2 == target && l.3 == "127.0.0.1")
    };
    assert!(has("root", "sign_in_failed", "root"), "{lines:?}");
    assert!(has("root", "sign_in", "root"), "{lines:?}");
    assert!(has("root", "token.add", "deploy"), "{lines:?}");
    assert!(has("root", "user.remove", "plain"), "{lines:?}");
    assert!(
        log.entries.windows(2).all(|w| w[0].id > w[1].id),
        "newest first"
    );
    // Paging.
    let (code, page) = app.get_json("/api/audit?limit=2").await;
    assert_eq!(code, 401, "{page}");
    let response = http
        .get(format!("{}/api/audit?limit=2", app.base))
        .headers(watcher.headers.clone())
        .send()
        .await
        .unwrap();
    let first: wire::account::AuditPage = read_json(response).await;
    assert_eq!(first.entries.len(), 2);
    let next = first.next_before.expect("more to read");
    let response = http
        .get(format!("{}/api/audit?limit=2&before={next}", app.base))
        .headers(watcher.headers.clone())
        .send()
        .await
        .unwrap();
    let second: wire::account::AuditPage = read_json(response).await;
    assert!(second.entries[0].id < first.entries[1].id);
    // An editor may not read it.
    let editor = {
        add(&accounts, "ed", Role::Editor, false).await;
        signed_in(&app, "ed", Role::Editor, false).await
    };
    let response = http
        .get(format!("{}/api/audit", app.base))
        .headers(editor.headers)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    app.hale.shutdown().await;
}

/// `diagnostics: public` opens them to anyone, each client held to three
/// runs at once then one per 20 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_diagnostics_are_limited_per_client() {
    let yaml = format!("{WALKED}diagnostics: public\n");
    let app = spawn_app(Backend::Sqlite, &yaml).await;
    let http = client();
    let run = || {
        http.post(format!(
            "{}/api/services/api/diagnostics?count=1&interval=100ms",
            app.base
        ))
        .send()
    };
    for attempt in 0..3 {
        assert_eq!(run().await.unwrap().status(), 200, "run {attempt}");
    }
    let refused = run().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    app.hale.shutdown().await;
}

/// `hale user add` reads the password from stdin (never an argument),
/// and the account signs in; `hale api-token add` prints a token once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_adds_accounts_and_tokens() {
    use tokio::io::AsyncWriteExt;
    let db = TestDb::new(Backend::Sqlite).await;
    let hale = |args: &[&str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_hale"));
        command
            .args(args)
            .env("DATABASE_URL", &db.url)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        command
    };
    let mut child = hale(&["user", "add", "ops", "--role", "health_checker"])
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A short password is refused with the reason.
    let mut child = hale(&["user", "add", "weak", "--role", "viewer"])
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"short\n").await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10"));
    // An unknown role is refused by name.
    let out = hale(&["user", "add", "x", "--role", "root"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a role"));
    let out = hale(&[
        "api-token",
        "add",
        "ci",
        "--role",
        "viewer",
        "--expires-in",
        "90d",
    ])
    .output()
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("hale_"), "{token}");
    let listed = hale(&["api-token", "list"]).output().await.unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.contains("ci\tviewer") && !listed.contains(&token),
        "{listed}"
    );

    let app = spawn_app_on(db, WALKED).await;
    assert_eq!(sign_in(&app, "ops", PASSWORD).await.status(), 200);
    let response = client()
        .get(format!("{}/api/session", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let who: wire::account::SignedIn = read_json(response).await;
    assert_eq!(
        (who.name.as_str(), who.role, who.via.as_str()),
        ("ci", Role::Viewer, "token")
    );
    app.hale.shutdown().await;
}

/// The sign-in form goes back only to a path on Hale, refuses another
/// site's page, and a revoked token is refused even on a public route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_form_redirects_only_home() {
    let app = spawn_app_with(TestDb::new(Backend::Sqlite).await, WALKED, generous).await;
    let accounts = accounts(&app, AccountRules::default());
    add(&accounts, "root", Role::Admin, false).await;
    let http = client();
    let form = |next: &str| {
        http.post(format!("{}/login", app.base)).form(&[
            ("name", "root"),
            ("password", PASSWORD),
            ("next", next),
        ])
    };
    for (next, goes) in [
        ("/services/api", "/services/api"),
        ("//evil.example", "/account"),
        ("/\\evil.example", "/account"),
        ("/\t/evil.example", "/account"),
        ("/\n/evil.example", "/account"),
        ("https://evil.example", "/account"),
    ] {
        let response = form(next).send().await.unwrap();
        assert_eq!(response.status(), 303, "{next:?}");
        assert_eq!(response.headers()["location"], goes, "{next:?}");
        assert!(response.headers().contains_key("set-cookie"), "{next:?}");
    }
    let wrong = http
        .post(format!("{}/login", app.base))
        .form(&[
            ("name", "root"),
            ("password", "not it at all"),
            ("next", "/x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.headers()["location"], "/login?failed=wrong&next=%2Fx");
    let foreign = form("/account")
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    assert!(foreign.headers().get("set-cookie").is_none());

    // A token revoked is refused on public routes too, not served as no one.
    let (token, _) = accounts
        .add_token("gone", Role::Viewer, false, None, "test")
        .await
        .unwrap();
    let metrics = |token: String| {
        http.get(format!("{}/api/metrics", app.base))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(metrics(token.clone()).await.unwrap().status(), 200);
    assert!(accounts.store().remove_token("gone").await.unwrap());
    assert_eq!(metrics(token).await.unwrap().status(), 401);
    app.hale.shutdown().await;
}

/// A removed account's sessions are gone, and its id is never given to
/// a later account (SQLite reuses row ids unless told not to).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_accounts_session_never_names_a_later_account() {
    let app = spawn_app_with(TestDb::new(Backend::Sqlite).await, WALKED, generous).await;
    let accounts = accounts(&app, AccountRules::default());
    add(&accounts, "temp", Role::Admin, false).await;
    let old = accounts
        .store()
        .account_by_name("temp")
        .await
        .unwrap()
        .unwrap();
    let who = signed_in(&app, "temp", Role::Admin, false).await;
    assert!(accounts.store().remove_account("temp").await.unwrap());
    add(&accounts, "later", Role::Admin, false).await;
    let later = accounts
        .store()
        .account_by_name("later")
        .await
        .unwrap()
        .unwrap();
    assert!(later.id > old.id, "{} reused {}", later.id, old.id);
    assert_eq!(session_status(&app, &who).await, 401);
    app.hale.shutdown().await;
}

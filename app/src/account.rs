//! The sign-in page (`/login`) and the account page (`/account`): the
//! server's HTML alone, forms that work without JavaScript, posting to
//! `/login` and `/logout` (docs/api.md, "Accounts and roles"). Anonymous
//! visitors of status pages never see them.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use wire::account::{Role, SignedIn};

/// Who the page is rendered for: the server puts it in the request.
fn signed_in() -> Option<SignedIn> {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<SignedIn>().cloned())
    }
    #[cfg(not(feature = "ssr"))]
    None
}

/// What a role may do, in words.
fn abilities(role: Role) -> &'static str {
    match role {
        Role::Viewer => "read the detailed health of Hale",
        Role::HealthChecker => "run diagnostics, and all a viewer may",
        Role::Editor => "change services, pages and incidents, and all a health checker may",
        Role::Admin => "manage accounts and API tokens, read the audit log, and all an editor may",
    }
}

const FIELD: &str = "mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm dark:border-slate-700 dark:bg-slate-900";
const BUTTON: &str = "rounded-md bg-slate-900 px-4 py-2 text-sm font-medium text-white hover:bg-slate-700 dark:bg-slate-100 dark:text-slate-900 dark:hover:bg-white";

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let (failed, signed_out, next) = query.with_untracked(|q| {
        (
            q.get("failed"),
            q.get("signed_out").is_some(),
            q.get("next").unwrap_or_else(|| "/account".into()),
        )
    });
    let message = match failed.as_deref() {
        Some("wrong") => Some("Wrong name or password."),
        Some("limited") => Some("Too many sign-in attempts. Wait a minute and try again."),
        Some(_) => Some("Signing in failed."),
        None => None,
    };
    let already = signed_in();
    view! {
        <Title text="Sign in" />
        <main class="mx-auto max-w-sm px-4 py-16">
            <h1 class="text-2xl font-semibold">"Sign in to Hale"</h1>
            {signed_out.then(|| view! {
                <p data-signed-out class="mt-3 text-sm text-slate-600 dark:text-slate-400">"You are signed out."</p>
            })}
            {already.map(|who| view! {
                <p data-already class="mt-3 text-sm text-slate-600 dark:text-slate-400">
                    "Signed in as " <strong>{who.name}</strong> ". " <a class="underline" href="/account">"Your account"</a>
                </p>
            })}
            {message.map(|m| view! {
                <p data-login-error role="alert" class="mt-3 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950/40 dark:text-red-200">{m}</p>
            })}
            <form method="post" action="/login" class="mt-6 space-y-4">
                <input type="hidden" name="next" value=next />
                <label class="block text-sm font-medium">
                    "Name"
                    <input name="name" type="text" autocomplete="username" required class=FIELD />
                </label>
                <label class="block text-sm font-medium">
                    "Password"
                    <input name="password" type="password" autocomplete="current-password" required class=FIELD />
                </label>
                <button type="submit" class=BUTTON>"Sign in"</button>
            </form>
            <p class="mt-8 text-sm"><a class="underline" href="/">"Back to the status page"</a></p>
        </main>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let Some(who) = signed_in() else {
        #[cfg(feature = "ssr")]
        leptos_axum::redirect("/login?next=/account");
        return view! {
            <Title text="Sign in" />
            <main class="mx-auto max-w-sm px-4 py-16">
                <p>"You are not signed in. " <a class="underline" href="/login?next=/account">"Sign in"</a></p>
            </main>
        }
        .into_any();
    };
    let csrf = who.csrf.clone().unwrap_or_default();
    view! {
        <Title text="Your account" />
        <main class="mx-auto max-w-xl px-4 py-16">
            <h1 class="text-2xl font-semibold">"Your account"</h1>
            <dl class="mt-6 grid grid-cols-[auto_1fr] gap-x-6 gap-y-2 text-sm">
                <dt class="text-slate-500">"Name"</dt>
                <dd data-account-name class="font-medium">{who.name.clone()}</dd>
                <dt class="text-slate-500">"Role"</dt>
                <dd data-account-role>{who.role.as_str()}</dd>
                <dt class="text-slate-500">"Audit log"</dt>
                <dd>{if who.audit_log_viewer { "may read it" } else { "may not read it" }}</dd>
            </dl>
            <p class="mt-4 text-sm text-slate-600 dark:text-slate-400">"You may " {abilities(who.role)} "."</p>
            <form method="post" action="/logout" class="mt-8">
                <input type="hidden" name="csrf" value=csrf />
                <button type="submit" class=BUTTON>"Sign out"</button>
            </form>
            <p class="mt-8 text-sm"><a class="underline" href="/">"Back to the status page"</a></p>
        </main>
    }
    .into_any()
}

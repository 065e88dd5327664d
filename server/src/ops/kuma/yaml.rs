//! The config file the import writes: block YAML, every text value
//! double-quoted (so no name or header can turn into a number, a bool or
//! a second key), with the Kuma monitor each service came from and what
//! did not come along as comments above it.

use super::convert::{count, Service};
use super::plan::Plan;
use super::secrets::{escape_env, Text};
use crate::duration::HumanDuration;
use std::fmt::Write;

/// The whole file.
pub fn document(plan: &Plan, source: &str) -> String {
    let mut out = String::new();
    comment(
        &mut out,
        "",
        &format!(
            "Hale config written by `hale import uptime-kuma` from {source} (Uptime Kuma {} schema):",
            plan.schema.label()
        ),
    );
    comment(
        &mut out,
        "",
        &format!(
            "{} of its {} as services, {}. The import's report lists what did not come along.",
            plan.services.len(),
            count(plan.monitors, "monitor"),
            count(plan.pages.len(), "status page")
        ),
    );
    if !plan.secrets.is_empty() {
        out.push_str("#\n");
        comment(
            &mut out,
            "",
            "Secrets stay out of this file; set these environment variables first:",
        );
        for secret in &plan.secrets {
            comment(&mut out, "", &format!("  {}: {}", secret.var, secret.what));
        }
    }
    if !plan.skipped.is_empty() {
        out.push_str("#\n");
        comment(&mut out, "", "Kuma monitors not imported:");
        for skipped in &plan.skipped {
            comment(
                &mut out,
                "",
                &format!(
                    "  #{} {:?} ({}): {}",
                    skipped.kuma_id, skipped.name, skipped.kind, skipped.reason
                ),
            );
        }
    }
    out.push('\n');
    if plan.services.is_empty() {
        out.push_str("services: []\n");
    } else {
        out.push_str("services:\n");
        for service in &plan.services {
            service_entry(&mut out, service);
        }
    }
    if !plan.pages.is_empty() {
        out.push_str("\nstatus_pages:\n");
        for page in &plan.pages {
            comment(
                &mut out,
                "  ",
                &format!("Kuma status page #{} {:?}", page.kuma_id, page.slug),
            );
            for note in &page.notes {
                comment(&mut out, "  ", &format!("not carried over: {note}"));
            }
            let _ = writeln!(out, "  - slug: {}", quote(&page.slug));
            let _ = writeln!(out, "    title: {}", quote(&page.title));
            if let Some(description) = &page.description {
                let _ = writeln!(out, "    description: {}", quote(description));
            }
            if page.services.is_empty() {
                out.push_str("    services: []\n");
            } else {
                out.push_str("    services:\n");
                for name in &page.services {
                    let _ = writeln!(out, "      - {}", quote(name));
                }
            }
        }
    }
    out
}

/// One entry of `services:`, with its comments.
fn service_entry(out: &mut String, service: &Service) {
    comment(
        out,
        "  ",
        &format!(
            "Kuma monitor #{} {:?} ({})",
            service.kuma_id, service.kuma_name, service.kuma_type
        ),
    );
    for note in &service.notes {
        comment(out, "  ", &format!("not carried over: {note}"));
    }
    self::service(out, service);
}

/// One entry of `services:`, without comments.
pub fn service(out: &mut String, s: &Service) {
    let _ = writeln!(out, "  - name: {}", quote(&s.name));
    if let Some(group) = &s.group {
        let _ = writeln!(out, "    group: {}", quote(group));
    }
    let _ = writeln!(out, "    url: {}", text(&s.url));
    if let Some(method) = &s.method {
        let _ = writeln!(out, "    method: {method}");
    }
    if !s.headers.is_empty() {
        out.push_str("    headers:\n");
        for (name, value) in &s.headers {
            let _ = writeln!(out, "      {}: {}", quote(name), text(value));
        }
    }
    if let Some(body) = &s.body {
        let _ = writeln!(out, "    body: {}", quote(body));
    }
    if let Some(verify) = s.verify_tls {
        let _ = writeln!(out, "    verify_tls: {verify}");
    }
    if let Some(follow) = s.follow_redirects {
        let _ = writeln!(out, "    follow_redirects: {follow}");
    }
    if let Some((name, kind)) = &s.dns {
        let _ = writeln!(
            out,
            "    dns: {{query_name: {}, query_type: {}}}",
            quote(name),
            quote(kind)
        );
    }
    if s.allow_get {
        out.push_str("    allow_get: true\n");
    }
    let _ = writeln!(out, "    interval: {}", HumanDuration(s.interval));
    if let Some(timeout) = s.timeout {
        let _ = writeln!(out, "    timeout: {}", HumanDuration(timeout));
    }
    let _ = writeln!(out, "    failure_threshold: {}", s.failure_threshold);
    let _ = writeln!(out, "    success_threshold: {}", s.success_threshold);
    if !s.conditions.is_empty() {
        out.push_str("    conditions:\n");
        for condition in &s.conditions {
            let _ = writeln!(out, "      - {}", quote(condition));
        }
    }
}

fn comment(out: &mut String, indent: &str, line: &str) {
    // `${` is expanded in comments too: doubled, it stays text.
    let line = escape_env(&line.replace(['\n', '\r'], " "));
    let _ = writeln!(out, "{indent}# {line}");
}

/// Literal text, double-quoted.
fn quote(value: &str) -> String {
    double_quoted(&escape_env(value))
}

/// Config text with its placeholders, double-quoted.
fn text(value: &Text) -> String {
    double_quoted(&value.written())
}

/// A YAML double-quoted scalar: `"` and `\` escaped, and every character
/// YAML does not allow printed, or that would change the line, as `\u`.
fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20
                || ('\u{7f}'..='\u{9f}').contains(&c)
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_text_reads_back_as_itself() {
        let texts = [
            "plain",
            "with \"quotes\" and \\ backslashes",
            "lines\nand\ttabs\r",
            "yes",
            "007",
            "- not a list",
            "key: value # not a comment",
            "\u{1}\u{7f}\u{85}\u{2028}é漢🙂",
            "a ${VAR} that stays text, $${ too",
        ];
        for original in texts {
            let yaml = format!("title: {}\n", quote(original));
            let config = crate::config::Config::parse(&yaml, std::path::Path::new("t"), |_| None)
                .unwrap_or_else(|e| panic!("{original:?}: {e}"));
            assert_eq!(config.title, original);
        }
    }
}

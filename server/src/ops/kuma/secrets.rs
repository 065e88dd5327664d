//! Secrets kept out of the written file: config text made of literal
//! parts and `${VAR}` placeholders, and the variables it reads, named
//! after their monitor (`KUMA_API_BASIC_AUTH`) and unique.

use super::db::Monitor;
use std::collections::BTreeSet;

/// Config text: literal parts and `${VAR}` placeholders for secrets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Text(Vec<Part>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Env(String),
}

impl Text {
    pub fn literal(text: impl Into<String>) -> Text {
        Text(vec![Part::Literal(text.into())])
    }

    pub fn env(var: &str) -> Text {
        Text(vec![Part::Env(var.to_string())])
    }

    pub fn then(mut self, more: Text) -> Text {
        self.0.extend(more.0);
        self
    }

    /// As the file holds it: `${` of literal text doubled to `$${`, so
    /// Hale's `${VAR}` expansion leaves it alone.
    pub fn written(&self) -> String {
        self.0
            .iter()
            .map(|part| match part {
                Part::Literal(text) => escape_env(text),
                Part::Env(var) => format!("${{{var}}}"),
            })
            .collect()
    }
}

/// Literal text as the file holds it (see [`Text::written`]).
pub fn escape_env(text: &str) -> String {
    text.replace("${", "$${")
}

/// A `${VAR}` the config reads, and what to set it to.
#[derive(Clone, Debug, PartialEq)]
pub struct Secret {
    pub var: String,
    pub what: String,
    /// A value that loads, for checking the written file.
    pub stand_in: String,
}

/// The environment variables the config reads, named after their
/// monitor and unique.
#[derive(Clone, Default)]
pub struct Secrets {
    pub list: Vec<Secret>,
    taken: BTreeSet<String>,
}

impl Secrets {
    /// A new variable `KUMA_<MONITOR>_<what>`.
    pub(super) fn add(&mut self, monitor: &Monitor, what: &str, description: String) -> String {
        let base = format!("KUMA_{}_{what}", env_name(monitor.name(), monitor.id));
        let var = if self.taken.contains(&base) {
            format!("{base}_{}", monitor.id)
        } else {
            base
        };
        self.taken.insert(var.clone());
        // Push tokens need 22 characters or more, and must differ.
        let stand_in = format!(
            "{:x<32}",
            var.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        self.list.push(Secret {
            var: var.clone(),
            what: description,
            stand_in,
        });
        var
    }
}

/// `API Gateway (eu)` → `API_GATEWAY_EU`.
pub(super) fn env_name(name: &str, id: i64) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out: String = out.trim_matches('_').chars().take(40).collect();
    let out = out.trim_end_matches('_');
    if out.is_empty() {
        format!("MONITOR_{id}")
    } else {
        out.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::kuma::db::monitor;

    #[test]
    fn env_names_come_from_the_monitor_and_stay_unique() {
        let mut secrets = Secrets::default();
        let api = monitor(3, &[("name", "API gateway (eu)")]);
        let other = monitor(9, &[("name", "api-gateway EU")]);
        assert_eq!(
            secrets.add(&api, "PUSH_TOKEN", String::new()),
            "KUMA_API_GATEWAY_EU_PUSH_TOKEN"
        );
        assert_eq!(
            secrets.add(&other, "PUSH_TOKEN", String::new()),
            "KUMA_API_GATEWAY_EU_PUSH_TOKEN_9"
        );
        assert_eq!(env_name("---", 4), "MONITOR_4");
        assert!(secrets.list.iter().all(|s| s.stand_in.len() >= 22));
        assert_ne!(secrets.list[0].stand_in, secrets.list[1].stand_in);
    }

    #[test]
    fn literal_text_keeps_its_dollars_and_placeholders_stay_placeholders() {
        let text = Text::literal("a ${b} $${c} ").then(Text::env("TOKEN"));
        assert_eq!(text.written(), "a $${b} $$${c} ${TOKEN}");
    }
}

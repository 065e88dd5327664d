//! The whole import planned: every monitor a service or a reason, unique
//! names, groups, status pages, and each service put through Hale's own
//! config loader before it is kept, so the written file always loads.

use super::convert::{self, count, display_name, one_line, Service, Skipped};
use super::db::{KumaDb, Monitor, Page, Schema};
use super::secrets::{Secret, Secrets};
use super::yaml;
use crate::config::{Config, ConfigError};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

/// What the import will write, and what it leaves out.
#[derive(Clone, Debug)]
pub struct Plan {
    pub schema: Schema,
    pub monitors: usize,
    pub services: Vec<Service>,
    pub skipped: Vec<Skipped>,
    pub groups: Vec<Group>,
    pub pages: Vec<PagePlan>,
    pub skipped_pages: Vec<Skipped>,
    pub secrets: Vec<Secret>,
}

/// A Kuma `group` monitor, now a `group:` its members carry.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub kuma_id: i64,
    pub path: String,
    pub services: usize,
    pub notes: Vec<String>,
}

/// A status page as it will be written.
#[derive(Clone, Debug, PartialEq)]
pub struct PagePlan {
    pub kuma_id: i64,
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    pub services: Vec<String>,
    pub notes: Vec<String>,
}

impl Plan {
    /// The value of every `${VAR}` the file reads, standing in for the
    /// secrets, so the file can be loaded here.
    pub fn stand_ins(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |name| {
            self.secrets
                .iter()
                .find(|s| s.var == name)
                .map(|s| s.stand_in.clone())
        }
    }

    pub fn service_of(&self, kuma_id: i64) -> Option<&Service> {
        self.services.iter().find(|s| s.kuma_id == kuma_id)
    }
}

/// Plans the import of `db`.
pub fn plan(db: &KumaDb) -> Plan {
    let paths = convert::group_paths(&db.monitors);
    let mut secrets = Secrets::default();
    let mut services: Vec<Service> = Vec::new();
    let mut skipped = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    for monitor in db.monitors.iter().filter(|m| m.kind() != "group") {
        let skip = |reason: String| Skipped {
            kuma_id: monitor.id,
            name: display_name(monitor),
            kind: monitor.kind().to_string(),
            reason,
        };
        if monitor.row.0.contains_key("active") && !monitor.row.flag("active") {
            skipped.push(skip("paused in Kuma".into()));
            continue;
        }
        let before = secrets.clone();
        let mut service = match convert::service(monitor, &mut secrets) {
            Ok(service) => service,
            Err(reason) => {
                secrets = before;
                skipped.push(skip(reason));
                continue;
            }
        };
        let name = display_name(monitor);
        service.name = if names.contains(&name) {
            service
                .notes
                .push(format!("renamed: another Kuma monitor is named {name:?}"));
            format!("{name} (#{})", monitor.id)
        } else {
            name
        };
        service.group = paths.get(&monitor.id).cloned();
        if let Err(e) = loads(&service, &secrets.list) {
            secrets = before;
            let issues: Vec<&str> = e.issues.iter().map(|i| i.message.as_str()).collect();
            skipped.push(skip(format!(
                "Hale's config loader refuses it: {}",
                issues.join("; ")
            )));
            continue;
        }
        names.insert(service.name.clone());
        services.push(service);
    }
    group_by_pages(&db.pages, &mut services);
    let groups = db
        .monitors
        .iter()
        .filter(|m| m.kind() == "group")
        .map(|g| group(g, &paths, &services))
        .collect();
    let mut pages = Vec::new();
    let mut skipped_pages = Vec::new();
    let mut slugs = BTreeSet::new();
    for page in &db.pages {
        match page_plan(page, db, &paths, &services, &mut slugs) {
            Ok(plan) => pages.push(plan),
            Err(reason) => skipped_pages.push(Skipped {
                kuma_id: page.id,
                name: page.row.text("slug").unwrap_or_default().to_string(),
                kind: "status page".into(),
                reason,
            }),
        }
    }
    Plan {
        schema: db.schema,
        monitors: db.monitors.len(),
        services,
        skipped,
        groups,
        pages,
        skipped_pages,
        secrets: secrets.list,
    }
}

/// Whether a config of this one service loads.
fn loads(service: &Service, secrets: &[Secret]) -> Result<Config, ConfigError> {
    let mut text = String::from("services:\n");
    yaml::service(&mut text, service);
    Config::parse(&text, Path::new("import"), |name| {
        secrets
            .iter()
            .find(|s| s.var == name)
            .map(|s| s.stand_in.clone())
    })
}

/// Services in no group monitor take the name of the one status page
/// section they are shown in, so pages keep their sections.
fn group_by_pages(pages: &[Page], services: &mut [Service]) {
    let mut sections: HashMap<i64, BTreeSet<&str>> = HashMap::new();
    for page in pages.iter().filter(|p| published(p)) {
        for group in &page.groups {
            let name = group.name.trim();
            if name.is_empty() {
                continue;
            }
            for id in &group.monitors {
                sections.entry(*id).or_default().insert(name);
            }
        }
    }
    for service in services.iter_mut().filter(|s| s.group.is_none()) {
        if let Some(names) = sections.get(&service.kuma_id) {
            if names.len() == 1 {
                service.group = names.first().map(|n| n.to_string());
            }
        }
    }
}

/// Whether Kuma shows the page (Hale's pages are all public).
fn published(page: &Page) -> bool {
    !page.row.0.contains_key("published") || page.row.flag("published")
}

/// The `group:` a group monitor's members carry.
fn group_path(monitor: &Monitor, paths: &HashMap<i64, String>) -> String {
    match paths.get(&monitor.id) {
        Some(parent) => format!("{parent} / {}", display_name(monitor)),
        None => display_name(monitor),
    }
}

fn group(monitor: &Monitor, paths: &HashMap<i64, String>, services: &[Service]) -> Group {
    let path = group_path(monitor, paths);
    let mut notes = Vec::new();
    if !monitor.notifications.is_empty() {
        notes.push(format!(
            "notifications {} when a member is down (Hale alerts per service)",
            monitor.notifications.join(", ")
        ));
    }
    if !monitor.tags.is_empty() {
        notes.push(format!("tags {}", monitor.tags.join(", ")));
    }
    if let Some(description) = monitor.row.text("description") {
        notes.push(format!("description {:?}", one_line(description)));
    }
    Group {
        kuma_id: monitor.id,
        services: services
            .iter()
            .filter(|s| s.group.as_deref() == Some(path.as_str()))
            .count(),
        path,
        notes,
    }
}

/// Status page settings Hale has no place for: column, Kuma's default,
/// what it is, and whether its value may be shown.
const PAGE_SETTINGS: &[(&str, Option<&str>, &str, bool)] = &[
    ("footer_text", None, "footer text", false),
    ("custom_css", None, "custom CSS", false),
    ("google_analytics_tag_id", None, "analytics", true),
    ("analytics_id", None, "analytics", true),
    ("password", None, "a password", false),
    ("icon", Some("/icon.svg"), "icon", true),
    ("theme", Some("auto"), "theme", true),
    ("show_tags", Some("0"), "tags shown", false),
    (
        "show_certificate_expiry",
        Some("0"),
        "certificate expiry shown",
        false,
    ),
    ("show_powered_by", Some("1"), "\"powered by\" hidden", false),
    (
        "search_engine_index",
        Some("1"),
        "hidden from search engines",
        false,
    ),
    (
        "auto_refresh_interval",
        Some("300"),
        "refresh interval (seconds)",
        true,
    ),
    (
        "show_only_last_heartbeat",
        Some("0"),
        "only the last heartbeat shown",
        false,
    ),
    ("rss_title", None, "RSS title", true),
];

fn page_plan(
    page: &Page,
    db: &KumaDb,
    paths: &HashMap<i64, String>,
    services: &[Service],
    slugs: &mut BTreeSet<String>,
) -> Result<PagePlan, String> {
    let row = &page.row;
    if !published(page) {
        return Err("unpublished in Kuma, and Hale's status pages are public".into());
    }
    let written = row.text("slug").unwrap_or_default().trim();
    let mut slug: String = written
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    slug = slug.trim_matches('-').to_string();
    if slug.is_empty() {
        slug = format!("page-{}", page.id);
    }
    if slugs.contains(&slug) {
        slug = format!("{slug}-{}", page.id);
    }
    slugs.insert(slug.clone());
    let mut notes = Vec::new();
    if slug != written {
        notes.push(format!(
            "slug {written:?} is {slug:?} (Hale's slugs are lowercase letters, digits and dashes)"
        ));
    }
    let mut listed: Vec<String> = Vec::new();
    for section in &page.groups {
        let mut regrouped = BTreeSet::new();
        for id in &section.monitors {
            let Some(monitor) = db.monitor(*id) else {
                continue;
            };
            let shown: Vec<&Service> = if monitor.kind() == "group" {
                let path = group_path(monitor, paths);
                let members: Vec<&Service> = services
                    .iter()
                    .filter(|s| {
                        s.group
                            .as_deref()
                            .is_some_and(|g| g == path || g.starts_with(&format!("{path} / ")))
                    })
                    .collect();
                notes.push(format!(
                    "group monitor {:?} is shown as the {} in it",
                    display_name(monitor),
                    count(members.len(), "service")
                ));
                members
            } else {
                match services.iter().find(|s| s.kuma_id == *id) {
                    Some(service) => vec![service],
                    None => {
                        notes.push(format!(
                            "{:?} (#{id}, {}) is not imported",
                            display_name(monitor),
                            monitor.kind()
                        ));
                        Vec::new()
                    }
                }
            };
            for service in shown {
                if service.group.as_deref() != Some(section.name.trim()) {
                    regrouped.insert(service.name.as_str());
                }
                if !listed.contains(&service.name) {
                    listed.push(service.name.clone());
                }
            }
        }
        if !regrouped.is_empty() && !section.name.trim().is_empty() {
            notes.push(format!(
                "section {:?}: Hale shows {} of it under their own group",
                section.name.trim(),
                count(regrouped.len(), "service")
            ));
        }
    }
    for (column, default, what, show) in PAGE_SETTINGS {
        let Some(value) = row.text(column).map(str::trim) else {
            continue;
        };
        let unchanged = match default {
            Some("0") => !row.flag(column),
            Some("1") => row.flag(column),
            Some(default) => value == *default,
            None => false,
        };
        if unchanged {
            continue;
        }
        notes.push(if *show {
            format!("{what} {}", one_line(value))
        } else {
            what.to_string()
        });
    }
    if !page.domains.is_empty() {
        notes.push(format!(
            "domains {} (Hale serves the page at /status/{slug})",
            page.domains.join(", ")
        ));
    }
    if page.incidents > 0 {
        notes.push(format!(
            "{} incident(s) (Hale has no incidents)",
            page.incidents
        ));
    }
    if page.maintenance > 0 {
        notes.push(format!("{} maintenance window(s)", page.maintenance));
    }
    Ok(PagePlan {
        kuma_id: page.id,
        title: row
            .text("title")
            .map_or_else(|| slug.clone(), |t| t.trim().to_string()),
        description: row.text("description").map(|d| d.trim().to_string()),
        slug,
        services: listed,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::kuma::db::monitor;
    use crate::ops::kuma::db::PageGroup;

    #[test]
    fn a_section_name_becomes_the_group_of_services_in_no_group_monitor() {
        let page = |name: &str, ids: Vec<i64>| Page {
            groups: vec![PageGroup {
                name: name.into(),
                monitors: ids,
            }],
            ..Page::default()
        };
        let m = monitor(1, &[("type", "port"), ("hostname", "db"), ("port", "1")]);
        let service = |id, group: Option<&str>| Service {
            kuma_id: id,
            group: group.map(str::to_string),
            ..convert::service(&m, &mut Secrets::default()).unwrap()
        };
        let mut services = vec![service(1, None), service(2, Some("Core")), service(3, None)];
        let pages = [page("Databases", vec![1, 2, 3]), page("Other", vec![3])];
        group_by_pages(&pages, &mut services);
        let groups: Vec<Option<&str>> = services.iter().map(|s| s.group.as_deref()).collect();
        // 2 keeps its group monitor's; 3 is in two sections, so in none.
        assert_eq!(groups, [Some("Databases"), Some("Core"), None]);
    }
}

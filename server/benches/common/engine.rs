//! Hale in the benchmark's own process, on a fleet of services and a
//! fresh SQLite file: for figures read off the engine itself (CPU per
//! probe, lateness, the roll-up's runs).

use server::config::Config;
use server::runtime::{Hale, Settings};
use std::time::Duration;

/// One service of the fleet, as a config writes it.
pub fn service(name: String, url: String, interval: Duration) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "url": url,
        "interval": format!("{}ms", interval.as_millis()),
        "timeout": format!("{}ms", interval.min(Duration::from_secs(5)).as_millis()),
        "conditions": ["[STATUS] == 200"],
    })
}

/// Starts Hale on `services` (loaded as a config file would be: JSON is
/// YAML) and a SQLite file in a directory that lives as long as it.
pub async fn start(
    services: Vec<serde_json::Value>,
    adjust: impl FnOnce(&mut Settings),
) -> (Hale, tempfile::TempDir) {
    start_config(serde_json::json!({ "services": services }), adjust).await
}

/// Starts Hale on a whole config (`services` and any other section).
pub async fn start_config(
    config: serde_json::Value,
    adjust: impl FnOnce(&mut Settings),
) -> (Hale, tempfile::TempDir) {
    let text = config.to_string();
    let config = Config::parse(&text, std::path::Path::new("fleet.json"), |_| None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = server::store::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await
    .unwrap();
    let mut settings = Settings::new(config, "127.0.0.1:0".parse().unwrap());
    adjust(&mut settings);
    (Hale::start(settings, store).await.unwrap(), dir)
}

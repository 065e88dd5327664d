//! Push targets: `push://<token>`. The service calls Hale
//! (`/api/push/<token>`) rather than Hale calling it; the watchdog in
//! `engine::push` reports the ones that fall silent. There is nothing to
//! probe, so the scheduler leaves them out.

use super::{FieldError, Fields, Kind, KindProber, Observed, ProbeSpec};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct PushTarget {
    pub token: String,
    /// How late a push may be, past the interval, before it counts as
    /// missed. Default: a tenth of the interval, at least 10 s.
    pub grace: Duration,
}

/// The shortest token accepted.
pub const MIN_TOKEN: usize = 8;

impl Kind for PushTarget {
    const SCHEMES: &'static [&'static str] = &["push"];
    const FIELDS: &'static [&'static str] = &["grace"];
    /// A push is judged by its arrival, not by conditions.
    const DEFAULT_CONDITIONS: &'static [&'static str] = &[];

    fn parse(fields: &Fields<'_>) -> Result<Self, FieldError> {
        let token = fields.url.host_str().unwrap_or_default();
        let valid = token.len() >= MIN_TOKEN
            && token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(FieldError::new(
                "url",
                "a push token must be at least 8 letters, digits, - or _: push://<token>",
            ));
        }
        if !fields.conditions.is_empty() {
            return Err(FieldError::new(
                "conditions",
                "push services are judged by their pushes and take no conditions",
            ));
        }
        Ok(PushTarget {
            token: token.to_string(),
            grace: fields
                .grace
                .unwrap_or_else(|| (fields.interval / 10).max(Duration::from_secs(10))),
        })
    }
}

/// Push services are not probed; a probe of one says so.
pub struct PushProber;

impl KindProber for PushProber {
    type Target = PushTarget;

    fn new() -> Result<Self, super::BuildError> {
        Ok(PushProber)
    }

    async fn observe(&self, _: &PushTarget, _: &ProbeSpec) -> Observed {
        Observed::failed("push services are not probed")
    }
}

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
    /// Whether `GET /api/push/<token>` counts, for tools that can only
    /// fetch. Off by default: link prefetchers and cross-site images send
    /// GETs nobody meant as a push.
    pub allow_get: bool,
}

/// The shortest token accepted: 22 characters of the 64 allowed carry
/// 132 bits, so a token can't be guessed. `hale token` prints one.
pub const MIN_TOKEN: usize = 22;

impl Kind for PushTarget {
    const SCHEMES: &'static [&'static str] = &["push"];
    const FIELDS: &'static [&'static str] = &["grace", "allow_get"];
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
                format!(
                    "a push token must be at least {MIN_TOKEN} letters, digits, - or _ \
                     (`hale token` prints one): push://<token>"
                ),
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
            allow_get: fields.allow_get.unwrap_or(false),
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

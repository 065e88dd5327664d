//! A service's status and the error-rate bands.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The state of one service, as shown on a status page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    Operational,
    Degraded,
    Down,
    Maintenance,
    /// Before the first result, and while Hale itself was not running.
    #[default]
    Unknown,
}

impl ServiceStatus {
    pub const ALL: [ServiceStatus; 5] = [
        ServiceStatus::Operational,
        ServiceStatus::Degraded,
        ServiceStatus::Down,
        ServiceStatus::Maintenance,
        ServiceStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::Operational => "operational",
            ServiceStatus::Degraded => "degraded",
            ServiceStatus::Down => "down",
            ServiceStatus::Maintenance => "maintenance",
            ServiceStatus::Unknown => "unknown",
        }
    }

    /// The status `as_str` names.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            ServiceStatus::Operational => "Operational",
            ServiceStatus::Degraded => "Degraded",
            ServiceStatus::Down => "Down",
            ServiceStatus::Maintenance => "Maintenance",
            ServiceStatus::Unknown => "Unknown",
        }
    }

    /// How bad a status is, for "overall is the worst of the services shown".
    /// Unknown ranks above maintenance and operational: not knowing is worse
    /// than a planned pause.
    pub fn severity(self) -> u8 {
        match self {
            ServiceStatus::Operational => 0,
            ServiceStatus::Maintenance => 1,
            ServiceStatus::Unknown => 2,
            ServiceStatus::Degraded => 3,
            ServiceStatus::Down => 4,
        }
    }

    /// The worst of a set of statuses; `Unknown` for an empty set, because a
    /// page that monitors nothing can't claim everything is operational.
    pub fn worst(statuses: impl IntoIterator<Item = ServiceStatus>) -> ServiceStatus {
        statuses
            .into_iter()
            .max_by_key(|s| s.severity())
            .unwrap_or(ServiceStatus::Unknown)
    }
}

impl fmt::Display for ServiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ServiceStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServiceStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown service status {s:?}"))
    }
}

/// Error-rate class over a window (DESIGN.md): healthy below the warning
/// threshold, critical above the critical one, warning between. Ordered
/// from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    Healthy,
    Warning,
    Critical,
}

impl Band {
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Healthy => "healthy",
            Band::Warning => "warning",
            Band::Critical => "critical",
        }
    }
}

/// The thresholds of the error-rate bands, as fractions (0.05 = 5 %).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bands {
    pub warning: f64,
    pub critical: f64,
}

impl Default for Bands {
    fn default() -> Self {
        Bands {
            warning: 0.05,
            critical: 0.10,
        }
    }
}

impl Bands {
    /// Healthy below `warning`, warning from `warning` up to and including
    /// `critical`, critical above it.
    pub fn classify(&self, error_rate: f64) -> Band {
        if error_rate > self.critical {
            Band::Critical
        } else if error_rate >= self.warning {
            Band::Warning
        } else {
            Band::Healthy
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_status_follows_severity() {
        use ServiceStatus::*;
        assert_eq!(ServiceStatus::worst([Operational, Down, Degraded]), Down);
        assert_eq!(
            ServiceStatus::worst([Operational, Maintenance]),
            Maintenance
        );
        assert_eq!(ServiceStatus::worst([Operational, Unknown]), Unknown);
        assert_eq!(ServiceStatus::worst([Operational]), Operational);
        assert_eq!(ServiceStatus::worst([]), Unknown);
    }

    #[test]
    fn status_round_trips_through_strings() {
        for status in ServiceStatus::ALL {
            assert_eq!(status.as_str().parse::<ServiceStatus>(), Ok(status));
        }
        assert!("sideways".parse::<ServiceStatus>().is_err());
    }
}

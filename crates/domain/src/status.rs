//! Statuses and how they roll up into the page's overall status (STATUSPAGE-API.md §1.2).
//!
//! Every enum here serialises to exactly the lower_snake strings Statuspage clients accept;
//! typed clients reject anything else, so no other value may ever be emitted.

use serde::Serialize;

macro_rules! string_enum {
    // `$s` is a `tt`, not a `literal`: a `literal` fragment reaches derive macros wrapped in
    // an invisible group, and utoipa then misses the `serde(rename)` (the OpenAPI document
    // said `Investigating` where the API sends `investigating`).
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $s:tt),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            /// Parses a wire name, naming `field` and the allowed values on failure.
            pub fn parse(field: &str, s: &str) -> Result<Self, $crate::Invalid> {
                s.parse().map_err(|_| $crate::Invalid::new(field, format!(
                    "{field} must be one of {}; got {:?}",
                    Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                    s,
                )))
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($s => Ok($name::$variant),)+ _ => Err(()) }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// The status of a component.
    ComponentStatus {
        /// Working normally.
        Operational = "operational",
        /// In a maintenance window.
        UnderMaintenance = "under_maintenance",
        /// Working, but slow or flaky.
        DegradedPerformance = "degraded_performance",
        /// Down for some users.
        PartialOutage = "partial_outage",
        /// Down.
        MajorOutage = "major_outage",
    }
}

impl ComponentStatus {
    /// How bad the status is, for "worst of" rollups (groups take their worst child).
    pub fn severity(self) -> u8 {
        match self {
            Self::Operational => 0,
            Self::UnderMaintenance => 1,
            Self::DegradedPerformance => 2,
            Self::PartialOutage => 3,
            Self::MajorOutage => 4,
        }
    }

    /// The worst of `statuses`, or operational when there are none.
    pub fn worst(statuses: impl IntoIterator<Item = Self>) -> Self {
        statuses
            .into_iter()
            .max_by_key(|s| s.severity())
            .unwrap_or(Self::Operational)
    }

    /// The incident impact this status implies (STATUSPAGE-API.md §1.2).
    pub fn implied_impact(self) -> Impact {
        match self {
            Self::Operational => Impact::None,
            Self::UnderMaintenance => Impact::Maintenance,
            Self::DegradedPerformance => Impact::Minor,
            Self::PartialOutage => Impact::Major,
            Self::MajorOutage => Impact::Critical,
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Operational => "Operational",
            Self::UnderMaintenance => "Under Maintenance",
            Self::DegradedPerformance => "Degraded Performance",
            Self::PartialOutage => "Partial Outage",
            Self::MajorOutage => "Major Outage",
        }
    }
}

string_enum! {
    /// The impact of an incident; also the page's status indicator.
    Impact {
        /// No impact.
        None = "none",
        /// Minor.
        Minor = "minor",
        /// Major.
        Major = "major",
        /// Critical.
        Critical = "critical",
        /// Planned maintenance.
        Maintenance = "maintenance",
    }
}

impl Impact {
    /// Rank for "worst of": maintenance sits just above none, below any outage.
    pub fn severity(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Maintenance => 1,
            Self::Minor => 2,
            Self::Major => 3,
            Self::Critical => 4,
        }
    }

    /// The worse of two impacts.
    pub fn max(self, other: Self) -> Self {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }
}

string_enum! {
    /// Where an incident or a scheduled maintenance is in its life.
    IncidentStatus {
        /// Realtime: looking into it.
        Investigating = "investigating",
        /// Realtime: cause found.
        Identified = "identified",
        /// Realtime: fix deployed, watching.
        Monitoring = "monitoring",
        /// Realtime: over.
        Resolved = "resolved",
        /// Realtime: over, and its postmortem published.
        Postmortem = "postmortem",
        /// Maintenance: announced, not started.
        Scheduled = "scheduled",
        /// Maintenance: under way.
        InProgress = "in_progress",
        /// Maintenance: done, checking.
        Verifying = "verifying",
        /// Maintenance: over.
        Completed = "completed",
    }
}

impl IncidentStatus {
    /// Whether this status belongs to a scheduled maintenance.
    pub fn is_maintenance(self) -> bool {
        matches!(
            self,
            Self::Scheduled | Self::InProgress | Self::Verifying | Self::Completed
        )
    }

    /// Whether an incident in this status is over.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Resolved | Self::Postmortem | Self::Completed)
    }

    /// A label for people, as Statuspage prints it on pages and feeds.
    pub fn label(self) -> &'static str {
        match self {
            Self::Investigating => "Investigating",
            Self::Identified => "Identified",
            Self::Monitoring => "Monitoring",
            Self::Resolved => "Resolved",
            Self::Postmortem => "Postmortem",
            Self::Scheduled => "Scheduled",
            Self::InProgress => "In progress",
            Self::Verifying => "Verifying",
            Self::Completed => "Completed",
        }
    }
}

/// The page's overall status: `status.json`'s `status` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageStatus {
    /// `none | minor | major | critical | maintenance`.
    pub indicator: Impact,
    /// A sentence such as "All Systems Operational".
    pub description: &'static str,
}

/// What the rollup looks at.
#[derive(Debug, Default, Clone)]
pub struct RollupInput {
    /// Statuses of the page's components (not groups: a group's status derives from these).
    pub components: Vec<ComponentStatus>,
    /// Impacts of unresolved realtime incidents.
    pub open_incident_impacts: Vec<Impact>,
    /// Whether a scheduled maintenance is in progress or verifying.
    pub maintenance_in_progress: bool,
}

/// The page status rule. Statuspage does not publish its algorithm; this one reproduces the
/// captured pages (STATUSPAGE-API.md §1.2, [inferred]): the worst of the open incidents'
/// impacts and the components' statuses (degraded → minor, partial → major, major → critical);
/// when nothing is worse than none but maintenance is under way, `maintenance`. The sentence
/// says "Service Outage" when an incident sets the level and "Degraded/System Outage" when
/// components do, as the captured pages do.
pub fn page_status(input: &RollupInput) -> PageStatus {
    let from_incidents = input
        .open_incident_impacts
        .iter()
        .copied()
        .filter(|i| *i != Impact::Maintenance)
        .fold(Impact::None, Impact::max);
    let from_components = input
        .components
        .iter()
        .map(|s| s.implied_impact())
        .filter(|i| *i != Impact::Maintenance)
        .fold(Impact::None, Impact::max);
    let indicator = from_incidents.max(from_components);
    if indicator == Impact::None {
        let maintenance = input.maintenance_in_progress
            || input
                .components
                .contains(&ComponentStatus::UnderMaintenance);
        return if maintenance {
            PageStatus {
                indicator: Impact::Maintenance,
                description: "Service Under Maintenance",
            }
        } else {
            PageStatus {
                indicator: Impact::None,
                description: "All Systems Operational",
            }
        };
    }
    let by_incident = from_incidents.severity() >= from_components.severity();
    let description = match (indicator, by_incident) {
        (Impact::Minor, true) => "Minor Service Outage",
        (Impact::Minor, false) => "Partially Degraded Service",
        (Impact::Major, _) => "Partial System Outage",
        (Impact::Critical, true) => "Major Service Outage",
        (_, _) => "Major System Outage",
    };
    PageStatus {
        indicator,
        description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus as C;

    fn rollup(c: &[C], i: &[Impact], m: bool) -> PageStatus {
        page_status(&RollupInput {
            components: c.to_vec(),
            open_incident_impacts: i.to_vec(),
            maintenance_in_progress: m,
        })
    }

    #[test]
    fn enums_round_trip_their_wire_names() {
        for s in ComponentStatus::ALL {
            assert_eq!(s.as_str().parse::<C>(), Ok(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in IncidentStatus::ALL {
            assert_eq!(s.as_str().parse::<IncidentStatus>(), Ok(*s));
        }
        for s in Impact::ALL {
            assert_eq!(s.as_str().parse::<Impact>(), Ok(*s));
        }
    }

    #[test]
    fn unknown_values_are_rejected_with_the_allowed_list() {
        let e = ComponentStatus::parse("component.status", "broken").unwrap_err();
        assert_eq!(e.field, "component.status");
        assert!(
            e.message.contains("operational, under_maintenance"),
            "{}",
            e.message
        );
    }

    #[test]
    fn all_operational_is_none() {
        let s = rollup(&[C::Operational, C::Operational], &[], false);
        assert_eq!(s.indicator, Impact::None);
        assert_eq!(s.description, "All Systems Operational");
    }

    #[test]
    fn components_map_to_indicators() {
        assert_eq!(
            rollup(&[C::DegradedPerformance], &[], false).indicator,
            Impact::Minor
        );
        assert_eq!(
            rollup(&[C::PartialOutage], &[], false).indicator,
            Impact::Major
        );
        assert_eq!(
            rollup(&[C::MajorOutage], &[], false).indicator,
            Impact::Critical
        );
        assert_eq!(
            rollup(&[C::DegradedPerformance], &[], false).description,
            "Partially Degraded Service"
        );
    }

    #[test]
    fn the_worst_of_incidents_and_components_wins() {
        let s = rollup(&[C::DegradedPerformance], &[Impact::Critical], false);
        assert_eq!(s.indicator, Impact::Critical);
        assert_eq!(s.description, "Major Service Outage");
        let s = rollup(&[C::MajorOutage], &[Impact::Minor], false);
        assert_eq!(s.indicator, Impact::Critical);
        assert_eq!(s.description, "Major System Outage");
    }

    #[test]
    fn maintenance_shows_only_when_nothing_is_worse() {
        assert_eq!(
            rollup(&[C::Operational], &[], true).indicator,
            Impact::Maintenance
        );
        assert_eq!(
            rollup(&[C::UnderMaintenance], &[], false).description,
            "Service Under Maintenance"
        );
        assert_eq!(
            rollup(&[C::UnderMaintenance, C::PartialOutage], &[], true).indicator,
            Impact::Major
        );
    }

    #[test]
    fn group_status_is_the_worst_child() {
        assert_eq!(
            C::worst([C::Operational, C::UnderMaintenance, C::DegradedPerformance]),
            C::DegradedPerformance
        );
        assert_eq!(C::worst([]), C::Operational);
    }

    #[test]
    fn statuses_know_their_kind() {
        assert!(IncidentStatus::InProgress.is_maintenance());
        assert!(!IncidentStatus::Monitoring.is_maintenance());
        assert!(IncidentStatus::Completed.is_closed());
        assert!(!IncidentStatus::Verifying.is_closed());
    }
}

//! Domain enums shared by server, frontend and storage. Each has one string form, used in
//! JSON, in the database and in URLs.

/// Declares a string-valued enum with `as_str`, `ALL`, `Display` and a `FromStr` whose error
/// lists the accepted values (so a 422 can say how to fix the field).
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical string form.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "must be one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// A user's role inside its organisation. admin > operator > analyst > viewer form an order;
    /// auditor stands apart: read-only everywhere plus access to the audit log.
    Role {
        Admin = "admin",
        Operator = "operator",
        Analyst = "analyst",
        Viewer = "viewer",
        Auditor = "auditor",
    }
}

impl Role {
    /// Rank in the admin > operator > analyst > viewer order; the auditor ranks as a viewer.
    pub fn rank(self) -> u8 {
        match self {
            Role::Admin => 4,
            Role::Operator => 3,
            Role::Analyst => 2,
            Role::Viewer | Role::Auditor => 1,
        }
    }

    /// True when this role may do what `required` may do.
    pub fn at_least(self, required: Role) -> bool {
        if required == Role::Auditor {
            return matches!(self, Role::Auditor | Role::Admin);
        }
        self.rank() >= required.rank()
    }
}

string_enum! {
    /// Component status, with Statuspage's values.
    ComponentStatus {
        Operational = "operational",
        DegradedPerformance = "degraded_performance",
        PartialOutage = "partial_outage",
        MajorOutage = "major_outage",
        UnderMaintenance = "under_maintenance",
    }
}

impl ComponentStatus {
    /// Severity for roll-ups: the worst component decides the page indicator.
    pub fn severity(self) -> u8 {
        match self {
            ComponentStatus::Operational => 0,
            ComponentStatus::UnderMaintenance => 1,
            ComponentStatus::DegradedPerformance => 2,
            ComponentStatus::PartialOutage => 3,
            ComponentStatus::MajorOutage => 4,
        }
    }

    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
            ComponentStatus::UnderMaintenance => "Under maintenance",
        }
    }
}

string_enum! {
    /// Incident impact, with Statuspage's values.
    Impact { None = "none", Minor = "minor", Major = "major", Critical = "critical" }
}

string_enum! {
    /// How fast an incident needs attention (workaround? spreading? regulatory consequences?).
    Urgency { Low = "low", Medium = "medium", High = "high" }
}

string_enum! {
    /// Priority derived from impact x urgency; P1 is the most pressing.
    Priority { P1 = "P1", P2 = "P2", P3 = "P3", P4 = "P4", P5 = "P5" }
}

string_enum! {
    /// Cause classes for categorising incidents (natural, system internal/external,
    /// human unintentional/intentional).
    Category {
        NaturalDisaster = "natural_disaster",
        SoftwareBug = "software_bug",
        HardwareFailure = "hardware_failure",
        PowerLoss = "power_loss",
        CarrierOutage = "carrier_outage",
        HumanError = "human_error",
        Sanctions = "sanctions",
        HackingDos = "hacking_dos",
        Ransomware = "ransomware",
        Unknown = "unknown",
    }
}

impl Category {
    /// The cause class this category belongs to.
    pub fn class(self) -> &'static str {
        match self {
            Category::NaturalDisaster => "natural",
            Category::SoftwareBug | Category::HardwareFailure => "system_internal",
            Category::PowerLoss | Category::CarrierOutage => "system_external",
            Category::HumanError => "human_unintentional",
            Category::Sanctions | Category::HackingDos | Category::Ransomware => {
                "human_intentional"
            }
            Category::Unknown => "unknown",
        }
    }
}

string_enum! {
    /// Whether a record is an unplanned incident or a scheduled maintenance.
    IncidentKind { Incident = "incident", Maintenance = "maintenance" }
}

string_enum! {
    /// Lifecycle status of incidents and maintenances (Statuspage values; postmortem follows
    /// resolved).
    IncidentStatus {
        Investigating = "investigating",
        Identified = "identified",
        Monitoring = "monitoring",
        Resolved = "resolved",
        Postmortem = "postmortem",
        Scheduled = "scheduled",
        InProgress = "in_progress",
        Verifying = "verifying",
        Completed = "completed",
    }
}

impl IncidentStatus {
    /// Statuses valid for an incident of `kind`.
    pub fn valid_for(self, kind: IncidentKind) -> bool {
        use IncidentStatus::*;
        match kind {
            IncidentKind::Incident => {
                matches!(
                    self,
                    Investigating | Identified | Monitoring | Resolved | Postmortem
                )
            }
            IncidentKind::Maintenance => {
                matches!(self, Scheduled | InProgress | Verifying | Completed)
            }
        }
    }

    /// True once the record needs no more attention (resolved, postmortem, completed).
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            IncidentStatus::Resolved | IncidentStatus::Postmortem | IncidentStatus::Completed
        )
    }

    /// Human label.
    pub fn label(self) -> &'static str {
        use IncidentStatus::*;
        match self {
            Investigating => "Investigating",
            Identified => "Identified",
            Monitoring => "Monitoring",
            Resolved => "Resolved",
            Postmortem => "Postmortem",
            Scheduled => "Scheduled",
            InProgress => "In progress",
            Verifying => "Verifying",
            Completed => "Completed",
        }
    }
}

string_enum! {
    /// Who may see an incident: everyone (public page); the customers whose contracted
    /// services x regions it touches; the customers the provider names; or only the
    /// provider's own staff.
    Visibility { Public = "public", Affected = "affected", Named = "named", Internal = "internal" }
}

string_enum! {
    /// Channel through which a record was disclosed, for the audit log.
    Channel {
        Http = "http",
        WebSocket = "websocket",
        Email = "email",
        Feed = "feed",
        Cli = "cli",
        /// A TAXII 2.1 collection.
        Taxii = "taxii",
        /// An answer to a lookup of observable values.
        Lookup = "lookup",
        /// A file exported for download (STIX bundle, MISP event, CSV, block list).
        Export = "export",
    }
}

string_enum! {
    /// Cloud service model of a provider-customer relationship.
    ServiceModel { Iaas = "iaas", Paas = "paas", Saas = "saas" }
}

string_enum! {
    /// Who drives the response to an incident, by the shared-responsibility model.
    Driver { Csp = "csp", Csc = "csc", Joint = "joint" }
}

string_enum! {
    /// The layer an incident sits in, for the shared-responsibility suggestion.
    Layer { Platform = "platform", Application = "application" }
}

impl ServiceModel {
    /// Who drives an incident in `layer` (DOMAIN: platform/service layer of PaaS or SaaS: the
    /// CSP; application layer of a PaaS application: the CSC; platform layer of IaaS: both,
    /// first deciding whose environment it is in). What runs on IaaS is the customer's.
    pub fn driver(self, layer: Layer) -> Driver {
        match (self, layer) {
            (ServiceModel::Saas, _) | (ServiceModel::Paas, Layer::Platform) => Driver::Csp,
            (ServiceModel::Paas | ServiceModel::Iaas, Layer::Application) => Driver::Csc,
            (ServiceModel::Iaas, Layer::Platform) => Driver::Joint,
        }
    }
}

string_enum! {
    /// Life of a provider-customer relationship.
    RelationshipStatus { Invited = "invited", Active = "active", Ended = "ended" }
}

string_enum! {
    /// How a subscription delivers: each event at once, or bundled into a periodic digest.
    DeliveryMode { Immediate = "immediate", Digest = "digest" }
}

string_enum! {
    /// What happened, in a stream event.
    EventKind {
        IncidentCreated = "incident.created",
        IncidentUpdated = "incident.updated",
        IncidentResolved = "incident.resolved",
        MaintenanceScheduled = "maintenance.scheduled",
        MaintenanceUpdated = "maintenance.updated",
        ComponentStatus = "component.status",
        Acknowledged = "incident.acknowledged",
        /// A STIX object (or a new version of it) now reaches the receiving organisation.
        IndicatorShared = "indicator.shared",
        /// A STIX object the receiving organisation received was withdrawn by its owner.
        IndicatorRevoked = "indicator.revoked",
        /// An escalation step tells the one person the frame is for (WebSocket channel of
        /// their organisation's escalation policy).
        EscalationNotice = "escalation.notice",
        /// A regulatory or contractual deadline is near or missed: told to one person of the
        /// party's escalation ladder.
        ClockAlert = "clock.alert",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_forms_round_trip_and_errors_list_the_choices() {
        for s in ComponentStatus::ALL {
            assert_eq!(s.as_str().parse::<ComponentStatus>(), Ok(*s));
            assert_eq!(
                serde_json::to_string(s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        let err = "broken".parse::<ComponentStatus>().unwrap_err();
        assert!(
            err.contains("operational") && err.contains("under_maintenance"),
            "{err}"
        );
    }

    #[test]
    fn roles_are_ordered_and_the_auditor_stands_apart() {
        assert!(Role::Admin.at_least(Role::Operator));
        assert!(Role::Operator.at_least(Role::Analyst));
        assert!(!Role::Analyst.at_least(Role::Operator));
        assert!(Role::Auditor.at_least(Role::Viewer));
        assert!(!Role::Auditor.at_least(Role::Analyst));
        assert!(Role::Auditor.at_least(Role::Auditor));
        assert!(Role::Admin.at_least(Role::Auditor));
        assert!(!Role::Operator.at_least(Role::Auditor));
    }

    #[test]
    fn statuses_belong_to_their_kind() {
        assert!(IncidentStatus::Resolved.valid_for(IncidentKind::Incident));
        assert!(!IncidentStatus::Resolved.valid_for(IncidentKind::Maintenance));
        assert!(IncidentStatus::Verifying.valid_for(IncidentKind::Maintenance));
        assert!(!IncidentStatus::Scheduled.valid_for(IncidentKind::Incident));
    }
}

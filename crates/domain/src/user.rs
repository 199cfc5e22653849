//! Admin users and their roles.

use chrono::{DateTime, Utc};

use crate::status::string_enum;

string_enum! {
    /// What a user may do.
    Role {
        /// Everything, including keys, team and page settings.
        Owner = "owner",
        /// Incidents, maintenances and component statuses.
        IncidentManager = "incident_manager",
        /// Read only.
        Viewer = "viewer",
    }
}

/// An admin user (without the password hash).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    /// Lowercased email address; unique.
    pub email: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

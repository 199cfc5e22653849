//! Who made a change: recorded with every write in the audit log.

/// The kind of principal behind a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// A management API key.
    ApiKey,
    /// A signed-in admin user.
    User,
    /// Herald itself (reconcilers, automation).
    System,
    /// An operator at the command line (`herald ...`).
    Cli,
    /// A visitor of the public page, or a subscriber following a signed link.
    Public,
    /// An automation integration (Alertmanager, webhook, heartbeat, check): each acts
    /// under its own id.
    Integration,
}

impl ActorKind {
    /// The name stored in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::User => "user",
            Self::System => "system",
            Self::Cli => "cli",
            Self::Public => "public",
            Self::Integration => "integration",
        }
    }
}

/// A principal and where the request came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// What kind of principal.
    pub kind: ActorKind,
    /// Its id (key id, user id, reconciler name).
    pub id: String,
    /// The client address, when the change came over the network.
    pub ip: Option<String>,
}

impl Actor {
    /// Herald itself, under a name such as `maintenance-reconciler`.
    pub fn system(name: &str) -> Self {
        Self {
            kind: ActorKind::System,
            id: name.to_owned(),
            ip: None,
        }
    }

    /// A visitor of the public page from `ip`, acting as `id` (`subscribe`, or the
    /// subscriber a signed link is for).
    pub fn public(id: &str, ip: Option<String>) -> Self {
        Self {
            kind: ActorKind::Public,
            id: id.to_owned(),
            ip,
        }
    }

    /// Whether the change comes from the page's own team: an API key, an admin user, an
    /// operator at the command line or herald itself, as opposed to a visitor of the public
    /// page. Private pages notify only subscribers their team added.
    pub fn is_team(&self) -> bool {
        self.kind != ActorKind::Public
    }

    /// An automation integration (its id), from `ip` when it came over the network.
    pub fn integration(id: &str, ip: Option<String>) -> Self {
        Self {
            kind: ActorKind::Integration,
            id: id.to_owned(),
            ip,
        }
    }

    /// An operator using the command line.
    pub fn cli() -> Self {
        Self {
            kind: ActorKind::Cli,
            id: "cli".to_owned(),
            ip: None,
        }
    }
}

//! Statuspage-style ids: 12 lowercase base-36 characters (`kctbh9vrtdwd`).
//!
//! Clients treat them as opaque strings; herald generates them at random (about 62 bits),
//! which makes them unguessable enough that an id never reveals how many objects exist.

use rand::RngExt;

const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Length of every id herald generates.
pub const LEN: usize = 12;

/// A fresh random id.
pub fn generate() -> String {
    let mut rng = rand::rng();
    (0..LEN)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Whether `s` has the shape of an id herald could have issued. Used to answer 404 early
/// for garbage without touching the database.
pub fn looks_valid(s: &str) -> bool {
    s.len() == LEN
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

/// An id of one kind of thing. Each kind has its own type, so that a subscriber's id cannot
/// be passed where an incident's is wanted; on the wire and in the database it is the plain
/// string (`#[serde(transparent)]`).
macro_rules! typed_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default,
            ::serde::Serialize, ::serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh random id.
            pub fn generate() -> Self {
                Self(generate())
            }

            /// The id as a string (for SQL, URLs and messages).
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The string it wraps.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<&String> for $name {
            fn from(s: &String) -> Self {
                Self(s.clone())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

typed_id! {
    /// A status page's id. The store's methods take `&PageId`, so another kind of id does
    /// not compile where a page's is wanted:
    ///
    /// ```compile_fail
    /// use herald_domain::id::{IncidentId, PageId};
    /// fn page_of(_: &PageId) {}
    /// page_of(&IncidentId::from("kctbh9vrtdwd"));
    /// ```
    ///
    /// and neither does a bare string:
    ///
    /// ```compile_fail
    /// use herald_domain::id::PageId;
    /// fn page_of(_: &PageId) {}
    /// page_of("kctbh9vrtdwd");
    /// ```
    PageId
}

typed_id! {
    /// A component's (or group's) id.
    ComponentId
}

typed_id! {
    /// An incident's (or maintenance's) id.
    IncidentId
}

typed_id! {
    /// A subscriber's id. Not interchangeable with the other ids:
    ///
    /// ```compile_fail
    /// use herald_domain::id::{IncidentId, SubscriberId};
    /// fn follow(_: &IncidentId) {}
    /// follow(&SubscriberId::from("kctbh9vrtdwd"));
    /// ```
    SubscriberId
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_twelve_lowercase_base36_characters() {
        for _ in 0..1000 {
            let id = generate();
            assert!(looks_valid(&id), "{id}");
        }
    }

    #[test]
    fn generated_ids_differ() {
        let a: std::collections::HashSet<_> = (0..1000).map(|_| generate()).collect();
        assert_eq!(a.len(), 1000);
    }

    #[test]
    fn typed_ids_are_plain_strings_on_the_wire() {
        let id = SubscriberId::from("kctbh9vrtdwd");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"kctbh9vrtdwd\"");
        let back: SubscriberId = serde_json::from_str("\"kctbh9vrtdwd\"").unwrap();
        assert_eq!(back, id);
        assert_eq!(id.to_string(), "kctbh9vrtdwd");
        assert_eq!(id, "kctbh9vrtdwd");
        assert_eq!("kctbh9vrtdwd", id);
        assert_eq!(String::from("kctbh9vrtdwd"), id);
        assert_eq!(SubscriberId::from(&String::from("kctbh9vrtdwd")), id);
        assert!(looks_valid(PageId::generate().as_str()));
    }

    #[test]
    fn shapes_that_are_not_ids_are_recognised() {
        assert!(!looks_valid("ABCDEFGHIJKL"));
        assert!(!looks_valid("short"));
        assert!(!looks_valid("../../etc/pa"));
    }
}

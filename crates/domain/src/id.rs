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
    fn shapes_that_are_not_ids_are_recognised() {
        assert!(!looks_valid("ABCDEFGHIJKL"));
        assert!(!looks_valid("short"));
        assert!(!looks_valid("../../etc/pa"));
    }
}

//! Management API keys.
//!
//! A key looks like `hrld_<32 base62 characters><6 character checksum>`. The checksum
//! (CRC-32 of the random part, as GitHub's tokens do) lets herald reject a mistyped or
//! made-up key before it touches the database, and lets secret scanners recognise leaked keys.
//! Only the SHA-256 of a key is stored, with a short visible prefix and the last four
//! characters so people can tell their keys apart; the key itself is shown once.

use crate::id::PageId;
use chrono::{DateTime, Utc};
use rand::RngExt;
use sha2::{Digest, Sha256};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Every key starts with this.
pub const KEY_PREFIX: &str = "hrld_";
const RANDOM_LEN: usize = 32;
const CHECK_LEN: usize = 6;

/// A key just made: `secret` is shown once and never stored.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    /// The whole key, to give to the user.
    pub secret: String,
    /// The first 12 characters, stored and shown to tell keys apart.
    pub prefix: String,
    /// The last 4 characters.
    pub last4: String,
    /// SHA-256 of the key, hex: the only thing that identifies it in storage.
    pub hash: String,
}

fn checksum(random: &str) -> String {
    let mut n = crc32fast::hash(random.as_bytes()) as u64;
    let mut out = [b'0'; CHECK_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Makes a new random key.
pub fn generate() -> GeneratedKey {
    generate_with(KEY_PREFIX)
}

/// Makes a new random secret of the same shape with another prefix (integration tokens use
/// `hrli_`, so a leaked one is told apart from an API key).
pub fn generate_with(prefix: &str) -> GeneratedKey {
    let mut rng = rand::rng();
    let random: String = (0..RANDOM_LEN)
        .map(|_| char::from(BASE62[rng.random_range(0..BASE62.len())]))
        .collect();
    let secret = format!("{prefix}{random}{}", checksum(&random));
    GeneratedKey {
        prefix: secret[..12].to_owned(),
        last4: secret[secret.len() - 4..].to_owned(),
        hash: hash(&secret),
        secret,
    }
}

/// SHA-256 of a key, lowercase hex.
pub fn hash(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks a presented key's shape and checksum; returns its hash for lookup, or `None` for
/// anything herald cannot have issued.
pub fn check(presented: &str) -> Option<String> {
    check_with(KEY_PREFIX, presented)
}

/// [`check`] for secrets made by [`generate_with`] with `prefix`.
pub fn check_with(prefix: &str, presented: &str) -> Option<String> {
    let body = presented.strip_prefix(prefix)?;
    if body.len() != RANDOM_LEN + CHECK_LEN || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let (random, check) = body.split_at(RANDOM_LEN);
    (checksum(random) == check).then(|| hash(presented))
}

/// A stored key, without its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: String,
    /// A label for people.
    pub name: String,
    pub prefix: String,
    pub last4: String,
    /// Read-only keys get 403 on every write.
    pub read_only: bool,
    /// The pages the key may use; `None` means every page.
    pub page_ids: Option<Vec<PageId>>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// Whether the key may see `page_id`.
    pub fn can_access(&self, page_id: &PageId) -> bool {
        self.revoked_at.is_none()
            && self
                .page_ids
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|p| p == page_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_pass_their_own_check() {
        for _ in 0..100 {
            let k = generate();
            assert_eq!(check(&k.secret), Some(k.hash.clone()));
            assert!(k.secret.starts_with("hrld_"));
            assert_eq!(k.secret.len(), 5 + 32 + 6);
            assert!(k.secret.starts_with(&k.prefix) && k.secret.ends_with(&k.last4));
        }
    }

    #[test]
    fn a_single_changed_character_fails_the_checksum() {
        let k = generate();
        let mut chars: Vec<char> = k.secret.chars().collect();
        chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(check(&tampered), None);
        assert_eq!(check("hrld_short"), None);
        assert_eq!(check("Bearer xyz"), None);
    }

    #[test]
    fn the_hash_is_hex_sha256() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn scope_limits_pages() {
        let mut k = ApiKey {
            id: "k".into(),
            name: "n".into(),
            prefix: "p".into(),
            last4: "l".into(),
            read_only: false,
            page_ids: Some(vec!["a".into()]),
            created_at: crate::clock::from_ms(0),
            revoked_at: None,
        };
        assert!(k.can_access(&PageId::from("a")));
        assert!(!k.can_access(&PageId::from("b")));
        k.page_ids = None;
        assert!(k.can_access(&PageId::from("b")));
        k.revoked_at = Some(crate::clock::from_ms(1));
        assert!(!k.can_access(&PageId::from("a")));
    }
}

//! Admin passwords: Argon2id with the crate's recommended parameters, stored as PHC strings.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::Invalid;

/// Shortest password accepted.
pub const MIN_LEN: usize = 10;

/// Checks the password policy and hashes it.
pub fn hash(password: &str) -> Result<String, Invalid> {
    if password.chars().count() < MIN_LEN {
        return Err(Invalid::new(
            "password",
            format!("password must be at least {MIN_LEN} characters"),
        ));
    }
    if password.len() > 1024 {
        return Err(Invalid::new(
            "password",
            "password is too long (the maximum is 1024 bytes)",
        ));
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| Invalid::new("password", "password could not be hashed"))
}

/// Whether `password` matches the stored PHC string.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterx", &h));
        assert!(!verify("anything", "not a phc string"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(hash("short").unwrap_err().field, "password");
    }
}

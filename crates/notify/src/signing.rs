//! Webhook signatures per the Standard Webhooks specification: headers `webhook-id` (stable
//! for a delivery across retries and replays), `webhook-timestamp` (Unix seconds at sending)
//! and `webhook-signature`: `v1,` + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")),
//! several space-separated while a secret is being rotated. Secrets are `whsec_` + base64
//! of 32 random bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngExt;
use sha2::Sha256;

/// Prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Signatures older or newer than this are refused by verifiers.
pub const TOLERANCE_SECS: i64 = 300;

/// A new random secret.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

fn key(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()
}

/// The MAC of `{id}.{timestamp}.{body}` under `secret`.
fn mac(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)?).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// One signature, `v1,<base64>`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let mac = mac(secret, id, timestamp, body)?;
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The three headers for `secrets` (the current one first, then one being rotated out).
pub fn headers(
    secrets: &[&str],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let sigs: Vec<String> = secrets
        .iter()
        .filter_map(|s| sign(s, id, timestamp, body))
        .collect();
    vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", sigs.join(" ")),
    ]
}

/// Verifies a delivery as a receiver would: any listed signature matches and the timestamp is
/// within [`TOLERANCE_SECS`] of `now`.
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
    signature_header: &str,
    now: i64,
) -> bool {
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return false;
    }
    let Some(mac) = mac(secret, id, timestamp, body) else {
        return false;
    };
    // Each listed signature is compared by the MAC's own constant-time check.
    signature_header
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .any(|sig| mac.clone().verify_slice(&sig).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example from the Standard Webhooks reference implementations.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    #[test]
    fn the_reference_vector_signs_as_the_spec_says() {
        assert_eq!(
            sign(SECRET, ID, TS, BODY).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let h = sign(SECRET, ID, TS, BODY).unwrap();
        assert!(verify(SECRET, ID, TS, BODY, &h, TS + 10));
        assert!(!verify(SECRET, ID, TS, br#"{"test": 2432232315}"#, &h, TS));
        assert!(!verify(SECRET, "msg_other", TS, BODY, &h, TS));
        assert!(
            !verify(SECRET, ID, TS, BODY, &h, TS + 301),
            "outside the tolerance"
        );
    }

    #[test]
    fn during_rotation_both_signatures_verify() {
        let new = new_secret();
        let h = headers(&[&new, SECRET], ID, TS, BODY);
        let sig = &h[2].1;
        assert_eq!(sig.split(' ').count(), 2);
        assert!(verify(&new, ID, TS, BODY, sig, TS));
        assert!(verify(SECRET, ID, TS, BODY, sig, TS));
    }

    #[test]
    fn new_secrets_are_32_random_bytes() {
        let s = new_secret();
        assert!(s.starts_with("whsec_"));
        assert_eq!(key(&s).unwrap().len(), 32);
        assert_ne!(new_secret(), s);
    }
}

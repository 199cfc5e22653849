//! Signed links in notifications: confirm a subscription, manage it, unsubscribe in one
//! click. A token is `<subscriber id>.<purpose>.<expiry>.<mac>`, the MAC being HMAC-SHA256
//! (truncated to 128 bits) over the rest with the instance's link key, so links need no
//! storage, cannot be forged, and a token for one subscriber or purpose is useless for
//! another. Manage and unsubscribe links never expire (old e-mails must keep working);
//! confirmation links expire after 90 days, as Statuspage's do.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::id::SubscriberId;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Confirm,
    Manage,
    Unsubscribe,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Manage => "manage",
            Self::Unsubscribe => "unsubscribe",
        }
    }
}

/// The name of the instance secret links are signed with.
pub const LINK_KEY: &str = "link-signing-key";

/// How long confirmation links work.
pub const CONFIRM_TTL: TimeDelta = TimeDelta::days(90);

/// Signs and checks link tokens.
#[derive(Clone)]
pub struct Links {
    key: Vec<u8>,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Links(..)")
    }
}

impl Links {
    /// A signer with `key` (the instance's link secret).
    pub fn new(key: &str) -> Self {
        Self {
            key: key.as_bytes().to_vec(),
        }
    }

    fn mac(&self, msg: &str) -> String {
        let Ok(mut m) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return String::new();
        };
        m.update(msg.as_bytes());
        URL_SAFE_NO_PAD.encode(&m.finalize().into_bytes()[..16])
    }

    /// Whether `mac` (base64, the MAC's first 16 bytes) is `msg`'s: compared by the MAC's
    /// own constant-time check.
    fn genuine(&self, msg: &str, mac: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(mac) else {
            return false;
        };
        let Ok(mut m) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return false;
        };
        m.update(msg.as_bytes());
        tag.len() == 16 && m.verify_truncated_left(&tag).is_ok()
    }

    /// A token for `subscriber_id` and `purpose`, made at `now`.
    pub fn token(
        &self,
        subscriber_id: &SubscriberId,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> String {
        let expiry = match purpose {
            Purpose::Confirm => (now + CONFIRM_TTL).timestamp(),
            _ => 0,
        };
        let msg = format!("{subscriber_id}.{}.{expiry}", purpose.as_str());
        format!("{msg}.{}", self.mac(&msg))
    }

    /// The subscriber id a token grants `purpose` on, if it is genuine and not expired.
    pub fn check(&self, token: &str, purpose: Purpose, now: DateTime<Utc>) -> Option<SubscriberId> {
        let (msg, mac) = token.rsplit_once('.')?;
        let mut fields = msg.split('.');
        let (id, p, expiry) = (
            fields.next()?,
            fields.next()?,
            fields.next()?.parse::<i64>().ok()?,
        );
        if fields.next().is_some() || p != purpose.as_str() || !herald_domain::id::looks_valid(id) {
            return None;
        }
        if !self.genuine(msg, mac) || (expiry != 0 && expiry < now.timestamp()) {
            return None;
        }
        Some(id.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_domain::clock::from_ms;

    #[test]
    fn a_token_opens_only_its_subscriber_and_purpose() {
        let l = Links::new("k");
        let now = from_ms(1_700_000_000_000);
        let t = l.token(&"abcdefghijkl".into(), Purpose::Unsubscribe, now);
        assert_eq!(
            l.check(&t, Purpose::Unsubscribe, now),
            Some("abcdefghijkl".into())
        );
        assert_eq!(l.check(&t, Purpose::Manage, now), None, "wrong purpose");
        assert_eq!(
            Links::new("other").check(&t, Purpose::Unsubscribe, now),
            None,
            "wrong key"
        );
        let forged = t.replace("abcdefghijkl", "zzzzzzzzzzzz");
        assert_eq!(
            l.check(&forged, Purpose::Unsubscribe, now),
            None,
            "another subscriber"
        );
        assert_eq!(l.check("garbage", Purpose::Unsubscribe, now), None);
        assert_eq!(l.check(&format!("{t}x"), Purpose::Unsubscribe, now), None);
        // The first 9 bytes of the right MAC are not the MAC.
        let (msg, mac) = t.rsplit_once('.').unwrap();
        let short = format!("{msg}.{}", &mac[..12]);
        assert_eq!(
            l.check(&short, Purpose::Unsubscribe, now),
            None,
            "short MAC"
        );
    }

    #[test]
    fn confirmation_links_expire_and_others_do_not() {
        let l = Links::new("k");
        let now = from_ms(1_700_000_000_000);
        let c = l.token(&"abcdefghijkl".into(), Purpose::Confirm, now);
        assert!(
            l.check(&c, Purpose::Confirm, now + TimeDelta::days(89))
                .is_some()
        );
        assert!(
            l.check(&c, Purpose::Confirm, now + TimeDelta::days(91))
                .is_none()
        );
        let m = l.token(&"abcdefghijkl".into(), Purpose::Manage, now);
        assert!(
            l.check(&m, Purpose::Manage, now + TimeDelta::days(3650))
                .is_some()
        );
    }
}

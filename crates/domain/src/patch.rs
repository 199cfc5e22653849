//! Partial updates: telling "not sent" apart from "sent as null".

use serde::{Deserialize, Deserializer};

/// For `Option<Option<T>>` patch fields: absent → `None` (keep), `null` → `Some(None)`
/// (clear), a value → `Some(Some(v))` (set). Use with `#[serde(default)]`.
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct P {
        #[serde(deserialize_with = "super::double_option")]
        v: Option<Option<String>>,
    }

    #[test]
    fn absent_null_and_value_are_three_different_things() {
        let p: P = serde_json::from_str("{}").unwrap();
        assert_eq!(p.v, None);
        let p: P = serde_json::from_str(r#"{"v":null}"#).unwrap();
        assert_eq!(p.v, Some(None));
        let p: P = serde_json::from_str(r#"{"v":"x"}"#).unwrap();
        assert_eq!(p.v, Some(Some("x".into())));
    }
}

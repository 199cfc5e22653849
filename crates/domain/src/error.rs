//! The one error the domain raises: input that breaks a rule, with the field it concerns.

/// Input that breaks a rule. `field` names the offending field as the client sent it
/// (`incident.name`), `message` says what is wrong in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    /// The field the message is about, dotted as in the request (`component.status`).
    pub field: String,
    /// A sentence for the client, e.g. "name can't be blank".
    pub message: String,
}

impl Invalid {
    /// A rule broken by `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Result of parsing or applying a rule.
pub type Result<T, E = Invalid> = std::result::Result<T, E>;

/// Checks a required text field: trimmed, not blank, at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Invalid::new(field, format!("{field} can't be blank")));
    }
    bounded_text(field, v, max)
}

/// Checks an optional text field: at most `max` characters; blank becomes `None`.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => bounded_text(field, v, max).map(Some),
    }
}

fn bounded_text(field: &str, v: &str, max: usize) -> Result<String> {
    let n = v.chars().count();
    if n > max {
        return Err(Invalid::new(
            field,
            format!("{field} is too long ({n} characters; the maximum is {max})"),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(Invalid::new(
            field,
            format!("{field} contains control characters"),
        ));
    }
    Ok(v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_required_text_is_rejected_with_the_field_name() {
        let e = required_text("incident.name", "   ", 255).unwrap_err();
        assert_eq!(e.field, "incident.name");
        assert_eq!(e.message, "incident.name can't be blank");
    }

    #[test]
    fn text_is_counted_in_characters_not_bytes() {
        let s = "é".repeat(255);
        assert!(required_text("name", &s, 255).is_ok());
        let e = required_text("name", &"é".repeat(256), 255).unwrap_err();
        assert!(e.message.contains("256 characters"), "{}", e.message);
    }

    #[test]
    fn control_characters_are_rejected_but_newlines_are_kept() {
        assert!(required_text("body", "a\u{0}b", 10).is_err());
        assert_eq!(required_text("body", "a\nb", 10).unwrap(), "a\nb");
    }

    #[test]
    fn blank_optional_text_becomes_none() {
        assert_eq!(optional_text("d", Some("  "), 5).unwrap(), None);
        assert_eq!(optional_text("d", None, 5).unwrap(), None);
        assert_eq!(
            optional_text("d", Some(" x "), 5).unwrap(),
            Some("x".into())
        );
    }
}

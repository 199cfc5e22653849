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

/// Checks a name — of a page, component, group, incident, template or API key: what e-mail
/// subjects, feeds, SMS and admin lists show on one line. Trimmed, not blank, at most `max`
/// characters, and one line of visible text: no line breaks or other control characters
/// (a CR/LF in a subject line is header injection), no bidirectional controls such as
/// U+202E (which make a name read backwards, e.g. `gpj.exe` as `exe.jpg`) and no zero-width
/// or other invisible characters (two names that look alike must be alike).
pub fn required_name(field: &str, value: &str, max: usize) -> Result<String> {
    if let Some(c) = value
        .trim()
        .chars()
        .find(|c| c.is_control() || is_invisible(*c))
    {
        return Err(Invalid::new(
            field,
            format!(
                "{field} must be one line of visible text; it contains U+{:04X} (line breaks, control characters, direction marks and zero-width characters are refused)",
                u32::from(c)
            ),
        ));
    }
    required_text(field, value, max)
}

/// Format characters that change how text reads without showing themselves: the soft
/// hyphen, bidirectional embeddings, overrides, isolates and marks, zero-width spaces and
/// joiners, word joiners and invisible operators, the byte-order mark, Hangul fillers and
/// interlinear annotation marks.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
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
    fn names_are_one_line_of_visible_text() {
        assert_eq!(
            required_name("incident.name", " Database outage ", 255).unwrap(),
            "Database outage"
        );
        assert_eq!(
            required_name("n", "Café ☕ 東京", 255).unwrap(),
            "Café ☕ 東京"
        );
        for bad in [
            "a\r\nBcc: victim@example.com",
            "a\nb",
            "a\tb",
            "a\u{7}b",
            "invoice\u{202E}gpj.exe",
            "a\u{2066}b\u{2069}",
            "pay\u{200B}pal",
            "a\u{200D}b",
            "a\u{FEFF}b",
            "a\u{2060}b",
            "a\u{00AD}b",
        ] {
            let e = required_name("incident.name", bad, 255).unwrap_err();
            assert_eq!(e.field, "incident.name", "{bad:?}");
            assert!(e.message.contains("one line of visible text"), "{bad:?}");
        }
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

//! Slack, Microsoft Teams and Discord incoming-webhook messages: readable, linking back to
//! the incident. Text is escaped for each format; nothing the user wrote can become markup
//! or a mention.

use serde_json::{Value, json};

use crate::render::Message;

/// Slack's mrkdwn needs `&`, `<` and `>` escaped (and `<!channel>`-style mentions cannot
/// then be formed).
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Discord markdown: neutralise mentions and links.
fn discord_escape(s: &str) -> String {
    s.replace('@', "@\u{200b}").replace("](", "]\u{200b}(")
}

fn component_lines(m: &Message) -> String {
    m.components
        .iter()
        .map(|(n, s)| format!("• {n}: {s}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A Slack incoming-webhook body (Block Kit, with a text fallback).
pub fn slack(m: &Message, color: &str) -> Value {
    let mut text = format!(
        "*{}* — {}",
        slack_escape(&m.headline),
        slack_escape(&m.title)
    );
    if !m.body.is_empty() {
        text.push_str(&format!(
            "\n{}",
            slack_escape(&herald_domain::markdown::to_text(&m.body))
        ));
    }
    if !m.components.is_empty() {
        text.push_str(&format!("\n{}", slack_escape(&component_lines(m))));
    }
    json!({
        "text": slack_escape(&format!("{}: {} — {}", m.page_name, m.headline, m.title)),
        "attachments": [{
            "color": color,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": format!("<{}|View on {}>", m.link, slack_escape(&m.page_name))}]}
            ]
        }]
    })
}

/// A Microsoft Teams message (an Adaptive Card, which both incoming webhooks and workflow
/// webhooks accept).
pub fn teams(m: &Message) -> Value {
    let mut body = vec![
        json!({"type": "TextBlock", "text": m.page_name, "weight": "Lighter", "isSubtle": true}),
        json!({"type": "TextBlock", "text": format!("{} — {}", m.headline, m.title), "weight": "Bolder", "size": "Medium", "wrap": true}),
    ];
    if !m.body.is_empty() {
        body.push(json!({"type": "TextBlock", "text": herald_domain::markdown::to_text(&m.body), "wrap": true}));
    }
    if !m.components.is_empty() {
        let facts: Vec<Value> = m
            .components
            .iter()
            .map(|(n, s)| json!({"title": n, "value": s}))
            .collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": [{"type": "Action.OpenUrl", "title": "View incident", "url": m.link}]
            }
        }]
    })
}

/// A Discord webhook body (an embed; mentions disabled).
pub fn discord(m: &Message, color: &str) -> Value {
    let rgb = u32::from_str_radix(color.trim_start_matches('#'), 16).unwrap_or(0);
    let mut description = discord_escape(&herald_domain::markdown::to_text(&m.body));
    if !m.components.is_empty() {
        description.push_str(&format!("\n\n{}", discord_escape(&component_lines(m))));
    }
    json!({
        "username": m.page_name,
        "allowed_mentions": {"parse": []},
        "embeds": [{
            "title": discord_escape(&format!("{} — {}", m.headline, m.title)).chars().take(256).collect::<String>(),
            "description": description.chars().take(4000).collect::<String>(),
            "url": m.link,
            "color": rgb,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> Message {
        Message {
            page_name: "Acme".into(),
            page_url: "https://status.acme.example".into(),
            subject: "[Acme] API <down> & out".into(),
            headline: "Identified".into(),
            title: "API <!channel> down".into(),
            body: "**Rolled back** @everyone".into(),
            link: "https://status.acme.example/incidents/x".into(),
            components: vec![("API".into(), "Major Outage".into())],
            window: None,
        }
    }

    #[test]
    fn slack_text_is_escaped_and_links_back() {
        let v = slack(&msg(), "#e74c3c").to_string();
        assert!(v.contains("&lt;!channel&gt;"), "{v}");
        assert!(!v.contains("<!channel>"));
        assert!(v.contains("<https://status.acme.example/incidents/x|View on Acme>"));
    }

    #[test]
    fn discord_disables_mentions() {
        let v = discord(&msg(), "#e74c3c");
        assert_eq!(v["allowed_mentions"]["parse"], json!([]));
        assert!(
            !v["embeds"][0]["description"]
                .as_str()
                .unwrap()
                .contains("@everyone")
        );
        assert_eq!(v["embeds"][0]["color"], 0xe74c3c);
    }

    #[test]
    fn teams_is_an_adaptive_card_with_the_link() {
        let v = teams(&msg());
        assert_eq!(v["attachments"][0]["content"]["type"], "AdaptiveCard");
        assert_eq!(
            v["attachments"][0]["content"]["actions"][0]["url"],
            "https://status.acme.example/incidents/x"
        );
    }
}

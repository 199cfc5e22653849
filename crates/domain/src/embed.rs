//! The status embed's look (Statuspage's `status_embed_config`): the corner it sits in and
//! its colours for incidents and maintenances. Kept in the page's settings; the public
//! `/embed/config.json` carries it to `/embed/script.js`.

use serde::{Deserialize, Serialize};

use crate::page::parse_color;
use crate::{Invalid, Result};

/// Corners the embed may sit in.
pub const POSITIONS: &[&str] = &["bottom-left", "bottom-right", "top-left", "top-right"];

/// The embed's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmbedConfig {
    /// One of [`POSITIONS`].
    pub position: String,
    pub incident_background_color: String,
    pub incident_text_color: String,
    pub maintenance_background_color: String,
    pub maintenance_text_color: String,
}

impl Default for EmbedConfig {
    fn default() -> Self {
        Self {
            position: "bottom-right".to_owned(),
            incident_background_color: "#b3261e".to_owned(),
            incident_text_color: "#ffffff".to_owned(),
            maintenance_background_color: "#1f5fa8".to_owned(),
            maintenance_text_color: "#ffffff".to_owned(),
        }
    }
}

/// A change to the embed's settings, inside `{"status_embed_config": {...}}`: each field
/// sent replaces the current one.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct EmbedPatch {
    pub position: Option<String>,
    pub incident_background_color: Option<String>,
    pub incident_text_color: Option<String>,
    pub maintenance_background_color: Option<String>,
    pub maintenance_text_color: Option<String>,
}

impl EmbedConfig {
    /// Applies `patch`, validating each field it sets; on any error nothing changes.
    pub fn apply(&self, patch: &EmbedPatch) -> Result<EmbedConfig> {
        let mut c = self.clone();
        if let Some(p) = &patch.position {
            let p = p.trim().to_ascii_lowercase().replace([' ', '_'], "-");
            if !POSITIONS.contains(&p.as_str()) {
                return Err(Invalid::new(
                    "status_embed_config.position",
                    format!(
                        "status_embed_config.position must be one of {}; got {p:?}",
                        POSITIONS.join(", ")
                    ),
                ));
            }
            c.position = p;
        }
        let colors = [
            (
                &patch.incident_background_color,
                &mut c.incident_background_color,
                "incident_background_color",
            ),
            (
                &patch.incident_text_color,
                &mut c.incident_text_color,
                "incident_text_color",
            ),
            (
                &patch.maintenance_background_color,
                &mut c.maintenance_background_color,
                "maintenance_background_color",
            ),
            (
                &patch.maintenance_text_color,
                &mut c.maintenance_text_color,
                "maintenance_text_color",
            ),
        ];
        for (new, dst, name) in colors {
            if let Some(v) = new {
                *dst = parse_color(&format!("status_embed_config.{name}"), v)?;
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_colours_are_checked() {
        let c = EmbedConfig::default();
        let p: EmbedPatch = serde_json::from_str(
            r##"{"position": "Top Left", "incident_background_color": "#FF0000"}"##,
        )
        .unwrap();
        let n = c.apply(&p).unwrap();
        assert_eq!(n.position, "top-left");
        assert_eq!(n.incident_background_color, "#ff0000");
        let bad: EmbedPatch = serde_json::from_str(r#"{"position": "middle"}"#).unwrap();
        assert_eq!(
            c.apply(&bad).unwrap_err().field,
            "status_embed_config.position"
        );
        let bad: EmbedPatch = serde_json::from_str(r#"{"maintenance_text_color": "red"}"#).unwrap();
        assert_eq!(
            c.apply(&bad).unwrap_err().field,
            "status_embed_config.maintenance_text_color"
        );
    }
}

//! Submitted form fields, and what a form needs to come back with the user's input kept and
//! a message per field.

use herald_store::StoreError;

use crate::error::PageResult;
use std::collections::BTreeMap;

/// A urlencoded form body; a name may repeat.
#[derive(Debug, Clone, Default)]
pub(super) struct Fields(BTreeMap<String, Vec<String>>);

impl Fields {
    pub fn parse(body: &[u8]) -> Self {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(body) {
            m.entry(k.into_owned()).or_default().push(v.into_owned());
        }
        Fields(m)
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .get(name)
            .and_then(|v| v.first())
            .map_or("", String::as_str)
    }

    /// The first value of `name`, trimmed, or `None` when blank.
    pub fn opt(&self, name: &str) -> Option<String> {
        let v = self.get(name).trim();
        (!v.is_empty()).then(|| v.to_owned())
    }

    /// Whether a checkbox was ticked.
    pub fn checked(&self, name: &str) -> bool {
        matches!(self.get(name), "on" | "true" | "1" | "yes")
    }

    /// `(suffix, value)` of every field named `prefix<suffix>`.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0.iter().filter_map(move |(k, v)| {
            Some((
                k.strip_prefix(prefix)?,
                v.first().map_or("", String::as_str),
            ))
        })
    }
}

/// What a form template shows: the values to put back and the messages.
#[derive(Debug, Clone, Default)]
pub(super) struct FormState {
    pub fields: Fields,
    /// `(field, message)`; field "" is about the whole form.
    pub errors: Vec<(String, String)>,
}

impl FormState {
    pub fn new(fields: Fields) -> Self {
        Self {
            fields,
            errors: Vec::new(),
        }
    }

    /// The submitted value of `name`.
    pub fn v(&self, name: &str) -> &str {
        self.fields.get(name)
    }

    /// Whether a checkbox is ticked (`default` on a fresh form).
    pub fn on(&self, name: &str, default: bool) -> bool {
        if self.fields.0.is_empty() {
            default
        } else {
            self.fields.checked(name)
        }
    }

    /// The message about `name`, or "".
    pub fn e(&self, name: &str) -> &str {
        self.errors
            .iter()
            .find(|(f, _)| f == name)
            .map_or("", |(_, m)| m.as_str())
    }

    /// Messages not tied to a field the form shows.
    pub fn general(&self, shown: &[&str]) -> Vec<&str> {
        self.errors
            .iter()
            .filter(|(f, _)| !shown.contains(&f.as_str()))
            .map(|(_, m)| m.as_str())
            .collect()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push((field.to_owned(), message.into()));
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Records a failed write as a message: domain rules under their field (the last dotted
    /// part of the domain's name, as forms name fields), clashes and vanished things for the
    /// whole form. The database away, or a bug, is no message to fix: it is the error.
    pub fn store_error(&mut self, e: StoreError) -> PageResult<()> {
        match e {
            StoreError::Invalid(inv) => {
                let field = inv.field.rsplit('.').next().unwrap_or("");
                let field = match field {
                    "message" => "body",
                    "component_ids" => "components",
                    f => f,
                };
                let message = inv
                    .message
                    .replace("incident.", "")
                    .replace("postmortem.", "");
                self.add(field, message);
            }
            StoreError::Conflict(m) => self.add("", m),
            StoreError::NotFound => self.add("", "It no longer exists."),
            other => return Err(other.into()),
        }
        Ok(())
    }
}

/// One `<option>`.
#[derive(Debug, Clone)]
pub(super) struct Opt {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

/// Options from `values`, selecting `current`.
pub(super) fn options(values: &[&'static str], current: &str) -> Vec<Opt> {
    values
        .iter()
        .map(|v| Opt {
            value: v,
            label: label(v),
            selected: *v == current,
        })
        .collect()
}

/// `partial_outage` → `Partial outage`.
pub(super) fn label(v: &str) -> String {
    let s = v.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => "Unchanged".to_owned(),
    }
}

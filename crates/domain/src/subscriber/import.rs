//! Bulk subscriber import: a CSV or JSON list read into validated subscribers.
//!
//! The whole file is one decision: [`plan`] validates every row and collects *every* bad one
//! (the first [`MAX_ERRORS`] are kept with their place), the web layer adds what the egress
//! guard refuses, and the store finishes the plan inside its transaction with the page's
//! components and incidents as they are there ([`Plan::check_scope`]). A plan with any error
//! is refused whole ([`Plan::rejected`]): nothing of a rejected file is written.
//!
//! The CSV format is the one herald's export writes (`id,mode,state,email,phone_number,
//! endpoint,components,incident_id,created_at`), so an export imports back as it is:
//! `id` and `created_at` are ignored (imported subscribers get new ones), `mode` names the
//! channel, `state` `unsubscribed` skips the row (the others are decided by the import's
//! `skip_confirmation_notification`), `components` holds component ids separated by spaces,
//! and the export's `'` before a value starting with `= + - @` (against spreadsheet
//! formulas) is taken off again. `phone_country` is accepted too. A row that repeats an
//! earlier one (same channel, address and incident) is skipped, not refused.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde_json::Value;

use super::{Channel, NewSubscriber, SubscriberInput};
use crate::Invalid;

/// Bad rows listed in a refusal (the count says how many there were in all).
pub const MAX_ERRORS: usize = 20;

/// Where a row is in the file: a CSV line (1-based; the header is a line) or an index in
/// the JSON body's `subscribers` array (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum At {
    Line(usize),
    Index(usize),
}

impl At {
    /// `("line", 7)` or `("index", 3)`: the key and value a JSON answer uses.
    pub fn key(self) -> (&'static str, usize) {
        match self {
            Self::Line(n) => ("line", n),
            Self::Index(n) => ("index", n),
        }
    }
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Line(n) => write!(f, "line {n}"),
            Self::Index(n) => write!(f, "subscribers[{n}]"),
        }
    }
}

/// One bad row: where, which field (a CSV column or a JSON key; empty for the row as a
/// whole) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub at: At,
    pub field: String,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.at, self.message)
        } else {
            write!(f, "{} ({}): {}", self.at, self.field, self.message)
        }
    }
}

/// A file refused for its rows (a 422): the first [`MAX_ERRORS`] bad rows in file order and
/// how many there were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub errors: Vec<RowError>,
    pub total: usize,
}

impl Rejected {
    /// One sentence for people: how many rows are bad, and each listed one.
    pub fn message(&self) -> String {
        let listed = self
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        let rows = if self.total == 1 { "row" } else { "rows" };
        let more = if self.total > self.errors.len() {
            format!(" (the first {} are listed)", self.errors.len())
        } else {
            String::new()
        };
        format!(
            "Nothing was imported: {} {rows} cannot be imported{more}. {listed}",
            self.total
        )
    }
}

/// A file that cannot be read at all (a 400): not UTF-8, broken quoting, a bad header, a
/// row with the wrong number of fields, JSON that does not parse. Names the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A row as read, before validation.
#[derive(Debug, Clone)]
pub struct Row {
    pub at: At,
    pub input: SubscriberInput,
    /// The channel the row names (CSV `mode`), which must be the one its fields make.
    pub mode: Option<String>,
    /// The row says the subscriber unsubscribed (CSV `state`): skipped, never re-subscribed.
    pub unsubscribed: bool,
    /// What was wrong with the row as read (a JSON element of the wrong shape).
    pub unreadable: Option<RowError>,
}

/// A row that will be written unless its address is on the page already.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub at: At,
    pub new: NewSubscriber,
    /// A webhook subscriber's signing secret (given by the caller before the write).
    pub secret: Option<String>,
}

impl Planned {
    /// The subscriber's address on the page (the store's `target`).
    pub fn target(&self) -> &str {
        let n = &self.new;
        match n.channel {
            Channel::Email => n.email.as_deref(),
            Channel::Sms => n.phone_number.as_deref(),
            _ => n.endpoint.as_deref(),
        }
        .unwrap_or("")
    }
}

/// Why a row was not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The same subscriber as an earlier row of the file.
    Duplicate(At),
    /// The file says this subscriber unsubscribed.
    UnsubscribedInFile,
    /// The page has this subscriber already (active, unconfirmed or quarantined).
    AlreadySubscribed,
    /// This address unsubscribed from the page: an import does not sign it up again.
    Unsubscribed,
}

impl SkipReason {
    /// The reason's name in answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Duplicate(_) => "duplicate_in_file",
            Self::UnsubscribedInFile => "unsubscribed_in_file",
            Self::AlreadySubscribed => "already_subscribed",
            Self::Unsubscribed => "unsubscribed",
        }
    }

    /// Every reason's name, in answer order.
    pub const NAMES: [&'static str; 4] = [
        "already_subscribed",
        "unsubscribed",
        "duplicate_in_file",
        "unsubscribed_in_file",
    ];
}

/// A row not written, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    pub at: At,
    pub reason: SkipReason,
}

/// The bad rows found so far: the first [`MAX_ERRORS`] by place, and the count.
#[derive(Debug, Clone, Default)]
struct Errors {
    first: Vec<RowError>,
    total: usize,
}

impl Errors {
    fn add(&mut self, e: RowError) {
        self.total += 1;
        self.first.push(e);
        if self.first.len() > 4 * MAX_ERRORS {
            self.trim();
        }
    }

    fn trim(&mut self) {
        self.first.sort_by_key(|e| e.at);
        self.first.truncate(MAX_ERRORS);
    }
}

/// What an import will do: the rows to write, the rows skipped, the bad rows.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub rows: Vec<Planned>,
    pub skipped: Vec<Skipped>,
    errors: Errors,
}

impl Plan {
    /// Records a bad row (the egress guard's refusals, the store's scope check).
    pub fn refuse(&mut self, at: At, field: &str, message: impl Into<String>) {
        self.errors.add(RowError {
            at,
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// Checks that every row's components and incident are on the page: `components` are the
    /// page's components (not groups), `incidents` its incidents among those rows name.
    pub fn check_scope(&mut self, components: &HashSet<String>, incidents: &HashSet<String>) {
        let mut bad = Vec::new();
        for p in &self.rows {
            if let Some(c) = p
                .new
                .component_ids
                .iter()
                .find(|c| !components.contains(*c))
            {
                bad.push((
                    p.at,
                    "components",
                    format!("no component {c:?} on this page"),
                ));
            }
            if let Some(i) = p
                .new
                .incident_id
                .as_ref()
                .filter(|i| !incidents.contains(*i))
            {
                bad.push((
                    p.at,
                    "incident_id",
                    format!("no incident {i:?} on this page"),
                ));
            }
        }
        for (at, field, message) in bad {
            let field = match (at, field) {
                (At::Index(_), "components") => "component_ids",
                _ => field,
            };
            self.refuse(at, field, message);
        }
    }

    /// The incidents the rows name (to look up).
    pub fn incident_ids(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .rows
            .iter()
            .filter_map(|p| p.new.incident_id.as_deref())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The refusal, if any row is bad.
    pub fn rejected(&self) -> Option<Rejected> {
        if self.errors.total == 0 {
            return None;
        }
        let mut e = self.errors.clone();
        e.trim();
        Some(Rejected {
            errors: e.first,
            total: e.total,
        })
    }
}

/// Names a domain rule's field after the file's column (CSV) or key (JSON).
fn column_of(at: At, domain_field: &str) -> String {
    let f = domain_field
        .strip_prefix("subscriber.")
        .unwrap_or(domain_field);
    match (at, f) {
        (_, "subscriber") => String::new(),
        (At::Line(_), "type") => "mode".to_owned(),
        (At::Line(_), "component_ids") => "components".to_owned(),
        _ => f.to_owned(),
    }
}

/// Validates every row. `skip_confirmation`: e-mail and SMS subscribers are active at once
/// and sent nothing; otherwise they wait for the confirmation the caller has sent.
pub fn plan(rows: Vec<Row>, skip_confirmation: bool) -> Plan {
    let mut out = Plan::default();
    let mut seen: HashMap<(Channel, String, Option<String>), At> = HashMap::new();
    for row in rows {
        if let Some(e) = row.unreadable {
            out.errors.add(e);
            continue;
        }
        let mut input = row.input;
        input.skip_confirmation_notification = Some(skip_confirmation);
        let new = match NewSubscriber::parse(&input, true) {
            Ok(n) => n,
            Err(inv) => {
                let field = column_of(row.at, &inv.field);
                let message = inv.message.replace("subscriber.", "");
                out.refuse(row.at, &field, message);
                continue;
            }
        };
        if let Some(mode) = row.mode.as_deref()
            && mode != new.channel.as_str()
        {
            out.refuse(
                row.at,
                "mode",
                format!(
                    "mode says {mode:?} but the row's fields make a {} subscriber",
                    new.channel.as_str()
                ),
            );
            continue;
        }
        if row.unsubscribed {
            out.skipped.push(Skipped {
                at: row.at,
                reason: SkipReason::UnsubscribedInFile,
            });
            continue;
        }
        let planned = Planned {
            at: row.at,
            new,
            secret: None,
        };
        let key = (
            planned.new.channel,
            planned.target().to_owned(),
            planned.new.incident_id.clone(),
        );
        match seen.get(&key) {
            Some(first) => out.skipped.push(Skipped {
                at: row.at,
                reason: SkipReason::Duplicate(*first),
            }),
            None => {
                seen.insert(key, row.at);
                out.rows.push(planned);
            }
        }
    }
    out
}

/// The columns of herald's subscriber CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Ignored,
    Mode,
    State,
    Email,
    Phone,
    Country,
    Endpoint,
    Components,
    Incident,
}

/// A header of the columns import reads (the export's header also imports).
pub const CSV_HEADER: &str = "email,phone_number,phone_country,endpoint,mode,components";

fn column(name: &str) -> Option<Column> {
    Some(match name {
        "id" | "created_at" => Column::Ignored,
        "mode" | "type" | "channel" => Column::Mode,
        "state" => Column::State,
        "email" => Column::Email,
        "phone_number" => Column::Phone,
        "phone_country" => Column::Country,
        "endpoint" => Column::Endpoint,
        "components" | "component_ids" => Column::Components,
        "incident_id" => Column::Incident,
        _ => return None,
    })
}

/// Takes off the `'` the export puts before a value that starts like a spreadsheet formula.
fn unescape(v: &str) -> &str {
    match v.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => v,
    }
}

/// Reads a CSV upload (UTF-8, an optional byte-order mark, a header row naming the
/// columns; RFC 4180 quoting; LF or CRLF line ends; blank lines ignored).
pub fn read_csv(bytes: &[u8]) -> Result<Vec<Row>, Malformed> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        Malformed(format!("line {line} is not UTF-8 text"))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Records::new(text);
    let (header_line, header) = loop {
        match records.next_record()? {
            None => {
                return Err(Malformed(format!(
                    "the file is empty: it needs a header row such as {CSV_HEADER}"
                )));
            }
            Some((_, r)) if r.len() == 1 && r[0].trim().is_empty() => {}
            Some(r) => break r,
        }
    };
    let mut columns = Vec::with_capacity(header.len());
    for name in &header {
        let name = name.trim().to_ascii_lowercase();
        let c = column(&name).ok_or_else(|| {
            Malformed(format!(
                "line {header_line}: unknown column {name:?}; the header names columns such as {CSV_HEADER}"
            ))
        })?;
        if c != Column::Ignored && columns.contains(&c) {
            return Err(Malformed(format!(
                "line {header_line}: column {name:?} is named twice"
            )));
        }
        columns.push(c);
    }
    if !columns
        .iter()
        .any(|c| matches!(c, Column::Email | Column::Phone | Column::Endpoint))
    {
        return Err(Malformed(format!(
            "line {header_line}: the header must name an email, phone_number or endpoint column, such as {CSV_HEADER}"
        )));
    }
    let mut rows = Vec::new();
    while let Some((line, fields)) = records.next_record()? {
        if fields.iter().all(|f| f.trim().is_empty()) && fields.len() <= columns.len() {
            continue;
        }
        if fields.len() != columns.len() {
            return Err(Malformed(format!(
                "line {line} has {} fields; the header has {}",
                fields.len(),
                columns.len()
            )));
        }
        rows.push(csv_row(At::Line(line), &columns, fields));
    }
    Ok(rows)
}

fn csv_row(at: At, columns: &[Column], fields: Vec<String>) -> Row {
    let mut input = SubscriberInput::default();
    let mut mode = None;
    let mut state = String::new();
    let mut unreadable = None;
    for (c, v) in columns.iter().zip(fields) {
        let v = unescape(v.trim()).trim();
        let some = || (!v.is_empty()).then(|| v.to_owned());
        match c {
            Column::Ignored => {}
            Column::Mode => mode = some().map(|m| m.to_ascii_lowercase()),
            Column::State => state = v.to_ascii_lowercase(),
            Column::Email => input.email = some(),
            Column::Phone => input.phone_number = some(),
            Column::Country => input.phone_country = some(),
            Column::Endpoint => input.endpoint = some(),
            Column::Components => {
                let ids: Vec<String> = v
                    .split(|ch: char| ch.is_whitespace() || ch == ',' || ch == ';')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                input.component_ids = (!ids.is_empty()).then_some(ids);
            }
            Column::Incident => input.incident_id = some(),
        }
    }
    if !matches!(
        state.as_str(),
        "" | "active" | "unconfirmed" | "quarantined" | "unsubscribed"
    ) {
        unreadable = Some(RowError {
            at,
            field: "state".to_owned(),
            message: format!(
                "state must be active, unconfirmed, quarantined or unsubscribed; got {state:?}"
            ),
        });
    }
    // The mode decides which fields count: an e-mail row's stray endpoint does not make it a
    // webhook, a webhook row keeps its e-mail (where failures are reported).
    match mode.as_deref() {
        Some("email") => {
            input.phone_number = None;
            input.endpoint = None;
            if input.email.is_none() {
                unreadable.get_or_insert(RowError {
                    at,
                    field: "email".to_owned(),
                    message: "an email subscriber needs an email address".to_owned(),
                });
            }
        }
        Some("sms") => {
            input.email = None;
            input.endpoint = None;
            if input.phone_number.is_none() {
                unreadable.get_or_insert(RowError {
                    at,
                    field: "phone_number".to_owned(),
                    message: "an sms subscriber needs a phone_number".to_owned(),
                });
            }
        }
        Some(m @ ("webhook" | "slack" | "teams" | "discord")) => {
            input.phone_number = None;
            input.kind = Some(m.to_owned());
            if input.endpoint.is_none() {
                unreadable.get_or_insert(RowError {
                    at,
                    field: "endpoint".to_owned(),
                    message: format!("a {m} subscriber needs an endpoint URL"),
                });
            }
        }
        Some(m) => {
            unreadable.get_or_insert(RowError {
                at,
                field: "mode".to_owned(),
                message: format!(
                    "mode must be one of email, sms, webhook, slack, teams, discord; got {m:?}"
                ),
            });
        }
        None => {}
    }
    Row {
        at,
        input,
        mode,
        unsubscribed: state == "unsubscribed",
        unreadable,
    }
}

/// RFC 4180 records with the line each starts on.
struct Records<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Records<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            line: 1,
        }
    }

    fn next_record(&mut self) -> Result<Option<(usize, Vec<String>)>, Malformed> {
        let bytes = self.text.as_bytes();
        if self.pos >= bytes.len() {
            return Ok(None);
        }
        let start_line = self.line;
        let mut fields = Vec::new();
        loop {
            // One field, starting at `self.pos`.
            let mut field = String::new();
            if bytes.get(self.pos) == Some(&b'"') {
                let opened = self.line;
                self.pos += 1;
                loop {
                    let rest = &self.text[self.pos..];
                    let Some(q) = rest.find('"') else {
                        return Err(Malformed(format!(
                            "line {opened}: a quoted field is never closed"
                        )));
                    };
                    let chunk = &rest[..q];
                    self.line += chunk.matches('\n').count();
                    field.push_str(chunk);
                    self.pos += q + 1;
                    if bytes.get(self.pos) == Some(&b'"') {
                        field.push('"');
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                match bytes.get(self.pos) {
                    None | Some(b',' | b'\n' | b'\r') => {}
                    Some(_) => {
                        return Err(Malformed(format!(
                            "line {}: text after a closing quote (a quote inside a quoted field is written twice: \"\")",
                            self.line
                        )));
                    }
                }
            } else {
                let rest = &self.text[self.pos..];
                let end = rest.find([',', '\n', '\r']).unwrap_or(rest.len());
                let raw = &rest[..end];
                if raw.contains('"') {
                    return Err(Malformed(format!(
                        "line {}: a field with a quote in it must be quoted (\"...\") and the quote written twice",
                        self.line
                    )));
                }
                field.push_str(raw);
                self.pos += end;
            }
            fields.push(field);
            match bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'\r') => {
                    self.pos += 1;
                    if bytes.get(self.pos) == Some(&b'\n') {
                        self.pos += 1;
                    }
                    self.line += 1;
                    return Ok(Some((start_line, fields)));
                }
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                    return Ok(Some((start_line, fields)));
                }
                _ => return Ok(Some((start_line, fields))),
            }
        }
    }
}

/// Why a JSON upload cannot be read: its syntax (a 400) or its shape (a 422 naming the
/// field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    Malformed(Malformed),
    Invalid(Invalid),
}

/// Reads a JSON upload: `{"subscribers": [{...}, ...], "skip_confirmation_notification":
/// bool}`, each element a subscriber as `POST /subscribers` takes it (without the
/// `subscriber` wrapper). Returns the rows and the flag (if given). An element of the wrong
/// shape is a bad row.
pub fn read_json(bytes: &[u8]) -> Result<(Vec<Row>, Option<bool>), Unreadable> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        Unreadable::Malformed(Malformed(format!(
            "Malformed JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        )))
    })?;
    let shape = |field: &str, message: &str| Unreadable::Invalid(Invalid::new(field, message));
    let Value::Object(mut body) = value else {
        return Err(shape(
            "subscribers",
            "the body must be a JSON object: {\"subscribers\": [{\"email\": \"...\"}, ...]}",
        ));
    };
    let skip = match body.remove("skip_confirmation_notification") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(b),
        Some(_) => {
            return Err(shape(
                "skip_confirmation_notification",
                "skip_confirmation_notification must be true or false",
            ));
        }
    };
    let Some(Value::Array(items)) = body.remove("subscribers") else {
        return Err(shape(
            "subscribers",
            "subscribers must be an array of subscribers: {\"subscribers\": [{\"email\": \"...\"}, ...]}",
        ));
    };
    let rows = items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let at = At::Index(i);
            match subscriber_of(v) {
                Ok(input) => Row {
                    at,
                    input,
                    mode: None,
                    unsubscribed: false,
                    unreadable: None,
                },
                Err((field, message)) => Row {
                    at,
                    input: SubscriberInput::default(),
                    mode: None,
                    unsubscribed: false,
                    unreadable: Some(RowError { at, field, message }),
                },
            }
        })
        .collect();
    Ok((rows, skip))
}

/// One JSON element as a subscriber, or the field that has the wrong type.
fn subscriber_of(v: Value) -> Result<SubscriberInput, (String, String)> {
    use serde::Deserialize;
    let Value::Object(map) = &v else {
        return Err((
            String::new(),
            "each subscriber must be an object such as {\"email\": \"...\"}".to_owned(),
        ));
    };
    SubscriberInput::deserialize(&v).map_err(|whole| {
        // Field by field, so the error names the one that is wrong.
        map.iter()
            .find_map(|(k, val)| {
                let probe = Value::Object(std::iter::once((k.clone(), val.clone())).collect());
                SubscriberInput::deserialize(&probe)
                    .err()
                    .map(|e| (k.clone(), format!("{k}: {e}")))
            })
            .unwrap_or_else(|| (String::new(), whole.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<Vec<Row>, Malformed> {
        read_csv(text.as_bytes())
    }

    #[test]
    fn the_export_format_reads_back() {
        let rows = csv(concat!(
            "\u{feff}id,mode,state,email,phone_number,endpoint,components,incident_id,created_at\r\n",
            "\"a1\",\"email\",\"active\",\"ops@example.com\",\"\",\"\",\"c1 c2\",\"\",\"2026-01-01\"\r\n",
            "\"a2\",\"sms\",\"unconfirmed\",\"\",\"'+15551234567\",\"\",\"\",\"\",\"x\"\r\n",
            "\"a3\",\"slack\",\"active\",\"\",\"\",\"https://hooks.slack.com/services/T/B/x\",\"\",\"\",\"x\"\r\n",
            "\"a4\",\"webhook\",\"unsubscribed\",\"w@example.com\",\"\",\"https://example.com/h?a=\"\"b\"\"\",\"\",\"\",\"x\"\r\n",
        ))
        .unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].at, At::Line(2));
        assert_eq!(
            rows[0].input.component_ids.as_deref().unwrap(),
            ["c1", "c2"]
        );
        assert_eq!(rows[1].input.phone_number.as_deref(), Some("+15551234567"));
        assert_eq!(rows[2].input.kind.as_deref(), Some("slack"));
        assert!(rows[3].unsubscribed);
        assert_eq!(
            rows[3].input.endpoint.as_deref(),
            Some("https://example.com/h?a=\"b\"")
        );
        let p = plan(rows, true);
        assert!(p.rejected().is_none(), "{:?}", p.rejected());
        assert_eq!(p.rows.len(), 3);
        assert_eq!(p.skipped[0].reason, SkipReason::UnsubscribedInFile);
        assert!(p.rows.iter().all(|r| r.new.confirmed));
    }

    #[test]
    fn every_bad_row_is_named_by_line_and_field() {
        let rows =
            csv("email,components\na@example.com,\nnot-an-email,\n\nb@example.com,\nalso bad,\n")
                .unwrap();
        let p = plan(rows, false);
        let r = p.rejected().unwrap();
        assert_eq!(r.total, 2);
        assert_eq!(
            (r.errors[0].at, r.errors[0].field.as_str()),
            (At::Line(3), "email")
        );
        assert_eq!(r.errors[1].at, At::Line(6), "a blank line still counts");
        assert!(
            r.message()
                .contains("line 3 (email): email must be an email address"),
            "{}",
            r.message()
        );
    }

    #[test]
    fn refusals_keep_the_first_rows_in_file_order() {
        let mut text = String::from("email\n");
        for _ in 0..100 {
            text.push_str("bad\n");
        }
        let mut p = plan(csv(&text).unwrap(), false);
        p.refuse(At::Line(1), "endpoint", "early");
        let r = p.rejected().unwrap();
        assert_eq!(r.total, 101);
        assert_eq!(r.errors.len(), MAX_ERRORS);
        assert_eq!(r.errors[0].at, At::Line(1));
        assert_eq!(r.errors[MAX_ERRORS - 1].at, At::Line(MAX_ERRORS));
    }

    #[test]
    fn malformed_files_name_the_line() {
        for (text, want) in [
            (
                "email\n\"a@example.com\n",
                "line 2: a quoted field is never closed",
            ),
            ("email\na@ex\"ample.com\n", "line 2: a field with a quote"),
            (
                "email,endpoint\na@example.com\n",
                "line 2 has 1 fields; the header has 2",
            ),
            ("email,mood\n", "line 1: unknown column \"mood\""),
            ("state\nactive\n", "line 1: the header must name"),
            ("", "the file is empty"),
            ("email\n\"a\"x\n", "line 2: text after a closing quote"),
        ] {
            let e = csv(text).unwrap_err();
            assert!(e.0.contains(want), "{text:?}: {e}");
        }
        let e = read_csv(b"email\na@example.com\n\xff\n").unwrap_err();
        assert_eq!(e.0, "line 3 is not UTF-8 text");
        let quoted = csv("email,components\n\"a@example.com\",\"x\ny\"\nb@example.com,\n").unwrap();
        assert_eq!(
            quoted[1].at,
            At::Line(4),
            "a newline inside quotes moves the line"
        );
    }

    #[test]
    fn duplicates_are_skipped_and_modes_checked() {
        let rows = csv("mode,email,phone_number,endpoint\nemail,A@example.com,,\n,a@example.com,,\nsms,,+44 20 7946 0958,\nfax,x@example.com,,\nwebhook,,,https://example.com/h\n")
            .unwrap();
        let p = plan(rows, true);
        assert_eq!(p.rows.len(), 2);
        assert_eq!(
            p.skipped,
            [Skipped {
                at: At::Line(3),
                reason: SkipReason::Duplicate(At::Line(2))
            }]
        );
        let r = p.rejected().unwrap();
        assert_eq!(
            r.errors
                .iter()
                .map(|e| (e.at, e.field.as_str()))
                .collect::<Vec<_>>(),
            [(At::Line(5), "mode"), (At::Line(6), "email")]
        );
    }

    #[test]
    fn json_rows_are_named_by_index() {
        let (rows, skip) = read_json(
            br#"{"subscribers": [{"email": "a@example.com"}, {"email": 5}, 7, {"endpoint": "https://hooks.slack.com/x", "type": "slack", "component_ids": ["c9"]}], "skip_confirmation_notification": true}"#,
        )
        .unwrap();
        assert_eq!(skip, Some(true));
        let mut p = plan(rows, true);
        p.check_scope(&HashSet::new(), &HashSet::new());
        let r = p.rejected().unwrap();
        assert_eq!(
            r.errors
                .iter()
                .map(|e| (e.at, e.field.as_str()))
                .collect::<Vec<_>>(),
            [
                (At::Index(1), "email"),
                (At::Index(2), ""),
                (At::Index(3), "component_ids")
            ]
        );
        assert!(matches!(
            read_json(b"{\"subscribers\": "),
            Err(Unreadable::Malformed(Malformed(m))) if m.starts_with("Malformed JSON at line 1")
        ));
        assert!(matches!(read_json(b"[]"), Err(Unreadable::Invalid(_))));
        assert!(matches!(
            read_json(b"{\"subscribers\": {}}"),
            Err(Unreadable::Invalid(i)) if i.field == "subscribers"
        ));
    }
}

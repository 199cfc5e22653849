//! The migration lint: a statement that an older release could trip on (it drops, renames,
//! tightens or retypes something, or deletes rows) is allowed only in a migration annotated
//! `-- herald: contract`. Its test reads every file of both backends, so a destructive
//! expand migration fails the build.

/// The destructive statements of `sql` (the file without its annotation), each described.
pub fn destructive(sql: &str) -> Vec<String> {
    let mut found = Vec::new();
    for statement in statements(sql) {
        let words: Vec<&str> = statement.split_whitespace().collect();
        let has = |seq: &[&str]| words.windows(seq.len()).any(|w| w == seq);
        let mut why = Vec::new();
        for (i, w) in words.iter().enumerate() {
            // `ALTER COLUMN c DROP NOT NULL` relaxes a rule: older code is unaffected.
            if *w == "DROP" && words.get(i + 1..i + 3) != Some(&["NOT", "NULL"][..]) {
                why.push("drops something");
            }
        }
        if words.contains(&"RENAME") {
            why.push("renames something");
        }
        if words.first() == Some(&"TRUNCATE") || has(&["DELETE", "FROM"]) {
            why.push("deletes rows");
        }
        if has(&["SET", "NOT", "NULL"]) {
            why.push("makes a column NOT NULL");
        }
        if has(&["ALTER", "COLUMN"]) && (words.contains(&"TYPE") || has(&["SET", "DATA"])) {
            why.push("changes a column's type");
        }
        if has(&["ADD", "CONSTRAINT"]) {
            why.push("adds a constraint older code may violate");
        }
        if has(&["ADD", "COLUMN"]) && has(&["NOT", "NULL"]) && !words.contains(&"DEFAULT") {
            why.push("adds a NOT NULL column without a default (older code's inserts fail)");
        }
        why.dedup();
        for w in why {
            found.push(format!("{w}: {}", clip(&statement)));
        }
    }
    found
}

/// The statements of `sql`, comments removed, upper-cased, whitespace collapsed, with
/// string literals blanked (a word inside a string is not a statement).
fn statements(sql: &str) -> Vec<String> {
    let mut clean = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                clean.push(' ');
            }
            '\'' => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                }
                clean.push_str("''");
            }
            c => clean.extend(c.to_uppercase()),
        }
    }
    clean
        .split(';')
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|s| {
            s.replace('(', " ( ")
                .replace(')', " ) ")
                .replace(',', " , ")
        })
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .collect()
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::destructive;
    use crate::migrations::{Kind, MIGRATIONS, annotated};

    #[test]
    fn every_migration_file_on_both_backends_is_annotated_and_expand_ones_are_not_destructive() {
        for (version, name, sqlite, pg) in MIGRATIONS {
            let mut kinds = Vec::new();
            for (backend, sql) in [("sqlite", sqlite), ("postgres", pg)] {
                let (kind, body) = annotated(sql).unwrap_or_else(|| {
                    panic!(
                        "migrations/{backend}/{version:04}_{name}.sql: the first line must be \
                         `-- herald: expand` or `-- herald: contract`"
                    )
                });
                if kind == Kind::Expand {
                    let found = destructive(body);
                    assert!(
                        found.is_empty(),
                        "migrations/{backend}/{version:04}_{name}.sql is marked expand but: {}",
                        found.join("; ")
                    );
                }
                kinds.push(kind);
            }
            assert_eq!(
                kinds[0], kinds[1],
                "{version:04}_{name}: the backends disagree"
            );
        }
    }

    #[test]
    fn destructive_statements_are_found_on_either_dialect() {
        for bad in [
            "DROP TABLE jobs;",
            "drop index if exists jobs_due;",
            "ALTER TABLE workers DROP COLUMN hostname;",
            "ALTER TABLE pages RENAME COLUMN name TO title;",
            "ALTER TABLE pages RENAME TO sites;",
            "ALTER TABLE pages ALTER COLUMN name SET NOT NULL;",
            "ALTER TABLE pages ALTER COLUMN name TYPE BIGINT;",
            "ALTER TABLE pages ALTER COLUMN name SET DATA TYPE BIGINT;",
            "ALTER TABLE pages ALTER COLUMN name DROP DEFAULT;",
            "ALTER TABLE pages ADD COLUMN owner TEXT NOT NULL;",
            "ALTER TABLE pages ADD CONSTRAINT name_len CHECK (length(name) < 10);",
            "DELETE FROM audit_log;",
            "TRUNCATE jobs;",
            "CREATE TABLE x (a TEXT);\n-- a comment\nDROP TABLE y;",
        ] {
            assert!(!destructive(bad).is_empty(), "not flagged: {bad}");
        }
    }

    #[test]
    fn additive_statements_pass() {
        for good in [
            "CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT NOT NULL);",
            "CREATE INDEX t_n ON t (n);",
            "ALTER TABLE workers ADD COLUMN release TEXT;",
            "ALTER TABLE subscribers ADD COLUMN team BOOLEAN NOT NULL DEFAULT FALSE;",
            "ALTER TABLE pages ALTER COLUMN name DROP NOT NULL;",
            "UPDATE subscribers SET team = TRUE WHERE id IN (SELECT target FROM audit_log);",
            "INSERT INTO t (id, n) VALUES ('DROP TABLE x; RENAME', 1);",
            "-- we never DROP anything here\nCREATE TABLE u (a TEXT);",
        ] {
            assert_eq!(destructive(good), Vec::<String>::new(), "{good}");
        }
    }
}

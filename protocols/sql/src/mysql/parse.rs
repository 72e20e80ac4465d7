//! Reading MySQL text: versioned comments, `?` parameters, MySQL's
//! wording of syntax errors, and the names MySQL gives result columns.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use sqlparser::ast::{self, Expr, Spanned, Statement, Visit, VisitMut, Visitor, VisitorMut};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Location;

use crate::error::{ErrorCode, SqlError, SqlResult};

/// Parses a MySQL query string. `?` parameters become `$1..$n` in the
/// order they appear, so the planner types them as it types PostgreSQL's.
pub(crate) fn parse(sql: &str) -> SqlResult<Vec<Statement>> {
    if let Some(select) = count_of_diagnostics(sql) {
        return Parser::parse_sql(&MySqlDialect {}, select).map_err(|e| syntax_error(&e.to_string(), select));
    }
    let text = names_as_variables(&unwrap_versioned_comments(sql));
    let mut stmts = Parser::parse_sql(&MySqlDialect {}, &text).map_err(|e| syntax_error(&e.to_string(), &text))?;
    for s in &mut stmts {
        number_placeholders(s);
    }
    Ok(stmts)
}

/// `SHOW COUNT(*) WARNINGS` (or ERRORS), which sqlparser cannot read, as
/// the SELECT MySQL documents it to be.
fn count_of_diagnostics(sql: &str) -> Option<&'static str> {
    // Looks at four words at most: this runs on every query, big INSERTs too.
    let mut words = sql.trim().trim_end_matches(';').split_whitespace();
    let mut next_is = |w: &str| words.next().is_some_and(|x| x.eq_ignore_ascii_case(w));
    if !(next_is("SHOW") && next_is("COUNT(*)")) {
        return None;
    }
    let answer = match words.next() {
        Some(w) if w.eq_ignore_ascii_case("WARNINGS") => "SELECT @@session.warning_count",
        Some(w) if w.eq_ignore_ascii_case("ERRORS") => "SELECT @@session.error_count",
        _ => return None,
    };
    words.next().is_none().then_some(answer)
}

/// The version `/*!NNNNN ... */` bodies are run up to: MySQL 8.0.36's.
const MYSQL_VERSION_ID: u32 = 80036;
/// MariaDB's `/*M!NNNNNN ... */` bodies are run up to 10.11.0: this server
/// answers what dumps of MariaDB 10.11 put there.
const MARIADB_VERSION_ID: u32 = 101100;

/// MySQL runs the body of `/*!NNNNN ... */` (and `/*! ... */`) as SQL when
/// its version is at least NNNNN, and MariaDB also `/*M!NNNNNN ... */`;
/// dumps wrap session settings in them. Bodies for later versions stay
/// comments (`/*M!999999\- enable the sandbox mode */` is for the client).
fn unwrap_versioned_comments(sql: &str) -> String {
    if !sql.contains("/*!") && !sql.contains("/*M!") {
        return sql.to_string();
    }
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    let mut open = false;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == b'\\' && i + 1 < b.len() {
                out.push_str(&sql[i..i + 2]);
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
        } else if matches!(c, b'\'' | b'"' | b'`') {
            quote = Some(c);
        } else if !open && (sql[i..].starts_with("/*!") || sql[i..].starts_with("/*M!")) {
            let mariadb = sql[i..].starts_with("/*M!");
            let digits_at = i + if mariadb { 4 } else { 3 };
            let digits = sql[digits_at..].bytes().take_while(u8::is_ascii_digit).count();
            let version: u32 = sql[digits_at..digits_at + digits].parse().unwrap_or(0);
            let limit = if mariadb { MARIADB_VERSION_ID } else { MYSQL_VERSION_ID };
            if version <= limit {
                i = digits_at + digits;
                out.push(' ');
                open = true;
                continue;
            }
            // A body for a later version: the whole comment stays.
            let end = sql[i..].find("*/").map_or(sql.len(), |e| i + e + 2);
            out.push_str(&sql[i..end]);
            i = end;
            continue;
        } else if open && sql[i..].starts_with("*/") {
            i += 2;
            out.push(' ');
            open = false;
            continue;
        }
        let ch_len = sql[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&sql[i..i + ch_len]);
        i += ch_len;
    }
    out
}

/// The table of `ALTER TABLE t DISABLE KEYS` / `ENABLE KEYS`, which dumps
/// wrap around their INSERTs. InnoDB ignores both (they matter to MyISAM),
/// and so does this server; sqlparser does not read them.
pub(crate) fn keys_toggle(sql: &str) -> Option<String> {
    let text = unwrap_versioned_comments(sql);
    let words: Vec<&str> = text.trim().trim_end_matches(';').split_whitespace().collect();
    match words.as_slice() {
        [alter, table, name, toggle, keys]
            if alter.eq_ignore_ascii_case("alter")
                && table.eq_ignore_ascii_case("table")
                && (toggle.eq_ignore_ascii_case("disable") || toggle.eq_ignore_ascii_case("enable"))
                && keys.eq_ignore_ascii_case("keys") =>
        {
            Some((*name).to_string())
        }
        _ => None,
    }
}

/// `SET a = 1, NAMES x COLLATE y` (as sqlx sends it on connect): NAMES
/// after the first item is written out as the variables it sets, which
/// sqlparser reads.
fn names_as_variables(sql: &str) -> String {
    static NAMES: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let trimmed = sql.trim_start();
    if trimmed.len() < 4 || !trimmed[..4].eq_ignore_ascii_case("set ") {
        return sql.to_string();
    }
    let Some(re) = NAMES
        .get_or_init(|| regex::Regex::new(r"(?i),\s*NAMES\s+('?[\w]+'?)(?:\s+COLLATE\s+('?[\w]+'?))?").ok())
        .as_ref()
    else {
        return sql.to_string();
    };
    re.replace_all(sql, |c: &regex::Captures<'_>| {
        let charset = c[1].trim_matches('\'');
        let mut out = format!(
            ", character_set_client = '{charset}', character_set_connection = '{charset}', \
             character_set_results = '{charset}'"
        );
        if let Some(collation) = c.get(2) {
            out.push_str(&format!(", collation_connection = '{}'", collation.as_str().trim_matches('\'')));
        }
        out
    })
    .into_owned()
}

/// MySQL's 1064 message: the text from where parsing stopped.
fn syntax_error(msg: &str, sql: &str) -> SqlError {
    let at = msg.rsplit_once(" at Line: ").and_then(|(_, rest)| {
        let (line, col) = rest.split_once(", Column: ")?;
        Some((line.trim().parse::<usize>().ok()?, col.trim().parse::<usize>().ok()?))
    });
    let (line, near) = match at {
        Some((line, col)) => {
            let text = sql.split('\n').nth(line.saturating_sub(1)).unwrap_or("");
            let start: String = text.chars().skip(col.saturating_sub(1)).collect();
            let rest: Vec<&str> = sql.split('\n').skip(line).collect();
            let mut near = start;
            if !rest.is_empty() {
                near.push('\n');
                near.push_str(&rest.join("\n"));
            }
            (line, near)
        }
        None => (1, String::new()),
    };
    syntax_error_near(&near, line)
}

/// MySQL's 1064 message, quoting up to 80 characters from where the text
/// stopped making sense.
pub(crate) fn syntax_error_near(near: &str, line: usize) -> SqlError {
    let near: String = near.chars().take(80).collect();
    SqlError::new(
        ErrorCode::Syntax,
        format!(
            "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version \
             for the right syntax to use near '{near}' at line {line}"
        ),
    )
}

/// Renames `?` parameters to `$1..$n` by their place in the text.
fn number_placeholders(stmt: &mut Statement) {
    struct Find(Vec<Location>);
    impl Visitor for Find {
        type Break = ();
        fn pre_visit_value(&mut self, v: &ast::ValueWithSpan) -> ControlFlow<()> {
            if matches!(&v.value, ast::Value::Placeholder(p) if p == "?") {
                self.0.push(v.span.start);
            }
            ControlFlow::Continue(())
        }
    }
    struct Number(BTreeMap<(u64, u64), usize>, usize);
    impl VisitorMut for Number {
        type Break = ();
        fn pre_visit_value(&mut self, v: &mut ast::ValueWithSpan) -> ControlFlow<()> {
            if matches!(&v.value, ast::Value::Placeholder(p) if p == "?") {
                // Spans order parameters as written; a value without one
                // takes the next number left.
                let n = self.0.get(&(v.span.start.line, v.span.start.column)).copied().unwrap_or_else(|| {
                    self.1 += 1;
                    self.1
                });
                v.value = ast::Value::Placeholder(format!("${n}"));
            }
            ControlFlow::Continue(())
        }
    }
    let mut find = Find(Vec::new());
    let _ = Visit::visit(&*stmt, &mut find);
    let mut at = find.0;
    at.sort_by_key(|l| (l.line, l.column));
    let numbered: BTreeMap<(u64, u64), usize> =
        at.iter().enumerate().map(|(i, l)| ((l.line, l.column), i + 1)).collect();
    let count = numbered.len();
    let _ = VisitMut::visit(stmt, &mut Number(numbered, count));
}

/// The name MySQL gives an unaliased result column: a column's own name,
/// or else the expression as written in `sql`.
pub(crate) fn column_name(e: &Expr, sql: &str) -> String {
    match e {
        Expr::Identifier(i) => i.value.clone(),
        Expr::CompoundIdentifier(parts) if !parts.first().is_some_and(|p| p.value.starts_with('@')) => {
            parts.last().map(|p| p.value.clone()).unwrap_or_default()
        }
        other => source_text(other, sql).unwrap_or_else(|| other.to_string()),
    }
}

/// The text an expression was parsed from, by its span.
fn source_text(e: &Expr, sql: &str) -> Option<String> {
    let span = e.span();
    let offset = |l: Location| -> Option<usize> {
        let line_start: usize =
            sql.split('\n').take(usize::try_from(l.line).ok()?.checked_sub(1)?).map(|x| x.len() + 1).sum();
        let line = sql.get(line_start..)?;
        let col = usize::try_from(l.column).ok()?.checked_sub(1)?;
        Some(line_start + line.char_indices().nth(col).map_or(line.len(), |(i, _)| i))
    };
    let (mut start, mut end) = (offset(span.start)?, offset(span.end)?);
    // Spans leave out some parentheses: a call's span stops at its last
    // argument (or its name, for `COUNT(*)`), a parenthesised operand's
    // starts inside. Widen until they balance.
    if matches!(e, Expr::Function(_)) && sql.get(end..)?.trim_start().starts_with('(') {
        end += sql.get(end..)?.find('(')? + 1;
    }
    let balance = |t: &str| t.matches('(').count() as i64 - t.matches(')').count() as i64;
    loop {
        match balance(sql.get(start..end)?) {
            0 => break,
            n if n > 0 => end += sql.get(end..)?.find(')')? + 1,
            _ => start = sql.get(..start)?.rfind('(')?,
        }
    }
    let text = sql.get(start..end)?.trim();
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_comments_run_their_body() {
        assert_eq!(unwrap_versioned_comments("/*!40101 SET NAMES utf8 */;").trim(), "SET NAMES utf8  ;");
        assert_eq!(unwrap_versioned_comments("SELECT '/*!1 x */'"), "SELECT '/*!1 x */'");
        assert_eq!(unwrap_versioned_comments("/*M!100100 SET x=1 */").trim(), "SET x=1");
        let sandbox = "/*M!999999\\- enable the sandbox mode */";
        assert_eq!(unwrap_versioned_comments(sandbox), sandbox, "later versions stay comments");
    }

    #[test]
    fn names_in_a_list_of_assignments_become_variables() {
        let s = parse("SET sql_mode=(SELECT CONCAT(@@sql_mode, ',X')),time_zone='+00:00',NAMES utf8mb4 COLLATE utf8mb4_unicode_ci;")
            .expect("parses");
        let text = s[0].to_string();
        assert!(text.contains("character_set_results = 'utf8mb4'"), "{text}");
        assert!(text.contains("collation_connection = 'utf8mb4_unicode_ci'"), "{text}");
    }

    #[test]
    fn parameters_are_numbered_in_text_order() {
        let s = parse("SELECT * FROM t WHERE a = ? AND b IN (?, ?) LIMIT ?").expect("parses");
        assert_eq!(s[0].to_string(), "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3) LIMIT $4");
        let s = parse("INSERT INTO t (a, b) VALUES (?, ?)").expect("parses");
        assert!(s[0].to_string().ends_with("VALUES ($1, $2)"));
    }

    #[test]
    fn syntax_errors_quote_the_rest_of_the_statement() {
        let e = parse("SELEC 1").expect_err("fails");
        assert!(e.message.contains("near 'SELEC 1' at line 1"), "{}", e.message);
        let e = parse("SELECT * FROM t WHERE").expect_err("fails");
        assert!(e.message.starts_with("You have an error in your SQL syntax"), "{}", e.message);
    }
}

//! COPY ... FROM STDIN and COPY ... TO STDOUT, in PostgreSQL's text and CSV
//! formats.
//!
//! COPY has its own small grammar (and options such as `FREEZE on` that
//! sqlparser does not take), so it is parsed here from sqlparser's tokens.
//! Incoming data is parsed as it arrives; every row is written in one
//! transaction at the end, so a bad row fails the COPY, names its line,
//! and commits nothing.

use orbit_storage::{DataType, Value};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::{ErrorCode, SqlError, SqlResult};

/// The data format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    /// Tab-separated, backslash escapes, `\N` for NULL.
    Text,
    /// Comma-separated values with quoting.
    Csv,
}

/// COPY's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CopyOptions {
    pub format: CopyFormat,
    pub delimiter: char,
    pub null: String,
    pub header: bool,
    pub quote: char,
    pub escape: char,
}

impl CopyOptions {
    fn new(format: CopyFormat) -> Self {
        match format {
            CopyFormat::Text => {
                CopyOptions { format, delimiter: '\t', null: "\\N".into(), header: false, quote: '"', escape: '"' }
            }
            CopyFormat::Csv => {
                CopyOptions { format, delimiter: ',', null: String::new(), header: false, quote: '"', escape: '"' }
            }
        }
    }
}

/// What COPY reads or writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CopySource {
    /// A table (name parts as written) and optional column list.
    Table { name: Vec<String>, columns: Vec<String> },
    /// `COPY (query) TO STDOUT`.
    Query(String),
}

/// A parsed COPY statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CopyStmt {
    pub source: CopySource,
    /// FROM STDIN (true) or TO STDOUT (false).
    pub from: bool,
    pub options: CopyOptions,
}

/// Whether `sql` is a COPY statement (one statement, COPY first).
pub(crate) fn is_copy(sql: &str) -> bool {
    sql.trim_start().get(..5).is_some_and(|w| w.eq_ignore_ascii_case("copy ") || w.eq_ignore_ascii_case("copy\t"))
}

fn word(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) => Some(if w.quote_style.is_some() { w.value.clone() } else { w.value.to_lowercase() }),
        _ => None,
    }
}

fn syntax(near: &Token) -> SqlError {
    SqlError::syntax(format!("syntax error at or near \"{near}\""))
}

fn single_char(v: &str, what: &str) -> SqlResult<char> {
    let mut chars = v.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => {
            Err(SqlError::new(ErrorCode::InvalidParameter, format!("COPY {what} must be a single one-byte character")))
        }
    }
}

/// Parses a COPY statement.
pub(crate) fn parse(sql: &str) -> SqlResult<CopyStmt> {
    let tokens: Vec<Token> = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .map_err(|e| SqlError::syntax(e.to_string()))?
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_) | Token::SemiColon))
        .collect();
    let mut i = 1; // past COPY
    let at = |i: usize| tokens.get(i).cloned().unwrap_or(Token::EOF);
    let source = if at(i) == Token::LParen {
        // `(query)`: the text between the outer parentheses.
        let start = sql.find('(').ok_or_else(|| syntax(&at(i)))?;
        let mut depth = 0;
        let mut end = None;
        for (k, c) in sql[start..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(start + k);
                        break;
                    }
                }
                _ => {}
            }
        }
        let end = end.ok_or_else(|| SqlError::syntax("syntax error at end of input"))?;
        let query = sql[start + 1..end].to_string();
        // Skip the query's tokens.
        let mut d = 0;
        loop {
            match at(i) {
                Token::LParen => d += 1,
                Token::RParen => {
                    d -= 1;
                    if d == 0 {
                        i += 1;
                        break;
                    }
                }
                Token::EOF => return Err(SqlError::syntax("syntax error at end of input")),
                _ => {}
            }
            i += 1;
        }
        CopySource::Query(query)
    } else {
        let mut name = vec![word(&at(i)).ok_or_else(|| syntax(&at(i)))?];
        i += 1;
        while at(i) == Token::Period {
            name.push(word(&at(i + 1)).ok_or_else(|| syntax(&at(i + 1)))?);
            i += 2;
        }
        let mut columns = Vec::new();
        if at(i) == Token::LParen {
            i += 1;
            loop {
                columns.push(word(&at(i)).ok_or_else(|| syntax(&at(i)))?);
                i += 1;
                match at(i) {
                    Token::Comma => i += 1,
                    Token::RParen => {
                        i += 1;
                        break;
                    }
                    t => return Err(syntax(&t)),
                }
            }
        }
        CopySource::Table { name, columns }
    };
    let from = match word(&at(i)).as_deref() {
        Some("from") => true,
        Some("to") => false,
        _ => return Err(syntax(&at(i))),
    };
    i += 1;
    match word(&at(i)).as_deref() {
        Some("stdin") if from => {}
        Some("stdout") if !from => {}
        _ => {
            return Err(SqlError::unsupported(
                "COPY to or from a file on the server; use STDIN or STDOUT (psql's \\copy)",
            ));
        }
    }
    i += 1;
    if from && matches!(source, CopySource::Query(_)) {
        return Err(SqlError::syntax("COPY FROM cannot read into a query"));
    }
    // Options: `[WITH] (name value, ...)` or the old `[WITH] CSV HEADER ...`.
    let mut pairs: Vec<(String, Option<String>)> = Vec::new();
    if word(&at(i)).as_deref() == Some("with") {
        i += 1;
    }
    if at(i) == Token::LParen {
        i += 1;
        loop {
            let name = word(&at(i)).ok_or_else(|| syntax(&at(i)))?;
            i += 1;
            let value = match at(i) {
                Token::Comma | Token::RParen => None,
                Token::SingleQuotedString(s) | Token::EscapedStringLiteral(s) => {
                    i += 1;
                    Some(s)
                }
                Token::Word(w) => {
                    i += 1;
                    Some(w.value.to_lowercase())
                }
                Token::Number(n, _) => {
                    i += 1;
                    Some(n)
                }
                t => return Err(syntax(&t)),
            };
            pairs.push((name, value));
            match at(i) {
                Token::Comma => i += 1,
                Token::RParen => {
                    i += 1;
                    break;
                }
                t => return Err(syntax(&t)),
            }
        }
    } else {
        while let Some(w) = word(&at(i)) {
            i += 1;
            match w.as_str() {
                "csv" => pairs.push(("format".into(), Some("csv".into()))),
                "binary" => pairs.push(("format".into(), Some("binary".into()))),
                "header" => pairs.push(("header".into(), None)),
                "delimiter" | "null" | "quote" | "escape" => {
                    let v = match at(i) {
                        Token::SingleQuotedString(s) | Token::EscapedStringLiteral(s) => s,
                        t => return Err(syntax(&t)),
                    };
                    i += 1;
                    pairs.push((w, Some(v)));
                }
                "as" => {}
                _ => return Err(syntax(&Token::make_word(&w, None))),
            }
        }
    }
    if at(i) != Token::EOF {
        return Err(syntax(&at(i)));
    }
    let format = match pairs.iter().find(|(n, _)| n == "format").and_then(|(_, v)| v.as_deref()) {
        None | Some("text") => CopyFormat::Text,
        Some("csv") => CopyFormat::Csv,
        Some("binary") => return Err(SqlError::unsupported("COPY in binary format")),
        Some(other) => {
            return Err(SqlError::new(ErrorCode::InvalidParameter, format!("COPY format \"{other}\" not recognized")));
        }
    };
    let mut options = CopyOptions::new(format);
    let truth = |v: &Option<String>| !matches!(v.as_deref(), Some("false" | "off" | "0"));
    for (name, value) in &pairs {
        match name.as_str() {
            "format" => {}
            "header" => options.header = truth(value),
            "delimiter" => options.delimiter = single_char(value.as_deref().unwrap_or(""), "delimiter")?,
            "null" => options.null = value.clone().unwrap_or_default(),
            "quote" if format == CopyFormat::Csv => {
                options.quote = single_char(value.as_deref().unwrap_or(""), "quote")?
            }
            "escape" if format == CopyFormat::Csv => {
                options.escape = single_char(value.as_deref().unwrap_or(""), "escape")?
            }
            "quote" | "escape" => {
                return Err(SqlError::new(
                    ErrorCode::InvalidParameter,
                    format!("COPY {name} available only in CSV mode"),
                ));
            }
            // Accepted and without effect here.
            "freeze" | "encoding" => {}
            other => {
                return Err(SqlError::new(ErrorCode::InvalidParameter, format!("option \"{other}\" not recognized")));
            }
        }
    }
    if options.header && format == CopyFormat::Text && from {
        return Err(SqlError::unsupported("HEADER in text format for COPY FROM"));
    }
    Ok(CopyStmt { source, from, options })
}

/// A record's line number and fields (`None` for NULL).
pub(crate) type Record = (u64, Vec<Option<String>>);

/// Splits incoming COPY data into records and fields.
#[derive(Debug)]
pub(crate) struct RecordReader {
    options: CopyOptions,
    buf: Vec<u8>,
    /// Lines consumed so far (for error messages).
    pub line: u64,
    header_pending: bool,
    done: bool,
}

impl RecordReader {
    pub(crate) fn new(options: CopyOptions) -> Self {
        let header_pending = options.header;
        RecordReader { options, buf: Vec::new(), line: 0, header_pending, done: false }
    }

    /// Adds data and returns the complete records in it, each with its
    /// line number; fields are `None` for NULL.
    pub(crate) fn push(&mut self, data: &[u8]) -> SqlResult<Vec<Record>> {
        self.buf.extend_from_slice(data);
        self.records(false)
    }

    /// The records left at the end of the data.
    pub(crate) fn finish(&mut self) -> SqlResult<Vec<Record>> {
        self.records(true)
    }

    fn records(&mut self, end: bool) -> SqlResult<Vec<Record>> {
        let mut out = Vec::new();
        let mut start = 0;
        loop {
            if self.done {
                self.buf.clear();
                return Ok(out);
            }
            let Some(end_of_record) = self.record_end(start, end) else { break };
            let raw = &self.buf[start..end_of_record];
            let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            start = end_of_record;
            self.line += 1;
            let text = std::str::from_utf8(raw).map_err(|_| {
                SqlError::new(ErrorCode::InvalidTextRepresentation, "invalid byte sequence for encoding \"UTF8\"")
            })?;
            if self.options.format == CopyFormat::Text && text == "\\." {
                self.done = true;
                continue;
            }
            if self.header_pending {
                self.header_pending = false;
                continue;
            }
            if text.is_empty() && end && start >= self.buf.len() {
                continue;
            }
            let fields = match self.options.format {
                CopyFormat::Text => split_text(text, &self.options)?,
                CopyFormat::Csv => split_csv(text, &self.options)?,
            };
            out.push((self.line, fields));
        }
        self.buf.drain(..start);
        Ok(out)
    }

    /// Where the record starting at `start` ends (past its newline), if the
    /// buffer holds all of it.
    fn record_end(&self, start: usize, end: bool) -> Option<usize> {
        let rest = &self.buf[start..];
        if rest.is_empty() {
            return None;
        }
        let found = match self.options.format {
            CopyFormat::Text => rest.iter().position(|&b| b == b'\n'),
            CopyFormat::Csv => {
                // A newline inside quotes is data.
                let quote = self.options.quote as u8;
                let mut in_quotes = false;
                let mut pos = None;
                for (k, &b) in rest.iter().enumerate() {
                    if b == quote {
                        in_quotes = !in_quotes;
                    } else if b == b'\n' && !in_quotes {
                        pos = Some(k);
                        break;
                    }
                }
                pos
            }
        };
        match found {
            Some(k) => Some(start + k + 1),
            None if end => Some(self.buf.len()),
            None => None,
        }
    }
}

fn split_text(line: &str, o: &CopyOptions) -> SqlResult<Vec<Option<String>>> {
    let mut fields = Vec::new();
    for raw in line.split(o.delimiter) {
        if raw == o.null {
            fields.push(None);
            continue;
        }
        let mut s = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                s.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => s.push('\n'),
                Some('t') => s.push('\t'),
                Some('r') => s.push('\r'),
                Some('b') => s.push('\u{8}'),
                Some('f') => s.push('\u{c}'),
                Some('v') => s.push('\u{b}'),
                Some(other) => s.push(other),
                None => s.push('\\'),
            }
        }
        fields.push(Some(s));
    }
    Ok(fields)
}

fn split_csv(line: &str, o: &CopyOptions) -> SqlResult<Vec<Option<String>>> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            // With escape = quote, `""` inside quotes is one quote and a
            // lone `"` ends them.
            if c == o.escape && chars.peek() == Some(&o.quote) {
                chars.next();
                cur.push(o.quote);
            } else if c == o.quote {
                quoted = false;
            } else {
                cur.push(c);
            }
        } else if c == o.quote {
            quoted = true;
            was_quoted = true;
        } else if c == o.delimiter {
            fields.push(csv_field(std::mem::take(&mut cur), was_quoted, o));
            was_quoted = false;
        } else {
            cur.push(c);
        }
    }
    if quoted {
        return Err(SqlError::new(ErrorCode::BadCopyFormat, "unterminated CSV quoted field"));
    }
    fields.push(csv_field(cur, was_quoted, o));
    Ok(fields)
}

fn csv_field(s: String, quoted: bool, o: &CopyOptions) -> Option<String> {
    // An unquoted field equal to the NULL string is NULL; a quoted one is
    // the text.
    if !quoted && s == o.null { None } else { Some(s) }
}

/// One row in COPY's output format, with its newline.
pub(crate) fn format_row(row: &[Value], types: &[DataType], o: &CopyOptions) -> String {
    let mut out = String::new();
    for (i, (v, ty)) in row.iter().zip(types).enumerate() {
        if i > 0 {
            out.push(o.delimiter);
        }
        match crate::format::to_text(v, ty) {
            None => out.push_str(&o.null),
            Some(text) => match o.format {
                CopyFormat::Text => {
                    for c in text.chars() {
                        match c {
                            '\\' => out.push_str("\\\\"),
                            '\n' => out.push_str("\\n"),
                            '\r' => out.push_str("\\r"),
                            '\t' => out.push_str("\\t"),
                            c if c == o.delimiter => {
                                out.push('\\');
                                out.push(c);
                            }
                            c => out.push(c),
                        }
                    }
                }
                CopyFormat::Csv => {
                    let needs = text.is_empty()
                        || text == o.null
                        || text.contains([o.delimiter, o.quote, '\n', '\r'])
                        || text.starts_with(' ')
                        || text.ends_with(' ');
                    if needs {
                        out.push(o.quote);
                        for c in text.chars() {
                            if c == o.quote || c == o.escape {
                                out.push(o.escape);
                            }
                            out.push(c);
                        }
                        out.push(o.quote);
                    } else {
                        out.push_str(&text);
                    }
                }
            },
        }
    }
    out.push('\n');
    out
}

/// The header line of CSV output.
pub(crate) fn header(names: &[String], o: &CopyOptions) -> String {
    let mut s = names.join(&o.delimiter.to_string());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pgbench_and_psql_forms() {
        let c = parse("copy pgbench_accounts from stdin with (freeze on)").unwrap_or_else(|e| panic!("{e}"));
        assert!(c.from);
        assert_eq!(c.options.format, CopyFormat::Text);
        let c = parse("COPY t (a, b) TO STDOUT WITH (FORMAT csv, HEADER true, DELIMITER ';')")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.source, CopySource::Table { name: vec!["t".into()], columns: vec!["a".into(), "b".into()] });
        assert!(c.options.header);
        assert_eq!(c.options.delimiter, ';');
        let c = parse("COPY (SELECT 1) TO STDOUT CSV HEADER").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.source, CopySource::Query("SELECT 1".into()));
        assert!(parse("COPY t FROM '/etc/passwd'").is_err());
    }

    #[test]
    fn reads_text_and_csv_records() {
        let mut r = RecordReader::new(CopyOptions::new(CopyFormat::Text));
        let mut recs = r.push(b"1\ta\\tb\t\\N\n2\tx").unwrap_or_default();
        recs.extend(r.finish().unwrap_or_default());
        assert_eq!(
            recs,
            vec![(1, vec![Some("1".into()), Some("a\tb".into()), None]), (2, vec![Some("2".into()), Some("x".into())])]
        );
        let mut o = CopyOptions::new(CopyFormat::Csv);
        o.header = true;
        let mut r = RecordReader::new(o.clone());
        let mut recs = r.push(b"h1,h2\n1,\"multi\nline, \"\"q\"\"\"\n2,").unwrap_or_default();
        recs.extend(r.finish().unwrap_or_default());
        assert_eq!(
            recs,
            vec![(2, vec![Some("1".into()), Some("multi\nline, \"q\"".into())]), (3, vec![Some("2".into()), None])]
        );
        assert_eq!(
            format_row(&[Value::Text("a,b".into()), Value::Null], &[DataType::Text, DataType::Text], &o),
            "\"a,b\",\n"
        );
    }
}

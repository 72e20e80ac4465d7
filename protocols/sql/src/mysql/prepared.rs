//! Reading MySQL's SQL-level prepared statement commands that sqlparser
//! does not read: `PREPARE name FROM 'text' | @var` and
//! `DROP PREPARE name`. (`EXECUTE name [USING ...]` and
//! `DEALLOCATE PREPARE name` it reads.)

use sqlparser::dialect::MySqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};

/// Where PREPARE takes its statement text from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A string literal.
    Text(String),
    /// A user variable (`@name`), read when PREPARE runs.
    Variable(String),
}

/// A prepared-statement command given as a whole query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// `PREPARE name FROM source`.
    Prepare {
        /// The statement's name, as written (names are not case sensitive).
        name: String,
        /// Its text or the variable holding it.
        source: Source,
    },
    /// `DROP PREPARE name`.
    Drop {
        /// The statement's name.
        name: String,
    },
}

/// The command `sql` is, when it is one of those above and nothing else.
/// Everything else (including these commands inside a multi-statement
/// string) goes to the parser, which reports a syntax error for them.
pub(crate) fn command(sql: &str) -> Option<Command> {
    // Only these two need the tokenizer; this runs on every query string.
    let head = sql.trim_start().as_bytes();
    let starts = |w: &str| head.get(..w.len()).is_some_and(|h| h.eq_ignore_ascii_case(w.as_bytes()));
    if !starts("prepare") && !starts("drop") {
        return None;
    }
    let tokens = Tokenizer::new(&MySqlDialect {}, sql).tokenize().ok()?;
    let mut words = tokens.into_iter().filter(|t| !matches!(t, Token::Whitespace(_))).peekable();
    let keyword = |t: &Option<Token>, k: Keyword| matches!(t, Some(Token::Word(w)) if w.keyword == k);
    let first = words.next();
    let command = if keyword(&first, Keyword::PREPARE) {
        let name = name(words.next())?;
        if !keyword(&words.next(), Keyword::FROM) {
            return None;
        }
        let source = match words.next()? {
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => Source::Text(s),
            Token::Word(w) if w.quote_style.is_none() && w.value.starts_with('@') && w.value.len() > 1 => {
                Source::Variable(w.value.to_ascii_lowercase())
            }
            _ => return None,
        };
        Command::Prepare { name, source }
    } else if keyword(&first, Keyword::DROP) && keyword(&words.next(), Keyword::PREPARE) {
        Command::Drop { name: name(words.next())? }
    } else {
        return None;
    };
    // Only a trailing semicolon may follow.
    if words.peek() == Some(&Token::SemiColon) {
        words.next();
    }
    words.next().is_none().then_some(command)
}

fn name(t: Option<Token>) -> Option<String> {
    match t? {
        Token::Word(w) if !w.value.starts_with('@') => Some(w.value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepare(name: &str, source: Source) -> Option<Command> {
        Some(Command::Prepare { name: name.into(), source })
    }

    #[test]
    fn reads_prepare_from_a_string_or_a_variable() {
        assert_eq!(
            command("PREPARE s1 FROM 'SELECT * FROM t WHERE id = ?'"),
            prepare("s1", Source::Text("SELECT * FROM t WHERE id = ?".into()))
        );
        assert_eq!(
            command("  prepare `my stmt` from \"SELECT 'it''s'\" ;"),
            prepare("my stmt", Source::Text("SELECT 'it''s'".into()))
        );
        assert_eq!(command("PREPARE s FROM 'SELECT \\'a\\''"), prepare("s", Source::Text("SELECT 'a'".into())));
        assert_eq!(command("PREPARE s FROM @Sql"), prepare("s", Source::Variable("@sql".into())));
        assert_eq!(command("DROP PREPARE s1;"), Some(Command::Drop { name: "s1".into() }));
    }

    #[test]
    fn anything_else_is_left_to_the_parser() {
        for sql in [
            "PREPARE s AS SELECT 1",
            "PREPARE s FROM 'SELECT 1' extra",
            "PREPARE s FROM 'SELECT 1'; SELECT 2",
            "PREPARE FROM 'SELECT 1'",
            "PREPARE @s FROM 'x'",
            "PREPARE s FROM 42",
            "PREPARE s FROM @",
            "DROP TABLE t",
            "DROP PREPARE",
            "SELECT 1",
            "PREPARE s FROM 'unterminated",
            "drop",
            "dro\u{20ac}p",
            "",
        ] {
            assert_eq!(command(sql), None, "{sql}");
        }
    }
}

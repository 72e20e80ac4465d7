//! LIKE and ILIKE matching.

use crate::error::{ErrorCode, SqlError, SqlResult};

/// Whether `s` matches the LIKE `pattern` (`%`, `_`, and `\` escaping).
pub(crate) fn matches(s: &str, pattern: &str, case_insensitive: bool) -> SqlResult<bool> {
    let (s, pattern) = if case_insensitive {
        (s.to_lowercase(), pattern.to_lowercase())
    } else {
        (s.to_string(), pattern.to_string())
    };
    let text: Vec<char> = s.chars().collect();
    let mut pat = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        pat.push(match c {
            '\\' => match chars.next() {
                Some(e) => Tok::Lit(e),
                None => {
                    return Err(SqlError::new(
                        ErrorCode::InvalidParameter,
                        "LIKE pattern must not end with escape character",
                    ));
                }
            },
            '%' => Tok::Any,
            '_' => Tok::One,
            c => Tok::Lit(c),
        });
    }
    Ok(match_from(&text, &pat))
}

#[derive(Clone, Copy)]
enum Tok {
    Lit(char),
    One,
    Any,
}

/// Iterative matching with one backtrack point: linear for patterns
/// without `%`, and never exponential.
fn match_from(text: &[char], pat: &[Tok]) -> bool {
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pat.get(p) {
            Some(Tok::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Tok::One) => {
                t += 1;
                p += 1;
            }
            Some(Tok::Lit(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|tok| matches!(tok, Tok::Any))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert_eq!(matches("hello", "h%o", false), Ok(true));
        assert_eq!(matches("hello", "h_llo", false), Ok(true));
        assert_eq!(matches("hello", "H%", false), Ok(false));
        assert_eq!(matches("hello", "H%", true), Ok(true));
        assert_eq!(matches("50%", "50\\%", false), Ok(true));
        assert_eq!(matches("a", "%%b", false), Ok(false));
        assert_eq!(matches("", "%", false), Ok(true));
    }
}

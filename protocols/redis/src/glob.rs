//! Redis' glob-style pattern matching (`KEYS`, `SCAN MATCH`, `PSUBSCRIBE`).
//!
//! A port of the semantics of Redis' `stringmatchlen`: `*`, `?`, `[abc]`,
//! `[^a]`, `[a-z]` and `\` escapes, on bytes. Existing glob crates work on
//! paths or UTF-8 and treat `/` or brackets differently, so this stays
//! exactly Redis'.

/// Whether `text` matches `pattern`.
pub(crate) fn matches(pattern: &[u8], text: &[u8]) -> bool {
    match_at(pattern, text, 0)
}

fn match_at(mut p: &[u8], mut s: &[u8], depth: u32) -> bool {
    // Redis bounds recursion the same way, so pathological patterns end.
    if depth > 1000 {
        return false;
    }
    while let Some(&c) = p.first() {
        match c {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for i in 0..=s.len() {
                    if match_at(&p[1..], &s[i..], depth + 1) {
                        return true;
                    }
                }
                return false;
            }
            b'?' => {
                if s.is_empty() {
                    return false;
                }
                s = &s[1..];
            }
            b'[' => {
                let Some(&ch) = s.first() else { return false };
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    match p.first() {
                        None => break,
                        Some(b'\\') if p.len() >= 2 => {
                            if p[1] == ch {
                                matched = true;
                            }
                            p = &p[2..];
                        }
                        Some(b']') => break,
                        Some(&start) if p.len() >= 3 && p[1] == b'-' => {
                            let end = p[2];
                            let (lo, hi) = if start <= end { (start, end) } else { (end, start) };
                            if (lo..=hi).contains(&ch) {
                                matched = true;
                            }
                            p = &p[3..];
                        }
                        Some(&other) => {
                            if other == ch {
                                matched = true;
                            }
                            p = &p[1..];
                        }
                    }
                }
                if matched == not {
                    return false;
                }
                s = &s[1..];
                if p.is_empty() {
                    // An unterminated class behaves as if closed at the end.
                    return s.is_empty();
                }
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if s.first() != Some(&p[0]) {
                    return false;
                }
                s = &s[1..];
            }
            _ => {
                if s.first() != Some(&c) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
    }
    s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn redis_glob_semantics() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "anything", true),
            ("*", "", true),
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("h*llo", "heeeello", true),
            ("h[ae]llo", "hallo", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false),
            ("h[a-b]llo", "hbllo", true),
            ("h[a-b]llo", "hcllo", false),
            ("h\\*llo", "h*llo", true),
            ("h\\*llo", "hello", false),
            ("user:*:name", "user:42:name", true),
            ("user:*:name", "user:42:mail", false),
            ("a*b*c", "abxbc", true),
            ("a*b*c", "abxb", false),
        ];
        for (p, s, want) in cases {
            assert_eq!(matches(p.as_bytes(), s.as_bytes()), *want, "{p} ~ {s}");
        }
    }
}

//! A minimal JSON reader for small references (countdown puzzles): depth-limited, no recursion beyond
//! `max_depth`, numbers kept as their source text. Not a general-purpose parser.

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// The number's text as written (`24`, `-3`, `2.5e1`).
    Number(String),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonError {
    Syntax,
    TooDeep,
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    max_depth: usize,
}

impl Reader<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let hit = self.b.get(self.i) == Some(&c);
        self.i += usize::from(hit);
        hit
    }

    fn literal(&mut self, word: &str, v: Json) -> Result<Json, JsonError> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(JsonError::Syntax)
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > self.max_depth {
            return Err(JsonError::TooDeep);
        }
        self.ws();
        match self.b.get(self.i).ok_or(JsonError::Syntax)? {
            b'n' => self.literal("null", Json::Null),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if self.eat(b']') {
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b']') {
                        return Ok(Json::Array(items));
                    }
                    if !self.eat(b',') {
                        return Err(JsonError::Syntax);
                    }
                }
            }
            b'{' => {
                self.i += 1;
                let mut fields = Vec::new();
                if self.eat(b'}') {
                    return Ok(Json::Object(fields));
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    if !self.eat(b':') {
                        return Err(JsonError::Syntax);
                    }
                    fields.push((key, self.value(depth + 1)?));
                    if self.eat(b'}') {
                        return Ok(Json::Object(fields));
                    }
                    if !self.eat(b',') {
                        return Err(JsonError::Syntax);
                    }
                }
            }
            _ => self.number(),
        }
    }

    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.i;
        while self.i < self.b.len()
            && matches!(self.b[self.i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        {
            self.i += 1;
        }
        let t = std::str::from_utf8(&self.b[start..self.i]).map_err(|_| JsonError::Syntax)?;
        if t.is_empty() || t.parse::<f64>().is_err() {
            return Err(JsonError::Syntax);
        }
        Ok(Json::Number(t.to_string()))
    }

    fn string(&mut self) -> Result<String, JsonError> {
        if self.b.get(self.i) != Some(&b'"') {
            return Err(JsonError::Syntax);
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = *self.b.get(self.i).ok_or(JsonError::Syntax)?;
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).map_err(|_| JsonError::Syntax),
                b'\\' => {
                    let e = *self.b.get(self.i).ok_or(JsonError::Syntax)?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = self.b.get(self.i..self.i + 4).ok_or(JsonError::Syntax)?;
                            self.i += 4;
                            let hex = std::str::from_utf8(hex).map_err(|_| JsonError::Syntax)?;
                            let code = u32::from_str_radix(hex, 16).map_err(|_| JsonError::Syntax)?;
                            // Surrogate pairs are not needed for puzzle keys; keep them as U+FFFD.
                            char::from_u32(code).unwrap_or('\u{FFFD}')
                        }
                        _ => return Err(JsonError::Syntax),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                _ => out.push(c),
            }
        }
    }
}

/// Parse one JSON document (surrounding whitespace allowed).
pub fn parse(text: &str, max_depth: usize) -> Result<Json, JsonError> {
    let mut r = Reader {
        b: text.as_bytes(),
        i: 0,
        max_depth,
    };
    let v = r.value(0)?;
    r.ws();
    if r.i == r.b.len() {
        Ok(v)
    } else {
        Err(JsonError::Syntax)
    }
}

impl Json {
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value as an integer, if it is a number with an integral value that fits i64 (`24`, `24.0`).
    pub fn as_i64(&self) -> Option<i64> {
        let Json::Number(t) = self else { return None };
        if let Ok(i) = t.parse::<i64>() {
            return Some(i);
        }
        let (int, frac) = t.split_once('.')?;
        (frac.bytes().all(|c| c == b'0') && !frac.is_empty()).then(|| int.parse().ok())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_puzzles() {
        let v = parse(
            r#" {"target": 24, "numbers": [3, 4, 8.0, 1], "note": "a\"b\u00e9", "x": [null, true, {}]} "#,
            8,
        )
        .unwrap();
        assert_eq!(v.get("target").and_then(Json::as_i64), Some(24));
        let Some(Json::Array(ns)) = v.get("numbers") else {
            panic!()
        };
        assert_eq!(
            ns.iter().filter_map(Json::as_i64).collect::<Vec<_>>(),
            [3, 4, 8, 1]
        );
        assert_eq!(v.get("note"), Some(&Json::Str("a\"bé".into())));
    }

    #[test]
    fn rejects() {
        assert_eq!(parse("{", 8), Err(JsonError::Syntax));
        assert_eq!(parse("[1,]", 8), Err(JsonError::Syntax));
        assert_eq!(parse("{} x", 8), Err(JsonError::Syntax));
        assert_eq!(parse(&"[".repeat(10_000), 8), Err(JsonError::TooDeep));
        assert_eq!(Json::Number("2.5".into()).as_i64(), None);
    }
}

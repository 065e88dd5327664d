//! Finds the line of a field such as `services[2].url` in block-style YAML,
//! for errors that are found after parsing (duplicates, references), where
//! the parser's own positions are gone.

#[derive(Clone, Copy, Debug)]
pub enum Segment<'k> {
    Key(&'k str),
    Index(usize),
}

/// `services[2].url`
pub fn display(path: &[Segment<'_>]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(k) if out.is_empty() => out.push_str(k),
            Segment::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

#[derive(Debug)]
struct Entry<'s> {
    line: usize,
    indent: usize,
    /// `Some(key)` for `key:`, `None` for a `- ` sequence item.
    key: Option<&'s str>,
}

fn entries(source: &str) -> Vec<Entry<'_>> {
    let mut out = Vec::new();
    for (line, text) in source.lines().enumerate() {
        let mut indent = text.len() - text.trim_start_matches(' ').len();
        let mut rest = &text[indent..];
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        // `- - key: v` and `- key: v` open items before the key.
        while rest == "-" || rest.starts_with("- ") {
            out.push(Entry {
                line,
                indent,
                key: None,
            });
            let after = rest[1..].trim_start_matches(' ');
            indent += rest.len() - after.len();
            rest = after;
        }
        if let Some(colon) = rest.find(':') {
            let key = rest[..colon].trim().trim_matches(['"', '\'']);
            let is_key =
                !key.is_empty() && rest[colon + 1..].chars().next().is_none_or(|c| c == ' ');
            if is_key {
                out.push(Entry {
                    line,
                    indent,
                    key: Some(key),
                });
            }
        }
    }
    out
}

/// The 1-based line of `path`, or of the deepest part of it that exists.
pub fn line_of(source: &str, path: &[Segment<'_>]) -> Option<usize> {
    let entries = entries(source);
    let mut found: Option<usize> = None; // index into entries
    for segment in path {
        let (from, parent_indent, parent_is_key) = match found {
            None => (0, None, false),
            Some(i) => (i + 1, Some(entries[i].indent), entries[i].key.is_some()),
        };
        let children: Vec<&Entry> = entries[from..]
            .iter()
            .take_while(|e| match parent_indent {
                None => true,
                Some(p) => e.indent > p || (parent_is_key && e.key.is_none() && e.indent == p),
            })
            .collect();
        let Some(level) = children.first().map(|e| e.indent) else {
            break;
        };
        let at_level = children.iter().filter(|e| e.indent == level);
        let hit = match segment {
            Segment::Key(k) => at_level.clone().find(|e| e.key == Some(k)),
            Segment::Index(i) => at_level.clone().filter(|e| e.key.is_none()).nth(*i),
        };
        let Some(hit) = hit else { break };
        found = entries.iter().position(|e| std::ptr::eq(e, *hit));
    }
    found.map(|i| entries[i].line + 1)
}

#[cfg(test)]
mod tests {
    use super::Segment::*;
    use super::*;

    const SOURCE: &str = "\
# comment
title: x
services:
  - name: a
    url: http://a/
  - name: b

    url: http://b/
    headers:
      X: y
status_pages:
- slug: p
  services: [a, b]
";

    #[test]
    fn finds_nested_fields() {
        let table: &[(&[Segment], Option<usize>)] = &[
            (&[Key("title")], Some(2)),
            (&[Key("services"), Index(0), Key("name")], Some(4)),
            (&[Key("services"), Index(1), Key("url")], Some(8)),
            (&[Key("services"), Index(1), Key("headers")], Some(9)),
            (&[Key("status_pages"), Index(0), Key("services")], Some(13)),
            // Falls back to the deepest part that exists.
            (&[Key("services"), Index(1), Key("timeout")], Some(6)),
            (&[Key("nothing")], None),
        ];
        for (path, line) in table {
            assert_eq!(line_of(SOURCE, path), *line, "{}", display(path));
        }
    }

    #[test]
    fn displays_paths() {
        assert_eq!(
            display(&[Key("services"), Index(2), Key("url")]),
            "services[2].url"
        );
    }
}

//! `${VAR}` in a config file, replaced from the environment before
//! parsing, so secrets stay out of the file. `$${` is a literal `${`.

use super::ConfigIssue;

/// Replaces `${VAR}` with the variable's value; `$${` stays a literal `${`;
/// comment lines are left alone.
pub fn expand_env(
    source: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<String, ConfigIssue> {
    let mut out = String::with_capacity(source.len());
    for (index, line) in source.split_inclusive('\n').enumerate() {
        // A comment line is left as it is: a commented-out example may
        // name a variable that is not set.
        if line.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("${") {
            if rest[..start].ends_with('$') {
                out.push_str(&rest[..start - 1]);
                out.push_str("${");
                rest = &rest[start + 2..];
                continue;
            }
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let issue = |message: String| ConfigIssue {
                line: Some(index + 1),
                column: Some(line.len() - rest.len() + start + 1),
                field: String::new(),
                message,
            };
            let end = after
                .find('}')
                .ok_or_else(|| issue("unclosed ${ (write $${ for a literal ${)".into()))?;
            let name = &after[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(issue(format!(
                    "${{{name}}} is not a valid environment variable name"
                )));
            }
            let value = env(name)
                .ok_or_else(|| issue(format!("environment variable {name} is not set")))?;
            if value.contains('\n') {
                return Err(issue(format!(
                    "environment variable {name} contains a newline"
                )));
            }
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_lines_are_left_alone_and_values_replaced() {
        let env = |name: &str| (name == "TOKEN").then(|| "s3cret".to_string());
        let source = "# ${UNSET} in a comment\n  # - {url: \"${ALSO_UNSET}\"}\nkey: Bearer ${TOKEN} $${LITERAL}\n";
        assert_eq!(
            expand_env(source, &env).unwrap(),
            "# ${UNSET} in a comment\n  # - {url: \"${ALSO_UNSET}\"}\nkey: Bearer s3cret ${LITERAL}\n"
        );
        let issue = expand_env("a: 1\nb: ${UNSET} # ${X}\n", &env).unwrap_err();
        assert_eq!((issue.line, issue.column), (Some(2), Some(4)));
    }
}

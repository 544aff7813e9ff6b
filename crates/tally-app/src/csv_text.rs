//! CSV lines as RFC 4180 writes them, for exports that stream in chunks.
//!
//! Text that a stranger chose (an order id, a sub id) goes through [`push_text`]: a
//! spreadsheet would run a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
//! return as a formula, so such text is prefixed with `'`, as OWASP's "CSV Injection"
//! advice says. Numbers and values Tally wrote go through [`push_field`] unchanged.

/// Appends one field and its separator, quoted when it holds a comma, a quote or a
/// line break.
pub fn push_field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
    out.push(',');
}

/// Appends a field of outside text, defused so that no spreadsheet runs it.
pub fn push_text(out: &mut String, value: &str) {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        push_field(out, &format!("'{value}"));
    } else {
        push_field(out, value);
    }
}

/// Ends the line: every field was followed by a separator, and the last one goes.
pub fn end_line(out: &mut String) {
    if out.ends_with(',') {
        out.pop();
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_outside_text_is_defused() {
        let mut line = String::new();
        push_field(&mut line, "-3.20");
        push_field(&mut line, "a,\"b\"");
        push_text(&mut line, "=HYPERLINK(\"x\")");
        push_text(&mut line, "O-1");
        end_line(&mut line);
        assert_eq!(line, "-3.20,\"a,\"\"b\"\"\",\"'=HYPERLINK(\"\"x\"\")\",O-1\n");
    }
}

//! Block-style YAML from a JSON value. Every string is double-quoted with JSON's escapes
//! (valid YAML), so no value can be read back as anything but itself.

use serde_json::Value;

/// `value` as a YAML document.
pub(crate) fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(map, 0, &mut out),
        Value::Array(items) if !items.is_empty() => write_list(items, 0, &mut out),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    out
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Object(_) => "{}".to_owned(),
        Value::Array(_) => "[]".to_owned(),
        other => other.to_string(),
    }
}

fn key_text(key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "_-./".contains(character))
        && key
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic());
    let reserved = matches!(
        key.to_ascii_lowercase().as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
    );
    if plain && !reserved {
        key.to_owned()
    } else {
        Value::from(key).to_string()
    }
}

fn is_nested(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    }
}

fn write_map(map: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    for (key, value) in map {
        out.push_str(&" ".repeat(indent));
        out.push_str(&key_text(key));
        out.push(':');
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                write_map(inner, indent + 2, out);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                write_list(items, indent, out);
            }
            scalar => {
                out.push(' ');
                out.push_str(&scalar_text(scalar));
                out.push('\n');
            }
        }
    }
}

fn write_list(items: &[Value], indent: usize, out: &mut String) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => {
                // The first pair shares the dash's line; the rest align under it.
                let mut text = String::new();
                write_map(map, indent + 2, &mut text);
                out.push_str(text.trim_start());
            }
            Value::Array(inner) if is_nested(item) => {
                out.push('\n');
                write_list(inner, indent + 2, out);
            }
            scalar => {
                out.push_str(&scalar_text(scalar));
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_documents() {
        let value = serde_json::json!({
            "kind": "Workflow",
            "spec": {"args": ["a", "$(x)\n"], "templates": [{"name": "t", "retry": {"limit": "3"}}], "empty": []},
            "yes": true,
        });
        assert_eq!(
            to_yaml(&value),
            "kind: \"Workflow\"\nspec:\n  args:\n  - \"a\"\n  - \"$(x)\\n\"\n  templates:\n  - name: \"t\"\n    retry:\n      limit: \"3\"\n  empty: []\n\"yes\": true\n"
        );
    }
}

//! Durations written in attributes: `30s`, `5m`, `2h30m`, `1d`.

use std::time::Duration;

/// Parses a duration, or says what is wrong with it in a sentence that ends with an example.
pub fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("a duration cannot be empty; write e.g. `30s`, `5m` or `2h30m`".to_owned());
    }
    match humantime::parse_duration(trimmed) {
        Ok(duration) if duration.subsec_nanos() != 0 => Err(format!(
            "`{text}` has a fraction of a second; durations are whole seconds, e.g. `30s`"
        )),
        Ok(duration) => Ok(duration),
        Err(error) => Err(format!(
            "invalid duration `{text}`: {error}; write e.g. `30s`, `5m` or `2h30m`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_forms() {
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("2h30m"), Ok(Duration::from_secs(9_000)));
        assert_eq!(parse("2h 30m"), Ok(Duration::from_secs(9_000)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86_400)));
    }

    #[test]
    fn rejects_the_rest_with_an_example() {
        for bad in ["", "soon", "30", "5 parsecs", "1500ms"] {
            let error = parse(bad).unwrap_err();
            assert!(error.contains("e.g."), "{bad}: {error}");
        }
    }
}

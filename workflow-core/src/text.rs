//! Small helpers for messages.

/// `a`, `b` and `c` as "`a`, `b`, `c`".
pub(crate) fn backticked<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|name| format!("`{}`", name.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The closest of `candidates` to `name`, if it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (similarity(name, candidate), candidate))
        .filter(|(score, _)| *score > 0.0)
        .max_by(|left, right| left.0.total_cmp(&right.0))
        .map(|(_, candidate)| candidate)
}

/// How alike two names are, 0 when too far apart to be a typo of one another: one edit
/// (two for longer names, a swap counting as one) or a very similar spelling.
fn similarity(name: &str, candidate: &str) -> f64 {
    let allowed = (name.chars().count().max(candidate.chars().count()) / 4).max(1);
    let closeness = strsim::jaro_winkler(name, candidate);
    if strsim::damerau_levenshtein(name, candidate) <= allowed || closeness >= 0.85 {
        closeness
    } else {
        0.0
    }
}

/// " (did you mean `x`?)" or nothing.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    match suggest(name, candidates) {
        Some(candidate) => format!(" (did you mean `{candidate}`?)"),
        None => String::new(),
    }
}

/// A duration as the shortest readable form: `90s` → `1m30s`.
pub(crate) fn duration(duration: std::time::Duration) -> String {
    let mut seconds = duration.as_secs();
    if seconds == 0 {
        return format!("{}ms", duration.as_millis());
    }
    let mut text = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if seconds >= size {
            text.push_str(&format!("{}{unit}", seconds / size));
            seconds %= size;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        assert_eq!(suggest("ordres", ["orders", "logs"]), Some("orders"));
        assert_eq!(suggest("zzz", ["orders", "logs"]), None);
    }

    #[test]
    fn durations_read_well() {
        use std::time::Duration;
        assert_eq!(duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(duration(Duration::from_secs(7_200)), "2h");
        assert_eq!(duration(Duration::from_millis(250)), "250ms");
    }
}

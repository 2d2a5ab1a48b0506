//! "Did you mean …?" for names the graph does not have.

/// The `n` candidates closest to `wanted` (edit distance, ties by name), closest first.
pub fn closest<'a, I>(wanted: &str, candidates: I, n: usize) -> Vec<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut scored: Vec<(usize, &str)> = candidates.into_iter().map(|c| (strsim::levenshtein(wanted, c), c)).collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(n).map(|(_, c)| c.to_string()).collect()
}

/// ` (did you mean a, b or c?)`, or nothing when there are no candidates.
pub fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" (did you mean {one}?)"),
        [init @ .., last] => format!(" (did you mean {} or {last}?)", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_typo() {
        let names = ["dnn/hidden4/Relu:0", "dnn/hidden3/Relu:0", "eval/accuracy:0", "X:0"];
        let s = closest("dnn/hiden4/Relu:0", names, 3);
        assert_eq!(s[0], "dnn/hidden4/Relu:0");
        assert_eq!(s.len(), 3);
        assert_eq!(did_you_mean(&s[..1]), " (did you mean dnn/hidden4/Relu:0?)");
    }
}

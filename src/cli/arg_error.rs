//! clap's argument errors (unknown flag, invalid value, missing argument) in the one-line form
//! every other error takes, its suggestion kept in the line; help and version displays pass.

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// Whether `err` is a display clap asked for (`--help`, `--version`, a bare `tfreuse`) rather
/// than a mistake: it prints as clap prints it.
pub fn is_display(err: &clap::Error) -> bool {
    matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand)
}

/// `err` as one line, without `error:`: what is wrong, then clap's suggestions in brackets.
pub fn one_line(err: &clap::Error) -> String {
    let mut line = headline(err).unwrap_or_else(|| fallback(err));
    let tips = tips(err);
    if !tips.is_empty() {
        line.push_str(&format!(" ({})", tips.join("; ")));
    }
    line
}

fn text(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::None => None,
        v => Some(v.to_string()),
    }
}

/// What is wrong, from the error's kind and context; `None` when clap gave too little of it.
fn headline(err: &clap::Error) -> Option<String> {
    let arg = text(err, ContextKind::InvalidArg);
    let value = text(err, ContextKind::InvalidValue);
    Some(match err.kind() {
        ErrorKind::UnknownArgument => format!("unexpected argument '{}'", arg?),
        ErrorKind::InvalidSubcommand => format!("unrecognized subcommand '{}'", text(err, ContextKind::InvalidSubcommand)?),
        ErrorKind::InvalidValue if value.as_deref() == Some("") => format!("a value is required for '{}'", arg?),
        ErrorKind::InvalidValue => format!("invalid value '{}' for '{}'", value?, arg?),
        ErrorKind::ValueValidation => {
            let why = std::error::Error::source(err).map(|s| format!(": {s}")).unwrap_or_default();
            format!("invalid value '{}' for '{}'{why}", value?, arg?)
        }
        ErrorKind::MissingRequiredArgument => format!("missing {}", arg?),
        ErrorKind::ArgumentConflict => match text(err, ContextKind::PriorArg) {
            Some(prior) if Some(&prior) == arg.as_ref() => format!("'{prior}' given more than once"),
            Some(prior) => format!("'{}' cannot be used with '{prior}'", arg?),
            None => format!("'{}' cannot be used with the other arguments given", arg?),
        },
        _ => return None,
    })
}

/// clap's own message, cut to its first paragraph and joined into one line.
fn fallback(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let body = rendered.trim_start().strip_prefix("error:").unwrap_or(&rendered);
    let first = body.split("\n\n").next().unwrap_or(body);
    first.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// clap's suggestions: "did you mean '--epochs'?", the possible values and its tips.
fn tips(err: &clap::Error) -> Vec<String> {
    let mut out: Vec<String> = [ContextKind::SuggestedArg, ContextKind::SuggestedSubcommand, ContextKind::SuggestedValue]
        .into_iter()
        .filter_map(|k| match err.get(k)? {
            ContextValue::String(s) => Some(vec![s.clone()]),
            ContextValue::Strings(v) if !v.is_empty() => Some(v.clone()),
            _ => None,
        })
        .map(|v| format!("did you mean {}?", v.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(" or ")))
        .collect();
    if let Some(valid) = text(err, ContextKind::ValidValue).filter(|v| !v.is_empty()) {
        out.push(format!("possible values: {valid}"));
    }
    if let Some(ContextValue::StyledStrs(more)) = err.get(ContextKind::Suggested) {
        out.extend(more.iter().map(|s| s.to_string()));
    }
    out
}

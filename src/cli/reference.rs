//! `tfreuse reference` (hidden): every command and flag as Markdown, walked from the clap
//! definitions, so docs/reference.md (`make reference`) cannot drift from the binary; a test
//! compares the two.

use std::fmt::Write;

use clap::{Arg, Command};

/// The whole reference: the global flags once, then a `##` section per command, nested
/// commands (`zoo fetch`, `pretrain autoencoder` …) after their parent. Hidden commands and
/// flags are left out; the order is the definitions' order, so the output is deterministic.
pub fn markdown(cmd: &Command) -> String {
    // Built, clap fills in what the definitions leave implicit (how many values, global flags).
    let mut cmd = cmd.clone();
    cmd.build();
    let cmd = &cmd;
    let mut out = String::new();
    let name = cmd.get_name();
    out.push_str(&format!("# `{name}` command reference\n\n"));
    out.push_str("Generated from the command-line definitions by `tfreuse reference` (`make reference`); do not edit by hand.\n");
    out.push_str("A test fails when this file and the binary disagree.\n\n");
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        out.push_str(&format!("{}\n\n", text(&about.to_string())));
    }
    out.push_str("Commands:\n\n");
    for sub in visible(cmd) {
        index(&mut out, sub, name, 0);
    }
    // Each command lists the TensorFlow options it takes; a flag of every command would be here.
    if cmd.get_arguments().any(|a| !matches!(a.get_id().as_str(), "help" | "version")) {
        out.push_str("\n## Global flags\n\n");
        out.push_str("These go before or after the command name, with every command.\n\n");
        args(&mut out, cmd.get_arguments());
    }
    let root = globals(cmd);
    for sub in visible(cmd) {
        section(&mut out, sub, (name, &root), &root);
    }
    // No runs of blank lines (an argument without help, a command without flags), and one
    // newline at the end.
    while out.contains("\n\n\n") {
        out = out.replace("\n\n\n", "\n\n");
    }
    format!("{}\n", out.trim_end())
}

/// The ids of the flags `cmd` passes down to its commands (after [`Command::build`], those
/// it got from its own parent too).
fn globals(cmd: &Command) -> Vec<String> {
    cmd.get_arguments().filter(|a| a.is_global_set()).map(|a| a.get_id().to_string()).collect()
}

/// The commands `cmd` shows, in their definition order.
fn visible(cmd: &Command) -> impl Iterator<Item = &Command> {
    cmd.get_subcommands().filter(|c| !c.is_hide_set() && c.get_name() != "help")
}

/// One line of the command list at the top, with a link to the command's section.
fn index(out: &mut String, cmd: &Command, parent: &str, depth: usize) {
    let path = format!("{parent} {}", cmd.get_name());
    let about = cmd.get_about().map(|a| first_line(&a.to_string())).unwrap_or_default();
    let _ = writeln!(out, "{}- [`{path}`](#{}): {}", "  ".repeat(depth), anchor(&path), text(&about));
    for sub in visible(cmd) {
        index(out, sub, &path, depth + 1);
    }
}

/// The `##` section of `cmd` (its about text and flags), then its own commands'. Flags
/// `cmd` inherits are listed where they are defined: the root's under "Global flags", a
/// command's (`zoo --offline`) under that command, which the section points to.
fn section(out: &mut String, cmd: &Command, (parent, inherited): (&str, &[String]), root: &[String]) {
    let path = format!("{parent} {}", cmd.get_name());
    let _ = writeln!(out, "\n## `{path}`\n");
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        let _ = writeln!(out, "{}\n", text(&about.to_string()));
    }
    let subs: Vec<&Command> = visible(cmd).collect();
    if !subs.is_empty() {
        let names: Vec<String> =
            subs.iter().map(|s| format!("[`{}`](#{})", s.get_name(), anchor(&format!("{path} {}", s.get_name())))).collect();
        let _ = writeln!(out, "Commands: {}.\n", names.join(", "));
    }
    let from_parent = cmd.get_arguments().any(|a| inherited.contains(&a.get_id().to_string()) && !root.contains(&a.get_id().to_string()));
    if from_parent {
        let _ = writeln!(out, "Also takes the flags of [`{parent}`](#{}).\n", anchor(parent));
    }
    args(out, cmd.get_arguments().filter(|a| !inherited.contains(&a.get_id().to_string())));
    let passed = globals(cmd);
    for sub in subs {
        section(out, sub, (&path, &passed), root);
    }
}

/// The arguments as a list, as clap's help orders them: positionals, the flags without a
/// heading, then each heading's flags under it (headings in the order they first appear).
fn args<'a>(out: &mut String, all: impl Iterator<Item = &'a Arg>) {
    let shown: Vec<&Arg> = all.filter(|a| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version")).collect();
    let mut headings: Vec<Option<&str>> = vec![None];
    for a in &shown {
        if !headings.contains(&a.get_help_heading()) {
            headings.push(a.get_help_heading());
        }
    }
    shown.iter().filter(|a| a.is_positional()).for_each(|a| item(out, a));
    for h in headings {
        if let Some(h) = h {
            let _ = writeln!(out, "\n{}:\n", text(h));
        }
        shown.iter().filter(|a| !a.is_positional() && a.get_help_heading() == h).for_each(|a| item(out, a));
    }
}

/// One argument: its flag and value, what it defaults to and takes, then its help.
fn item(out: &mut String, a: &Arg) {
    let mut notes = Vec::new();
    if a.is_required_set() {
        notes.push("required".to_string());
    }
    if a.get_action().takes_values() {
        let defaults: Vec<String> = a.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
        if !defaults.is_empty() {
            notes.push(format!("default `{}`", defaults.join(",")));
        }
        let values: Vec<String> =
            a.get_possible_values().iter().filter(|v| !v.is_hide_set()).map(|v| format!("`{}`", v.get_name())).collect();
        if !values.is_empty() {
            notes.push(format!("one of {}", values.join(", ")));
        }
    }
    if let Some(aliases) = a.get_visible_aliases() {
        notes.push(format!("also `--{}`", aliases.join("`, `--")));
    }
    if matches!(a.get_action(), clap::ArgAction::Append) && !a.is_positional() {
        notes.push("repeatable".to_string());
    }
    let notes = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) };
    let help = a.get_long_help().or(a.get_help()).map(|h| text(&h.to_string())).unwrap_or_default();
    // Paragraphs after the first are indented to stay inside the list item.
    let help = help.lines().map(|l| if l.is_empty() { String::new() } else { format!("  {l}") }).collect::<Vec<_>>().join("\n");
    match help.is_empty() {
        true => _ = writeln!(out, "- `{}`{notes}", usage(a).trim()),
        false => _ = writeln!(out, "- `{}`{notes}:\n{help}", usage(a).trim()),
    }
}

/// How the argument is written, as clap's help writes it (`--lr <LR>`, `--jit [<on|off|auto>]`,
/// `[FILE]...`), with the short form first when there is one (`-v, --verbose`).
fn usage(a: &Arg) -> String {
    match (a.get_short(), a.get_long()) {
        (Some(s), Some(_)) => format!("-{s}, {a}"),
        _ => a.to_string(),
    }
}

/// Help text as Markdown: `<` and `*` outside code spans escaped (a `<prefix>` would
/// otherwise read as an HTML tag), trailing spaces removed.
fn text(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    let escaped: String = parts
        .iter()
        .enumerate()
        .map(|(i, part)| match (i % 2 == 1, i + 1 < parts.len()) {
            (true, true) => format!("`{part}`"),
            (true, false) => format!("`{}", plain(part)),
            _ => plain(part),
        })
        .collect();
    escaped.lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim().to_string()
}

fn plain(s: &str) -> String {
    s.replace('<', "\\<").replace('*', "\\*")
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// The anchor a forge gives the heading `` `path` ``: lower case, spaces as dashes, no punctuation.
fn anchor(path: &str) -> String {
    path.chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

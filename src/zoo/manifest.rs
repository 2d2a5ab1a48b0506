//! The zoo's manifest: TOML with one `[[model]]` table per model, checked as a whole when read
//! (a missing key, a bad URL, a duplicate name: one line naming the file, line and model).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The manifest shipped inside the binary.
pub const DEFAULT: &str = include_str!("default.toml");

/// What kind of model an entry's `path` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A `.meta` with its checkpoint beside it.
    Meta,
    /// A frozen GraphDef (`.pb` / `.pbtxt`).
    Graph,
    /// A SavedModel directory.
    SavedModel,
    /// A TF-Slim checkpoint (a V1 file or a V2 prefix) restored into the built-in graph of the
    /// architecture named (`slim:inception_v3`): TF-Slim's zoo publishes no `.meta`.
    Slim(&'static str),
}

impl Format {
    /// The format `s` names: `meta`, `graph`, `saved_model` or `slim:NAME`.
    pub fn parse(s: &str) -> std::result::Result<Format, String> {
        match s {
            "meta" => Ok(Format::Meta),
            "graph" => Ok(Format::Graph),
            "saved_model" => Ok(Format::SavedModel),
            _ => match s.strip_prefix("slim:") {
                Some(name) => crate::slim::names().into_iter().find(|n| *n == name).map(Format::Slim).ok_or_else(|| {
                    format!("format {s:?}: not a TF-Slim architecture tfreuse knows (known: {})", crate::slim::names().join(", "))
                }),
                None => Err(format!("format {s:?}: expected meta, graph, saved_model or slim:NAME")),
            },
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Format::Meta => f.write_str("meta"),
            Format::Graph => f.write_str("graph"),
            Format::SavedModel => f.write_str("saved_model"),
            Format::Slim(name) => write!(f, "slim:{name}"),
        }
    }
}

impl Serialize for Format {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Format {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Format::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What `sha256` says when the publisher pins no digest: the first fetch then needs
/// `--trust-on-first-use`, and later ones are held to the digest it recorded.
pub const UNPUBLISHED: &str = "unpublished";

/// One model of the zoo.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// What users type after `zoo:`.
    pub name: String,
    /// What the model is, in a line (optional in a user's manifest; every built-in entry has one).
    #[serde(default)]
    pub description: String,
    /// The weights' license (optional in a user's manifest; every built-in entry states it).
    #[serde(default)]
    pub license: String,
    /// http(s)://… or file://… of the archive (or of the model file itself).
    pub url: String,
    /// SHA-256 of the downloaded file, 64 hex digits, or [`UNPUBLISHED`] (said, never left out).
    pub sha256: String,
    /// What kind of model file `path` is.
    pub format: Format,
    /// The `.meta`, `.pb`, SavedModel directory or TF-Slim checkpoint (file or prefix) inside
    /// the archive.
    pub path: String,
    /// Size of the download in bytes, when known: a larger download is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// The tensor fed with the features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// Pictures are resized to this, "HxW".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// How pixels are scaled, as `--scale` takes it (e.g. "-1,1" or "mean=117,std=1").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<String>,
    /// The model's own outputs (logits or probabilities), for reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Suggested branch points, the first the default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branch: Vec<String>,
    /// Where the publisher documents the model and its hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Run the graph even where it reaches outside the process (as `--trust-graph` would):
    /// for a model whose author the manifest's writer trusts; its `sha256` pins the bytes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trusted: bool,
}

impl Entry {
    /// The SHA-256 the manifest pins, if it pins one.
    pub fn pinned(&self) -> Option<&str> {
        (self.sha256 != UNPUBLISHED).then_some(self.sha256.as_str())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    model: Vec<toml::Spanned<Entry>>,
}

/// The entries of one manifest's `text`; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Entry>> {
    let file: File = toml::from_str(text).map_err(|e| Error::Invalid(format!("{origin}: {}", one_line(&e, text))))?;
    let mut seen = BTreeMap::new();
    let mut out = Vec::with_capacity(file.model.len());
    for spanned in file.model {
        let line = line_of(text, spanned.span().start);
        let entry = spanned.into_inner();
        let at = |msg: String| Error::Invalid(format!("{origin}:{line}: model {:?}: {msg}", entry.name));
        check(&entry).map_err(at)?;
        if let Some(first) = seen.insert(entry.name.clone(), line) {
            return Err(at(format!("the name is also used on line {first}: names must be unique in a manifest")));
        }
        out.push(entry);
    }
    Ok(out)
}

/// `later` over `base`: an entry of the same name replaces the earlier one in place.
pub fn merge(base: &mut Vec<Entry>, later: Vec<Entry>) {
    for e in later {
        match base.iter_mut().find(|b| b.name == e.name) {
            Some(b) => *b = e,
            None => base.push(e),
        }
    }
}

/// What is wrong with one entry, if anything.
fn check(e: &Entry) -> std::result::Result<(), String> {
    check_name(&e.name)?;
    if e.pinned().is_some_and(|h| !is_sha256(h)) {
        return Err(format!("sha256 {:?}: expected 64 hex digits, or {UNPUBLISHED:?} when the publisher pins none", e.sha256));
    }
    check_url(&e.url)?;
    check_member(&e.path).map_err(|m| format!("path {:?}: {m}", e.path))?;
    if let Some(s) = &e.size {
        let ok =
            s.split_once(['x', 'X']).is_some_and(|(h, w)| h.parse::<u32>().is_ok_and(|h| h > 0) && w.parse::<u32>().is_ok_and(|w| w > 0));
        if !ok {
            return Err(format!("size {s:?}: expected HxW, e.g. \"224x224\""));
        }
    }
    if let Some(s) = &e.scale {
        crate::data::Scale::parse(s).map_err(|err| format!("scale {s:?}: {err}"))?;
    }
    Ok(())
}

/// Whether `h` is 64 hex digits.
pub fn is_sha256(h: &str) -> bool {
    h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A model's name: 1-64 of a-z 0-9 . _ -, not starting with a dot.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        && !name.starts_with('.');
    match name_ok {
        true => Ok(()),
        false => Err("name: use 1-64 of a-z 0-9 . _ - (not starting with .)".into()),
    }
}

/// An http, https or file URL with something after the scheme.
pub fn check_url(url: &str) -> std::result::Result<(), String> {
    let rest = ["http://", "https://", "file://"].iter().find_map(|s| url.strip_prefix(s));
    match rest {
        Some(r) if !r.is_empty() && !r.contains(char::is_whitespace) => Ok(()),
        Some(_) => Err(format!("url {url:?}: nothing after the scheme, or a space in it")),
        None => Err(format!("url {url:?}: expected http://, https:// or file://")),
    }
}

/// A relative path inside an archive: no root, no `..`, not empty.
pub fn check_member(path: &str) -> std::result::Result<(), String> {
    let p = std::path::Path::new(path);
    if path.is_empty() || p.is_absolute() || path.contains('\\') {
        return Err("expected a relative path inside the archive".into());
    }
    if p.components().any(|c| !matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir)) {
        return Err("may not contain ..".into());
    }
    Ok(())
}

/// toml's messages span several lines (a snippet and a caret); this keeps the line number and the message.
fn one_line(e: &toml::de::Error, text: &str) -> String {
    let msg = e.message().lines().next().unwrap_or("not valid TOML").trim();
    match e.span() {
        Some(span) => format!("line {}: {msg}", line_of(text, span.start)),
        None => msg.to_string(),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |t| t.matches('\n').count()) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
[[model]]
name = "mnist-dnn"
description = "d"
license = "Apache-2.0"
url = "https://example.org/m.tar.gz"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
format = "meta"
path = "m/my_model_final.ckpt.meta"
input = "X:0"
branch = ["dnn/hidden4/Relu:0"]
"#;

    #[test]
    fn the_default_manifest_parses() {
        let all = parse(DEFAULT, "default").unwrap();
        assert!(all.iter().all(|e| e.source.is_some()), "every shipped entry cites its publisher");
        for e in &all {
            assert!(!e.description.trim().is_empty(), "{}: the built-in manifest describes every model", e.name);
            assert!(!e.license.trim().is_empty(), "{}: the built-in manifest states every license", e.name);
        }
    }

    #[test]
    fn a_users_manifest_may_leave_out_description_and_license() {
        let text = ONE.replace("description = \"d\"\n", "").replace("license = \"Apache-2.0\"\n", "");
        let e = &parse(&text, "mine.toml").unwrap()[0];
        assert_eq!((e.description.as_str(), e.license.as_str()), ("", ""));
    }

    #[test]
    fn one_entry_and_merging_by_name() {
        let mut base = parse(ONE, "a").unwrap();
        assert_eq!(base[0].branch, ["dnn/hidden4/Relu:0"]);
        let mut other = base[0].clone();
        other.description = "newer".into();
        merge(&mut base, vec![other]);
        assert_eq!((base.len(), base[0].description.as_str()), (1, "newer"));
    }

    #[test]
    fn a_slim_entry_with_an_unpublished_digest_parses_and_writes_back() {
        let text = ONE
            .replace("format = \"meta\"", "format = \"slim:inception_v1\"")
            .replace("0000000000000000000000000000000000000000000000000000000000000000", UNPUBLISHED);
        let e = &parse(&text, "mine.toml").unwrap()[0];
        assert_eq!((e.format, e.pinned()), (Format::Slim("inception_v1"), None));
        assert_eq!(e.format.to_string(), "slim:inception_v1");
        let again = format!("[[model]]\n{}", toml::to_string(e).unwrap());
        assert_eq!(&parse(&again, "again").unwrap()[0], e);
        assert_eq!(parse(ONE, "a").unwrap()[0].pinned(), Some("0000000000000000000000000000000000000000000000000000000000000000"));
    }

    #[test]
    fn bad_manifests_are_one_line_errors() {
        let cases = [
            (ONE.replace("url = ", "urll = "), "unknown field `urll`"),
            (ONE.replace("https://example.org", "ftp://example.org"), "expected http://"),
            (ONE.replace("format = \"meta\"", "format = \"onnx\""), "line 8: format \"onnx\": expected meta, graph, saved_model or slim:NAME"),
            (ONE.replace("format = \"meta\"", "format = \"slim:inception_v4\""), "line 8: format \"slim:inception_v4\": not a TF-Slim architecture"),
            (ONE.replace("sha256 = ", "# sha256 = "), "missing field `sha256`"),
            (ONE.replace("m/my_model", "../my_model"), "may not contain .."),
            (ONE.replace("0000000000", "zz"), "64 hex digits"),
            (format!("{ONE}{ONE}"), "also used on line 2"),
            (ONE.replace("input", "inptu"), "unknown field `inptu`"),
            ("[[model]\n".to_string(), "line 1"),
        ];
        for (text, want) in cases {
            let err = parse(&text, "m.toml").unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should say {want:?}");
            assert!(!err.contains('\n'), "one line: {err:?}");
        }
    }
}

//! Digests trusted on first use: a download no publisher pins a SHA-256 for is fetched only
//! with `--trust-on-first-use`, and its digest is recorded in `<zoo>/trusted.json` (keyed by
//! model name and URL), so every later fetch, and `zoo verify`, is held to it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::format::TRUST_RECORD;

/// The record's file name in the zoo's folder.
pub const FILE: &str = "trusted.json";

/// One download's digest, as first fetched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trusted {
    /// The model's name in the manifest.
    pub name: String,
    /// The URL it was fetched from.
    pub url: String,
    /// The download's SHA-256.
    pub sha256: String,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    #[serde(default, rename = "format", skip_serializing)]
    _format: Option<u32>,
    trusted: Vec<Trusted>,
}

/// The record of the zoo at `root`.
pub fn path(root: &Path) -> PathBuf {
    root.join(FILE)
}

/// The digests `text` (read from `path`) records; one line when it is not a record, or a
/// newer tfreuse wrote it.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Trusted>> {
    TRUST_RECORD.version(path, text)?;
    let bad = |msg: String| Error::bad_file(path, format!("not a {}: {msg}", TRUST_RECORD.name));
    let record: Record = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    for t in &record.trusted {
        if !super::manifest::is_sha256(&t.sha256) {
            return Err(bad(format!("zoo:{}: sha256 {:?} is not 64 hex digits", t.name, t.sha256)));
        }
    }
    Ok(record.trusted)
}

/// What the record at `root` holds (nothing when there is none).
pub fn read(root: &Path) -> Result<Vec<Trusted>> {
    let path = path(root);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text, &path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// The digest recorded for `name` fetched from `url`.
pub fn recorded(root: &Path, name: &str, url: &str) -> Result<Option<String>> {
    Ok(read(root)?.into_iter().find(|t| t.name == name && t.url == url).map(|t| t.sha256))
}

/// Add `t` to the record (replacing one of the same name and URL), written atomically under
/// the record's lock.
pub fn record(root: &Path, t: Trusted) -> Result<()> {
    std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
    let _lock = super::Lock::take(&root.join(format!(".{FILE}.lock")), &mut |_| Ok(()))?;
    let mut all = read(root)?;
    all.retain(|o| !(o.name == t.name && o.url == t.url));
    all.push(t);
    crate::atomic::write_bytes_atomic(&path(root), &render(all)?)
}

/// The record of `all`, sorted by name and URL, as it is written.
pub fn render(mut all: Vec<Trusted>) -> Result<Vec<u8>> {
    all.sort_by(|a, b| (&a.name, &a.url).cmp(&(&b.name, &b.url)));
    TRUST_RECORD.to_json(&Record { _format: None, trusted: all })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_written_read_back_and_replaced_by_name_and_url() {
        let dir = tempfile::tempdir().unwrap();
        let t = |name: &str, url: &str, c: char| Trusted { name: name.into(), url: url.into(), sha256: c.to_string().repeat(64) };
        assert_eq!(read(dir.path()).unwrap(), []);
        record(dir.path(), t("b", "http://x/b", 'a')).unwrap();
        record(dir.path(), t("a", "http://x/a", 'b')).unwrap();
        record(dir.path(), t("b", "http://x/b", 'c')).unwrap();
        assert_eq!(read(dir.path()).unwrap(), [t("a", "http://x/a", 'b'), t("b", "http://x/b", 'c')]);
        assert_eq!(recorded(dir.path(), "b", "http://x/b").unwrap(), Some("c".repeat(64)));
        assert_eq!(recorded(dir.path(), "b", "http://y/b").unwrap(), None);
        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        assert!(text.starts_with("{\n  \"format\": 1,"), "{text}");
    }

    #[test]
    fn a_bad_or_newer_record_is_one_line() {
        let p = Path::new("trusted.json");
        let cases = [
            ("", "not a zoo trust record: EOF while parsing"),
            ("{\"format\": 2, \"trusted\": []}", "written by a newer tfreuse (zoo trust record format 2"),
            ("{\"trusted\": [{\"name\": \"a\", \"url\": \"u\", \"sha256\": \"ab\"}]}", "zoo:a: sha256 \"ab\" is not 64 hex digits"),
            ("{\"trusted\": [], \"extra\": 1}", "unknown field `extra`"),
            ("[1]", "not a zoo trust record"),
        ];
        for (text, want) in cases {
            let e = parse(text, p).unwrap_err().to_string();
            assert!(e.contains(want) && !e.contains('\n'), "{text:?}: {e}");
        }
    }
}

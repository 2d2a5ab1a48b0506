//! Versions of the files tfreuse writes and reads back later, maybe by another release: the
//! picture record beside a checkpoint, the resume sidecar, a feature cache folder's key file,
//! a zoo model's record and the zoo's digests trusted on first use. Each carries `"format": N`; a file without it is version 1 (what
//! was written before versions). A reader takes every version up to its own and refuses a
//! newer one in one line that says to upgrade, instead of misreading a layout it cannot know.

use std::path::Path;

use crate::error::{Error, Result};

/// One kind of file: its name in messages and the version this tfreuse writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    /// What the file is, in messages ("picture record").
    pub name: &'static str,
    /// The version written, and the newest read.
    pub current: u32,
}

/// `NAME.preprocess.json` beside a checkpoint trained on pictures.
pub const PICTURE_RECORD: Format = Format { name: "picture record", current: 2 };
/// `NAME.resume.json` beside an interrupted checkpoint.
pub const RESUME: Format = Format { name: "resume file", current: 2 };
/// `about.json` in each folder of the feature cache on disk.
pub const FEATURE_CACHE: Format = Format { name: "feature cache", current: 2 };
/// `.tfreuse-zoo.json` in each cached zoo model's folder.
pub const ZOO_RECORD: Format = Format { name: "zoo record", current: 2 };

/// `trusted.json` in the zoo's folder: the digests recorded on first use.
pub const TRUST_RECORD: Format = Format { name: "zoo trust record", current: 1 };

/// The field that holds the version.
pub const FIELD: &str = "format";

/// `body` with the version field first.
#[derive(serde::Serialize)]
struct Stamped<'a, T> {
    format: u32,
    #[serde(flatten)]
    body: &'a T,
}

impl Format {
    /// `value` as pretty JSON with `"format": current` added.
    pub fn to_json<T: serde::Serialize>(&self, value: &T) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(&Stamped { format: self.current, body: value })
            .map_err(|e| Error::Invalid(format!("cannot write the {}: {e}", self.name)))
    }

    /// The version of the JSON text `text` read from `path`: 1 without the field; an error
    /// when it is newer than this tfreuse reads or is no version number. Text that is not a
    /// JSON object is left to the caller's parser to refuse (reported as version 1).
    pub fn version(&self, path: &Path, text: &str) -> Result<u32> {
        let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) else { return Ok(1) };
        let Some(v) = map.get(FIELD) else { return Ok(1) };
        let n = v
            .as_u64()
            .filter(|n| (1..=u64::from(u32::MAX)).contains(n))
            .ok_or_else(|| Error::bad_file(path, format!("not a {}: its {FIELD} {v} is no version number", self.name)))?
            as u32;
        if n > self.current {
            return Err(self.newer(path, n));
        }
        Ok(n)
    }

    /// `path` is of version `n`, newer than this tfreuse reads.
    fn newer(&self, path: &Path, n: u32) -> Error {
        let msg = format!("written by a newer tfreuse ({} format {n}; this one reads up to {}): upgrade tfreuse", self.name, self.current);
        Error::bad_file(path, msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Thing {
        a: u32,
    }

    #[test]
    fn written_files_carry_the_version_and_older_ones_read_as_version_1() {
        let f = Format { name: "thing", current: 2 };
        let p = Path::new("x.json");
        let text = String::from_utf8(f.to_json(&Thing { a: 7 }).unwrap()).unwrap();
        assert!(text.starts_with("{\n  \"format\": 2,\n  \"a\": 7"), "{text}");
        assert_eq!(f.version(p, &text).unwrap(), 2);
        assert_eq!(serde_json::from_str::<Thing>(&text).unwrap(), Thing { a: 7 }, "readers ignore the field");
        assert_eq!(f.version(p, "{\"a\": 7}").unwrap(), 1);
        assert_eq!(f.version(p, "not json").unwrap(), 1, "left to the parser");
        assert_eq!(f.version(p, "{\"format\": 1, \"a\": 7}").unwrap(), 1);
    }

    #[test]
    fn a_newer_or_garbled_version_is_one_line_naming_the_file() {
        let f = Format { name: "thing", current: 2 };
        let p = Path::new("runs/m.json");
        let err = f.version(p, "{\"format\": 3}").unwrap_err();
        assert_eq!(err.to_string(), "runs/m.json: written by a newer tfreuse (thing format 3; this one reads up to 2): upgrade tfreuse");
        assert_eq!(err.exit_code(), 3);
        for bad in ["\"2\"", "0", "-1", "2.5", "99999999999"] {
            let err = f.version(p, &format!("{{\"format\": {bad}}}")).unwrap_err().to_string();
            assert!(err.starts_with("runs/m.json: not a thing: its format ") && err.ends_with("is no version number"), "{err}");
        }
    }
}

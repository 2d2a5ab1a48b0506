//! `Zoo::add`: a model obtained elsewhere (an archive, a model file or a folder) put in the
//! cache exactly as a fetch would have put it: hashed, unpacked (or copied) with the same
//! checks and limits, recorded with every file's SHA-256, and published by one rename.

use std::path::{Path, PathBuf};

use super::{archive, folder_name, manifest, sha256_file, source, About, CachedFile, Entry, Format, Lock, Zoo, ABOUT};
use crate::atomic::AtomicDir;
use crate::error::{Error, Result, Role};

/// A model to add to the cache.
#[derive(Clone, Debug)]
pub struct Adding {
    /// Its name, as `zoo:NAME` will use it.
    pub name: String,
    /// The archive (tar, tar.gz, zip), model file or folder it is in.
    pub from: PathBuf,
    /// Its format; needed unless a manifest names the model.
    pub format: Option<Format>,
    /// The model inside `from` (as a member of the archive, or below the folder's name); found
    /// when left out.
    pub path: Option<String>,
    /// Replace a copy already cached.
    pub force: bool,
}

/// The models added by hand that `root` holds, as their records name them.
pub(crate) fn added(root: &Path) -> Vec<Entry> {
    let Ok(read) = std::fs::read_dir(root) else { return Vec::new() };
    let mut out: Vec<Entry> = read
        .flatten()
        .filter_map(|d| {
            // A newer tfreuse's record cannot be read: that model is not listed.
            let about = super::read_about(&d.path().join(ABOUT)).ok()??;
            let here = d.file_name().to_string_lossy() == folder_name(&about.entry, &about.sha256);
            (about.added_from.is_some() && here).then_some(about.entry)
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    out
}

impl Zoo {
    /// Put the model `a.from` in the cache as `a.name`, as a fetch of it would have: when a
    /// manifest names the model, its entry (hash, format, path) must match what is added.
    /// Returns the entry and the model's path in the cache.
    pub fn add(&self, a: &Adding) -> Result<(Entry, PathBuf)> {
        let name = &a.name;
        manifest::check_name(name).map_err(|m| Error::Invalid(format!("zoo:{name}: {m}")))?;
        let meta = std::fs::metadata(&a.from).map_err(|e| Error::io(&a.from, e))?;
        let from = std::fs::canonicalize(&a.from).map_err(|e| Error::io(&a.from, e))?;
        let known = self.entries[..self.manifests].iter().find(|e| &e.name == name);
        let format = match (known, a.format) {
            (Some(e), Some(f)) if e.format != f => {
                let msg = format!("zoo:{name}: the manifest's entry is of format {}", e.format);
                return Err(Error::arg(Role::ZooFormat, Some(&f.to_string()), msg));
            }
            (Some(e), _) => e.format,
            (None, Some(f)) => f,
            (None, None) => {
                let msg = format!("zoo:{name}: no manifest names it, so give its format (meta, graph or saved_model)");
                return Err(Error::arg(Role::ZooFormat, None, msg));
            }
        };
        let old = self.copies(name)?;
        if let (Some(dir), false) = (old.first(), a.force) {
            let msg = format!("zoo:{name}: already in the cache ({}); pass {} to replace it", dir.display(), Role::Force.mention());
            return Err(Error::Invalid(msg));
        }
        let staging = AtomicDir::begin(&self.root, &format!("add-{name}"))?;
        let incoming = staging.path().join("incoming");
        std::fs::create_dir(&incoming).map_err(|e| Error::io(&incoming, e))?;
        let plain = match known {
            Some(e) if !e.path.contains('/') => e.path.clone(),
            _ => from.file_name().map_or("model".into(), |n| n.to_string_lossy().into_owned()),
        };
        let (files, sha256) = self.bring(&from, meta.is_dir(), &plain, &incoming)?;
        let entry = match known {
            Some(e) => self.checked_against(e, &sha256, a.path.as_deref(), &from)?,
            None => {
                let path = model_path(format, &files, a.path.as_deref(), &incoming, &from)?;
                new_entry(name, &from, sha256.clone(), format, path)
            }
        };
        if !fits(format, &incoming.join(&entry.path)) {
            let msg = format!("zoo:{name}: {} has no {format} {}", from.display(), entry.path);
            return Err(Error::arg(Role::ZooFormat, Some(&format.to_string()), msg));
        }
        source(&entry, incoming.join(&entry.path)).read().map_err(|err| {
            let msg = format!("zoo:{name}: {} does not read as one: {err}", entry.path);
            Error::arg(Role::ZooFormat, Some(&format.to_string()), msg)
        })?;
        if known.is_some_and(|e| e.pinned().is_none()) {
            let trusted = super::trust::Trusted { name: entry.name.clone(), url: entry.url.clone(), sha256: sha256.clone() };
            super::trust::record(&self.root, trusted)?;
        }
        self.publish(a, entry, sha256, files, &from, &staging)
    }

    /// The record written, the old copies removed (with `--force`), the new one renamed in.
    fn publish(&self, a: &Adding, entry: Entry, sha256: String, files: Vec<CachedFile>, from: &Path, staging: &AtomicDir) -> Result<(Entry, PathBuf)> {
        let incoming = staging.path().join("incoming");
        let folder = folder_name(&entry, &sha256);
        let about = About { entry: entry.clone(), sha256, files, added_from: Some(from.display().to_string()) };
        about.write_into(&incoming)?;
        std::fs::rename(&incoming, staging.path().join(&folder)).map_err(|e| Error::io(&incoming, e))?;
        let _lock = Lock::take(&self.root.join(format!(".{folder}.lock")), &mut |_| Ok(()))?;
        if a.force {
            self.remove(&a.name)?;
        }
        let dir = staging.publish(&folder)?;
        Ok((entry.clone(), dir.join(&entry.path)))
    }

    /// `from` unpacked (an archive), written (a plain file) or copied (a folder, under its
    /// name) into `into`: the files, and the SHA-256 that stands for `from` — a file's own, a
    /// folder's that of its listing (`sha256  path` lines of its files, sorted by path).
    fn bring(&self, from: &Path, is_dir: bool, plain: &str, into: &Path) -> Result<(Vec<CachedFile>, String)> {
        let (unpacked, sha256) = if is_dir {
            let top = from.file_name().map_or("model".into(), |n| n.to_string_lossy().into_owned());
            let mut unpacked = archive::copy_dir(from, into, &top, self.limits)?;
            unpacked.sort_by(|a, b| a.path.cmp(&b.path));
            let listing: String = unpacked.iter().map(|u| format!("{}  {}\n", u.sha256, u.path)).collect();
            use sha2::Digest;
            let sha256 = sha2::Sha256::digest(listing.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
            (unpacked, sha256)
        } else {
            let sha256 = sha256_file(from)?;
            (archive::unpack_file(from, into, plain, self.limits)?, sha256)
        };
        let files = unpacked.into_iter().map(|u| CachedFile { path: u.path, bytes: u.bytes, sha256: u.sha256 }).collect();
        Ok((files, sha256))
    }
}

impl Zoo {
    /// A manifest's entry `e`, when what was added is what it names (a digest no publisher
    /// pins: the one recorded on first use, else recorded now with `--trust-on-first-use`).
    fn checked_against(&self, e: &Entry, sha256: &str, path: Option<&str>, from: &Path) -> Result<Entry> {
        let want = self.digest(e)?;
        if want.is_none() && !self.trust_on_first_use {
            let msg = format!(
                "zoo:{}: its publisher pins no SHA-256 (none first-party is published): pass {} to add it and hold later fetches to its digest",
                e.name,
                Role::TrustOnFirstUse.mention()
            );
            return Err(Error::Invalid(msg));
        }
        if let Some(want) = want.filter(|w| !w.eq_ignore_ascii_case(sha256)) {
            return Err(Error::Invalid(format!(
                "zoo:{}: {} has SHA-256 {sha256}, not {} {want}: refused, nothing cached",
                e.name,
                from.display(),
                if e.pinned().is_some() { "the manifest's" } else { "the one recorded on first use" },
            )));
        }
        if let Some(p) = path.filter(|p| *p != e.path) {
            return Err(Error::arg(Role::ZooPath, Some(p), format!("zoo:{}: the manifest's entry says {}", e.name, e.path)));
        }
        Ok(e.clone())
    }
}

/// The entry of a model no manifest names.
fn new_entry(name: &str, from: &Path, sha256: String, format: Format, path: String) -> Entry {
    Entry {
        name: name.to_string(),
        description: format!("added from {}", from.display()),
        license: String::new(),
        url: format!("file://{}", from.display()),
        sha256,
        format,
        path,
        bytes: None,
        input: None,
        size: None,
        scale: None,
        output: None,
        branch: Vec::new(),
        source: None,
        trusted: false,
    }
}

/// The model inside what was added: `given`, or the one file (folder, for a SavedModel) of
/// `format` among `files`.
fn model_path(format: Format, files: &[CachedFile], given: Option<&str>, dir: &Path, from: &Path) -> Result<String> {
    if let Some(p) = given {
        manifest::check_member(p).map_err(|m| Error::arg(Role::ZooPath, Some(p), m))?;
        if !dir.join(p).exists() {
            let some: Vec<_> = files.iter().take(5).map(|f| f.path.as_str()).collect();
            return Err(Error::arg(Role::ZooPath, Some(p), format!("{} has no such file (it has {}…)", from.display(), some.join(", "))));
        }
        return Ok(p.to_string());
    }
    let is_saved_model = |p: &str| p == "saved_model.pb" || p.ends_with("/saved_model.pb") || p.ends_with("saved_model.pbtxt");
    let mut found: Vec<String> = match format {
        Format::Meta => files.iter().filter(|f| f.path.ends_with(".meta")).map(|f| f.path.clone()).collect(),
        Format::Graph => {
            let graph = |p: &str| (p.ends_with(".pb") || p.ends_with(".pbtxt")) && !is_saved_model(p);
            files.iter().filter(|f| graph(&f.path)).map(|f| f.path.clone()).collect()
        }
        Format::Slim(_) => files
            .iter()
            .filter_map(|f| f.path.strip_suffix(".index").or(f.path.ends_with(".ckpt").then_some(f.path.as_str())))
            .map(str::to_string)
            .collect(),
        Format::SavedModel => files
            .iter()
            .filter(|f| is_saved_model(&f.path))
            .map(|f| f.path.rsplit_once('/').map_or(".".to_string(), |(d, _)| d.to_string()))
            .collect(),
    };
    found.sort();
    found.dedup();
    let what = match format {
        Format::Meta => ".meta file",
        Format::Graph => "frozen graph (.pb or .pbtxt)",
        Format::SavedModel => "SavedModel (saved_model.pb)",
        Format::Slim(_) => "TF-Slim checkpoint (.ckpt, or a prefix with its .index)",
    };
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => {
            let some: Vec<_> = files.iter().take(5).map(|f| f.path.as_str()).collect();
            let msg = format!("{} holds no {what} (it has {}…)", from.display(), some.join(", "));
            Err(Error::arg(Role::ZooFormat, Some(&format.to_string()), msg))
        }
        _ => Err(Error::arg(Role::ZooPath, None, format!("{} holds several, {}: name one", from.display(), found.join(", ")))),
    }
}

/// Whether `p` is a model of `format`.
fn fits(format: Format, p: &Path) -> bool {
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
    match format {
        Format::Meta => p.is_file() && ext == "meta",
        Format::Graph => p.is_file() && (ext == "pb" || ext == "pbtxt"),
        Format::SavedModel => p.join("saved_model.pb").is_file() || p.join("saved_model.pbtxt").is_file(),
        Format::Slim(_) => p.is_file() || Path::new(&format!("{}.index", p.display())).is_file(),
    }
}

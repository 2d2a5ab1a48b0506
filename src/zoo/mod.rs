//! The model zoo: pretrained TF1 models named in a manifest, fetched on first use, checked
//! against their SHA-256 before anything is unpacked, unpacked safely, and kept in a cache
//! folder per model (`<root>/<name>-<sha256[..12]>`) that appears by one rename when complete.
//! A lock file per model makes two processes fetching at once end with one copy.

internal_mod! {
    add;
    archive;
    manifest;
    net;
}

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::AtomicDir;
use crate::error::{Error, Result, Role};
use crate::events::{Event, EventSink, FetchStep};

pub use add::Adding;
pub use archive::Limits;
pub use manifest::{Entry, Format};
pub use net::Net;

/// The file inside each cached model's folder that says what it is.
pub(crate) const ABOUT: &str = ".tfreuse-zoo.json";

/// The manifests' models and where they are cached.
pub struct Zoo {
    /// The cache folder: one folder per fetched model.
    pub root: PathBuf,
    /// The models the manifests name.
    pub entries: Vec<Entry>,
    /// Use only the cache; never the network.
    pub offline: bool,
    /// How downloads go (timeouts, retries).
    pub net: Net,
    /// What unpacking an archive may write at most.
    pub limits: Limits,
    /// How many of `entries` come from the manifests; those after are models added to the
    /// cache by hand (`tfreuse zoo add`) that no manifest names.
    pub manifests: usize,
}

/// What a cached model's folder records.
#[derive(Debug, Serialize, Deserialize)]
pub struct About {
    /// The manifest's entry it was fetched for.
    pub entry: Entry,
    /// The download's SHA-256 (as checked).
    pub sha256: String,
    /// The files unpacked.
    pub files: Vec<CachedFile>,
    /// Where a model added by hand came from (none when fetched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_from: Option<String>,
}

impl About {
    /// The record, with its format version, written into the model's folder `dir`.
    fn write_into(&self, dir: &Path) -> Result<()> {
        let json = crate::format::ZOO_RECORD.to_json(self)?;
        std::fs::write(dir.join(ABOUT), json).map_err(|err| Error::io(dir, err))
    }
}

/// One file of a cached model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedFile {
    /// Its path inside the model's folder.
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256 when unpacked.
    pub sha256: String,
}

/// `$TFREUSE_ZOO_DIR`, else `$XDG_CACHE_HOME/tfreuse/zoo` or `~/.cache/tfreuse/zoo`.
pub fn default_root() -> Result<PathBuf> {
    crate::cache::store::user_cache("TFREUSE_ZOO_DIR", "zoo", Role::ZooDir)
}

/// The name after `zoo:`, when `spec` is one.
pub fn reference(spec: &Path) -> Option<&str> {
    spec.to_str()?.strip_prefix("zoo:")
}

impl Zoo {
    /// The default manifest with `extra` ones over it (file paths or http(s) URLs), in order.
    pub fn open(root: PathBuf, extra: &[String], offline: bool, net: Net) -> Result<Zoo> {
        let mut entries = manifest::parse(manifest::DEFAULT, "the default manifest")?;
        for m in extra {
            let text = if m.starts_with("http://") || m.starts_with("https://") {
                if offline {
                    return Err(Error::arg(Role::Manifest, Some(m), "offline, so a manifest must be a file"));
                }
                net.text(m, 1 << 20)?
            } else {
                std::fs::read_to_string(m).map_err(|e| Error::io(m, e))?
            };
            manifest::merge(&mut entries, manifest::parse(&text, m)?);
        }
        let manifests = entries.len();
        let added: Vec<Entry> = add::added(&root).into_iter().filter(|a| !entries.iter().any(|e| e.name == a.name)).collect();
        entries.extend(added);
        Ok(Zoo { root, entries, offline, net, limits: Limits::default(), manifests })
    }

    /// The manifests' model `name`, or an error naming the nearest names.
    pub fn entry(&self, name: &str) -> Result<&Entry> {
        self.entries.iter().find(|e| e.name == name).ok_or_else(|| {
            let near = crate::suggest::closest(name, self.entries.iter().map(|e| e.name.as_str()), 3);
            let known =
                if self.entries.is_empty() { " (the manifests list no models)".to_string() } else { crate::suggest::did_you_mean(&near) };
            Error::NotFound(format!("zoo:{name}: no such model in the manifests{known}; `tfreuse zoo list` shows them"))
        })
    }

    /// The folder `e` is cached in once fetched.
    pub fn folder(&self, e: &Entry) -> PathBuf {
        self.root.join(folder_name(e))
    }

    /// What the cache holds for `e`, if it holds it; an error when a newer tfreuse cached it
    /// (fetching again would only collide with its folder).
    pub fn cached(&self, e: &Entry) -> Result<Option<About>> {
        read_about(&self.folder(e).join(ABOUT))
    }

    /// The model `e` names on disk, fetched first unless cached; how the fetch goes is told
    /// `sink` ([`Event::Fetch`]).
    pub fn fetch(&self, e: &Entry, sink: &mut dyn EventSink) -> Result<PathBuf> {
        let model = self.folder(e).join(&e.path);
        if self.cached(e)?.is_some() {
            if !model.exists() {
                return Err(Error::NotFound(format!(
                    "zoo:{}: the cached copy has no {} (`tfreuse zoo show {}` lists its files)",
                    e.name, e.path, e.name
                )));
            }
            return Ok(model);
        }
        if self.offline {
            return Err(Error::Fetch(format!(
                "zoo:{}: offline and not cached in {} (fetch it online with `tfreuse zoo fetch {}`)",
                e.name,
                self.root.display(),
                e.name
            )));
        }
        std::fs::create_dir_all(self.root.join(".partial")).map_err(|err| Error::io(&self.root, err))?;
        let mut tell = |step| sink.event(&Event::Fetch { name: e.name.clone(), url: e.url.clone(), step });
        let _lock = Lock::take(&self.root.join(format!(".{}.lock", folder_name(e))), &mut tell)?;
        if self.cached(e)?.is_none() {
            self.download_and_unpack(e, &mut tell)?;
        }
        Ok(model)
    }

    fn download_and_unpack(&self, e: &Entry, tell: &mut dyn FnMut(FetchStep) -> Result<()>) -> Result<()> {
        let part = self.root.join(".partial").join(format!("{}.part", e.sha256));
        tell(FetchStep::Started)?;
        self.net.download(&e.url, &part, e.bytes, tell)?;
        let got = sha256_file(&part)?;
        if !got.eq_ignore_ascii_case(&e.sha256) {
            let _ = std::fs::remove_file(&part);
            return Err(Error::Fetch(format!(
                "zoo:{}: {} has SHA-256 {got}, not the manifest's {}: refused, nothing cached",
                e.name, e.url, e.sha256
            )));
        }
        let name = folder_name(e);
        let staging = AtomicDir::begin(&self.root, &name)?;
        let dest = staging.path().join(&name);
        std::fs::create_dir(&dest).map_err(|err| Error::io(&dest, err))?;
        let plain = e.url.rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or("download");
        let plain = if e.path.contains('/') { plain } else { e.path.as_str() };
        // A refused download is not kept either: the next attempt starts afresh.
        let unpacked = archive::unpack_file(&part, &dest, plain, self.limits).inspect_err(|_| {
            let _ = std::fs::remove_file(&part);
        })?;
        let files: Vec<CachedFile> = unpacked.into_iter().map(|u| CachedFile { path: u.path, bytes: u.bytes, sha256: u.sha256 }).collect();
        if !dest.join(&e.path).exists() {
            let _ = std::fs::remove_file(&part);
            let some: Vec<_> = files.iter().take(5).map(|f| f.path.as_str()).collect();
            return Err(Error::Fetch(format!("zoo:{}: the download has no {} (it has {}…)", e.name, e.path, some.join(", "))));
        }
        let about = About { entry: e.clone(), sha256: got, files, added_from: None };
        about.write_into(&dest)?;
        staging.publish(&name)?;
        let _ = std::fs::remove_file(&part);
        let megabytes = about.files.iter().map(|f| f.bytes).sum::<u64>() as f64 / 1e6;
        tell(FetchStep::Unpacked { dir: self.folder(e), megabytes })
    }

    /// Hash again what the cache holds for `e`: the files that changed, went missing or were added.
    pub fn verify(&self, e: &Entry) -> Result<Vec<String>> {
        let about = self.cached(e)?.ok_or_else(|| Error::NotFound(format!("zoo:{}: not cached", e.name)))?;
        let dir = self.folder(e);
        let mut problems = Vec::new();
        for f in &about.files {
            match sha256_file(&dir.join(&f.path)) {
                Ok(h) if h == f.sha256 => {}
                Ok(_) => problems.push(format!("{}: changed", f.path)),
                Err(_) => problems.push(format!("{}: missing", f.path)),
            }
        }
        Ok(problems)
    }

    /// Remove every cached copy of `name` (any hash); the bytes freed.
    pub fn remove(&self, name: &str) -> Result<u64> {
        let mut freed = 0;
        for dir in self.copies(name)? {
            freed += dir_bytes(&dir);
            // Renamed first, so no reader sees a half-removed model.
            let gone =
                self.root.join(format!(".removing-{}-{}", std::process::id(), dir.file_name().unwrap_or_default().to_string_lossy()));
            std::fs::rename(&dir, &gone).map_err(|e| Error::io(&dir, e))?;
            std::fs::remove_dir_all(&gone).map_err(|e| Error::io(&gone, e))?;
        }
        Ok(freed)
    }

    /// The cached folders of `name`, whatever their hash.
    fn copies(&self, name: &str) -> Result<Vec<PathBuf>> {
        let Ok(read) = std::fs::read_dir(&self.root) else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for d in read.flatten() {
            let file_name = d.file_name().to_string_lossy().into_owned();
            let is_copy =
                file_name.rsplit_once('-').is_some_and(|(n, h)| n == name && h.len() == 12 && h.bytes().all(|b| b.is_ascii_hexdigit()));
            if is_copy && d.path().join(ABOUT).exists() {
                out.push(d.path());
            }
        }
        Ok(out)
    }
}

/// The record at `path`: `None` when missing or unreadable (the folder is not a finished
/// copy); an error when a newer tfreuse wrote it.
pub(crate) fn read_about(path: &Path) -> Result<Option<About>> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(None) };
    // Versions 1 and 2 have the same fields: nothing to migrate yet.
    crate::format::ZOO_RECORD.version(path, &text)?;
    Ok(serde_json::from_str(&text).ok())
}

fn folder_name(e: &Entry) -> String {
    format!("{}-{}", e.name, &e.sha256[..12].to_ascii_lowercase())
}

/// Total size of the files below `dir`.
pub(crate) fn dir_bytes(dir: &Path) -> u64 {
    let Ok(read) = std::fs::read_dir(dir) else { return 0 };
    read.flatten()
        .map(|d| match d.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&d.path()),
            Ok(t) if t.is_file() => d.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

/// SHA-256 of a file, in hex.
pub(crate) fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// An exclusive lock on a file, held until dropped (flock: released by the kernel if the
/// process dies, so no stale lock survives a crash).
struct Lock {
    _file: File,
}

impl Lock {
    fn take(path: &Path, tell: &mut dyn FnMut(FetchStep) -> Result<()>) -> Result<Lock> {
        use std::os::fd::AsRawFd;
        let f = File::options().create(true).truncate(false).write(true).open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            tell(FetchStep::Waiting)?;
            if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return Err(Error::io(path, std::io::Error::last_os_error()));
            }
        }
        Ok(Lock { _file: f })
    }
}

/// The model at `path`, read as `e`'s format says.
pub fn source(e: &Entry, path: PathBuf) -> crate::model::ModelSource {
    use crate::model::ModelSource;
    match e.format {
        Format::Meta => ModelSource::Meta(path),
        Format::Graph => ModelSource::Graph(path),
        Format::SavedModel => ModelSource::SavedModel(path, "serve".into()),
    }
}

/// A few lines on a cached model's graph: its size, its placeholders, and whether the tensors
/// the entry names are in it.
pub fn summary(meta: &crate::MetaGraph, e: &Entry) -> Result<Vec<String>> {
    use crate::proto::attr_value::Value;
    let g = meta.graph_def()?;
    let placeholders: Vec<String> = g
        .node
        .iter()
        .filter(|n| n.op == "Placeholder" || n.op == "PlaceholderWithDefault")
        .map(|n| match n.attr.get("shape").and_then(|a| a.value.as_ref()) {
            Some(Value::Shape(s)) if !s.unknown_rank => {
                format!("{} {:?}", n.name, s.dim.iter().map(|d| d.size).collect::<Vec<_>>())
            }
            _ => n.name.clone(),
        })
        .collect();
    let mut lines = vec![
        format!("graph        {} ops, TensorFlow {}", g.node.len(), meta.tensorflow_version()),
        format!("placeholders {}", placeholders.join(", ")),
    ];
    let named = e.input.iter().chain(e.output.iter()).chain(e.branch.iter());
    for t in named {
        let op = crate::tf::op_name(t);
        let found = g.node.iter().find(|n| n.name == op).map(|n| n.op.as_str());
        lines.push(format!("  {t:<40} {}", found.map_or("MISSING from the graph".to_string(), |op| format!("ok ({op})"))));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_of_the_previous_format_reads_and_a_newer_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ABOUT);
        assert!(read_about(&path).unwrap().is_none(), "no record: not cached");
        let entry = Entry {
            name: "t".into(),
            description: String::new(),
            license: String::new(),
            url: "file:///t".into(),
            sha256: "ab".into(),
            format: Format::Meta,
            path: "t.meta".into(),
            bytes: None,
            input: None,
            size: None,
            scale: None,
            output: None,
            branch: vec![],
            source: None,
            trusted: false,
        };
        let about = About { entry, sha256: "ab".into(), files: vec![], added_from: None };
        let text = String::from_utf8(crate::format::ZOO_RECORD.to_json(&about).unwrap()).unwrap();
        assert!(text.starts_with("{\n  \"format\": 2,"), "{text}");
        for t in [text.clone(), text.replace("  \"format\": 2,\n", "")] {
            std::fs::write(&path, t).unwrap();
            assert_eq!(read_about(&path).unwrap().map(|a| a.sha256), Some("ab".into()));
        }
        std::fs::write(&path, text.replace("\"format\": 2", "\"format\": 3")).unwrap();
        let want = format!("{}: written by a newer tfreuse (zoo record format 3; this one reads up to 2): upgrade tfreuse", path.display());
        assert_eq!(read_about(&path).unwrap_err().to_string(), want);
    }
}

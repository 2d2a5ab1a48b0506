//! The model zoo: pretrained TF1 models named in a manifest, fetched on first use, checked
//! against their SHA-256 before anything is unpacked, unpacked safely, and kept in a cache
//! folder per model (`<root>/<name>-<sha256[..12]>`) that appears by one rename when complete.
//! A lock file per model makes two processes fetching at once end with one copy. A download
//! whose publisher pins no SHA-256 is held to the one recorded on first use (`trust`).

internal_mod! {
    add;
    archive;
    manifest;
    net;
    trust;
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
pub use manifest::{Entry, Format, UNPUBLISHED};
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
    /// Fetch a model whose publisher pins no SHA-256 on first use, recording the digest.
    pub trust_on_first_use: bool,
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
        Ok(Zoo { root, entries, offline, net, limits: Limits::default(), manifests, trust_on_first_use: false })
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

    /// The SHA-256 `e`'s download must have: the manifest's, else the one recorded when it
    /// was first fetched (none yet: it was never fetched, or not into this zoo's folder).
    pub fn digest(&self, e: &Entry) -> Result<Option<String>> {
        match e.pinned() {
            Some(h) => Ok(Some(h.to_ascii_lowercase())),
            None => trust::recorded(&self.root, &e.name, &e.url),
        }
    }

    /// The file the digests trusted on first use are recorded in.
    pub fn trust_record(&self) -> PathBuf {
        trust::path(&self.root)
    }

    /// The folder `e` is cached in once fetched (none while its digest is unknown).
    pub fn folder(&self, e: &Entry) -> Result<Option<PathBuf>> {
        Ok(self.digest(e)?.map(|h| self.root.join(folder_name(e, &h))))
    }

    /// What the cache holds for `e`, if it holds it; an error when a newer tfreuse cached it
    /// (fetching again would only collide with its folder).
    pub fn cached(&self, e: &Entry) -> Result<Option<About>> {
        match self.folder(e)? {
            Some(dir) => read_about(&dir.join(ABOUT)),
            None => Ok(None),
        }
    }

    /// The model `e` names on disk, fetched first unless cached; how the fetch goes is told
    /// `sink` ([`Event::Fetch`]).
    pub fn fetch(&self, e: &Entry, sink: &mut dyn EventSink) -> Result<PathBuf> {
        if let Some(model) = self.cached_model(e)? {
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
        let digest = self.digest(e)?;
        if digest.is_none() && !self.trust_on_first_use {
            return Err(Error::Fetch(format!(
                "zoo:{}: its publisher pins no SHA-256 for {} (none first-party is published): re-run with {} to fetch it, print its digest and hold later fetches to it",
                e.name,
                e.url,
                Role::TrustOnFirstUse.mention()
            )));
        }
        std::fs::create_dir_all(self.root.join(".partial")).map_err(|err| Error::io(&self.root, err))?;
        let mut tell = |step| sink.event(&Event::Fetch { name: e.name.clone(), url: e.url.clone(), step });
        let lock = match &digest {
            Some(h) => folder_name(e, h),
            None => format!("{}-first-use", e.name),
        };
        let _lock = Lock::take(&self.root.join(format!(".{lock}.lock")), &mut tell)?;
        // Another process may have fetched it (and recorded its digest) while this one waited.
        match self.cached_model(e)? {
            Some(model) => Ok(model),
            None => self.download_and_unpack(e, &mut tell),
        }
    }

    /// `e`'s model in the cache, if it is cached.
    fn cached_model(&self, e: &Entry) -> Result<Option<PathBuf>> {
        let (Some(dir), Some(_)) = (self.folder(e)?, self.cached(e)?) else { return Ok(None) };
        if !present(e, &dir) {
            return Err(Error::NotFound(format!(
                "zoo:{}: the cached copy has no {} (`tfreuse zoo show {}` lists its files)",
                e.name, e.path, e.name
            )));
        }
        Ok(Some(dir.join(&e.path)))
    }

    /// The download's SHA-256 checked against the one `e` must have; with none yet (and
    /// `--trust-on-first-use`), the one to record.
    fn check_digest(&self, e: &Entry, got: &str, part: &Path) -> Result<Option<String>> {
        let Some(h) = self.digest(e)? else { return Ok(Some(got.to_string())) };
        if got.eq_ignore_ascii_case(&h) {
            return Ok(None);
        }
        let want = match e.pinned() {
            Some(_) => format!("the manifest's {h}"),
            None => format!("{h}, recorded on first use in {}", trust::path(&self.root).display()),
        };
        let _ = std::fs::remove_file(part);
        Err(Error::Fetch(format!("zoo:{}: {} has SHA-256 {got}, not {want}: refused, nothing cached", e.name, e.url)))
    }

    fn download_and_unpack(&self, e: &Entry, tell: &mut dyn FnMut(FetchStep) -> Result<()>) -> Result<PathBuf> {
        let part =
            self.root.join(".partial").join(format!("{}.part", e.pinned().map_or_else(|| format!("{}-first-use", e.name), str::to_string)));
        tell(FetchStep::Started)?;
        self.net.download(&e.url, &part, e.bytes, tell)?;
        let got = sha256_file(&part)?;
        let first_use = self.check_digest(e, &got, &part)?;
        let name = folder_name(e, &got);
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
        if !present(e, &dest) {
            let _ = std::fs::remove_file(&part);
            let some: Vec<_> = files.iter().take(5).map(|f| f.path.as_str()).collect();
            return Err(Error::Fetch(format!("zoo:{}: the download has no {} (it has {}…)", e.name, e.path, some.join(", "))));
        }
        if let Some(sha256) = first_use {
            trust::record(&self.root, trust::Trusted { name: e.name.clone(), url: e.url.clone(), sha256: sha256.clone() })?;
            tell(FetchStep::TrustedOnFirstUse { sha256, record: trust::path(&self.root) })?;
        }
        let about = About { entry: e.clone(), sha256: got, files, added_from: None };
        about.write_into(&dest)?;
        let dir = staging.publish(&name)?;
        let _ = std::fs::remove_file(&part);
        let megabytes = about.files.iter().map(|f| f.bytes).sum::<u64>() as f64 / 1e6;
        tell(FetchStep::Unpacked { dir: dir.clone(), megabytes })?;
        Ok(dir.join(&e.path))
    }

    /// Hash again what the cache holds for `e`: the files that changed, went missing or were
    /// added; for a model no publisher pins, any copy downloaded with another digest than the
    /// one recorded on first use (a record shared from another cache, a copy tampered with).
    pub fn verify(&self, e: &Entry) -> Result<Vec<String>> {
        let want = self.digest(e)?;
        let mut problems = Vec::new();
        let mut any = false;
        for dir in self.copies(&e.name)? {
            let Some(about) = read_about(&dir.join(ABOUT))? else { continue };
            let expected = want.as_deref().is_some_and(|w| w.eq_ignore_ascii_case(&about.sha256));
            if !expected && e.pinned().is_some() {
                continue; // a copy of an earlier manifest's entry: not this one
            }
            any = true;
            if !expected {
                let want = want.as_deref().unwrap_or("none (no digest recorded on first use)");
                problems.push(format!("{}: downloaded with SHA-256 {}, not {want}", dir.display(), about.sha256));
                continue;
            }
            for f in &about.files {
                match sha256_file(&dir.join(&f.path)) {
                    Ok(h) if h == f.sha256 => {}
                    Ok(_) => problems.push(format!("{}: changed", f.path)),
                    Err(_) => problems.push(format!("{}: missing", f.path)),
                }
            }
        }
        if !any {
            return Err(Error::NotFound(format!("zoo:{}: not cached", e.name)));
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
    pub fn copies(&self, name: &str) -> Result<Vec<PathBuf>> {
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

/// The cache folder of `e` downloaded with SHA-256 `digest`.
fn folder_name(e: &Entry, digest: &str) -> String {
    format!("{}-{}", e.name, &digest[..12].to_ascii_lowercase())
}

/// Whether `dir` holds `e`'s model: its path, or for a TF-Slim checkpoint the `.index` of a
/// V2 prefix.
fn present(e: &Entry, dir: &Path) -> bool {
    let p = dir.join(&e.path);
    p.exists() || (matches!(e.format, Format::Slim(_)) && dir.join(format!("{}.index", e.path)).is_file())
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

/// The model at `path`, read as `e`'s format says (a TF-Slim checkpoint: its architecture's
/// built-in graph, restored from `path`).
pub fn source(e: &Entry, path: PathBuf) -> crate::Source {
    use crate::model::ModelSource;
    match e.format {
        Format::Meta => crate::Source::from(ModelSource::Meta(path)),
        Format::Graph => crate::Source::from(ModelSource::Graph(path)),
        Format::SavedModel => crate::Source::from(ModelSource::SavedModel(path, "serve".into())),
        Format::Slim(name) => crate::Source::arch(name).checkpoint(path),
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
    if !meta.aliases.is_empty() {
        // A TF-Slim net's blocks, not their every unit (`inspect` lists all).
        let main: Vec<&str> = meta.aliases.keys().filter(|k| !k.contains("/unit_")).map(String::as_str).collect();
        lines.push(format!("end points   {} ({} in all): {}", main.len(), meta.aliases.len(), main.join(", ")));
    }
    let named = e.input.iter().chain(e.output.iter()).chain(e.branch.iter());
    for t in named {
        let tensor = meta.resolve_name(t)?;
        let op = crate::tf::op_name(&tensor);
        let found = g.node.iter().find(|n| n.name == op).map(|n| n.op.as_str());
        let shown = if tensor == *t { t.clone() } else { format!("{t} = {tensor}") };
        lines.push(format!("  {shown:<40} {}", found.map_or("MISSING from the graph".to_string(), |op| format!("ok ({op})"))));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_slim_entrys_branch_points_and_size_are_its_archs() {
        let all = manifest::parse(manifest::DEFAULT, "default").unwrap();
        let slim: Vec<&Entry> = all.iter().filter(|e| matches!(e.format, Format::Slim(_))).collect();
        assert_eq!(slim.len(), crate::slim::names().len(), "one entry per architecture");
        for e in slim {
            let Format::Slim(name) = e.format else { unreachable!() };
            let arch = crate::slim::Arch::named(name).unwrap();
            let meta = crate::MetaGraph::from_arch(name).unwrap();
            let ops: std::collections::HashSet<String> = meta.graph_def().unwrap().node.into_iter().map(|n| n.name).collect();
            assert!(e.branch.len() >= 2, "{}: a default and another branch point", e.name);
            for b in &e.branch {
                let tensor = meta.resolve_name(b).unwrap();
                assert!(ops.contains(crate::tf::op_name(&tensor)), "{}: branch {b} ({tensor}) is not in {name}'s graph", e.name);
            }
            assert_eq!(e.size.as_deref(), Some(format!("{0}x{0}", arch.size).as_str()), "{}", e.name);
            assert_eq!(e.pinned(), None, "{}: no first-party digest is published", e.name);
            assert!(e.url.starts_with("http://download.tensorflow.org/models/") && e.url.ends_with(".tar.gz"), "{}", e.name);
            assert!(e.path.ends_with(".ckpt") && e.description.contains("% top-1"), "{}", e.name);
        }
    }

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

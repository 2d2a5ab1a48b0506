//! The feature cache on disk: what a frozen cut computes for each picture, kept across runs.
//!
//! One folder per [`Key`] (model files, cut, preprocessing, everything fed besides the
//! pictures), named by its digest and holding `about.json` and segment files. A segment is
//! written whole under a temporary name and renamed into place, never changed after: a run
//! adds one with the pictures it had to compute, so two runs at once only ever add files.
//! Each record is a picture's SHA-256, its row and a CRC32 of both; a damaged record (or a
//! torn tail) is skipped when the folder is read, so its picture is computed again.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use crate::atomic::AtomicDir;
use crate::data::mapped::MappedRows;
use crate::error::{Error, Result, Role};

const MAGIC: &[u8; 8] = b"TFRFEAT1";
const HEADER: usize = 16;
/// More segments than this are merged into one when a run adds to them.
const MAX_SEGMENTS: usize = 16;

/// Everything the cached values depend on besides the pictures, as (what, value) pairs.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Key {
    /// What the values depend on (the model's files, the restored variables, oneDNN …), by name.
    pub parts: Vec<(String, String)>,
    /// Floats per row.
    pub row_len: usize,
}

impl Key {
    /// The folder name: 32 hex digits of the key's SHA-256.
    pub fn id(&self) -> String {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_vec(self).expect("a key serializes");
        Sha256::digest(json).iter().take(16).map(|b| format!("{b:02x}")).collect()
    }
}

/// Where the cache lives unless `--cache-dir` says: `$TFREUSE_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/tfreuse/features`, else `~/.cache/tfreuse/features`.
pub fn default_root() -> Result<PathBuf> {
    user_cache("TFREUSE_CACHE_DIR", "features", Role::CacheDir)
}

/// `$<var>`, else `$XDG_CACHE_HOME/tfreuse/<sub>` or `~/.cache/tfreuse/<sub>`; the argument
/// in `role` (which would name the folder) is named when none of them is set.
pub(crate) fn user_cache(var: &str, sub: &str, role: Role) -> Result<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = env(var) {
        return Ok(d);
    }
    let base = env("XDG_CACHE_HOME")
        .or_else(|| env("HOME").map(|h| h.join(".cache")))
        .ok_or_else(|| Error::Invalid(format!("no cache folder: set {}, {var} or HOME", role.mention())))?;
    Ok(base.join("tfreuse").join(sub))
}

/// SHA-256 of files' contents, in order (the model's digest for a [`Key`]).
pub(crate) fn files_digest(files: &[PathBuf]) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for f in files {
        let bytes = std::fs::read(f).map_err(|e| Error::io(f, e))?;
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// One key's folder.
pub(crate) struct Store {
    pub dir: PathBuf,
    row_len: usize,
}

/// A store opened for a run: the key's folder, or, when a newer tfreuse wrote that folder, a
/// scratch folder removed when this is dropped (the rows read stay mapped).
pub(crate) struct Opened {
    pub store: Store,
    /// Why the key's folder was not used: it is of a newer format (one line).
    pub newer: Option<Error>,
    _scratch: Option<AtomicDir>,
}

impl Store {
    /// The folder of `key` under `root`, made (with its `about.json`) if new. A folder a newer
    /// tfreuse wrote is left alone, neither read (its segments may be laid out otherwise) nor
    /// added to (compaction would drop what it cannot read): the run computes its rows in a
    /// scratch folder instead and keeps none, which only costs time, as a cache miss does.
    pub fn open(root: &Path, key: &Key) -> Result<Opened> {
        let dir = root.join(key.id());
        let about = dir.join("about.json");
        if let Err(newer) = folder_format(&dir) {
            let scratch = AtomicDir::begin(root, &key.id())?;
            let store = Store { dir: scratch.path().to_path_buf(), row_len: key.row_len };
            return Ok(Opened { store, newer: Some(newer), _scratch: Some(scratch) });
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        if !about.exists() {
            crate::atomic::write_bytes_atomic(&about, &crate::format::FEATURE_CACHE.to_json(key)?)?;
        }
        Ok(Opened { store: Store { dir, row_len: key.row_len }, newer: None, _scratch: None })
    }

    /// The segment files, oldest first.
    fn segments(&self) -> Result<Vec<PathBuf>> {
        segments(&self.dir)
    }

    /// Map every segment and index its sound records (later segments win).
    pub fn load(&self) -> Result<Index> {
        let segments = self.segments()?;
        let (mut maps, mut entries, mut damaged) = (Vec::new(), HashMap::new(), 0);
        for path in &segments {
            let file = File::open(path).map_err(|e| Error::io(path, e))?;
            // SAFETY: segments are renamed into place complete and never written again
            // (only removed, which leaves a mapping valid).
            let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
            damaged += index_records(&map, maps.len() as u32, self.row_len, &mut entries);
            maps.push(map);
        }
        Ok(Index { maps: Arc::new(maps), entries, damaged, segments, row_len: self.row_len })
    }

    /// A new segment, invisible until [`Segment::finish`].
    pub fn segment(&self) -> Result<Segment> {
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let name = format!("seg-{stamp:024}-{}.bin", std::process::id());
        let dest = self.dir.join(name);
        let tmp = crate::atomic::temp_path(&dest);
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut out = BufWriter::new(file);
        let mut header = MAGIC.to_vec();
        header.extend((self.row_len as u32).to_le_bytes());
        header.extend([0u8; 4]);
        out.write_all(&header).map_err(|e| Error::io(&tmp, e))?;
        Ok(Segment { out: Some(out), tmp, dest, rows: 0, row_len: self.row_len })
    }

    /// Whether `index` (of this folder) should be merged: many segments, or damage.
    pub fn needs_compaction(index: &Index) -> bool {
        index.segments.len() > MAX_SEGMENTS || index.damaged > 0
    }

    /// Merge the segments `index` read into one (dropping damaged records and duplicates).
    /// Segments another run adds meanwhile are kept.
    pub fn compact(&self, index: &Index) -> Result<()> {
        let mut seg = self.segment()?;
        let mut row = vec![0f32; self.row_len];
        let digests: Vec<&[u8; 32]> = index.entries.keys().collect();
        let rows = index.rows(&digests);
        for (i, digest) in digests.iter().enumerate() {
            rows.copy_row(i, &mut row);
            seg.push(digest, &row)?;
        }
        seg.finish()?;
        for old in &index.segments {
            let _ = std::fs::remove_file(old);
        }
        Ok(())
    }
}

/// The format of the key folder `dir` (1 when it or its key file is missing or unreadable:
/// such a folder is read as before); an error when a newer tfreuse wrote it.
fn folder_format(dir: &Path) -> Result<u32> {
    let about = dir.join("about.json");
    let Ok(text) = std::fs::read_to_string(&about) else { return Ok(1) };
    crate::format::FEATURE_CACHE.version(&about, &text)
}

/// The segment files of a key folder, oldest first.
fn segments(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("seg-") && n.ends_with(".bin")))
        .collect();
    out.sort();
    Ok(out)
}

/// The sound and damaged records of a segment's bytes for rows of `row_len` (the fuzz target's
/// way in).
pub fn check_segment(bytes: &[u8], row_len: usize) -> (usize, usize) {
    let mut entries = HashMap::new();
    let damaged = index_records(bytes, 0, row_len, &mut entries);
    (entries.len(), damaged)
}

/// Index the sound records of segment `m` into `entries`; returns how many were damaged (a
/// bad header or a torn tail counts as one).
fn index_records(map: &[u8], m: u32, row_len: usize, entries: &mut HashMap<[u8; 32], (u32, usize)>) -> usize {
    let record = 32 + row_len * 4 + 4;
    if map.len() < HEADER || &map[..8] != MAGIC || map[8..12] != (row_len as u32).to_le_bytes() {
        return 1;
    }
    let (mut off, mut damaged) = (HEADER, 0);
    while off + record <= map.len() {
        let body = &map[off..off + record - 4];
        let crc = u32::from_le_bytes(map[off + record - 4..off + record].try_into().expect("4 bytes"));
        if crc32fast::hash(body) == crc {
            entries.insert(body[..32].try_into().expect("32 bytes"), (m, off + 32));
        } else {
            damaged += 1;
        }
        off += record;
    }
    damaged + usize::from(off != map.len())
}

/// The sound records of a key folder.
pub struct Index {
    maps: Arc<Vec<Mmap>>,
    entries: HashMap<[u8; 32], (u32, usize)>,
    /// Records (or torn tails, or segments with a bad header) that failed their check.
    pub damaged: usize,
    /// The segment files read.
    pub segments: Vec<PathBuf>,
    row_len: usize,
}

impl Index {
    /// Whether the picture of this SHA-256 has a sound row.
    pub fn contains(&self, digest: &[u8; 32]) -> bool {
        self.entries.contains_key(digest)
    }

    /// Sound rows.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The rows of `digests`, in that order; every one must be in the index.
    pub fn rows(&self, digests: &[&[u8; 32]]) -> MappedRows {
        let rows = digests.iter().map(|d| self.entries[*d]).collect();
        MappedRows::new(self.maps.clone(), rows, self.row_len)
    }
}

/// A segment being written.
pub struct Segment {
    out: Option<BufWriter<File>>,
    tmp: PathBuf,
    dest: PathBuf,
    /// Rows written so far.
    pub rows: usize,
    row_len: usize,
}

impl Segment {
    /// Append the row of the picture of SHA-256 `digest`.
    pub fn push(&mut self, digest: &[u8; 32], row: &[f32]) -> Result<()> {
        debug_assert_eq!(row.len(), self.row_len);
        let mut body = Vec::with_capacity(32 + row.len() * 4 + 4);
        body.extend_from_slice(digest);
        row.iter().for_each(|f| body.extend(f.to_le_bytes()));
        body.extend(crc32fast::hash(&body).to_le_bytes());
        let out = self.out.as_mut().expect("not finished");
        out.write_all(&body).map_err(|e| Error::io(&self.tmp, e))?;
        self.rows += 1;
        Ok(())
    }

    /// Sync and rename into place (nothing when empty).
    pub fn finish(mut self) -> Result<()> {
        let out = self.out.take().expect("not finished");
        if self.rows == 0 {
            return Ok(());
        }
        let file = out.into_inner().map_err(|e| Error::io(&self.tmp, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&self.tmp, e))?;
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| Error::io(&self.dest, e))
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        if !self.dest.exists() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// What `tfreuse cache info` shows of one key folder.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    /// The key folder's name.
    pub id: String,
    /// Its key, when its key file reads.
    pub key: Option<Key>,
    /// Sound rows.
    pub entries: usize,
    /// Records that failed their check.
    pub damaged: usize,
    /// Segment files.
    pub segments: usize,
    /// The folder's size.
    pub bytes: u64,
    /// A newer tfreuse wrote it: it is neither read nor cleared.
    pub newer: bool,
}

/// The key folders under `root`, only those named like ours (a cache dir given by mistake
/// loses nothing else); none when `root` does not exist.
fn key_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    if !root.exists() {
        return Ok(vec![]);
    }
    let ours = |n: &str| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit());
    Ok(std::fs::read_dir(root)
        .map_err(|e| Error::io(root, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|d| d.is_dir() && d.file_name().and_then(|n| n.to_str()).is_some_and(ours))
        .collect())
}

/// Bytes of the files in `dir`.
fn dir_bytes(dir: &Path) -> Result<u64> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    Ok(entries.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum())
}

/// Every key folder under `root`, each indexed (so damage is counted).
pub fn summaries(root: &Path) -> Result<Vec<Summary>> {
    let mut out = Vec::new();
    for dir in key_dirs(root)? {
        let newer = folder_format(&dir).is_err();
        let key: Option<Key> = std::fs::read(dir.join("about.json")).ok().and_then(|b| serde_json::from_slice(&b).ok()).filter(|_| !newer);
        let id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let bytes = dir_bytes(&dir)?;
        let (entries, damaged, segments) = match &key {
            Some(k) => {
                let index = Store { dir: dir.clone(), row_len: k.row_len }.load()?;
                (index.len(), index.damaged, index.segments.len())
            }
            None => (0, 0, segments(&dir)?.len()),
        };
        out.push(Summary { id, key, entries, damaged, segments, bytes, newer });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// What [`clear`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cleared {
    /// The bytes freed.
    pub bytes: u64,
    /// Key folders a newer tfreuse wrote, kept: that version decides what its folders hold.
    pub kept: Vec<PathBuf>,
}

/// Remove every key folder under `root` (nothing else) but those a newer tfreuse wrote.
pub fn clear(root: &Path) -> Result<Cleared> {
    let mut done = Cleared::default();
    for dir in key_dirs(root)? {
        if folder_format(&dir).is_err() {
            done.kept.push(dir);
            continue;
        }
        done.bytes += dir_bytes(&dir)?;
        std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_of_a_newer_format_is_neither_read_nor_added_to_nor_cleared() {
        let root = tempfile::tempdir().unwrap();
        let key = Key { parts: vec![("model".into(), "abc".into())], row_len: 2 };
        let opened = Store::open(root.path(), &key).unwrap();
        assert!(opened.newer.is_none() && opened.store.dir == root.path().join(key.id()));
        let about = opened.store.dir.join("about.json");
        let text = std::fs::read_to_string(&about).unwrap();
        assert!(text.starts_with("{\n  \"format\": 2,"), "{text}");
        assert_eq!(serde_json::from_str::<Key>(&text).unwrap(), key);
        // The previous format (no version) is read as before.
        std::fs::write(&about, text.replace("  \"format\": 2,\n", "")).unwrap();
        assert!(Store::open(root.path(), &key).unwrap().newer.is_none());
        assert_eq!(summaries(root.path()).unwrap()[0].key.as_ref(), Some(&key));
        // A newer one: a scratch folder, gone once dropped; the folder itself untouched.
        let newer = text.replace("\"format\": 2", "\"format\": 3");
        std::fs::write(&about, &newer).unwrap();
        let opened = Store::open(root.path(), &key).unwrap();
        let why = opened.newer.as_ref().unwrap().to_string();
        assert!(
            why.ends_with("about.json: written by a newer tfreuse (feature cache format 3; this one reads up to 2): upgrade tfreuse"),
            "{why}"
        );
        let scratch = opened.store.dir.clone();
        assert!(scratch.starts_with(root.path()) && scratch != root.path().join(key.id()) && scratch.is_dir());
        drop(opened);
        assert!(!scratch.exists());
        assert_eq!(std::fs::read_to_string(&about).unwrap(), newer);
        let s = summaries(root.path()).unwrap();
        assert!(s.len() == 1 && s[0].newer && s[0].key.is_none(), "{s:?}");
        let cleared = clear(root.path()).unwrap();
        assert_eq!(cleared.kept, [root.path().join(key.id())]);
        assert!(about.exists());
    }
}

//! Checkpoints as `tf.train.Saver` writes them: the `checkpoint` state file
//! (`latest_checkpoint`), resolving what the user passed to a prefix, and listing what a
//! checkpoint holds through TF's own checkpoint reader.

use std::ffi::{c_char, c_int, CStr};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, Role};
use crate::tf::runtime::{self as tflib, OpaqueReader, OpaqueStatus, RawStatus, TfLib};

pub(crate) const STATE_FILE: &str = "checkpoint";

/// The parsed `checkpoint` state file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckpointState {
    /// The latest checkpoint's prefix, as written (relative to the file's folder, or absolute).
    pub model_checkpoint_path: String,
    /// Every checkpoint kept, oldest first.
    pub all_model_checkpoint_paths: Vec<String>,
}

impl CheckpointState {
    /// Parse the protobuf text format Python writes (C-style escapes in strings).
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let mut st = CheckpointState::default();
        let mut have_model = false;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |msg: &str| Error::bad_file(path, format!("line {}: {msg}", i + 1));
            let (key, value) = line.split_once(':').ok_or_else(|| bad("expected `key: \"value\"`"))?;
            let value = unquote(value.trim()).map_err(|m| bad(&m))?;
            match key.trim() {
                "model_checkpoint_path" => {
                    st.model_checkpoint_path = value;
                    have_model = true;
                }
                "all_model_checkpoint_paths" => st.all_model_checkpoint_paths.push(value),
                // Newer TF adds timestamps; they do not matter here.
                "all_model_checkpoint_timestamps" | "last_preserved_timestamp" => {}
                other => return Err(bad(&format!("unknown field {other:?}"))),
            }
        }
        if !have_model || st.model_checkpoint_path.is_empty() {
            return Err(Error::bad_file(path, "no model_checkpoint_path in the checkpoint state file"));
        }
        Ok(st)
    }

    /// Text format as Python writes it.
    pub fn to_text(&self) -> String {
        let mut s = format!("model_checkpoint_path: {}\n", quote(&self.model_checkpoint_path));
        for p in &self.all_model_checkpoint_paths {
            s.push_str(&format!("all_model_checkpoint_paths: {}\n", quote(p)));
        }
        s
    }
}

fn unquote(v: &str) -> std::result::Result<String, String> {
    let q = v.chars().next().filter(|c| *c == '"' || *c == '\'').ok_or("expected a quoted string")?;
    let inner = v[1..].strip_suffix(q).ok_or("unterminated string")?;
    let mut out = Vec::new();
    let b = inner.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        let c = *b.get(i).ok_or("string ends in a backslash")?;
        i += 1;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'\\' | b'"' | b'\'' | b'?' => out.push(c),
            b'0'..=b'7' => {
                let mut n = (c - b'0') as u32;
                for _ in 0..2 {
                    match b.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            n = n * 8 + (d - b'0') as u32;
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(u8::try_from(n).map_err(|_| "octal escape out of range")?);
            }
            b'x' => {
                let hex: String = b[i..].iter().take(2).take_while(|d| d.is_ascii_hexdigit()).map(|&d| d as char).collect();
                if hex.is_empty() {
                    return Err("\\x without hex digits".into());
                }
                i += hex.len();
                out.push(u8::from_str_radix(&hex, 16).unwrap_or(0));
            }
            _ => return Err(format!("unknown escape \\{}", c as char)),
        }
    }
    String::from_utf8(out).map_err(|_| "path is not UTF-8".into())
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for &c in s.as_bytes() {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\{c:03o}")),
        }
    }
    out.push('"');
    out
}

/// A checkpoint prefix, with a note when we had to guess.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// The prefix found.
    pub prefix: PathBuf,
    /// How it was guessed, when it was.
    pub warning: Option<String>,
}

/// `tf.train.latest_checkpoint(dir)`: the prefix the state file names, relative paths taken
/// from the state file's directory. Unlike Python, a recorded absolute path that does not
/// exist here (a directory copied from another machine) falls back to the same file name
/// beside the state file, with a warning. `Ok(None)` when there is no state file.
pub fn latest_checkpoint(dir: impl AsRef<Path>) -> Result<Option<Resolved>> {
    let dir = dir.as_ref();
    let state_path = dir.join(STATE_FILE);
    let text = match std::fs::read(&state_path) {
        Ok(b) => String::from_utf8(b).map_err(|_| Error::bad_file(&state_path, "checkpoint state file is not UTF-8 text"))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&state_path, e)),
    };
    let st = CheckpointState::parse(&text, &state_path)?;
    let recorded = PathBuf::from(&st.model_checkpoint_path);
    let prefix = if recorded.is_absolute() { recorded.clone() } else { dir.join(&recorded) };
    if prefix_exists(&prefix) {
        return Ok(Some(Resolved { prefix, warning: None }));
    }
    // `…/d/` (an empty basename: files `d/.index`, `d/.meta`) stands for the directory itself.
    let beside = if st.model_checkpoint_path.ends_with('/') {
        Some(PathBuf::from(format!("{}/", dir.display())))
    } else {
        recorded.file_name().map(|name| dir.join(name))
    };
    if let Some(beside) = beside.filter(|b| prefix_exists(b)) {
        let warning =
            format!("{} names {} which does not exist; using {} beside it", state_path.display(), recorded.display(), beside.display());
        return Ok(Some(Resolved { warning: Some(warning), prefix: beside }));
    }
    Err(Error::bad_file(
        &state_path,
        format!(
            "names checkpoint {} but no {}.index (nor a V1 checkpoint file) exists, nor beside the state file",
            recorded.display(),
            prefix.display()
        ),
    ))
}

/// Does a checkpoint with this prefix exist: V2 (its `.index` file) or V1 (one file, the
/// prefix itself, as `Saver(write_version=V1)` and classic TF-Slim releases wrote)?
pub(crate) fn prefix_exists(prefix: &Path) -> bool {
    index_path(prefix).is_file() || is_v1_file(prefix)
}

/// A V1 checkpoint is one file in TF's table format, which ends with the table magic number.
fn is_v1_file(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    const TABLE_MAGIC: [u8; 8] = 0xdb47_7524_8b80_fb57u64.to_le_bytes();
    let Ok(mut f) = std::fs::File::open(path) else { return false };
    let mut tail = [0u8; 8];
    let is_table = f.seek(SeekFrom::End(-8)).is_ok() && f.read_exact(&mut tail).is_ok() && tail == TABLE_MAGIC;
    is_table && !path.to_string_lossy().ends_with(".index")
}

/// The file that holds a checkpoint's table: `PREFIX.index` (V2) or the V1 file itself.
pub(crate) fn table_path(prefix: &Path) -> PathBuf {
    if is_v1_file(prefix) {
        prefix.to_path_buf()
    } else {
        index_path(prefix)
    }
}

pub(crate) fn index_path(prefix: &Path) -> PathBuf {
    prefix_file(prefix, ".index")
}

/// The file of checkpoint `prefix` ending in `suffix` (`.index`, `.labels.txt` …).
pub(crate) fn prefix_file(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// `dir/model.ckpt` for `dir/model.ckpt.meta` (the prefix Saver wrote it beside).
pub(crate) fn meta_prefix(meta: &Path) -> Option<PathBuf> {
    meta.to_string_lossy().strip_suffix(".meta").map(PathBuf::from)
}

/// What `--checkpoint` may be: a prefix, a directory (its latest checkpoint), or nothing: the
/// `.meta`'s own prefix when it exists (`x.ckpt-120.meta` → `x.ckpt-120`), else the latest
/// checkpoint of its directory.
pub fn resolve(arg: Option<&Path>, meta: &Path) -> Result<Resolved> {
    let dir = match arg {
        Some(p) if p.is_dir() => p.to_path_buf(),
        Some(p) => {
            // The prefix itself, or one of its files given for it.
            let s = p.to_string_lossy();
            let candidates = [Some(&*s), s.strip_suffix(".index"), s.strip_suffix(".meta"), s.rsplit_once(".data-").map(|(stem, _)| stem)];
            if let Some(stem) = candidates.into_iter().flatten().find(|c| prefix_exists(Path::new(c))) {
                return Ok(Resolved { prefix: PathBuf::from(stem), warning: None });
            }
            let msg = format!(
                "no such checkpoint for {} ({} does not exist); pass a prefix like dir/model.ckpt or a directory holding a `checkpoint` file",
                Role::Checkpoint.mention(),
                index_path(p).display()
            );
            return Err(Error::bad_file(p, msg));
        }
        None => {
            // `model.ckpt-120.meta` means `model.ckpt-120`, not whatever is latest beside it.
            if let Some(prefix) = meta_prefix(meta).filter(|p| prefix_exists(p)) {
                return Ok(Resolved { prefix, warning: None });
            }
            crate::atomic::parent_dir(meta).to_path_buf()
        }
    };
    if let Some(r) = latest_checkpoint(&dir)? {
        return Ok(r);
    }
    Err(Error::bad_file(&dir, format!("no checkpoint found (no `checkpoint` state file); pass {} PREFIX", Role::Checkpoint.mention())))
}

/// One tensor stored in a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredTensor {
    /// Its name in the checkpoint (the variable's).
    pub name: String,
    /// Its dtype.
    pub dtype: tensorflow::DataType,
    /// Its shape.
    pub shape: Vec<i64>,
}

type NewReaderFn = unsafe extern "C" fn(*const c_char, *mut OpaqueStatus) -> *mut OpaqueReader;
type DeleteReaderFn = unsafe extern "C" fn(*mut OpaqueReader);
type SizeFn = unsafe extern "C" fn(*mut OpaqueReader) -> c_int;
type GetVariableFn = unsafe extern "C" fn(*mut OpaqueReader, c_int) -> *const c_char;
type DataTypeFn = unsafe extern "C" fn(*mut OpaqueReader, *const c_char) -> c_int;
type NumDimsFn = unsafe extern "C" fn(*mut OpaqueReader, *const c_char) -> c_int;
type ShapeFn = unsafe extern "C" fn(*mut OpaqueReader, *const c_char, *mut i64, c_int, *mut OpaqueStatus);

/// List a checkpoint's tensors with TF's checkpoint reader (`tf.train.list_variables`).
/// Needs the library loaded. Sorted by name.
pub fn list_tensors(prefix: &Path) -> Result<Vec<StoredTensor>> {
    let lib: &TfLib = tflib::require_loaded()?;
    if !prefix_exists(prefix) {
        return Err(Error::bad_file(prefix, format!("no checkpoint ({} missing, nor a V1 file)", index_path(prefix).display())));
    }
    let new_reader: NewReaderFn = lib.sym(b"TF_NewCheckpointReader\0")?;
    let delete_reader: DeleteReaderFn = lib.sym(b"TF_DeleteCheckpointReader\0")?;
    let size: SizeFn = lib.sym(b"TF_CheckpointReaderSize\0")?;
    let get_var: GetVariableFn = lib.sym(b"TF_CheckpointReaderGetVariable\0")?;
    let dtype_of: DataTypeFn = lib.sym(b"TF_CheckpointReaderGetVariableDataType\0")?;
    let ndims_of: NumDimsFn = lib.sym(b"TF_CheckpointReaderGetVariableNumDims\0")?;
    let shape_of: ShapeFn = lib.sym(b"TF_CheckpointReaderGetVariableShape\0")?;

    let c_prefix = tflib::cstring(&prefix.to_string_lossy())?;
    let status = RawStatus::new(lib)?;
    let reader = unsafe { new_reader(c_prefix.as_ptr(), status.ptr) };
    if let Err(msg) = status.check() {
        return Err(Error::bad_file(table_path(prefix), format!("unreadable checkpoint: {}", crate::error::first_line(&msg))));
    }
    if reader.is_null() {
        return Err(Error::bad_file(table_path(prefix), "unreadable checkpoint"));
    }
    struct Guard(*mut OpaqueReader, DeleteReaderFn);
    impl Drop for Guard {
        fn drop(&mut self) {
            unsafe { (self.1)(self.0) }
        }
    }
    let _guard = Guard(reader, delete_reader);
    let mut out = Vec::new();
    for i in 0..unsafe { size(reader) } {
        let name_ptr = unsafe { get_var(reader, i) };
        if name_ptr.is_null() {
            continue;
        }
        let name = unsafe { CStr::from_ptr(name_ptr) }.to_string_lossy().into_owned();
        let dtype = crate::tf::tensors::dtype_from_c(unsafe { dtype_of(reader, name_ptr) });
        let nd = unsafe { ndims_of(reader, name_ptr) }.max(0);
        let mut dims = vec![0i64; nd as usize];
        let st = RawStatus::new(lib)?;
        unsafe { shape_of(reader, name_ptr, dims.as_mut_ptr(), nd, st.ptr) };
        st.check().map_err(|m| Error::bad_file(table_path(prefix), m))?;
        out.push(StoredTensor { name, dtype, shape: dims });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_python_state_file_with_escapes() {
        let text = "model_checkpoint_path: \"/tmp/my \\\"model\\\"\\303\\251.ckpt\"\n\
                    all_model_checkpoint_paths: \"a.ckpt\"\nall_model_checkpoint_paths: \"b.ckpt\"\n";
        let st = CheckpointState::parse(text, Path::new("checkpoint")).unwrap();
        assert_eq!(st.model_checkpoint_path, "/tmp/my \"model\"é.ckpt");
        assert_eq!(st.all_model_checkpoint_paths, ["a.ckpt", "b.ckpt"]);
        let again = CheckpointState::parse(&st.to_text(), Path::new("checkpoint")).unwrap();
        assert_eq!(again, st);
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["model_checkpoint_path: unquoted", "nonsense", "", "model_checkpoint_path: \"x"] {
            assert!(CheckpointState::parse(bad, Path::new("checkpoint")).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn relative_absolute_and_moved_paths() {
        let dir = std::env::temp_dir().join(format!("tfreuse-ckpt-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("m.ckpt.index"), b"").unwrap();
        let write = |p: &str| std::fs::write(dir.join(STATE_FILE), format!("model_checkpoint_path: \"{p}\"\n")).unwrap();
        write("m.ckpt");
        assert_eq!(latest_checkpoint(&dir).unwrap().unwrap(), Resolved { prefix: dir.join("m.ckpt"), warning: None });
        write(&dir.join("m.ckpt").to_string_lossy());
        assert_eq!(latest_checkpoint(&dir).unwrap().unwrap().prefix, dir.join("m.ckpt"));
        write("/elsewhere/on/another/machine/m.ckpt");
        let r = latest_checkpoint(&dir).unwrap().unwrap();
        assert_eq!(r.prefix, dir.join("m.ckpt"));
        assert!(r.warning.unwrap().contains("does not exist"));
        write("/elsewhere/gone.ckpt");
        assert!(latest_checkpoint(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(latest_checkpoint(&dir).unwrap(), None);
    }
}

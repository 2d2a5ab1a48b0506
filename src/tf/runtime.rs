//! Finding and loading libtensorflow at run time.
//!
//! tfreuse is built without TensorFlow (crate feature `tensorflow_runtime_linking`) and loads
//! the C library when a command first needs it. The PyPI wheel `tensorflow-cpu` ships the
//! whole C API inside `libtensorflow_cc.so.2`; the crate's loader only looks for a file named
//! `libtensorflow.so`, so for a wheel we point it at a small directory of symlinks.
//!
//! Search order: an explicit directory (`--tf-lib` / `TENSORFLOW_DIR`); the environment the
//! executable is installed in (`<prefix>/bin/tfreuse` -> `<prefix>/lib/python3.*/site-packages/
//! tensorflow`, so a wheel installed into a venv, or with pipx or `uv tool`, uses the TensorFlow
//! installed beside it); the repo's `.venv`; the site-packages of `python3` on PATH (found
//! without importing TF); `LD_LIBRARY_PATH`; `/usr/local/lib`.

use std::ffi::{c_char, c_int, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{Error, Result, Role};

const WHEEL_LIB: &str = "libtensorflow_cc.so.2";
const WHEEL_FRAMEWORK: &str = "libtensorflow_framework.so.2";
const PLAIN_LIB: &str = "libtensorflow.so";

/// How to find and load the library.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Directory given with `--tf-lib` (wins over everything else).
    pub lib_dir: Option<PathBuf>,
    /// Show TensorFlow's own log output (load banners, oneDNN notes).
    pub verbose: bool,
    /// Set `TF_ENABLE_ONEDNN_OPTS` for this process (None: leave the environment alone).
    pub onednn: Option<bool>,
}

/// The loaded library: where it is, plus a handle for the C functions the crate does not wrap.
pub struct TfLib {
    /// The shared library's path.
    pub path: PathBuf,
    handle: libloading::Library,
}

static LOADED: OnceLock<std::result::Result<TfLib, String>> = OnceLock::new();

/// Load libtensorflow once per process; later calls return the same library.
pub fn load(opts: &LoadOptions) -> Result<&'static TfLib> {
    LOADED.get_or_init(|| load_uncached(opts)).as_ref().map_err(|e| Error::TfLibrary(e.clone()))
}

/// The library [`load`] loaded, or an error saying it is not.
pub(crate) fn require_loaded() -> Result<&'static TfLib> {
    loaded().ok_or_else(|| Error::TfLibrary("libtensorflow is not loaded".into()))
}

/// The library if [`load`] already succeeded.
pub fn loaded() -> Option<&'static TfLib> {
    LOADED.get().and_then(|r| r.as_ref().ok())
}

fn load_uncached(opts: &LoadOptions) -> std::result::Result<TfLib, String> {
    let (dir, searched) = find(opts);
    let Some(dir) = dir else {
        return Err(format!(
            "libtensorflow not found (searched: {}); `pip install tensorflow-cpu==2.21.0` into the \
             environment tfreuse is installed in (or the one of python3 on PATH), or run `make \
             setup` in a checkout, or point {} or $TENSORFLOW_DIR at its directory",
            searched.join(", "),
            Role::TfLib.mention()
        ));
    };
    let load_dir = if dir.join(PLAIN_LIB).is_file() { dir.clone() } else { shim_dir(&dir)? };
    // These are read by TF itself; set them before anything of TF runs. No other thread
    // exists yet: this is the first thing a command does.
    if !opts.verbose && std::env::var_os("TF_CPP_MIN_LOG_LEVEL").is_none() {
        // 3: TF logs even ignored unknown attributes at ERROR level; tfreuse reports what matters.
        std::env::set_var("TF_CPP_MIN_LOG_LEVEL", "3");
    }
    if let Some(on) = opts.onednn {
        std::env::set_var("TF_ENABLE_ONEDNN_OPTS", if on { "1" } else { "0" });
    }
    // Lets a session's global_jit_level reach CPU devices too (off unless a session asks).
    let xla = std::env::var("TF_XLA_FLAGS").unwrap_or_default();
    if !xla.contains("tf_xla_cpu_global_jit") {
        std::env::set_var("TF_XLA_FLAGS", format!("{xla} --tf_xla_cpu_global_jit").trim_start());
    }
    std::env::set_var("TENSORFLOW_DIR", &load_dir);
    let lib_path = load_dir.join(PLAIN_LIB);
    let result = {
        let _quiet = (!opts.verbose).then(StderrSilencer::new);
        tensorflow::library::load()
    };
    result.map_err(|e| format!("cannot load libtensorflow from {}: {e}", dir.display()))?;
    // dlopen of an already loaded library returns the same handle; we use it for the
    // checkpoint-reader functions that the crate does not declare.
    let handle = unsafe { libloading::Library::new(&lib_path) }.map_err(|e| format!("cannot open {}: {e}", lib_path.display()))?;
    Ok(TfLib { path: lib_path, handle })
}

/// Candidate directories in search order; returns the first that holds a library. Each
/// source is only consulted when the ones before it failed (asking python3 costs ~0.3 s).
fn find(opts: &LoadOptions) -> (Option<PathBuf>, Vec<String>) {
    let mut searched = Vec::new();
    let has_lib = |d: &Path| d.join(PLAIN_LIB).is_file() || d.join(WHEEL_LIB).is_file();
    if let Some(d) = &opts.lib_dir {
        // An explicit choice: no silent fallback to another library.
        if has_lib(d) {
            return (Some(d.clone()), searched);
        }
        searched.push(format!("{} {}", Role::TfLib.mention(), d.display()));
        return (None, searched);
    }
    let sources: [(&str, &dyn Fn() -> Vec<PathBuf>); 6] = [
        ("$TENSORFLOW_DIR", &|| std::env::var_os("TENSORFLOW_DIR").map(PathBuf::from).into_iter().collect()),
        ("the install prefix", &|| std::env::current_exe().map(|e| prefix_tensorflow_dirs(&e)).unwrap_or_default()),
        ("the repo's .venv", &|| repo_venv().map(|v| tensorflow_dirs_in(&v)).unwrap_or_default()),
        ("python3's site-packages", &|| python_tensorflow_dir().into_iter().collect()),
        ("$LD_LIBRARY_PATH", &|| std::env::var_os("LD_LIBRARY_PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default()),
        ("/usr/local/lib", &|| vec![PathBuf::from("/usr/local/lib")]),
    ];
    for (label, source) in sources {
        let dirs = source();
        if let Some(d) = dirs.iter().find(|d| has_lib(d)) {
            return (Some(d.clone()), searched);
        }
        searched.push(match dirs.as_slice() {
            [] => label.to_string(),
            ds => format!("{label} ({})", ds.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")),
        });
    }
    (None, searched)
}

/// The `.venv` of the checkout this binary was built in: the nearest ancestor of the
/// executable (target/release/tfreuse) that has one.
fn repo_venv() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?.canonicalize().ok()?;
    exe.ancestors().skip(1).map(|d| d.join(".venv")).find(|v| v.join("lib").is_dir())
}

/// The `tensorflow` package directories of the environment an executable at `exe` was
/// installed into: `exe` is `<prefix>/bin/NAME` (a venv, pipx's or `uv tool`'s venv, a
/// `pip install --prefix`). Nothing for an executable outside a `bin` directory.
fn prefix_tensorflow_dirs(exe: &Path) -> Vec<PathBuf> {
    match exe.parent() {
        Some(bin) if bin.file_name().is_some_and(|n| n == "bin") => bin.parent().map(tensorflow_dirs_in).unwrap_or_default(),
        _ => vec![],
    }
}

/// `<prefix>/lib/python3.*/site-packages/tensorflow` for each Python of `prefix` that has one.
fn tensorflow_dirs_in(prefix: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(prefix.join("lib")) else { return vec![] };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .map(|e| e.path().join("site-packages/tensorflow"))
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

/// The `tensorflow` package directory of `python3` on PATH, found without importing TF.
fn python_tensorflow_dir() -> Option<PathBuf> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import importlib.util as u; s = u.find_spec('tensorflow'); \
             print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| PathBuf::from(s))
}

/// A directory holding `libtensorflow.so` -> the wheel's `libtensorflow_cc.so.2` (and the
/// framework library beside it), under the user's cache, made once per wheel location.
fn shim_dir(wheel_dir: &Path) -> std::result::Result<PathBuf, String> {
    use sha2::{Digest, Sha256};
    let real = wheel_dir.canonicalize().map_err(|e| format!("{}: {e}", wheel_dir.display()))?;
    let digest = Sha256::digest(real.as_os_str().as_encoded_bytes());
    let tag: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let mut roots = Vec::new();
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        roots.push(PathBuf::from(d).join("tfreuse"));
    } else if let Some(h) = std::env::var_os("HOME") {
        roots.push(PathBuf::from(h).join(".cache/tfreuse"));
    }
    roots.push(std::env::temp_dir().join(format!("tfreuse-{}", unsafe { libc::getuid() })));
    let mut last_err = String::new();
    for root in roots {
        let dir = root.join(format!("libtf-{tag}"));
        if shim_ok(&dir, &real) {
            return Ok(dir);
        }
        match make_shim(&root, &dir, &real) {
            Ok(()) => return Ok(dir),
            Err(e) => last_err = format!("{}: {e}", dir.display()),
        }
    }
    Err(format!("cannot create the libtensorflow link directory ({last_err})"))
}

fn shim_ok(dir: &Path, real: &Path) -> bool {
    std::fs::read_link(dir.join(PLAIN_LIB)).map(|t| t == real.join(WHEEL_LIB)).unwrap_or(false) && dir.join(WHEEL_FRAMEWORK).is_file()
}

fn make_shim(root: &Path, dir: &Path, real: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(root)?;
    // Build in a private directory, then rename: concurrent first runs never see half a shim.
    let tmp = root.join(format!(".tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp)?;
    std::os::unix::fs::symlink(real.join(WHEEL_LIB), tmp.join(PLAIN_LIB))?;
    std::os::unix::fs::symlink(real.join(WHEEL_FRAMEWORK), tmp.join(WHEEL_FRAMEWORK))?;
    let _ = std::fs::remove_dir_all(dir);
    match std::fs::rename(&tmp, dir) {
        Ok(()) => Ok(()),
        Err(_) if shim_ok(dir, real) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Points fd 2 at /dev/null while alive: TF's load-time banners ignore TF_CPP_MIN_LOG_LEVEL.
pub(crate) struct StderrSilencer {
    saved: c_int,
}

impl StderrSilencer {
    pub fn new() -> Self {
        unsafe {
            let saved = libc::dup(2);
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
            if saved >= 0 && null >= 0 {
                libc::dup2(null, 2);
            }
            if null >= 0 {
                libc::close(null);
            }
            StderrSilencer { saved }
        }
    }
}

impl Default for StderrSilencer {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for StderrSilencer {
    fn drop(&mut self) {
        if self.saved >= 0 {
            unsafe {
                libc::dup2(self.saved, 2);
                libc::close(self.saved);
            }
        }
    }
}

// ---- C functions the crate does not declare (checkpoint reader, status) ----

#[repr(C)]
pub(crate) struct OpaqueStatus {
    _p: [u8; 0],
}
#[repr(C)]
pub(crate) struct OpaqueReader {
    _p: [u8; 0],
}

type NewStatusFn = unsafe extern "C" fn() -> *mut OpaqueStatus;
type DeleteStatusFn = unsafe extern "C" fn(*mut OpaqueStatus);
type GetCodeFn = unsafe extern "C" fn(*const OpaqueStatus) -> c_int;
type MessageFn = unsafe extern "C" fn(*const OpaqueStatus) -> *const c_char;

/// An owned TF_Status from the raw C API.
pub(crate) struct RawStatus<'a> {
    lib: &'a TfLib,
    pub(crate) ptr: *mut OpaqueStatus,
}

impl<'a> RawStatus<'a> {
    pub(crate) fn new(lib: &'a TfLib) -> Result<Self> {
        let f: NewStatusFn = lib.sym(b"TF_NewStatus\0")?;
        Ok(RawStatus { lib, ptr: unsafe { f() } })
    }

    /// Ok(()) or the status message.
    pub(crate) fn check(&self) -> std::result::Result<(), String> {
        let code: GetCodeFn = self.lib.sym(b"TF_GetCode\0").map_err(|e| e.to_string())?;
        let msg: MessageFn = self.lib.sym(b"TF_Message\0").map_err(|e| e.to_string())?;
        unsafe {
            if code(self.ptr) == 0 {
                Ok(())
            } else {
                Err(CStr::from_ptr(msg(self.ptr)).to_string_lossy().into_owned())
            }
        }
    }
}

impl Drop for RawStatus<'_> {
    fn drop(&mut self) {
        if let Ok(f) = self.lib.sym::<DeleteStatusFn>(b"TF_DeleteStatus\0") {
            unsafe { f(self.ptr) }
        }
    }
}

impl TfLib {
    /// A C function of the library by its NUL-terminated name.
    pub(crate) fn sym<T: Copy>(&self, name: &[u8]) -> Result<T> {
        unsafe {
            self.handle.get::<T>(name).map(|s| *s).map_err(|e| {
                Error::TfLibrary(format!(
                    "{}: missing C function {}: {e}",
                    self.path.display(),
                    String::from_utf8_lossy(&name[..name.len() - 1])
                ))
            })
        }
    }
}

/// TF_Buffer as the C API lays it out.
#[repr(C)]
struct RawBuffer {
    data: *const std::ffi::c_void,
    length: usize,
    deallocator: Option<unsafe extern "C" fn(*mut std::ffi::c_void, usize)>,
}

type GetAllOpListFn = unsafe extern "C" fn() -> *mut RawBuffer;
type DeleteBufferFn = unsafe extern "C" fn(*mut RawBuffer);

/// The names of every op type the loaded library's registry knows (`TF_GetAllOpList`), read
/// once per process.
pub fn registered_ops() -> Result<&'static std::collections::BTreeSet<String>> {
    static OPS: OnceLock<std::result::Result<std::collections::BTreeSet<String>, String>> = OnceLock::new();
    OPS.get_or_init(|| read_op_list().map_err(|e| e.to_string())).as_ref().map_err(|e| Error::TfLibrary(e.clone()))
}

fn read_op_list() -> Result<std::collections::BTreeSet<String>> {
    let lib = require_loaded()?;
    let all: GetAllOpListFn = lib.sym(b"TF_GetAllOpList\0")?;
    let delete: DeleteBufferFn = lib.sym(b"TF_DeleteBuffer\0")?;
    let bytes = unsafe {
        let buf = all();
        if buf.is_null() {
            return Err(Error::TfLibrary("TF_GetAllOpList returned nothing".into()));
        }
        let b = &*buf;
        let bytes = if b.data.is_null() { vec![] } else { std::slice::from_raw_parts(b.data as *const u8, b.length).to_vec() };
        delete(buf);
        bytes
    };
    let list = <crate::proto::OpList as prost::Message>::decode(bytes.as_slice())
        .map_err(|e| Error::Tf(format!("TF_GetAllOpList gave an OpList we cannot decode: {e}")))?;
    Ok(list.op.into_iter().map(|o| o.name).collect())
}

pub(crate) fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::Invalid(format!("name contains a NUL byte: {s:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temp dir laid out like a venv with TensorFlow; nothing is loaded.
    fn venv_with_tf() -> tempfile::TempDir {
        let v = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(v.path().join("bin")).unwrap();
        std::fs::write(v.path().join("bin/tfreuse"), b"").unwrap();
        std::fs::create_dir_all(v.path().join("lib/python3.11/site-packages/tensorflow")).unwrap();
        std::fs::create_dir_all(v.path().join("lib/python3.12/site-packages")).unwrap();
        std::fs::create_dir_all(v.path().join("lib/other/site-packages/tensorflow")).unwrap();
        v
    }

    #[test]
    fn the_install_prefix_is_the_executables_bin_parent() {
        let v = venv_with_tf();
        let found = prefix_tensorflow_dirs(&v.path().join("bin/tfreuse"));
        assert_eq!(found, vec![v.path().join("lib/python3.11/site-packages/tensorflow")]);
    }

    #[test]
    fn an_executable_outside_bin_has_no_install_prefix() {
        let v = venv_with_tf();
        assert!(prefix_tensorflow_dirs(&v.path().join("lib/tfreuse")).is_empty());
        assert!(prefix_tensorflow_dirs(Path::new("tfreuse")).is_empty());
        // target/release/tfreuse of a checkout: no bin, no prefix (the repo's .venv is its own source).
        assert!(prefix_tensorflow_dirs(&v.path().join("target/release/tfreuse")).is_empty());
    }

    #[test]
    fn a_prefix_without_tensorflow_gives_nothing() {
        let v = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(v.path().join("lib/python3.11/site-packages")).unwrap();
        assert!(prefix_tensorflow_dirs(&v.path().join("bin/tfreuse")).is_empty());
    }
}

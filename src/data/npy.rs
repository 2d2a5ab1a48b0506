//! `.npy` / `.npz` files (numpy's formats) as [`DynArray`]s whose dtype is found at run time.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek};
use std::path::Path;

use ndarray::ArrayD;
use ndarray_npy::{NpzWriter, ReadNpyError, ReadNpyExt};

use crate::error::{Error, Result};
use crate::tf::tensors::DynArray;

const UNSUPPORTED: &str = "unsupported array dtype (use float32/64, int8/16/32/64, uint8/16 or bool)";

/// ndarray-npy reads one element type at a time and answers `WrongDescriptor` for the
/// others, so try each dtype tfreuse handles. `$t` names the element type inside `$read`.
macro_rules! read_first_fitting {
    (|$t:ident| $read:expr, $is_wrong:expr, $path:expr) => {
        read_first_fitting!(@each $t, $read, $is_wrong, $path;
            F32 f32, F64 f64, I64 i64, I32 i32, U8 u8, Bool bool, I8 i8, I16 i16, U16 u16)
    };
    (@each $t:ident, $read:expr, $is_wrong:expr, $path:expr; $($variant:ident $ty:ty),*) => {
        'found: {
            $({
                #[allow(dead_code)]
                type $t = $ty;
                match $read {
                    Ok(a) => break 'found Ok(DynArray::$variant(a)),
                    Err(e) if $is_wrong(&e) => {}
                    Err(e) => break 'found Err(Error::bad_file($path, format!("unreadable array: {e}"))),
                }
            })*
            Err(Error::bad_file($path, UNSUPPORTED))
        }
    };
}

/// Read a `.npy` file.
pub fn read_npy(path: &Path) -> Result<DynArray> {
    let size = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    let mut head = Vec::new();
    File::open(path).map_err(|e| Error::io(path, e))?.take(HEADER_PEEK).read_to_end(&mut head).map_err(|e| Error::io(path, e))?;
    check_header(&head, size, path)?;
    let open = || File::open(path).map(BufReader::new).map_err(|e| Error::io(path, e));
    read_first_fitting!(|T| ArrayD::<T>::read_npy(open()?), |e: &ReadNpyError| matches!(e, ReadNpyError::WrongDescriptor(_)), path)
}

const HEADER_PEEK: u64 = 4096;

/// Bytes of data an `.npy` header announces (shape × item size), if it parses.
fn announced_bytes(head: &[u8]) -> Option<u128> {
    let rest = head.strip_prefix(b"\x93NUMPY")?;
    let (major, rest) = (rest.first()?, rest.get(2..)?);
    let (len, rest) = match major {
        1 => (u16::from_le_bytes(rest.get(..2)?.try_into().ok()?) as usize, rest.get(2..)?),
        _ => (u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize, rest.get(4..)?),
    };
    let dict = std::str::from_utf8(rest.get(..len.min(rest.len()))?).ok()?;
    let descr = dict.split("'descr':").nth(1)?.split('\'').nth(1)?;
    let item: u128 = descr.trim_start_matches(['<', '>', '|', '=']).get(1..)?.parse().ok()?;
    let shape = dict.split("'shape':").nth(1)?.split('(').nth(1)?.split(')').next()?;
    let mut n: u128 = 1;
    for d in shape.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        n = n.checked_mul(d.parse().ok()?)?;
    }
    n.checked_mul(item)
}

/// Refuse an array whose header announces more data than `available` bytes can hold, before
/// anything allocates for it (a corrupt header could otherwise ask for terabytes).
fn check_header(head: &[u8], available: u64, path: &Path) -> Result<()> {
    match announced_bytes(head) {
        Some(n) if n > available as u128 => Err(Error::bad_file(
            path,
            format!("array header announces {n} bytes of data but only {available} are there (truncated or corrupt)"),
        )),
        _ => Ok(()), // unparsable headers are left to the reader, which reports them
    }
}

/// An opened `.npz` archive (any seekable source: a file, bytes in memory).
pub struct Npz<R: Read + Seek = BufReader<File>> {
    path: std::path::PathBuf,
    zip: zip::ZipArchive<R>,
}

impl Npz<BufReader<File>> {
    /// Open the archive at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let f = File::open(path).map_err(|e| Error::io(path, e))?;
        Npz::new(BufReader::new(f), path)
    }
}

impl<R: Read + Seek> Npz<R> {
    /// `path` only names the source in errors.
    pub fn new(reader: R, path: &Path) -> Result<Self> {
        let zip = zip::ZipArchive::new(reader).map_err(|e| Error::bad_file(path, format!("not a .npz archive: {e}")))?;
        Ok(Npz { path: path.to_path_buf(), zip })
    }

    /// Array names, without the `.npy` suffix.
    pub fn names(&mut self) -> Result<Vec<String>> {
        (0..self.zip.len())
            .map(|i| {
                let f = self.zip.by_index_raw(i).map_err(|e| Error::bad_file(&self.path, format!("bad .npz archive: {e}")))?;
                Ok(f.name().strip_suffix(".npy").unwrap_or(f.name()).to_string())
            })
            .collect()
    }

    fn entry_name(&mut self, name: &str) -> Result<String> {
        for candidate in [format!("{name}.npy"), name.to_string()] {
            if self.zip.index_for_name(&candidate).is_some() {
                return Ok(candidate);
            }
        }
        let names = self.names()?;
        Err(Error::bad_file(&self.path, format!("no array {name:?} in the archive (it has: {})", names.join(", "))))
    }

    /// The array `name` (with or without `.npy`).
    pub fn get(&mut self, name: &str) -> Result<DynArray> {
        let entry = self.entry_name(name)?;
        let path = self.path.clone();
        let bad = |e: zip::result::ZipError| Error::bad_file(&path, format!("bad .npz archive: {e}"));
        {
            let f = self.zip.by_name(&entry).map_err(bad)?;
            // Deflate expands at most ~1032x; stored entries not at all.
            let limit = f.compressed_size().saturating_mul(1032).saturating_add(1 << 16).min(f.size());
            let mut head = Vec::new();
            f.take(HEADER_PEEK).read_to_end(&mut head).map_err(|e| Error::bad_file(&path, format!("array {name:?}: {e}")))?;
            check_header(&head, limit, &path)?;
        }
        let zip = &mut self.zip;
        read_first_fitting!(
            |T| {
                let f = zip.by_name(&entry).map_err(bad)?;
                ArrayD::<T>::read_npy(f)
            },
            |e: &ReadNpyError| matches!(e, ReadNpyError::WrongDescriptor(_)),
            &path
        )
    }
}

/// Write named arrays as an uncompressed `.npz` (numpy.savez), atomically.
pub fn write_npz(path: &Path, arrays: &[(String, DynArray)]) -> Result<()> {
    crate::atomic::write_atomic(path, |file| {
        let mut w = NpzWriter::new(BufWriter::new(file));
        for (name, a) in arrays {
            let r = match a {
                DynArray::F32(a) => w.add_array(name.as_str(), a),
                DynArray::F64(a) => w.add_array(name.as_str(), a),
                // ndarray-npy writes no float16; every float16 is exactly a float32.
                DynArray::F16(a) => w.add_array(name.as_str(), &a.mapv(f32::from)),
                DynArray::I32(a) => w.add_array(name.as_str(), a),
                DynArray::I64(a) => w.add_array(name.as_str(), a),
                DynArray::U8(a) => w.add_array(name.as_str(), a),
                DynArray::I8(a) => w.add_array(name.as_str(), a),
                DynArray::I16(a) => w.add_array(name.as_str(), a),
                DynArray::U16(a) => w.add_array(name.as_str(), a),
                DynArray::Bool(a) => w.add_array(name.as_str(), a),
            };
            r.map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        w.finish().map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(())
    })
}

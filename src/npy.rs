//! `.npy` / `.npz` files (numpy's formats) as [`DynArray`]s whose dtype is found at run time.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use ndarray::ArrayD;
use ndarray_npy::{NpzReader, NpzWriter, ReadNpyError, ReadNpyExt, ReadNpzError};

use crate::error::{Error, Result};
use crate::tensors::DynArray;

const UNSUPPORTED: &str =
    "unsupported array dtype (use float32/64, int8/16/32/64, uint8/16 or bool)";

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
    let open = || File::open(path).map(BufReader::new).map_err(|e| Error::io(path, e));
    read_first_fitting!(
        |T| ArrayD::<T>::read_npy(open()?),
        |e: &ReadNpyError| matches!(e, ReadNpyError::WrongDescriptor(_)),
        path
    )
}

/// An opened `.npz` archive.
pub struct Npz {
    path: std::path::PathBuf,
    reader: NpzReader<BufReader<File>>,
}

impl Npz {
    pub fn open(path: &Path) -> Result<Self> {
        let f = File::open(path).map_err(|e| Error::io(path, e))?;
        let reader = NpzReader::new(BufReader::new(f))
            .map_err(|e| Error::bad_file(path, format!("not a .npz archive: {e}")))?;
        Ok(Npz { path: path.to_path_buf(), reader })
    }

    /// Array names, without the `.npy` suffix.
    pub fn names(&mut self) -> Result<Vec<String>> {
        self.reader.names().map_err(|e| Error::bad_file(&self.path, format!("bad .npz archive: {e}")))
    }

    pub fn get(&mut self, name: &str) -> Result<DynArray> {
        if !self.names()?.iter().any(|n| n == name) {
            let names = self.names()?;
            return Err(Error::bad_file(
                &self.path,
                format!("no array {name:?} in the archive (it has: {})", names.join(", ")),
            ));
        }
        let path = self.path.clone();
        let reader = &mut self.reader;
        read_first_fitting!(
            |T| reader.by_name::<ndarray::OwnedRepr<T>, ndarray::IxDyn>(name),
            |e: &ReadNpzError| matches!(e, ReadNpzError::Npy(ReadNpyError::WrongDescriptor(_))),
            &path
        )
    }
}

/// Write named arrays as an uncompressed `.npz` (numpy.savez), atomically.
pub fn write_npz(path: &Path, arrays: &[(String, DynArray)]) -> Result<()> {
    crate::fsutil::write_atomic(path, |file| {
        let mut w = NpzWriter::new(BufWriter::new(file));
        for (name, a) in arrays {
            let r = match a {
                DynArray::F32(a) => w.add_array(name.as_str(), a),
                DynArray::F64(a) => w.add_array(name.as_str(), a),
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

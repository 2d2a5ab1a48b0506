//! Data sets: MNIST the way TF1's `input_data.read_data_sets` read it (IDX gzip, pixels
//! float32 in [0, 1], int64 labels, 55 000 train / 5 000 validation / 10 000 test), and any
//! other set as a `.npz` of arrays.
//!
//! Spec strings: `mnist:DIR` (also Fashion-MNIST, same file names), `npz:FILE`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::data::npy::Npz as NpzReader;
use crate::error::{Error, Result, Role};
use crate::tf::tensors::{DynArray, DynTensor};

pub mod augment;
pub mod images;
pub mod npy;
pub mod select;
internal_mod! {
    mapped;
    scale;
}

pub use scale::Scale;

/// Feature storage. MNIST stays as bytes and is scaled when a batch is built (4x less
/// memory than float32, the same floats as input_data computes); everything else is f32.
#[derive(Clone, Debug, PartialEq)]
pub enum Features {
    /// Bytes, fed as `scale` maps them.
    U8 {
        /// The bytes, row after row.
        data: Vec<u8>,
        /// How a byte becomes the float fed.
        scale: Scale,
    },
    /// Float32 values, row after row.
    F32(Vec<f32>),
    /// Pictures not decoded yet (a feature cache on disk decodes only those it lacks): their
    /// rows are read through the cache, never directly (unless decoded first).
    Pictures(Arc<images::Pending>),
    /// Rows of a feature cache on disk.
    Mapped(Arc<mapped::MappedRows>),
}

impl Features {
    /// Values held: rows × features per row (pictures not decoded counted as they will be).
    pub fn len(&self) -> usize {
        match self {
            Features::U8 { data, .. } => data.len(),
            Features::F32(v) => v.len(),
            Features::Pictures(p) => p.files.len() * p.row_len(),
            Features::Mapped(m) => m.len() * m.row_len(),
        }
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How bytes become values, for features stored as pixel bytes (decoded or not yet).
    pub fn scale(&self) -> Option<Scale> {
        match self {
            Features::U8 { scale, .. } => Some(*scale),
            Features::Pictures(p) => Some(p.scale),
            Features::F32(_) | Features::Mapped(_) => None,
        }
    }

    /// Copy elements `start..start + dst.len()` into `dst` as f32.
    pub(crate) fn copy_into(&self, start: usize, dst: &mut [f32]) {
        match self {
            Features::U8 { data, scale } => scale.apply(&data[start..start + dst.len()], start, dst),
            Features::F32(v) => dst.copy_from_slice(&v[start..start + dst.len()]),
            Features::Mapped(m) => {
                // Mapped rows are only ever read whole.
                let r = m.row_len();
                debug_assert!(start.is_multiple_of(r) && dst.len().is_multiple_of(r));
                for (k, chunk) in dst.chunks_mut(r).enumerate() {
                    m.copy_row(start / r + k, chunk);
                }
            }
            Features::Pictures(_) => unreachable!("pictures are decoded or cached before their rows are read"),
        }
    }

    /// Bytes held in memory.
    pub fn bytes(&self) -> usize {
        match self {
            Features::U8 { data, .. } => data.len(),
            Features::F32(v) => v.len() * 4,
            Features::Pictures(_) | Features::Mapped(_) => 0,
        }
    }
}

/// One split: examples of `row_len()` float32 features and an int64 label each.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// The features, row after row.
    pub x: Features,
    /// The labels, one a row.
    pub y: Vec<i64>,
    /// Shape of one example (e.g. `[784]`).
    pub feature_shape: Vec<usize>,
}

impl Split {
    /// Examples.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Features per example.
    pub fn row_len(&self) -> usize {
        self.feature_shape.iter().product()
    }

    /// Rows `start..end` of x into `dst` (`(end - start) * row_len()` floats).
    pub(crate) fn copy_rows(&self, start: usize, end: usize, dst: &mut [f32]) {
        let r = self.row_len();
        self.x.copy_into(start * r, &mut dst[..(end - start) * r]);
    }

    /// Row `i` of x into `dst` (`row_len()` floats).
    pub(crate) fn copy_row(&self, i: usize, dst: &mut [f32]) {
        self.x.copy_into(i * self.row_len(), dst);
    }

    /// All of x as f32.
    pub fn x_f32(&self) -> Vec<f32> {
        let mut v = vec![0f32; self.x.len()];
        self.x.copy_into(0, &mut v);
        v
    }

    /// Rows `start..end` as an array of `dtype`, shaped `[rows, feature_shape…]`: scaled
    /// floats for a float input; for an integer input (images exported as uint8) the stored
    /// integers, e.g. MNIST's raw pixels — scaled floats cast to integers would be 0s and 1s.
    /// Each row is shaped `row` (the feature shape, or another with as many values).
    pub fn rows(&self, start: usize, end: usize, dtype: tensorflow::DataType, row: &[usize]) -> Result<DynArray> {
        use tensorflow::DataType as D;
        debug_assert_eq!(row.iter().product::<usize>(), self.row_len());
        let mut shape = vec![end - start];
        shape.extend(row);
        let r = self.row_len();
        let floats = || {
            let mut v = vec![0f32; (end - start) * r];
            self.copy_rows(start, end, &mut v);
            DynArray::F32(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), v).expect("rows match the shape"))
        };
        match (dtype, &self.x) {
            (D::Float, _) => Ok(floats()),
            (D::Double | D::Half | D::BFloat16, _) => floats().cast(dtype),
            (_, Features::U8 { data, .. }) => {
                let raw = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), data[start * r..end * r].to_vec())
                    .expect("rows match the shape");
                DynArray::U8(raw).cast(dtype)
            }
            (_, Features::F32(v)) if v[start * r..end * r].iter().all(|x| x.fract() == 0.0) => floats().cast(dtype),
            (_, _) => Err(Error::Invalid(format!(
                "the input takes {} but the data's features are fractional floats; feed a float input, or integer features",
                crate::tf::tensors::dtype_name(dtype)
            ))),
        }
    }

    /// [`Split::rows`] as a tensor to feed; float32 rows are copied straight into it.
    pub fn tensor(&self, start: usize, end: usize, dtype: tensorflow::DataType, row: &[usize]) -> Result<DynTensor> {
        if dtype != tensorflow::DataType::Float {
            return Ok(self.rows(start, end, dtype, row)?.to_tensor());
        }
        let mut dims = vec![(end - start) as u64];
        dims.extend(row.iter().map(|&d| d as u64));
        let mut t = tensorflow::Tensor::<f32>::new(&dims);
        self.copy_rows(start, end, &mut t);
        Ok(DynTensor::F32(t))
    }

    /// The rows `idx`, in that order, as a split of their own (kept as stored).
    pub(crate) fn gather(&self, idx: &[usize]) -> Split {
        let r = self.row_len();
        let x = match &self.x {
            Features::U8 { data, scale } => {
                Features::U8 { data: idx.iter().flat_map(|&i| &data[i * r..(i + 1) * r]).copied().collect(), scale: *scale }
            }
            Features::F32(v) => Features::F32(idx.iter().flat_map(|&i| &v[i * r..(i + 1) * r]).copied().collect()),
            Features::Pictures(p) => Features::Pictures(Arc::new(p.gather(idx))),
            Features::Mapped(m) => Features::Mapped(Arc::new(m.gather(idx))),
        };
        Split { x, y: idx.iter().map(|&i| self.y[i]).collect(), feature_shape: self.feature_shape.clone() }
    }

    /// Largest label + 1.
    pub fn num_classes(&self) -> usize {
        self.y.iter().copied().max().map_or(0, |m| m.max(0) as usize + 1)
    }
}

/// A named set of splits (`train`, `validation`, `test`, or `all`).
#[derive(Clone, Debug, Default)]
pub struct DataSet {
    /// Where it was read from (`mnist:data/mnist` …).
    pub source: String,
    /// The splits, by name.
    pub splits: BTreeMap<String, Split>,
    /// Class names by label id, when the data names them (picture folders).
    pub classes: Vec<String>,
    /// Each split's example files in row order, when examples are files.
    pub files: BTreeMap<String, Vec<PathBuf>>,
    /// Files left out, and why (unreadable pictures).
    pub skipped: Vec<(PathBuf, String)>,
    /// How pictures became rows (picture folders).
    pub preprocess: Option<images::Preprocess>,
}

impl DataSet {
    /// `train`, or for a set with one split (`npz:` with plain x, y) `all`.
    pub fn training_split(&self) -> Result<&Split> {
        self.split(self.training_split_name()?)
    }

    /// Whether some split holds pictures not yet decoded.
    pub(crate) fn is_pending(&self) -> bool {
        self.splits.values().any(|s| matches!(s.x, Features::Pictures(_)))
    }

    /// The name of [`DataSet::training_split`].
    pub(crate) fn training_split_name(&self) -> Result<&str> {
        match ["train", "all"].into_iter().find(|n| self.splits.contains_key(*n)) {
            Some(n) => Ok(n),
            None => self.split("train").map(|_| "train"),
        }
    }

    /// The `test` split.
    pub fn test(&self) -> Result<&Split> {
        self.split("test")
    }

    /// The `validation` split.
    pub fn validation(&self) -> Result<&Split> {
        self.split("validation")
    }

    /// Whether a non-empty validation split exists (to stop early and choose on).
    pub fn has_validation(&self) -> bool {
        self.validation().is_ok_and(|v| !v.is_empty())
    }

    /// A split by name, or an error listing the ones there are.
    pub fn split(&self, name: &str) -> Result<&Split> {
        self.splits.get(name).ok_or_else(|| {
            let have = self.splits.keys().cloned().collect::<Vec<_>>().join(", ");
            Error::arg(Role::Split, Some(name), format!("{} has no such split (it has: {have})", self.source))
        })
    }

    /// Features are the stored values mapped by `scale` from now on: MNIST's raw pixels
    /// (input_data's 1/255 by default) and pictures' bytes in any form, an npz's array values
    /// times a number (1 by default). Integer inputs still get MNIST's raw pixels (the scale
    /// is applied where floats are made).
    pub fn rescale(&mut self, scale: Scale) -> Result<()> {
        let refuse = |why: String| Err(Error::arg(Role::Scale, Some(&scale.spec()), why));
        for s in self.splits.values_mut() {
            let channels = s.feature_shape.last().copied().unwrap_or(1);
            if scale.channels() != 1 && (s.feature_shape.len() != 3 || channels != scale.channels()) {
                return refuse(format!("has {} channels; the rows are shaped {:?}", scale.channels(), s.feature_shape));
            }
            match (&mut s.x, scale) {
                (Features::U8 { scale: old, .. }, _) => *old = scale,
                (Features::F32(v), Scale::Times(m)) => v.iter_mut().for_each(|x| *x *= m),
                (Features::F32(_), _) => return refuse("maps pixel bytes; these features are numbers (give a multiplier)".into()),
                (Features::Pictures(p), _) => Arc::make_mut(p).scale = scale,
                (Features::Mapped(_), _) => return Err(Error::Invalid("cached features cannot be rescaled".into())),
            }
        }
        Ok(())
    }

    /// SHA-256 of every split's name, shape, features and labels: equal digests, equal data.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for (name, s) in &self.splits {
            h.update(format!("{name} {:?} {}\n", s.feature_shape, s.len()).as_bytes());
            match &s.x {
                Features::U8 { data, scale } => {
                    h.update(scale.digest_bytes());
                    h.update(data);
                }
                Features::F32(v) => v.iter().for_each(|f| h.update(f.to_le_bytes())),
                // Equal files, equal pictures: their content digests stand for them.
                Features::Pictures(p) => {
                    h.update(p.scale.digest_bytes());
                    p.digests.iter().for_each(|d| h.update(d));
                }
                Features::Mapped(m) => {
                    let mut row = vec![0f32; m.row_len()];
                    for i in 0..m.len() {
                        m.copy_row(i, &mut row);
                        row.iter().for_each(|f| h.update(f.to_le_bytes()));
                    }
                }
            }
            s.y.iter().for_each(|l| h.update(l.to_le_bytes()));
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// MNIST (or Fashion-MNIST) in the four standard IDX files of one folder.
pub struct Mnist;

impl Mnist {
    /// Splits `train` (55 000), `validation` (5 000) and `test` (10 000), exactly as
    /// `input_data.read_data_sets(dir)` makes them; pixels scaled by 1/255 when fed.
    pub fn open(dir: impl AsRef<Path>) -> Result<DataSet> {
        read_mnist(dir.as_ref(), 5000)
    }
}

/// Arrays `x` and `y` (split `all`), or `x_train`/`y_train`, `x_test`/`y_test`, … of an `.npz`.
pub struct Npz;

impl Npz {
    /// The splits of the `.npz` at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<DataSet> {
        read_npz(path.as_ref())
    }
}

const KINDS: &str = "mnist:DIR, npz:FILE, images:DIR or csv:FILE";

/// Load a data set from a spec: `mnist:DIR` or `npz:FILE` (pictures need [`load_with`]).
pub fn load(spec: &str) -> Result<DataSet> {
    load_with(spec, None)
}

/// The kind of data a spec names (`mnist`, `npz`, `images`).
pub fn kind(spec: &str) -> Option<&str> {
    spec.split_once(':').map(|(k, _)| k)
}

/// Load a data set from a spec; `images:DIR` takes `images`, how pictures become rows.
pub fn load_with(spec: &str, images: Option<&images::ImageOptions>) -> Result<DataSet> {
    let quoted = format!("{spec:?}");
    let (kind, rest) = spec.split_once(':').ok_or_else(|| Error::arg(Role::Data, Some(&quoted), format!("expected {KINDS}")))?;
    match (kind, images) {
        ("mnist" | "fashion-mnist", _) => read_mnist(Path::new(rest), 5000),
        ("npz", _) => read_npz(Path::new(rest)),
        ("images", Some(opts)) => images::read_images(Path::new(rest), opts),
        ("csv", Some(opts)) => images::read_csv(Path::new(rest), opts),
        ("images" | "csv", None) => Err(Error::arg(Role::Data, Some(&quoted), "pictures need a size to be resized to (the model's input)")),
        (other, _) => Err(Error::arg(Role::Data, Some(&quoted), format!("unknown kind {other:?} (expected {KINDS})"))),
    }
}

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// `input_data.read_data_sets(dir)`: the first `validation_size` training images become the
/// validation split.
pub(crate) fn read_mnist(dir: &Path, validation_size: usize) -> Result<DataSet> {
    const HOLDS: &str = "an MNIST directory holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, \
                         t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; `make data` fetches them";
    if !dir.is_dir() {
        return Err(Error::bad_file(dir, format!("no such directory ({HOLDS})")));
    }
    let file = |name: &str| -> Result<PathBuf> {
        let p = dir.join(name);
        match p.is_file() {
            true => Ok(p),
            false => Err(Error::bad_file(&p, format!("missing ({HOLDS})"))),
        }
    };
    let train_x = read_idx_images(&file("train-images-idx3-ubyte.gz")?)?;
    let train_y = read_idx_labels(&file("train-labels-idx1-ubyte.gz")?)?;
    let test_x = read_idx_images(&file("t10k-images-idx3-ubyte.gz")?)?;
    let test_y = read_idx_labels(&file("t10k-labels-idx1-ubyte.gz")?)?;
    let train = pair(train_x, train_y, dir, "train")?;
    let test = pair(test_x, test_y, dir, "t10k")?;
    if validation_size > train.len() {
        return Err(Error::Invalid(format!("validation size {validation_size} is larger than the {} training images", train.len())));
    }
    let r = train.row_len();
    let Features::U8 { data: mut pixels, scale } = train.x else { unreachable!("IDX images are bytes") };
    let mut labels = train.y;
    // Move the validation rows out; the training rows stay in the big allocation.
    let val_pixels: Vec<u8> = pixels.drain(..validation_size * r).collect();
    let val_labels: Vec<i64> = labels.drain(..validation_size).collect();
    pixels.shrink_to_fit();
    let validation = Split { x: Features::U8 { data: val_pixels, scale }, y: val_labels, feature_shape: train.feature_shape.clone() };
    let train = Split { x: Features::U8 { data: pixels, scale }, y: labels, feature_shape: train.feature_shape };
    let mut splits = BTreeMap::new();
    splits.insert("train".into(), train);
    splits.insert("validation".into(), validation);
    splits.insert("test".into(), test);
    Ok(DataSet { source: format!("mnist:{}", dir.display()), splits, ..Default::default() })
}

fn pair(x: (Features, Vec<usize>), y: Vec<i64>, dir: &Path, which: &str) -> Result<Split> {
    let n = x.1[0];
    if n != y.len() {
        return Err(Error::bad_file(dir, format!("{which}: {n} images but {} labels", y.len())));
    }
    // input_data flattens each image (28x28 -> 784).
    Ok(Split { x: x.0, y, feature_shape: vec![x.1[1..].iter().product()] })
}

fn read_gz(path: &Path) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // gzip's trailer holds the size mod 2^32: reserve it to avoid regrowing.
    let hint = gz_size_hint(path).unwrap_or(0).min(1 << 30);
    let mut out = Vec::with_capacity(hint);
    flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f))
        .read_to_end(&mut out)
        .map_err(|e| Error::bad_file(path, format!("not a readable gzip file: {e}")))?;
    Ok(out)
}

fn gz_size_hint(path: &Path) -> Option<usize> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    f.seek(SeekFrom::End(-4)).ok()?;
    let mut b = [0u8; 4];
    f.read_exact(&mut b).ok()?;
    Some(u32::from_le_bytes(b) as usize)
}

/// Parse an IDX header; returns dims and the data offset.
fn idx_header(bytes: &[u8], path: &Path, magic: u32, ndim: usize) -> Result<Vec<usize>> {
    let what = if magic == IMAGES_MAGIC { "images" } else { "labels" };
    let word = |i: usize| u32::from_be_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap());
    if bytes.len() >= 4 && word(0) != magic {
        return Err(Error::bad_file(path, format!("not an IDX {what} file (magic {:#010x}, expected {magic:#010x})", word(0))));
    }
    if bytes.len() < 4 + 4 * ndim {
        return Err(Error::bad_file(path, format!("truncated IDX {what} file (no header)")));
    }
    let dims: Vec<usize> = (1..=ndim).map(|i| word(i) as usize).collect();
    let want = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let have = bytes.len() - 4 - 4 * ndim;
    match want {
        Some(w) if w == have => Ok(dims),
        Some(w) if w > have => {
            Err(Error::bad_file(path, format!("truncated IDX {what} file: header says {dims:?} ({w} bytes), {have} present")))
        }
        _ => Err(Error::bad_file(path, format!("IDX {what} file size mismatch: header says {dims:?}, {have} data bytes present"))),
    }
}

/// IDX images as bytes, to be scaled by 1/255 (exactly as input_data computes them:
/// float32(byte) * float32(1/255)).
pub(crate) fn read_idx_images(path: &Path) -> Result<(Features, Vec<usize>)> {
    parse_idx_images(read_gz(path)?, path)
}

/// IDX images (MNIST's format) from bytes already decompressed; `path` only names the source.
pub fn parse_idx_images(mut bytes: Vec<u8>, path: &Path) -> Result<(Features, Vec<usize>)> {
    let dims = idx_header(&bytes, path, IMAGES_MAGIC, 3)?;
    bytes.drain(..16);
    Ok((Features::U8 { data: bytes, scale: Scale::Times((1.0f64 / 255.0) as f32) }, dims))
}

pub(crate) fn read_idx_labels(path: &Path) -> Result<Vec<i64>> {
    parse_idx_labels(read_gz(path)?, path)
}

/// IDX labels (MNIST's format) from bytes already decompressed; `path` only names the source.
pub fn parse_idx_labels(bytes: Vec<u8>, path: &Path) -> Result<Vec<i64>> {
    idx_header(&bytes, path, LABELS_MAGIC, 1)?;
    Ok(bytes[8..].iter().map(|&b| b as i64).collect())
}

/// A `.npz` with `x` and `y` (one split, `all`), and/or `x_<split>` and `y_<split>` pairs.
pub(crate) fn read_npz(path: &Path) -> Result<DataSet> {
    npz_dataset(NpzReader::open(path)?, path)
}

/// A data set from any opened `.npz` archive (e.g. bytes in memory): `x` and `y` (one split,
/// `all`), and/or `x_<split>` and `y_<split>` pairs.
pub fn npz_dataset<R: std::io::Read + std::io::Seek>(mut npz: NpzReader<R>, path: &Path) -> Result<DataSet> {
    let names = npz.names()?;
    let mut splits = BTreeMap::new();
    for name in &names {
        let split = match name.as_str() {
            "x" => "all".to_string(),
            n => match n.strip_prefix("x_") {
                Some(s) => s.to_string(),
                None => continue,
            },
        };
        let yname = if split == "all" { "y".to_string() } else { format!("y_{split}") };
        if !names.contains(&yname) {
            return Err(Error::bad_file(path, format!("array {name:?} has no matching {yname:?}")));
        }
        let x = npz.get(name)?;
        let y = npz.get(&yname)?;
        splits.insert(split.clone(), npz_split(x, y, path, &split)?);
    }
    if splits.is_empty() {
        return Err(Error::bad_file(
            path,
            format!("no x/y arrays (expected `x` and `y`, or `x_train` and `y_train` …; it has: {})", names.join(", ")),
        ));
    }
    Ok(DataSet { source: format!("npz:{}", path.display()), splits, ..Default::default() })
}

fn npz_split(x: DynArray, y: DynArray, path: &Path, split: &str) -> Result<Split> {
    let xs = x.shape().to_vec();
    let n = *xs.first().ok_or_else(|| Error::bad_file(path, format!("x of split {split} is a scalar")))?;
    // One label per row: [n], or a column [n, 1] as Keras-style exports keep them.
    if !matches!(y.shape(), [m] | [m, 1] if *m == n) {
        return Err(Error::bad_file(
            path,
            format!("split {split}: x has {n} rows but y has shape {:?} (expected [{n}] or [{n}, 1])", y.shape()),
        ));
    }
    let labels: Vec<i64> = match &y {
        DynArray::F32(_) | DynArray::F64(_) | DynArray::Bool(_) => {
            return Err(Error::bad_file(
                path,
                format!("split {split}: labels y must be integers, found {}", crate::tf::tensors::dtype_name(y.dtype())),
            ))
        }
        _ => y.to_f64().into_iter().map(|v| v as i64).collect(),
    };
    if let Some(bad) = labels.iter().find(|&&l| l < 0) {
        return Err(Error::bad_file(path, format!("split {split}: negative label {bad}")));
    }
    let features: Vec<f32> = match x {
        DynArray::F32(a) => a.iter().copied().collect(),
        other => other.to_f64().into_iter().map(|v| v as f32).collect(),
    };
    if let Some(i) = features.iter().position(|v| !v.is_finite()) {
        let r = features.len() / n.max(1);
        return Err(Error::bad_file(path, format!("split {split}: x has a NaN or Inf value (row {})", i / r.max(1))));
    }
    Ok(Split { x: Features::F32(features), y: labels, feature_shape: xs[1..].to_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
        let p = std::env::temp_dir().join(format!("tfreuse-data-{}-{name}", std::process::id()));
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn idx_images_scale_like_input_data() {
        let mut raw = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
        raw.extend([0u8, 255, 128, 1]);
        let p = tmp("img.gz", &gz(&raw));
        let (x, dims) = read_idx_images(&p).unwrap();
        assert_eq!(dims, [2, 1, 2]);
        let mut v = [0f32; 4];
        x.copy_into(0, &mut v);
        assert_eq!(v, [0.0, 1.0, 128.0 * (1.0f64 / 255.0) as f32, (1.0f64 / 255.0) as f32]);
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn idx_errors_are_clear() {
        let p = tmp("trunc.gz", &gz(&[0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 7]));
        assert!(read_idx_images(&p).unwrap_err().to_string().contains("truncated IDX images"));
        let p2 = tmp("magic.gz", &gz(&[0, 0, 8, 1, 0, 0, 0, 1, 3]));
        assert!(read_idx_images(&p2).unwrap_err().to_string().contains("not an IDX images file"));
        let p3 = tmp("plain", b"not gzip at all");
        assert!(read_idx_labels(&p3).unwrap_err().to_string().contains("gzip"));
        for p in [p, p2, p3] {
            std::fs::remove_file(p).unwrap();
        }
    }

    #[test]
    fn tiny_npz_fixture() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny/data.npz");
        let d = load(&format!("npz:{}", p.display())).unwrap();
        let all = d.split("all").unwrap();
        assert_eq!((all.len(), all.row_len(), all.num_classes()), (64, 4, 2));
        assert!(d.split("test").unwrap_err().to_string().contains("it has: all"));
    }
}

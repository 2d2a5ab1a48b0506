//! Picture folders as a data set (`images:DIR`), the job TF's retrain.py did: one subfolder per
//! class (sorted names are label ids 0…n-1), or `train/`, `validation/`, `test/` folders each
//! holding class folders. Splits are stable: by a hash of each file's name within its class
//! folder, so adding pictures never moves old ones and moving the folder changes nothing;
//! retrain.py's `_nohash_` convention keeps shots of one object together. Pictures are decoded
//! by content (JPEG, PNG, BMP, GIF's first frame, WebP) with the `image` crate on every core,
//! refused before decoding when their header announces too many pixels, and resized to the
//! model's input; unreadable files are skipped and counted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageReader, Limits};
use rayon::prelude::*;

use crate::data::{DataSet, Features, Split};
use crate::error::{Error, Result, Role};
use crate::model::checkpoint::prefix_file;

/// How a picture is fitted to the input size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResizeMode {
    /// Scaled to the size, aspect ratio not kept.
    Stretch,
    /// The centred largest part of the input's aspect ratio, scaled.
    Crop,
    /// Scaled to fit inside, the rest black (letterbox).
    Pad,
}

impl ResizeMode {
    /// The mode named `s` (`stretch`, `crop`, `pad`).
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "stretch" => Ok(Self::Stretch),
            "crop" => Ok(Self::Crop),
            "pad" => Ok(Self::Pad),
            _ => Err(Error::arg(Role::ResizeMode, Some(s), "expected stretch, crop or pad")),
        }
    }
}

/// What pictures become: `height × width × channels` bytes each, fed as pixel / 255.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Preprocess {
    /// Rows of pixels.
    pub height: u32,
    /// Columns of pixels.
    pub width: u32,
    /// 1 (gray) or 3 (RGB).
    pub channels: u8,
    /// How a picture of another size is fitted.
    pub mode: ResizeMode,
}

impl Preprocess {
    /// The preprocessing an input of static shape `dims` takes: `[?, H, W, C]` gives the size
    /// and channels; a flat `[?, N]` a square of `channels` (1 unless given) with N values.
    /// `size` (`--resize`) and `channels` (`--channels`) override.
    pub fn for_input(dims: Option<&[i64]>, size: Option<(u32, u32)>, channels: Option<u8>, mode: ResizeMode) -> Result<Self> {
        let need = |why: &str| Error::arg(Role::Input, None, format!("{why}; say the picture size with {} HxW", Role::Resize.mention()));
        let (h, w, c) = match dims {
            Some([_, h, w, c]) => (*h, *w, channels.map_or(*c, i64::from)),
            Some([_, n]) if *n > 0 => {
                let c = i64::from(channels.unwrap_or(1));
                let side = ((*n / c) as f64).sqrt().round() as i64;
                match size {
                    Some((h, w)) => (i64::from(h), i64::from(w), c),
                    None if side * side * c == *n => (side, side, c),
                    None => return Err(need(&format!("takes rows of {n} values, not a square picture of {c} channel(s)"))),
                }
            }
            _ => (-1, -1, i64::from(channels.unwrap_or(3))),
        };
        let (h, w) = match size {
            Some((sh, sw)) => (i64::from(sh), i64::from(sw)),
            None if h > 0 && w > 0 => (h, w),
            None => return Err(need("has no static picture size")),
        };
        if c != 1 && c != 3 {
            return Err(Error::arg(Role::Input, None, format!("takes {c} channels; pictures give 1 (gray) or 3 (RGB)")));
        }
        Ok(Preprocess { height: h as u32, width: w as u32, channels: c as u8, mode })
    }

    /// `[height, width, channels]`.
    pub fn feature_shape(&self) -> Vec<usize> {
        vec![self.height as usize, self.width as usize, self.channels as usize]
    }
}

/// What a model trained on pictures records beside its checkpoint (`<prefix>.preprocess.json`),
/// so `predict` feeds new pictures as training fed them.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// How pictures became rows.
    #[serde(flatten)]
    pub preprocess: Preprocess,
    /// How pixel bytes become values (times 1/255 unless `--scale` said otherwise).
    pub scale: crate::data::Scale,
    /// The tensor fed the pictures.
    pub input: String,
    /// The logits the class probabilities come from, when tfreuse built them.
    pub logits: Option<String>,
}

impl Record {
    /// The record saved beside checkpoint `prefix`, with its class names; `None` when there is none.
    pub fn read(prefix: &Path) -> Result<Option<(Record, Vec<String>)>> {
        let json = prefix_file(prefix, ".preprocess.json");
        if !json.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&json).map_err(|e| Error::io(&json, e))?;
        // Versions 1 and 2 have the same fields: nothing to migrate yet.
        crate::format::PICTURE_RECORD.version(&json, &text)?;
        let record: Record = serde_json::from_str(&text).map_err(|e| Error::bad_file(&json, format!("not a preprocessing record: {e}")))?;
        record.check().map_err(|why| Error::bad_file(&json, format!("not a preprocessing record: {why}")))?;
        let labels = prefix_file(prefix, ".labels.txt");
        let names = std::fs::read_to_string(&labels).map_err(|e| Error::io(&labels, e))?;
        Ok(Some((record, names.lines().map(str::to_string).collect())))
    }
}

impl Record {
    /// Sizes a picture can be resized to, channels pictures have, a usable scale.
    fn check(&self) -> std::result::Result<(), String> {
        let p = &self.preprocess;
        let side = 1..=MAX_SIDE;
        if !side.contains(&p.height) || !side.contains(&p.width) {
            return Err(format!("size {}x{} is not within 1..{MAX_SIDE}", p.height, p.width));
        }
        if p.channels != 1 && p.channels != 3 {
            return Err(format!("{} channels (1 or 3)", p.channels));
        }
        if ![1, p.channels as usize].contains(&self.scale.channels()) {
            return Err(format!("scale {} for {} channel(s)", self.scale.spec(), p.channels));
        }
        Ok(())
    }
}

/// The largest side a picture is resized to.
const MAX_SIDE: u32 = 16_384;

/// The files saved beside a checkpoint trained on `data`: for pictures, the class names a line
/// each (`.labels.txt`, as retrain.py's output_labels.txt) and the [`Record`]; else none.
pub(crate) fn side_files(data: &DataSet, input: &str, logits: Option<&str>) -> Result<Vec<(String, Vec<u8>)>> {
    let Some(preprocess) = data.preprocess.clone() else { return Ok(vec![]) };
    let scale = data.training_split()?.x.scale().unwrap_or(crate::data::Scale::Times(1.0));
    let record = Record { preprocess, scale, input: input.to_string(), logits: logits.map(str::to_string) };
    let json = crate::format::PICTURE_RECORD.to_json(&record)?;
    let labels: String = data.classes.iter().map(|c| format!("{c}\n")).collect();
    Ok(vec![(".labels.txt".into(), labels.into_bytes()), (".preprocess.json".into(), json)])
}

/// How a folder becomes splits, and what is refused.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageOptions {
    /// What each picture becomes.
    pub preprocess: Preprocess,
    /// The share of each class for validation, in percent (hash splits only).
    pub validation_pct: f64,
    /// The share of each class for test, in percent (hash splits only).
    pub test_pct: f64,
    /// Unreadable files are errors instead of skipped.
    pub strict: bool,
    /// Pictures announcing more pixels than this are refused before decoding.
    pub max_pixels: u64,
    /// Only list and digest the pictures ([`Pending`]): a feature cache on disk decodes those
    /// it lacks.
    pub lazy: bool,
}

impl ImageOptions {
    /// Pictures as `preprocess` says; 10 % of each class for validation and 10 % for test;
    /// unreadable files skipped; at most 100 million pixels a picture.
    pub fn new(preprocess: Preprocess) -> Self {
        ImageOptions { preprocess, validation_pct: 10.0, test_pct: 10.0, strict: false, max_pixels: 100_000_000, lazy: false }
    }
}

const SPLITS: [&str; 3] = ["train", "validation", "test"];

/// The files of each split, with their label ids.
struct Listing {
    classes: Vec<String>,
    splits: BTreeMap<String, Vec<(PathBuf, i64)>>,
}

/// Read `dir` into a data set of `train` / `validation` / `test` splits.
pub(crate) fn read_images(dir: &Path, opts: &ImageOptions) -> Result<DataSet> {
    read_listing(list(dir, opts)?, dir, &format!("images:{}", dir.display()), opts)
}

/// Read the pictures a table names (`csv:FILE`: `path,label` rows, paths relative to the
/// file, an optional `path,label` header); labels are class names, sorted into ids.
pub(crate) fn read_csv(file: &Path, opts: &ImageOptions) -> Result<DataSet> {
    read_listing(list_csv(file, opts)?, file, &format!("csv:{}", file.display()), opts)
}

fn read_listing(listing: Listing, dir: &Path, source: &str, opts: &ImageOptions) -> Result<DataSet> {
    let mut data =
        DataSet { source: source.to_string(), classes: listing.classes, preprocess: Some(opts.preprocess.clone()), ..Default::default() };
    for (name, entries) in listing.splits {
        let split = if opts.lazy {
            digest_split(entries, opts, &mut data.skipped)?
        } else {
            decode_split(entries, opts, Default::default(), &mut data.skipped)?
        };
        if let Some((split, kept)) = split {
            data.splits.insert(name.clone(), split);
            data.files.insert(name, kept);
        }
    }
    if !data.splits.contains_key("train") {
        return Err(Error::bad_file(dir, "no readable picture in the training split"));
    }
    Ok(data)
}

/// Decode `entries` on every core into a split of pixel bytes (fed as `scale` maps them) and the files
/// kept; unreadable ones are added to `skipped` (errors with `--strict`). `None` when none is left.
fn decode_split(
    entries: Vec<(PathBuf, i64)>,
    opts: &ImageOptions,
    scale: crate::data::Scale,
    skipped: &mut Vec<(PathBuf, String)>,
) -> Result<Option<(Split, Vec<PathBuf>)>> {
    let decoded: Vec<std::result::Result<Vec<u8>, String>> = entries.par_iter().map(|(p, _)| decode(p, opts)).collect();
    let (mut x, mut y, mut kept) = (Vec::new(), Vec::new(), Vec::new());
    for ((path, label), d) in entries.into_iter().zip(decoded) {
        match d {
            Ok(pixels) => {
                x.extend_from_slice(&pixels);
                y.push(label);
                kept.push(path);
            }
            Err(why) => skip(skipped, path, &why, opts.strict)?,
        }
    }
    let feature_shape = opts.preprocess.feature_shape();
    Ok((!y.is_empty()).then(|| (Split { x: Features::U8 { data: x, scale }, y, feature_shape }, kept)))
}

/// A file that is no readable picture: an error with `--strict`, else counted.
pub(crate) fn skip(skipped: &mut Vec<(PathBuf, String)>, path: PathBuf, why: &str, strict: bool) -> Result<()> {
    if strict {
        return Err(Error::bad_file(&path, format!("{} ({})", why.trim(), Role::Strict.mention())));
    }
    skipped.push((path, why.trim().to_string()));
    Ok(())
}

/// Read `entries` on every core for their content digests only ([`Pending`]); decoding waits
/// for the feature cache, which decodes only the pictures it lacks.
fn digest_split(
    entries: Vec<(PathBuf, i64)>,
    opts: &ImageOptions,
    skipped: &mut Vec<(PathBuf, String)>,
) -> Result<Option<(Split, Vec<PathBuf>)>> {
    use sha2::{Digest, Sha256};
    let digests: Vec<std::io::Result<[u8; 32]>> =
        entries.par_iter().map(|(p, _)| std::fs::read(p).map(|b| Sha256::digest(&b).into())).collect();
    let (mut files, mut ds, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for ((path, label), d) in entries.into_iter().zip(digests) {
        match d {
            Ok(d) => {
                files.push(path);
                ds.push(d);
                y.push(label);
            }
            Err(e) => skip(skipped, path, &e.to_string(), opts.strict)?,
        }
    }
    let pending = Pending { files: files.clone(), digests: ds, opts: opts.clone(), scale: Default::default() };
    let feature_shape = opts.preprocess.feature_shape();
    Ok((!y.is_empty()).then(|| (Split { x: Features::Pictures(std::sync::Arc::new(pending)), y, feature_shape }, files)))
}

/// Pictures listed and digested but not decoded (see [`ImageOptions::lazy`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    /// The picture files, in row order.
    pub files: Vec<PathBuf>,
    /// SHA-256 of each file's bytes when listed.
    pub digests: Vec<[u8; 32]>,
    /// How they are to be decoded.
    pub opts: ImageOptions,
    /// How pixel bytes become values.
    pub scale: crate::data::Scale,
}

impl Pending {
    /// Values per decoded picture.
    pub fn row_len(&self) -> usize {
        self.opts.preprocess.feature_shape().iter().product()
    }

    /// The pictures `idx`, in that order.
    pub(crate) fn gather(&self, idx: &[usize]) -> Pending {
        Pending {
            files: idx.iter().map(|&i| self.files[i].clone()).collect(),
            digests: idx.iter().map(|&i| self.digests[i]).collect(),
            opts: self.opts.clone(),
            scale: self.scale,
        }
    }
}

/// `data` with every [`Pending`] split decoded (unreadable pictures skipped and counted).
pub(crate) fn decode_pending(mut data: DataSet) -> Result<DataSet> {
    for (name, split) in std::mem::take(&mut data.splits) {
        let Features::Pictures(p) = &split.x else {
            data.splits.insert(name, split);
            continue;
        };
        let entries = p.files.iter().cloned().zip(split.y.iter().copied()).collect();
        if let Some((split, kept)) = decode_split(entries, &p.opts, p.scale, &mut data.skipped)? {
            data.splits.insert(name.clone(), split);
            data.files.insert(name, kept);
        }
    }
    Ok(data)
}

/// The class folders and their files, split by folder (`train/` …) or by hash.
fn list(dir: &Path, opts: &ImageOptions) -> Result<Listing> {
    if !dir.is_dir() {
        return Err(Error::bad_file(dir, "not a directory (images:DIR takes a folder of class folders)"));
    }
    if dir.join("train").is_dir() {
        return list_presplit(dir);
    }
    let classes = class_folders(dir)?;
    let mut splits: BTreeMap<String, Vec<(PathBuf, i64)>> = BTreeMap::new();
    for (label, class) in classes.iter().enumerate() {
        let files = pictures(&dir.join(class), 2)?;
        for f in files {
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            splits.entry(split_of(&name, opts.validation_pct, opts.test_pct).to_string()).or_default().push((f, label as i64));
        }
    }
    Ok(Listing { classes, splits })
}

/// The rows of a `path,label` table, split by a hash of each path as written.
fn list_csv(file: &Path, opts: &ImageOptions) -> Result<Listing> {
    let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
    let rows = parse_table(&bytes, file)?;
    let base = file.parent().unwrap_or(Path::new("."));
    let mut classes: Vec<String> = rows.iter().map(|(_, l)| l.clone()).collect();
    classes.sort();
    classes.dedup();
    if classes.len() < 2 {
        return Err(Error::bad_file(file, format!("names {} class(es); a classifier needs two or more", classes.len())));
    }
    if let Some(c) = classes.iter().find(|c| rows.iter().filter(|(_, l)| l == *c).count() < 2) {
        return Err(Error::bad_file(file, format!("class {c} has 1 picture; each class needs at least 2")));
    }
    let mut splits: BTreeMap<String, Vec<(PathBuf, i64)>> = BTreeMap::new();
    for (path, l) in rows {
        let label = classes.iter().position(|c| *c == l).expect("a listed class") as i64;
        let split = split_of(&path, opts.validation_pct, opts.test_pct);
        splits.entry(split.to_string()).or_default().push((base.join(&path), label));
    }
    Ok(Listing { classes, splits })
}

/// The `(path, label)` rows of a table (`file` names it in errors).
pub fn parse_table(bytes: &[u8], file: &Path) -> Result<Vec<(String, String)>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut rows: Vec<(String, String)> = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| Error::bad_file(file, e.to_string()))?;
        let bad = |why: &str| Error::bad_file(file, format!("row {}: {why}", i + 1));
        match (rec.get(0).map(str::trim), rec.get(1).map(str::trim), rec.len()) {
            (Some("path"), Some("label"), 2) if i == 0 => continue,
            (Some(p), Some(l), 2) if !p.is_empty() && !l.is_empty() => rows.push((p.to_string(), l.to_string())),
            _ => return Err(bad("expected path,label")),
        }
    }
    Ok(rows)
}

/// `train/`, `validation/`, `test/` each holding class folders; labels by the training split's.
fn list_presplit(dir: &Path) -> Result<Listing> {
    let classes = class_folders(&dir.join("train"))?;
    let mut splits = BTreeMap::new();
    for split in SPLITS.iter().filter(|s| dir.join(s).is_dir()) {
        let mut entries = Vec::new();
        for class in class_folders(&dir.join(split))? {
            let label = classes
                .iter()
                .position(|c| *c == class)
                .ok_or_else(|| Error::bad_file(dir.join(split).join(&class), "a class the training split does not have"))?;
            let min = if *split == "train" { 2 } else { 0 };
            entries.extend(pictures(&dir.join(split).join(&class), min)?.into_iter().map(|f| (f, label as i64)));
        }
        splits.insert(split.to_string(), entries);
    }
    Ok(Listing { classes, splits })
}

/// The sorted names of the visible subfolders of `dir`; at least two.
fn class_folders(dir: &Path) -> Result<Vec<String>> {
    let names = class_folders_of(dir)?;
    match names.len() {
        0 => Err(Error::bad_file(dir, "has no class folders (one subfolder of pictures per class)")),
        1 => Err(Error::bad_file(dir, format!("has one class folder only ({}); a classifier needs two or more", names[0]))),
        _ => Ok(names),
    }
}

/// The sorted names of the visible subfolders of `dir`, however many.
pub(crate) fn class_folders_of(dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = read_dir(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

/// The visible files of a class folder, sorted; at least `min`.
pub(crate) fn pictures(dir: &Path, min: usize) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = read_dir(dir)?
        .into_iter()
        .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    files.sort();
    if files.len() < min {
        return Err(Error::bad_file(dir, format!("has {} picture(s); each class needs at least {min}", files.len())));
    }
    Ok(files)
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    rd.map(|e| e.map(|e| e.path()).map_err(|e| Error::io(dir, e))).collect()
}

/// The split of a file by its name within the class folder: retrain.py's rule with SHA-256 of
/// the name (up to `_nohash_`) for its SHA-1 of the whole path.
pub(crate) fn split_of(file_name: &str, validation_pct: f64, test_pct: f64) -> &'static str {
    use sha2::{Digest, Sha256};
    let key = file_name.find("_nohash_").map_or(file_name, |i| &file_name[..i]);
    let h = Sha256::digest(key.as_bytes());
    let n = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
    let pct = (n % 1_000_000) as f64 / 10_000.0;
    if pct < validation_pct {
        "validation"
    } else if pct < validation_pct + test_pct {
        "test"
    } else {
        "train"
    }
}

/// One picture file as `height × width × channels` bytes, or why it cannot be.
pub fn decode(path: &Path, opts: &ImageOptions) -> std::result::Result<Vec<u8>, String> {
    decode_bytes(&std::fs::read(path).map_err(|e| e.to_string())?, opts)
}

/// [`decode`] on a file's bytes; the format is told by content, never by the file name.
pub fn decode_bytes(bytes: &[u8], opts: &ImageOptions) -> std::result::Result<Vec<u8>, String> {
    let reader = ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    if reader.format().is_none() {
        return Err("not a picture (JPEG, PNG, BMP, GIF or WebP)".into());
    }
    let mut reader = reader;
    let mut limits = Limits::default();
    limits.max_alloc = Some(opts.max_pixels.saturating_mul(4));
    let side = u32::try_from(opts.max_pixels).unwrap_or(u32::MAX);
    (limits.max_image_width, limits.max_image_height) = (Some(side), Some(side));
    reader.limits(limits);
    let img = reader.decode().map_err(|e| e.to_string())?;
    if u64::from(img.width()) * u64::from(img.height()) > opts.max_pixels {
        return Err(format!("{}×{} pixels: over the limit of {}", img.width(), img.height(), opts.max_pixels));
    }
    Ok(fit(img, &opts.preprocess))
}

/// Resize as `p.mode` says and convert to `p.channels`.
pub fn fit(img: DynamicImage, p: &Preprocess) -> Vec<u8> {
    use fast_image_resize::PixelType;
    let (sw, sh) = (img.width(), img.height());
    // Channels first (as Python's rgb_to_grayscale before resize), then one resize.
    let (pixels, kind) = match (p.channels, img.color().has_color()) {
        (1, true) => (gray_601(&img.into_rgb8()), PixelType::U8),
        (1, false) => (img.into_luma8().into_raw(), PixelType::U8),
        _ => (img.into_rgb8().into_raw(), PixelType::U8x3),
    };
    let (w, h) = (p.width, p.height);
    match p.mode {
        ResizeMode::Stretch => resize(pixels, (sw, sh), kind, (w, h), false),
        ResizeMode::Crop => resize(pixels, (sw, sh), kind, (w, h), true),
        ResizeMode::Pad => {
            // The largest size of the picture's aspect ratio inside, centred on black.
            let ratio = f64::min(f64::from(w) / f64::from(sw), f64::from(h) / f64::from(sh));
            let (iw, ih) = (((f64::from(sw) * ratio).round() as u32).clamp(1, w), ((f64::from(sh) * ratio).round() as u32).clamp(1, h));
            let inner = resize(pixels, (sw, sh), kind, (iw, ih), false);
            let c = kind.size();
            let (x0, y0) = ((w - iw) as usize / 2, (h - ih) as usize / 2);
            let mut canvas = vec![0u8; (w * h) as usize * c];
            for (y, row) in inner.chunks(iw as usize * c).enumerate() {
                let at = ((y0 + y) * w as usize + x0) * c;
                canvas[at..at + row.len()].copy_from_slice(row);
            }
            canvas
        }
    }
}

/// `pixels` (`from` sized, of `kind`) resized to `to` with a bilinear (triangle) filter
/// widened when shrinking, as PIL and `tf.image.resize(antialias=True)` do; `crop` takes the
/// centred part of the picture with `to`'s aspect ratio first.
fn resize(pixels: Vec<u8>, from: (u32, u32), kind: fast_image_resize::PixelType, to: (u32, u32), crop: bool) -> Vec<u8> {
    use fast_image_resize::{images::Image, FilterType, ResizeAlg, ResizeOptions, Resizer};
    if from == to && !crop {
        return pixels;
    }
    let src = Image::from_vec_u8(from.0, from.1, pixels, kind).expect("decoded pixels fill the picture");
    let mut dst = Image::new(to.0, to.1, kind);
    let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    if crop {
        options = options.fit_into_destination(Some((0.5, 0.5)));
    }
    Resizer::new().resize(&src, &mut dst, &options).expect("same pixel type on both sides");
    dst.into_vec()
}

/// Gray by ITU-R 601 weights, as TF's `rgb_to_grayscale` and PIL's `convert("L")` make it (the
/// `image` crate's luma uses Rec. 709's).
fn gray_601(rgb: &image::RgbImage) -> Vec<u8> {
    rgb.pixels().map(|p| ((299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]) + 500) / 1000) as u8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_of_the_previous_format_reads_and_a_newer_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("m.ckpt");
        let preprocess = Preprocess { height: 28, width: 28, channels: 1, mode: ResizeMode::Stretch };
        let record = Record { preprocess, scale: crate::data::Scale::Times(1.0 / 255.0), input: "X:0".into(), logits: None };
        let json = dir.path().join("m.ckpt.preprocess.json");
        let text = String::from_utf8(crate::format::PICTURE_RECORD.to_json(&record).unwrap()).unwrap();
        assert!(text.starts_with("{\n  \"format\": 2,"), "{text}");
        std::fs::write(dir.path().join("m.ckpt.labels.txt"), "a\nb\n").unwrap();
        for (what, t) in [("current", text.clone()), ("previous", text.replace("  \"format\": 2,\n", ""))] {
            std::fs::write(&json, t).unwrap();
            assert_eq!(Record::read(&prefix).unwrap(), Some((record.clone(), vec!["a".into(), "b".into()])), "{what}");
        }
        std::fs::write(&json, text.replace("\"format\": 2", "\"format\": 3")).unwrap();
        let err = Record::read(&prefix).unwrap_err();
        let want =
            format!("{}: written by a newer tfreuse (picture record format 3; this one reads up to 2): upgrade tfreuse", json.display());
        assert_eq!((err.to_string(), err.exit_code()), (want, 3));
    }

    #[test]
    fn crop_takes_the_centre_and_pad_letterboxes() {
        // 20 wide, 10 high: columns 0-4 white, the rest gray 100.
        let img = image::GrayImage::from_fn(20, 10, |x, _| image::Luma([if x < 5 { 255 } else { 100 }]));
        let p = |mode| Preprocess { height: 10, width: 10, channels: 1, mode };
        let crop = fit(DynamicImage::ImageLuma8(img.clone()), &p(ResizeMode::Crop));
        assert!(crop.iter().all(|&v| v == 100), "the centred 10x10 has no white column: {crop:?}");
        let pad = fit(DynamicImage::ImageLuma8(img.clone()), &p(ResizeMode::Pad));
        let rows: Vec<&[u8]> = pad.chunks(10).collect();
        // 10x5 inside, rows 2-6.
        assert!(rows[..2].iter().chain(&rows[7..]).all(|r| r.iter().all(|&v| v == 0)), "black above and below: {rows:?}");
        assert!(rows[2..7].iter().all(|r| r[0] > 200 && r[9] == 100), "the whole picture in between: {rows:?}");
        let stretch = fit(DynamicImage::ImageLuma8(img), &p(ResizeMode::Stretch));
        assert!(stretch.chunks(10).all(|r| r[0] == 255 && r[9] == 100), "{stretch:?}");
    }

    #[test]
    fn gif_and_webp_decode_by_content_whatever_the_name() {
        let mut img = image::RgbImage::new(10, 4);
        img.put_pixel(3, 1, image::Rgb([200, 100, 50]));
        let opts = ImageOptions::new(Preprocess { height: 4, width: 10, channels: 3, mode: ResizeMode::Stretch });
        for format in [image::ImageFormat::Gif, image::ImageFormat::WebP, image::ImageFormat::Bmp] {
            let mut bytes = std::io::Cursor::new(Vec::new());
            DynamicImage::ImageRgb8(img.clone()).write_to(&mut bytes, format).unwrap();
            let px = decode_bytes(bytes.get_ref(), &opts).unwrap();
            assert_eq!(px.len(), 120, "{format:?}");
            assert!(px[(10 + 3) * 3] > 150, "{format:?}: the bright pixel is where it was");
        }
        let mut big = opts.clone();
        big.max_pixels = 39;
        assert!(decode_bytes(&std::fs::read_to_string(file!()).unwrap().into_bytes(), &opts).unwrap_err().contains("not a picture"));
        let mut png = std::io::Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(img).write_to(&mut png, image::ImageFormat::Png).unwrap();
        assert!(decode_bytes(png.get_ref(), &big).is_err(), "40 pixels over a limit of 39");
    }

    #[test]
    fn splits_are_stable_and_nohash_groups() {
        let a = split_of("cat_nohash_1.jpg", 30.0, 30.0);
        assert_eq!(a, split_of("cat_nohash_2.png", 30.0, 30.0));
        let names: Vec<String> = (0..2000).map(|i| format!("p{i}.png")).collect();
        let count = |s: &str| names.iter().filter(|n| split_of(n, 10.0, 20.0) == s).count();
        let (v, t) = (count("validation"), count("test"));
        assert!((150..250).contains(&v) && (330..470).contains(&t), "{v} {t}");
    }
}

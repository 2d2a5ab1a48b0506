//! Classifying new pictures with a trained model: each decoded and fitted as its training
//! pictures were (the [`Record`](crate::data::images::Record) beside the checkpoint), fed in
//! batches, the logits turned into probabilities and the `k` likeliest classes.

use std::path::PathBuf;

use rayon::prelude::*;
use tensorflow::Output;

use crate::data::images::{decode, ImageOptions};
use crate::data::{Features, Split};
use crate::error::{Error, Result};
use crate::feed::FixedFeeds;
use crate::model::Model;

/// Pictures per session run.
const BATCH: usize = 64;

/// What became of one file: the `k` likeliest class ids with their probabilities, or why the
/// file could not be read.
pub type Prediction = std::result::Result<Vec<(usize, f32)>, String>;

/// The files of `paths`: files as given, directories' visible files sorted.
pub fn picture_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            out.extend(crate::data::images::pictures(p, 0)?);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(Error::bad_file(p, "no such file or directory"));
        }
    }
    Ok(out)
}

/// A trained picture model with how its pictures are fitted and scaled: what `predict` needs.
pub struct Classifier<'m> {
    model: &'m Model,
    input: Output,
    logits: Output,
    opts: ImageOptions,
    scale: crate::data::Scale,
    /// Class names by id (empty: the ids are the names).
    pub classes: Vec<String>,
}

impl<'m> Classifier<'m> {
    /// `model` as tfreuse trained it on pictures: the record beside its restored checkpoint
    /// names the input, the logits, the picture size and scale, and the class names.
    pub fn new(model: &'m Model) -> Result<Self> {
        let none = || Error::Invalid("the model has no record of how it saw pictures (not trained by tfreuse on pictures)".into());
        let prefix = model.restored.as_deref().ok_or_else(none)?;
        let (record, classes) = crate::data::images::Record::read(prefix)?.ok_or_else(none)?;
        let logits = record.logits.as_deref().ok_or_else(none)?;
        let opts = ImageOptions::new(record.preprocess.clone());
        Self::from_parts(model, (&record.input, logits), opts, record.scale, classes)
    }

    /// `model`'s `input` and `logits` tensors (names), pictures fitted by `opts` and scaled by `scale`.
    pub fn from_parts(
        model: &'m Model,
        (input, logits): (&str, &str),
        opts: ImageOptions,
        scale: crate::data::Scale,
        classes: Vec<String>,
    ) -> Result<Self> {
        let input_t = model.tensor(input).map_err(|e| e.for_arg(crate::error::Role::Input))?;
        let logits_t = model.tensor(logits).map_err(|e| e.for_arg(crate::error::Role::Fetch))?;
        Ok(Classifier { model, input: input_t, logits: logits_t, opts, scale, classes })
    }

    /// The `k` likeliest classes of each of `files`, or why it could not be read.
    pub fn classify(&self, files: &[PathBuf], k: usize) -> Result<Vec<Prediction>> {
        predict(self.model, &self.input, &self.logits, files, &self.opts, self.scale, k)
    }

    /// Class `id`'s name.
    pub fn label(&self, id: usize) -> String {
        label(&self.classes, id)
    }
}

/// Classify `files` through `input` → `logits`, each picture fitted by `opts` and scaled by
/// `scale`.
pub fn predict(
    model: &Model,
    input: &Output,
    logits: &Output,
    files: &[PathBuf],
    opts: &ImageOptions,
    scale: crate::data::Scale,
    k: usize,
) -> Result<Vec<Prediction>> {
    let p = &opts.preprocess;
    let picture = vec![p.height as usize, p.width as usize, p.channels as usize];
    let mut out = Vec::with_capacity(files.len());
    for chunk in files.chunks(BATCH) {
        let decoded: Vec<std::result::Result<Vec<u8>, String>> = chunk.par_iter().map(|f| decode(f, opts)).collect();
        let data: Vec<u8> = decoded.iter().filter_map(|d| d.as_ref().ok()).flatten().copied().collect();
        let n = decoded.iter().filter(|d| d.is_ok()).count();
        let pictures = Split { x: Features::U8 { data, scale }, y: vec![0; n], feature_shape: picture.clone() };
        let mut rows =
            if n == 0 { vec![] } else { crate::eval::logits(model, &pictures, input, logits, 0, &FixedFeeds::default())? }.into_iter();
        for d in decoded {
            out.push(match d {
                Ok(_) => Ok(top_k(&softmax(&rows.next().expect("one row a picture")), k)),
                Err(why) => Err(why.trim().to_string()),
            });
        }
    }
    Ok(out)
}

/// Probabilities of logits `l` (computed in f64: no overflow, sums to 1).
pub fn softmax(l: &[f32]) -> Vec<f32> {
    let max = l.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let e: Vec<f64> = l.iter().map(|&v| (v as f64 - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.iter().map(|v| (v / sum) as f32).collect()
}

/// The `k` likeliest classes, likeliest first (ties: lower id first).
fn top_k(p: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    idx.into_iter().take(k).map(|i| (i, p[i])).collect()
}

/// A label for class `id`: its name when known.
pub fn label(names: &[String], id: usize) -> String {
    names.get(id).cloned().unwrap_or_else(|| id.to_string())
}

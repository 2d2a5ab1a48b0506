//! Classifying new pictures with a trained model: each decoded and fitted as its training
//! pictures were (the [`Record`](crate::data::images::Record) beside the checkpoint), fed in
//! batches, the logits turned into probabilities and the `k` likeliest classes.

use std::path::PathBuf;

use rayon::prelude::*;
use tensorflow::Output;

use crate::data::images::{decode, ImageOptions};
use crate::data::{Features, Split};
use crate::error::{Error, Result, Role};
use crate::feed::InputShape;
use crate::model::Model;
use crate::tf::tensors::{output_dtype, DynArray};

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
            let rd = std::fs::read_dir(p).map_err(|e| Error::io(p, e))?;
            let mut files: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|f| f.is_file() && !f.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
                .collect();
            files.sort();
            out.extend(files);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(Error::bad_file(p, "no such file or directory"));
        }
    }
    Ok(out)
}

/// Classify `files` through `input` → `logits`, each picture fitted by `opts` and scaled by
/// `scale`.
pub fn predict(
    model: &Model,
    input: &Output,
    logits: &Output,
    files: &[PathBuf],
    opts: &ImageOptions,
    scale: f32,
    k: usize,
) -> Result<Vec<Prediction>> {
    let shape = InputShape::of(&model.graph, input)?;
    let p = &opts.preprocess;
    let picture = [p.height as usize, p.width as usize, p.channels as usize];
    let row = shape.row_dims(Role::Input, &picture)?;
    let mut out = Vec::with_capacity(files.len());
    for chunk in files.chunks(BATCH) {
        let decoded: Vec<std::result::Result<Vec<u8>, String>> = chunk.par_iter().map(|f| decode(f, opts)).collect();
        let ok: Vec<&Vec<u8>> = decoded.iter().filter_map(|d| d.as_ref().ok()).collect();
        let mut probs = if ok.is_empty() { vec![] } else { batch_probabilities(model, input, logits, &ok, scale, &row)? };
        probs.reverse();
        for d in decoded {
            out.push(match d {
                Ok(_) => Ok(top_k(&probs.pop().expect("one row a picture"), k)),
                Err(why) => Err(why.trim().to_string()),
            });
        }
    }
    Ok(out)
}

/// Softmax of the logits of `pictures`, a row each.
fn batch_probabilities(
    model: &Model,
    input: &Output,
    logits: &Output,
    pictures: &[&Vec<u8>],
    scale: f32,
    row: &[usize],
) -> Result<Vec<Vec<f32>>> {
    let data: Vec<u8> = pictures.iter().flat_map(|p| p.iter().copied()).collect();
    let split = Split { x: Features::U8 { data, scale }, y: vec![0; pictures.len()], feature_shape: row.to_vec() };
    let t = split.tensor(0, split.len(), output_dtype(input), row)?;
    let values = model.run(&[(input.clone(), &t)], std::slice::from_ref(logits), &[])?;
    let DynArray::F32(l) = &values[0] else {
        return Err(Error::arg(Role::Fetch, None, "the logits must be float32"));
    };
    let n = pictures.len();
    if l.ndim() != 2 || l.shape()[0] != n {
        return Err(Error::arg(Role::Fetch, None, format!("the logits must be [batch, classes], got {:?}", l.shape())));
    }
    Ok(l.outer_iter().map(|r| softmax(r.as_slice().expect("rows of a standard array"))).collect())
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

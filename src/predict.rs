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

/// A picture to classify and, in a folder of class folders, its true class: the folder's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    /// The file.
    pub file: PathBuf,
    /// The name of its class folder, when it sits in one.
    pub class: Option<String>,
}

/// The pictures of `paths`: files as given; a folder's visible files, sorted; a folder with
/// subfolders is a folder of class folders (as `images:DIR` reads one): their files, each
/// with its folder's name as its class. A folder that gives no file is an error.
pub fn pictures(paths: &[PathBuf]) -> Result<Vec<Picture>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_file() {
            out.push(Picture { file: p.clone(), class: None });
        } else if p.is_dir() {
            let before = out.len();
            match crate::data::images::class_folders_of(p)? {
                classes if classes.is_empty() => {
                    out.extend(crate::data::images::pictures(p, 0)?.into_iter().map(|file| Picture { file, class: None }))
                }
                classes => {
                    for c in classes {
                        let files = crate::data::images::pictures(&p.join(&c), 0)?;
                        out.extend(files.into_iter().map(|file| Picture { file, class: Some(c.clone()) }));
                    }
                }
            }
            if out.len() == before {
                return Err(Error::bad_file(p, "nothing to predict: no file in it or in its class folders"));
            }
        } else {
            return Err(Error::bad_file(p, "no such file or directory"));
        }
    }
    Ok(out)
}

/// The files of `paths`, as [`pictures`] finds them.
pub fn picture_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    Ok(pictures(paths)?.into_iter().map(|p| p.file).collect())
}

/// The id of class `name` among `classes` (no names recorded: the ids are the names).
fn class_id(classes: &[String], name: &str) -> Option<usize> {
    match classes.is_empty() {
        true => name.parse().ok(),
        false => classes.iter().position(|c| c == name),
    }
}

/// Every class folder among `pictures` names one of `classes` (the model's, by id when empty).
pub fn check_classes(pictures: &[Picture], classes: &[String]) -> Result<()> {
    let unknown = pictures.iter().find(|p| p.class.as_deref().is_some_and(|c| class_id(classes, c).is_none()));
    let Some(p) = unknown else { return Ok(()) };
    let folder = p.file.parent().unwrap_or(&p.file);
    Err(match classes.is_empty() {
        true => Error::bad_file(folder, "is no class of the model: it records no class names, so class folders are named by id (0, 1, …)"),
        false => Error::bad_file(folder, format!("is no class of the model (its classes: {})", classes.join(", "))),
    })
}

/// How many of the pictures with a true class the model got right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accuracy {
    /// Predicted as their class folder says.
    pub correct: usize,
    /// Readable pictures in class folders.
    pub pictures: usize,
}

impl Accuracy {
    /// `pictures` with a true class against their `predictions` (unreadable ones left out),
    /// classes matched by name; `None` when no picture has one.
    pub fn of(pictures: &[Picture], predictions: &[Prediction], classes: &[String]) -> Option<Self> {
        let scored: Vec<bool> = pictures
            .iter()
            .zip(predictions)
            .filter_map(|(p, r)| match (&p.class, r) {
                (Some(c), Ok(top)) => Some(top.first().map(|t| t.0) == class_id(classes, c)),
                _ => None,
            })
            .collect();
        let any = pictures.iter().any(|p| p.class.is_some());
        any.then(|| Accuracy { correct: scored.iter().filter(|&&ok| ok).count(), pictures: scored.len() })
    }

    /// The fraction right (0 when no picture could be read).
    pub fn value(&self) -> f64 {
        if self.pictures == 0 {
            0.0
        } else {
            self.correct as f64 / self.pictures as f64
        }
    }
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
        let logits_t = model.tensor(logits).map_err(|e| e.for_arg(crate::error::Role::Logits))?;
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

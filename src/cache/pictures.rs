//! Pictures through the feature cache on disk: the cut's rows of the pictures the store lacks
//! are computed batch by batch, the next batch decoding on every core while TensorFlow runs
//! the current one, and appended to a new segment; every split then reads its rows from the
//! store's files (see [`crate::data::mapped`]), so memory stays bounded.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use rayon::prelude::*;
use tensorflow::{Output, SessionRunArgs, Tensor};

use crate::cache::store::{Index, Segment};
use crate::data::images::{decode, Pending};
use crate::data::{Features, Split};
use crate::error::{Result, Role};
use crate::feed::{FixedFeeds, InputShape};
use crate::model::Model;

/// Rows computed per run.
pub const BATCH: usize = 256;

/// What computing the missing rows did.
#[derive(Debug, Default)]
pub struct Computed {
    pub misses: usize,
    /// Pictures that could not be decoded.
    pub skipped: Vec<(PathBuf, String)>,
    /// Time spent inside TensorFlow's runs.
    pub tf_seconds: f64,
}

/// The model, its input and the cut, with what every run feeds besides the pictures.
pub struct Net<'a> {
    pub model: &'a Model,
    pub x: &'a Output,
    pub cut: &'a Output,
    pub flags: &'a FixedFeeds,
    /// Set on Ctrl-C / SIGTERM: stop after the current batch.
    pub stop: &'a AtomicBool,
}

/// Compute the cut for the pictures of `p` that neither `index` nor this run (`added`) holds,
/// appending them to `seg`. `progress` gets the pictures done so far.
pub fn compute_missing(
    net: &Net,
    p: &Pending,
    index: &Index,
    added: &mut HashSet<[u8; 32]>,
    seg: &mut Segment,
    progress: &mut dyn FnMut(usize),
) -> Result<Computed> {
    let mut todo = Vec::new();
    for (i, d) in p.digests.iter().enumerate() {
        if !index.contains(d) && added.insert(*d) {
            todo.push(i);
        }
    }
    let mut done = Computed { misses: todo.len(), ..Default::default() };
    let feature_shape = p.opts.preprocess.feature_shape();
    let input = InputShape::of(&net.model.graph, net.x)?;
    let row_dims = input.row_dims(Role::Input, &feature_shape)?;
    let batch = input.batch(Role::Input, BATCH, todo.len().max(1))?;
    std::thread::scope(|s| -> Result<()> {
        let (tx, rx) = sync_channel(1);
        s.spawn(move || {
            for chunk in todo.chunks(batch) {
                let decoded: Vec<_> = chunk.par_iter().map(|&i| (i, decode(&p.files[i], &p.opts))).collect();
                if tx.send(decoded).is_err() {
                    break;
                }
            }
        });
        let mut count = 0;
        for decoded in rx {
            if net.stop.load(Ordering::SeqCst) {
                done.misses = count;
                break;
            }
            count += decoded.len();
            let mut ok = Vec::new();
            for (i, d) in decoded {
                match d {
                    Ok(pixels) => ok.push((i, pixels)),
                    Err(why) => {
                        added.remove(&p.digests[i]);
                        crate::data::images::skip(&mut done.skipped, p.files[i].clone(), &why, p.opts.strict)?;
                    }
                }
            }
            done.tf_seconds += run_batch(net, p, &ok, &feature_shape, &row_dims, seg)?;
            progress(count);
        }
        Ok(())
    })?;
    Ok(done)
}

/// The shape of one row of the cut from one run on zeros shaped as `p`'s pictures: for a cut
/// whose shape TF's shape inference leaves open (a TF-Slim net takes any height and width).
pub fn row_shape_by_run(net: &Net, p: &Pending) -> Result<Vec<usize>> {
    let shape = p.opts.preprocess.feature_shape();
    let input = InputShape::of(&net.model.graph, net.x)?;
    let row_dims = input.row_dims(Role::Input, &shape)?;
    let rows = input.fixed_batch().unwrap_or(1);
    let data = vec![0u8; rows * shape.iter().product::<usize>()];
    let split = Split { x: Features::U8 { data, scale: p.scale }, y: vec![0; rows], feature_shape: shape };
    let xt = split.tensor(0, rows, crate::tf::tensors::output_dtype(net.x), &row_dims)?;
    let mut args = SessionRunArgs::new();
    xt.feed(&mut args, &net.x.operation, net.x.index);
    net.flags.add_to(&mut args);
    let tok = args.request_fetch(&net.cut.operation, net.cut.index);
    net.model.gate.check(&[&net.cut.operation], &net.flags.fed(&[net.x]))?;
    net.model.session.run(&mut args)?;
    let t: Tensor<f32> = args.fetch(tok)?;
    Ok(t.dims().iter().skip(1).map(|&d| d as usize).collect())
}

/// One run of the cut on decoded pictures; their rows go to `seg`. Returns the seconds TF took.
fn run_batch(net: &Net, p: &Pending, pictures: &[(usize, Vec<u8>)], shape: &[usize], row_dims: &[usize], seg: &mut Segment) -> Result<f64> {
    if pictures.is_empty() {
        return Ok(0.0);
    }
    let data = pictures.iter().flat_map(|(_, px)| px.iter().copied()).collect();
    let split = Split { x: Features::U8 { data, scale: p.scale }, y: vec![0; pictures.len()], feature_shape: shape.to_vec() };
    let xt = split.tensor(0, pictures.len(), crate::tf::tensors::output_dtype(net.x), row_dims)?;
    let mut args = SessionRunArgs::new();
    xt.feed(&mut args, &net.x.operation, net.x.index);
    net.flags.add_to(&mut args);
    let tok = args.request_fetch(&net.cut.operation, net.cut.index);
    net.model.gate.check(&[&net.cut.operation], &net.flags.fed(&[net.x]))?;
    let t0 = Instant::now();
    net.model.session.run(&mut args)?;
    let seconds = t0.elapsed().as_secs_f64();
    let t: Tensor<f32> = args.fetch(tok)?;
    let row = t.len() / pictures.len();
    for ((i, _), values) in pictures.iter().zip(t.chunks_exact(row)) {
        seg.push(&p.digests[*i], values)?;
    }
    Ok(seconds)
}

//! Pretraining without the target's labels. The autoencoder and the pairs task are head
//! objectives ([`crate::train::Objective`]); [`Net`] holds their layers (and [`greedy`] the
//! greedy autoencoder's phases), which train as any job does ([`crate::train::job`]); this module
//! makes the data: the auxiliary task's real examples against corrupted copies (the seed's
//! "pretraining on an auxiliary task"), and unlabelled examples added to a training split
//! (`--unlabeled`).

mod nets;

pub use nets::{autoencoder, auxiliary, greedy, outputs, pairs, Greedy, Net, Phase};

use std::path::Path;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::data::npy::Npz;
use crate::data::{DataSet, Features, Split};
use crate::error::{Error, Result, Role};
use crate::tf::tensors::DynArray;

/// `--unlabeled npz:FILE`: the rows of the archive's array `x` added to the training split of
/// `data`, labelled 0 (the labels are not used). Bytes are scaled as the split's bytes are
/// when both are bytes; otherwise both are fed as float32 values (the split's scaled).
pub fn with_unlabeled(data: DataSet, spec: &str) -> Result<DataSet> {
    let path = spec.strip_prefix("npz:").map(Path::new).ok_or_else(|| Error::arg(Role::Unlabeled, Some(spec), "expected npz:FILE"))?;
    add_unlabeled(data, crate::data::npy::Npz::open(path)?, path)
}

/// [`with_unlabeled`] from any opened archive (`path` names it in errors).
pub fn add_unlabeled<R: std::io::Read + std::io::Seek>(mut data: DataSet, mut npz: Npz<R>, path: &Path) -> Result<DataSet> {
    let x = npz.get("x").map_err(|e| Error::bad_file(path, format!("no array x to take unlabelled examples from ({e})")))?;
    let name = data.training_split_name()?.to_string();
    let split = data.splits.get_mut(&name).expect("the training split");
    let (n, r) = match x.shape() {
        [n, rest @ ..] if rest == split.feature_shape.as_slice() => (*n, rest.iter().product::<usize>().max(1)),
        other => {
            return Err(Error::bad_file(path, format!("x has shape {other:?}; the data's examples are shaped {:?}", split.feature_shape)))
        }
    };
    split.x = match (std::mem::replace(&mut split.x, Features::F32(vec![])), x) {
        (Features::U8 { mut data, scale }, DynArray::U8(more)) => {
            data.extend(more.iter());
            Features::U8 { data, scale }
        }
        (Features::Pictures(_) | Features::Mapped(_), _) => {
            return Err(Error::arg(Role::Unlabeled, None, "pictures must be decoded first"))
        }
        (mine, more) => {
            let mut values = vec![0f32; mine.len()];
            mine.copy_into(0, &mut values);
            let added: Vec<f32> = more.to_f64().into_iter().map(|v| v as f32).collect();
            if let Some(i) = added.iter().position(|v| !v.is_finite()) {
                return Err(Error::bad_file(path, format!("x has a NaN or Inf value (row {})", i / r)));
            }
            values.extend(added);
            Features::F32(values)
        }
    };
    split.y.extend(std::iter::repeat_n(0, n));
    Ok(data)
}

/// The class names of the auxiliary task, by label.
pub const CLASSES: [&str; 2] = ["corrupted", "real"];

/// How `--task corrupt` corrupts an example (`--corruption`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// The second half of its values from another example, drawn by the seed (for a flat
    /// MNIST picture: its bottom 14 rows from another digit). Any feature vector.
    Halves,
    /// The picture cut into a 4×4 grid of patches, shuffled by a permutation drawn by the
    /// seed for each example (never the identity); rows and columns beyond the grid stay.
    /// Pictures: examples shaped `[h, w]`, `[h, w, c]` or a flat square of `k²` values.
    Patches,
}

/// The grid of [`Corruption::Patches`].
const GRID: usize = 4;

/// The rule of `--task corrupt`, as documented: every example appears twice, as it is (label
/// 1, "real") and corrupted by `how` (label 0), drawn by `seed`. Labels of the source are
/// dropped; each split keeps its role.
pub fn corrupt(data: &DataSet, seed: u64, how: Corruption) -> Result<DataSet> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = DataSet { classes: CLASSES.iter().map(|c| c.to_string()).collect(), files: Default::default(), ..data.clone() };
    for (name, split) in &data.splits {
        out.splits.insert(name.clone(), corrupt_split(split, how, &mut rng).map_err(|why| Error::Invalid(format!("split {name}: {why}")))?);
    }
    Ok(out)
}

/// What makes each corrupted row: a partner row, or a picture's geometry `(h, w, c)` and a
/// permutation of the grid's patches per row.
enum Plan {
    Halves(Vec<usize>),
    Patches((usize, usize, usize), Vec<Vec<usize>>),
}

fn plan(s: &Split, how: Corruption, rng: &mut impl Rng) -> std::result::Result<Plan, String> {
    let (n, r) = (s.len(), s.row_len());
    match how {
        Corruption::Halves if n < 2 || r < 2 => {
            Err(format!("{n} examples of {r} values: the task needs two examples of two values at least"))
        }
        Corruption::Halves => Ok(Plan::Halves((0..n).map(|i| (i + rng.gen_range(1..n)) % n).collect())),
        Corruption::Patches => {
            let side = (r as f64).sqrt().round() as usize;
            let geometry = match s.feature_shape[..] {
                [h, w] => (h, w, 1),
                [h, w, c] => (h, w, c),
                [_] if side * side == r => (side, side, 1),
                _ => {
                    return Err(format!(
                        "{} patches needs pictures ([h, w], [h, w, c] or a flat square); these are shaped {:?}",
                        Role::Corruption.mention(),
                        s.feature_shape
                    ))
                }
            };
            if geometry.0 < GRID || geometry.1 < GRID {
                let (h, w, corruption) = (geometry.0, geometry.1, Role::Corruption.mention());
                return Err(format!("{corruption} patches needs pictures of {GRID}×{GRID} at least, not {h}×{w}"));
            }
            let identity: Vec<usize> = (0..GRID * GRID).collect();
            let shuffled = |rng: &mut _| loop {
                let mut p = identity.clone();
                p.shuffle(rng);
                if p != identity {
                    return p;
                }
            };
            Ok(Plan::Patches(geometry, (0..n).map(|_| shuffled(rng)).collect()))
        }
    }
}

fn corrupt_split(s: &Split, how: Corruption, rng: &mut impl Rng) -> std::result::Result<Split, String> {
    let plan = plan(s, how, rng)?;
    let y = (0..2 * s.len()).map(|k| 1 - (k % 2) as i64).collect();
    let r = s.row_len();
    let x = match &s.x {
        Features::U8 { data, scale } => Features::U8 { data: doubled(data, r, &plan), scale: *scale },
        Features::F32(v) => Features::F32(doubled(v, r, &plan)),
        Features::Pictures(_) | Features::Mapped(_) => return Err("pictures must be decoded first".into()),
    };
    Ok(Split { x, y, feature_shape: s.feature_shape.clone() })
}

/// Row i, then row i corrupted as `plan` says, for every row.
fn doubled<T: Copy>(values: &[T], r: usize, plan: &Plan) -> Vec<T> {
    let n = values.len() / r.max(1);
    let mut out = Vec::with_capacity(values.len() * 2);
    for i in 0..n {
        let row = &values[i * r..(i + 1) * r];
        out.extend_from_slice(row);
        match plan {
            Plan::Halves(partners) => {
                let (h, j) = (r / 2, partners[i]);
                out.extend_from_slice(&row[..h]);
                out.extend_from_slice(&values[j * r + h..(j + 1) * r]);
            }
            Plan::Patches(geometry, perms) => {
                let at = out.len();
                out.extend_from_slice(row);
                shuffle_patches(&mut out[at..], row, *geometry, &perms[i]);
            }
        }
    }
    out
}

/// Patch k of the grid in `dst` gets patch `perm[k]` of `src` (both `h × w × c`).
fn shuffle_patches<T: Copy>(dst: &mut [T], src: &[T], (h, w, c): (usize, usize, usize), perm: &[usize]) {
    let (ph, pw) = (h / GRID, w / GRID);
    for (k, &from) in perm.iter().enumerate() {
        let (dy, dx, sy, sx) = ((k / GRID) * ph, (k % GRID) * pw, (from / GRID) * ph, (from % GRID) * pw);
        for y in 0..ph {
            let d = ((dy + y) * w + dx) * c;
            let s = ((sy + y) * w + sx) * c;
            dst[d..d + pw * c].copy_from_slice(&src[s..s + pw * c]);
        }
    }
}

/// The pairs task on labels `y` of `classes` classes: the share of pairs that share a class
/// (Σ share_c², as for two examples drawn at random) and the weights that make the two kinds
/// count alike, `[other, same]` = `[1 / (2 (1 − s)), 1 / (2 s)]` ("balanced").
pub fn pair_weights(y: &[i64], classes: usize) -> Result<(f64, [f32; 2])> {
    let mut counts = vec![0usize; classes];
    for &c in y {
        counts[c as usize] += 1;
    }
    let n = y.len() as f64;
    let same: f64 = counts.iter().map(|&c| (c as f64 / n).powi(2)).sum();
    if counts.iter().filter(|&&c| c > 0).count() < 2 {
        return Err(Error::Invalid("the pairs task needs examples of two classes at least".into()));
    }
    Ok((same, [(0.5 / (1.0 - same)) as f32, (0.5 / same) as f32]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rows: Vec<f32>, r: usize) -> DataSet {
        let n = rows.len() / r;
        let split = Split { x: Features::F32(rows), y: vec![7; n], feature_shape: vec![r] };
        DataSet { source: "t".into(), splits: [("train".to_string(), split)].into(), ..Default::default() }
    }

    #[test]
    fn real_rows_then_their_second_half_from_another() {
        let rows: Vec<f32> = (0..5 * 4).map(|v| v as f32).collect();
        let out = corrupt(&set(rows.clone(), 4), 1, Corruption::Halves).unwrap();
        let s = &out.splits["train"];
        assert_eq!(s.y, [1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
        let Features::F32(v) = &s.x else { panic!() };
        for i in 0..5 {
            let (real, fake) = (&v[i * 8..i * 8 + 4], &v[i * 8 + 4..i * 8 + 8]);
            assert_eq!(real, &rows[i * 4..i * 4 + 4], "row {i} as it was");
            assert_eq!(fake[..2], rows[i * 4..i * 4 + 2], "row {i}'s first half kept");
            let j = (fake[2] / 4.0) as usize;
            assert!(j != i && fake[2..] == rows[j * 4 + 2..j * 4 + 4], "row {i}'s second half from another row {j}");
        }
        assert_eq!(out.classes, ["corrupted", "real"]);
        assert_eq!(corrupt(&set(rows.clone(), 4), 1, Corruption::Halves).unwrap().splits, out.splits, "the same seed, the same rows");
        assert_ne!(corrupt(&set(rows, 4), 2, Corruption::Halves).unwrap().splits, out.splits);
        assert!(corrupt(&set(vec![1.0, 2.0], 2), 1, Corruption::Halves).is_err(), "one example has no partner");
    }

    #[test]
    fn patches_are_the_pictures_own_moved_about() {
        // Two 8×8 pictures (flat squares) of distinct values: 2×2 patches in a 4×4 grid.
        let rows: Vec<f32> = (0..2 * 64).map(|v| v as f32).collect();
        let out = corrupt(&set(rows.clone(), 64), 3, Corruption::Patches).unwrap();
        let Features::F32(v) = &out.splits["train"].x else { panic!() };
        for i in 0..2 {
            let (real, fake) = (&v[i * 128..i * 128 + 64], &v[i * 128 + 64..i * 128 + 128]);
            assert_eq!(real, &rows[i * 64..(i + 1) * 64]);
            assert_ne!(fake, real, "never the identity");
            let (mut a, mut b) = (real.to_vec(), fake.to_vec());
            a.sort_by(f32::total_cmp);
            b.sort_by(f32::total_cmp);
            assert_eq!(a, b, "the same values, moved");
            // Each 2×2 patch of the fake is a whole 2×2 patch of the real picture.
            for k in 0..16 {
                let (y, x) = ((k / 4) * 2, (k % 4) * 2);
                let top_left = fake[y * 8 + x] as usize - i * 64;
                let (sy, sx) = (top_left / 8, top_left % 8);
                assert!(sy % 2 == 0 && sx % 2 == 0, "patch {k} starts on the grid");
                assert_eq!(fake[y * 8 + x + 9], real[(sy + 1) * 8 + sx + 1], "patch {k} moved whole");
            }
        }
        assert!(corrupt(&set(vec![0.0; 10], 5), 1, Corruption::Patches).is_err(), "5 values are no picture");
    }

    #[test]
    fn pairs_of_each_kind_count_alike() {
        let (share, w) = pair_weights(&[0, 0, 1, 1, 2, 2, 3, 3], 4).unwrap();
        assert!((share - 0.25).abs() < 1e-12);
        assert!((w[0] * 0.75 - 0.5).abs() < 1e-6 && (w[1] * 0.25 - 0.5).abs() < 1e-6);
        assert!(pair_weights(&[1, 1, 1], 2).is_err());
    }
}

//! Fewer labels, for studying transfer with little data: keep some classes (renumbered
//! 0…k-1, `--classes 5,6,7,8,9`) and N labelled examples per class of the training split,
//! chosen by a seed (`--per-class N`).

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::data::{DataSet, Split};
use crate::error::{Error, Result, Role};

impl DataSet {
    /// Only the examples of classes `keep`, relabelled by their place in it (every split).
    /// Class names follow; data without names gets the old label ids as names.
    pub fn keep_classes(self, keep: &[i64]) -> Result<DataSet> {
        let known = self.splits.values().map(Split::num_classes).max().unwrap_or(0).max(self.classes.len()) as i64;
        for (i, c) in keep.iter().enumerate() {
            if *c < 0 || *c >= known {
                return Err(Error::arg(Role::Classes, None, format!("{c} is not a class of {} (0…{})", self.source, known - 1)));
            }
            if keep[..i].contains(c) {
                return Err(Error::arg(Role::Classes, None, format!("{c} is named twice")));
            }
        }
        let new_label = |y: i64| keep.iter().position(|&c| c == y).map(|p| p as i64);
        let names = keep.iter().map(|&c| self.classes.get(c as usize).cloned().unwrap_or_else(|| c.to_string())).collect();
        let mut out = DataSet { classes: names, ..self.clone() };
        for (name, split) in &self.splits {
            let idx: Vec<usize> = (0..split.len()).filter(|&i| new_label(split.y[i]).is_some()).collect();
            let mut kept = split.gather(&idx);
            kept.y.iter_mut().for_each(|y| *y = new_label(*y).expect("kept"));
            out.splits.insert(name.clone(), kept);
            if let Some(files) = self.files.get(name) {
                out.files.insert(name.clone(), idx.iter().map(|&i| files[i].clone()).collect());
            }
        }
        Ok(out)
    }

    /// `n` examples of each class of the training split, drawn by `seed` (kept in file
    /// order); the other splits stay whole.
    pub fn per_class(self, n: usize, seed: u64) -> Result<DataSet> {
        let name = self.training_split_name()?.to_string();
        let split = self.split(&name)?;
        let classes = split.num_classes().max(self.classes.len());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut idx = Vec::with_capacity(n * classes);
        for c in 0..classes as i64 {
            let mut of: Vec<usize> = (0..split.len()).filter(|&i| split.y[i] == c).collect();
            if of.len() < n {
                let label = self.classes.get(c as usize).map_or(c.to_string(), |s| format!("{c} ({s})"));
                let msg = format!("class {label} has only {} training examples", of.len());
                return Err(Error::arg(Role::PerClass, Some(&n.to_string()), msg));
            }
            of.shuffle(&mut rng);
            idx.extend_from_slice(&of[..n]);
        }
        idx.sort_unstable();
        Ok(self.training_rows(&name, &idx))
    }

    /// Worker `task` of `workers`' share of the training split: example i goes to worker
    /// i mod `workers` (the other splits stay whole). `equal`: every share has the same
    /// size (the last n mod `workers` examples go to none).
    pub(crate) fn shard(self, task: usize, workers: usize, equal: bool) -> Result<DataSet> {
        let name = self.training_split_name()?.to_string();
        let workers = workers.max(1);
        let n = self.split(&name)?.len();
        let end = if equal { n - n % workers } else { n };
        let idx: Vec<usize> = (task..end).step_by(workers).collect();
        Ok(self.training_rows(&name, &idx))
    }

    /// This set with only rows `idx` (in order) of training split `name`.
    fn training_rows(&self, name: &str, idx: &[usize]) -> DataSet {
        let mut out = self.clone();
        if let Ok(split) = self.split(name) {
            out.splits.insert(name.to_string(), split.gather(idx));
        }
        if let Some(files) = self.files.get(name) {
            out.files.insert(name.to_string(), idx.iter().map(|&i| files[i].clone()).collect());
        }
        out
    }
}

/// `5,6,7,8,9` as label ids.
pub fn parse_classes(s: &str) -> Result<Vec<i64>> {
    let ids: std::result::Result<Vec<i64>, _> = s.split(',').map(|p| p.trim().parse::<i64>()).collect();
    match ids {
        Ok(ids) if !ids.is_empty() => Ok(ids),
        _ => Err(Error::arg(Role::Classes, Some(&format!("{s:?}")), "expected label ids, e.g. 5,6,7,8,9")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Features;

    fn set(y: Vec<i64>) -> DataSet {
        let x = Features::F32(y.iter().map(|&v| v as f32).collect());
        let split = Split { x, y, feature_shape: vec![1] };
        DataSet { source: "t".into(), splits: [("train".to_string(), split)].into_iter().collect(), ..Default::default() }
    }

    #[test]
    fn classes_are_kept_and_renumbered() {
        let d = set(vec![0, 5, 6, 5, 9, 1]).keep_classes(&[6, 5]).unwrap();
        let s = d.split("train").unwrap();
        assert_eq!(s.y, [1, 0, 1]);
        assert_eq!(s.x_f32(), [5.0, 6.0, 5.0]);
        assert_eq!(d.classes, ["6", "5"]);
        assert!(set(vec![0, 1]).keep_classes(&[1, 1]).is_err());
        assert!(set(vec![0, 1]).keep_classes(&[2]).is_err());
    }

    #[test]
    fn per_class_takes_n_of_each_the_same_for_a_seed() {
        let y: Vec<i64> = (0..40).map(|i| i % 4).collect();
        let pick = |seed| set(y.clone()).per_class(3, seed).unwrap().split("train").unwrap().x_f32();
        let a = pick(1);
        assert_eq!(a.len(), 12);
        for c in 0..4 {
            assert_eq!(a.iter().filter(|&&v| v as i64 % 4 == c).count(), 3);
        }
        assert_eq!(a, pick(1));
        assert_ne!(a, pick(2));
        assert!(set(y.clone()).per_class(11, 1).is_err(), "only 10 of each");
        assert_eq!(parse_classes("5, 6,7").unwrap(), [5, 6, 7]);
        assert!(parse_classes("a").is_err());
    }
}

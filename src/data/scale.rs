//! How pixel bytes become the values fed (`--scale`): times a number (MNIST's 1/255, as
//! `input_data`), into a range (`0,1`, `-1,1` as Inception-style models take), or normalised
//! per channel (`mean=0.485,0.456,0.406,std=0.229,0.224,0.225`, on values in [0, 1]).

use crate::error::{Error, Result, Role};

/// A per-channel affine map of bytes; `Copy`, so batches carry it freely.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Repr", into = "Repr")]
pub enum Scale {
    /// `byte × s`.
    Times(f32),
    /// `lo + byte × (hi − lo) / 255`.
    Range(f32, f32),
    /// `(byte / 255 − mean[c]) / std[c]` for channel c of `channels`.
    Normalize {
        /// Each channel's mean.
        mean: [f32; 3],
        /// Each channel's standard deviation.
        std: [f32; 3],
        /// Channels used (1 or 3).
        channels: u8,
    },
}

impl Default for Scale {
    fn default() -> Self {
        Scale::Times(1.0 / 255.0)
    }
}

impl Scale {
    /// `S`, `LO,HI`, or `mean=M[,M,M],std=S[,S,S]`.
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |why: &str| Error::arg(Role::Scale, Some(spec), format!("{why} (expected S, LO,HI or mean=M,…,std=S,…)"));
        let nums = |s: &str| s.split(',').map(|v| v.trim().parse::<f32>().ok().filter(|f| f.is_finite())).collect::<Option<Vec<f32>>>();
        let scale = if let Some(rest) = spec.strip_prefix("mean=") {
            let (mean, std) = rest.split_once(",std=").ok_or_else(|| bad("mean= needs a std="))?;
            let (mean, std) = (nums(mean).ok_or_else(|| bad("not numbers"))?, nums(std).ok_or_else(|| bad("not numbers"))?);
            if mean.len() != std.len() || !(mean.len() == 1 || mean.len() == 3) {
                return Err(bad("give 1 or 3 means and as many stds"));
            }
            if std.iter().any(|s| *s <= 0.0) {
                return Err(bad("std must be above 0"));
            }
            let pad = |v: &[f32]| [v[0], v[v.len().min(2) - 1], v[v.len() - 1]];
            Scale::Normalize { mean: pad(&mean), std: pad(&std), channels: mean.len() as u8 }
        } else {
            match nums(spec).ok_or_else(|| bad("not numbers"))?.as_slice() {
                [s] if *s != 0.0 => Scale::Times(*s),
                [_] => return Err(bad("must be a finite number other than 0")),
                [lo, hi] if lo != hi => Scale::Range(*lo, *hi),
                _ => return Err(bad("a scale other than 0, or two different bounds")),
            }
        };
        Ok(scale)
    }

    /// The spec [`Scale::parse`] reads back.
    pub fn spec(&self) -> String {
        match self {
            Scale::Times(s) => s.to_string(),
            Scale::Range(lo, hi) => format!("{lo},{hi}"),
            Scale::Normalize { mean, std, channels } => {
                let n = *channels as usize;
                let join = |v: &[f32]| v[..n].iter().map(f32::to_string).collect::<Vec<_>>().join(",");
                format!("mean={},std={}", join(mean), join(std))
            }
        }
    }

    /// Channels it distinguishes (1: the same for every value).
    pub fn channels(&self) -> usize {
        match self {
            Scale::Normalize { channels, .. } => *channels as usize,
            _ => 1,
        }
    }

    /// Values of `bytes`, the first being element `start` of its row set (for the channel).
    pub fn apply(&self, bytes: &[u8], start: usize, dst: &mut [f32]) {
        match *self {
            // Exactly input_data's `x * (1 / 255)` for MNIST.
            Scale::Times(s) => dst.iter_mut().zip(bytes).for_each(|(d, &b)| *d = b as f32 * s),
            Scale::Range(lo, hi) => {
                let m = (hi - lo) / 255.0;
                dst.iter_mut().zip(bytes).for_each(|(d, &b)| *d = b as f32 * m + lo);
            }
            Scale::Normalize { mean, std, channels } => {
                let n = channels as usize;
                for (k, (d, &b)) in dst.iter_mut().zip(bytes).enumerate() {
                    let c = (start + k) % n;
                    *d = (b as f32 / 255.0 - mean[c]) / std[c];
                }
            }
        }
    }

    /// The lowest and highest value a byte can give.
    pub fn range(&self) -> (f32, f32) {
        let mut v = [0f32; 6];
        let n = self.channels();
        self.apply(&[0, 0, 0], 0, &mut v[..n]);
        self.apply(&[255, 255, 255], 0, &mut v[3..3 + n]);
        let vals = v[..n].iter().chain(&v[3..3 + n]);
        vals.clone().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)))
    }

    /// Bytes standing for it in digests.
    pub fn digest_bytes(&self) -> Vec<u8> {
        self.spec().into_bytes()
    }
}

/// As records store it: a number (a plain multiplier, as records always held) or a spec.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Repr {
    Number(f32),
    Text(String),
}

impl From<Scale> for Repr {
    fn from(s: Scale) -> Repr {
        match s {
            Scale::Times(v) => Repr::Number(v),
            other => Repr::Text(other.spec()),
        }
    }
}

impl TryFrom<Repr> for Scale {
    type Error = String;
    fn try_from(r: Repr) -> std::result::Result<Scale, String> {
        match r {
            Repr::Number(v) if v.is_finite() && v != 0.0 => Ok(Scale::Times(v)),
            Repr::Number(v) => Err(format!("scale {v}")),
            Repr::Text(t) => Scale::parse(&t).map_err(|e| e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_parse_apply_and_read_back() {
        let mut v = [0f32; 3];
        Scale::parse("-1,1").unwrap().apply(&[0, 255, 51], 0, &mut v);
        assert_eq!(v, [-1.0, 1.0, 51.0 * (2.0 / 255.0) - 1.0]);
        let norm = Scale::parse("mean=0.5,0.25,0,std=0.5,0.25,1").unwrap();
        norm.apply(&[255, 0, 255], 1, &mut v); // starts at channel 1
        assert_eq!(v, [(1.0 - 0.25) / 0.25, (0.0 - 0.0) / 1.0, (1.0 - 0.5) / 0.5], "channels 1, 2, 0");
        for spec in ["0.5", "0,1", "-1,1", "mean=0.5,std=0.25", "mean=0.485,0.456,0.406,std=0.229,0.224,0.225"] {
            let s = Scale::parse(spec).unwrap();
            assert_eq!(Scale::parse(&s.spec()).unwrap(), s, "{spec}");
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<Scale>(&json).unwrap(), s, "{json}");
        }
        assert_eq!(serde_json::from_str::<Scale>("0.003921569").unwrap(), Scale::Times(0.003921569));
        assert_eq!(Scale::parse("-1,1").unwrap().range(), (-1.0, 1.0));
        for bad in ["0", "1,1", "x", "mean=0.5", "mean=0.5,0.5,std=1,1", "mean=0,std=0", "1,2,3"] {
            assert!(Scale::parse(bad).is_err(), "{bad}");
        }
    }
}

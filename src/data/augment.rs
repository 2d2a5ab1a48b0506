//! Augmentation (`--augment flip,rotate=10,crop=0.1,brightness=0.2,contrast=0.2`): each
//! training picture changed at random every time a batch takes it, as retrain.py's distortions
//! did, reproducibly from the seed. Flip, rotation and crop make one affine map, sampled once
//! bilinearly (black outside the picture); brightness and contrast then scale the values.

use rand::Rng;

use crate::error::{Error, Result, Role};

/// How much of each change to draw at most.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Augment {
    /// Mirror left-right half of the time.
    pub flip: bool,
    /// Rotate by up to this many degrees either way.
    pub rotate: f32,
    /// Take a window of 1 - up to this share of each side, anywhere, scaled back up.
    pub crop: f32,
    /// Multiply the values by 1 ± up to this.
    pub brightness: f32,
    /// Scale each channel's distance from its mean by 1 ± up to this.
    pub contrast: f32,
}

impl Augment {
    /// `flip,rotate=DEG,crop=F,brightness=F,contrast=F`, in any order and subset.
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |why: String| Error::arg(Role::Augment, Some(spec), why);
        let mut a = Augment::default();
        for part in spec.split(',').map(str::trim) {
            let (name, value) = part.split_once('=').map_or((part, None), |(n, v)| (n, Some(v)));
            const KNOWN: [&str; 5] = ["flip", "rotate", "crop", "brightness", "contrast"];
            if !KNOWN.contains(&name) {
                return Err(bad(format!("unknown change {name:?} (flip, rotate=DEG, crop=F, brightness=F, contrast=F)")));
            }
            if name == "flip" {
                if value.is_some() {
                    return Err(bad("flip takes no value".into()));
                }
                a.flip = true;
                continue;
            }
            let v: f32 = value
                .ok_or_else(|| bad(format!("{name} takes a value ({name}=…)")))?
                .parse()
                .map_err(|_| bad(format!("{part}: not a number")))?;
            let (slot, max) = match name {
                "rotate" => (&mut a.rotate, 180.0),
                "crop" => (&mut a.crop, 0.9),
                "brightness" => (&mut a.brightness, 1.0),
                "contrast" => (&mut a.contrast, 1.0),
                _ => unreachable!("checked above"),
            };
            if !(0.0..=max).contains(&v) {
                return Err(bad(format!("{name} must be within 0..{max}")));
            }
            *slot = v;
        }
        Ok(a)
    }

    fn moves(&self) -> bool {
        self.flip || self.rotate > 0.0 || self.crop > 0.0
    }

    /// Change one picture `h × w × c` in place (floats), values kept within `range` if given.
    pub fn apply(&self, px: &mut [f32], (h, w, c): (usize, usize, usize), range: Option<(f32, f32)>, rng: &mut impl Rng) {
        debug_assert_eq!(px.len(), h * w * c);
        if self.moves() {
            let src = px.to_vec();
            warp(&src, px, (h, w, c), &self.draw_map(h, w, rng));
        }
        if self.brightness > 0.0 {
            let b = 1.0 + rng.gen_range(-self.brightness..=self.brightness);
            px.iter_mut().for_each(|v| *v *= b);
        }
        if self.contrast > 0.0 {
            let f = 1.0 + rng.gen_range(-self.contrast..=self.contrast);
            for ch in 0..c {
                let mean = px.iter().skip(ch).step_by(c).sum::<f32>() / (h * w) as f32;
                px.iter_mut().skip(ch).step_by(c).for_each(|v| *v = (*v - mean) * f + mean);
            }
        }
        if let Some((lo, hi)) = range {
            px.iter_mut().for_each(|v| *v = v.clamp(lo, hi));
        }
    }

    /// Where each output pixel is taken from: `[a, b, tx, c, d, ty]` mapping (x, y) to
    /// (a·x + b·y + tx, c·x + d·y + ty).
    fn draw_map(&self, h: usize, w: usize, rng: &mut impl Rng) -> [f32; 6] {
        let f = if self.flip && rng.gen_bool(0.5) { -1.0 } else { 1.0 };
        let theta = if self.rotate > 0.0 { rng.gen_range(-self.rotate..=self.rotate).to_radians() } else { 0.0 };
        let s = if self.crop > 0.0 { 1.0 - rng.gen_range(0.0..=self.crop) } else { 1.0 };
        let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
        let (ox, oy) = ((1.0 - s) * w as f32 / 2.0, (1.0 - s) * h as f32 / 2.0);
        let tx = if ox > 0.0 { rng.gen_range(-ox..=ox) } else { 0.0 };
        let ty = if oy > 0.0 { rng.gen_range(-oy..=oy) } else { 0.0 };
        let (sin, cos) = theta.sin_cos();
        let (a, b, c, d) = (s * cos * f, -s * sin, s * sin * f, s * cos);
        [a, b, cx + tx - a * cx - b * cy, c, d, cy + ty - c * cx - d * cy]
    }
}

/// `dst` = `src` sampled bilinearly through `m`; black outside.
fn warp(src: &[f32], dst: &mut [f32], (h, w, c): (usize, usize, usize), m: &[f32; 6]) {
    let at = |x: isize, y: isize, ch: usize| {
        if x < 0 || y < 0 || x >= w as isize || y >= h as isize {
            0.0
        } else {
            src[(y as usize * w + x as usize) * c + ch]
        }
    };
    for y in 0..h {
        for x in 0..w {
            let (xf, yf) = (x as f32, y as f32);
            let (sx, sy) = (m[0] * xf + m[1] * yf + m[2], m[3] * xf + m[4] * yf + m[5]);
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as isize, y0 as isize);
            for ch in 0..c {
                let top = at(x0, y0, ch) * (1.0 - fx) + at(x0 + 1, y0, ch) * fx;
                let bottom = at(x0, y0 + 1, ch) * (1.0 - fx) + at(x0 + 1, y0 + 1, ch) * fx;
                dst[(y * w + x) * c + ch] = top * (1.0 - fy) + bottom * fy;
            }
        }
    }
}

/// The picture geometry of rows shaped `shape`: `[h, w, c]`, or a flat square of gray values.
pub(crate) fn geometry(shape: &[usize]) -> Option<(usize, usize, usize)> {
    match shape {
        [h, w, c] => Some((*h, *w, *c)),
        [n] => {
            let side = (*n as f64).sqrt().round() as usize;
            (side * side == *n).then_some((side, side, 1))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn picture() -> Vec<f32> {
        (0..4 * 5 * 2).map(|v| v as f32).collect()
    }

    #[test]
    fn a_flip_mirrors_exactly_and_nothing_drawn_changes_nothing() {
        let flip = Augment { flip: true, ..Default::default() };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let (src, shape) = (picture(), (4, 5, 2));
        let mirrored: Vec<f32> = src.chunks(10).flat_map(|row| row.chunks(2).rev().flatten().copied().collect::<Vec<_>>()).collect();
        let mut seen = (false, false);
        for _ in 0..20 {
            let mut px = src.clone();
            flip.apply(&mut px, shape, None, &mut rng);
            assert!(px == src || px == mirrored, "{px:?}");
            seen = (seen.0 || px == src, seen.1 || px == mirrored);
        }
        assert_eq!(seen, (true, true), "both sides come up");
        let mut px = src.clone();
        Augment::default().apply(&mut px, shape, None, &mut rng);
        assert_eq!(px, src);
    }

    #[test]
    fn changes_stay_in_range_and_parse_refuses_nonsense() {
        let a = Augment::parse("flip,rotate=15,crop=0.2,brightness=0.5,contrast=0.5").unwrap();
        assert_eq!((a.rotate, a.crop), (15.0, 0.2));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let mut px = picture();
        a.apply(&mut px, (4, 5, 2), Some((0.0, 39.0)), &mut rng);
        assert!(px.iter().all(|v| (0.0..=39.0).contains(v)) && px != picture());
        for bad in ["spin", "rotate", "rotate=x", "crop=2", "brightness=-1"] {
            assert!(Augment::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(geometry(&[784]), Some((28, 28, 1)));
        assert_eq!(geometry(&[10]), None);
    }
}

//! The resize of `predict` in TF ops, to the byte: `fast_image_resize`'s convolution of a u8
//! picture with the triangle (bilinear) filter widened when shrinking. Its weights per output
//! pixel are computed as it computes them (in float64, normalised, then rounded to integers at
//! the precision it picks), and applied as it applies them: integer sums, rounded half up by a
//! shift, clipped to bytes; the columns first (to the new height), then the rows.
//!
//! A pass is a `SparseTensorDenseMatMul` of the int32 weights (`[out, in]`, a window of inputs
//! an output) with the picture's bytes, so memory stays that of the picture. `ScaleAndTranslate`
//! computes the same filter in float and differs by one in about one byte in a hundred
//! (exact halves, which the integer weights round one way or the other).

use tensorflow::{DataType, Output, Tensor};

use super::{vec1, Steps};
use crate::data::images::{Preprocess, ResizeMode};
use crate::error::Result;

/// One axis's mapping: the source size, the box `[in0, in1)` of it that is resized, the output
/// pixels it becomes (`inner`, from `offset`; the rest of the `out` pixels are black).
struct Axis {
    size: Output,
    in0: Output,
    in1: Output,
    inner: Output,
    offset: Output,
}

impl Steps<'_, '_> {
    /// `px` (`[h, w, c]` bytes of any number type, `hw` its int32 `[h, w]`) fitted to `p`'s
    /// size and mode, as float bytes `[H, W, c]`.
    pub(super) fn fit(&mut self, px: Output, hw: Output, p: &Preprocess) -> Result<Output> {
        let (h, w, c) = (p.height as i32, p.width as i32, i32::from(p.channels));
        let source = self.cast(&hw, DataType::Double, "source_size")?;
        let target = self.constant("target_size", vec1(&[f64::from(p.height), f64::from(p.width)])?)?;
        let zero = self.constant("zeros", vec1(&[0f64, 0.])?)?;
        let (in0, in1, inner, offset) = match p.mode {
            ResizeMode::Stretch => (zero.clone(), source.clone(), target, zero),
            ResizeMode::Crop => {
                let (in0, in1) = self.crop(&source, f64::from(p.width) / f64::from(p.height))?;
                (in0, in1, target, zero)
            }
            ResizeMode::Pad => {
                let (inner, offset) = self.pad(target, &source)?;
                (zero, source.clone(), inner, offset)
            }
        };
        let mut axes = vec![];
        for (i, tag) in [(0, "height"), (1, "width")] {
            let mut pick = |v: &Output, what: &str| self.pick(v, i, &format!("{tag}_{what}"));
            let (size, in0, in1) = (pick(&source, "source")?, pick(&in0, "in0")?, pick(&in1, "in1")?);
            axes.push(Axis { size, in0, in1, inner: pick(&inner, "inner")?, offset: pick(&offset, "offset")? });
        }
        let x = self.cast(&px, DataType::Int32, "source_bytes")?;
        // The columns: [h, w·c] to [H, w·c].
        let first = self.constant("source_height_index", vec1(&[0i32])?)?;
        let axis = self.zero_axis()?;
        let height = self.op1("GatherV2", "source_height", &[hw, first, axis])?;
        let rest = self.constant("rest", vec1(&[-1i32])?)?;
        let shape = self.concat("columns_in_shape", &[height, rest])?;
        let flat = self.op1("Reshape", "columns_in", &[x, shape])?;
        let columns = self.pass("height", flat, &axes[0], h)?;
        // The rows, transposed: [w, H·c] to [W, H·c].
        let shape = self.constant("columns_out_shape", vec1(&[h, -1, c])?)?;
        let columns = self.op1("Reshape", "columns_out", &[columns, shape])?;
        let swap = self.constant("swap", vec1(&[1i32, 0, 2])?)?;
        let across = self.op1("Transpose", "rows_in_hwc", &[columns, swap.clone()])?;
        let shape = self.constant("rows_in_shape", vec1(&[-1, h * c])?)?;
        let across = self.op1("Reshape", "rows_in", &[across, shape])?;
        let rows = self.pass("width", across, &axes[1], w)?;
        let shape = self.constant("rows_out_shape", vec1(&[w, h, c])?)?;
        let rows = self.op1("Reshape", "rows_out", &[rows, shape])?;
        let fitted = self.op1("Transpose", "fitted", &[rows, swap])?;
        self.cast(&fitted, DataType::Float, "bytes")
    }

    /// `x` (`[in, n]` int32) resized along its first axis to `[out, n]` by `axis`'s weights.
    fn pass(&mut self, tag: &str, x: Output, axis: &Axis, out: i32) -> Result<Output> {
        let (indices, weights, precision) = self.weights(tag, axis, out)?;
        let dense_shape = {
            let out = self.constant(&format!("{tag}_out"), vec1(&[i64::from(out)])?)?;
            let size = self.cast(&axis.size, DataType::Int64, &format!("{tag}_in"))?;
            let rest = self.constant(&format!("{tag}_scalar_shape"), vec1(&[1i32])?)?;
            let size = self.op1("Reshape", &format!("{tag}_in_vector"), &[size, rest])?;
            self.concat(&format!("{tag}_weights_shape"), &[out, size])?
        };
        let sums = self.op1("SparseTensorDenseMatMul", &format!("{tag}_sums"), &[indices, weights, dense_shape, x])?;
        let one = self.constant(&format!("{tag}_one"), Tensor::from(1i32))?;
        let below = self.op1("Sub", &format!("{tag}_precision_below"), &[precision.clone(), one.clone()])?;
        let half = self.op1("LeftShift", &format!("{tag}_half"), &[one, below])?;
        let up = self.op1("Add", &format!("{tag}_up"), &[sums, half])?;
        let shifted = self.op1("RightShift", &format!("{tag}_shifted"), &[up, precision])?;
        let lo = self.constant(&format!("{tag}_byte_min"), Tensor::from(0i32))?;
        let hi = self.constant(&format!("{tag}_byte_max"), Tensor::from(255i32))?;
        self.op1("ClipByValue", &format!("{tag}_bytes"), &[shifted, lo, hi])
    }

    /// The sparse int32 weights of `axis` (int64 `[k, 2]` indices `(out, in)`, their values)
    /// and their precision in bits, as `fast_image_resize`'s `precompute_coefficients` and
    /// `Normalizer16` make them.
    fn weights(&mut self, tag: &str, axis: &Axis, out: i32) -> Result<(Output, Output, Output)> {
        let n = |s: &str| format!("{tag}_{s}");
        let span = self.op1("Sub", &n("span"), &[axis.in1.clone(), axis.in0.clone()])?;
        let scale = self.op1("RealDiv", &n("scale"), &[span, axis.inner.clone()])?;
        let one = self.constant(&n("one"), Tensor::from(1f64))?;
        // The filter's scale, its radius (the triangle's support is 1) and the window.
        let radius = self.op1("Maximum", &n("radius"), &[scale.clone(), one.clone()])?;
        let recip = self.op1("RealDiv", &n("recip"), &[one.clone(), radius.clone()])?;
        let two = self.constant(&n("two"), Tensor::from(2f64))?;
        let window = self.op1("Ceil", &n("radius_ceil"), std::slice::from_ref(&radius))?;
        let window = self.op1("Mul", &n("window_half"), &[window, two])?;
        let window = self.op1("Add", &n("window"), &[window, one.clone()])?;
        // Each output pixel's centre in the source, and the window from its first input.
        let o = self.constant(&n("outputs"), vec1(&(0..out).map(f64::from).collect::<Vec<_>>())?)?;
        let o = self.op1("Sub", &n("outputs_inner"), &[o, axis.offset.clone()])?;
        let half = self.constant(&n("half"), Tensor::from(0.5f64))?;
        let centre = self.op1("Add", &n("output_centres"), &[o.clone(), half.clone()])?;
        let centre = self.op1("Mul", &n("centre_scaled"), &[centre, scale])?;
        let centre = self.op1("Add", &n("centre"), &[axis.in0.clone(), centre])?;
        let low = self.op1("Sub", &n("low"), &[centre.clone(), radius.clone()])?;
        let low = self.op1("Floor", &n("low_floor"), &[low])?;
        let zero = self.constant(&n("zero"), Tensor::from(0f64))?;
        let first = self.op1("Maximum", &n("first"), &[low, zero.clone()])?;
        let high = self.op1("Add", &n("high"), &[centre.clone(), radius])?;
        let high = self.op1("Ceil", &n("high_ceil"), &[high])?;
        let end = self.op1("Minimum", &n("end"), &[high, axis.size.clone()])?;
        let k = self.op1("Range", &n("taps"), &[zero.clone(), window, one.clone()])?;
        let first = self.column(&first, &n("first_column"))?;
        let x = self.op1("Add", &n("inputs"), &[first, k])?;
        // The triangle at each input, zero outside the window and for black output pixels.
        let centre = self.op1("Sub", &n("centre_pixel"), &[centre, half])?;
        let centre = self.column(&centre, &n("centre_column"))?;
        let d = self.op1("Sub", &n("distance"), &[x.clone(), centre])?;
        let d = self.op1("Mul", &n("distance_scaled"), &[d, recip])?;
        let d = self.op1("Abs", &n("distance_abs"), &[d])?;
        let w = self.op1("Sub", &n("triangle"), &[one, d])?;
        let w = self.op1("Maximum", &n("triangle_positive"), &[w, zero.clone()])?;
        let end = self.column(&end, &n("end_column"))?;
        let inside = self.op1("Less", &n("inside"), &[x.clone(), end])?;
        let lit = self.op1("GreaterEqual", &n("lit_from"), &[o.clone(), zero])?;
        let lit_to = self.op1("Less", &n("lit_to"), &[o, axis.inner.clone()])?;
        let lit = self.op1("LogicalAnd", &n("lit"), &[lit, lit_to])?;
        let lit = self.column(&lit, &n("lit_column"))?;
        let keep = self.op1("LogicalAnd", &n("kept"), &[inside, lit])?;
        let keep = self.cast(&keep, DataType::Double, &n("kept_weight"))?;
        let w = self.op1("Mul", &n("weights_raw"), &[w, keep])?;
        let (values, precision) = self.normalised(tag, w)?;
        let indices = self.indices(tag, x, &axis.size)?;
        Ok((indices, values, precision))
    }
}

impl Steps<'_, '_> {
    /// `w` (`[out, window]` float64) normalised per output pixel (summed left to right, as
    /// `fast_image_resize` sums), then as integers at the precision `Normalizer16` picks: the
    /// least number of bits, at most 21, at which the largest weight doubled reaches 2^15.
    fn normalised(&mut self, tag: &str, w: Output) -> Result<(Output, Output)> {
        let n = |s: &str| format!("{tag}_{s}");
        let axis = self.constant(&n("window_axis"), Tensor::from(1i32))?;
        let sums = self.op1("Cumsum", &n("running_sums"), &[w.clone(), axis.clone()])?;
        let shape = self.op1("Shape", &n("weights_shape"), std::slice::from_ref(&w))?;
        let index = self.constant(&n("window_index"), vec1(&[1i32])?)?;
        let zero = self.zero_axis()?;
        let window = self.op1("GatherV2", &n("window_size"), &[shape, index, zero.clone()])?;
        let one = self.constant(&n("one_tap"), vec1(&[1i32])?)?;
        let last = self.op1("Sub", &n("last_tap"), &[window, one])?;
        let total = self.op1("GatherV2", &n("totals"), &[sums, last, axis])?;
        let w = self.op1("DivNoNan", &n("normalised"), &[w, total])?;
        let flat = self.constant(&n("flat"), vec1(&[-1i32])?)?;
        let w = self.op1("Reshape", &n("normalised_flat"), &[w, flat])?;
        let largest = self.op1("Max", &n("largest"), &[w.clone(), zero.clone()])?;
        let powers = self.constant(&n("powers"), vec1(&(1..=21).map(|b| f64::from(1u32 << b)).collect::<Vec<_>>())?)?;
        let scaled = self.op1("Mul", &n("largest_scaled"), &[largest, powers])?;
        let rounded = self.round(&n("largest_rounded"), scaled)?;
        let limit = self.constant(&n("limit"), Tensor::from(32768f64))?;
        let short = self.op1("Less", &n("short"), &[rounded, limit])?;
        let short = self.cast(&short, DataType::Int32, &n("short_count"))?;
        let precision = self.op1("Sum", &n("precision"), &[short, zero])?;
        let unit = self.constant(&n("unit"), Tensor::from(1i32))?;
        let scale = self.op1("LeftShift", &n("unit_shifted"), &[unit, precision.clone()])?;
        let scale = self.cast(&scale, DataType::Double, &n("precision_scale"))?;
        let w = self.op1("Mul", &n("weights_scaled"), &[w, scale])?;
        let w = self.round(&n("weights_rounded"), w)?;
        Ok((self.cast(&w, DataType::Int32, &n("weights"))?, precision))
    }

    /// `(out, in)` of each weight, int64 `[out · window, 2]`: `x`'s inputs (`[out, window]`
    /// float64) clamped to the picture (the weights past it are 0).
    fn indices(&mut self, tag: &str, x: Output, size: &Output) -> Result<Output> {
        let n = |s: &str| format!("{tag}_{s}");
        let one = self.constant(&n("one_pixel"), Tensor::from(1f64))?;
        let last = self.op1("Sub", &n("last_pixel"), &[size.clone(), one])?;
        let inputs = self.op1("Minimum", &n("inputs_in_picture"), &[x, last])?;
        let inputs = self.cast(&inputs, DataType::Int64, &n("input_indices"))?;
        // Each weight's row: a running count of ones down the rows, less one.
        let ones = self.op1("OnesLike", &n("ones"), std::slice::from_ref(&inputs))?;
        let axis = self.constant(&n("rows_axis"), Tensor::from(0i32))?;
        let counted = self.op1("Cumsum", &n("rows_counted"), &[ones.clone(), axis])?;
        let rows = self.op1("Sub", &n("rows"), &[counted, ones])?;
        let name = format!("{}/{tag}_pairs", self.scope);
        let pairs: Output = self
            .b
            .op("Pack", &name, &[], |d| {
                d.add_input_list(&[rows, inputs]);
                Ok(d.set_attr_int("axis", 2)?)
            })?
            .into();
        let shape = self.constant(&n("pairs_shape"), vec1(&[-1i32, 2])?)?;
        self.op1("Reshape", &n("indices"), &[pairs, shape])
    }
}

impl Steps<'_, '_> {
    /// The centred box of aspect `ratio` (width / height) in a picture of `source` `[h, w]`,
    /// its `[top, left]` and `[bottom, right]`: PIL's `ImageOps.fit` as `fast_image_resize`
    /// computes it (fractional).
    fn crop(&mut self, source: &Output, ratio: f64) -> Result<(Output, Output)> {
        let axis = self.constant("crop_axis", vec1(&[0i32])?)?;
        let swapped = self.op1("ReverseV2", "crop_wh", &[source.clone(), axis])?;
        // [w / ratio, h * ratio]: each side as the other allows.
        let divisors = self.constant("crop_divisors", vec1(&[ratio, 1.])?)?;
        let factors = self.constant("crop_factors", vec1(&[1., ratio])?)?;
        let allowed = self.op1("RealDiv", "crop_divided", &[swapped, divisors])?;
        let allowed = self.op1("Mul", "crop_allowed", &[allowed, factors])?;
        let crop = self.op1("Minimum", "crop_box", &[source.clone(), allowed])?;
        let half = self.constant("crop_half", Tensor::from(0.5f64))?;
        let margin = self.op1("Sub", "crop_margin", &[source.clone(), crop.clone()])?;
        let start = self.op1("Mul", "crop_start", &[margin, half])?;
        let end = self.op1("Add", "crop_end", &[start.clone(), crop])?;
        Ok((start, end))
    }

    /// The picture's size scaled to the largest of its aspect inside `target` (sides rounded
    /// half up, at least 1), and where it starts there, centred rounded down; black around.
    fn pad(&mut self, target: Output, source: &Output) -> Result<(Output, Output)> {
        let ratios = self.op1("RealDiv", "pad_ratios", &[target.clone(), source.clone()])?;
        let axis = self.zero_axis()?;
        let ratio = self.op1("Min", "pad_ratio", &[ratios, axis])?;
        let exact = self.op1("Mul", "pad_exact", &[source.clone(), ratio])?;
        let rounded = self.round("pad_rounded", exact)?;
        let one = self.constant("pad_one", Tensor::from(1f64))?;
        let at_least = self.op1("Maximum", "pad_at_least_one", &[rounded, one])?;
        let inner = self.op1("Minimum", "pad_inner", &[at_least, target.clone()])?;
        let margin = self.op1("Sub", "pad_margin", &[target, inner.clone()])?;
        let half = self.constant("pad_half", Tensor::from(0.5f64))?;
        let centred = self.op1("Mul", "pad_centred", &[margin, half])?;
        Ok((inner, self.op1("Floor", "pad_offset", &[centred])?))
    }

    /// `x` rounded half up (as Rust's `round` of a positive number).
    fn round(&mut self, name: &str, x: Output) -> Result<Output> {
        let half = self.constant(&format!("{name}_half"), Tensor::from(0.5f64))?;
        let up = self.op1("Add", &format!("{name}_up"), &[x, half])?;
        self.op1("Floor", name, &[up])
    }

    /// Element `i` of the vector `v`, a scalar.
    fn pick(&mut self, v: &Output, i: i32, name: &str) -> Result<Output> {
        let index = self.constant(&format!("{name}_index"), Tensor::from(i))?;
        let axis = self.zero_axis()?;
        self.op1("GatherV2", name, &[v.clone(), index, axis])
    }

    /// The vector `v` as a column, `[n, 1]`.
    fn column(&mut self, v: &Output, name: &str) -> Result<Output> {
        let axis = self.constant(&format!("{name}_axis"), Tensor::from(1i32))?;
        self.op1("ExpandDims", name, &[v.clone(), axis])
    }

    /// Vectors one after the other.
    fn concat(&mut self, name: &str, parts: &[Output]) -> Result<Output> {
        let axis = self.zero_axis()?;
        let name = format!("{}/{name}", self.scope);
        let op = self.b.op("ConcatV2", &name, &[], |d| {
            d.add_input_list(parts);
            d.add_input(axis);
            Ok(())
        })?;
        Ok(op.into())
    }

    /// A scalar int32 0, an axis.
    fn zero_axis(&mut self) -> Result<Output> {
        self.constant("axis_zero", Tensor::from(0i32))
    }
}

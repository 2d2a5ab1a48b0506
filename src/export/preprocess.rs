//! Pictures in the exported graph: a second input, `image_bytes` (one encoded picture, a
//! scalar string), decoded and fitted in TF ops as `predict` fits pictures with the `image`
//! crate and `fast_image_resize`, so a served model takes a JPEG and answers what `predict`
//! prints. Decoded to 3 channels (JPEG by the accurate IDCT, as the `image` crate decodes it;
//! PNG, GIF's first frame, BMP, WebP by `DecodeImage`) → gray by ITU-R 601 weights rounded to
//! a byte (as `predict`, before resizing) → stretched, cropped (the centred box of the input's
//! aspect ratio) or padded (resized to fit, centred on black) by `fast_image_resize`'s own
//! integer arithmetic ([`resize`]) → the recorded scale → the input's shape, a batch of one.
//!
//! The network is not copied: in the written GraphDef the input `Placeholder` becomes a
//! `PlaceholderWithDefault` whose default is the preprocessed picture ([`wire`]). Feeding the
//! input prunes the preprocessing away; feeding `image_bytes` alone computes it.

use tensorflow::{DataType, Output, Shape, Tensor, TensorType};

mod resize;

use crate::data::images::Preprocess;
use crate::data::Scale;
use crate::error::{Error, Result, Role};
use crate::graph::Builder;
use crate::model::Model;
use crate::proto::{GraphDef, NodeDef};
use crate::tf::output_name;
use crate::tf::tensors::{output_dtype, shape_dims};

/// The picture input and what it becomes.
pub struct Pictures {
    /// The string placeholder fed one encoded picture (`image_bytes:0`).
    pub bytes: Output,
    /// The preprocessed picture, shaped as the input with a batch of one: the input's default.
    pub pixels: Output,
}

/// Add the picture input of `input` (a `Placeholder`) to the model's graph: `image_bytes` and
/// the ops under a free `preprocess` scope fitting a picture as `p` says and mapping its bytes
/// by `scale`.
pub fn build(model: &mut Model, input: &Output, p: &Preprocess, scale: Scale) -> Result<Pictures> {
    let op = input.operation.op_type()?;
    if op != "Placeholder" {
        let why = format!("is a {op}, not a Placeholder: the picture input becomes the default of a Placeholder");
        return Err(Error::arg(Role::Input, Some(&output_name(input)), why));
    }
    if scale.channels() != 1 && scale.channels() != usize::from(p.channels) {
        let why = format!("has {} channels; the pictures are fitted to {}", scale.channels(), p.channels);
        return Err(Error::arg(Role::Scale, Some(&scale.spec()), why));
    }
    let shape = feed_shape(shape_dims(&model.graph.tensor_shape(input.clone())?).as_deref(), p)?;
    let dtype = output_dtype(input);
    let mut b = Builder::new(&mut model.graph, "", None, 0);
    let scope = b.free_scope("preprocess");
    let name = b.name("image_bytes");
    b.unprefixed(|b| {
        let bytes: Output = b
            .op("Placeholder", &name, &[], |d| {
                d.set_attr_type("dtype", DataType::String)?;
                Ok(d.set_attr_shape("shape", &Shape::from(Some(vec![])))?)
            })?
            .into();
        let mut s = Steps { b, scope };
        let rgb = s.decode(&bytes)?;
        let px = if p.channels == 1 { s.gray(rgb.clone())? } else { rgb.clone() };
        let hw = s.size(&rgb)?;
        let fitted = s.fit(px, hw, p)?;
        let values = s.scale(fitted, scale)?;
        let shape = s.constant("input_shape", vec1(&shape)?)?;
        let shaped = s.op1("Reshape", if dtype == DataType::Float { "pixels" } else { "reshaped" }, &[values, shape])?;
        let pixels = if dtype == DataType::Float { shaped } else { s.cast(&shaped, dtype, "pixels")? };
        Ok(Pictures { bytes, pixels })
    })
}

/// The shape a picture is fed in: the input's, a batch of one (`[1, H, W, C]` when the input's
/// is unknown); its values must be the picture's.
fn feed_shape(dims: Option<&[i64]>, p: &Preprocess) -> Result<Vec<i32>> {
    let values = i64::from(p.height) * i64::from(p.width) * i64::from(p.channels);
    let Some(dims) = dims else { return Ok(vec![1, p.height as i32, p.width as i32, i32::from(p.channels)]) };
    let rest: Vec<i64> = dims.iter().skip(1).map(|&d| d.max(-1)).collect();
    let known: i64 = rest.iter().filter(|&&d| d >= 0).product();
    let open = rest.iter().filter(|&&d| d < 0).count();
    let fits = match open {
        0 => known == values,
        1 => known > 0 && values % known == 0,
        _ => false,
    };
    if dims.is_empty() || !fits {
        let why = format!(
            "has shape {dims:?}; a {}x{}x{} picture cannot be fed to it as a batch of one",
            p.height, p.width, p.channels
        );
        return Err(Error::arg(Role::Input, None, why));
    }
    Ok(std::iter::once(1).chain(rest.iter().map(|&d| d as i32)).collect())
}

/// A rank-1 tensor of `values`.
fn vec1<T: TensorType + Copy>(values: &[T]) -> Result<Tensor<T>> {
    Ok(Tensor::new(&[values.len() as u64]).with_values(values)?)
}

/// Ops added under one scope.
struct Steps<'a, 'g> {
    b: &'a mut Builder<'g>,
    scope: String,
}

impl Steps<'_, '_> {
    fn op1(&mut self, ty: &str, name: &str, inputs: &[Output]) -> Result<Output> {
        self.b.op1(ty, &format!("{}/{name}", self.scope), inputs)
    }

    fn constant<T: TensorType>(&mut self, name: &str, value: Tensor<T>) -> Result<Output> {
        self.b.constant(&format!("{}/{name}", self.scope), value)
    }

    fn cast(&mut self, x: &Output, to: DataType, name: &str) -> Result<Output> {
        let name = format!("{}/{name}", self.scope);
        Ok(self.b.op("Cast", &name, std::slice::from_ref(x), |d| Ok(d.set_attr_type("DstT", to)?))?.into())
    }

    /// `[h, w, 3]` bytes; a gray picture's channel thrice, alpha dropped (as `into_rgb8`). A
    /// JPEG by `DecodeJpeg` with the accurate integer IDCT, as the `image` crate decodes it
    /// (`DecodeImage` takes libjpeg's fast one: bytes off by up to 12), anything else by
    /// `DecodeImage`; a `Switch` on the first bytes picks, as `tf.io.decode_image` tells JPEG.
    fn decode(&mut self, bytes: &Output) -> Result<Output> {
        let is_jpeg = self.is_jpeg(bytes)?;
        let name = format!("{}/switch", self.scope);
        let switch = self.b.op("Switch", &name, &[bytes.clone(), is_jpeg], |d| Ok(d.set_attr_type("T", DataType::String)?))?;
        let (other, jpeg) = (Output { operation: switch.clone(), index: 0 }, Output { operation: switch, index: 1 });
        let name = format!("{}/decode_jpeg", self.scope);
        let from_jpeg: Output = self
            .b
            .op("DecodeJpeg", &name, &[jpeg], |d| {
                d.set_attr_int("channels", 3)?;
                Ok(d.set_attr_string("dct_method", "INTEGER_ACCURATE")?)
            })?
            .into();
        let name = format!("{}/decode_other", self.scope);
        let from_other: Output = self
            .b
            .op("DecodeImage", &name, &[other], |d| {
                d.set_attr_int("channels", 3)?;
                d.set_attr_type("dtype", DataType::UInt8)?;
                Ok(d.set_attr_bool("expand_animations", false)?)
            })?
            .into();
        let name = format!("{}/decode", self.scope);
        let merged = self.b.op("Merge", &name, &[], |d| {
            d.add_input_list(&[from_jpeg, from_other]);
            Ok(d.set_attr_type("T", DataType::UInt8)?)
        })?;
        Ok(merged.into())
    }

    /// Whether `bytes` begin as a JPEG does (`FF D8 FF`), a scalar bool; padded first, so a
    /// shorter string is simply not one.
    fn is_jpeg(&mut self, bytes: &Output) -> Result<Output> {
        let pad = self.constant("head_pad", Tensor::from(String::from("   ")))?;
        let name = format!("{}/padded", self.scope);
        let padded: Output = self
            .b
            .op("StringJoin", &name, &[], |d| {
                d.add_input_list(&[bytes.clone(), pad]);
                Ok(())
            })?
            .into();
        let (pos, len) = (self.constant("head_pos", Tensor::from(0i32))?, self.constant("head_len", Tensor::from(3i32))?);
        let head = self.op1("Substr", "head", &[padded, pos, len])?;
        let name = format!("{}/head_bytes", self.scope);
        let raw: Output = self.b.op("DecodeRaw", &name, &[head], |d| Ok(d.set_attr_type("out_type", DataType::UInt8)?))?.into();
        let magic = self.constant("jpeg_magic", vec1(&[0xffu8, 0xd8, 0xff])?)?;
        let same = self.op1("Equal", "head_is_magic", &[raw, magic])?;
        let axis = self.constant("head_axis", Tensor::from(0i32))?;
        self.op1("All", "is_jpeg", &[same, axis])
    }

    /// `[h, w, 1]` float bytes: `(299 R + 587 G + 114 B + 500) / 1000` rounded down, exactly
    /// `predict`'s integer formula (every step is exact in float32).
    fn gray(&mut self, rgb: Output) -> Result<Output> {
        let x = self.cast(&rgb, DataType::Float, "rgb")?;
        let weights = self.constant("gray_weights", vec1(&[299f32, 587., 114.])?)?;
        let weighted = self.op1("Mul", "gray_weighted", &[x, weights])?;
        let axis = self.constant("gray_axis", Tensor::from(-1i32))?;
        let name = format!("{}/gray_sum", self.scope);
        let sum: Output = self.b.op("Sum", &name, &[weighted, axis], |d| Ok(d.set_attr_bool("keep_dims", true)?))?.into();
        let half = self.constant("gray_half", Tensor::from(500f32))?;
        let thousand = self.constant("gray_thousand", Tensor::from(1000f32))?;
        let rounded = self.op1("Add", "gray_rounded", &[sum, half])?;
        let scaled = self.op1("RealDiv", "gray_scaled", &[rounded, thousand])?;
        self.op1("Floor", "gray", &[scaled])
    }

    /// The picture's `[height, width]` (int32).
    fn size(&mut self, rgb: &Output) -> Result<Output> {
        let shape = self.op1("Shape", "source_shape", std::slice::from_ref(rgb))?;
        let begin = self.constant("size_begin", vec1(&[0i32])?)?;
        let len = self.constant("size_len", vec1(&[2i32])?)?;
        self.op1("Slice", "source_hw", &[shape, begin, len])
    }

    /// Float bytes to the values fed, as [`Scale::apply`] computes them in float32.
    fn scale(&mut self, x: Output, scale: Scale) -> Result<Output> {
        match scale {
            Scale::Times(s) => {
                let s = self.constant("scale_times", Tensor::from(s))?;
                self.op1("Mul", "scaled", &[x, s])
            }
            Scale::Range(lo, hi) => {
                let m = self.constant("scale_step", Tensor::from((hi - lo) / 255.0))?;
                let lo = self.constant("scale_low", Tensor::from(lo))?;
                let stepped = self.op1("Mul", "scale_stepped", &[x, m])?;
                self.op1("Add", "scaled", &[stepped, lo])
            }
            Scale::Normalize { mean, std, channels } => {
                let n = channels as usize;
                let byte = self.constant("scale_byte", Tensor::from(255f32))?;
                let mean = self.constant("scale_mean", vec1(&mean[..n])?)?;
                let std = self.constant("scale_std", vec1(&std[..n])?)?;
                let unit = self.op1("RealDiv", "scale_unit", &[x, byte])?;
                let centred = self.op1("Sub", "scale_centred", &[unit, mean])?;
                self.op1("RealDiv", "scaled", &[centred, std])
            }
        }
    }
}

/// In `gd`, make `input`'s `Placeholder` a `PlaceholderWithDefault` of `pixels` (same dtype
/// and shape): fed, it is what it was; not fed, it is the preprocessed picture.
pub(crate) fn wire(gd: &mut GraphDef, input: &Output, pixels: &Output) -> Result<()> {
    let name = input.operation.name()?;
    let node: &mut NodeDef =
        gd.node.iter_mut().find(|n| n.name == name).ok_or_else(|| Error::Tf(format!("the GraphDef has no node {name}")))?;
    if node.op != "Placeholder" {
        return Err(Error::Tf(format!("{name} is a {}, not a Placeholder", node.op)));
    }
    node.op = "PlaceholderWithDefault".into();
    let default = pixels.operation.name()?;
    node.input = vec![if pixels.index == 0 { default } else { output_name(pixels) }];
    node.attr.entry("shape".into()).or_insert_with(|| crate::proto::AttrValue {
        value: Some(crate::proto::attr_value::Value::Shape(crate::proto::tensor_shape(None))),
    });
    Ok(())
}

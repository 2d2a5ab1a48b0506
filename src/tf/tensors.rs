//! Tensors of any dtype: moving values between `.npy` arrays (ndarray) and TF tensors, and
//! feeding / fetching them in a session when the dtype is only known at run time.

use ndarray::{ArrayD, IxDyn};
use tensorflow::{DataType, FetchToken, Operation, Output, SessionRunArgs, Tensor, TensorType};

use crate::error::{Error, Result};

/// TF's numeric dtype code -> the crate's DataType (its own conversion is private).
pub(crate) fn dtype_from_c(code: i32) -> DataType {
    match code {
        1 => DataType::Float,
        2 => DataType::Double,
        3 => DataType::Int32,
        4 => DataType::UInt8,
        5 => DataType::Int16,
        6 => DataType::Int8,
        7 => DataType::String,
        9 => DataType::Int64,
        10 => DataType::Bool,
        14 => DataType::BFloat16,
        17 => DataType::UInt16,
        19 => DataType::Half,
        20 => DataType::Resource,
        21 => DataType::Variant,
        22 => DataType::UInt32,
        23 => DataType::UInt64,
        c => DataType::UnrecognizedEnumValue(c as u32),
    }
}

/// The crate's DataType -> TF's numeric code.
pub(crate) fn dtype_code(d: DataType) -> i32 {
    (0..=23).find(|&c| dtype_from_c(c) == d).unwrap_or(1)
}

/// Python's name for a dtype (`float32`, `int64`, …).
pub fn dtype_name(d: DataType) -> String {
    match d {
        DataType::Float => "float32".into(),
        DataType::Double => "float64".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::UInt8 => "uint8".into(),
        DataType::Int8 => "int8".into(),
        DataType::Int16 => "int16".into(),
        DataType::UInt16 => "uint16".into(),
        DataType::UInt32 => "uint32".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::Bool => "bool".into(),
        DataType::String => "string".into(),
        DataType::Half => "float16".into(),
        DataType::BFloat16 => "bfloat16".into(),
        DataType::Resource => "resource".into(),
        DataType::Variant => "variant".into(),
        // The crate's Display of an unrecognized dtype crashes: never call it.
        DataType::UnrecognizedEnumValue(c) if c > 100 => format!("{}_ref", dtype_name(dtype_from_c(c as i32 - 100))),
        DataType::UnrecognizedEnumValue(c) => format!("dtype {c}"),
        _ => "another dtype".into(),
    }
}

/// The dtype of output `o`; for a ref output (a ref variable's, an `Assign`'s) the dtype of
/// the value it holds, which is what fetching it returns. The crate's `output_type` reads TF's
/// code into a Rust enum, undefined behaviour for a ref code (base + 100; it crashed `run
/// --fetch kernel:0`), so it is asked only about outputs the op's OpDef says are no refs.
pub fn output_dtype(o: &Output) -> DataType {
    ref_output_dtype(o).unwrap_or_else(|| o.operation.output_type(o.index as usize))
}

/// The value dtype of `o` when its OpDef makes it a ref output.
fn ref_output_dtype(o: &Output) -> Option<DataType> {
    let def = op_def(&o.operation.op_type().ok()?)?;
    let mut first = 0i64;
    for arg in &def.output_arg {
        let count = if !arg.number_attr.is_empty() {
            o.operation.get_attr_int(&arg.number_attr).ok()?
        } else if !arg.type_list_attr.is_empty() {
            o.operation.get_attr_type_list(&arg.type_list_attr).ok()?.len() as i64
        } else {
            1
        };
        if (o.index as i64) < first + count {
            return match (arg.is_ref, arg.type_attr.is_empty()) {
                (false, _) => None,
                (true, true) => Some(dtype_from_c(arg.r#type)),
                (true, false) => o.operation.get_attr_type(&arg.type_attr).ok(),
            };
        }
        first += count;
    }
    None
}

/// Registered OpDefs by op type, and the graph that looks them up.
type OpDefs = (tensorflow::Graph, std::collections::HashMap<String, Option<std::rc::Rc<crate::proto::OpDef>>>);

/// The registered OpDef of op type `ty` (None for a graph's own functions), cached per thread.
fn op_def(ty: &str) -> Option<std::rc::Rc<crate::proto::OpDef>> {
    use prost::Message;
    thread_local! {
        static DEFS: std::cell::RefCell<OpDefs> = std::cell::RefCell::new((tensorflow::Graph::new(), Default::default()));
    }
    DEFS.with(|d| {
        let (graph, cache) = &mut *d.borrow_mut();
        cache
            .entry(ty.to_string())
            .or_insert_with(|| graph.get_op_def(ty).ok().and_then(|b| crate::proto::OpDef::decode(b.as_slice()).ok()).map(std::rc::Rc::new))
            .clone()
    })
}

/// Dimensions of a shape, -1 for unknown ones; None for unknown rank.
pub(crate) fn shape_dims(shape: &tensorflow::Shape) -> Option<Vec<i64>> {
    shape.dims().map(|n| (0..n).map(|i| shape[i].unwrap_or(-1)).collect())
}

/// `[?, 784]` style, `<unknown>` for unknown rank.
pub(crate) fn shape_string(shape: &tensorflow::Shape) -> String {
    shape_dims(shape).map_or("<unknown>".into(), |d| dims_text(&d))
}

/// `[?, 784]` for dimensions as [`shape_dims`] gives them (-1: unknown).
pub(crate) fn dims_text(dims: &[i64]) -> String {
    let d: Vec<String> = dims.iter().map(|&d| if d < 0 { "?".into() } else { d.to_string() }).collect();
    format!("[{}]", d.join(", "))
}

macro_rules! dyn_array {
    ($( $variant:ident => $t:ty, $dt:ident ),* $(,)?) => {
        /// An n-d array of one of the dtypes tfreuse moves in and out of TF.
        #[derive(Clone, Debug, PartialEq)]
        pub enum DynArray { $( #[doc = concat!("Values of dtype `", stringify!($dt), "`.")] $variant(ArrayD<$t>), )* }

        /// A TF tensor of one of those dtypes, ready to feed.
        pub enum DynTensor { $( #[doc = concat!("A tensor of dtype `", stringify!($dt), "`.")] $variant(Tensor<$t>), )* }

        impl DynArray {
            /// Its dtype.
            pub fn dtype(&self) -> DataType {
                match self { $( DynArray::$variant(_) => DataType::$dt, )* }
            }
            /// Its shape.
            pub fn shape(&self) -> &[usize] {
                match self { $( DynArray::$variant(a) => a.shape(), )* }
            }
            /// A TF tensor of the same values.
            pub fn to_tensor(&self) -> DynTensor {
                match self { $( DynArray::$variant(a) => DynTensor::$variant(array_to_tensor(a)), )* }
            }
            /// Values as f64 (for summaries and comparisons).
            pub(crate) fn to_f64(&self) -> Vec<f64> {
                match self { $( DynArray::$variant(a) => a.iter().map(|v| num_f64(*v)).collect(), )* }
            }
            /// The values as little-endian bytes in row-major order: a TensorProto's
            /// `tensor_content` (bool as one byte each).
            pub fn to_le_bytes(&self) -> Vec<u8> {
                match self { $( DynArray::$variant(a) => {
                    let mut out = Vec::with_capacity(a.len() * std::mem::size_of::<$t>());
                    a.iter().for_each(|v| v.put_le(&mut out));
                    out
                } )* }
            }
            /// Convert to another dtype (feeding int64 labels to an int32 placeholder…).
            pub fn cast(&self, to: DataType) -> Result<DynArray> {
                let v = self.to_f64();
                let shape = IxDyn(self.shape());
                match to {
                    $( DataType::$dt => Ok(DynArray::$variant(
                        ArrayD::from_shape_vec(shape, v.into_iter().map(|x| from_f64::<$t>(x)).collect())
                            .expect("same element count"))), )*
                    other => Err(Error::Invalid(format!("cannot feed dtype {}", dtype_name(other)))),
                }
            }
            /// Fetch output `idx` of `op` (whose dtype is `dtype`) from finished run args.
            pub fn fetch(args: &mut SessionRunArgs<'_>, token: FetchToken, dtype: DataType) -> Result<DynArray> {
                match dtype {
                    $( DataType::$dt => {
                        let t: Tensor<$t> = args.fetch(token)?;
                        Ok(DynArray::$variant(tensor_to_array(&t)))
                    } )*
                    other => Err(Error::Invalid(format!("cannot fetch a tensor of dtype {}", dtype_name(other)))),
                }
            }
        }

        impl DynTensor {
            /// Feed it to output `idx` of `op` in `args`.
            pub fn feed<'a>(&'a self, args: &mut SessionRunArgs<'a>, op: &Operation, idx: i32) {
                match self { $( DynTensor::$variant(t) => args.add_feed(op, idx, t), )* }
            }
            /// Its first dimension (1 for a scalar).
            pub(crate) fn rows(&self) -> usize {
                match self { $( DynTensor::$variant(t) => t.dims().first().map_or(1, |&d| d as usize), )* }
            }
            /// Rows `start..end` in a tensor of `rows` rows (at least as many), the last of them
            /// repeated to fill it: a run of a graph that takes batches of exactly `rows`.
            pub(crate) fn rows_padded(&self, start: usize, end: usize, rows: usize) -> DynTensor {
                match self { $( DynTensor::$variant(t) => DynTensor::$variant(pad_rows(t, start, end, rows)), )* }
            }
        }
    };
}

dyn_array! {
    F32 => f32, Float,
    F64 => f64, Double,
    F16 => half::f16, Half,
    I32 => i32, Int32,
    I64 => i64, Int64,
    U8 => u8, UInt8,
    I8 => i8, Int8,
    I16 => i16, Int16,
    U16 => u16, UInt16,
    Bool => bool, Bool,
}

/// See [`DynTensor::rows_padded`].
fn pad_rows<T: TensorType + Copy>(t: &Tensor<T>, start: usize, end: usize, rows: usize) -> Tensor<T> {
    let dims = t.dims();
    let row: usize = dims.iter().skip(1).map(|&d| d as usize).product();
    let mut values: Vec<T> = t[start * row..end * row].to_vec();
    let last = values[values.len() - row..].to_vec();
    while values.len() < rows * row {
        values.extend_from_slice(&last);
    }
    let shape: Vec<u64> = std::iter::once(rows as u64).chain(dims.iter().skip(1).copied()).collect();
    Tensor::new(&shape).with_values(&values).expect("as many values as the shape")
}

trait Num: Copy {
    fn put_le(self, out: &mut Vec<u8>);
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}
macro_rules! num_impl {
    ($($t:ty),*) => { $( impl Num for $t {
        fn put_le(self, out: &mut Vec<u8>) { out.extend_from_slice(&self.to_le_bytes()) }
        fn to_f64(self) -> f64 { self as f64 }
        fn from_f64(v: f64) -> Self { v as $t }
    } )* };
}
num_impl!(f32, f64, i32, i64, u8, i8, i16, u16);
impl Num for bool {
    fn put_le(self, out: &mut Vec<u8>) {
        out.push(self as u8)
    }
    fn to_f64(self) -> f64 {
        if self {
            1.0
        } else {
            0.0
        }
    }
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
}
impl Num for half::f16 {
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes())
    }
    fn to_f64(self) -> f64 {
        half::f16::to_f64(self)
    }
    fn from_f64(v: f64) -> Self {
        half::f16::from_f64(v)
    }
}
fn num_f64<T: Num>(v: T) -> f64 {
    v.to_f64()
}
fn from_f64<T: Num>(v: f64) -> T {
    T::from_f64(v)
}

fn array_to_tensor<T: tensorflow::TensorType + Copy>(a: &ArrayD<T>) -> Tensor<T> {
    let dims: Vec<u64> = a.shape().iter().map(|&d| d as u64).collect();
    let mut t = Tensor::new(&dims);
    match a.as_slice() {
        Some(s) => t.copy_from_slice(s),
        None => t.iter_mut().zip(a.iter()).for_each(|(d, s)| *d = *s),
    }
    t
}

fn tensor_to_array<T: tensorflow::TensorType + Copy>(t: &Tensor<T>) -> ArrayD<T> {
    let shape: Vec<usize> = t.dims().iter().map(|&d| d as usize).collect();
    ArrayD::from_shape_vec(IxDyn(&shape), t.to_vec()).expect("tensor size matches dims")
}

/// A short human summary: mean/min/max for numbers, or the values if few.
pub fn summary(a: &DynArray) -> String {
    let v = a.to_f64();
    if v.is_empty() {
        return "empty".into();
    }
    if v.len() <= 6 {
        let parts: Vec<String> = v.iter().map(|x| format!("{x}")).collect();
        return format!("[{}]", parts.join(", "));
    }
    let (mut lo, mut hi, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
    for &x in &v {
        lo = lo.min(x);
        hi = hi.max(x);
        sum += x;
    }
    format!("mean {:.6} min {:.6} max {:.6}", sum / v.len() as f64, lo, hi)
}

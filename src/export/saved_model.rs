//! A SavedModel (`saved_model.pb` + `variables/`) tagged `serve` with a `serving_default`
//! signature — input → logits, probabilities and class ids — as
//! `tf.compat.v1.saved_model.Builder` writes it, for `saved_model.loader.load` and TF Serving.
//! Known class names go with it as the asset `assets/labels.txt`. With the picture input, a
//! second signature, `serving_bytes`, takes `image_bytes` to the same outputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prost::Message;
use tensorflow::Output;

use super::Serving;
use crate::atomic::{parent_dir, AtomicDir};
use crate::error::{Error, Result};
use crate::graph::{Builder, Var};
use crate::model::metagraph::Extension;
use crate::model::{MetaGraph, Model};
use crate::proto::collection_def::{Kind, NodeList};
use crate::proto::{tensor_info, AssetFileDef, CollectionDef, OpDef, SignatureDef, TensorInfo};
use crate::tf::tensors::{dtype_code, shape_dims};

/// What a signature says of a tensor: its name, dtype and static shape.
fn info(model: &Model, o: &Output) -> Result<TensorInfo> {
    let dims = shape_dims(&model.graph.tensor_shape(o.clone())?);
    let tensor_shape = Some(crate::proto::tensor_shape(dims.as_deref()));
    let dtype = dtype_code(crate::tf::tensors::output_dtype(o));
    Ok(TensorInfo { dtype, tensor_shape, encoding: Some(tensor_info::Encoding::Name(crate::tf::output_name(o))) })
}

/// Write `model` (restored) as a SavedModel directory `out`, which must not exist; the
/// directory appears whole or not at all.
pub fn saved_model(model: &mut Model, serving: &Serving, out: &Path) -> Result<PathBuf> {
    if out.exists() {
        return Err(Error::Invalid(format!("{}: exists; a SavedModel is written to a new directory", out.display())));
    }
    let name = out.file_name().ok_or_else(|| Error::Invalid(format!("{}: not a directory name", out.display())))?.to_owned();
    let defs = model.meta.variables()?;
    let vars = defs.iter().map(|d| Var::imported(&model.graph, d)).collect::<Result<Vec<_>>>()?;
    let mut b = Builder::new(&mut model.graph, "", None, 0);
    let saver_def = crate::graph::saver::saver_ops(&mut b, "save", &vars.iter().collect::<Vec<_>>())?;
    let labels = serving.labels_text().map(|text| Ok::<_, Error>((asset_tensor(&mut b, serving)?, text))).transpose()?;
    let mut meta = model.meta.extended(&model.graph, &Extension { saver_def: saver_def.clone(), variables: vec![], train_op: None })?;
    let sig = SignatureDef {
        inputs: BTreeMap::from([("x".to_string(), info(model, &serving.input)?)]),
        outputs: serving.outputs().into_iter().map(|(k, o)| Ok((k.to_string(), info(model, o)?))).collect::<Result<_>>()?,
        method_name: "tensorflow/serving/predict".into(),
        defaults: BTreeMap::new(),
    };
    add_pictures(model, &mut meta, serving, &sig)?;
    meta.def.signature_def.insert("serving_default".to_string(), sig);
    if let Some(info) = meta.def.meta_info_def.as_mut() {
        info.tags = vec!["serve".into()];
    }
    let staging = AtomicDir::begin(parent_dir(out), &name.to_string_lossy())?;
    let root = staging.path().join(&name);
    std::fs::create_dir_all(root.join("variables")).map_err(|e| Error::io(&root, e))?;
    if let Some((tensor, text)) = &labels {
        add_asset(model, &mut meta.def, tensor, LABELS)?;
        std::fs::create_dir_all(root.join("assets")).map_err(|e| Error::io(&root, e))?;
        crate::atomic::write_bytes_atomic(&root.join("assets").join(LABELS), text.as_bytes())?;
    }
    let filename = crate::tf::find_output(&model.graph, &saver_def.filename_tensor_name)?;
    let save = crate::tf::find_output(&model.graph, &saver_def.save_tensor_name)?;
    model.run_with_prefix(&filename, &save.operation, &root.join("variables/variables"))?;
    let saved = crate::model::metagraph::SavedModel { saved_model_schema_version: 1, meta_graphs: vec![meta.def] };
    crate::atomic::write_bytes_atomic(&root.join("saved_model.pb"), &saved.encode_to_vec())?;
    staging.publish(&name.to_string_lossy())
}

/// The signature taking encoded picture bytes.
pub const BYTES_SIGNATURE: &str = "serving_bytes";

/// The signatures: none but those added here. With the picture input: its preprocessing wired
/// into the written graph (see [`super::preprocess`]), and the signature [`BYTES_SIGNATURE`]
/// taking it to `sig`'s outputs.
fn add_pictures(model: &Model, meta: &mut MetaGraph, serving: &Serving, sig: &SignatureDef) -> Result<()> {
    meta.def.signature_def.clear();
    let Some(p) = &serving.pictures else { return Ok(()) };
    let mut gd = meta.graph_def()?;
    super::preprocess::wire(&mut gd, &serving.input, &p.pixels)?;
    meta.set_graph_def(&gd);
    if let Some(ops) = meta.def.meta_info_def.as_mut().and_then(|i| i.stripped_op_list.as_mut()) {
        let def = model.graph.get_op_def("PlaceholderWithDefault")?;
        let def = OpDef::decode(def.as_slice()).map_err(|e| Error::Tf(format!("TF wrote an OpDef we cannot decode: {e}")))?;
        ops.op.retain(|o| o.name != def.name);
        ops.op.push(def);
    }
    let inputs = BTreeMap::from([("image_bytes".to_string(), info(model, &p.bytes)?)]);
    meta.def.signature_def.insert(BYTES_SIGNATURE.to_string(), SignatureDef { inputs, ..sig.clone() });
    Ok(())
}

/// The asset file of the class names, in `assets/`.
const LABELS: &str = "labels.txt";

/// A string constant holding the labels file's name, beside the served outputs
/// (`export/labels_file`): the tensor an asset is, which the loader may feed its full path.
fn asset_tensor(b: &mut Builder<'_>, serving: &Serving) -> Result<Output> {
    let classes = serving.classes.operation.name()?;
    let scope = classes.rsplit_once('/').map_or("export", |(s, _)| s);
    b.unprefixed(|b| b.constant(&format!("{scope}/labels_file"), tensorflow::Tensor::from(LABELS.to_string())))
}

/// Name `tensor` as the asset `filename`: in the MetaGraph's `asset_file_def`, as the
/// SavedModel builder lists assets, and in the `asset_filepaths` collection, as TF1 graphs do.
fn add_asset(model: &Model, def: &mut crate::model::metagraph::MetaGraphDef, tensor: &Output, filename: &str) -> Result<()> {
    def.asset_file_def.push(AssetFileDef { tensor_info: Some(info(model, tensor)?), filename: filename.into() });
    let entry = def.collection_def.entry("asset_filepaths".into()).or_insert(CollectionDef { kind: Some(Kind::NodeList(NodeList::default())) });
    if let Some(Kind::NodeList(l)) = &mut entry.kind {
        l.value.push(crate::tf::output_name(tensor));
    }
    Ok(())
}

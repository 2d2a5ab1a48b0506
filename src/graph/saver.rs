//! Saver ops of our own (`tf.train.Saver(var_list)`): RestoreV2 + assigns for a chosen subset,
//! SaveV2 over every variable, and a saver_def Python's `import_meta_graph` understands. Ops
//! only: running them is the session's business (the model's save).

use tensorflow::{DataType, Operation, Output, Tensor};

use crate::error::Result;
use crate::graph::builder::Builder;
use crate::graph::var::Var;
use crate::proto::{saver_def::CheckpointFormatVersion, SaverDef};

/// Ops restoring some variables from a checkpoint prefix fed into `filename`.
pub struct RestoreOps {
    pub filename: Output,
    pub restore: Operation,
}

fn string_list(b: &mut Builder, base: &str, values: Vec<String>) -> Result<Output> {
    let mut t = Tensor::<String>::new(&[values.len() as u64]);
    for (i, v) in values.into_iter().enumerate() {
        t[i] = v;
    }
    b.constant(base, t)
}

fn filename_input(b: &mut Builder, scope: &str) -> Result<Output> {
    let default = b.constant(&format!("{scope}/filename/input"), Tensor::from(String::from("model")))?;
    Ok(b.op("PlaceholderWithDefault", &format!("{scope}/Const"), &[default], |d| {
        d.set_attr_type("dtype", DataType::String)?;
        Ok(d.set_attr_shape("shape", &tensorflow::Shape::from(Some(vec![])))?)
    })?
    .into())
}

/// The constant inputs RestoreV2 and SaveV2 share: checkpoint keys and (empty) slices.
struct Keys {
    names: Output,
    slices: Output,
    dtypes: Vec<DataType>,
}

fn keys(b: &mut Builder, scope: &str, vars: &[&Var]) -> Result<Keys> {
    Ok(Keys {
        names: string_list(b, &format!("{scope}/tensor_names"), vars.iter().map(|v| v.name.clone()).collect())?,
        slices: string_list(b, &format!("{scope}/shape_and_slices"), vec![String::new(); vars.len()])?,
        dtypes: vars.iter().map(|v| v.dtype).collect(),
    })
}

/// RestoreV2 of `vars` from `filename` and an assign for each, grouped under one NoOp.
fn restore_all(b: &mut Builder, scope: &str, filename: &Output, keys: &Keys, vars: &[&Var]) -> Result<Operation> {
    let inputs = [filename.clone(), keys.names.clone(), keys.slices.clone()];
    let restore = b.op("RestoreV2", &format!("{scope}/RestoreV2"), &inputs, |d| Ok(d.set_attr_type_list("dtypes", &keys.dtypes)?))?;
    let mut assigns = Vec::new();
    for (i, v) in vars.iter().enumerate() {
        assigns.push(b.op(v.kind.assign_op(), &format!("{scope}/Assign"), &[v.handle(), restore.output(i)], |d| {
            if v.kind == crate::graph::VarKind::Ref {
                d.set_attr_bool("validate_shape", true)?;
                d.set_attr_bool("use_locking", true)?;
            } else {
                d.set_attr_type("dtype", v.dtype)?;
            }
            Ok(())
        })?);
    }
    b.op("NoOp", &format!("{scope}/restore_all"), &[], |d| {
        for a in &assigns {
            d.add_control_input(a);
        }
        Ok(())
    })
}

/// Restore ops for `vars` (keys = names), fed a checkpoint prefix, in a free scope named
/// after `base` (under the builder's prefix).
pub fn restore_ops(b: &mut Builder, base: &str, vars: &[&Var]) -> Result<RestoreOps> {
    let scope = b.free_scope(base);
    b.unprefixed(|b| {
        let filename = filename_input(b, &scope)?;
        let keys = keys(b, &scope, vars)?;
        let restore = restore_all(b, &scope, &filename, &keys, vars)?;
        Ok(RestoreOps { filename, restore })
    })
}

/// A saver over `vars` in the layout Python's Saver builds, in a free scope named after
/// `base` (under the builder's prefix); returns its SaverDef.
pub fn saver_ops(b: &mut Builder, base: &str, vars: &[&Var]) -> Result<SaverDef> {
    let scope = b.free_scope(base);
    b.unprefixed(|b| saver_ops_in(b, &scope, vars))
}

fn saver_ops_in(b: &mut Builder, scope: &str, vars: &[&Var]) -> Result<SaverDef> {
    let filename = filename_input(b, scope)?;
    let keys = keys(b, scope, vars)?;
    let restore = restore_all(b, scope, &filename, &keys, vars)?;
    let tensors = vars.iter().map(|v| v.save_input(b.graph)).collect::<Result<Vec<Output>>>()?;
    let save = b.op("SaveV2", &format!("{scope}/SaveV2"), &[filename.clone(), keys.names.clone(), keys.slices.clone()], |d| {
        // The crate's generated SaveV2 takes `tensors` as one Output; it is a list.
        d.add_input_list(&tensors);
        Ok(d.set_attr_type_list("dtypes", &keys.dtypes)?)
    })?;
    let dep = b.op("Identity", &format!("{scope}/control_dependency"), std::slice::from_ref(&filename), |d| {
        d.add_control_input(&save);
        Ok(())
    })?;
    Ok(SaverDef {
        filename_tensor_name: format!("{}:0", filename.operation.name()?),
        save_tensor_name: format!("{}:0", dep.name()?),
        restore_op_name: restore.name()?,
        max_to_keep: 5,
        sharded: false,
        keep_checkpoint_every_n_hours: 10000.0,
        version: CheckpointFormatVersion::V2 as i32,
    })
}

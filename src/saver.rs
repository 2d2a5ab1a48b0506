//! Saving and restoring variables with ops of our own (`tf.train.Saver(var_list)`):
//! RestoreV2 + Assign for a chosen subset, SaveV2 over every variable, a saver_def Python's
//! `import_meta_graph` understands, and an atomic on-disk save of `.meta` + `.index` +
//! `.data-*` + `checkpoint`.

use std::path::{Path, PathBuf};

use prost::Message;
use tensorflow::{DataType, Operation, Output, SessionRunArgs, Tensor};

use crate::checkpoint::CheckpointState;
use crate::error::{Error, Result};
use crate::layers::Builder;
use crate::metagraph::MetaGraph;
use crate::model::Model;
use crate::proto::collection_def::{BytesList, Kind, NodeList};
use crate::proto::{CollectionDef, OpDef, OpList, SaverDef, VariableDef};

/// A variable to save or restore: its checkpoint key and its VariableV2 op.
#[derive(Clone, Debug)]
pub struct SaveVar {
    pub name: String,
    pub var: Operation,
    pub dtype: DataType,
}

/// Ops restoring `vars` from a prefix fed into `filename`.
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
    Ok(b
        .op("PlaceholderWithDefault", &format!("{scope}/Const"), &[default], |d| {
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

fn keys(b: &mut Builder, scope: &str, vars: &[SaveVar]) -> Result<Keys> {
    Ok(Keys {
        names: string_list(b, &format!("{scope}/tensor_names"), vars.iter().map(|v| v.name.clone()).collect())?,
        slices: string_list(b, &format!("{scope}/shape_and_slices"), vec![String::new(); vars.len()])?,
        dtypes: vars.iter().map(|v| v.dtype).collect(),
    })
}

/// RestoreV2 of `vars` from `filename` and an Assign for each, grouped under one NoOp.
fn restore_all(b: &mut Builder, scope: &str, filename: &Output, keys: &Keys, vars: &[SaveVar]) -> Result<Operation> {
    let restore = b.op("RestoreV2", &format!("{scope}/RestoreV2"), &[filename.clone(), keys.names.clone(), keys.slices.clone()], |d| {
        Ok(d.set_attr_type_list("dtypes", &keys.dtypes)?)
    })?;
    let mut assigns = Vec::new();
    for (i, v) in vars.iter().enumerate() {
        assigns.push(b.op("Assign", &format!("{scope}/Assign"), &[v.var.output(0), restore.output(i)], |d| {
            d.set_attr_bool("validate_shape", true)?;
            Ok(d.set_attr_bool("use_locking", true)?)
        })?);
    }
    b.op("NoOp", &format!("{scope}/restore_all"), &[], |d| {
        for a in &assigns {
            d.add_control_input(a);
        }
        Ok(())
    })
}

/// Restore ops for `vars` (keys = names), fed a checkpoint prefix.
pub fn restore_ops(b: &mut Builder, scope: &str, vars: &[SaveVar]) -> Result<RestoreOps> {
    let filename = filename_input(b, scope)?;
    let keys = keys(b, scope, vars)?;
    let restore = restore_all(b, scope, &filename, &keys, vars)?;
    Ok(RestoreOps { filename, restore })
}

/// A saver over `vars` in the layout Python's Saver builds; returns its SaverDef.
pub fn saver_ops(b: &mut Builder, scope: &str, vars: &[SaveVar]) -> Result<SaverDef> {
    let filename = filename_input(b, scope)?;
    let keys = keys(b, scope, vars)?;
    let restore = restore_all(b, scope, &filename, &keys, vars)?;
    let tensors: Vec<Output> = vars.iter().map(|v| v.var.output(0)).collect();
    let save = b.op("SaveV2", &format!("{scope}/SaveV2"), &[filename.clone(), keys.names.clone(), keys.slices.clone()], |d| {
        // The crate's generated SaveV2 takes `tensors` as one Output; it is a list.
        d.add_input_list(&tensors);
        Ok(d.set_attr_type_list("dtypes", &keys.dtypes)?)
    })?;
    let dep = b.op("Identity", &format!("{scope}/control_dependency"), &[filename.clone()], |d| {
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
        version: crate::proto::saver_def::CheckpointFormatVersion::V2 as i32,
    })
}

/// Run restore ops with `prefix`.
pub fn run_restore(model: &Model, ops: &RestoreOps, prefix: &Path) -> Result<()> {
    let name = Tensor::from(prefix.to_string_lossy().into_owned());
    let mut args = SessionRunArgs::new();
    args.add_feed(&ops.filename.operation, ops.filename.index, &name);
    args.add_target(&ops.restore);
    model.session.run(&mut args).map_err(|s| Error::bad_file(prefix, format!("cannot restore this checkpoint into the graph: {}", Error::from(s))))
}

/// The new `.meta`: the current graph, `saver_def`, collections updated with the new
/// variables and training op, everything else kept; the stripped op list regenerated so it
/// names every op type the graph now uses.
pub fn new_meta_graph(model: &Model, saver_def: SaverDef, new_vars: &[VariableDef], new_trainable: &[VariableDef], train_op: Option<&str>) -> Result<MetaGraph> {
    let mut meta = model.meta.clone();
    meta.def.graph_def = Some(model.graph.graph_def()?);
    meta.def.saver_def = Some(saver_def);
    let mut add_vars = |key: &str, defs: &[VariableDef]| {
        let entry = meta.def.collection_def.entry(key.to_string()).or_insert(CollectionDef { kind: Some(Kind::BytesList(BytesList::default())) });
        if let Some(Kind::BytesList(l)) = &mut entry.kind {
            l.value.extend(defs.iter().map(|d| d.encode_to_vec()));
        }
    };
    add_vars("variables", new_vars);
    add_vars("trainable_variables", new_trainable);
    if let Some(op) = train_op {
        let entry = meta.def.collection_def.entry("train_op".into()).or_insert(CollectionDef { kind: Some(Kind::NodeList(NodeList::default())) });
        if let Some(Kind::NodeList(l)) = &mut entry.kind {
            l.value.push(op.to_string());
        }
    }
    let mut types: Vec<String> = model.graph.operation_iter().filter_map(|o| o.op_type().ok()).collect();
    types.sort();
    types.dedup();
    let mut op_list = OpList::default();
    for t in types {
        let def = model.graph.get_op_def(&t)?;
        op_list.op.push(OpDef::decode(def.as_slice()).map_err(|e| Error::Tf(format!("TF wrote an OpDef we cannot decode: {e}")))?);
    }
    if let Some(info) = meta.def.meta_info_def.as_mut() {
        info.stripped_op_list = Some(op_list);
        info.stripped_default_attrs = false;
    }
    Ok(meta)
}

/// A VariableDef as Python writes it for a ref variable.
pub fn variable_def(name: &str, initializer: &str, snapshot: &str, initial_value: &str, trainable: bool) -> VariableDef {
    VariableDef {
        variable_name: format!("{name}:0"),
        initializer_name: initializer.to_string(),
        snapshot_name: snapshot.to_string(),
        initial_value_name: initial_value.to_string(),
        trainable,
        ..Default::default()
    }
}

/// Save variables and the `.meta` to `out` (a prefix like `runs/model.ckpt`) so that a crash
/// at any moment leaves the `checkpoint` state file naming a complete checkpoint:
/// 1. everything is written into a private temporary directory beside `out`;
/// 2. an existing checkpoint at `out` is hard-linked to a backup prefix and the state file
///    is pointed at the backup (unless a crashed save already left it on a backup);
/// 3. the new files are renamed into place (data, then index, then meta);
/// 4. the state file is pointed at `out`, and the backup removed.
pub fn save_all(model: &Model, saver: &SaverDef, meta: &MetaGraph, out: &Path) -> Result<Vec<PathBuf>> {
    let dir = crate::fsutil::parent_dir(out).to_path_buf();
    let base = out.file_name().ok_or_else(|| Error::Invalid(format!("--out {}: not a file prefix", out.display())))?.to_string_lossy().into_owned();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let tmp = dir.join(format!(".{base}.saving-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let result = (|| {
        let filename = model.output(&saver.filename_tensor_name)?;
        let save = model.output(&saver.save_tensor_name)?;
        let prefix = Tensor::from(tmp.join(&base).to_string_lossy().into_owned());
        let mut args = SessionRunArgs::new();
        args.add_feed(&filename.operation, filename.index, &prefix);
        args.add_target(&save.operation);
        model.session.run(&mut args).map_err(|s| Error::bad_file(out, format!("saving failed: {}", Error::from(s))))?;
        crate::fsutil::write_bytes_atomic(&tmp.join(format!("{base}.meta")), &meta.encode())?;
        let new_files = checkpoint_files(&tmp, &base)?;
        let state_path = dir.join(crate::checkpoint::STATE_FILE);
        let write_state = |name: &str| -> Result<()> {
            let state = CheckpointState { model_checkpoint_path: name.to_string(), all_model_checkpoint_paths: vec![name.to_string()] };
            crate::fsutil::write_bytes_atomic(&state_path, state.to_text().as_bytes())
        };
        test_pause();
        let old_files = checkpoint_files(&dir, &base)?;
        // Keep the last complete checkpoint reachable while `out` is being replaced. If a
        // crashed save left the state file on a backup, that backup is the complete one
        // (`out` may be half-replaced): keep it. Otherwise back up `out` by hard links.
        let named = std::fs::read_to_string(&state_path)
            .ok()
            .and_then(|t| CheckpointState::parse(&t, &state_path).ok())
            .map(|s| s.model_checkpoint_path);
        let backup_tag = format!(".{base}.previous-");
        let crashed_backup = named.filter(|n| n.starts_with(&backup_tag) && !checkpoint_files(&dir, n).unwrap_or_default().is_empty());
        if crashed_backup.is_none() && !old_files.is_empty() {
            let backup = format!("{backup_tag}{}", std::process::id());
            for f in &old_files {
                let to = dir.join(f.replacen(&base, &backup, 1));
                let _ = std::fs::remove_file(&to);
                std::fs::hard_link(dir.join(f), &to).map_err(|e| Error::io(&to, e))?;
            }
            write_state(&backup)?;
        }
        test_pause();
        let mut written = Vec::new();
        for n in new_files {
            let dest = dir.join(&n);
            std::fs::rename(tmp.join(&n), &dest).map_err(|e| Error::io(&dest, e))?;
            written.push(dest);
            test_pause();
        }
        // Files of the old checkpoint that the new one does not have (other shard counts).
        for f in old_files {
            if !written.iter().any(|w| w.file_name().is_some_and(|n| n.to_string_lossy() == f)) {
                let _ = std::fs::remove_file(dir.join(f));
            }
        }
        write_state(&base)?;
        // Backups (ours, and any a crashed save left) and dead saves' temporary directories.
        for e in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(&backup_tag) {
                let _ = std::fs::remove_file(e.path());
            } else if let Some(pid) = n.strip_prefix(&format!(".{base}.saving-")) {
                if pid != std::process::id().to_string() && !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        written.push(state_path);
        Ok(written)
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

/// `base.data-*`, `base.index`, `base.meta` in `dir`, in the order they are to be renamed
/// into place: data, index, meta (a reader never sees an index without its data).
fn checkpoint_files(dir: &Path, base: &str) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.strip_prefix(base).is_some_and(|rest| rest.starts_with(".data-") || rest == ".index" || rest == ".meta"))
        .collect();
    names.sort_by_key(|n| if n.contains(".data-") { 0 } else if n.ends_with(".index") { 1 } else { 2 });
    Ok(names)
}

/// Test hook: with `TFREUSE_TEST_SAVE_PAUSE_MS` set, each step of a save announces itself on
/// stderr (`save step N`) and pauses, so a test can kill the process at every step.
fn test_pause() {
    static STEP: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    if let Some(ms) = std::env::var("TFREUSE_TEST_SAVE_PAUSE_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
        eprintln!("save step {}", STEP.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

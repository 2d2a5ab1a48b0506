//! Saving a model as `tf.train.Saver.save` does — `.data-*`, `.index`, `.meta` and the
//! `checkpoint` state file — so that a crash at any moment leaves the state file naming a
//! complete checkpoint.

use std::path::{Path, PathBuf};

use crate::atomic::{parent_dir, write_bytes_atomic, AtomicDir};
use crate::error::{Error, Result, Role};
use crate::model::checkpoint::{CheckpointState, STATE_FILE};
use crate::model::MetaGraph;
use crate::proto::SaverDef;
use crate::tf::find_output;

/// What may be saved beside a checkpoint: the class names and preprocessing of pictures a
/// model was trained on. A save replaces or removes them with the rest.
pub(crate) const SIDE_FILES: [&str; 2] = [".labels.txt", ".preprocess.json"];

/// Whether a checkpoint may be saved to prefix `out`: not the checkpoint of `source` (under
/// any spelling), not over an existing one unless `replace`, in a writable folder. Checked
/// before any work.
pub fn check_out(out: &Path, replace: bool, source: Option<&crate::model::Source>) -> Result<()> {
    let index = crate::model::checkpoint::index_path(out);
    let shown = out.display().to_string();
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if source_indexes(source).iter().any(|s| same(s, &index)) {
        return Err(Error::arg(Role::Out, Some(&shown), "that is the source checkpoint; choose another prefix"));
    }
    if index.exists() && !replace {
        let msg = format!("a checkpoint exists there; pass {} to replace it", Role::Force.mention());
        return Err(Error::arg(Role::Out, Some(&shown), msg));
    }
    let mut probe = parent_dir(out);
    while !probe.exists() {
        probe = probe.parent().unwrap_or(Path::new("."));
    }
    let md = std::fs::metadata(probe).map_err(|e| Error::io(probe, e))?;
    if md.permissions().readonly() || !md.is_dir() {
        return Err(Error::arg(Role::Out, Some(&shown), format!("{} is not a writable directory", probe.display())));
    }
    Ok(())
}

/// The `.index` files of a `.meta` source's own prefix and of the checkpoint it restores.
fn source_indexes(source: Option<&crate::model::Source>) -> Vec<PathBuf> {
    use crate::model::checkpoint::{index_path, meta_prefix};
    let Some(meta) = source.and_then(|s| s.kind().meta()) else { return vec![] };
    let mut out: Vec<PathBuf> = meta_prefix(meta).iter().map(|p| index_path(p)).collect();
    if let Ok(Some(r)) = source.map_or(Ok(None), |s| s.resolved_checkpoint()) {
        out.push(index_path(&r.prefix));
    }
    out
}

/// Save the variables through `saver`'s save op, and `meta`, to prefix `out`:
/// 1. everything is written into a private directory beside `out` ([`AtomicDir`]);
/// 2. an existing checkpoint at `out` is hard-linked to a backup prefix and the state file
///    is pointed at the backup (unless a crashed save already left it on a backup);
/// 3. the new files are renamed into place (data, then index, then meta);
/// 4. the state file is pointed at `out`, and the backup removed.
///
/// `on_step(n)` is called after each of these steps (the write, the backup, each rename), so
/// a caller can report progress or a test can interrupt the save at every point.
pub(crate) fn save_checkpoint(
    model: &crate::model::Model,
    saver: &SaverDef,
    meta: &MetaGraph,
    out: &Path,
    extras: &[(String, Vec<u8>)],
    on_step: &mut dyn FnMut(usize),
) -> Result<Vec<PathBuf>> {
    let dir = parent_dir(out).to_path_buf();
    let base = out
        .file_name()
        .ok_or_else(|| Error::arg(Role::Out, Some(&out.display().to_string()), "not a file prefix"))?
        .to_string_lossy()
        .into_owned();
    let staging = AtomicDir::begin(&dir, &base)?;
    let mut step = 0;
    let mut announce = || {
        on_step(step);
        step += 1;
    };
    let filename = find_output(&model.graph, &saver.filename_tensor_name)?;
    let save = find_output(&model.graph, &saver.save_tensor_name)?;
    model
        .run_with_prefix(&filename, &save.operation, &staging.path().join(&base))
        .map_err(|e| Error::bad_file(out, format!("saving failed: {e}")))?;
    for (suffix, bytes) in extras {
        if !SIDE_FILES.contains(&suffix.as_str()) {
            return Err(Error::Invalid(format!("{suffix}: not a file saved beside a checkpoint")));
        }
        write_bytes_atomic(&staging.path().join(format!("{base}{suffix}")), bytes)?;
    }
    write_bytes_atomic(&staging.path().join(format!("{base}.meta")), &meta.encode())?;
    let new_files = checkpoint_files(staging.path(), &base)?;
    announce();
    let old_files = checkpoint_files(&dir, &base)?;
    let state = StateFile { path: dir.join(STATE_FILE), backup_tag: format!(".{base}.previous-") };
    if state.names_complete_backup(&dir).is_none() && !old_files.is_empty() {
        let backup = format!("{}{}", state.backup_tag, std::process::id());
        for f in &old_files {
            let to = dir.join(f.replacen(&base, &backup, 1));
            let _ = std::fs::remove_file(&to);
            std::fs::hard_link(dir.join(f), &to).map_err(|e| Error::io(&to, e))?;
        }
        state.point_at(&backup)?;
    }
    announce();
    let mut written = Vec::new();
    for n in new_files {
        written.push(staging.publish(&n)?);
        announce();
    }
    // Files of the old checkpoint that the new one does not have (other shard counts).
    for f in old_files {
        if !written.iter().any(|w| w.file_name().is_some_and(|n| n.to_string_lossy() == f)) {
            let _ = std::fs::remove_file(dir.join(f));
        }
    }
    state.point_at(&base)?;
    state.remove_backups(&dir);
    written.push(state.path);
    Ok(written)
}

/// The `checkpoint` state file of the directory being saved into, and the backups a save
/// makes while it replaces a checkpoint.
struct StateFile {
    path: PathBuf,
    backup_tag: String,
}

impl StateFile {
    fn point_at(&self, name: &str) -> Result<()> {
        let state = CheckpointState { model_checkpoint_path: name.to_string(), all_model_checkpoint_paths: vec![name.to_string()] };
        write_bytes_atomic(&self.path, state.to_text().as_bytes())
    }

    /// The backup the state file names, if a crashed save left it there with its files: that
    /// backup is the complete checkpoint (`out` may be half-replaced), so it is kept.
    fn names_complete_backup(&self, dir: &Path) -> Option<String> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let named = CheckpointState::parse(&text, &self.path).ok()?.model_checkpoint_path;
        (named.starts_with(&self.backup_tag) && !checkpoint_files(dir, &named).unwrap_or_default().is_empty()).then_some(named)
    }

    /// Ours, and any a crashed save left.
    fn remove_backups(&self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&self.backup_tag) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// `base.data-*`, `base.index`, `base.meta` in `dir`, in the order they are to be renamed
/// into place: data, index, meta (a reader never sees an index without its data).
fn checkpoint_files(dir: &Path, base: &str) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.strip_prefix(base)
                .is_some_and(|rest| rest.starts_with(".data-") || rest == ".index" || rest == ".meta" || SIDE_FILES.contains(&rest))
        })
        .collect();
    names.sort_by_key(|n| {
        if n.contains(".data-") {
            0
        } else if n.ends_with(".index") {
            1
        } else if n.ends_with(".meta") {
            3
        } else {
            2
        }
    });
    Ok(names)
}

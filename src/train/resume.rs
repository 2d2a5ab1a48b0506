//! Interrupted runs and resuming them: where a run stands ([`Progress`]), the sidecar file
//! saved beside the interrupted checkpoint, and the fingerprint a resumed run must match —
//! the whole spec (every field, serialized) and the data set's digest, so nothing that changes
//! the bytes of the result can differ silently.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::data::DataSet;
use crate::error::{Error, Result, Role};
use crate::train::spec::TransferSpec;

/// Per-epoch results.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct History {
    /// The mean training loss of each epoch.
    pub train_loss: Vec<f64>,
    /// The validation metric of each epoch, when there is one.
    pub metric: Vec<Option<f64>>,
    /// The validation loss of each epoch, when there is a validation split.
    #[serde(default)]
    pub validation_loss: Vec<Option<f64>>,
    /// How long each epoch took.
    pub seconds: Vec<f64>,
}

/// Where a run stands: the current epoch (0-based), the steps done in it, and the loss summed
/// over them. Saved beside a resumable checkpoint as JSON.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// The current epoch, from 0.
    pub epoch: usize,
    /// Steps done in it.
    pub step: usize,
    /// Their losses, summed.
    pub loss_sum: f64,
    /// The epochs done.
    pub history: History,
}

/// What must match between an interrupted run and its resumption: every setting of the spec
/// (but where to resume from) and the data.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint {
    /// The spec as JSON text: compared as text, since numbers read back from JSON need not
    /// equal the ones written.
    pub spec: String,
    pub data: String,
    /// `TF_ENABLE_ONEDNN_OPTS` as TF saw it: oneDNN kernels change the last bits of results.
    pub onednn: Option<String>,
}

impl Fingerprint {
    pub fn new(spec: &TransferSpec, data: &DataSet) -> Result<Self> {
        let spec = serde_json::to_string(spec).map_err(|e| Error::Invalid(format!("cannot record the run's settings: {e}")))?;
        let digest = Sha256::digest(format!("{}\n{}", data.source, data.digest()).as_bytes());
        let onednn = std::env::var("TF_ENABLE_ONEDNN_OPTS").ok();
        Ok(Fingerprint { spec, data: digest.iter().map(|b| format!("{b:02x}")).collect(), onednn })
    }

    /// What differs from `other`: settings as `name: ours vs theirs`, the data, oneDNN.
    fn differences(&self, other: &Fingerprint) -> Vec<String> {
        let mut out = Vec::new();
        if self.spec != other.spec {
            // Same values in another order (a record written before the spec was split by
            // concern) are the same settings.
            out = changed_settings(&self.spec, &other.spec).unwrap_or_else(|| vec!["the settings".into()]);
        }
        if self.data != other.data {
            out.push("the data set".into());
        }
        if self.onednn != other.onednn {
            out.push(format!(
                "oneDNN (TF_ENABLE_ONEDNN_OPTS): {} vs {}",
                self.onednn.as_deref().unwrap_or("unset"),
                other.onednn.as_deref().unwrap_or("unset")
            ));
        }
        out
    }
}

/// The top-level fields of two JSON objects that differ, as `name: a vs b`; `None` when one is
/// not an object.
fn changed_settings(a: &str, b: &str) -> Option<Vec<String>> {
    let parse = |s: &str| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s).ok();
    let (a, b) = (parse(a)?, parse(b)?);
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    Some(keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).map(|k| format!("{k}: {} vs {}", show(a.get(k)), show(b.get(k)))).collect())
}

fn show(v: Option<&serde_json::Value>) -> String {
    v.map_or("none".into(), |v| v.to_string())
}

/// Where an interrupted run saves: beside `out`, else in the current directory.
pub fn interrupted_prefix(out: Option<&Path>) -> PathBuf {
    match out {
        Some(o) => PathBuf::from(format!("{}-interrupted", o.display())),
        None => PathBuf::from("tfreuse-interrupted.ckpt"),
    }
}

/// Whether a resumable checkpoint (with its sidecar) is at `prefix`.
pub fn resumable(prefix: &Path) -> bool {
    sidecar_path(prefix).is_file() && crate::model::checkpoint::prefix_exists(prefix)
}

/// Remove the resumable checkpoint at `prefix` (its files are `PREFIX.*`), once the run it
/// would resume has finished.
pub fn remove_resumable(prefix: &Path) -> Result<()> {
    let (Some(dir), Some(name)) = (prefix.parent(), prefix.file_name()) else { return Ok(()) };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let start = format!("{}.", name.to_string_lossy());
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&start) {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
        }
    }
    Ok(())
}

/// Whether removing the checkpoint at `prefix` ([`remove_resumable`]: `PREFIX.*`) would take
/// files of the checkpoint at `other`.
pub(crate) fn holds(prefix: &Path, other: &Path) -> bool {
    let (p, o) = (prefix.to_string_lossy(), other.to_string_lossy());
    o == p || o.starts_with(&format!("{p}."))
}

fn sidecar_path(prefix: &Path) -> PathBuf {
    crate::model::checkpoint::prefix_file(prefix, ".resume.json")
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Sidecar {
    fingerprint: Fingerprint,
    progress: Progress,
}

/// Record, beside the checkpoint at `prefix`, where the run stands and what it was.
pub fn write_sidecar(prefix: &Path, fingerprint: &Fingerprint, progress: &Progress) -> Result<()> {
    let state = Sidecar { fingerprint: fingerprint.clone(), progress: progress.clone() };
    crate::atomic::write_bytes_atomic(&sidecar_path(prefix), &crate::format::RESUME.to_json(&state)?)
}

/// Where the interrupted run at `prefix` stood, if it was the same run as `fingerprint`.
pub fn read_progress(prefix: &Path, fingerprint: &Fingerprint) -> Result<Progress> {
    let path = sidecar_path(prefix);
    let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            let why = format!("no checkpoint to resume from for {} ({} does not exist)", Role::Resume.mention(), path.display());
            Error::bad_file(prefix, why)
        }
        _ => Error::io(&path, e),
    })?;
    // Versions 1 and 2 have the same fields: nothing to migrate yet.
    crate::format::RESUME.version(&path, &text)?;
    let saved: Sidecar = serde_json::from_str(&text).map_err(|e| Error::bad_file(&path, format!("not a resume file: {e}")))?;
    let diff = fingerprint.differences(&saved.fingerprint);
    if !diff.is_empty() {
        let value = prefix.display().to_string();
        let msg = format!("the flags differ from the interrupted run's ({}); resume with the same flags", diff.join("; "));
        return Err(Error::arg(Role::Resume, Some(&value), msg));
    }
    Ok(saved.progress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Features, Split};

    fn data(label: i64) -> DataSet {
        let split = Split { x: Features::F32(vec![0.5; 4]), y: vec![0, label], feature_shape: vec![2] };
        DataSet { source: "npz:x.npz".into(), splits: [("all".to_string(), split)].into(), ..Default::default() }
    }

    #[test]
    fn every_setting_and_the_data_are_part_of_the_fingerprint() {
        let spec = TransferSpec::new("m.meta");
        let base = Fingerprint::new(&spec, &data(1)).unwrap();
        assert!(base.differences(&Fingerprint::new(&spec, &data(1)).unwrap()).is_empty());
        let mut jit = spec.clone();
        jit.run.session.jit = crate::tf::Jit::On;
        assert_eq!(Fingerprint::new(&jit, &data(1)).unwrap().differences(&base), ["session: {\"inter_op_threads\":0,\"intra_op_threads\":0,\"jit\":\"on\",\"target\":null} vs {\"inter_op_threads\":0,\"intra_op_threads\":0,\"jit\":\"auto\",\"target\":null}"]);
        assert_eq!(Fingerprint::new(&spec, &data(0)).unwrap().differences(&base), ["the data set"]);
        let mut other = spec.clone();
        other.run.resume_from = Some("elsewhere".into());
        assert!(Fingerprint::new(&other, &data(1)).unwrap().differences(&base).is_empty(), "where to resume from is not a setting");
    }

    #[test]
    fn a_record_in_another_field_order_is_the_same_run() {
        let spec = TransferSpec::new("m.meta");
        let ours = Fingerprint::new(&spec, &data(1)).unwrap();
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&ours.spec).unwrap();
        assert!(map.contains_key("epochs") && map.contains_key("source") && !map.contains_key("schedule"), "the spec records flat");
        let mut reordered: Vec<_> = map.into_iter().collect();
        reordered.reverse();
        let text = format!("{{{}}}", reordered.iter().map(|(k, v)| format!("{k:?}:{v}")).collect::<Vec<_>>().join(","));
        let theirs = Fingerprint { spec: text, ..ours.clone() };
        assert_ne!(theirs.spec, ours.spec);
        assert!(ours.differences(&theirs).is_empty());
        let garbled = Fingerprint { spec: "not json".into(), ..ours.clone() };
        assert_eq!(ours.differences(&garbled), ["the settings"]);
    }

    #[test]
    fn a_sidecar_of_the_previous_format_reads_and_a_newer_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("m.ckpt-interrupted");
        let fp = Fingerprint::new(&TransferSpec::new("m.meta"), &data(1)).unwrap();
        let progress = Progress { epoch: 2, step: 3, loss_sum: 1.5, history: History::default() };
        write_sidecar(&prefix, &fp, &progress).unwrap();
        let path = sidecar_path(&prefix);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\n  \"format\": 2,"), "{text}");
        assert_eq!(read_progress(&prefix, &fp).unwrap(), progress);
        std::fs::write(&path, text.replace("  \"format\": 2,\n", "")).unwrap();
        assert_eq!(read_progress(&prefix, &fp).unwrap(), progress);
        std::fs::write(&path, text.replace("\"format\": 2", "\"format\": 3")).unwrap();
        let err = read_progress(&prefix, &fp).unwrap_err();
        let want = format!("{}: written by a newer tfreuse (resume file format 3; this one reads up to 2): upgrade tfreuse", path.display());
        assert_eq!((err.to_string(), err.exit_code()), (want, 3));
    }
}

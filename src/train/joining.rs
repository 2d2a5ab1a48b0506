//! Training as one worker of a TF cluster: this process's server task, its shard of the
//! training split, the chief's resume after a crash. Checked before TensorFlow loads; started
//! after.

use std::path::Path;
use std::time::Duration;

use crate::data::DataSet;
use crate::dist::{Cluster, Server, Worker};
use crate::error::{Error, Result, Role};
use crate::events::{Event, EventSink};
use crate::train::resume::{interrupted_prefix, resumable};
use crate::train::TransferSpec;

/// This process's place in a cluster (a `ps` job holds the variables, a `worker` job trains).
pub struct Joining {
    /// The cluster every task was given.
    pub cluster: Cluster,
    /// This worker.
    pub worker: Worker,
    /// How often the chief saves a checkpoint to resume from.
    pub save_every: Option<Duration>,
}

impl Joining {
    /// Worker `worker.task` of `cluster`; the chief saves every `save_every`.
    pub fn new(cluster: Cluster, worker: Worker, save_every: Duration) -> Self {
        let save_every = worker.is_chief().then_some(save_every.max(Duration::from_secs(1)));
        Joining { cluster, worker, save_every }
    }

    /// This worker's share of the training split; the chief resumes from its last checkpoint
    /// (beside `out`) when one is there (a rerun of its command after a crash).
    pub(crate) fn shard(&self, data: DataSet, spec: &mut TransferSpec, out: Option<&Path>, sink: &mut dyn EventSink) -> Result<DataSet> {
        let w = &self.worker;
        if spec.schedule.patience.is_some() {
            return Err(Error::arg(Role::Patience, None, "not in a cluster (the workers train on; only the chief evaluates)"));
        }
        if w.sync && spec.recipe.prune {
            return Err(Error::arg(Role::Prune, None, "not with synchronous training (its training op needs the accumulators)"));
        }
        let data = data.shard(w.task, w.workers, w.sync)?;
        let examples = data.training_split()?.len();
        sink.event(&Event::Shard { worker: w.task, workers: w.workers, examples })?;
        let last = interrupted_prefix(out);
        if w.is_chief() && spec.run.resume_from.is_none() && resumable(&last) {
            sink.event(&Event::ChiefResumes { from: last.clone() })?;
            spec.run.resume_from = Some(last);
        }
        Ok(data)
    }

    /// A task that stopped answering, said as such.
    pub(crate) fn explain(&self, e: Error) -> Error {
        match e {
            Error::Tf(m) if m.starts_with("Unavailable") => {
                Error::Tf(format!("worker {}: a task of the cluster stopped answering: {m}", self.worker.task))
            }
            other => other,
        }
    }

    /// Wait for the ps tasks, start this worker's server task and point the session at it.
    pub fn start(&self, spec: &mut TransferSpec, sink: &mut dyn EventSink) -> Result<()> {
        let deadline = std::time::Instant::now() + Duration::from_secs(self.worker.wait_secs);
        for (task, address) in self.cluster.jobs["ps"].iter().enumerate() {
            crate::tf::session::wait_for(address, Duration::from_secs(1), deadline).map_err(|why| {
                Error::Invalid(format!("ps task {task} at {address} is not reachable ({why}); start it with tfreuse server"))
            })?;
        }
        let server = Server::start(&self.cluster, "worker", self.worker.task)?;
        spec.run.session.target = Some(server.target()?);
        spec.run.session.device_filters = self.worker.device_filters();
        spec.run.worker = Some(self.worker.clone());
        let address = self.cluster.address("worker", self.worker.task)?.to_string();
        let w = &self.worker;
        sink.event(&Event::Joined { worker: w.task, workers: w.workers, ps: w.ps, address })
    }
}

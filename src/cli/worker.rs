//! `tfreuse train --cluster … --job worker --task I`: the same training as one worker of a
//! TF cluster. This process starts its own server task, its session runs on it, every variable
//! lives on the ps tasks; worker 0 (the chief) initialises, restores, evaluates and saves.

use std::path::Path;
use std::time::Duration;

use tfreuse::dist::{Cluster, Worker};
use tfreuse::train::joining::Joining;
use tfreuse::Error;

use super::headings::CLUSTER;
use super::Global;

/// Training as a worker of a cluster of `tfreuse server` (or Python `tf.train.Server`) tasks.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Train as a worker of this cluster: JOB=HOST:PORT[,HOST:PORT…], once per job.
    ///
    /// A `ps` job (started with `tfreuse server`) and a `worker` job; give every task the same.
    #[arg(long, value_name = "JOB=ADDRESSES", help_heading = CLUSTER)]
    pub cluster: Vec<String>,
    /// This task's job: worker.
    #[arg(long, default_value = "worker", requires = "cluster", help_heading = CLUSTER)]
    pub job: String,
    /// This worker's index; worker 0 is the chief.
    ///
    /// The chief initialises, restores, evaluates and saves.
    #[arg(long, default_value_t = 0, requires = "cluster", help_heading = CLUSTER)]
    pub task: usize,
    /// Average the workers' gradients every step, as SyncReplicasOptimizer does.
    ///
    /// Without it, each worker's update is applied as it comes (TF1's default). With it, every
    /// worker trains on as many examples; after a crash, restart every task, the ps included.
    #[arg(long, requires = "cluster", help_heading = CLUSTER)]
    pub sync: bool,
    /// How often the chief saves a checkpoint to resume from.
    ///
    /// To --out's PREFIX-interrupted; rerunning its command resumes from it.
    #[arg(long, default_value_t = 600, value_name = "SECONDS", requires = "cluster", help_heading = CLUSTER)]
    pub save_every_secs: u64,
    /// How long a worker waits for the ps tasks and the chief.
    #[arg(long, default_value_t = 120, value_name = "SECONDS", requires = "cluster", help_heading = CLUSTER)]
    pub wait_secs: u64,
}

impl Args {
    /// `None` on one machine; else the checked cluster and this worker's place in it.
    pub fn joining(&self, out: Option<&Path>, g: &Global) -> tfreuse::Result<Option<Joining>> {
        if self.cluster.is_empty() {
            return Ok(None);
        }
        let cluster = Cluster::parse(&self.cluster)?;
        if self.job != "worker" {
            return Err(Error::Invalid(format!("--job {}: train runs as a worker (start ps tasks with tfreuse server)", self.job)));
        }
        cluster.address("worker", self.task)?;
        let ps = cluster.jobs.get("ps").map_or(0, Vec::len);
        if ps == 0 {
            return Err(Error::Invalid("--cluster: missing: a ps job (ps=HOST:PORT) to hold the variables".into()));
        }
        if g.sessions.target.is_some() {
            return Err(Error::Invalid("--target: not with --cluster (a worker runs on its own server task)".into()));
        }
        if self.task == 0 && out.is_none() {
            return Err(Error::Invalid("--out: missing: the chief (worker 0) saves the model".into()));
        }
        let workers = cluster.jobs["worker"].len();
        let worker = Worker { task: self.task, workers, ps, sync: self.sync, wait_secs: self.wait_secs };
        Ok(Some(Joining::new(cluster, worker, Duration::from_secs(self.save_every_secs))))
    }
}

//! `tfreuse server`: one task of a TF cluster (a ps or a worker), served until SIGINT or
//! SIGTERM; sessions reach it with `--target grpc://HOST:PORT`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tfreuse::dist::{Cluster, Server};

use super::Global;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The cluster: JOB=HOST:PORT[,HOST:PORT…], once per job (task i of a job is its i-th
    /// address), e.g. --cluster ps=10.0.0.1:2222 --cluster worker=10.0.0.2:2222,10.0.0.3:2222.
    /// Give every task the same --cluster.
    #[arg(long, value_name = "JOB=ADDRESSES", required = true)]
    pub cluster: Vec<String>,
    /// This task's job.
    #[arg(long)]
    pub job: String,
    /// This task's index in its job.
    #[arg(long, default_value_t = 0)]
    pub task: usize,
    #[command(flatten)]
    pub kernels: super::Kernels,
    #[command(flatten)]
    pub library: super::Library,
}

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    let cluster = Cluster::parse(&args.cluster)?;
    let address = cluster.address(&args.job, args.task)?.to_string();
    let stop = tfreuse::train::interrupt::stop_on_signals()?;
    g.load_tf()?;
    let server = Server::start(&cluster, &args.job, args.task)?;
    eprintln!(
        "server {}/{} serving at {address} (sessions: --target grpc://{address}; in-process target {}); Ctrl-C or SIGTERM stops it",
        args.job,
        args.task,
        server.target()?
    );
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("server {}/{} stopped", args.job, args.task);
    // TF cannot shut a started gRPC server down cleanly: the process ends with it.
    Err(super::Exit(0).into())
}

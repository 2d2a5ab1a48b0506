//! `tfreuse server`: one task of a TF cluster (a ps or a worker), served until SIGINT or
//! SIGTERM; sessions reach it with `--target grpc://HOST:PORT`.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tfreuse::dist::{Cluster, Server};

use super::global::SandboxMode;
use super::headings::SECURITY;
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
    /// Let the graphs clients send read PATH (a file, or a folder and everything in it): the
    /// checkpoints and files their runs restore or read on this task. Repeat for more.
    #[arg(long, value_name = "PATH", help_heading = SECURITY)]
    pub allow_read: Vec<PathBuf>,
    /// Let the graphs clients send write in DIR: where their runs save checkpoints (--out's
    /// folder) on this task. Repeat for more.
    #[arg(long, value_name = "DIR", help_heading = SECURITY)]
    pub allow_write: Vec<PathBuf>,
    /// Confine this task with Linux's Landlock: auto, require or off.
    ///
    /// A server runs whatever graphs its clients send (`--trust-graph` on their side lets a
    /// graph that touches files through). Confined, they may read only --allow-read paths and
    /// libtensorflow, write only --allow-write folders and a private temp folder, and open TCP
    /// connections only to the --cluster tasks. auto: where the kernel has no Landlock, say so
    /// and serve; require: fail instead. -v prints the rules.
    #[arg(long, value_name = "MODE", value_enum, default_value_t = SandboxMode::Auto, help_heading = SECURITY)]
    pub sandbox: SandboxMode,
    /// The same as --sandbox off: serve with every access this user has.
    #[arg(long, conflicts_with = "sandbox", help_heading = SECURITY)]
    pub no_sandbox: bool,
    #[command(flatten)]
    pub library: super::Library,
}

impl Args {
    /// The sandbox mode, `--no-sandbox` included.
    pub fn sandbox_mode(&self) -> SandboxMode {
        self.sandbox.unless(self.no_sandbox)
    }
}

pub fn exec(args: Args) -> anyhow::Result<()> {
    let mut g = Global::from_parts(args.library.clone(), args.kernels.clone());
    g.safety.sandbox = args.sandbox_mode();
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
    if args.sandbox_mode() != SandboxMode::Off {
        let (read, write) = (listed(&args.allow_read, "--allow-read"), listed(&args.allow_write, "--allow-write"));
        eprintln!("server {}/{} sandboxed: clients' graphs may read {read}; write {write}", args.job, args.task);
    }
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("server {}/{} stopped", args.job, args.task);
    // TF cannot shut a started gRPC server down cleanly: the process ends with it.
    Err(super::Exit(0).into())
}

/// `paths` for the sandbox line, or the flag that would name some.
fn listed(paths: &[PathBuf], flag: &str) -> String {
    match paths {
        [] => format!("none of your files ({flag} PATH to allow)"),
        _ => paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
    }
}

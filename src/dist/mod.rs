//! Beyond one machine, on TensorFlow's own distributed runtime: a cluster of named jobs (`ps`,
//! `worker`) whose tasks talk gRPC, as TF1's `tf.train.Server` runs them. tfreuse starts a
//! task with the C API's `TF_NewServer` (the crate declares no server type), and a session
//! reaches any TF server, Python's too, through its `grpc://` target.

use std::collections::BTreeMap;
use std::ffi::{c_char, c_void, CStr};

use prost::Message;

use crate::error::{Error, Result, Role};
use crate::proto::{ClusterDef, JobDef, ServerDef};
use crate::tf::runtime::{self as tflib, OpaqueStatus, RawStatus};

internal_mod! {
    place;
}

pub use place::{Placer, Worker};

/// The tasks of each job: `--cluster ps=HOST:PORT,HOST:PORT --cluster worker=…`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cluster {
    /// Each job's task addresses (`HOST:PORT`), by job name.
    pub jobs: BTreeMap<String, Vec<String>>,
}

impl Cluster {
    /// Parse each `JOB=HOST:PORT[,HOST:PORT…]`; task i of a job is its i-th address.
    pub fn parse(specs: &[String]) -> Result<Cluster> {
        let mut jobs = BTreeMap::new();
        for spec in specs {
            let bad = |why: &str| Error::arg(Role::Cluster, Some(spec), format!("{why} (expected JOB=HOST:PORT[,HOST:PORT…])"));
            let (job, tasks) = spec.split_once('=').ok_or_else(|| bad("no ="))?;
            if job.is_empty() || !job.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(bad("a job name is letters, digits, _ and -"));
            }
            let addresses: Vec<String> = tasks.split(',').map(str::trim).map(String::from).collect();
            if let Some(a) = addresses.iter().find(|a| parse_address(a).is_none()) {
                return Err(bad(&format!("{a:?} is not HOST:PORT")));
            }
            if jobs.insert(job.to_string(), addresses).is_some() {
                return Err(bad(&format!("job {job} given twice")));
            }
        }
        if jobs.is_empty() {
            return Err(Error::arg(Role::Cluster, None, "missing: at least one JOB=HOST:PORT"));
        }
        Ok(Cluster { jobs })
    }

    /// The address of `job`'s task `task`, or why there is none.
    pub fn address(&self, job: &str, task: usize) -> Result<&str> {
        let tasks = self.jobs.get(job).ok_or_else(|| {
            let known: Vec<&str> = self.jobs.keys().map(String::as_str).collect();
            Error::arg(Role::Job, Some(job), format!("not in {} (jobs: {})", Role::Cluster.mention(), known.join(", ")))
        })?;
        tasks.get(task).map(String::as_str).ok_or_else(|| {
            Error::arg(Role::Task, Some(&task.to_string()), format!("job {job} has {} task(s), 0…{}", tasks.len(), tasks.len() - 1))
        })
    }

    /// The ServerDef of `job`'s task `task` (gRPC).
    pub(crate) fn server_def(&self, job: &str, task: usize) -> Result<ServerDef> {
        self.address(job, task)?;
        let job_defs = self.jobs.iter().map(|(name, tasks)| JobDef {
            name: name.clone(),
            tasks: tasks.iter().enumerate().map(|(i, a)| (i as i32, a.clone())).collect(),
        });
        Ok(ServerDef {
            cluster: Some(ClusterDef { job: job_defs.collect() }),
            job_name: job.to_string(),
            task_index: task as i32,
            protocol: "grpc".into(),
            ..Default::default()
        })
    }
}

/// `HOST:PORT` with a port in 1…65535.
fn parse_address(a: &str) -> Option<(&str, u16)> {
    let (host, port) = a.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|&p| p > 0)?;
    (!host.is_empty()).then_some((host, port))
}

/// The port of `HOST:PORT` or `grpc://HOST:PORT`.
pub fn port(address: &str) -> Option<u16> {
    parse_address(address.strip_prefix("grpc://").unwrap_or(address)).map(|(_, p)| p)
}

/// A TF server's address (the CLI's `--target`): `grpc://HOST:PORT`, checked.
pub fn check_target(target: &str) -> Result<()> {
    match target.strip_prefix("grpc://").and_then(parse_address) {
        Some(_) => Ok(()),
        None => Err(Error::arg(Role::Target, Some(target), "expected grpc://HOST:PORT (a TF server's address)")),
    }
}

type NewServerFn = unsafe extern "C" fn(*const c_void, usize, *mut OpaqueStatus) -> *mut c_void;
type ServerStartFn = unsafe extern "C" fn(*mut c_void, *mut OpaqueStatus);
type ServerTargetFn = unsafe extern "C" fn(*mut c_void) -> *const c_char;

/// A running TF server task. It is never deleted: TF cannot stop a started gRPC server
/// cleanly (its destructor aborts), so it lives until the process ends.
pub struct Server {
    ptr: *mut c_void,
}

impl Server {
    /// Start `job`'s task `task` of `cluster` in this process (the library must be loaded).
    pub fn start(cluster: &Cluster, job: &str, task: usize) -> Result<Server> {
        let def = cluster.server_def(job, task)?.encode_to_vec();
        let lib = tflib::require_loaded()?;
        let new_server: NewServerFn = lib.sym(b"TF_NewServer\0")?;
        let start: ServerStartFn = lib.sym(b"TF_ServerStart\0")?;
        let status = RawStatus::new(lib)?;
        let ptr = unsafe { new_server(def.as_ptr().cast(), def.len(), status.ptr) };
        let failed = |msg: String| {
            Error::Invalid(format!(
                "cannot start the TF server {job}/{task} at {}: {}",
                cluster.address(job, task).unwrap_or("?"),
                crate::error::first_line(&msg)
            ))
        };
        status.check().map_err(failed)?;
        if ptr.is_null() {
            return Err(failed("TF_NewServer gave nothing".into()));
        }
        unsafe { start(ptr, status.ptr) };
        status.check().map_err(failed)?;
        Ok(Server { ptr })
    }

    /// The session target that reaches this server (`grpc://localhost:PORT`).
    pub fn target(&self) -> Result<String> {
        let lib = tflib::require_loaded()?;
        let target: ServerTargetFn = lib.sym(b"TF_ServerTarget\0")?;
        Ok(unsafe { CStr::from_ptr(target(self.ptr)) }.to_string_lossy().into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_parse_and_refuse() {
        let c = Cluster::parse(&["ps=127.0.0.1:2222".into(), "worker=127.0.0.1:2223, 127.0.0.1:2224".into()]).unwrap();
        assert_eq!(c.jobs["worker"], ["127.0.0.1:2223", "127.0.0.1:2224"]);
        let def = c.server_def("worker", 1).unwrap();
        assert_eq!((def.job_name.as_str(), def.task_index, def.protocol.as_str()), ("worker", 1, "grpc"));
        assert_eq!(def.cluster.unwrap().job.len(), 2);
        assert!(c.server_def("worker", 2).unwrap_err().to_string().contains("has 2 task(s)"));
        assert!(c.server_def("chief", 0).unwrap_err().to_string().contains("jobs: ps, worker"));
        for bad in ["ps", "ps=", "ps=host", "ps=host:0", "ps=:22", "=h:1", "p s=h:1", "ps=h:99999"] {
            assert!(Cluster::parse(&[bad.into()]).is_err(), "{bad}");
        }
        assert!(Cluster::parse(&["ps=h:1".into(), "ps=h:2".into()]).is_err());
        assert!(check_target("grpc://127.0.0.1:2222").is_ok());
        assert!(check_target("http://127.0.0.1:2222").is_err() && check_target("grpc://x").is_err());
    }
}

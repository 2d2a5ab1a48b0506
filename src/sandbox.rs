//! The sandbox: once libtensorflow is loaded and before a graph runs, the process gives up
//! every file-system access except what the command names, and every TCP bind and connect
//! except to the ports it names — Linux's Landlock (file system since Linux 5.13, TCP since
//! 6.7), through the `landlock` crate.
//!
//! Stages of [`enter`]:
//! 1. the [`Access`] a command names: folders and files read, folders written (created
//!    first: a rule needs something to hold), TCP ports;
//! 2. what every run needs besides ([`Access::system`]): libtensorflow's folder, the system's
//!    libraries, CPU and memory facts under /sys and /proc, /dev/null and the random devices;
//! 3. one ruleset, made with the best the kernel offers, enforced on this thread and every
//!    thread it starts afterwards.
//!
//! Landlock before ABI 8 binds only the calling thread and its later children: enter before
//! any session starts its threads (TensorFlow's op threads are made with the session).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use landlock::{
    path_beneath_rules, Access as _, AccessFs, AccessNet, NetPort, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, ABI,
};

use crate::error::{Error, Result};

/// The newest Landlock ABI tfreuse asks for (7: Linux 6.15); older kernels get what they have.
const WANTED: ABI = ABI::V7;

/// What a command may reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    read: BTreeSet<PathBuf>,
    write: BTreeSet<PathBuf>,
    remove: BTreeSet<PathBuf>,
    connect: BTreeSet<u16>,
    bind: BTreeSet<u16>,
}

impl Access {
    /// Nothing at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// Read `path` (a file, or a folder and all beneath it). A path that does not exist is
    /// left out: nothing can be read there.
    pub fn read(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.read.insert(absolute(path.as_ref()));
        self
    }

    /// Read, write, create and remove beneath folder `path` (made now if missing).
    pub fn write(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.write.insert(absolute(path.as_ref()));
        self
    }

    /// Remove empty folders beneath `path` (and nothing else): where a run's own temporary
    /// folder is, so that it can remove that folder at the end.
    pub fn remove_dirs(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.remove.insert(absolute(path.as_ref()));
        self
    }

    /// Connect to TCP `port` (on any host: Landlock filters ports, not addresses).
    pub fn connect(&mut self, port: u16) -> &mut Self {
        self.connect.insert(port);
        self
    }

    /// Bind TCP `port` (a server's).
    pub fn bind(&mut self, port: u16) -> &mut Self {
        self.bind.insert(port);
        self
    }

    /// What every run of libtensorflow needs besides: the library's folder (`lib`), the
    /// system's libraries and name-service files, CPU, memory and cgroup facts, the null and
    /// random devices, and this executable.
    pub fn system(&mut self, lib: Option<&Path>) -> &mut Self {
        for p in SYSTEM_READ {
            self.read(p);
        }
        if let Some(lib) = lib {
            // The loader's link and the real file it names may be in different folders.
            for p in [Some(lib.to_path_buf()), std::fs::canonicalize(lib).ok()].into_iter().flatten() {
                if let Some(dir) = p.parent() {
                    self.read(dir);
                }
            }
        }
        if let Ok(exe) = std::env::current_exe() {
            self.read(exe);
        }
        self
    }

    /// The rules, one a line: `read PATH`, `write PATH`, `tcp connect PORT`, `tcp bind PORT`
    /// (`tcp: none` when no port is named).
    pub fn describe(&self) -> Vec<String> {
        let mut out: Vec<String> = self.read.iter().map(|p| format!("read  {}", p.display())).collect();
        out.extend(self.write.iter().map(|p| format!("write {}", p.display())));
        out.extend(self.connect.iter().map(|p| format!("tcp connect {p}")));
        out.extend(self.bind.iter().map(|p| format!("tcp bind {p}")));
        if self.connect.is_empty() && self.bind.is_empty() {
            out.push("tcp: none".into());
        }
        out
    }
}

/// Read-only for every run: libraries, name service, CPU/memory facts, devices.
const SYSTEM_READ: &[&str] = &[
    "/usr",
    "/lib",
    "/lib64",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/nsswitch.conf",
    "/etc/resolv.conf",
    "/etc/gai.conf",
    "/sys/devices/system",
    "/sys/bus/cpu",
    "/sys/bus/node",
    "/sys/fs/cgroup",
    "/sys/kernel/mm/hugepages",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/dev/null",
    "/dev/zero",
    "/dev/urandom",
    "/dev/random",
];

/// `path` made absolute against the current folder (rules are opened now, paths used later).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// How much the kernel enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entered {
    /// Every rule.
    Full,
    /// The file-system rules, not all of them (an older kernel: e.g. no TCP rules before
    /// Linux 6.7).
    Partial,
    /// None: the kernel has no Landlock (or it is disabled).
    Unavailable,
}

/// Restrict this process (this thread and those it starts) to `access`.
pub fn enter(access: &Access) -> Result<Entered> {
    for w in &access.write {
        std::fs::create_dir_all(w).map_err(|e| Error::io(w, e))?;
    }
    let refused = |e: landlock::RulesetError| Error::Invalid(format!("the sandbox cannot be set up: {e}"));
    let created = Ruleset::default()
        .handle_access(AccessFs::from_all(WANTED))
        .and_then(|r| r.handle_access(AccessNet::from_all(WANTED)))
        .and_then(|r| r.create())
        .map_err(refused)?;
    let created = created
        .add_rules(path_beneath_rules(&access.read, AccessFs::from_read(WANTED)))
        .and_then(|r| r.add_rules(path_beneath_rules(&access.write, AccessFs::from_all(WANTED))))
        .and_then(|r| r.add_rules(path_beneath_rules(&access.remove, AccessFs::RemoveDir)))
        .and_then(|r| r.add_rules(path_beneath_rules(["/dev/null"], AccessFs::from_all(WANTED))))
        .and_then(|r| r.add_rules(access.connect.iter().map(|&p| Ok::<_, landlock::RulesetError>(NetPort::new(p, AccessNet::ConnectTcp)))))
        .and_then(|r| r.add_rules(access.bind.iter().map(|&p| Ok::<_, landlock::RulesetError>(NetPort::new(p, AccessNet::BindTcp)))))
        .map_err(refused)?;
    let status = created.restrict_self().map_err(refused)?;
    Ok(match status.ruleset {
        RulesetStatus::FullyEnforced => Entered::Full,
        RulesetStatus::PartiallyEnforced => Entered::Partial,
        RulesetStatus::NotEnforced => Entered::Unavailable,
    })
}

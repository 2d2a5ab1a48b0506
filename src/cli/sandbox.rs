//! What each command may touch, read from its flags, and entering the library's sandbox
//! ([`tfreuse::sandbox`]) once libtensorflow is loaded. Every path-valued flag is in
//! [`USES`] (a test checks that none is missing), so a new flag cannot silently fall outside.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use clap::ArgMatches;
use tfreuse::sandbox::{Access, Entered};

use super::global::SandboxMode;

/// How a flag's value is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// Read: the path (a file, or a folder and everything in it).
    Read,
    /// Read: the folder holding the path (a `.meta` and its checkpoint, a checkpoint prefix
    /// and the record beside it).
    ReadFolder,
    /// Read: the path of a data spec `KIND:PATH`.
    Data,
    /// Written: the folder holding the path (files are written beside it, then renamed).
    WriteFolder,
    /// Written: the folder itself.
    Write,
    /// TCP: connect to the port of `grpc://HOST:PORT`.
    Target,
    /// TCP: connect to every port of `JOB=HOST:PORT,…`, bind this task's.
    Cluster,
}

/// Every flag whose value is a path or an address, by clap id, with its use.
pub const USES: &[(&str, Use)] = &[
    ("meta", Use::ReadFolder),
    ("graph", Use::ReadFolder),
    ("saved_model", Use::Read),
    ("checkpoint", Use::ReadFolder),
    ("resume", Use::ReadFolder),
    ("files", Use::Read),
    ("plot_compare", Use::Read),
    ("data", Use::Data),
    ("unlabeled", Use::Data),
    ("tf_lib", Use::Read),
    ("zoo_dir", Use::Read),
    ("out", Use::WriteFolder),
    ("frozen", Use::WriteFolder),
    ("json", Use::WriteFolder),
    ("plot", Use::WriteFolder),
    ("draw", Use::WriteFolder),
    ("csv", Use::WriteFolder),
    ("logdir", Use::Write),
    ("cache_dir", Use::Write),
    ("keep", Use::Write),
    ("allow_read", Use::Read),
    ("allow_write", Use::Write),
    ("target", Use::Target),
    ("cluster", Use::Cluster),
];

/// The access the command line names, set by [`prepare`].
static NAMED: OnceLock<Access> = OnceLock::new();
/// Whether the sandbox was entered (it is entered once per process).
static ENTERED: Mutex<bool> = Mutex::new(false);

/// The run's private temporary folder: while it lives, `TMPDIR` points into it.
pub struct RunTemp(#[allow(dead_code)] Option<tempfile::TempDir>);

/// Read what the command in `m` may touch, before anything runs; make its private temporary
/// folder (the only temporary place a sandboxed run may write).
pub fn prepare(m: &ArgMatches) -> std::io::Result<RunTemp> {
    let Some((_, sub)) = m.subcommand() else { return Ok(RunTemp(None)) };
    let sub = innermost(sub);
    // (`--sandbox` has a default, so it is among the ids of every command that takes it.)
    if !sub.ids().any(|id| id.as_str() == "sandbox") {
        return Ok(RunTemp(None)); // a command that runs no graph
    }
    let mut access = named(sub);
    let shared = std::env::temp_dir().join(format!("tfreuse-{}", unsafe { libc::getuid() })).join("run");
    std::fs::create_dir_all(&shared)?;
    remove_stale(&shared);
    let tmp = tempfile::Builder::new().prefix(&format!("{}-", std::process::id())).tempdir_in(&shared)?;
    access.write(tmp.path()).remove_dirs(&shared);
    // Single-threaded still: nothing reads the environment concurrently.
    unsafe { std::env::set_var("TMPDIR", tmp.path()) };
    let _ = NAMED.set(access);
    Ok(RunTemp(Some(tmp)))
}

/// Remove the temporary folders of earlier runs that were killed before removing theirs:
/// those named after a process that no longer exists (`PID-XXXXXX`).
fn remove_stale(shared: &Path) {
    for e in std::fs::read_dir(shared).into_iter().flatten().flatten() {
        let name = e.file_name();
        let pid = name.to_str().and_then(|n| n.split('-').next()).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The matches of the innermost subcommand (`pretrain autoencoder`).
fn innermost(m: &ArgMatches) -> &ArgMatches {
    match m.subcommand() {
        Some((_, sub)) => innermost(sub),
        None => m,
    }
}

/// The access `m`'s flags name, and the zoo's folder (a `zoo:NAME` model is read there).
fn named(m: &ArgMatches) -> Access {
    let mut a = Access::new();
    for (id, usage) in USES {
        let given = values(m, id, *usage);
        match usage {
            Use::Cluster => cluster(&mut a, &given, m),
            _ => given.iter().for_each(|v| add(&mut a, *usage, v)),
        }
    }
    if let Ok(zoo) = tfreuse::zoo::default_root() {
        a.read(zoo);
    }
    // `--cache-frozen` without `--cache-dir`: the default feature cache.
    if m.try_get_one::<bool>("cache_frozen").ok().flatten() == Some(&true) && values(m, "cache_dir", Use::Write).is_empty() {
        if let Ok(root) = tfreuse::cache::store::default_root() {
            a.write(root);
        }
    }
    a
}

/// The values of flag `id` given to this command: strings for data specs and addresses,
/// paths for the rest (a flag of another type with the same id, e.g. a bool `--json`, has
/// none).
fn values(m: &ArgMatches, id: &str, usage: Use) -> Vec<PathBuf> {
    match usage {
        Use::Data | Use::Target | Use::Cluster => {
            m.try_get_many::<String>(id).ok().flatten().map(|v| v.map(PathBuf::from).collect()).unwrap_or_default()
        }
        _ => m.try_get_many::<PathBuf>(id).ok().flatten().map(|v| v.cloned().collect()).unwrap_or_default(),
    }
}

fn add(a: &mut Access, usage: Use, p: &Path) {
    match usage {
        Use::Read => _ = a.read(p),
        Use::ReadFolder if p.is_dir() => _ = a.read(p),
        Use::ReadFolder => _ = a.read(folder(p)),
        Use::Data => {
            if let Some((_, path)) = p.to_str().and_then(|s| s.split_once(':')) {
                a.read(path);
            }
        }
        Use::WriteFolder => _ = a.write(folder(p)),
        Use::Write => _ = a.write(p),
        Use::Target => {
            if let Some(port) = p.to_str().and_then(tfreuse::dist::port) {
                a.connect(port);
            }
        }
        Use::Cluster => {}
    }
}

/// Connect to every task of the `--cluster` specs; bind this task's own port. Specs the
/// cluster refuses are left to the command to report.
fn cluster(a: &mut Access, specs: &[PathBuf], m: &ArgMatches) {
    let specs: Vec<String> = specs.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    let Ok(c) = tfreuse::dist::Cluster::parse(&specs) else { return };
    for port in c.jobs.values().flatten().filter_map(|addr| tfreuse::dist::port(addr)) {
        a.connect(port);
    }
    let (job, task) = (m.try_get_one::<String>("job").ok().flatten(), m.try_get_one::<usize>("task").ok().flatten());
    if let Some(port) = job.zip(task).and_then(|(j, t)| c.address(j, *t).ok()).and_then(tfreuse::dist::port) {
        a.bind(port);
    }
}

/// The folder holding `p` (`.` for a bare file name).
fn folder(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether this process entered the sandbox.
pub fn entered() -> bool {
    *ENTERED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Enter the sandbox in `mode`, once libtensorflow is loaded (once per process); with
/// `verbose`, print the rules.
pub fn enter(mode: SandboxMode, verbose: bool) -> anyhow::Result<()> {
    let mut entered = ENTERED.lock().unwrap_or_else(|e| e.into_inner());
    // A command [`prepare`] found no --sandbox on (`inspect`, `zoo`) is not confined.
    let Some(named) = NAMED.get().filter(|_| !*entered && mode != SandboxMode::Off) else { return Ok(()) };
    let mut access = named.clone();
    access.system(tfreuse::tf::runtime::loaded().map(|l| l.path.as_path()));
    if verbose {
        access.describe().iter().for_each(|r| eprintln!("sandbox: {r}"));
    }
    // Counted before entering: /proc/self is closed afterwards.
    let threads = verbose.then(|| std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0));
    let status = tfreuse::sandbox::enter(&access)?;
    if let Some(threads) = threads {
        eprintln!("sandbox: {status:?} ({threads} thread(s) when entered)");
    }
    match status {
        Entered::Full => {}
        Entered::Partial => eprintln!("sandbox: this kernel enforces only part of the rules (Landlock before Linux 6.7 has no TCP rules)"),
        Entered::Unavailable if mode == SandboxMode::Require => {
            anyhow::bail!(tfreuse::Error::Invalid(format!(
                "this kernel has no Landlock, so the sandbox cannot be entered ({} require)",
                tfreuse::Role::Sandbox.mention()
            )))
        }
        Entered::Unavailable => eprintln!("sandbox: this kernel has no Landlock: the run is not sandboxed (--no-sandbox to say so)"),
    }
    *entered = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Path flags read before the sandbox is entered (the zoo resolves its models first).
    const BEFORE: &[&str] = &["manifest"];

    fn path_flags(c: &clap::Command, out: &mut Vec<(String, String)>) {
        for a in c.get_arguments() {
            if a.get_value_parser().type_id() == clap::builder::ValueParser::path_buf().type_id() {
                out.push((c.get_name().to_string(), a.get_id().to_string()));
            }
        }
        c.get_subcommands().for_each(|s| path_flags(s, out));
    }

    #[test]
    fn every_path_flag_of_a_sandboxed_command_has_a_use() {
        let mut flags = Vec::new();
        let cli = super::super::Cli::command();
        for c in cli.get_subcommands().filter(|c| sandboxed(c)) {
            path_flags(c, &mut flags);
        }
        assert!(flags.iter().any(|(_, id)| id == "meta"), "{flags:?}");
        let missing: Vec<_> = flags.iter().filter(|(_, id)| !USES.iter().any(|(u, _)| u == id) && !BEFORE.contains(&id.as_str())).collect();
        assert!(missing.is_empty(), "path flags with no sandbox rule: {missing:?}");
    }

    /// Whether `c` (or one of its subcommands) takes --sandbox.
    fn sandboxed(c: &clap::Command) -> bool {
        c.get_arguments().any(|a| a.get_id() == "sandbox") || c.get_subcommands().any(sandboxed)
    }

    #[test]
    fn a_cluster_flag_connects_to_every_task_and_binds_its_own() {
        let m = super::super::Cli::command()
            .try_get_matches_from([
                "tfreuse",
                "train",
                "--meta",
                "m.meta",
                "--cluster",
                "ps=127.0.0.1:2000",
                "--cluster",
                "worker=h:2001,h:2002",
                "--task",
                "1",
            ])
            .unwrap();
        let (_, sub) = m.subcommand().unwrap();
        let rules = named(sub).describe();
        for r in ["tcp connect 2000", "tcp connect 2001", "tcp connect 2002", "tcp bind 2002"] {
            assert!(rules.contains(&r.to_string()), "{rules:?}");
        }
        assert!(!rules.contains(&"tcp bind 2001".to_string()), "{rules:?}");
    }
}

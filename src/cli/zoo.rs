//! `tfreuse zoo list|show|fetch|verify|remove`, and the flags that let `--meta zoo:NAME` (or
//! `--graph` / `--saved-model`) name a model of the zoo in any command.

use std::path::PathBuf;
use std::time::Duration;

use tfreuse::zoo::{self, Entry, Limits, Net, Zoo};

const ZOO: &str = "Model zoo (zoo:NAME)";

/// How `zoo:NAME` is found and fetched.
/// Each flag names its heading: a struct-level heading would carry over to every flag after.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ZooArgs {
    /// More models: a manifest (TOML file or http(s) URL) over the built-in one.
    ///
    /// Repeatable; later entries win by name.
    #[arg(long, global = true, help_heading = ZOO, value_name = "FILE|URL")]
    pub manifest: Vec<String>,
    /// Use only models already fetched, never the network (also TFREUSE_OFFLINE=1).
    #[arg(long, global = true, help_heading = ZOO)]
    pub offline: bool,
    /// Where fetched models are kept.
    ///
    /// Default: $TFREUSE_ZOO_DIR, else $XDG_CACHE_HOME/tfreuse/zoo or ~/.cache/tfreuse/zoo.
    #[arg(long, global = true, help_heading = ZOO, value_name = "DIR")]
    pub zoo_dir: Option<PathBuf>,
    /// Seconds to wait for a connection, and for each read of a download.
    #[arg(long, global = true, help_heading = ZOO, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub net_timeout: u64,
    /// Attempts after a failed one.
    ///
    /// After timeouts, cut connections and 5xx answers, waiting 1 s, 2 s, 4 s, …
    #[arg(long, global = true, help_heading = ZOO, default_value_t = 3, value_name = "N")]
    pub retries: u32,
    /// Largest size a download may unpack to, in MB.
    #[arg(long, global = true, help_heading = ZOO, default_value_t = 16384, value_name = "MB")]
    pub max_unpacked_mb: u64,
    /// Fetch a model whose publisher pins no SHA-256 (sha256 = "unpublished"): print its
    /// digest and record it in the zoo folder's trusted.json.
    ///
    /// Later fetches of it, and zoo verify, must then match the recorded digest.
    #[arg(long, global = true, help_heading = ZOO)]
    pub trust_on_first_use: bool,
}

impl ZooArgs {
    /// The zoo these flags describe, its cache `--zoo-dir` or the default.
    pub fn open(&self) -> tfreuse::Result<Zoo> {
        let root = match self.zoo_dir.clone() {
            Some(d) => d,
            None => zoo::default_root()?,
        };
        let offline = self.offline || std::env::var("TFREUSE_OFFLINE").is_ok_and(|v| !v.is_empty() && v != "0");
        let net = Net { timeout: Duration::from_secs(self.net_timeout), retries: self.retries, ..Net::default() };
        let mut z = Zoo::open(root, &self.manifest, offline, net)?;
        let mb = self.max_unpacked_mb.saturating_mul(1 << 20);
        z.limits = Limits { member: mb, total: mb, ..Limits::default() };
        z.trust_on_first_use = self.trust_on_first_use;
        Ok(z)
    }
}

/// `tfreuse zoo`'s flags: the zoo's own, `--zoo-dir` also spelt `--cache-dir` there (its
/// older name, kept so old command lines work; `train --cache-dir` is the feature cache).
#[derive(clap::Args, Debug)]
#[command(mut_arg("zoo_dir", |a| a.visible_alias("cache-dir")))]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
    #[command(flatten)]
    pub zoo: ZooArgs,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Every model of the manifests: name, format, size, whether it is cached, what it is.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Everything the manifest says of a model, and once it is cached, its files and graph.
    Show { name: String },
    /// Download, verify and unpack models into the cache (nothing is done for cached ones).
    Fetch {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Hash again the files of cached models (all when no name is given).
    Verify { names: Vec<String> },
    /// Put a model obtained elsewhere in the cache, as a fetch would (then use it as zoo:NAME).
    Add {
        /// The name to use it by (zoo:NAME); when a manifest names it, what is added must be
        /// the file its entry names (same SHA-256).
        name: String,
        /// An archive (.tar.gz, .tgz, .tar, .zip), a model file or a folder.
        #[arg(value_name = "FILE|DIR")]
        from: PathBuf,
        /// What the model is; needed unless a manifest names it.
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// The model inside an archive or folder (e.g. mnist_dnn/model.ckpt.meta), when it
        /// holds several of the format.
        #[arg(long, value_name = "MEMBER")]
        path: Option<String>,
        /// Replace the copy already cached.
        #[arg(long)]
        force: bool,
    },
    /// Remove a model from the cache.
    Remove {
        #[arg(required = true)]
        names: Vec<String>,
    },
}

/// `--format`'s values: the manifest's names, and the model flags' spellings.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum FormatArg {
    /// A .meta with its checkpoint beside it.
    Meta,
    /// A frozen GraphDef (.pb or .pbtxt).
    #[value(alias = "frozen")]
    Graph,
    /// A SavedModel directory.
    #[value(name = "saved_model", alias = "saved-model")]
    SavedModel,
}

impl FormatArg {
    fn format(self) -> zoo::Format {
        match self {
            FormatArg::Meta => zoo::Format::Meta,
            FormatArg::Graph => zoo::Format::Graph,
            FormatArg::SavedModel => zoo::Format::SavedModel,
        }
    }
}

pub fn exec(args: Args) -> anyhow::Result<()> {
    let z = args.zoo.open()?;
    match args.action {
        Action::List { json } => list(&z, json),
        Action::Show { name } => show(&z, z.entry(&name)?),
        Action::Fetch { names } => {
            for n in names {
                let path = z.fetch(z.entry(&n)?, &mut super::Notices::default())?;
                println!("zoo:{n}: {}", path.display());
            }
            Ok(())
        }
        Action::Verify { names } => verify(&z, names),
        Action::Add { name, from, format, path, force } => {
            let format = format.map(FormatArg::format);
            let (e, at) = z.add(&zoo::Adding { name, from, format, path, force })?;
            println!("zoo:{}: {} {}", e.name, e.format, at.display());
            if let (None, Some(digest)) = (e.pinned(), z.digest(&e)?) {
                println!("zoo:{}: sha256 {digest} (no published one; recorded in {})", e.name, z.trust_record().display());
            }
            Ok(())
        }
        Action::Remove { names } => {
            for n in names {
                let freed = z.remove(&z.entry(&n)?.name)?;
                println!(
                    "zoo:{n}: {}",
                    if freed > 0 { format!("removed, {:.1} MB freed", freed as f64 / 1e6) } else { "was not cached".into() }
                );
            }
            Ok(())
        }
    }
}

fn list(z: &Zoo, json: bool) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for e in &z.entries {
        rows.push((e, z.cached(e)?.map(|a| a.files.iter().map(|f| f.bytes).sum::<u64>())));
    }
    if json {
        let mut v = Vec::new();
        for (e, c) in &rows {
            v.push(serde_json::json!({"entry": e, "cached_bytes": c, "folder": z.folder(e)?}));
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("{} model(s); cache {}", rows.len(), z.root.display());
    for (e, cached) in rows {
        let size = match (cached, e.bytes) {
            (Some(b), _) => format!("{:.1} MB cached", b as f64 / 1e6),
            (None, Some(b)) => format!("{:.1} MB", b as f64 / 1e6),
            (None, None) => "not cached".into(),
        };
        println!("  {:<24} {:<18} {:<16} {}", e.name, e.format.to_string(), size, e.description);
    }
    Ok(())
}

fn show(z: &Zoo, e: &Entry) -> anyhow::Result<()> {
    println!("[[model]]\n{}", toml::to_string(e)?.trim_end());
    if e.pinned().is_none() {
        match z.digest(e)? {
            Some(d) => println!("# sha256 {d}, recorded on first use in {}", z.trust_record().display()),
            None => println!("# no SHA-256 published or recorded: the first fetch needs --trust-on-first-use"),
        }
    }
    let (Some(dir), Some(about)) = (z.folder(e)?, z.cached(e)?) else {
        println!("# not cached (tfreuse zoo fetch {})", e.name);
        return Ok(());
    };
    println!("# cached in {}", dir.display());
    for f in &about.files {
        println!("#   {:>12}  {}", f.bytes, f.path);
    }
    let meta = zoo::source(e, dir.join(&e.path)).read()?;
    for line in zoo::summary(&meta, e)? {
        println!("# {line}");
    }
    Ok(())
}

fn verify(z: &Zoo, names: Vec<String>) -> anyhow::Result<()> {
    let entries: Vec<&Entry> = match names.is_empty() {
        true => {
            let mut cached = Vec::new();
            for e in &z.entries {
                // A copy under another digest than the recorded one is reported too.
                if z.cached(e)?.is_some() || (e.pinned().is_none() && !z.copies(&e.name)?.is_empty()) {
                    cached.push(e);
                }
            }
            cached
        }
        false => names.iter().map(|n| z.entry(n)).collect::<tfreuse::Result<_>>()?,
    };
    let mut bad = 0;
    for e in &entries {
        let problems = z.verify(e)?;
        println!("zoo:{}: {}", e.name, if problems.is_empty() { "ok".to_string() } else { problems.join("; ") });
        bad += usize::from(!problems.is_empty());
    }
    if bad > 0 {
        return Err(tfreuse::Error::Fetch(format!(
            "{bad} cached model(s) changed since they were fetched: `tfreuse zoo remove` and fetch again"
        ))
        .into());
    }
    if entries.is_empty() {
        println!("nothing cached in {}", z.root.display());
    }
    Ok(())
}

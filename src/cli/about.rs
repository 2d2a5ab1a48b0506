//! What tfreuse tells about itself: `--version` (its version, the libtensorflow it finds and
//! oneDNN's default), shell completions and the man pages, the last two generated from the same
//! clap definitions as the flag reference.

use std::path::Path;

use clap::CommandFactory;
use tfreuse::tf::about::{self, OneDnnDefault};
use tfreuse::tf::runtime::LoadOptions;

use super::Cli;

/// `tfreuse completions SHELL`.
#[derive(clap::Args, Debug)]
pub struct Completions {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `--version`: always succeeds; a libtensorflow that cannot be found is said so, with why.
pub fn version() -> anyhow::Result<()> {
    println!("tfreuse {}", env!("CARGO_PKG_VERSION"));
    match about::library(&LoadOptions::default()) {
        Ok(lib) => println!("libtensorflow {} ({})", lib.version, lib.path.display()),
        Err(e) => println!("libtensorflow: {}", super::message(&e)),
    }
    let onednn = match about::onednn_default() {
        OneDnnDefault::Environment(on) => format!("{} (TF_ENABLE_ONEDNN_OPTS)", if on { "on" } else { "off" }),
        OneDnnDefault::Chosen => "TF's default (on); training chooses per graph (--onednn on|off to choose)".into(),
    };
    println!("oneDNN: {onednn}");
    Ok(())
}

pub fn completions(args: Completions) -> anyhow::Result<()> {
    clap_complete::generate(args.shell, &mut Cli::command(), "tfreuse", &mut std::io::stdout());
    Ok(())
}

/// The man pages: tfreuse.1 and one per visible command (tfreuse-train.1, tfreuse-zoo-fetch.1
/// …), each written atomically.
pub fn man(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    write_pages(cmd, dir)
}

fn write_pages(cmd: clap::Command, dir: &Path) -> anyhow::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
        write_pages(sub, dir)?;
    }
    let man = clap_mangen::Man::new(cmd);
    let mut page = Vec::new();
    man.render(&mut page)?;
    tfreuse::atomic::write_bytes_atomic(&dir.join(man.get_filename()), &page)?;
    Ok(())
}

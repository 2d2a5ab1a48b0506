//! `tfreuse cache info|clear`: what the feature cache on disk holds, and emptying it.

use std::path::PathBuf;

use tfreuse::cache::store::{clear, default_root, summaries};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
    /// The cache folder (default: as `train --cache-dir`'s).
    #[arg(long, value_name = "DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Each cached model cut: its pictures, size and what it was made from.
    Info {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove every cached feature (only folders the cache made).
    Clear,
}

pub fn exec(args: Args) -> anyhow::Result<()> {
    let root = match args.cache_dir {
        Some(d) => d,
        None => default_root()?,
    };
    match args.action {
        Action::Info { json } => info(&root, json),
        Action::Clear => {
            let done = clear(&root)?;
            println!("cleared {}: {:.1} MB freed", root.display(), done.bytes as f64 / (1 << 20) as f64);
            if !done.kept.is_empty() {
                println!("kept {} folder(s) written by a newer tfreuse (clear them with it)", done.kept.len());
            }
            Ok(())
        }
    }
}

fn info(root: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let all = summaries(root)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    let total: u64 = all.iter().map(|s| s.bytes).sum();
    println!("{}: {} cached cut(s), {:.1} MB", root.display(), all.len(), total as f64 / (1 << 20) as f64);
    for s in &all {
        let part =
            |k: &str| s.key.as_ref().and_then(|key| key.parts.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())).unwrap_or_default();
        if s.newer {
            println!("  {}  written by a newer tfreuse: not read; {:.1} MB", s.id, s.bytes as f64 / (1 << 20) as f64);
            continue;
        }
        let damaged = if s.damaged > 0 { format!(", {} damaged", s.damaged) } else { String::new() };
        println!(
            "  {}  {}  {} picture(s){damaged}, {} segment(s), {:.1} MB  model {}…",
            s.id,
            part("cut"),
            s.entries,
            s.segments,
            s.bytes as f64 / (1 << 20) as f64,
            part("model").chars().take(12).collect::<String>()
        );
    }
    Ok(())
}

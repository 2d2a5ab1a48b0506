//! The `tfreuse` command line: a thin layer over the library. Each subcommand lives in
//! `cli/<name>.rs` as an `Args` struct and an `exec` function.

mod cli;

use clap::{CommandFactory, FromArgMatches};

fn main() {
    tfreuse::events::mark_start();
    // Die quietly when the reader of stdout goes away (`tfreuse inspect … | head`), as Unix
    // tools do, instead of panicking on the failed write.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let parsed = cli::Cli::command().try_get_matches().and_then(|m| Ok((cli::Cli::from_arg_matches(&m)?, m)));
    let (args, matches) = parsed.unwrap_or_else(|err| {
        if cli::arg_error::is_display(&err) {
            err.exit();
        }
        eprintln!("tfreuse: error: {}", cli::arg_error::one_line(&err));
        std::process::exit(2);
    });
    let temp = cli::sandbox::prepare(&matches).unwrap_or_else(|e| {
        eprintln!("tfreuse: error: cannot make the run's temporary folder: {e}");
        std::process::exit(3);
    });
    let result = cli::exec(args);
    drop(temp);
    if let Err(err) = result {
        if let Some(cli::Exit(code)) = err.downcast_ref::<cli::Exit>() {
            std::process::exit(*code);
        }
        let code = err.downcast_ref::<tfreuse::Error>().map_or(1, |e| e.exit_code());
        // Library errors already carry their cause in one line.
        eprintln!("tfreuse: error: {}", cli::render(&err));
        std::process::exit(code);
    }
}

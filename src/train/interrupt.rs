//! Ctrl-C and SIGTERM during training: the first one sets a flag the training loop checks at
//! every step, so the run stops at a step boundary and saves a resumable checkpoint.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::error::{Error, Result};

/// A flag that SIGINT or SIGTERM sets from now on.
pub fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).map_err(|e| Error::Invalid(format!("cannot handle signals: {e}")))?;
    }
    Ok(stop)
}

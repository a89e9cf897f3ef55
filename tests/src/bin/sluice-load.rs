//! `sluice-load`: a bounded load generator for Sluice's SQS endpoint, driving it with the
//! official `aws-sdk-sqs` client, plus a built-in null SQS server that measures the tool's own
//! ceiling on the same machine.
//!
//! The code lives in `tests/src/load/` (see its `mod.rs` for the layout); this file only
//! declares it so the load tool stays out of the `sluice-tests` library.

#[path = "../load/mod.rs"]
mod load;

use std::process::ExitCode;

/// Exit codes: 0 the run passed; 1 it ran but failed (lost messages, wrong digests, nothing
/// succeeded); 2 it could not run (bad endpoint, broker down at start, bind failure); 3 the
/// watchdog's hard deadline ended it.
fn main() -> ExitCode {
    match load::main() {
        Ok(code) => code,
        Err(error) => {
            // `{:#}` prints the whole cause chain on one line, without a backtrace.
            eprintln!("sluice-load: {error:#}");
            ExitCode::from(2)
        }
    }
}

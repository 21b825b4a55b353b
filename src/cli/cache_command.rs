//! `toy cache stats|clear`: the code cache from the command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use toy::jit::cache::{self, Cache};

use super::{Status, diag};

/// Shows or empties the code cache.
#[derive(Parser, Debug)]
#[command(name = "toy cache", about = "Shows or empties the code cache", long_about = None)]
struct CacheArgs {
    #[command(subcommand)]
    action: Action,

    /// The cache directory [default: $TOY_CACHE, else toy in the user's cache directory]
    #[arg(long, value_name = "DIR", global = true)]
    cache: Option<PathBuf>,
}

#[derive(Subcommand, Debug, Clone, Copy)]
enum Action {
    /// Print the directory, its number of entries and their size
    Stats,
    /// Remove every entry
    Clear,
}

/// Runs `toy cache ARGS`.
pub fn main(args: impl Iterator<Item = String>) -> Status {
    let args = match super::subcommand::<CacheArgs>("toy cache", args) {
        Ok(args) => args,
        Err(status) => return status,
    };
    let Some(dir) = args.cache.or_else(Cache::default_dir) else {
        diag::plain("the code cache is off (TOY_CACHE=off)");
        return Status::UsageError;
    };
    match args.action {
        Action::Stats => {
            let usage = cache::usage(&dir);
            println!("cache: {}", dir.display());
            println!("entries: {}", usage.entries);
            println!(
                "size: {} bytes (limit {} MiB)",
                usage.bytes,
                cache::DEFAULT_LIMIT >> 20
            );
            Status::Ok
        }
        Action::Clear => match cache::clear(&dir) {
            Ok(removed) => {
                println!("removed {removed} entries from {}", dir.display());
                Status::Ok
            }
            Err(err) => {
                diag::plain(&format!("cannot clear {}: {err}", dir.display()));
                Status::ProgramError
            }
        },
    }
}

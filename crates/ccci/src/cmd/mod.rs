//! One module per subcommand: its flags (`Args`) and its body (`run`), which returns how
//! it ended ([`crate::exit::Exit`]); `main` runs the one the command line names and maps an
//! error to its exit code ([`crate::exit::Exit::of_error`]).

pub mod alerts;
pub mod config;
pub mod doctor;
pub mod janitor;
pub mod lint;
pub mod nightly;
pub mod observe;
pub mod prune;
pub mod run;
pub mod serve;
pub mod warm;

//! Every way `ccci` ends, and the one place its exit code is chosen (docs/running.md, "Exit codes").

use ccci_core::ladder::Verdict;
use ccci_core::run_end::RunEnd;
use ccci_runner::recipe::InputError;
use std::process::ExitCode;

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: green; the command did what was asked (warnings are fine).
    Success,
    /// 1: red: a red verdict, an error-level lint rule or a failed doctor check failed, or
    /// nothing to show (`warm show` of a recipe without a canonical).
    Red,
    /// 2: bad input or configuration, each naming file or flag, field and fix; nothing was
    /// created on the engine.
    BadInput,
    /// 3: the engine or the host failed us (not the recipe's fault), or a sweep or
    /// reconcile failed outright.
    HostFailure,
}

impl Exit {
    /// The documented code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Red => 1,
            Exit::BadInput => 2,
            Exit::HostFailure => 3,
        }
    }

    /// Green or red.
    pub fn green_if(green: bool) -> Exit {
        if green {
            Exit::Success
        } else {
            Exit::Red
        }
    }

    /// How a run ended: green 0, red 1, cc-ci's own error 3 (the host's machinery failed,
    /// not the recipe), cancelled 1 (no verdict, and not a success).
    pub fn of_run(end: RunEnd) -> Exit {
        match end {
            RunEnd::Judged(Verdict::Green) => Exit::Success,
            RunEnd::Judged(Verdict::Red) | RunEnd::Cancelled => Exit::Red,
            RunEnd::Error => Exit::HostFailure,
        }
    }

    /// An error that ended a command: bad input (the recipe's, the flags', the service's
    /// configuration) is 2, anything else the host's or engine's failure, 3.
    pub fn of_error(error: &anyhow::Error) -> Exit {
        let bad_input = error
            .downcast_ref::<InputError>()
            .is_some_and(InputError::is_the_recipes)
            || error.downcast_ref::<ccci_service::ConfigError>().is_some();
        if bad_input {
            Exit::BadInput
        } else {
            Exit::HostFailure
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_has_its_documented_code() {
        let rows = [
            (Exit::Success, 0),
            (Exit::Red, 1),
            (Exit::BadInput, 2),
            (Exit::HostFailure, 3),
        ];
        for (exit, code) in rows {
            assert_eq!(exit.code(), code, "{exit:?}");
        }
        assert_eq!(Exit::green_if(true), Exit::Success);
        assert_eq!(Exit::green_if(false), Exit::Red);
        for (end, code) in [
            (RunEnd::GREEN, 0),
            (RunEnd::RED, 1),
            (RunEnd::Cancelled, 1),
            (RunEnd::Error, 3),
        ] {
            assert_eq!(Exit::of_run(end).code(), code, "{end}");
        }
    }

    #[test]
    fn bad_input_is_two_and_anything_else_three() {
        let input = anyhow::Error::from(InputError::UnknownStage { name: "x".into() });
        assert_eq!(Exit::of_error(&input), Exit::BadInput);
        let wrapped = input.context("preparing the run");
        assert_eq!(Exit::of_error(&wrapped), Exit::BadInput);
        let config = anyhow::Error::from(ccci_service::ConfigError {
            file: "c.toml".into(),
            problems: Vec::new(),
        });
        assert_eq!(Exit::of_error(&config), Exit::BadInput);
        let engine = anyhow::anyhow!("cannot connect to the Docker engine");
        assert_eq!(Exit::of_error(&engine), Exit::HostFailure);
        let registry_down = anyhow::Error::from(InputError::RigPull {
            service: "app".into(),
            image: "127.0.0.1:1/app:1".into(),
            reason: "the registry does not answer".into(),
        });
        assert_eq!(Exit::of_error(&registry_down), Exit::HostFailure);
    }
}

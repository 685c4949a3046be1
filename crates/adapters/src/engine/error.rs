//! An engine call that failed, as the engine said it.

/// A call the engine refused or could not answer. Displays as the engine's own message.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct EngineError {
    /// The engine's HTTP status, when it answered.
    status: Option<u16>,
    message: String,
}

impl EngineError {
    /// Is the container asked for no longer there to run in: stopped (409, a swarm task
    /// between containers) or gone (404)? Worth another container of the same service.
    pub fn container_gone(&self) -> bool {
        matches!(self.status, Some(404 | 409))
    }
}

impl From<bollard::errors::Error> for EngineError {
    fn from(e: bollard::errors::Error) -> Self {
        let status = match &e {
            bollard::errors::Error::DockerResponseServerError { status_code, .. } => {
                Some(*status_code)
            }
            _ => None,
        };
        EngineError {
            status,
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exec_refused_between_containers_is_tried_again() {
        let answer = |status_code| {
            EngineError::from(bollard::errors::Error::DockerResponseServerError {
                status_code,
                message: "Container 1234 is not running".into(),
            })
        };
        assert!(answer(409).container_gone());
        assert!(answer(404).container_gone());
        assert!(!answer(500).container_gone());
        assert_eq!(
            answer(409).to_string(),
            "Docker responded with status code 409: Container 1234 is not running"
        );
    }
}

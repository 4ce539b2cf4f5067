//! The error every reconciler returns (kube-runtime's `Controller` wants a
//! `std::error::Error`).

/// A reconcile failed: an API request or the reconciler's own logic.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API request failed.
    #[error(transparent)]
    Api(#[from] kube::Error),
    /// The reconciler could not go on (the message says why and what to do).
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// Whether the API answered 404 Not Found.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api(e) if crate::objects::is_not_found(e))
    }
}

/// What a reconciler returns.
pub type Result<T, E = Error> = std::result::Result<T, E>;

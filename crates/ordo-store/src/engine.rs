//! Choosing and opening an engine: [`open`] turns an [`Engine`] (which engine, with its
//! options) into the [`Store`] the API server uses.

use crate::{EtcdStore, SqliteOptions, SqliteStore, Store, StoreError};
use std::path::PathBuf;
use std::sync::Arc;

/// Which engine holds the data, with its options.
#[derive(Debug, Clone)]
pub enum Engine {
    /// The embedded SQLite database at `path` (created if missing).
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// Group commit, watch buffer and read concurrency.
        options: SqliteOptions,
    },
    /// An external etcd cluster.
    Etcd {
        /// Client URLs (`http://127.0.0.1:2379`).
        endpoints: Vec<String>,
        /// Key prefix of this cluster's data (several clusters can share one etcd).
        prefix: String,
    },
}

impl std::fmt::Display for Engine {
    /// `sqlite PATH` or `etcd URL,URL (prefix PREFIX)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Engine::Sqlite { path, .. } => write!(f, "sqlite {}", path.display()),
            Engine::Etcd { endpoints, prefix } => {
                write!(f, "etcd {} (prefix {prefix})", endpoints.join(","))
            }
        }
    }
}

/// [`open`] failed: what it was doing, and the store's error.
#[derive(Debug, thiserror::Error)]
#[error("{doing}")]
pub struct OpenError {
    doing: String,
    #[source]
    source: StoreError,
}

/// Opens the SQLite database or connects to etcd, as `engine` says.
pub async fn open(engine: &Engine) -> Result<Arc<dyn Store>, OpenError> {
    Ok(match engine {
        Engine::Sqlite { path, options } => Arc::new(
            SqliteStore::open_with(path, options.clone()).map_err(|source| OpenError {
                doing: format!("opening {}", path.display()),
                source,
            })?,
        ),
        Engine::Etcd { endpoints, prefix } => Arc::new(
            EtcdStore::connect(endpoints, prefix)
                .await
                .map_err(|source| OpenError {
                    doing: format!("connecting to etcd at {}", endpoints.join(",")),
                    source,
                })?,
        ),
    })
}

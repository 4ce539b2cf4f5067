//! The client-side runtime every watcher of ordo shares: the controllers, the scheduler, the
//! cluster DNS, the service proxy and the node agent are all clients of the Kubernetes API, and
//! this crate is what they have in common.
//!
//! - [`cache`]: one reflector per resource kind in the process ([`cache::Caches`]), read
//!   instead of asking the API server, followed as change streams by kube-runtime's
//!   `Controller` or by readers that keep their own index;
//! - [`pacing`]: the rest between passes of readers that recompute everything;
//! - [`events`]: the Event recorder (client-go's aggregation of repeats);
//! - [`kinds`]: the kinds the API serves, for readers of every kind;
//! - [`objects`]: label selectors, ownership, pod readiness and API error kinds, one
//!   implementation each;
//! - [`writes`]: a sync waits until the caches show its own writes (upstream's expectations);
//! - [`error`]: the error reconcilers return.

pub mod cache;
pub mod error;
pub mod events;
pub mod kinds;
pub mod objects;
pub mod pacing;
pub mod writes;

pub use cache::{Caches, Change, Shared, View};
pub use error::Error;
pub use writes::Writes;

//! Unit tests of the pure sync (rule numbers refer to statefulset-semantics.md) against a
//! small simulated world.

mod claims;
mod pods;
mod revisions;
mod updates;
mod world;

pub mod docs;
pub mod eval;
pub mod ingest;
pub mod search;

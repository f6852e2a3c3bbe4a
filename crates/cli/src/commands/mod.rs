pub mod ask;
pub mod docs;
pub mod eval;
pub mod eval_refusal;
pub mod ingest;
pub mod search;

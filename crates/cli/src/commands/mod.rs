pub mod ask;
pub mod docs;
pub mod doctor;
pub mod eval;
pub mod eval_refusal;
pub mod ingest;
pub mod search;
pub mod watch;

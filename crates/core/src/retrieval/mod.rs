//! Finding the passages a question needs: full-text and vector search fused into one ranking
//! (`search`, `fusion`), the fusion each library tunes for itself (`tuning`) with the
//! calibration of its relevance gate (`calibration`), the languages of a library and of a
//! question (`language`), keywords searched across languages through dictionaries
//! (`translation`), and the names a question asks about (`names`).

pub mod calibration;
pub mod fusion;
pub mod language;
pub mod names;
pub mod search;
pub mod translation;
pub mod tuning;

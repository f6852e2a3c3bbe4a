//! `GET /v1/models`: the one model this server answers with, Cairn over the library.

use crate::{Library, MODEL_NAME};
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

pub async fn list(State(library): State<Arc<Library>>) -> Json<Value> {
    Json(json!({
        "object": "list",
        "data": [{
            "id": MODEL_NAME,
            "object": "model",
            "created": 0,
            "owned_by": "cairn",
            "cairn": {"generator": library.generator.model_id()},
        }],
    }))
}

// The catalog embeds ../../migrations at compile time (sqlx::migrate!): a new migration must
// rebuild this crate.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}

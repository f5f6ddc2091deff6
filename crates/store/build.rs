//! `sqlx::migrate!` embeds the migration folders at compile time: a file added to one
//! rebuilds the store (as sqlx's documentation asks).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

//! Real implementations that need nothing but the standard library and tokio.

//! Tests across seatflow's functions; see `end_to_end/main.rs` and the
//! README beside this file. The library itself is empty.

//! Integration tests: one binary, real sled databases in temporary
//! directories, routes through `warp::test` and a few over real TCP.

mod abuse;
mod admin;
mod admin_page;
mod architecture;
mod comments;
mod crash;
mod data;
mod helpers;
mod notify;
mod perf;
mod privacy;
mod rules;
mod server;
mod sinks;

//! Integration tests: one binary, real sled databases in temporary
//! directories, routes through `warp::test` and a few over real TCP.

mod admin;
mod comments;
mod crash;
mod helpers;
mod perf;
mod privacy;
mod rules;
mod server;

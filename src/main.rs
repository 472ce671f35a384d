//! The `moderato` binary: parses the command line and hands over to the
//! library (see `moderato::cli`).

fn main() -> std::process::ExitCode {
    moderato::cli::run()
}

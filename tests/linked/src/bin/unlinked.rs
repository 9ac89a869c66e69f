//! A binary that never names the library: the linker leaves its workflows out, and every
//! command says so instead of listing nothing.

fn main() -> std::process::ExitCode {
    workflow_core::cli::main()
}

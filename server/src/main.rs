fn main() -> std::process::ExitCode {
    cirhub::cli::main()
}

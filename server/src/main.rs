fn main() -> std::process::ExitCode {
    // Before the runtime's threads exist (see `server::memory`).
    server::memory::cap_arenas();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime")
        .block_on(server::cli::main())
}

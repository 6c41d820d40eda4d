//! Tidy checks over the workspace's manifests: the crate boundaries ARCHITECTURE.md promises.

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The `[dependencies]` names of a crate (dev-dependencies excluded).
    fn deps(krate: &str) -> Vec<String> {
        // Run time, not compile time: the binary may have been built in another checkout.
        let dir = std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
        let path = Path::new(&dir).join("..").join(krate).join("Cargo.toml");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut out = Vec::new();
        let mut in_deps = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_deps = line == "[dependencies]";
                continue;
            }
            if in_deps {
                if let Some((name, _)) = line.split_once(['=', '.']) {
                    if !name.trim().is_empty() && !name.starts_with('#') {
                        out.push(name.trim().to_string());
                    }
                }
            }
        }
        out
    }

    #[test]
    fn pure_crates_do_no_io() {
        for krate in ["domain", "crypto", "policy"] {
            let d = deps(krate);
            for banned in [
                "tokio",
                "sqlx",
                "axum",
                "reqwest",
                "quorate-store",
                "quorate-server",
            ] {
                assert!(
                    !d.iter().any(|x| x == banned),
                    "{krate} must not depend on {banned}"
                );
            }
        }
    }

    #[test]
    fn only_the_store_knows_sql_and_only_the_server_knows_http() {
        for krate in [
            "domain", "crypto", "proto", "app", "server", "client", "testkit",
        ] {
            assert!(
                !deps(krate).iter().any(|x| x == "sqlx"),
                "{krate} must not depend on sqlx"
            );
        }
        assert!(deps("store").iter().any(|x| x == "sqlx"));
        for krate in ["domain", "crypto", "proto", "app", "store", "client"] {
            assert!(
                !deps(krate).iter().any(|x| x == "axum"),
                "{krate} must not depend on axum"
            );
        }
        assert!(
            !deps("app").iter().any(|x| x == "quorate-server"),
            "app must not know the server"
        );
    }
}

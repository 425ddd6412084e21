//! The process environment, read in one place: every setting seatflow has
//! comes through [`var`] (and `seatflow-local`'s own flags). Adapters take a
//! lookup (`from_vars(var)`) rather than reading the environment themselves,
//! so each setting is read here and tested where it is parsed. The README's
//! Configuration table lists every name read here; a test holds the two
//! together.

/// The value of variable `name`, if it is set (and valid Unicode).
#[must_use]
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Whether this process runs as a Lambda function
/// (`AWS_LAMBDA_FUNCTION_NAME`, set by the Lambda runtime).
#[must_use]
pub fn on_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some()
}

#[cfg(test)]
mod tests {
    //! The README's Configuration table against the code: every variable the
    //! code reads is listed, and every listed one is read (by seatflow, or by
    //! a library it names). And nothing outside `shared/config` and `local/`
    //! reads the environment.

    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    /// Read by libraries, not by seatflow's code: the AWS SDK.
    const READ_BY_LIBRARIES: [&str; 2] = ["AWS_ENDPOINT_URL", "AWS_REGION"];

    fn workspace() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if !matches!(name.to_str(), Some("target" | ".git" | "node_modules") | None)
                    && !name.to_string_lossy().starts_with('.')
                {
                    rust_files(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Upper-case names quoted right after each of `openers` in `text`.
    fn quoted_after(text: &str, openers: &[&str], names: &mut BTreeSet<String>) {
        for opener in openers {
            for (at, _) in text.match_indices(opener) {
                let rest = &text[at + opener.len()..];
                let name: String = rest.chars().take_while(|c| *c != '"').collect();
                if !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                {
                    names.insert(name);
                }
            }
        }
    }

    /// Every variable the code reads: through `var(...)` lookups (here, and in
    /// the adapters `seatflow-config` hands `var` to), clap's `env = ...`, the
    /// secrets (`NAME` and `NAME_ID`), and `local/`'s own reads.
    fn read_by_the_code() -> BTreeSet<String> {
        let root = workspace();
        let mut files = Vec::new();
        for dir in ["shared", "functions", "local/src", "admin/src"] {
            rust_files(&root.join(dir), &mut files);
        }
        let mut names = BTreeSet::new();
        for file in files.iter().filter(|f| {
            !f.components()
                .any(|c| c.as_os_str() == "tests" || c.as_os_str() == "benches")
        }) {
            let text = std::fs::read_to_string(file).expect("readable source");
            quoted_after(&text, &["var(\"", "var_os(\"", "env = \""], &mut names);
        }
        let config = std::fs::read_to_string(root.join("shared/config/src/lib.rs")).expect("lib.rs");
        let mut secrets = BTreeSet::new();
        quoted_after(
            &config,
            &["SECRET: &str = \"", "KEYS: &str = \"", "KEY: &str = \""],
            &mut secrets,
        );
        assert!(secrets.len() >= 4, "the secrets' names: {secrets:?}");
        for secret in secrets {
            names.insert(format!("{secret}_ID"));
            names.insert(secret);
        }
        names
    }

    /// The variables the README's Configuration table names in its first column.
    fn in_the_readme() -> BTreeSet<String> {
        let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
        let table = readme
            .split("\n## Configuration\n")
            .nth(1)
            .expect("a Configuration section")
            .split("\n\n")
            .find(|block| block.trim_start().starts_with("| variable"))
            .expect("its table");
        let mut names = BTreeSet::new();
        for row in table.lines().skip(2) {
            let first = row.split('|').nth(1).unwrap_or_default();
            for (i, quoted) in first.split('`').enumerate() {
                if i % 2 == 1
                    && quoted
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                {
                    names.insert(quoted.to_owned());
                }
            }
        }
        names
    }

    #[test]
    fn the_readme_table_lists_every_variable_the_code_reads_and_no_other() {
        let code = read_by_the_code();
        let readme = in_the_readme();
        let missing: Vec<_> = code.difference(&readme).collect();
        assert!(
            missing.is_empty(),
            "read by the code, missing from the README's table: {missing:?}"
        );
        let unread: Vec<_> = readme
            .difference(&code)
            .filter(|name| !READ_BY_LIBRARIES.contains(&name.as_str()))
            .collect();
        assert!(
            unread.is_empty(),
            "in the README's table, read by nothing: {unread:?}"
        );
    }

    #[test]
    fn only_seatflow_config_and_local_read_the_environment() {
        let root = workspace();
        let mut files = Vec::new();
        for dir in ["shared", "functions", "admin", "tests"] {
            rust_files(&root.join(dir), &mut files);
        }
        let config = root.join("shared/config");
        let readers: Vec<_> = files
            .iter()
            .filter(|f| !f.starts_with(&config))
            .filter(|f| {
                let text = std::fs::read_to_string(f).expect("readable source");
                ["std::env::var", "env::var_os", "env::vars("]
                    .iter()
                    .any(|r| text.contains(r))
            })
            .collect();
        assert!(
            readers.is_empty(),
            "read the environment outside seatflow-config: {readers:?}"
        );
    }

    #[test]
    fn the_readme_layout_lists_every_crate() {
        let root = workspace();
        let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
        let layout = readme
            .split("\n## Layout\n")
            .nth(1)
            .and_then(|rest| rest.split("```").nth(1))
            .expect("a Layout section with its tree");
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
        let members: Vec<&str> = manifest
            .split("members = [")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .expect("workspace members")
            .split(',')
            .map(|m| m.trim().trim_matches('"'))
            .filter(|m| !m.is_empty())
            .collect();
        assert!(members.len() > 10, "{members:?}");
        let missing: Vec<_> = members
            .iter()
            .filter(|member| {
                let listed = match member.split_once('/') {
                    Some(("functions", name)) => format!("\n  {name}/"),
                    _ => format!("\n{member}/"),
                };
                !layout.contains(&listed)
            })
            .collect();
        assert!(
            missing.is_empty(),
            "crates missing from the README's Layout: {missing:?}"
        );
    }
}

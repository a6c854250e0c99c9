//! The workspace's layout is tested, not hand-kept:
//! - every workspace member has a row in the README's `## Crate map` naming its folder
//!   and its crate, and every row names a folder that exists;
//! - the crate graph in `docs/architecture.md` is the one the manifests declare;
//! - the participants' client links none of the validator's stack (`cargo tree -p
//!   sable-client -e normal`), nor does the compliance tooling (nor the validator's
//!   crates), execution neither the network nor L1, and the
//!   validator neither the dev CA nor the test kit.
//!
//! The workspace root is found at run time from `CARGO_MANIFEST_DIR`, never from a
//! path compiled in, so a binary built in one clone reads its own clone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

const CRATE_MAP: &str = "## Crate map";

fn workspace_root() -> PathBuf {
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run under cargo"));
    here.ancestors()
        .find(|d| {
            fs::read_to_string(d.join("Cargo.toml"))
                .ok()
                .and_then(|t| t.parse::<toml::Table>().ok())
                .is_some_and(|t| t.contains_key("workspace"))
        })
        .expect("a Cargo.toml with [workspace] above this crate")
        .to_path_buf()
}

/// `(folder, crate name)` of every workspace member.
fn members(root: &Path) -> Vec<(String, String)> {
    let manifest: toml::Table = fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    manifest["workspace"]["members"]
        .as_array()
        .expect("workspace.members is an array")
        .iter()
        .map(|m| {
            let folder = m.as_str().expect("a member is a path").to_string();
            let own: toml::Table = fs::read_to_string(root.join(&folder).join("Cargo.toml"))
                .unwrap()
                .parse()
                .unwrap();
            let name = own["package"]["name"].as_str().unwrap().to_string();
            (folder, name)
        })
        .collect()
}

/// The crate map's rows: `(folder without its slash, crate name or "—")`.
fn crate_map(readme: &str) -> Result<Vec<(String, String)>, String> {
    let start = readme
        .find(CRATE_MAP)
        .ok_or_else(|| format!("the README has no `{CRATE_MAP}` section"))?;
    let section = &readme[start + CRATE_MAP.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    Ok(section
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim().strip_prefix('|')?.split('|').collect();
            let folder = cells
                .first()?
                .trim()
                .strip_prefix("`")?
                .strip_suffix("/`")?;
            let krate = cells.get(1)?.trim().trim_matches('`');
            Some((folder.to_string(), krate.to_string()))
        })
        .collect())
}

/// Every member the map lacks or names wrongly, in words.
fn missing(members: &[(String, String)], rows: &[(String, String)]) -> Vec<String> {
    members
        .iter()
        .filter(|(folder, name)| !rows.iter().any(|(f, n)| f == folder && n == name))
        .map(|(folder, name)| {
            format!("crate `{name}` (folder `{folder}/`) has no row in the README's crate map")
        })
        .collect()
}

#[test]
fn every_workspace_crate_is_in_the_readme_crate_map_and_every_row_exists() {
    let root = workspace_root();
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let rows = crate_map(&readme).unwrap();
    let members = members(&root);
    assert!(members.len() >= 10, "{members:?}");
    assert_eq!(missing(&members, &rows), Vec::<String>::new());
    for (folder, _) in &rows {
        assert!(
            root.join(folder).is_dir(),
            "the crate map names `{folder}/`, which does not exist"
        );
    }
}

#[test]
fn a_crate_missing_from_the_map_is_named() {
    let readme = "# X\n## Crate map\n| folder | crate | job |\n|---|---|---|\n\
                  | `node/` | `sable-node` | the validator |\n## Next\n| `client/` | `sable-client` | x |\n";
    let rows = crate_map(readme).unwrap();
    assert_eq!(rows, vec![("node".to_string(), "sable-node".to_string())]);
    let members = vec![
        ("node".to_string(), "sable-node".to_string()),
        ("client".to_string(), "sable-client".to_string()),
    ];
    assert_eq!(
        missing(&members, &rows),
        vec!["crate `sable-client` (folder `client/`) has no row in the README's crate map"]
    );
    assert!(crate_map("# no map here").is_err());
}

/// Crates of the validator's stack that a participant's program must never link.
const VALIDATOR_STACK: [&str; 6] = [
    "rocksdb",
    "librocksdb-sys",
    "commonware-",
    "alloy-provider",
    "alloy-transport",
    "axum",
];

/// What execution must never link: the network (p2p, consensus), L1 and the
/// validator's programs.
const NETWORK_AND_L1: [&str; 6] = [
    "commonware-",
    "alloy",
    "alloy-",
    "axum",
    "sable-l1",
    "sable-node",
];

fn forbidden_in(tree: &str, forbidden: &[&str]) -> Vec<String> {
    let mut found: Vec<String> = tree
        .lines()
        .filter_map(|l| {
            let name = l
                .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
                .split(' ')
                .next()?;
            forbidden
                .iter()
                .any(|f| name == *f || (f.ends_with('-') && name.starts_with(f)))
                .then(|| name.to_string())
        })
        .collect();
    found.dedup();
    found
}

/// `cargo tree -e normal` of workspace crate `package`, one crate per line.
fn normal_tree(package: &str) -> String {
    tree(package, "{p}")
}

/// `cargo tree -e normal` of workspace crate `package`, each crate as `format` says.
fn tree(package: &str, format: &str) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["tree", "--offline", "-p", package, "-e", "normal"])
        .args(["--prefix", "none", "--format", format])
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_participants_client_links_none_of_the_validators_stack() {
    let tree = normal_tree("sable-client");
    assert!(tree.contains("sable-circuits"), "{tree}");
    assert!(tree.contains("tonic"), "{tree}");
    assert_eq!(
        forbidden_in(&tree, &VALIDATOR_STACK),
        Vec::<String>::new(),
        "the client links the validator's stack"
    );
}

#[test]
fn the_compliance_tooling_links_none_of_the_validators_crates_or_stack() {
    let tree = normal_tree("sable-compliance");
    assert!(tree.contains("sable-circuits"), "{tree}");
    let mut forbidden = forbidden_in(&tree, &VALIDATOR_STACK);
    forbidden.extend(forbidden_in(
        &tree,
        &["sable-node", "sable-execution", "sable-storage"],
    ));
    assert_eq!(
        forbidden,
        Vec::<String>::new(),
        "the compliance tooling links the validator's crates or stack"
    );
}

#[test]
fn execution_links_neither_the_network_nor_l1() {
    let tree = normal_tree("sable-execution");
    assert!(tree.contains("sable-storage"), "{tree}");
    assert_eq!(
        forbidden_in(&tree, &NETWORK_AND_L1),
        Vec::<String>::new(),
        "execution links the network or L1"
    );
}

/// The features a crate is built with in a tree printed as `{p} [{f}]`, or `None`
/// when the crate is not in it.
fn features_of<'a>(tree: &'a str, krate: &str) -> Option<Vec<&'a str>> {
    let line = tree
        .lines()
        .find(|l| l.starts_with(&format!("{krate} v")))?;
    let inside = &line[line.find('[')? + 1..line.rfind(']')?];
    Some(inside.split(',').filter(|f| !f.is_empty()).collect())
}

#[test]
fn the_validator_links_neither_the_dev_ca_nor_the_test_kit_nor_its_faults() {
    let tree = tree("sable-node", "{p} [{f}]");
    let pki = features_of(&tree, "sable-pki").expect("the validator links sable-pki");
    assert!(
        !pki.contains(&"dev"),
        "the validator builds the dev CA (sable-pki features {pki:?})"
    );
    assert_eq!(features_of(&tree, "sable-testkit"), None, "{tree}");
    let node = features_of(&tree, "sable-node").expect("the tree is the validator's");
    for forbidden in ["byzantine", "failpoints"] {
        assert!(
            !node.contains(&forbidden),
            "the validator builds its test-only feature {forbidden} ({node:?})"
        );
    }
    // The check reads features as printed.
    assert_eq!(
        features_of("sable-pki v0.1.0 (/w/pki) [dev,std]", "sable-pki"),
        Some(vec!["dev", "std"])
    );
    assert_eq!(
        features_of("sable-pki v0.1.0 (/w/pki) []", "sable-pki"),
        Some(vec![])
    );
}

#[test]
fn the_stack_check_names_what_it_finds() {
    let tree = "sable-client v0.1.0\nrocksdb v0.24.0\ncommonware-runtime v2026.10.0\n\
                alloy-primitives v1.8.3\naxum v0.8.4\ntonic v0.14.9";
    assert_eq!(
        forbidden_in(tree, &VALIDATOR_STACK),
        vec!["rocksdb", "commonware-runtime", "axum"]
    );
    assert_eq!(
        forbidden_in(tree, &NETWORK_AND_L1),
        vec!["commonware-runtime", "alloy-primitives", "axum"]
    );
}

/// The workspace's own normal dependencies of every member, one line per crate in
/// manifest order: `name → dep, dep` (or `name` alone).
fn crate_graph(root: &Path) -> String {
    let mut out = String::new();
    for (folder, name) in members(root) {
        let own: toml::Table = fs::read_to_string(root.join(&folder).join("Cargo.toml"))
            .unwrap()
            .parse()
            .unwrap();
        let mut deps: Vec<&str> = own
            .get("dependencies")
            .and_then(|d| d.as_table())
            .map(|d| {
                d.keys()
                    .map(String::as_str)
                    .filter(|k| k.starts_with("sable-"))
                    .collect()
            })
            .unwrap_or_default();
        deps.sort_unstable();
        if deps.is_empty() {
            out.push_str(&format!("{name}\n"));
        } else {
            out.push_str(&format!("{name:<17} → {}\n", deps.join(", ")));
        }
    }
    out
}

/// The first `text` block under `## Crate graph` in the architecture doc.
fn documented_graph(doc: &str) -> Option<&str> {
    let section = &doc[doc.find("## Crate graph")?..];
    let start = section.find("```text\n")? + "```text\n".len();
    let len = section[start..].find("```")?;
    Some(&section[start..start + len])
}

#[test]
fn the_documented_crate_graph_is_the_one_the_manifests_declare() {
    let root = workspace_root();
    let doc = fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let documented = documented_graph(&doc).expect("a ```text block under ## Crate graph");
    let actual = crate_graph(&root);
    assert_eq!(
        documented, actual,
        "docs/architecture.md's crate graph has drifted; the manifests say:\n{actual}"
    );
}

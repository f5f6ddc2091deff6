//! `docs/rules.md` kept true: every rule id of SPEC.md is listed there, and every id it
//! lists as implemented is named by at least one test's own name (`r_set_4_…` names
//! R-SET-4; `r_set_2_3_4_…` names R-SET-2 only).

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The rule ids in `text`, in order of first appearance (`R-SET-10`, …).
fn rule_ids(text: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for (at, _) in text.match_indices("R-") {
        let rest = &text[at + 2..];
        let letters: String = rest.chars().take_while(char::is_ascii_uppercase).collect();
        let after = &rest[letters.len()..];
        let Some(digits) = after.strip_prefix('-').map(|d| d.chars().take_while(char::is_ascii_digit).collect::<String>()) else { continue };
        let preceded_by_letter = text[..at].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric());
        if !letters.is_empty() && !digits.is_empty() && !preceded_by_letter {
            let id = format!("R-{letters}-{digits}");
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

/// The names of the workspace's tests and functions: `fn NAME(` and
/// `on_both_databases!(NAME,`.
fn test_names(dir: &Path, names: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                test_names(&path, names);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for marker in ["fn ", "on_both_databases!("] {
                for (at, _) in text.match_indices(marker) {
                    let name: String = text[at + marker.len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    if name.starts_with("r_") {
                        names.push(name);
                    }
                }
            }
        }
    }
}

/// Whether `name` names rule `id`: its snake form, starting a word and followed by `_`
/// (so `r_set_1` is not in `r_set_10_…`, and `r_set_2_3_4_…` names R-SET-2 only).
fn names_rule(name: &str, id: &str) -> bool {
    let snake = id.to_lowercase().replace('-', "_");
    name.match_indices(&snake).any(|(at, _)| {
        let starts_token = at == 0 || name.as_bytes()[at - 1] == b'_';
        let rest = &name.as_bytes()[at + snake.len()..];
        starts_token && rest.first() == Some(&b'_')
    })
}

#[test]
fn a_name_counts_for_the_rule_it_spells_out() {
    assert!(names_rule("r_set_4_diagnosis_fee", "R-SET-4"));
    assert!(names_rule("r_set_2_r_set_4_x", "R-SET-4"));
    assert!(!names_rule("r_set_2_3_4_golden", "R-SET-4"), "the digits after R-SET-2 are not R-SET-4");
    assert!(names_rule("r_set_2_3_4_golden", "R-SET-2"));
    assert!(!names_rule("r_set_10_refusals", "R-SET-1"));
    assert_eq!(rule_ids("see R-SET-10 and R-ID-1, not XR-ID-2"), ["R-SET-10", "R-ID-1"]);
}

#[test]
fn every_spec_rule_is_listed_and_every_listed_rule_is_named_by_a_test() {
    let spec_path = std::env::var_os("YKT_SPEC").map_or_else(|| workspace().join("../shared/SPEC.md"), PathBuf::from);
    let spec = std::fs::read_to_string(&spec_path).unwrap_or_else(|e| panic!("SPEC.md is read from {} (or $YKT_SPEC): {e}", spec_path.display()));
    let rules = std::fs::read_to_string(workspace().join("docs/rules.md")).expect("docs/rules.md");
    let listed: Vec<String> = rules.lines().filter(|l| l.starts_with("| R-")).flat_map(rule_ids).collect();
    let missing: Vec<String> = rule_ids(&spec).into_iter().filter(|id| !listed.contains(id)).collect();
    assert!(missing.is_empty(), "SPEC rules docs/rules.md does not list: {missing:?}");
    let mut names = Vec::new();
    test_names(&workspace().join("crates"), &mut names);
    let unproven: Vec<String> = rules
        .lines()
        .filter(|l| l.starts_with("| R-") && !l.contains("| not yet:"))
        .filter_map(|l| rule_ids(l).into_iter().next())
        .filter(|id| !names.iter().any(|n| names_rule(n, id)))
        .collect();
    assert!(unproven.is_empty(), "rules listed as implemented that no test's name spells out: {unproven:?}");
}

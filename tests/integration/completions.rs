//! Shell completions: the scripts `sigov-alerts completions SHELL` prints are
//! the committed ones, and real shells load them and complete options.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Ran, Sigov};

/// The script the binary prints for `shell`, written into `dir`.
fn script(dir: &Path, shell: &str) -> PathBuf {
    let ran = Sigov::new(&["completions", shell]).expect(0);
    let path = dir.join(shell);
    std::fs::write(&path, ran.stdout).unwrap();
    path
}

/// Whether `shell` can be run; when it cannot, the check is skipped with a
/// message, unless scripts/test installed it (SIGOV_TEST_SHELLS=required).
fn have(shell: &str) -> bool {
    let found = Command::new(shell).arg("-c").arg("exit 0").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("SIGOV_TEST_SHELLS").as_deref() != Ok("required"),
            "{shell} is not installed (apt-get install zsh fish)"
        );
        eprintln!("skipped: {shell} is not installed (apt-get install zsh fish)");
    }
    found
}

/// What bash offers for `line` (the cursor at its end), asked the way bash's
/// programmable completion asks: COMP_WORDS, COMP_CWORD, COMP_LINE and
/// COMP_POINT set, then the function `complete -p sigov-alerts` names called
/// with the command, the current word and the previous word.
fn bash_complete(script: &Path, line: &str) -> Vec<String> {
    const HARNESS: &str = r#"
source "$1" || exit 3
spec=$(complete -p sigov-alerts) || exit 4
fn=${spec#*-F }
fn=${fn%% *}
COMP_LINE=$2
COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<< "$COMP_LINE"
if [[ $COMP_LINE == *' ' ]]; then COMP_WORDS+=(''); fi
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMPREPLY=()
"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let mut bash = Command::new("bash");
    bash.args(["--norc", "--noprofile", "-c", HARNESS, "bash"]).arg(script).arg(line);
    Ran::tool(bash).stdout.lines().filter(|l| !l.is_empty()).map(String::from).collect()
}

#[test]
fn completions_command_prints_the_committed_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for (shell, file) in [("bash", "sigov-alerts.bash"), ("zsh", "_sigov-alerts"), ("fish", "sigov-alerts.fish")] {
        let printed = std::fs::read(script(dir.path(), shell)).unwrap();
        let text = String::from_utf8_lossy(&printed);
        assert!(text.contains("run-all"), "{shell}");
        assert!(!text.contains("generate-man"), "{shell} offers the internal generate-man");
        assert!(
            printed == std::fs::read(root.join(file)).unwrap(),
            "completions/{file} differs from `completions {shell}`"
        );
    }
}

#[test]
fn bash_completes_subcommands_and_their_options() {
    let dir = tempfile::tempdir().unwrap();
    let bash = script(dir.path(), "bash");
    assert_eq!(bash_complete(&bash, "sigov-alerts status --st"), ["--stale-after", "--stuck-after"]);
    assert_eq!(bash_complete(&bash, "sigov-alerts check-budget --dr"), ["--dry-run"]);
    assert_eq!(bash_complete(&bash, "sigov-alerts run-all --format "), ["text", "json"]);
    let top = bash_complete(&bash, "sigov-alerts ");
    assert!(top.iter().any(|w| w == "run-all"), "{top:?}");
    assert!(top.iter().any(|w| w == "status"), "{top:?}");
    assert!(!top.iter().any(|w| w == "generate-man"), "{top:?}");
    let help = bash_complete(&bash, "sigov-alerts help ");
    assert!(help.iter().any(|w| w == "check-budget") && !help.iter().any(|w| w == "generate-man"), "{help:?}");
    // Global options after the subcommand, too.
    assert_eq!(bash_complete(&bash, "sigov-alerts deliver --wait"), ["--wait-lock"]);
}

#[test]
fn zsh_and_fish_scripts_parse_and_fish_completes_options() {
    let dir = tempfile::tempdir().unwrap();
    if have("zsh") {
        let mut zsh = Command::new("zsh");
        zsh.arg("-n").arg(script(dir.path(), "zsh"));
        Ran::tool(zsh);
    }
    if have("fish") {
        let fish = script(dir.path(), "fish");
        let mut parse = Command::new("fish");
        parse.arg("--no-execute").arg(&fish);
        Ran::tool(parse);
        // fish can also be asked directly what it would complete.
        let mut ask = Command::new("fish");
        ask.env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .args([
                "--no-config",
                "-c",
                r#"source $argv[1]; complete -C "sigov-alerts status --st"; complete -C "sigov-alerts ""#,
            ])
            .arg(&fish);
        let words: Vec<String> =
            Ran::tool(ask).stdout.lines().map(|l| l.split('\t').next().unwrap_or_default().to_string()).collect();
        for w in ["--stale-after", "--stuck-after", "run-all"] {
            assert!(words.iter().any(|x| x == w), "fish lacks {w}: {words:?}");
        }
        assert!(!words.iter().any(|x| x == "generate-man"), "{words:?}");
    }
}

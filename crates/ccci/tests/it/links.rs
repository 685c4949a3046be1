//! cc-ci reads nothing through a link a pull request or the app planted (issue 19, item 2):
//! a recipe file linking out of its checkout is refused before deploy, by name, and nothing
//! of the file it points at reaches any output; a link the app plants in its volume is
//! never followed by the backup or the restore.

use crate::common::*;
use std::path::{Path, PathBuf};

/// A host file holding a recognisable fake token, unique to this test, outside any recipe.
fn host_token(rig: &Rig, name: &str) -> (PathBuf, String) {
    let token = format!(
        "ghp_FAKE{}{}",
        std::process::id(),
        name.to_uppercase().replace('-', "")
    );
    let dir = rig.path(&format!("host-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, format!("{token}\n")).unwrap();
    (file, token)
}

/// Every file under `dir` whose content holds `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_symlink() {
                continue;
            }
            if p.is_dir() {
                dirs.push(p);
            } else if std::fs::read(&p).is_ok_and(|b| String::from_utf8_lossy(&b).contains(needle))
            {
                found.push(p);
            }
        }
    }
    found
}

fn assert_token_nowhere(run: &Run, token: &str) {
    assert!(!run.stdout.contains(token), "{}", run.explain());
    assert!(!run.stderr.contains(token), "{}", run.explain());
    assert_eq!(files_holding(&run.out, token), Vec::<PathBuf>::new());
}

/// `file` of the recipe becomes a link to a host file holding a token: the run is bad input
/// (exit 2) naming the file, before anything is deployed, and the token is nowhere.
fn refused_when_linked_out(file: &str, name: &str) {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", name);
    let (host, token) = host_token(&rig, name);
    // Keep the recipe loadable up to the link: `.env.sample` moved aside is what a head
    // linking it would replace.
    std::fs::remove_file(recipe.join(file)).unwrap();
    std::os::unix::fs::symlink(&host, recipe.join(file)).unwrap();
    let run = rig.run(&recipe, None, &["--stages", "install"]);
    assert_eq!(run.code, 2, "{}", run.explain());
    assert!(run.stderr.contains(file), "{}", run.explain());
    assert!(
        run.stderr.contains("escapes the checkout through a link"),
        "{}",
        run.explain()
    );
    assert_token_nowhere(&run, &token);
    assert!(stacks_with_prefix(&format!("{}-", &name[..4])).is_empty());
}

#[test]
fn an_abra_sh_linking_to_a_host_file_is_refused_by_name_and_read_nowhere() {
    refused_when_linked_out("abra.sh", "abralink");
}

#[test]
fn an_env_sample_linking_to_a_host_file_is_refused_by_name_and_read_nowhere() {
    refused_when_linked_out(".env.sample", "envlink");
}

/// The look-alike: `abra.sh` and `.env.sample` are links to files inside the recipe (as a
/// recipe sharing its scripts would have); the recipe installs.
#[test]
fn a_recipe_linking_inside_itself_installs() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "inlink");
    std::fs::create_dir_all(recipe.join("shared")).unwrap();
    for file in ["abra.sh", ".env.sample"] {
        std::fs::rename(recipe.join(file), recipe.join("shared").join(file)).unwrap();
        std::os::unix::fs::symlink(format!("shared/{file}"), recipe.join(file)).unwrap();
    }
    let run = rig.run(&recipe, None, &["--stages", "install"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(run.rung("install")["status"], "pass", "{}", run.explain());
    assert!(leftovers(&run.stack()).is_empty());
}

/// fixture-nginx with its content volume backed up by `path_label` and `hook` added to
/// its backup-bot-two labels.
fn nginx_with_labels(rig: &Rig, name: &str, labels: &[String]) -> PathBuf {
    let recipe = rig.recipe_copy("fixture-nginx", name);
    let added: String = labels
        .iter()
        .map(|l| format!("\n        - {l:?}"))
        .collect();
    edit(
        &recipe,
        "compose.yml",
        "        - \"backupbot.backup=true\"",
        &format!("        - \"backupbot.backup=true\"{added}"),
    );
    recipe
}

/// The host directory a planted link points at, holding a token: its listing and content.
fn sentinel(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut seen: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    seen.sort();
    seen
}

/// The app swaps the backed-up path for a link to a host directory just before the
/// capture (its `backupbot.backup.pre-hook`). What the link points at is not the volume's:
/// backup-bot-two would store the bare link, so the backup would hold none of the app's
/// data. The run is RED at backup_restore naming the volume and the label, the backup holds
/// nothing of the host, and the host directory is untouched.
#[test]
fn a_backed_up_path_the_app_turned_into_a_link_is_red_and_nothing_of_the_host_is_read() {
    let rig = Rig::new();
    let (token_file, token) = host_token(&rig, "volpath");
    let host_dir = token_file.parent().unwrap().to_path_buf();
    let html = "/usr/share/nginx/html";
    let recipe = nginx_with_labels(
        &rig,
        "volpath",
        &[
            "backupbot.backup.volumes.content.path=site".to_string(),
            format!(
                "backupbot.backup.pre-hook=rm -rf {html}/site && ln -s {} {html}/site",
                host_dir.display()
            ),
        ],
    );
    let before = sentinel(&host_dir);
    let run = rig.run(&recipe, None, &["--stages", "install,backup_restore"]);
    assert_eq!(run.code, 1, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["failure"]["rung"], "backup_restore", "{}", run.explain());
    let reason = run.rung("backup_restore")["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(reason.contains("volume content"), "{reason}");
    assert!(
        reason.contains("backupbot.backup.volumes.content.path"),
        "{reason}"
    );
    assert!(reason.contains("is a link"), "{reason}");
    assert!(
        run.stderr
            .contains("backupbot.backup.pre-hook in app: rm -rf"),
        "the link was planted: {}",
        run.explain()
    );
    assert_token_nowhere(&run, &token);
    assert_eq!(
        sentinel(&host_dir),
        before,
        "the host directory is untouched"
    );
    assert!(leftovers(&run.stack()).is_empty());
}

/// The app plants links where cc-ci is about to write (its `backupbot.restore.pre-hook`):
/// over the data marker (to the host's token file) and over a file the backup holds (to the
/// host directory). The restore moves the planted links aside and puts the backed-up files
/// back; nothing is written through them: GREEN at backup_restore, the host untouched.
#[test]
fn links_planted_before_the_restore_are_replaced_never_written_through() {
    let rig = Rig::new();
    let (token_file, token) = host_token(&rig, "restlink");
    let host_dir = token_file.parent().unwrap().to_path_buf();
    let html = "/usr/share/nginx/html";
    let recipe = nginx_with_labels(
        &rig,
        "restlink",
        &[format!(
            "backupbot.restore.pre-hook=ln -sfn {} {html}/.ccci-marker && rm -f {html}/index.html && ln -s {} {html}/index.html",
            token_file.display(),
            host_dir.display()
        )],
    );
    let before = sentinel(&host_dir);
    let run = rig.run(&recipe, None, &["--stages", "install,backup_restore"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(
        run.rung("backup_restore")["status"],
        "pass",
        "{}",
        run.explain()
    );
    assert!(
        run.stderr
            .contains("backupbot.restore.pre-hook in app: ln -sfn"),
        "the links were planted: {}",
        run.explain()
    );
    assert_token_nowhere(&run, &token);
    assert_eq!(
        sentinel(&host_dir),
        before,
        "the host directory is untouched"
    );
    assert!(leftovers(&run.stack()).is_empty());
}

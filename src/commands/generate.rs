//! `danerollover generate`: man pages and shell completions, generated from the clap
//! definitions in [`crate::cli`] (so every command and flag shows up without a hand-kept
//! list). The Debian package is built from these (`packaging/build-deb`).

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, GenerateCommand};
use crate::error::{Error, exit};

pub fn run(cmd: &GenerateCommand) -> Result<u8, Error> {
    match cmd {
        GenerateCommand::Man { dir } => {
            let written = man_pages(dir)?;
            for p in written {
                crate::outln!("{}", p.display())?;
            }
        }
        GenerateCommand::CompleteBash => completion(Shell::Bash)?,
        GenerateCommand::CompleteZsh => completion(Shell::Zsh)?,
        GenerateCommand::CompleteFish => completion(Shell::Fish)?,
    }
    Ok(exit::OK)
}

/// Write `danerollover.1` and `danerollover-COMMAND[-SUB].1` for every visible command
/// into `dir`; returns the files written, sorted.
pub fn man_pages(dir: &Path) -> Result<Vec<std::path::PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    clap_mangen::generate_to(Cli::command(), dir).map_err(|e| Error::io(dir, e))?;
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "1")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("danerollover"))
        })
        .collect();
    out.sort();
    Ok(out)
}

fn completion(shell: Shell) -> Result<(), Error> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "danerollover", &mut buf);
    std::io::stdout()
        .write_all(&buf)
        .map_err(|e| Error::Failed(format!("cannot write the completion script: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_man_page_per_command_and_completions_name_every_command() {
        let dir = tempfile::tempdir().unwrap();
        let pages = man_pages(dir.path()).unwrap();
        let names: Vec<String> = pages
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        let cmd = Cli::command();
        for sub in cmd.get_subcommands() {
            let page = format!("danerollover-{}.1", sub.get_name());
            assert!(names.contains(&page), "{page} missing from {names:?}");
        }
        assert!(names.contains(&"danerollover.1".to_string()));
        assert!(names.contains(&"danerollover-dns-show.1".to_string()));
        let rollover = std::fs::read_to_string(dir.path().join("danerollover-rollover.1")).unwrap();
        assert!(rollover.contains("max\\-wait"), "{rollover}");
        let mut bash = Vec::new();
        clap_complete::generate(Shell::Bash, &mut Cli::command(), "danerollover", &mut bash);
        let bash = String::from_utf8(bash).unwrap();
        for sub in cmd.get_subcommands() {
            assert!(
                bash.contains(sub.get_name()),
                "{} not in bash",
                sub.get_name()
            );
        }
    }
}

//! Executors (the design documents' harness idea): named command templates from config, each with a
//! timeout and an output parser. A task whose command is `["@PROFILE", "goal words"…]` runs through the
//! profile's executors in order; the first whose program is available is used.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// How to turn a finished executor's output into the run's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OutputParser {
    /// All of stdout.
    StdoutAll,
    /// The text between two marker lines.
    StdoutSection { start: String, end: String },
    /// A field (dotted path) of the last JSON object printed on stdout.
    JsonField { field: String },
    /// Only the exit code.
    ExitCode,
}

/// One executor: a command template with `{goal}`, `{cwd}`, `{task_id}`, `{run_id}` placeholders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutorSpec {
    pub command: Vec<String>,
    pub timeout_s: Option<u64>,
    pub parser: OutputParser,
}

/// All executors and the profiles that order them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Executors {
    pub executors: BTreeMap<String, ExecutorSpec>,
    pub profiles: BTreeMap<String, Vec<String>>,
}

/// Values for the placeholders.
pub struct Vars<'a> {
    pub goal: &'a str,
    pub cwd: &'a str,
    pub task_id: &'a str,
    pub run_id: &'a str,
}

/// Each placeholder fills exactly one argv item: no shell, so no quoting to get wrong. The template is
/// read once, left to right: a value is never read again for placeholders (a goal saying `{cwd}` stays
/// as typed), and braces that name no placeholder stay as they are.
pub fn render(template: &[String], vars: &Vars<'_>) -> Vec<String> {
    template.iter().map(|arg| fill(arg, vars)).collect()
}

fn fill(template: &str, vars: &Vars<'_>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let value = after.find('}').and_then(|close| {
            let value = match &after[1..close] {
                "goal" => vars.goal,
                "cwd" => vars.cwd,
                "task_id" => vars.task_id,
                "run_id" => vars.run_id,
                _ => return None,
            };
            Some((value, close))
        });
        match value {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether `program` can be started: an executable file for a path, else one found on `search_path`.
pub fn is_available(program: &str, search_path: &str) -> bool {
    if program.contains('/') {
        return is_executable(Path::new(program));
    }
    std::env::split_paths(search_path).any(|dir| is_executable(&dir.join(program)))
}

/// A regular file with an execute bit (what `execve` needs besides the caller's own permissions).
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl Executors {
    /// Checks that every profile names known executors.
    pub fn validate(&self) -> Result<(), String> {
        for (name, spec) in &self.executors {
            if spec.command.first().is_none_or(|p| p.trim().is_empty()) {
                return Err(format!("executor {name}: command must name a program"));
            }
        }
        for (profile, members) in &self.profiles {
            if members.is_empty() {
                return Err(format!("profile {profile} lists no executors"));
            }
            if let Some(unknown) = members.iter().find(|m| !self.executors.contains_key(*m)) {
                return Err(format!("profile {profile} names unknown executor {unknown}"));
            }
        }
        Ok(())
    }

    /// The first available executor of `profile`, or why there is none.
    pub fn select(&self, profile: &str, search_path: &str) -> Result<(&str, &ExecutorSpec), String> {
        let members = self.profiles.get(profile).ok_or_else(|| format!("unknown executor profile {profile:?}"))?;
        members
            .iter()
            .filter_map(|name| self.executors.get_key_value(name))
            .find(|(_, spec)| spec.command.first().is_some_and(|p| is_available(p, search_path)))
            .map(|(name, spec)| (name.as_str(), spec))
            .ok_or_else(|| format!("no executor of profile {profile} is available (tried {})", members.join(", ")))
    }
}

/// What a profile run resolves to now: the executor `select` picks and the argv it renders. Called when
/// the run is requested (the result is pinned in the request) and again before it starts (they must agree).
pub fn resolve(
    executors: &Executors,
    command: &[String],
    vars: &Vars<'_>,
    search_path: &str,
) -> Result<Option<crate::domain::run::PinnedExecutor>, String> {
    let Some(profile) = command.first().and_then(|first| first.strip_prefix('@')) else {
        return Ok(None);
    };
    let (name, spec) = executors.select(profile, search_path)?;
    Ok(Some(crate::domain::run::PinnedExecutor {
        name: name.to_owned(),
        definition: serde_json::to_value(spec).unwrap_or_default(),
        argv: render(&spec.command, vars),
    }))
}

/// Applies a parser to a finished executor's output.
pub fn parse(parser: &OutputParser, stdout: &str, exit_code: Option<i32>) -> Result<String, String> {
    match parser {
        OutputParser::StdoutAll => Ok(stdout.to_owned()),
        OutputParser::ExitCode => Ok(exit_code.map_or("killed by a signal".to_owned(), |c| format!("exit code {c}"))),
        OutputParser::StdoutSection { start, end } => {
            let mut lines = stdout.lines().skip_while(|l| l.trim() != start.as_str());
            if lines.next().is_none() {
                return Err(format!("start marker {start:?} not found in the output"));
            }
            let mut section = Vec::new();
            for line in lines {
                if line.trim() == end.as_str() {
                    return Ok(section.join("\n"));
                }
                section.push(line);
            }
            Err(format!("end marker {end:?} not found after {start:?}"))
        }
        OutputParser::JsonField { field } => {
            let value = stdout
                .lines()
                .rev()
                .find_map(|line| serde_json::from_str::<serde_json::Value>(line.trim()).ok().filter(|v| v.is_object()))
                .or_else(|| serde_json::from_str(stdout.trim()).ok())
                .ok_or_else(|| "no JSON object found in the output".to_owned())?;
            let found = field
                .split('.')
                .try_fold(&value, |v, key| v.get(key))
                .ok_or_else(|| format!("field {field:?} not in the JSON output"))?;
            Ok(found.as_str().map_or_else(|| found.to_string(), str::to_owned))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(program: &str) -> ExecutorSpec {
        ExecutorSpec {
            command: vec![program.into(), "--goal".into(), "{goal}".into()],
            timeout_s: Some(5),
            parser: OutputParser::StdoutAll,
        }
    }

    #[test]
    fn placeholders_fill_single_argv_items() {
        let vars = Vars { goal: "fix it; rm -rf /", cwd: "/srv", task_id: "task-1", run_id: "run-1" };
        let argv = render(&["tool".into(), "{goal}".into(), "--in={cwd}".into()], &vars);
        assert_eq!(argv, ["tool", "fix it; rm -rf /", "--in=/srv"]);
        // A value is never filled again: a goal that says {cwd} or {run_id} stays as typed.
        let vars = Vars { goal: "print {cwd} and {run_id}", cwd: "/srv", task_id: "t", run_id: "r" };
        let argv = render(&["{goal}".into(), "{unknown} {".into(), "{task_id}{run_id}".into()], &vars);
        assert_eq!(argv, ["print {cwd} and {run_id}", "{unknown} {", "tr"]);
    }

    #[test]
    fn a_file_without_an_execute_bit_is_not_available() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o644)).unwrap();
        let path = dir.path().to_str().unwrap();
        assert!(!is_available(tool.to_str().unwrap(), ""), "a plain file is not a program");
        assert!(!is_available("tool", path));
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(is_available(tool.to_str().unwrap(), "") && is_available("tool", path));
        assert!(!is_available(dir.path().to_str().unwrap(), ""), "a directory is not a program");
    }

    #[test]
    fn profiles_fall_through_to_the_first_available_executor() {
        let mut executors = Executors::default();
        executors.executors.insert("missing".into(), spec("definitely-not-installed-atlas"));
        executors.executors.insert("shell".into(), spec("sh"));
        executors.profiles.insert("quality".into(), vec!["missing".into(), "shell".into()]);
        executors.profiles.insert("none".into(), vec!["missing".into()]);
        assert!(executors.validate().is_ok());
        let path = std::env::var("PATH").unwrap();
        assert_eq!(executors.select("quality", &path).unwrap().0, "shell");
        assert!(executors.select("none", &path).unwrap_err().contains("no executor of profile none"));
        assert!(executors.select("nope", &path).unwrap_err().contains("unknown executor profile"));
        executors.profiles.insert("bad".into(), vec!["ghost".into()]);
        assert!(executors.validate().unwrap_err().contains("unknown executor ghost"));
    }

    #[test]
    fn the_four_parsers() {
        let out = "noise\nBEGIN\nline 1\nline 2\nEND\n{\"result\": {\"summary\": \"ok\"}, \"n\": 3}\n";
        assert_eq!(parse(&OutputParser::StdoutAll, out, Some(0)).unwrap(), out);
        let section = OutputParser::StdoutSection { start: "BEGIN".into(), end: "END".into() };
        assert_eq!(parse(&section, out, Some(0)).unwrap(), "line 1\nline 2");
        assert!(parse(&section, "no markers", Some(0)).unwrap_err().contains("start marker"));
        assert_eq!(parse(&OutputParser::JsonField { field: "result.summary".into() }, out, Some(0)).unwrap(), "ok");
        assert_eq!(parse(&OutputParser::JsonField { field: "n".into() }, out, Some(0)).unwrap(), "3");
        assert!(parse(&OutputParser::JsonField { field: "x".into() }, out, Some(0)).is_err());
        assert_eq!(parse(&OutputParser::ExitCode, "", Some(3)).unwrap(), "exit code 3");
    }
}

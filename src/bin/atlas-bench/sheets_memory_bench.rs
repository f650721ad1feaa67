//! `atlas-bench sheets-memory [ROWS]`: what reading a Pending_Approvals tab holding ROWS junk rows
//! (default 10,000; ten 40-character cells each, as an editor pasting junk would leave them) costs
//! Atlas's memory: the grid read's answer parsed the way Atlas parses it (`sheets::lean`, a cell kept as
//! its text) against google-sheets4's typed `Spreadsheet` (what Atlas did before). Each parse runs in a
//! child process of its own; the figure is its peak resident set (VmHWM, reset first) above what it held
//! with the answer's bytes already in memory.

use serde_json::json;

/// The spreadsheets.get answer for a tab of `rows` junk rows below a header.
fn answer(rows: usize) -> Vec<u8> {
    let cell = |r: usize, c: usize| json!({ "userEnteredValue": { "stringValue": format!("junk row {r:06} cell {c:02} ....................") } });
    let mut row_data = vec![
        json!({ "values": (0..8).map(|c| json!({ "userEnteredValue": { "stringValue": format!("header {c}") } })).collect::<Vec<_>>() }),
    ];
    row_data.extend((0..rows).map(|r| json!({ "values": (0..10).map(|c| cell(r, c)).collect::<Vec<_>>() })));
    let answer = json!({ "sheets": [{
        "properties": { "sheetId": 1, "title": "Pending_Approvals", "gridProperties": { "rowCount": rows + 1, "columnCount": 26 } },
        "data": [{ "startRow": 0, "rowData": row_data }]
    }] });
    serde_json::to_vec(&answer).unwrap_or_default()
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            line.strip_prefix(field).map(|rest| rest.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

/// In the child: read the answer from `file` (nothing else allocated first, so the growth is the
/// parse's own), parse it one way, print the peak growth in kB, the cells read and the answer's size.
pub fn child(file: &str, how: &str) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let before = status_kb("VmRSS:");
    std::fs::write("/proc/self/clear_refs", "5").map_err(|e| format!("cannot reset the peak RSS: {e}"))?;
    let cells: usize = match how {
        "lean" => {
            atlas_actors::sheets::lean::grids(&bytes)?.iter().map(|g| g.rows.iter().map(Vec::len).sum::<usize>()).sum()
        }
        _ => {
            let typed: atlas_actors::sheets::lean::TypedAnswer =
                serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
            typed
                .sheets
                .unwrap_or_default()
                .iter()
                .flat_map(|s| s.data.iter().flatten())
                .flat_map(|d| d.row_data.iter().flatten())
                .map(|r| r.values.as_ref().map_or(0, Vec::len))
                .sum()
        }
    };
    let peak = status_kb("VmHWM:");
    println!("{} {cells} {}", peak.saturating_sub(before), bytes.len());
    Ok(())
}

pub fn run(rows: usize) -> Result<(), String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = crate::scratch_dir("sheets-memory");
    let file = dir.join("answer.json");
    std::fs::write(&file, answer(rows)).map_err(|e| e.to_string())?;
    let measure = |how: &str| -> Result<(f64, usize, usize), String> {
        let out = std::process::Command::new(&me)
            .args(["sheets-memory-child", file.to_str().unwrap_or_default(), how])
            .output()
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<usize> = text.split_whitespace().filter_map(|f| f.parse().ok()).collect();
        match fields[..] {
            [kb, cells, bytes] => Ok((kb as f64 / 1024.0, cells, bytes)),
            _ => Err(format!("the {how} child said {text:?} {}", String::from_utf8_lossy(&out.stderr))),
        }
    };
    let (typed, cells, bytes) = measure("typed")?;
    let (lean, lean_cells, _) = measure("lean")?;
    let _ = std::fs::remove_dir_all(&dir);
    if lean_cells != cells {
        return Err(format!("the lean read saw {lean_cells} cells, the typed one {cells}"));
    }
    println!(
        "sheets grid read of {rows} junk rows ({cells} cells, answer {:.1} MB): peak RSS growth typed {typed:.1} MB, \
         lean {lean:.1} MB ({:.0}x less; {:.0} bytes a row)",
        bytes as f64 / 1048576.0,
        typed / lean.max(0.001),
        lean * 1048576.0 / rows.max(1) as f64
    );
    Ok(())
}

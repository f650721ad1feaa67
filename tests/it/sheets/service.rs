//! The mirror as the service and the CLI run it (on demand, on schedule, its reported state), and the
//! fake's own values API.

use super::*;

sheet_test! {
    async fn the_service_syncs_on_demand_and_on_schedule_and_reports_its_state() {
        let fake = FakeSheets::start().await;
        let (dir, mut settings) = crate::sheets::service_settings(&fake);
        settings.sheets.request_timeout_s = 5;
        let team = Team::with_app(crate::support::TestApp::spawn_with(dir, settings).await).await;
        let project = team.project("ops").await;
        team.call("POST", "/api/v1/tasks", &team.agent, Some(serde_json::json!({ "project_id": project, "title": "t" })))
            .await;

        let (status, summary) = team.call("POST", "/api/v1/admin/sync", &team.admin, None).await;
        assert_eq!(
            (status, summary["mode"].as_str(), summary["tabs_created"].as_u64()),
            (200, Some("full"), Some(3)),
            "{summary}"
        );
        assert_eq!(fake.tab("Pending_Approvals").unwrap().rows.len(), 2);
        let (_, state) = team.call("GET", "/api/v1/admin/sync", &team.admin, None).await;
        assert_eq!(state["enabled"], true);
        assert!(
            state["directions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["last_success_at"].is_string() && d["consecutive_failures"] == 0),
            "{state}"
        );

        let report = team.app.handles.scheduler.run_now("sheets_critical_export", crate::support::tester()).await.unwrap();
        assert_eq!(report.detail, "no new critical errors");
        let critical = NewHotlistError {
            id: ErrorId::generate(),
            task_id: None,
            error: "disk full".into(),
            severity: Severity::Critical,
            source: "health".into(),
        };
        team.app.handles.writer.submit(Command::RecordError(critical), Actor::system()).await.unwrap();
        let report = team.app.handles.scheduler.run_now("sheets_critical_export", crate::support::tester()).await.unwrap();
        assert!(report.ok && report.detail.starts_with("export:"), "{report:?}");
        assert_eq!(
            fake.tab("Errors_Hotlist").unwrap().rows.len(),
            2,
            "the critical error is in the sheet within the 15-minute job"
        );

        fake.fail_next(&[500, 500, 500]);
        let (status, body) = team.call("POST", "/api/v1/admin/sync", &team.admin, None).await;
        assert_eq!(status, 503, "{body}");
        let (_, state) = team.call("GET", "/api/v1/admin/sync", &team.admin, None).await;
        let import = state["directions"].as_array().unwrap().iter().find(|d| d["direction"] == "import").unwrap().clone();
        assert_eq!(import["consecutive_failures"], 1, "{state}");
        assert!(import["last_error"].as_str().unwrap().contains("500"), "{state}");
        // The same state in /metrics, and in the health report.
        let (_, metrics) = team.app.raw("GET", "/metrics", Some(&team.viewer), None, None).await;
        let metrics = String::from_utf8(metrics).unwrap();
        assert!(metrics.contains("atlas_sync_consecutive_failures{direction=\"import\"} 1\n"), "{metrics}");
        assert!(metrics.contains("atlas_sync_last_success_timestamp_seconds{direction=\"export\"} 1"), "{metrics}");
        let (_, health) = team.call("GET", "/api/v1/admin/health", &team.admin, None).await;
        let import_check = &health["operations"]["checks"]["sheets_import"];
        assert_eq!(import_check["level"], "ok", "a success within the hour: {health}");
        assert!(import_check["detail"].as_str().unwrap().contains("1 failures since"), "{import_check}");
        let report = team.app.handles.scheduler.run_now("sheets_sync", crate::support::tester()).await.unwrap();
        assert!(report.ok, "a failed cycle never blocks the next: {report:?}");
    }
}

sheet_test! {
    async fn the_sync_cli_runs_a_cycle_and_shows_the_state() {
        let fake = FakeSheets::start().await;
        let dir = tempfile::tempdir().unwrap();
        let credentials = fake.credentials(dir.path());
        let atlas = |args: Vec<String>| {
            let cwd = dir.path().to_path_buf();
            async move {
                tokio::task::spawn_blocking(move || {
                    std::process::Command::new(env!("CARGO_BIN_EXE_atlas")).current_dir(cwd).args(args).output().unwrap()
                })
                .await
                .unwrap()
            }
        };
        let output = atlas(vec!["sync".into(), "run".into()]).await;
        assert_eq!(output.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&output.stderr).contains("Sheets sync is disabled"));

        let enabled = vec![
            "--set".to_owned(),
            "sheets.enabled=true".into(),
            "--set".into(),
            "sheets.spreadsheet_id=\"sheet-1\"".into(),
            "--set".into(),
            format!("sheets.credentials_file={:?}", credentials.display().to_string()),
            "--set".into(),
            format!("sheets.api_base_url={:?}", fake.url),
        ];
        let output = atlas([vec!["sync".into(), "run".into()], enabled.clone()].concat()).await;
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.starts_with("sync: 0 edit(s) applied") && stdout.contains("3 tab(s) created"), "{stdout}");
        assert!(fake.tab("Runs").is_some());
        let output = atlas([vec!["sync".into(), "status".into()], enabled].concat()).await;
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("sheets sync: enabled") && stdout.contains("import  last success 20"), "{stdout}");
    }
}

sheet_test! {
    /// The fake's single-range endpoints behave as Google's do (they back manual checks and future callers).
    async fn the_fake_speaks_values_get_update_append_and_clear() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        export(&sheets, &mut None, &shared(), &[Vec::new(), Vec::new(), Vec::new()]).await.unwrap();
        let http = awc::Client::default();
        let call = |method: &str, range: &str| {
            let url =
                format!("{}v4/spreadsheets/sheet-1/values/{}", fake.url, range.replace('\'', "%27").replace('!', "%21"));
            http.request(awc::http::Method::from_bytes(method.as_bytes()).unwrap(), url)
                .insert_header(("Authorization", "Bearer fake-access-token"))
        };
        let row = serde_json::json!({ "values": [["x-1", "t", "echo", "queued"]] });
        assert!(call("PUT", "'Runs'!A2:D2").send_json(&row).await.unwrap().status().is_success());
        let mut appended = call("POST", "'Runs'!A1:H:append").send_json(&row).await.unwrap();
        let body: serde_json::Value = appended.json().await.unwrap();
        assert_eq!(body["updates"]["updatedRange"], "'Runs'!A3");
        let mut got = call("GET", "'Runs'!A1:H").send().await.unwrap();
        let body: serde_json::Value = got.json().await.unwrap();
        assert_eq!(body["values"].as_array().unwrap().len(), 3);
        assert_eq!(
            body["values"][1],
            serde_json::json!(["x-1", "t", "echo", "queued"]),
            "trailing empty cells are omitted"
        );
        assert!(call("POST", "'Runs'!A2:H3:clear").send().await.unwrap().status().is_success());
        let mut got = call("GET", "'Runs'!A1:H").send().await.unwrap();
        let body: serde_json::Value = got.json().await.unwrap();
        assert_eq!(body["values"].as_array().unwrap().len(), 1, "cleared rows are trailing empties: {body}");
        let mut missing = call("GET", "'Nope'!A1").send().await.unwrap();
        let error: serde_json::Value = missing.json().await.unwrap();
        assert_eq!(
            (error["error"]["code"].as_u64(), error["error"]["status"].as_str()),
            (Some(400), Some("INVALID_ARGUMENT"))
        );
    }
}

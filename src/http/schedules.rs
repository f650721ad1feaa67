//! /api/v1/admin/schedules: the scheduler's jobs, and running one now.

use super::auth::{Admin, Auth};
use super::dto::{ErrorBody, JobReportDto, JobStatusDto, ScheduleList};
use super::error::ApiError;
use super::AppState;
use actix_web::{get, post, web, HttpResponse};
use atlas_actors::domain::CommandError;
use atlas_actors::scheduler::RunNowError;

/// Each job: its schedule, last run, last outcome and next run.
#[utoipa::path(tag = "admin", responses((status = 200, body = ScheduleList), (status = 403, body = ErrorBody)))]
#[get("/admin/schedules")]
pub async fn list(state: web::Data<AppState>, _auth: Auth<Admin>) -> Result<HttpResponse, ApiError> {
    let jobs = state.handles.scheduler.list().await.map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(ScheduleList { items: jobs.into_iter().map(JobStatusDto::from).collect() }))
}

/// Runs one job now and answers when it finished (409 while it is already running).
#[utoipa::path(tag = "admin", params(("job" = String, Path)), responses(
    (status = 200, body = JobReportDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/admin/schedules/{job}/run")]
pub async fn run_now(
    state: web::Data<AppState>,
    auth: Auth<Admin>,
    job: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    tracing::info!(job = ?job, by = %auth.caller.name, "Job run requested.");
    match state.handles.scheduler.run_now(&job, auth.caller.actor()).await {
        Ok(report) => Ok(HttpResponse::Ok().json(JobReportDto::from(report))),
        Err(RunNowError::UnknownJob(job)) => Err(ApiError::not_found(format!("no scheduled job named {job:?}"))),
        Err(RunNowError::AlreadyRunning(job)) => {
            Err(ApiError::from(CommandError::Conflict(format!("job {job} is already running"))))
        }
        Err(RunNowError::Unavailable(why)) => Err(ApiError::unavailable(why)),
    }
}

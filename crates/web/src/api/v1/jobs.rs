//! `/v1/jobs`: the job queue's dead letters, for operators (herald extension). A key sees
//! the jobs of its pages (a key for every page sees all jobs, including system jobs), and
//! may replay a discarded job or cancel one that has not run.

use axum::Json;
use axum::extract::State;
use herald_domain::id::PageId;
use herald_domain::time::PageZone;
use herald_store::{Job, JobState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ErrorBody;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, Caller};
use crate::state::AppState;

/// A job of the durable queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobV1 {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    pub page_id: Option<String>,
    /// scheduled, available, running, completed, retryable, discarded or cancelled.
    pub state: String,
    pub attempt: i64,
    pub max_attempts: i64,
    pub run_at: String,
    pub last_error: Option<String>,
    pub unique_key: Option<String>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: String,
    pub finished_at: Option<String>,
}

impl From<&Job> for JobV1 {
    fn from(j: &Job) -> Self {
        let z = PageZone::UTC;
        Self {
            id: j.id,
            queue: j.queue.clone(),
            kind: j.kind.clone(),
            page_id: j.page_id.clone(),
            state: j.state.as_str().to_owned(),
            attempt: j.attempt,
            max_attempts: j.max_attempts,
            run_at: z.format(j.run_at),
            last_error: j.last_error.clone(),
            unique_key: j.unique_key.clone(),
            payload: j.payload.clone(),
            created_at: z.format(j.created_at),
            finished_at: z.format_opt(j.finished_at),
        }
    }
}

/// `?state=` (default `discarded`) and `?limit=` (default 100).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    pub state: Option<String>,
    pub limit: Option<i64>,
}

fn parse_state(s: Option<&str>) -> ApiResult<JobState> {
    let s = s.unwrap_or("discarded");
    JobState::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| ApiError::BadRequest(format!(
        "state must be one of scheduled, available, running, completed, retryable, discarded, cancelled; got {s:?}"
    )))
}

async fn visible_job(app: &AppState, caller: &Caller, id: i64) -> ApiResult<Job> {
    let job = app.store().get_job(id).await?.ok_or(ApiError::NotFound)?;
    let visible = match (&caller.key.page_ids, &job.page_id) {
        (None, _) => true,
        (Some(pages), Some(p)) => pages.contains(&PageId::from(p.as_str())),
        (Some(_), None) => false,
    };
    if visible {
        Ok(job)
    } else {
        Err(ApiError::NotFound)
    }
}

/// Jobs in a state, newest first (default: the dead letters).
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs", params(JobsQuery),
    responses((status = 200, body = [JobV1]), (status = 400, body = ErrorBody)))]
pub async fn list_jobs(
    State(app): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<JobsQuery>,
) -> ApiResult<Json<Vec<JobV1>>> {
    let state = parse_state(q.state.as_deref())?;
    let jobs = app
        .store()
        .list_jobs_of(
            state,
            caller.key.page_ids.as_deref(),
            q.limit.unwrap_or(100),
        )
        .await?;
    Ok(Json(jobs.iter().map(JobV1::from).collect()))
}

/// One job.
#[utoipa::path(get, path = "/v1/jobs/{job_id}", tag = "jobs", params(("job_id" = i64, Path)),
    responses((status = 200, body = JobV1), (status = 404, body = ErrorBody)))]
pub async fn get_job(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<JobV1>> {
    Ok(Json(JobV1::from(&visible_job(&app, &caller, id).await?)))
}

/// Puts a discarded job back in its queue, with the same id and idempotency key.
#[utoipa::path(post, path = "/v1/jobs/{job_id}/replay", tag = "jobs", params(("job_id" = i64, Path)),
    responses((status = 200, body = JobV1), (status = 404, body = ErrorBody)))]
pub async fn replay_job(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<JobV1>> {
    visible_job(&app, &caller, id).await?;
    if caller.key.read_only {
        return Err(ApiError::Forbidden);
    }
    let job = app.store().replay_job(id, &caller.actor, app.now()).await?;
    Ok(Json(JobV1::from(&job)))
}

/// Cancels a job that has not run yet.
#[utoipa::path(post, path = "/v1/jobs/{job_id}/cancel", tag = "jobs", params(("job_id" = i64, Path)),
    responses((status = 200, body = JobV1), (status = 404, body = ErrorBody)))]
pub async fn cancel_job(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<JobV1>> {
    visible_job(&app, &caller, id).await?;
    if caller.key.read_only {
        return Err(ApiError::Forbidden);
    }
    let job = app.store().cancel_job(id, &caller.actor, app.now()).await?;
    Ok(Json(JobV1::from(&job)))
}
